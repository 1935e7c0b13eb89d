"""PHI at rest: the embedded ledger's file, its side files and a new folder are owner-only."""

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from claims.ledger import Ledger, upgrade
from claims.ledger.migrate import sqlite_file
from claims.payer_config import load_payers

REPO = Path(__file__).resolve().parents[3]


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """The worst case: a umask that lets everyone read what the process creates."""
    previous = os.umask(0o000)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("permissive_umask")
def test_a_new_ledger_and_its_wal_files_are_owner_only(tmp_path: Path) -> None:
    database = tmp_path / "new" / "data" / "ledger.sqlite3"
    url = f"sqlite:///{database}"
    upgrade(url)
    assert mode(database) == 0o600
    assert mode(database.parent) == 0o700
    assert mode(database.parent.parent) == 0o700
    ledger = Ledger.connect(url)
    try:
        ledger.sync_payers(load_payers(REPO / "config" / "payers.yaml"))
        side_files = [database.with_name(database.name + suffix) for suffix in ("-wal", "-shm")]
        assert all(f.exists() for f in side_files)  # WAL mode: written while a connection is open
        assert [mode(f) for f in side_files] == [0o600, 0o600]
    finally:
        ledger.close()


def test_an_existing_folder_is_left_alone_and_an_older_file_is_tightened(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    database = tmp_path / "ledger.sqlite3"
    database.touch()
    database.chmod(0o644)
    wal = database.with_name(database.name + "-wal")
    wal.touch()
    wal.chmod(0o664)
    upgrade(f"sqlite:///{database}")
    assert mode(tmp_path) == 0o755
    assert mode(database) == 0o600
    assert mode(wal) == 0o600


def test_only_sqlite_files_are_touched() -> None:
    assert sqlite_file("sqlite:///relative/ledger.sqlite3") == Path("relative/ledger.sqlite3")
    assert sqlite_file("sqlite:////abs/ledger.sqlite3") == Path("/abs/ledger.sqlite3")
    assert sqlite_file("sqlite://") is None
    assert sqlite_file("sqlite:///:memory:") is None
    assert sqlite_file("postgresql+psycopg://u@h/claimbot") is None
