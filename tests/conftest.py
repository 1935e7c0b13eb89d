"""Shared test fixtures: a real PostgreSQL server for the session, and ledgers on both engines."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from claims.ledger import Ledger, upgrade
from claims.payer_config import load_payers
from sandbox.servers import SandboxEndpoints, run_sandbox

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def _pg_bin() -> str | None:
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(folder, "pg_ctl")):
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A throwaway PostgreSQL cluster (initdb + pg_ctl, as the `postgres` user when we are root)."""
    if os.environ.get("CLAIMBOT_TEST_DATABASE_URL"):
        yield os.environ["CLAIMBOT_TEST_DATABASE_URL"]
        return
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql); ./dev test installs them")
    tmp = tempfile.mkdtemp(prefix="claimbot-pg-")
    os.chmod(tmp, 0o755)  # noqa: S103 - the server runs as `postgres` and must reach its folder
    prefix: list[str] = []
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server as")
        shutil.chown(tmp, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    data, port = os.path.join(tmp, "data"), _free_port()
    subprocess.run(
        [
            *prefix,
            f"{bin_dir}/initdb",
            "-D",
            data,
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {tmp} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    subprocess.run(
        [
            *prefix,
            f"{bin_dir}/pg_ctl",
            "-D",
            data,
            "-l",
            os.path.join(tmp, "server.log"),
            "-w",
            "-t",
            "30",
            "-o",
            options,
            "start",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*prefix, f"{bin_dir}/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"],
            stdout=subprocess.DEVNULL,
            check=False,
        )
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def pg_database_url(pg_server_url: str) -> Iterator[str]:
    """A fresh, empty database on the session's PostgreSQL server."""
    admin = sa.create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    name = "t_" + uuid.uuid4().hex[:12]
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield pg_server_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same ledger tests run on embedded SQLite and on a real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    return str(request.getfixturevalue("pg_database_url"))


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    upgrade(ledger_url)
    opened = Ledger.connect(ledger_url)
    opened.sync_payers(load_payers(REPO / "config" / "payers.yaml"))
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxEndpoints]:
    """The sandbox portals and clearinghouse, once per test session, on free loopback ports."""
    with run_sandbox() as endpoints:
        yield endpoints


@pytest.fixture
def sqlite_ledger(tmp_path: Path) -> Iterator[Ledger]:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    upgrade(url)
    opened = Ledger.connect(url)
    opened.sync_payers(load_payers(REPO / "config" / "payers.yaml"))
    try:
        yield opened
    finally:
        opened.close()
