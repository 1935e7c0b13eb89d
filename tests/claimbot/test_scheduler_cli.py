"""`claimbot scheduler jobs` and `claimbot scheduler run`: a real scheduler process on the SUNRISE
sandbox portal (real Chromium), stopped with SIGTERM in the middle of its sweep: exit 0, the sweep
interrupted (or finished), no item half-written."""

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

PAYERS = """
sweep_defaults: {requests_per_minute: 6000, max_sessions: 1, canary: false}
payers:
  - {id: SUNRISE, name: Sunrise, kind: commercial, timely_filing_days: 180, route: portal}
  - {id: MERIDIAN, name: Meridian, kind: commercial, timely_filing_days: 90, route: api}
  - {id: KEYSTONE, name: Keystone, kind: medicare, timely_filing_days: 365, route: api}
"""


def test_jobs_lists_the_three_jobs_with_their_next_runs(
    runner: CliRunner, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    monkeypatch.setenv("CLAIMBOT_SCHEDULE_TIMEZONE", "America/New_York")
    monkeypatch.setenv("CLAIMBOT_STATUS_SWEEP_CRON", "30 3 * * *")
    listed = runner.invoke(app, ["scheduler", "jobs", "--json"])
    assert listed.exit_code == 0, listed.stderr
    jobs = {j["id"]: j for j in json.loads(listed.stdout)}
    assert list(jobs) == ["status_sweep", "eligibility_sweep", "daily_digest"]
    assert jobs["status_sweep"]["cron"] == "30 3 * * *"
    assert jobs["status_sweep"]["next_run"].endswith(("-05:00", "-04:00"))
    assert "T03:30:00" in jobs["status_sweep"]["next_run"]
    assert jobs["daily_digest"]["description"] == "the daily digest to the team channel"
    assert not any(j["stored"] for j in jobs.values())
    plain = runner.invoke(app, ["scheduler", "jobs"])
    assert plain.exit_code == 0 and "status_sweep" in plain.stdout
    monkeypatch.setenv("CLAIMBOT_STATUS_SWEEP_CRON", "nightly")
    bad = runner.invoke(app, ["scheduler", "jobs"])
    assert bad.exit_code == 5 and "CLAIMBOT_STATUS_SWEEP_CRON" in bad.stderr


def _sweep_keys(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    sa.select(status_checks.c.dedupe_key).where(status_checks.c.dedupe_key.like("sweep:%"))
                ).scalars()
            )
    finally:
        engine.dispose()


@pytest.mark.browser
def test_sigterm_mid_sweep_stops_cleanly_with_nothing_half_written(
    runner: CliRunner,
    sandbox: SandboxEndpoints,
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    chromium_path: str,
) -> None:
    reset_all(sandbox)
    config = tmp_path / "config"
    config.mkdir()
    (config / "payers.yaml").write_text(PAYERS)
    account = ACCOUNTS[ServerName.SUNRISE][0]
    monkeypatch.setenv("CLAIMBOT_CONFIG_DIR", str(config))
    monkeypatch.delenv("CLAIMBOT_CLEARINGHOUSE_URL", raising=False)  # MERIDIAN, KEYSTONE: no route, skipped
    monkeypatch.setenv("CLAIMBOT_PORTAL_SUNRISE_URL", sandbox[ServerName.SUNRISE].base_url)
    monkeypatch.setenv("CLAIMBOT_PORTAL_SUNRISE_USERNAME", account.username)
    monkeypatch.setenv("CLAIMBOT_PORTAL_SUNRISE_PASSWORD", account.password)
    monkeypatch.setenv("CLAIMBOT_PORTAL_SUNRISE_TOTP_SECRET", account.totp_secret or "")
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["claims", "import", str(sample_claims_csv())]).exit_code == 0
    url = f"sqlite:///{data_dir / 'ledger.sqlite3'}"
    with SandboxAdmin(sandbox[ServerName.SUNRISE]) as admin:
        admin.set_faults(latency_ms=150)  # a sweep of many seconds, to stop in the middle
    env = {**os.environ, "CLAIMBOT_LOG_FORMAT": "json"}
    process = subprocess.Popen(
        [sys.executable, "-m", "claimbot", "scheduler", "run", "--run-now", "status_sweep"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while len(_sweep_keys(url)) < 3:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the scheduled sweep recorded nothing in 90 s"
            time.sleep(0.05)
        second = runner.invoke(app, ["scheduler", "run"])  # one scheduler per ledger
        assert second.exit_code == 5 and "another scheduler is running on this ledger" in second.stderr
        process.send_signal(signal.SIGTERM)
        _, logs = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        with SandboxAdmin(sandbox[ServerName.SUNRISE]) as admin:
            admin.set_faults(latency_ms=0)
    assert process.returncode == 0, logs[-3000:]
    events = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    said = [e["event"] for e in events]
    assert "scheduler stopping: no new jobs; the jobs in flight end cleanly" in said
    # drained: the claims asked were answered and recorded, the rest left planned; the job ended by itself
    assert "status sweep stopped cleanly: the claims asked are recorded, the rest stay planned" in said
    assert "job stopped by shutdown" not in said
    assert said[-1] == "scheduler stopped"
    keys = _sweep_keys(url)
    with Ledger.connect(url) as ledger:
        [sweep] = ledger.sweeps()
        assert sweep.id is not None and sweep.trigger == "schedule"
        assert sweep.state in (SweepState.INTERRUPTED, SweepState.FINISHED)
        items = ledger.sweep_items(sweep.id)
        assert ledger.resumable_sweep() == (sweep if sweep.state is SweepState.INTERRUPTED else None)
    done = [i for i in items if i.state is SweepItemState.DONE]
    planned = [i for i in items if i.state is SweepItemState.PLANNED]
    assert len(done) >= 3 and planned, "the sweep was not stopped in the middle"
    for item in items:
        key = f"sweep:{sweep.id}:{item.claim_id}"
        if item.state is SweepItemState.DONE:  # its answer and its state: one write
            assert keys.count(key) == 1 and item.status_check_id is not None
        elif item.state is SweepItemState.PLANNED:  # left due: nothing recorded for it
            assert keys.count(key) == 0 and item.status_check_id is None
        else:
            assert keys.count(key) <= 1
    assert len(keys) == len(set(keys))
    assert {i.state for i in items if i.payer_id != "SUNRISE"} <= {SweepItemState.SKIPPED}
