"""What Slack's requests must prove and what the app must never send: signatures, stale timestamps,
Slack's retries, and the PHI guard on every outgoing call (the app's own and its listeners')."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from assistant.middleware import GuardedRespond, GuardedWebClient, PhiBlocked, PhiGuard
from claims.ledger import Ledger
from tests.assistant.conftest import (
    DENIED_CLAIM,
    FORM,
    PATIENT,
    SIGNING_SECRET,
    SPECIALIST,
    StartApp,
    assert_no_phi,
    command_body,
    signed_headers,
)
from tests.assistant.fake_slack import FakeSlack


def _dm(text: str) -> dict[str, Any]:
    return {
        "type": "message",
        "channel_type": "im",
        "user": SPECIALIST,
        "text": text,
        "channel": "D0SPECIAL",
        "ts": "1.2",
    }


@pytest.mark.parametrize(
    ("case", "headers"),
    [
        ("wrong secret", lambda body: signed_headers(body, FORM, secret="not-the-secret")),
        ("stale by 6 minutes", lambda body: signed_headers(body, FORM, timestamp=int(time.time()) - 360)),
        ("from the future", lambda body: signed_headers(body, FORM, timestamp=int(time.time()) + 360)),
        ("no signature", lambda body: {"content-type": FORM}),
        ("tampered body", lambda body: signed_headers(body.replace("C1001", "C1002"), FORM)),
    ],
)
def test_a_request_slack_did_not_sign_gets_401_and_changes_nothing(
    start_slack_app: StartApp, fake_slack: FakeSlack, billing_ledger: Ledger, case: str, headers: Any
) -> None:
    slack = start_slack_app(billing_ledger)
    body = command_body(f"status {DENIED_CLAIM}", SPECIALIST, fake_slack.hook_url())

    response = slack.post(body, FORM, headers=headers(body), sign=False)

    assert response.status_code == 401, case
    fake_slack.wait_quiet()
    assert fake_slack.calls == []  # not even auth.test: nothing ran
    assert billing_ledger.actions_for() == []


def test_a_signed_request_a_little_old_is_still_taken(
    start_slack_app: StartApp, fake_slack: FakeSlack, billing_ledger: Ledger
) -> None:
    slack = start_slack_app(billing_ledger)
    body = command_body(f"status {DENIED_CLAIM}", SPECIALIST, fake_slack.hook_url())
    response = slack.post(body, FORM, headers=signed_headers(body, FORM, timestamp=int(time.time()) - 240), sign=False)
    assert response.status_code == 200
    fake_slack.wait_for("hooks/respond")


def test_slack_retries_of_one_event_are_answered_once(
    start_slack_app: StartApp, fake_slack: FakeSlack, billing_ledger: Ledger
) -> None:
    slack = start_slack_app(billing_ledger)
    first = slack.event(_dm(f"status of claim {DENIED_CLAIM}"), event_id="Ev0RETRIED")
    retried = [
        slack.event(
            _dm(f"status of claim {DENIED_CLAIM}"),
            event_id="Ev0RETRIED",
            **{"x-slack-retry-num": str(n), "x-slack-retry-reason": "http_timeout"},
        )
        for n in (1, 2, 3)
    ]
    assert [r.status_code for r in [first, *retried]] == [200, 200, 200, 200]
    fake_slack.wait_for("chat.postMessage")
    fake_slack.wait_quiet(0.5)
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert len(billing_ledger.actions_for(DENIED_CLAIM)) == 0  # a DM's claim is in its text: not audited by id
    assert len(billing_ledger.actions_for()) == 1
    assert_no_phi(fake_slack, billing_ledger)


def test_a_retry_of_an_event_this_process_never_saw_is_handled(
    start_slack_app: StartApp, fake_slack: FakeSlack, billing_ledger: Ledger
) -> None:
    """Slack retries because the app was down: the event must not be lost."""
    slack = start_slack_app(billing_ledger)
    slack.event(_dm(f"status of claim {DENIED_CLAIM}"), event_id="Ev0MISSED", **{"x-slack-retry-num": "1"})
    fake_slack.wait_for("chat.postMessage")


def test_a_rendering_bug_that_would_leak_a_name_is_blocked_logged_without_it_and_explained(
    start_slack_app: StartApp,
    fake_slack: FakeSlack,
    billing_ledger: Ledger,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import assistant.app

    def leaky(answer: Any) -> list[dict[str, Any]]:
        return [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"patient {PATIENT.first_name} {PATIENT.last_name}"}}
        ]

    monkeypatch.setattr(assistant.app, "answer_blocks", leaky)
    slack = start_slack_app(billing_ledger)
    slack.command(f"status {DENIED_CLAIM}")

    (sent,) = fake_slack.wait_for("hooks/respond")
    assert "could not be sent safely" in sent["text"]
    assert "blocks" not in sent or not sent["blocks"]
    logged = capsys.readouterr().out
    assert "slack_payload_blocked" in logged and "blocks[0].text.text" in logged
    assert PATIENT.last_name not in logged and PATIENT.first_name not in logged
    assert_no_phi(fake_slack, billing_ledger)


async def test_the_guard_covers_every_web_api_method_and_response_url(fake_slack: FakeSlack) -> None:
    guard = PhiGuard()
    guard.watch([PATIENT])
    client = GuardedWebClient(guard, token="xoxb-test", base_url=fake_slack.api_url)
    attempts = [
        client.chat_postMessage(channel="C1", text=f"Re: {PATIENT.member_id}"),
        client.chat_update(
            channel="C1",
            ts="1.1",
            text="ok",
            blocks=[
                {"type": "section", "text": {"type": "mrkdwn", "text": PATIENT.date_of_birth.strftime("%m/%d/%Y")}}
            ],
        ),
        client.views_publish(
            user_id="U1", view={"type": "home", "private_metadata": json.dumps({"member_id": "x"}), "blocks": []}
        ),
        client.assistant_threads_setStatus(channel_id="D1", thread_ts="1.1", status=f"looking up {PATIENT.last_name}"),
        client.files_completeUploadExternal(files=[{"id": "F1", "title": f"{PATIENT.last_name} aging"}]),
    ]
    for attempt in attempts:
        with pytest.raises(PhiBlocked):
            await attempt
    respond = GuardedRespond(guard, fake_slack.hook_url())
    with pytest.raises(PhiBlocked):
        await respond(text=f"{PATIENT.first_name} was denied")
    await client.chat_postMessage(channel="C1", text="Claim C1001: denied")  # the guard lets the rest through
    assert fake_slack.methods() == ["chat.postMessage"]
    assert isinstance(client, AsyncWebClient)


def test_a_retry_that_reaches_another_replica_on_the_same_ledger_is_dropped(
    start_slack_app: StartApp, fake_slack: FakeSlack, billing_ledger: Ledger
) -> None:
    first, second = start_slack_app(billing_ledger), start_slack_app(billing_ledger)
    first.event(_dm(f"status of claim {DENIED_CLAIM}"), event_id="Ev0BOTH")
    fake_slack.wait_for("chat.postMessage")
    second.event(_dm(f"status of claim {DENIED_CLAIM}"), event_id="Ev0BOTH", **{"x-slack-retry-num": "1"})
    fake_slack.wait_quiet(0.5)
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert len(billing_ledger.actions_for()) == 1


def test_slack_sdk_never_logs_message_bodies_even_when_the_process_logs_debug(
    fake_slack: FakeSlack, billing_ledger: Ledger, team: Any
) -> None:
    import logging

    from assistant.app import build_app
    from assistant.settings import SlackSettings

    root = logging.getLogger()
    before = root.level
    root.setLevel(logging.DEBUG)
    for name in ("slack_sdk", "slack_bolt"):  # as in a fresh process (an earlier test's app set them)
        logging.getLogger(name).setLevel(logging.NOTSET)
    assert logging.getLogger("slack_sdk.web.base_client").isEnabledFor(logging.DEBUG)
    try:
        settings = SlackSettings(bot_token="xoxb-x", signing_secret=SIGNING_SECRET, api_url=fake_slack.api_url)
        build_app(settings, lambda: billing_ledger, team)
        for name in ("slack_sdk", "slack_sdk.web.base_client", "slack_sdk.web.async_base_client", "slack_bolt"):
            assert not logging.getLogger(name).isEnabledFor(logging.DEBUG), name
    finally:
        root.setLevel(before)
