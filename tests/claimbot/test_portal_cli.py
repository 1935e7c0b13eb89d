"""`claimbot check`, `eligibility check` and `playbook try` end to end: real CLI, real Chromium,
the SUNRISE sandbox portal, credentials from the environment."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from claimbot.cli import app
from claimbot.demo import sample_claims_csv
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
    assert "not what the playbook describes" in checked.stderr
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
