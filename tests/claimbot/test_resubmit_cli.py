"""`claimbot resubmit` and `claimbot submissions` end to end: the real CLI on an embedded ledger, the
sandbox clearinghouse as KEYSTONE's route, the team from a team.yaml, the person from CLAIMBOT_USER."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from claimbot.cli import app
from claimbot.demo import sample_claims_csv
from sandbox.accounts import CLEARINGHOUSE_API_KEY, ServerName
from sandbox.codes import Outcome
from sandbox.models import SandboxClaim
from sandbox.servers import SandboxEndpoints
from sandbox.testing import SandboxAdmin, reset_all
from tests.conftest import REPO
from tests.portals import claims_of

TEAM = """\
members:
  - {name: Sam Ortiz, cli_user: sam, roles: [specialist]}
  - {name: Lee Chan, cli_user: lee, roles: [lead]}
local_user_roles: []
resubmit_approval_above: 500.00
"""


def keystone(outcome: Outcome, small: bool = True) -> SandboxClaim:
    return next(
        c
        for c in claims_of("KEYSTONE")
        if c.payer is not None and c.payer.outcome == outcome and (c.billed_amount <= 500) == small
    )


def denied_line(claim: SandboxClaim) -> int:
    return next(n for n, line in enumerate(claim.lines, start=1) if line.paid == 0)


def sent_837s(sandbox: SandboxEndpoints) -> int:
    with SandboxAdmin(sandbox[ServerName.CLEARINGHOUSE]) as admin:
        return admin.counters().transactions.get("837", 0)


@pytest.fixture
def cli(
    sandbox: SandboxEndpoints, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runner: CliRunner
) -> CliRunner:
    """KEYSTONE on the clearinghouse route; Sam (specialist) runs the commands unless a test says otherwise."""
    reset_all(sandbox)
    config = tmp_path / "config"
    config.mkdir()
    text = (REPO / "config" / "payers.yaml").read_text("utf-8")
    start = text.index("  - id: KEYSTONE")
    (config / "payers.yaml").write_text(text[:start] + text[start:].replace("route: portal", "route: api", 1))
    (config / "team.yaml").write_text(TEAM)
    monkeypatch.setenv("CLAIMBOT_CONFIG_DIR", str(config))
    monkeypatch.setenv("CLAIMBOT_CLEARINGHOUSE_URL", sandbox[ServerName.CLEARINGHOUSE].base_url)
    monkeypatch.setenv("CLAIMBOT_CLEARINGHOUSE_API_KEY", CLEARINGHOUSE_API_KEY)
    monkeypatch.setenv("CLAIMBOT_CLEARINGHOUSE_ACK_POLL_FIRST_S", "0.05")
    monkeypatch.setenv("CLAIMBOT_USER", "sam")
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    rows = sample_claims_csv().read_text("utf-8").splitlines(keepends=True)
    wanted = {
        keystone(Outcome.PAID).claim_id,
        keystone(Outcome.PENDING).claim_id,
        keystone(Outcome.DENIED).claim_id,
        keystone(Outcome.DENIED, small=False).claim_id,
    }
    subset = tmp_path / "claims.csv"
    subset.write_text(rows[0] + "".join(r for r in rows[1:] if r.split(",", 1)[0] in wanted), "utf-8")
    imported = runner.invoke(app, ["claims", "import", str(subset)])
    assert imported.exit_code == 0, imported.stderr
    return runner


def test_a_dry_run_prints_the_837p_and_a_real_run_sends_it_once(cli: CliRunner, sandbox: SandboxEndpoints) -> None:
    claim = keystone(Outcome.DENIED)
    assert claim.payer is not None
    change = f"lines.{denied_line(claim)}.modifiers=25,59"
    dry = cli.invoke(app, ["resubmit", claim.claim_id, "--set", change, "--dry-run"])
    assert dry.exit_code == 0, dry.stderr
    segments = dry.stdout.splitlines()
    assert segments[0].startswith("ISA*") and f"REF*F8*{claim.payer.payer_claim_number}~" in segments
    assert next(s for s in segments if s.startswith("CLM*")).split("*")[5] == "11:B:7"
    assert "dry run" in segments[-1] and "nothing was sent" in segments[-1]
    assert sent_837s(sandbox) == 0
    assert json.loads(cli.invoke(app, ["submissions", "list", "--json"]).stdout) == []

    sent = cli.invoke(app, ["resubmit", claim.claim_id, "--set", change, "--reason", "modifier 59", "--json"])
    assert sent.exit_code == 0, sent.stderr
    outcome = json.loads(sent.stdout)
    assert (outcome["state"], outcome["submission_state"]) == ("sent", "accepted")
    assert outcome["ack_codes"] == ["999:A", "277CA:A2:20"] and "x12" not in outcome
    again = cli.invoke(app, ["resubmit", claim.claim_id, "--set", change])
    assert again.exit_code == 3 and "asked for before" in again.stdout
    assert sent_837s(sandbox) == 1

    listed = cli.invoke(app, ["submissions", "list", "--claim", claim.claim_id])
    assert listed.exit_code == 0, listed.stderr
    assert "accepted" in listed.stdout and "cli:sam" in listed.stdout and "277CA:A2:20" in listed.stdout
    people = (claim.patient.last_name, claim.patient.first_name, claim.patient.member_id)
    for result in (sent, again, listed):
        assert not any(p.upper() in (result.stdout + result.stderr).upper() for p in people)


def test_refusals_exit_with_plain_words_and_send_nothing(cli: CliRunner, sandbox: SandboxEndpoints) -> None:
    paid = cli.invoke(app, ["resubmit", keystone(Outcome.PAID).claim_id, "--set", "lines.1.units=2"])
    assert (paid.exit_code, "paid in full" in paid.stdout) == (3, True), paid.stdout
    pending = cli.invoke(app, ["resubmit", keystone(Outcome.PENDING).claim_id, "--set", "lines.1.units=2"])
    assert (pending.exit_code, "in process" in pending.stdout) == (3, True), pending.stdout
    unknown = cli.invoke(app, ["resubmit", keystone(Outcome.DENIED).claim_id, "--set", "lines.1.colour=blue"])
    assert unknown.exit_code == 3 and "'lines.1.colour' is not a field" in unknown.stdout
    malformed = cli.invoke(app, ["resubmit", keystone(Outcome.DENIED).claim_id, "--set", "units"])
    assert malformed.exit_code == 2 and "FIELD=VALUE" in malformed.stderr
    missing = cli.invoke(app, ["resubmit", "C999999", "--set", "lines.1.units=2"])
    assert missing.exit_code == 4 and "not in the ledger" in missing.stdout
    assert sent_837s(sandbox) == 0


def test_above_the_threshold_sam_asks_and_lee_approves(
    cli: CliRunner, sandbox: SandboxEndpoints, monkeypatch: pytest.MonkeyPatch
) -> None:
    claim = keystone(Outcome.DENIED, small=False)
    asked = cli.invoke(app, ["resubmit", claim.claim_id, "--set", f"lines.{denied_line(claim)}.modifiers=59", "--json"])
    assert asked.exit_code == 0, asked.stderr
    waiting = json.loads(asked.stdout)
    assert waiting["state"] == "awaiting_approval" and sent_837s(sandbox) == 0
    submission = str(waiting["submission_id"])
    listed = json.loads(cli.invoke(app, ["submissions", "list", "--state", "awaiting_approval", "--json"]).stdout)
    assert [s["id"] for s in listed] == [waiting["submission_id"]]

    own = cli.invoke(app, ["submissions", "approve", submission])
    assert own.exit_code == 3 and "only a lead" in own.stdout
    monkeypatch.setenv("CLAIMBOT_USER", "lee")
    approved = cli.invoke(app, ["submissions", "approve", submission])
    assert approved.exit_code == 0, approved.stdout
    assert "accepted" in approved.stdout and sent_837s(sandbox) == 1
    assert cli.invoke(app, ["submissions", "cancel", submission]).exit_code == 3  # sent: nothing to cancel

    monkeypatch.setenv("CLAIMBOT_USER", "someone")  # not on the team, and the team gives strangers no role
    stranger = cli.invoke(app, ["resubmit", claim.claim_id, "--set", "lines.1.units=3"])
    assert stranger.exit_code == 3 and "specialist or a lead" in stranger.stdout


def test_a_waiting_submission_is_cancelled_by_its_requester(cli: CliRunner) -> None:
    claim = keystone(Outcome.DENIED, small=False)
    asked = json.loads(cli.invoke(app, ["resubmit", claim.claim_id, "--set", "lines.1.units=2", "--json"]).stdout)
    cancelled = cli.invoke(app, ["submissions", "cancel", str(asked["submission_id"]), "--json"])
    assert cancelled.exit_code == 0, cancelled.stdout
    assert json.loads(cancelled.stdout)["submission_state"] == "cancelled"
    assert cli.invoke(app, ["submissions", "list", "--state", "nonsense"]).exit_code == 2
