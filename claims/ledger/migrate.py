"""Schema migrations (Alembic), run from code so `claimbot db upgrade` needs no alembic.ini."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: SQLite's side files; SQLite creates them with the permissions of the database file itself.
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for other engines and in-memory databases."""
    parsed = sa.engine.make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _make_private_folder(folder: Path) -> None:
    """Create `folder` and any missing parents owner-only (0700); folders that exist are left alone."""
    missing: list[Path] = []
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            break
        missing.append(candidate)
    for created in reversed(missing):
        try:
            created.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(created, 0o700)  # mkdir's mode passes through the umask, which may not grant rwx


def secure_sqlite_file(path: Path) -> None:
    """The ledger holds PHI: create its file owner-only (0600) before SQLite opens it, and tighten
    an older file and its side files (-wal, -shm, -journal) that others could read."""
    _make_private_folder(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    for candidate in (path, *(path.with_name(path.name + suffix) for suffix in SQLITE_SIDE_FILES)):
        try:
            info = candidate.stat()
        except FileNotFoundError:
            continue
        if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) & 0o077:
            os.chmod(candidate, 0o600)


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the ledger at `url` to `revision`; creates the SQLite file (0600, in a 0700 folder if
    the folder is new) when needed."""
    database = sqlite_file(url)
    if database is not None:
        secure_sqlite_file(database)
    command.upgrade(alembic_config(url), revision)


def is_current(engine: sa.Engine) -> bool:
    """True when the ledger's schema is at the newest migration this code knows."""
    head = ScriptDirectory.from_config(
        alembic_config(engine.url.render_as_string(hide_password=False))
    ).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head
