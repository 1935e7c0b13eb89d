"""The status card's buttons through Slack: Check now (a real live check over the sandbox clearinghouse,
the card updated in place), Assign to me (and /claim queue), Escalate; refusals for people without
the role. Each test ends with the PHI scan."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from claimbot.demo import sample_claims_csv
from claimbot.settings import Settings
from claims.importing import import_claims_csv
from claims.ledger import Ledger
from claims.models import CheckSource
from sandbox.accounts import CLEARINGHOUSE_API_KEY, ServerName
from sandbox.servers import SandboxEndpoints
from sandbox.testing import reset_all
from tests.assistant.conftest import (
    CHANNEL,
    DENIED_CLAIM,
    GROUP_SPECIALIST,
    LEAD,
    LEADS_GROUP,
    OUTSIDER,
    SPECIALIST,
    StartApp,
    assert_no_phi,
)
from tests.assistant.fake_slack import FakeSlack
from tests.conftest import REPO

CARD_TS = "1700000500.000100"


def _card_text(body: dict[str, Any]) -> str:
    return json.dumps(body.get("blocks", []), ensure_ascii=False)


@pytest.fixture
def api_route_settings(tmp_path: Path, sandbox: SandboxEndpoints, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """This install asks every payer through the sandbox clearinghouse (route: api)."""
    config = tmp_path / "config"
    shutil.copytree(REPO / "config", config)
    payers = config / "payers.yaml"
    payers.write_text(payers.read_text().replace("route: portal", "route: api"))
    monkeypatch.setenv("CLAIMBOT_CLEARINGHOUSE_URL", sandbox.url(ServerName.CLEARINGHOUSE))
    monkeypatch.setenv("CLAIMBOT_CLEARINGHOUSE_API_KEY", CLEARINGHOUSE_API_KEY)
    reset_all(sandbox)
    return Settings(config_dir=config, data_dir=tmp_path / "data")


def test_check_now_asks_the_payer_and_updates_the_card_in_place(
    start_slack_app: StartApp,
    fake_slack: FakeSlack,
    sqlite_ledger: Ledger,
    api_route_settings: Settings,
) -> None:
    import_claims_csv(sqlite_ledger, sample_claims_csv())
    claim = sqlite_ledger.list_claims(payer_id="SUNRISE", limit=1)[0]
    assert sqlite_ledger.history(claim.claim_id) == []
    slack = start_slack_app(sqlite_ledger, claimbot_settings=api_route_settings)

    response = slack.action("claim_check_now", claim.claim_id, message_ts=CARD_TS)

    assert response.status_code == 200
    checking, checked = fake_slack.wait_for("chat.update", 2, timeout=30)
    assert (checking["channel"], checking["ts"]) == (CHANNEL, CARD_TS) == (checked["channel"], checked["ts"])
    assert "Checking with the payer now" in _card_text(checking)
    assert "Checked just now." in _card_text(checked)
    (recorded,) = sqlite_ledger.history(claim.claim_id)
    assert recorded.source is CheckSource.API
    assert recorded.status.value.replace("_", " ") in _card_text(checked)
    assert "via api" in _card_text(checked)
    assert [r.trigger for r in sqlite_ledger.bot_runs("live_check").values()] == ["slack"]
    assert_no_phi(fake_slack, sqlite_ledger)


def test_check_now_on_an_ephemeral_card_replaces_it_through_its_response_url(
    start_slack_app: StartApp, fake_slack: FakeSlack, billing_ledger: Ledger
) -> None:
    async def payer_down(ledger: Ledger, claim_id: str) -> str | None:
        return "the payer's portal is down (portal_down)"

    slack = start_slack_app(billing_ledger, checker=payer_down)
    slack.action("claim_check_now", DENIED_CLAIM, ephemeral=True)

    first, second = fake_slack.wait_for("hooks/action", 2)
    assert first["replace_original"] is True and second["replace_original"] is True
    assert "The check got no answer: the payer's portal is down" in _card_text(second)
    assert fake_slack.calls_to("chat.update") == []
    assert_no_phi(fake_slack, billing_ledger)


def test_assign_to_me_moves_the_claim_and_shows_in_each_queue(
    start_slack_app: StartApp, fake_slack: FakeSlack, billing_ledger_any: Ledger
) -> None:
    slack = start_slack_app(billing_ledger_any)
    slack.action("claim_assign", DENIED_CLAIM, SPECIALIST, message_ts=CARD_TS)
    (mine,) = fake_slack.wait_for("chat.update")
    assert "Assigned to Sam Specialist." in _card_text(mine)
    slack.action("claim_assign", DENIED_CLAIM, SPECIALIST, message_ts=CARD_TS)
    again = fake_slack.wait_for("chat.update", 2)[-1]
    assert "Already assigned to you." in _card_text(again)
    slack.action("claim_assign", DENIED_CLAIM, LEAD, message_ts=CARD_TS)
    taken = fake_slack.wait_for("chat.update", 3)[-1]
    assert "Assigned to Lee Lead (was Sam Specialist)." in _card_text(taken)

    slack.command("queue", user_id=LEAD, hook="lead")
    slack.command("queue", user_id=SPECIALIST, hook="specialist")
    (lead_queue,) = fake_slack.wait_for("hooks/lead")
    (specialist_queue,) = fake_slack.wait_for("hooks/specialist")
    assert "Your queue: 1 claim" in _card_text(lead_queue) and DENIED_CLAIM in _card_text(lead_queue)
    assert "Nothing is assigned to you" in _card_text(specialist_queue)
    audited = [(a.actor, a.action) for a in billing_ledger_any.actions_for(DENIED_CLAIM)]
    assert audited.count((f"slack:{SPECIALIST}", "slack.action:claim_assign")) == 2
    assert audited.count((f"slack:{LEAD}", "slack.action:claim_assign")) == 1
    assert_no_phi(fake_slack, billing_ledger_any)


def test_buttons_need_the_specialist_role_every_time(
    start_slack_app: StartApp, fake_slack: FakeSlack, billing_ledger: Ledger
) -> None:
    slack = start_slack_app(billing_ledger)
    for action in ("claim_check_now", "claim_assign", "claim_escalate", "claim_resubmit"):
        assert slack.action(action, DENIED_CLAIM, OUTSIDER).status_code == 200
    refusals = fake_slack.wait_for("hooks/action", 4)
    assert all("You need the specialist role" in r["text"] and r["replace_original"] is False for r in refusals)
    fake_slack.wait_quiet()
    assert fake_slack.calls_to("chat.update") == [] and fake_slack.calls_to("views.open") == []
    assert fake_slack.calls_to("chat.postMessage") == []
    assert {a.outcome.value for a in billing_ledger.actions_for(DENIED_CLAIM)} == {"refused"}
    assert billing_ledger.bot_runs("live_check") == {}


def test_escalate_reaches_the_leads_once_through_the_escalation_records(
    start_slack_app: StartApp, fake_slack: FakeSlack, billing_ledger: Ledger
) -> None:
    """The card's Escalate is an escalation record (assistant.alerts): a second click within the dedupe
    window (rules.manual.window_hours), by anyone, sends nothing new and says the leads have it."""
    from assistant.alerts import escalation_rows

    slack = start_slack_app(billing_ledger)
    slack.action("claim_escalate", DENIED_CLAIM, SPECIALIST)
    (told,) = fake_slack.wait_for("hooks/action")
    assert told["text"] == "Escalated to 1 lead by DM."
    (opened,) = fake_slack.calls_to("conversations.open")
    assert opened["users"] == LEAD
    (sent,) = fake_slack.calls_to("chat.postMessage")
    assert sent["channel"] == "D0LEADER" and sent["text"].startswith(f"<!subteam^{LEADS_GROUP}>")
    shown = _card_text(sent)
    assert f"<@{SPECIALIST}>" in shown and DENIED_CLAIM in shown and "$143.50" in shown
    (record,) = escalation_rows(billing_ledger)
    assert record["claim_id"] == DENIED_CLAIM and record["rule"] == "manual" and record["message_id"] is not None
    slack.action("claim_escalate", DENIED_CLAIM, GROUP_SPECIALIST)
    again = fake_slack.wait_for("hooks/action", 2)[1]
    assert f"Claim {DENIED_CLAIM} was escalated already" in again["text"] and "nothing new" in again["text"]
    fake_slack.wait_quiet()
    assert len(fake_slack.calls_to("chat.postMessage")) == 1 and len(escalation_rows(billing_ledger)) == 1
    assert_no_phi(fake_slack, billing_ledger)
