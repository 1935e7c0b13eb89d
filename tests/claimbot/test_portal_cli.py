"""`claimbot check`, `eligibility check` and `playbook try` end to end: real CLI, real Chromium,
the SUNRISE sandbox portal, credentials from the environment."""

import getpass
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
from claimbot.settings import Settings
from claims.ledger import Ledger
from claims.ledger.schema import claims, status_checks
from claims.models import BotRunStatus
from sandbox.accounts import ACCOUNTS, CLEARINGHOUSE_API_KEY, ServerName
from sandbox.dataset import load_world
from sandbox.servers import SandboxEndpoints
from sandbox.testing import SandboxAdmin, reset_all

pytestmark = pytest.mark.browser


@pytest.fixture
def portal_env(sandbox: SandboxEndpoints, data_dir: Path, monkeypatch: pytest.MonkeyPatch, runner: CliRunner) -> None:
    reset_all(sandbox)
    account = ACCOUNTS[ServerName.SUNRISE][0]
    monkeypatch.setenv("CLAIMBOT_PORTAL_SUNRISE_URL", sandbox[ServerName.SUNRISE].base_url)
    monkeypatch.setenv("CLAIMBOT_PORTAL_SUNRISE_USERNAME", account.username)
    monkeypatch.setenv("CLAIMBOT_PORTAL_SUNRISE_PASSWORD", account.password)
    monkeypatch.setenv("CLAIMBOT_PORTAL_SUNRISE_TOTP_SECRET", account.totp_secret or "")
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["claims", "import", str(sample_claims_csv())]).exit_code == 0


def test_check_records_the_answer(runner: CliRunner, portal_env: None) -> None:
    claim = next(
        c for c in load_world().claims if c.payer_id == "SUNRISE" and c.payer and c.payer.outcome.value == "denied"
    )
    checked = runner.invoke(app, ["check", claim.claim_id, "--json"])
    assert checked.exit_code == 0, checked.stderr
    [result] = json.loads(checked.stdout)
    assert result["status"] == "denied"
    history = json.loads(runner.invoke(app, ["claims", "show", claim.claim_id, "--json"]).stdout)["history"]
    assert [(h["source"], h["status"]) for h in history] == [("portal", "denied")]
    assert history[0]["bot_run_id"] is not None


def test_eligibility_check(runner: CliRunner, portal_env: None) -> None:
    world = load_world()
    claim = next(c for c in world.claims if c.payer_id == "SUNRISE")
    truth = next(e for e in world.eligibility if e.member_id == claim.patient.member_id)
    args = ["eligibility", "check", "--payer", "sunrise", "--member", claim.patient.member_id]
    result = runner.invoke(app, [*args, "--dob", claim.patient.dob.isoformat(), "--json"])
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["active"] is truth.is_active_on(world.reference_date)
    assert answer["plan_name"] == truth.plan_name
    plain = runner.invoke(app, [*args, "--dob", claim.patient.dob.isoformat()])
    assert claim.patient.member_id not in plain.stdout
    assert claim.patient.last_name not in plain.stdout


def test_playbook_try_records_nothing_and_saves_a_screenshot(
    runner: CliRunner, portal_env: None, tmp_path: Path
) -> None:
    claim_id = next(c.claim_id for c in load_world().claims if c.payer_id == "SUNRISE" and c.payer)
    shot = tmp_path / "page.png"
    tried = runner.invoke(app, ["playbook", "try", "SUNRISE", "--claim", claim_id, "--screenshot", str(shot)])
    assert tried.exit_code == 0, tried.stderr
    assert shot.read_bytes()[:4] == b"\x89PNG"
    assert json.loads(runner.invoke(app, ["claims", "show", claim_id, "--json"]).stdout)["history"] == []


def test_a_changed_layout_stops_with_evidence_and_is_recorded(
    runner: CliRunner, portal_env: None, sandbox: SandboxEndpoints, data_dir: Path
) -> None:
    claim_id = next(c.claim_id for c in load_world().claims if c.payer_id == "SUNRISE" and c.payer)
    with SandboxAdmin(sandbox[ServerName.SUNRISE]) as admin:
        admin.set_faults(layout_version=2)
    checked = runner.invoke(app, ["check", claim_id])
    assert checked.exit_code == 6
    assert "the page is not what it describes" in checked.stderr
    [attempt] = json.loads(runner.invoke(app, ["claims", "show", claim_id, "--json"]).stdout)["history"]
    assert attempt["status"] == "unavailable"
    assert attempt["payer_status_text"].startswith("check failed (layout_changed)")
    assert (data_dir / "evidence" / f"{attempt['evidence_ref']}.png").exists()
    assert runner.invoke(app, ["claims", "show", claim_id, "--json"]).exit_code == 0


def test_missing_credentials_is_a_clear_error(
    runner: CliRunner, portal_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLAIMBOT_PORTAL_SUNRISE_USERNAME")
    claim_id = next(c.claim_id for c in load_world().claims if c.payer_id == "SUNRISE")
    result = runner.invoke(app, ["check", claim_id])
    assert result.exit_code == 6
    assert "no credentials for payer SUNRISE" in result.stderr


@pytest.fixture
def api_env(portal_env: None, sandbox: SandboxEndpoints, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAIMBOT_CLEARINGHOUSE_URL", sandbox[ServerName.CLEARINGHOUSE].base_url)
    monkeypatch.setenv("CLAIMBOT_CLEARINGHOUSE_API_KEY", CLEARINGHOUSE_API_KEY)


def _sunrise(outcome: str) -> str:
    return next(
        c.claim_id
        for c in load_world().claims
        if c.payer_id == "SUNRISE" and c.payer and c.payer.outcome.value == outcome
    )


def test_check_via_the_clearinghouse(runner: CliRunner, api_env: None) -> None:
    claim_id = _sunrise("paid")
    checked = runner.invoke(app, ["check", claim_id, "--via", "api", "--json"])
    assert checked.exit_code == 0, checked.stderr
    assert [(r["route"], r["status"]) for r in json.loads(checked.stdout)] == [("api", "paid")]
    history = json.loads(runner.invoke(app, ["claims", "show", claim_id, "--json"]).stdout)["history"]
    assert [(h["source"], h["status"]) for h in history] == [("api", "paid")]


def test_api_then_portal_asks_the_portal_only_for_missing_reasons(
    runner: CliRunner, api_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "payers.yaml").write_text(
        "payers:\n  - {id: SUNRISE, name: Sunrise, kind: commercial, timely_filing_days: 180, route: api_then_portal}\n"
    )
    monkeypatch.setenv("CLAIMBOT_CONFIG_DIR", str(config))
    paid = json.loads(runner.invoke(app, ["check", _sunrise("paid"), "--json"]).stdout)
    assert [r["route"] for r in paid] == ["api"]  # the 277 said enough
    denied = runner.invoke(app, ["check", _sunrise("denied"), "--json"])
    assert denied.exit_code == 0, denied.stderr
    [result] = json.loads(denied.stdout)
    assert (result["route"], result["status"]) == ("portal", "denied")  # a 277 has no CARC: the portal does
    assert result["denials"]


def test_the_api_route_without_its_settings_is_a_clear_error(runner: CliRunner, portal_env: None) -> None:
    result = runner.invoke(app, ["check", _sunrise("paid"), "--via", "api"])
    assert result.exit_code == 6
    assert "CLAIMBOT_CLEARINGHOUSE_URL" in result.stderr


def _sunrise_ids(count: int) -> list[str]:
    return [c.claim_id for c in load_world().claims if c.payer_id == "SUNRISE" and c.payer][:count]


def _live_checks(data_dir: Path) -> list[tuple[int, str, str]]:
    """(run id, claim id, dedupe key) of every live-check answer, straight from the ledger file."""
    engine = sa.create_engine(f"sqlite:///{data_dir / 'ledger.sqlite3'}")
    try:
        with engine.connect() as conn:
            return [
                (row.bot_run_id, row.claim_id, row.dedupe_key)
                for row in conn.execute(
                    sa.select(status_checks.c.bot_run_id, claims.c.claim_id, status_checks.c.dedupe_key)
                    .join(claims, claims.c.id == status_checks.c.claim_pk)
                    .where(status_checks.c.dedupe_key.like("live:%"))
                    .order_by(status_checks.c.id)
                )
            ]
    finally:
        engine.dispose()


def test_check_takes_many_claims_and_records_each(runner: CliRunner, portal_env: None) -> None:
    ids = _sunrise_ids(3)
    checked = runner.invoke(app, ["check", *ids, "--json"])
    assert checked.exit_code == 0, checked.stderr
    assert [r["claim_id"] for r in json.loads(checked.stdout)] == ids
    for claim_id in ids:
        [answer] = json.loads(runner.invoke(app, ["claims", "show", claim_id, "--json"]).stdout)["history"]
        assert answer["source"] == "portal"
    unknown = runner.invoke(app, ["check", ids[0], "NO-SUCH-CLAIM"])
    assert unknown.exit_code == 4


def test_a_check_killed_mid_run_keeps_its_answers_and_a_rerun_records_nothing_twice(
    runner: CliRunner, portal_env: None, sandbox: SandboxEndpoints, data_dir: Path
) -> None:
    ids = _sunrise_ids(16)
    lease_s = 1.5
    with SandboxAdmin(sandbox[ServerName.SUNRISE]) as admin:
        admin.set_faults(latency_ms=150)  # long enough a run to kill it in the middle
    env = {**os.environ, "CLAIMBOT_RUN_LEASE_S": str(lease_s)}
    killed = subprocess.Popen(
        [sys.executable, "-m", "claimbot", "check", *ids, "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: the kill takes its browser down with it
    )
    try:
        deadline = time.monotonic() + 60
        while len(_live_checks(data_dir)) < 3:
            assert killed.poll() is None, killed.stderr.read() if killed.stderr else ""
            assert time.monotonic() < deadline, "the check recorded nothing for a minute"
            time.sleep(0.05)
        before_kill = _live_checks(data_dir)
    finally:
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait(10)
        if killed.stderr:
            killed.stderr.close()
    assert killed.returncode == -signal.SIGKILL
    first_run = before_kill[0][0]
    after_kill = _live_checks(data_dir)
    assert after_kill[: len(before_kill)] == before_kill  # every answer received is in the ledger
    assert len(after_kill) < len(ids), "the run finished before it was killed: make the portal slower"
    with Ledger.connect(f"sqlite:///{data_dir / 'ledger.sqlite3'}") as ledger:
        assert ledger.bot_runs()[first_run].status is BotRunStatus.RUNNING  # nobody could say it died

    time.sleep(lease_s + 0.5)  # the lease runs out
    with SandboxAdmin(sandbox[ServerName.SUNRISE]) as admin:
        admin.set_faults(latency_ms=0)
    rerun = runner.invoke(app, ["check", *ids, "--json"])
    assert rerun.exit_code == 0, rerun.stderr
    assert len(json.loads(rerun.stdout)) == len(ids)

    with Ledger.connect(f"sqlite:///{data_dir / 'ledger.sqlite3'}") as ledger:
        runs = ledger.bot_runs(kind="live_check")
    assert next(iter(runs)) == first_run
    dead, second = runs[first_run], [r for i, r in runs.items() if i != first_run]
    assert dead.status is BotRunStatus.INTERRUPTED and dead.finished_at is not None
    assert [r.status for r in second] == [BotRunStatus.SUCCEEDED]
    checks = _live_checks(data_dir)
    by_run: dict[int, list[str]] = {}
    for run_id, claim_id, key in checks:
        assert key == f"live:{run_id}:{claim_id}"
        by_run.setdefault(run_id, []).append(claim_id)
    answered_before = [claim_id for _, claim_id, _ in after_kill]
    # Nothing twice: the killed run's answers stay as they were, each claim once; the rerun asked
    # every claim again as a new run (a new observation) and recorded each once.
    assert by_run[first_run] == answered_before
    assert len(set(answered_before)) == len(answered_before)
    [second_run] = [r for r in by_run if r != first_run]
    assert sorted(by_run[second_run]) == sorted(ids)
    for claim_id in ids:
        assert [c for _, c, _ in checks].count(claim_id) == 1 + (claim_id in answered_before)


def test_a_refused_sign_in_suspends_the_payer_until_a_person_resumes_it(
    runner: CliRunner, portal_env: None, sandbox: SandboxEndpoints, monkeypatch: pytest.MonkeyPatch
) -> None:
    claim_id = _sunrise_ids(1)[0]
    monkeypatch.setenv("CLAIMBOT_PORTAL_SUNRISE_PASSWORD", "not-the-password")
    refused = runner.invoke(app, ["check", claim_id])
    assert refused.exit_code == 6
    listed = json.loads(runner.invoke(app, ["payers", "list", "--json"]).stdout)
    sunrise = next(p for p in listed if p["id"] == "SUNRISE")
    assert sunrise["suspended"] is True and sunrise["hold"]["kind"] == "auth_failed"
    assert sunrise["route"] == "portal"
    assert not next(p for p in listed if p["id"] == "MERIDIAN")["suspended"]
    assert "SUSPENDED" in runner.invoke(app, ["payers", "list"]).stdout

    with SandboxAdmin(sandbox[ServerName.SUNRISE]) as admin:
        attempts = admin.counters().login_failures
        again = runner.invoke(app, ["check", claim_id])
        assert again.exit_code == 6
        assert "suspended" in again.stderr and "claimbot payers resume SUNRISE" in again.stderr
        assert admin.counters().login_failures == attempts  # the portal was not asked again

    monkeypatch.setenv("CLAIMBOT_PORTAL_SUNRISE_PASSWORD", ACCOUNTS[ServerName.SUNRISE][0].password)
    resumed = runner.invoke(app, ["payers", "resume", "sunrise", "--json"])
    assert resumed.exit_code == 0, resumed.stderr
    assert json.loads(resumed.stdout)["resumed"] is True
    assert runner.invoke(app, ["payers", "resume", "SUNRISE"]).stdout.startswith("SUNRISE was not suspended")
    assert runner.invoke(app, ["payers", "resume", "NOPE"]).exit_code == 4
    with Ledger.connect(f"sqlite:///{Settings().data_dir / 'ledger.sqlite3'}") as ledger:
        [audit] = [a for a in ledger.actions_for() if a.action == "payer.resume"]
    assert audit.actor == getpass.getuser() and audit.detail["payer_id"] == "SUNRISE"
    assert runner.invoke(app, ["check", claim_id]).exit_code == 0
