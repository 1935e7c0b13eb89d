"""`claimbot check` gives its portal sessions back: real CLI, real Chromium, the sandbox portals.

Portals allow a few sessions per user and refuse the next sign-in until one signs out or times
out. Each run signs every session out when it ends (the playbook's `logout`), so runs in a row
never run out of sessions; a refusal that does come (someone else holds them all) is its own
outcome, `too_many_sessions`: retried later, never taken for a wrong password, never a hold.
"""

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from claimbot.cli import app
from claimbot.demo import sample_claims_csv
from sandbox.accounts import ACCOUNTS, ServerName
from sandbox.dataset import load_world
from sandbox.servers import SandboxEndpoints
from sandbox.testing import SandboxAdmin, reset_all, sign_in_over_http

pytestmark = pytest.mark.browser

#: Server-rendered pages, and the old frameset with a security question.
PORTALS = (ServerName.SUNRISE, ServerName.KEYSTONE)


def _set_credentials(monkeypatch: pytest.MonkeyPatch, sandbox: SandboxEndpoints, portal: ServerName) -> None:
    payer = portal.value.upper()
    account = ACCOUNTS[portal][0]
    prefix = f"CLAIMBOT_PORTAL_{payer}_"
    monkeypatch.setenv(f"{prefix}URL", sandbox[portal].base_url)
    monkeypatch.setenv(f"{prefix}USERNAME", account.username)
    monkeypatch.setenv(f"{prefix}PASSWORD", account.password)
    if account.totp_secret:
        monkeypatch.setenv(f"{prefix}TOTP_SECRET", account.totp_secret)
    if account.security_answers:
        monkeypatch.setenv(f"{prefix}SECURITY_ANSWERS", json.dumps(dict(account.security_answers)))


@pytest.fixture
def sessions_env(
    sandbox: SandboxEndpoints, data_dir: Path, monkeypatch: pytest.MonkeyPatch, runner: CliRunner
) -> Iterator[None]:
    reset_all(sandbox)
    for portal in (ServerName.SUNRISE, ServerName.MERIDIAN, ServerName.KEYSTONE):
        _set_credentials(monkeypatch, sandbox, portal)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["claims", "import", str(sample_claims_csv())]).exit_code == 0
    yield
    reset_all(sandbox)


def _claims(payer: str, count: int) -> list[str]:
    return [c.claim_id for c in load_world().claims if c.payer_id == payer and c.payer][:count]


def _live_sessions(sandbox: SandboxEndpoints, portal: ServerName) -> int:
    with SandboxAdmin(sandbox[portal]) as admin:
        return admin.counters().live_sessions


@pytest.mark.parametrize("portal", PORTALS, ids=[p.value for p in PORTALS])
def test_ten_checks_in_a_row_on_a_portal_allowing_three_sessions(
    runner: CliRunner, sessions_env: None, sandbox: SandboxEndpoints, portal: ServerName
) -> None:
    """Each run opens two sessions (two claims, `max_concurrent: 2`) and signs both out at the end."""
    payer = portal.value.upper()
    with SandboxAdmin(sandbox[portal]) as admin:
        admin.set_faults(max_sessions_per_account=3)
    ids = _claims(payer, 2)
    for run in range(10):
        checked = runner.invoke(app, ["check", *ids, "--json"])
        assert checked.exit_code == 0, (run, checked.stderr)
        results = json.loads(checked.stdout)
        assert [r.get("kind") for r in results] == [None, None], (run, results)  # answers, not failures
        assert all(r["route"] == "portal" for r in results)
        assert _live_sessions(sandbox, portal) == 0, run
    with SandboxAdmin(sandbox[portal]) as admin:
        counters = admin.counters()
    assert counters.sessions_refused == 0
    assert counters.peak_sessions == 2
    assert counters.logins == 20


def test_meridian_checks_in_a_row_sign_out_of_the_app(
    runner: CliRunner, sessions_env: None, sandbox: SandboxEndpoints
) -> None:
    """The single-page app signs out through its own route (it deletes the API session)."""
    with SandboxAdmin(sandbox[ServerName.MERIDIAN]) as admin:
        admin.set_faults(max_sessions_per_account=3)
    ids = _claims("MERIDIAN", 2)
    for run in range(4):
        checked = runner.invoke(app, ["check", *ids, "--json"])
        assert checked.exit_code == 0, (run, checked.stderr)
        assert [r.get("kind") for r in json.loads(checked.stdout)] == [None, None]
        assert _live_sessions(sandbox, ServerName.MERIDIAN) == 0, run


@pytest.mark.parametrize("portal", [ServerName.SUNRISE, ServerName.MERIDIAN], ids=["sunrise", "meridian"])
def test_a_refused_extra_session_is_too_many_sessions_and_the_payer_is_not_held(
    runner: CliRunner, sessions_env: None, sandbox: SandboxEndpoints, portal: ServerName
) -> None:
    payer = portal.value.upper()
    with SandboxAdmin(sandbox[portal]) as admin:
        admin.set_faults(max_sessions_per_account=1)
    [claim_id] = _claims(payer, 1)
    with httpx.Client(base_url=sandbox[portal].base_url, timeout=10) as person:
        sign_in_over_http(person, portal)  # a person holds the account's only session
        checked = runner.invoke(app, ["check", claim_id, "--json"])
        if portal == ServerName.MERIDIAN:  # then signs out
            person.delete("/api/session")
        else:
            person.get("/logout")
    assert checked.exit_code == 0, checked.stderr  # per-claim failures, nothing stopped
    [result] = json.loads(checked.stdout)
    assert (result["kind"], result["reason"]) == ("too_many_sessions", "too_many_sessions")
    [attempt] = json.loads(runner.invoke(app, ["claims", "show", claim_id, "--json"]).stdout)["history"]
    assert attempt["status"] == "unavailable"
    assert attempt["payer_status_text"].startswith("check failed (too_many_sessions)")
    payers = json.loads(runner.invoke(app, ["payers", "list", "--json"]).stdout)
    entry = next(p for p in payers if p["id"] == payer)
    assert entry["suspended"] is False and entry["hold"] is None
    with SandboxAdmin(sandbox[portal]) as admin:
        counters = admin.counters()
    assert counters.login_failures == 0  # nothing counted toward a lockout
    assert counters.sessions_refused >= 1
    # The person signed out: the next run gets through.
    assert _live_sessions(sandbox, portal) == 0
    checked = runner.invoke(app, ["check", claim_id, "--json"])
    assert checked.exit_code == 0, checked.stderr
    assert json.loads(checked.stdout)[0].get("kind") is None
    assert _live_sessions(sandbox, portal) == 0
