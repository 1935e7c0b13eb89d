"""The status card's Escalate goes through the escalation records (assistant.alerts `stage_manual`), over
signed HTTP to the real app with the leads channel set: one post in the leads' channel and a note in the
claim's alert thread; a second click within the dedupe window (rules.manual.window_hours), by anyone,
posts nothing and says so; once the window has passed, a click escalates again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from assistant.alerts import escalation_rows
from claims.ledger import Ledger
from claims.ledger.alert_schema import escalations
from tests.assistant.conftest import GROUP_SPECIALIST, LEADS_GROUP, SPECIALIST, assert_no_phi
from tests.assistant.fake_slack import FakeSlack
from tests.assistant.test_alerts import LEADS_CHANNEL, swept, swept_file  # noqa: F401
from tests.assistant.test_alerts_slack import Started, alert_app, first_alert, thread_lines  # noqa: F401


def lead_posts(fake: FakeSlack) -> list[dict[str, object]]:
    return [b for b in fake.calls_to("chat.postMessage") if b.get("channel") == LEADS_CHANNEL]


def test_the_cards_escalate_is_one_escalation_per_window_and_shows_on_the_alert(
    swept: Ledger,  # noqa: F811
    fake_slack: FakeSlack,
    alert_app: Callable[..., Started],  # noqa: F811
) -> None:
    slack, runtime = alert_app(swept)
    asyncio.run(runtime.dispatcher.run_once())
    claim_id, _ = first_alert(fake_slack)
    before = len(thread_lines(fake_slack))

    slack.action("claim_escalate", claim_id, user_id=SPECIALIST, hook="first")
    [said] = fake_slack.wait_for("hooks/first")
    assert said["text"] == "Escalated to the leads' channel."
    [post] = lead_posts(fake_slack)
    assert str(post["text"]).startswith(f"<!subteam^{LEADS_GROUP}> Escalation (escalated by hand)")
    assert f"<@{SPECIALIST}> escalated claim {claim_id}" in str(post["blocks"]) and "status card" in str(post["blocks"])
    [record] = escalation_rows(swept)
    assert record["claim_id"] == claim_id and record["rule"] == "manual" and record["denial_alert_id"] is not None
    assert len(thread_lines(fake_slack)) == before + 1  # the alert's thread says it was escalated

    slack.action("claim_escalate", claim_id, user_id=GROUP_SPECIALIST, hook="second")
    [again] = fake_slack.wait_for("hooks/second")
    assert again["text"].startswith(f"Claim {claim_id} was escalated already at ") and "nothing new" in again["text"]
    fake_slack.wait_quiet()
    assert len(lead_posts(fake_slack)) == 1 and len(escalation_rows(swept)) == 1

    with swept.engine.begin() as conn:  # the window (24 h by default) has passed
        conn.execute(escalations.update().values(created_at=record["created_at"] - timedelta(hours=25)))
    slack.action("claim_escalate", claim_id, user_id=GROUP_SPECIALIST, hook="later")
    assert fake_slack.wait_for("hooks/later")[0]["text"] == "Escalated to the leads' channel."
    assert len(lead_posts(fake_slack)) == 2
    assert [r["dedupe_key"] for r in escalation_rows(swept)] == [f"esc:card:{claim_id}:1", f"esc:card:{claim_id}:2"]
    assert_no_phi(fake_slack, swept)


def test_the_window_is_a_setting() -> None:
    from assistant.escalations import EscalationConfig

    config = EscalationConfig.model_validate({"rules": {"manual": {"window_hours": 2}}})
    assert config.rules.manual.window_hours == 2
    assert timedelta(hours=EscalationConfig().rules.manual.window_hours) == timedelta(days=1)
