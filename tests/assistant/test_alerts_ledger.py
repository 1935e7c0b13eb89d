"""The dispatcher's ledger side on SQLite and PostgreSQL, against a recording SlackPoster: the same denial
never alerts twice (outbox delivered again, denied again with the same codes), another denial of the claim
is a new alert and closes the old one, two dispatchers at once post each message once, and a message whose
sender died while posting is sent by the next pass."""

from __future__ import annotations

import asyncio
import itertools
import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from assistant.alerts import AlertTargets, Dispatcher, SlackUnavailable, alert_rows
from assistant.escalations import EscalationConfig
from claims.ledger import Ledger
from claims.ledger.alert_schema import alert_messages
from claims.ledger.schema import events
from claims.models import AdjustmentGroup, CheckSource, Denial, StatusCheck, utc_now
from claims.status import ClaimStatus
from tests.factories import make_claim, make_patient
from tests.test_phi_scan import Person, find_phi

QUIET = EscalationConfig.model_validate(
    {
        "alerts": {"group_when_at_least": 50},
        "rules": {
            name: {"enabled": False} for name in ("denial_above", "unresolved", "timely_filing", "unacknowledged")
        },
    }
)


def assert_no_phi_in(payload: str) -> None:
    """Every payload is scanned for the test patient (tests.factories.make_patient) in every spelling."""
    patient = make_patient()
    person = Person(patient.last_name, patient.first_name, patient.date_of_birth, patient.member_id)
    assert not find_phi("slack", payload, [person])


class RecordingPoster:
    """A SlackPoster that keeps what it was asked to post; `fail` refuses that many calls first."""

    def __init__(self, fail: int = 0) -> None:
        self.posts: list[tuple[str, str, str | None]] = []
        self.updates: list[tuple[str, str]] = []
        self.fail = fail
        self._ts = itertools.count(1)

    async def post(self, channel: str, text: str, blocks: list[dict[str, Any]], thread_ts: str | None) -> str:
        assert_no_phi_in(json.dumps([text, blocks]))
        await asyncio.sleep(0.01)  # let a second dispatcher interleave
        if self.fail:
            self.fail -= 1
            raise SlackUnavailable("chat.postMessage: Slack answered 503")
        self.posts.append((channel, text, thread_ts))
        return f"1700000000.{next(self._ts):06d}"

    async def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None:
        assert_no_phi_in(json.dumps([text, blocks]))
        self.updates.append((ts, text))

    async def open_dm(self, user_id: str) -> str:
        return "D" + user_id

    async def upload(self, channel: str, filename: str, title: str, content: bytes, thread_ts: str | None) -> str:
        return "F1"


def deny(ledger: Ledger, claim_id: str, key: str, carc: str = "50", status: ClaimStatus = ClaimStatus.DENIED) -> None:
    ledger.record_status_check(
        StatusCheck(
            claim_id=claim_id,
            source=CheckSource.EDI,
            status=status,
            paid_amount=Decimal("0.00"),
            denials=(Denial(group=AdjustmentGroup.CO, carc=carc, amount=Decimal("143.50")),)
            if status is ClaimStatus.DENIED
            else (),
            dedupe_key=key,
        )
    )


def dispatcher(ledger: Ledger, poster: RecordingPoster) -> Dispatcher:
    return Dispatcher(ledger, poster, AlertTargets("C0ALERTS"), QUIET)


def test_the_same_denial_never_alerts_twice_and_a_new_one_replaces_the_old(ledger: Ledger) -> None:
    with ledger.writer() as writer:
        writer.upsert_claims([make_claim("C7001"), make_claim("C7002")])
    deny(ledger, "C7001", "t:1")
    poster = RecordingPoster()
    first = asyncio.run(dispatcher(ledger, poster).run_once())
    assert (first.alerts, first.sent) == (1, 1) and "claim C7001" in poster.posts[0][1]
    assert "$143.50" in poster.posts[0][1]
    with ledger.engine.begin() as conn:  # the outbox delivered again, from scratch
        conn.execute(events.update().values(dispatched_at=None))
    assert asyncio.run(dispatcher(ledger, poster).run_once()).alerts == 0
    deny(ledger, "C7001", "t:2", status=ClaimStatus.PENDING)  # resubmitted, then denied again, same code
    deny(ledger, "C7001", "t:3")
    again = asyncio.run(dispatcher(ledger, poster).run_once())
    assert again.alerts == 0 and again.replies == 2  # two lines in the first alert's thread
    assert [p for p in poster.posts if p[2] is None] == poster.posts[:1]
    [reopened] = alert_rows(ledger)
    assert reopened["closed_status"] is None  # closed while pending, open again once denied again
    deny(ledger, "C7001", "t:4", status=ClaimStatus.PENDING)
    deny(ledger, "C7001", "t:5", carc="16")  # another reason: another denial
    other = asyncio.run(dispatcher(ledger, poster).run_once())
    assert other.alerts == 1
    rows = alert_rows(ledger)
    assert [(r["claim_id"], r["reasons"], r["closed_status"]) for r in rows] == [
        ("C7001", "CO-50", "pending"),
        ("C7001", "CO-16", None),
    ]


def test_two_dispatchers_at_once_post_each_message_once(ledger: Ledger) -> None:
    with ledger.writer() as writer:
        writer.upsert_claims([make_claim(f"C71{n:02d}") for n in range(6)])
    for n in range(6):
        deny(ledger, f"C71{n:02d}", f"t:{n}")
    poster = RecordingPoster()

    async def both() -> None:
        await asyncio.gather(dispatcher(ledger, poster).run_once(), dispatcher(ledger, poster).run_once())

    asyncio.run(both())
    texts = [text for _, text, _ in poster.posts]
    assert len(texts) == 6 and len(set(texts)) == 6
    assert len(alert_rows(ledger)) == 6


def test_a_message_whose_sender_died_while_posting_is_sent_by_a_later_pass(ledger: Ledger) -> None:
    with ledger.writer() as writer:
        writer.upsert_claims([make_claim("C7201")])
    deny(ledger, "C7201", "t:1")
    failing = RecordingPoster(fail=1)
    down = asyncio.run(dispatcher(ledger, failing).run_once())
    assert down.slack_error and down.waiting == 1 and failing.posts == []
    with ledger.engine.begin() as conn:  # as if a process took the message and died before Slack answered
        conn.execute(alert_messages.update().values(ts="sending:dead", posted_at=utc_now() - timedelta(minutes=1)))
    poster = RecordingPoster()
    assert asyncio.run(dispatcher(ledger, poster).run_once()).sent == 0  # still someone else's, for a while
    with ledger.engine.begin() as conn:
        conn.execute(alert_messages.update().values(posted_at=utc_now() - timedelta(minutes=6)))
    assert asyncio.run(dispatcher(ledger, poster).run_once()).sent == 1
    with ledger.engine.connect() as conn:
        [ts] = conn.execute(sa.select(alert_messages.c.ts)).scalars()
    assert ts == "1700000000.000001"
