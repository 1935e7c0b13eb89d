"""Schema migrations (Alembic), run from code so `claimbot db upgrade` needs no alembic.ini.

Alembic is imported only to migrate. Every command checks the schema first (`is_current`), so that
check reads the version table and the migration files' own `revision` lines directly: it costs
milliseconds instead of Alembic's import.
"""

from __future__ import annotations

import os
import re
import stat
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: SQLite's side files; SQLite creates them with the permissions of the database file itself.
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def alembic_config(url: str) -> Config:
    from alembic.config import Config

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
    from alembic import command

    command.upgrade(alembic_config(url), revision)


_REVISION = re.compile(r"""^(down_revision|revision)\s*=\s*['"]?([\w-]+|None)['"]?""", re.MULTILINE)


@cache
def head_revision() -> str:
    """The newest migration: the one revision no other migration names as its parent."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        found = dict(_REVISION.findall(script.read_text("utf-8")))
        revisions.add(found["revision"])
        parents.add(found.get("down_revision", "None"))
    [head] = revisions - parents
    return head


def is_current(engine: sa.Engine) -> bool:
    """True when the ledger's schema is at the newest migration this code knows."""
    version = sa.table("alembic_version", sa.column("version_num"))
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table("alembic_version"):
            return False
        return set(connection.execute(sa.select(version.c.version_num)).scalars()) == {head_revision()}
