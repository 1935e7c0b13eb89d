"""Shared test fixtures: a real PostgreSQL server for the session, and ledgers on both engines.

**Nothing a test needs may be missing silently in CI.** `need(condition, reason)` (and `missing`,
`need_import`) is the one way a test or fixture says it cannot run here: locally it skips with the
reason; with `CI` set (CI=true, as CI services set it; also 1/yes/on) it fails instead, so a CI
machine without PostgreSQL, Chromium or the ../shared X12 samples goes red, not green with skips.
In CI any other skip (a stray `skipif` or `importorskip`) fails the same way
(`pytest_runtest_makereport` below). tests/test_ci_setup.py checks all of this.

Environment the set-up honours:

- `CI`: a missing test dependency fails the test instead of skipping it.
- `CLAIMBOT_TEST_DATABASE_URL`: use this PostgreSQL server instead of starting one.
- `CLAIMBOT_TEST_PG_BIN`: the folder holding `initdb` and `pg_ctl` (default: the newest
  /usr/lib/postgresql/*/bin, else the ones on PATH); e.g. `/nonexistent` makes PostgreSQL unavailable.
- `CLAIMBOT_CHROMIUM`: the browser the browser tests launch (sandbox.testing.CHROMIUM_PATH).
"""

from __future__ import annotations

import glob
import importlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Generator, Iterator
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest
import sqlalchemy as sa

from claims.ledger import Ledger, upgrade
from claims.payer_config import load_payers
from sandbox.servers import SandboxEndpoints, run_sandbox
from sandbox.testing import CHROMIUM_PATH

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
PG_BIN_ENV = "CLAIMBOT_TEST_PG_BIN"
CI_FAILS = "CI is set, so a missing test dependency fails instead of skipping"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}


def missing(reason: str) -> NoReturn:
    """This test cannot run here: skip with the reason locally, fail in CI."""
    if in_ci():
        pytest.fail(f"{reason} ({CI_FAILS})", pytrace=False)
    pytest.skip(reason)


def need(condition: object, reason: str) -> None:
    """Go on only if `condition` holds; otherwise `missing(reason)`."""
    if not condition:
        missing(reason)


def need_import(module: str, reason: str) -> ModuleType:
    """`pytest.importorskip` that fails in CI."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        missing(f"{reason}: cannot import {module} ({error})")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """In CI, a skip that did not come through `need` (a `skipif` mark, `importorskip`) fails too."""
    report = yield
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        report.outcome = "failed"
        report.longrepr = f"{reason.removeprefix('Skipped: ')} ({CI_FAILS})"
    return report


def _pg_bin() -> str | None:
    """The folder holding initdb and pg_ctl: CLAIMBOT_TEST_PG_BIN, else Debian's newest, else PATH's."""
    configured = os.environ.get(PG_BIN_ENV)
    if configured:
        candidates = [configured]
    else:
        on_path = shutil.which("pg_ctl")
        candidates = [
            *sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True),
            *([os.path.dirname(on_path)] if on_path else []),
        ]
    for folder in candidates:
        if all(os.access(os.path.join(folder, tool), os.X_OK) for tool in ("initdb", "pg_ctl")):
            return folder
    return None


def _run_pg(command: list[str], what: str, log_file: str | None = None) -> None:
    """Run initdb or pg_ctl; if it fails, say why (its last words, and the server log's)."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        missing(f"PostgreSQL {what} could not run: {error}")
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()[-4:]
        if log_file and os.path.exists(log_file):
            said += Path(log_file).read_text(errors="replace").strip().splitlines()[-4:]
        missing(f"PostgreSQL {what} failed (exit {done.returncode}): {' | '.join(said) or 'no output'}")


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
        where = os.environ.get(PG_BIN_ENV) or "/usr/lib/postgresql/*/bin or PATH"
        missing(f"PostgreSQL server binaries not found in {where}: apt-get install postgresql (./dev test does)")
    prefix: list[str] = []
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            missing("running as root and there is no 'postgres' user to run the server as")
        prefix = ["runuser", "-u", "postgres", "--"]
    tmp = tempfile.mkdtemp(prefix="claimbot-pg-")
    started = False
    data, port, log_file = os.path.join(tmp, "data"), _free_port(), os.path.join(tmp, "server.log")
    try:
        os.chmod(tmp, 0o755)  # noqa: S103 - the server runs as `postgres` and must reach its folder
        if prefix:
            shutil.chown(tmp, "postgres")
        _run_pg(
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
            "initdb",
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -k {tmp} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        _run_pg(
            [*prefix, f"{bin_dir}/pg_ctl", "-D", data, "-l", log_file, "-w", "-t", "30", "-o", options, "start"],
            "pg_ctl start",
            log_file,
        )
        started = True
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        if started:
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
def chromium_path() -> str:
    """The Chromium the browser tests launch; missing means skipped locally, failed in CI."""
    need(
        os.path.isfile(CHROMIUM_PATH) and os.access(CHROMIUM_PATH, os.X_OK),
        f"no Chromium at {CHROMIUM_PATH}: apt-get install chromium-headless-shell (./dev does), or CLAIMBOT_CHROMIUM",
    )
    return CHROMIUM_PATH


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


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    """Each test starts with structlog's defaults: a CLI test configures it to write to the stream
    of its CliRunner, which is closed once that test ends."""
    import structlog

    structlog.reset_defaults()
    yield
    structlog.reset_defaults()
