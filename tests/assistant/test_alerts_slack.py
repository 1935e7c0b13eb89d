"""The alerts' buttons, App Home and the MFA broker through the real app over HTTP (signed requests, the fake
Slack Web API through SLACK_API_URL): Acknowledge stops the escalation, a second one changes nothing,
someone without a role is refused, Snooze holds it, Escalate reaches the leads, Assign to me fills the
queue App Home shows; the MFA code comes from the credential's owner only, or the bot gives up in time.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import timedelta
from typing import Any

import pytest

from assistant.alert_listeners import AlertRuntime
from assistant.alerts import ACK, ASSIGN, ESCALATE, SNOOZE, alert_rows
from assistant.home import REFRESH
from assistant.mfa import CODE_BLOCK, CODE_INPUT, OPEN, SUBMIT
from claims.ledger import Ledger
from claims.models import utc_now
from claims.team import TeamConfig
from tests.assistant.conftest import (
    BOT_TOKEN,
    CHANNEL,
    LEAD,
    LEADS_GROUP,
    OUTSIDER,
    SIGNING_SECRET,
    SPECIALIST,
    SlackClient,
    assert_no_phi,
)
from tests.assistant.fake_slack import FakeSlack
from tests.assistant.test_alerts import LEADS_CHANNEL, only_unacknowledged, swept, swept_file  # noqa: F401

Started = tuple[SlackClient, AlertRuntime]


@pytest.fixture
def alert_app(fake_slack: FakeSlack, team: TeamConfig) -> Iterator[Callable[..., Started]]:
    from assistant.app import build_assistant
    from assistant.server import serve_in_thread
    from assistant.settings import SlackSettings

    with ExitStack() as stack:

        def start(ledger: Ledger, mfa_timeout_s: float = 60.0) -> Started:
            settings = SlackSettings(
                bot_token=BOT_TOKEN,
                signing_secret=SIGNING_SECRET,
                api_url=fake_slack.api_url,
                alert_channel=CHANNEL,
                leads_channel=LEADS_CHANNEL,
            )
            built = build_assistant(
                settings, lambda: ledger, team, escalations=only_unacknowledged(), mfa_timeout_s=mfa_timeout_s
            )
            app, runtime = built.app, built.alerts
            assert runtime is not None
            url = stack.enter_context(serve_in_thread(app))
            client = SlackClient(url, fake_slack)
            stack.callback(client.http.close)
            return client, runtime

        yield start


def first_alert(fake: FakeSlack) -> tuple[str, str]:
    """(claim id, ts) of the first alert the channel got."""
    body = next(b for b in fake.calls_to("chat.postMessage") if b.get("channel") == CHANNEL and not b.get("thread_ts"))
    claim_id = body["text"].split("claim ", 1)[1].split(" ", 1)[0]
    return claim_id, "1700000000.000001"


def thread_lines(fake: FakeSlack) -> list[str]:
    return [b["text"] for b in fake.calls_to("chat.postMessage") if b.get("thread_ts")]


def test_acknowledge_once_stops_the_escalation_and_someone_without_a_role_is_refused(
    swept: Ledger,  # noqa: F811
    fake_slack: FakeSlack,
    alert_app: Callable[..., Started],
) -> None:
    slack, runtime = alert_app(swept)
    asyncio.run(runtime.dispatcher.run_once())
    claim_id, _ = first_alert(fake_slack)
    assert slack.action(ACK, claim_id, user_id=OUTSIDER, hook="outsider").status_code == 200
    [refusal] = fake_slack.wait_for("hooks/outsider")
    assert "role" in refusal["text"]
    assert all(r["acknowledged_by"] is None for r in alert_rows(swept))
    assert slack.action(ACK, claim_id, user_id=SPECIALIST).status_code == 200
    fake_slack.wait_for("chat.update")
    assert f"Acknowledged by <@{SPECIALIST}>." in thread_lines(fake_slack)
    assert "Acknowledged by" in str(fake_slack.calls_to("chat.update")[-1]["blocks"])
    slack.action(ACK, claim_id, user_id=LEAD, hook="again")
    [again] = fake_slack.wait_for("hooks/again")
    assert "acknowledged already" in again["text"]
    [row] = [r for r in alert_rows(swept) if r["claim_id"] == claim_id]
    assert row["acknowledged_by"] == SPECIALIST
    later = asyncio.run(runtime.dispatcher.run_once(utc_now() + timedelta(days=7)))
    assert later.escalations == len(alert_rows(swept)) - 1  # every other alert escalates; this one does not
    assert all(
        f"claim {claim_id} " not in str(b["blocks"])
        for b in fake_slack.calls_to("chat.postMessage")
        if b.get("channel") == LEADS_CHANNEL
    )
    assert_no_phi(fake_slack, swept)


def test_snooze_escalate_assign_and_the_home_tab(
    swept: Ledger,  # noqa: F811
    fake_slack: FakeSlack,
    alert_app: Callable[..., Started],
) -> None:
    slack, runtime = alert_app(swept)
    asyncio.run(runtime.dispatcher.run_once())
    claim_id, _ = first_alert(fake_slack)
    snooze_payload = {"type": "static_select", "action_id": SNOOZE, "selected_option": {"value": f"{claim_id}:24"}}
    slack.post(
        _select_body(snooze_payload, SPECIALIST, fake_slack.hook_url("snooze")), "application/x-www-form-urlencoded"
    )
    fake_slack.wait_for("chat.update")
    [row] = [r for r in alert_rows(swept) if r["claim_id"] == claim_id]
    assert any(line.startswith(f"Snoozed 24 h by <@{SPECIALIST}>") for line in thread_lines(fake_slack))
    slack.action(ESCALATE, claim_id, user_id=SPECIALIST, hook="escalated")
    [said] = fake_slack.wait_for("hooks/escalated")
    assert said["text"] == "Escalated to the leads."
    [lead_post] = [b for b in fake_slack.calls_to("chat.postMessage") if b.get("channel") == LEADS_CHANNEL]
    assert f"<!subteam^{LEADS_GROUP}>" in lead_post["text"] and f"<@{SPECIALIST}> escalated" in str(lead_post["blocks"])
    slack.action(ESCALATE, claim_id, user_id=SPECIALIST, hook="twice")
    assert fake_slack.wait_for("hooks/twice")[0]["text"] == "You escalated this alert already."
    slack.action(ASSIGN, claim_id, user_id=SPECIALIST)
    fake_slack.wait_for("chat.update", count=2)
    assert "Assigned to Sam Specialist." in thread_lines(fake_slack)
    slack.event({"type": "app_home_opened", "user": SPECIALIST, "channel": "D0HOME", "tab": "home"})
    [home] = fake_slack.wait_for("views.publish")
    assert home["user_id"] == SPECIALIST and home["view"]["type"] == "home"
    shown = json.dumps(home["view"])
    assert "Claims today" in shown and "A/R aging" in shown and f"claim {claim_id}" in shown
    slack.action(REFRESH, "home", user_id=SPECIALIST)
    fake_slack.wait_for("views.publish", count=2)
    del row
    assert_no_phi(fake_slack, swept)


def _select_body(action: dict[str, Any], user_id: str, response_url: str) -> str:
    from urllib.parse import quote

    from tests.assistant.fake_slack import TEAM_ID

    payload = {
        "type": "block_actions",
        "team": {"id": TEAM_ID, "domain": "claimbot-test"},
        "user": {"id": user_id, "team_id": TEAM_ID},
        "api_app_id": "A0CLAIMBOT",
        "trigger_id": "trigger.select",
        "container": {"type": "message", "message_ts": "1700000000.000001", "channel_id": CHANNEL},
        "channel": {"id": CHANNEL},
        "message": {"ts": "1700000000.000001", "text": "", "blocks": []},
        "response_url": response_url,
        "actions": [{**action, "block_id": "alert_actions", "action_ts": "1700000001.000001"}],
    }
    return "payload=" + quote(json.dumps(payload))


class BackgroundLoop:
    """A bot's event loop on its own thread (the sign-in waits there; the modal arrives on the app's)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


def test_the_mfa_code_comes_from_the_credentials_owner_in_a_modal(
    swept: Ledger,  # noqa: F811
    fake_slack: FakeSlack,
    alert_app: Callable[..., Started],
) -> None:
    slack, runtime = alert_app(swept)
    bot = BackgroundLoop()
    try:
        waiting = bot.run(runtime.broker.request_code("SUNRISE", SPECIALIST))
        [dm] = fake_slack.wait_for("chat.postMessage")
        assert dm["channel"] == "D0SPECIAL" and "SUNRISE asks for a one-time code" in dm["text"]
        request_id = dm["blocks"][1]["elements"][0]["value"]
        slack.action(OPEN, request_id, user_id=SPECIALIST)
        [opened] = fake_slack.wait_for("views.open", timeout=30)
        assert opened["view"]["callback_id"] == SUBMIT and opened["view"]["private_metadata"] == request_id
        values = {CODE_BLOCK: {CODE_INPUT: {"type": "plain_text_input", "value": "48 1516"}}}
        by_lead = slack.submit(SUBMIT, request_id, values, user_id=LEAD)
        assert by_lead.json()["errors"][CODE_BLOCK].startswith("Only the owner")
        bad = slack.submit(SUBMIT, request_id, {CODE_BLOCK: {CODE_INPUT: {"value": "1!"}}}, user_id=SPECIALIST)
        assert "4 to 10" in bad.json()["errors"][CODE_BLOCK]
        assert slack.submit(SUBMIT, request_id, values, user_id=SPECIALIST).status_code == 200
        assert waiting.result(timeout=5) == "481516"
        [closed] = fake_slack.wait_for("chat.update")
        assert closed[
            "text"
        ] == "Code received: signing in to SUNRISE." and "481516" not in fake_slack.all_text().replace("48 1516", "")
        late = slack.submit(SUBMIT, request_id, values, user_id=SPECIALIST)
        assert "has ended" in late.json()["errors"][CODE_BLOCK]
    finally:
        bot.close()


def test_the_mfa_broker_gives_up_cleanly_after_its_bound(
    swept: Ledger,  # noqa: F811
    fake_slack: FakeSlack,
    alert_app: Callable[..., Started],
) -> None:
    _, runtime = alert_app(swept, mfa_timeout_s=0.3)
    assert asyncio.run(runtime.broker.request_code("KEYSTONE", SPECIALIST)) is None
    [update] = fake_slack.calls_to("chat.update")
    assert "gave up signing in to KEYSTONE" in update["text"] and runtime.broker.pending() == 0
