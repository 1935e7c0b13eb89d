"""`claimbot sweep` killed with SIGKILL mid-run, then run again: each planned claim is checked exactly
once in that sweep (none lost, none twice), and the killed sweep ends interrupted, then finished."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from claimbot.cli import app
from claimbot.demo import sample_claims_csv
from claims.ledger import Ledger
from claims.ledger.schema import status_checks
from claims.models import SweepItemState, SweepState
from sandbox.accounts import ACCOUNTS, ServerName
from sandbox.servers import SandboxEndpoints
from sandbox.testing import SandboxAdmin, reset_all

pytestmark = pytest.mark.browser

CLAIMS = 10
PAYERS = """
sweep_defaults: {requests_per_minute: 6000, max_sessions: 1}
payers:
  - {id: SUNRISE, name: Sunrise, kind: commercial, timely_filing_days: 180, route: portal}
  - {id: MERIDIAN, name: Meridian, kind: commercial, timely_filing_days: 90, route: portal}
  - {id: KEYSTONE, name: Keystone, kind: medicare, timely_filing_days: 365, route: portal}
"""


@pytest.fixture
def sunrise_env(
    sandbox: SandboxEndpoints,
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    runner: CliRunner,
    chromium_path: str,
) -> None:
    reset_all(sandbox)
    config = tmp_path / "config"
    config.mkdir()
    (config / "payers.yaml").write_text(PAYERS)
    account = ACCOUNTS[ServerName.SUNRISE][0]
    monkeypatch.setenv("CLAIMBOT_CONFIG_DIR", str(config))
    monkeypatch.setenv("CLAIMBOT_PORTAL_SUNRISE_URL", sandbox[ServerName.SUNRISE].base_url)
    monkeypatch.setenv("CLAIMBOT_PORTAL_SUNRISE_USERNAME", account.username)
    monkeypatch.setenv("CLAIMBOT_PORTAL_SUNRISE_PASSWORD", account.password)
    monkeypatch.setenv("CLAIMBOT_PORTAL_SUNRISE_TOTP_SECRET", account.totp_secret or "")
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["claims", "import", str(sample_claims_csv())]).exit_code == 0


def _sweep_keys(data_dir: Path) -> list[str]:
    engine = sa.create_engine(f"sqlite:///{data_dir / 'ledger.sqlite3'}")
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    sa.select(status_checks.c.dedupe_key)
                    .where(status_checks.c.dedupe_key.like("sweep:%"))
                    .order_by(status_checks.c.id)
                ).scalars()
            )
    finally:
        engine.dispose()


def test_a_killed_sweep_is_finished_by_the_next_one_with_nothing_lost_or_twice(
    runner: CliRunner, sunrise_env: None, sandbox: SandboxEndpoints, data_dir: Path
) -> None:
    lease_s = 1.5
    with SandboxAdmin(sandbox[ServerName.SUNRISE]) as admin:
        admin.set_faults(latency_ms=120)  # a sweep of a few seconds, to kill in the middle
    env = {**os.environ, "CLAIMBOT_RUN_LEASE_S": str(lease_s)}
    killed = subprocess.Popen(
        [sys.executable, "-m", "claimbot", "sweep", "--payer", "SUNRISE", "--limit", str(CLAIMS), "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: the kill takes its browser with it
    )
    try:
        deadline = time.monotonic() + 60
        while len(_sweep_keys(data_dir)) < 3:
            assert killed.poll() is None, killed.stderr.read() if killed.stderr else ""
            assert time.monotonic() < deadline, "the sweep recorded nothing for a minute"
            time.sleep(0.05)
    finally:
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait(10)
        if killed.stderr:
            killed.stderr.close()
    assert killed.returncode == -signal.SIGKILL
    before = _sweep_keys(data_dir)
    assert 3 <= len(before) < CLAIMS, "the sweep finished before it was killed: make the portal slower"
    url = f"sqlite:///{data_dir / 'ledger.sqlite3'}"
    with Ledger.connect(url) as ledger:
        [sweep] = ledger.sweeps()
        assert sweep.state is SweepState.RUNNING  # nobody could say it died
        assert sweep.id is not None
        sweep_id = sweep.id

    time.sleep(lease_s + 0.5)  # the lease runs out
    with SandboxAdmin(sandbox[ServerName.SUNRISE]) as admin:
        admin.set_faults(latency_ms=0)
    rerun = runner.invoke(app, ["sweep", "--json"])  # no options: the interrupted sweep is continued first
    assert rerun.exit_code == 0, rerun.stderr
    assert f"continuing sweep {sweep_id}" in rerun.stderr
    summary = json.loads(rerun.stdout)
    assert summary["id"] == sweep_id and summary["state"] == "finished"
    assert summary["totals"]["planned"] == summary["totals"]["checked"] == CLAIMS

    after = _sweep_keys(data_dir)
    assert after[: len(before)] == before  # what the killed run recorded is kept as it was
    with Ledger.connect(url) as ledger:
        items = ledger.sweep_items(sweep_id)
        assert len(ledger.sweeps()) == 1  # continued, not planned again
    assert len(items) == CLAIMS and {i.state for i in items} == {SweepItemState.DONE}
    assert sorted(after) == sorted(f"sweep:{sweep_id}:{i.claim_id}" for i in items)  # each exactly once
