"""Asking through Slack: /claim, mentions, DMs and the Assistant panel, against the real app over HTTP.

Each test reads what the fake Web API received and ends with the PHI scan of everything it received.
"""

from __future__ import annotations

import json

from claims.ledger import Ledger
from claims.models import ActionOutcome
from tests.assistant.conftest import (
    CHANNEL,
    DENIED_CLAIM,
    GROUP_SPECIALIST,
    LEAD,
    OUTSIDER,
    PAID_CLAIM,
    PATIENT,
    SPECIALIST,
    StartApp,
    assert_no_phi,
)
from tests.assistant.fake_slack import FakeSlack


def _text(body: dict[str, object]) -> str:
    return json.dumps(body, ensure_ascii=False)


def test_claim_status_is_a_private_card_with_codes_denials_and_buttons(
    start_slack_app: StartApp, fake_slack: FakeSlack, billing_ledger_any: Ledger
) -> None:
    slack = start_slack_app(billing_ledger_any)

    response = slack.command(f"status {DENIED_CLAIM}")

    assert response.status_code == 200
    (answer,) = fake_slack.wait_for("hooks/respond")
    assert answer["response_type"] == "ephemeral"
    assert answer["text"] == f"Claim {DENIED_CLAIM}: denied"
    card = _text(answer["blocks"])
    for shown in (
        "Sunrise Health Plan",
        "`F2:88`",
        "CO-50",
        "N290",
        "$143.50",
        "via portal",
        "M.Q.",
        "[PHI]",  # the payer's own words named the patient: masked before they reach Slack
        "*Next step:*",  # the denial playbook's recommendation for CO-50
    ):
        assert shown in card, shown
    action_ids = [e["action_id"] for b in answer["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert action_ids == ["claim_check_now", "claim_resubmit", "claim_assign", "claim_escalate"]
    (audit,) = billing_ledger_any.actions_for(DENIED_CLAIM)
    assert (audit.actor, audit.action, audit.outcome) == (
        f"slack:{SPECIALIST}",
        "slack.command:/claim",
        ActionOutcome.SUCCEEDED,
    )
    assert audit.detail["slack_user"] == SPECIALIST
    assert PATIENT.last_name not in json.dumps(audit.detail)
    assert_no_phi(fake_slack, billing_ledger_any)


def test_a_bare_claim_id_asks_for_its_status(
    start_slack_app: StartApp, fake_slack: FakeSlack, billing_ledger: Ledger
) -> None:
    slack = start_slack_app(billing_ledger)
    slack.command(PAID_CLAIM)
    (answer,) = fake_slack.wait_for("hooks/respond")
    assert answer["text"] == f"Claim {PAID_CLAIM}: paid"
    assert "$120.00" in _text(answer["blocks"])
    assert_no_phi(fake_slack, billing_ledger)


def test_unknown_claim_gets_a_helpful_answer_and_a_member_id_is_never_echoed(
    start_slack_app: StartApp, fake_slack: FakeSlack, billing_ledger: Ledger
) -> None:
    slack = start_slack_app(billing_ledger)
    slack.command("status C100")
    slack.command(f"status {PATIENT.member_id}")
    first, second = fake_slack.wait_for("hooks/respond", 2)
    answers = sorted([_text(first["blocks"]), _text(second["blocks"])], key=lambda t: "member id" in t)
    assert "no claim `C100`" in answers[0] and "`C1001`" in answers[0]  # did you mean ...
    assert "looks like a member id" in answers[1]
    assert_no_phi(fake_slack, billing_ledger)


def test_denials_by_payer_today_and_help(
    start_slack_app: StartApp, fake_slack: FakeSlack, billing_ledger: Ledger
) -> None:
    slack = start_slack_app(billing_ledger)
    slack.command("denials SUNRISE today")
    (denials,) = fake_slack.wait_for("hooks/respond")
    text = _text(denials["blocks"])
    assert "1 denial from SUNRISE today" in text and DENIED_CLAIM in text and "CO-50" in text
    slack.command("denials MERIDIAN week")
    slack.command("frobnicate")
    answers = [_text(b["blocks"]) for b in fake_slack.wait_for("hooks/respond", 3)[1:]]
    assert any("No denials from MERIDIAN in the last 7 days" in a for a in answers)
    assert any("I did not understand `frobnicate`" in a and "/claim queue" in a for a in answers)
    assert_no_phi(fake_slack, billing_ledger)


def test_someone_without_a_role_is_refused_and_the_refusal_is_audited(
    start_slack_app: StartApp, fake_slack: FakeSlack, billing_ledger: Ledger
) -> None:
    slack = start_slack_app(billing_ledger)

    response = slack.command(f"status {DENIED_CLAIM}", user_id=OUTSIDER)

    assert response.status_code == 200
    assert response.json()["response_type"] == "ephemeral"
    assert "only answer people on the claims team" in response.json()["text"]
    fake_slack.wait_quiet()
    assert fake_slack.calls_to("hooks/respond") == []
    (audit,) = billing_ledger.actions_for(DENIED_CLAIM)
    assert (audit.actor, audit.outcome) == (f"slack:{OUTSIDER}", ActionOutcome.REFUSED)


def test_a_user_group_member_holds_the_group_role_and_groups_are_cached(
    start_slack_app: StartApp, fake_slack: FakeSlack, billing_ledger: Ledger
) -> None:
    slack = start_slack_app(billing_ledger)
    slack.command(DENIED_CLAIM, user_id=GROUP_SPECIALIST)
    slack.command(PAID_CLAIM, user_id=GROUP_SPECIALIST)
    fake_slack.wait_for("hooks/respond", 2)
    looked_up = sorted(c["usergroup"] for c in fake_slack.calls_to("usergroups.users.list"))
    assert looked_up == ["S0LEADS", "S0SPECS"]  # once per group for both requests
    audits = billing_ledger.actions_for()
    assert {a.outcome for a in audits} == {ActionOutcome.SUCCEEDED}
    assert {a.detail["roles"] for a in audits} == {"specialist"}
    assert_no_phi(fake_slack, billing_ledger)


def test_a_mention_is_answered_privately_in_its_thread(
    start_slack_app: StartApp, fake_slack: FakeSlack, billing_ledger: Ledger
) -> None:
    slack = start_slack_app(billing_ledger)
    response = slack.event(
        {
            "type": "app_mention",
            "user": LEAD,
            "text": f"<@UBOTFAKE> what's the status of claim {DENIED_CLAIM}?",
            "channel": CHANNEL,
            "ts": "1700000100.000100",
            "event_ts": "1700000100.000100",
        }
    )
    assert response.status_code == 200
    (sent,) = fake_slack.wait_for("chat.postEphemeral")
    assert (sent["channel"], sent["user"]) == (CHANNEL, LEAD)
    assert sent["text"] == f"Claim {DENIED_CLAIM}: denied"
    assert_no_phi(fake_slack, billing_ledger)


def test_a_dm_in_plain_words_about_denials_from_a_payer(
    start_slack_app: StartApp, fake_slack: FakeSlack, billing_ledger: Ledger
) -> None:
    slack = start_slack_app(billing_ledger)
    slack.event(
        {
            "type": "message",
            "channel_type": "im",
            "user": SPECIALIST,
            "text": "any new denials from Sunrise?",
            "channel": "D0SPECIAL",
            "ts": "1700000200.000100",
        }
    )
    (sent,) = fake_slack.wait_for("chat.postMessage")
    assert sent["channel"] == "D0SPECIAL"
    assert "1 denial from SUNRISE today" in _text(sent["blocks"])
    assert_no_phi(fake_slack, billing_ledger)


def test_the_assistant_panel_suggests_prompts_then_answers_in_the_thread(
    start_slack_app: StartApp, fake_slack: FakeSlack, billing_ledger: Ledger
) -> None:
    slack = start_slack_app(billing_ledger)
    thread = {"channel_id": "D0SPECIAL", "thread_ts": "1700000300.000100", "user_id": SPECIALIST, "context": {}}
    slack.event({"type": "assistant_thread_started", "assistant_thread": thread, "event_ts": "1700000300.000200"})
    (prompts,) = fake_slack.wait_for("assistant.threads.setSuggestedPrompts")
    assert prompts["prompts"][0]["message"] == "What's the status of claim 1001?"
    slack.event(
        {
            "type": "message",
            "channel_type": "im",
            "user": SPECIALIST,
            "text": f"status of claim {PAID_CLAIM}",
            "channel": "D0SPECIAL",
            "ts": "1700000300.000300",
            "thread_ts": "1700000300.000100",
        }
    )
    fake_slack.wait_for("assistant.threads.setStatus")
    greeting, answer = fake_slack.wait_for("chat.postMessage", 2)
    assert greeting["thread_ts"] == answer["thread_ts"] == "1700000300.000100"
    assert answer["text"] == f"Claim {PAID_CLAIM}: paid"
    assert_no_phi(fake_slack, billing_ledger)


def test_a_dm_from_someone_without_a_role_is_refused_privately(
    start_slack_app: StartApp, fake_slack: FakeSlack, billing_ledger: Ledger
) -> None:
    slack = start_slack_app(billing_ledger)
    dm = {"type": "message", "channel_type": "im", "user": OUTSIDER, "channel": "D0NOBODY", "ts": "1700000400.000100"}
    slack.event({**dm, "text": f"status of claim {DENIED_CLAIM}"})
    (refused,) = fake_slack.wait_for("chat.postEphemeral")
    assert (refused["channel"], refused["user"]) == ("D0NOBODY", OUTSIDER)
    assert "only answer people on the claims team" in refused["text"]
    fake_slack.wait_quiet()
    assert fake_slack.calls_to("chat.postMessage") == []
    assert [a.outcome for a in billing_ledger.actions_for()] == [ActionOutcome.REFUSED]
