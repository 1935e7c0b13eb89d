"""Reading questions: the /claim grammar and plain phrasing, the same for Slack and `claimbot ask`."""

from __future__ import annotations

import pytest

from assistant.intents import Intent, IntentKind, PayerName, Window, parse_command, parse_phrase

PAYERS = [PayerName(id="SUNRISE", name="Sunrise Health Plan"), PayerName(id="ACME", name="Acme Insurance")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1001", Intent(kind=IntentKind.STATUS, claim_id="1001")),
        ("status C-2044", Intent(kind=IntentKind.STATUS, claim_id="C-2044")),
        ("denials", Intent(kind=IntentKind.DENIALS)),
        ("denials SUNRISE today", Intent(kind=IntentKind.DENIALS, payer_id="SUNRISE", window=Window.TODAY)),
        ("denials acme week", Intent(kind=IntentKind.DENIALS, payer_id="ACME", window=Window.WEEK)),
        ("queue", Intent(kind=IntentKind.QUEUE)),
        ("help", Intent(kind=IntentKind.HELP)),
        ("", Intent(kind=IntentKind.HELP)),
        ("status", Intent(kind=IntentKind.UNKNOWN, unknown_word="status")),
        ("refund 1001", Intent(kind=IntentKind.UNKNOWN, unknown_word="refund")),
    ],
)
def test_the_claim_command(text: str, expected: Intent) -> None:
    assert parse_command(text, PAYERS) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<@UBOT> what's the status of claim 1001?", Intent(kind=IntentKind.STATUS, claim_id="1001")),
        ("status of claim C1001 please", Intent(kind=IntentKind.STATUS, claim_id="C1001")),
        ("where is 1001 at?", Intent(kind=IntentKind.STATUS, claim_id="1001")),
        ("any new denials from Acme?", Intent(kind=IntentKind.DENIALS, payer_id="ACME", window=Window.TODAY)),
        ("denied claims at sunrise this week", Intent(kind=IntentKind.DENIALS, payer_id="SUNRISE")),
        ("what's in my queue?", Intent(kind=IntentKind.QUEUE)),
        ("show me my claims", Intent(kind=IntentKind.QUEUE)),
        ("what can you do?", Intent(kind=IntentKind.HELP)),
        ("hello there", Intent(kind=IntentKind.UNKNOWN)),
        ("compare 1001 and 1002", Intent(kind=IntentKind.UNKNOWN)),  # two ids: ask which
    ],
)
def test_plain_phrasing(text: str, expected: Intent) -> None:
    assert parse_phrase(text, PAYERS) == expected


def test_a_generic_word_of_a_payer_name_does_not_pick_that_payer() -> None:
    assert parse_phrase("denials from the health plan", PAYERS).payer_id is None
