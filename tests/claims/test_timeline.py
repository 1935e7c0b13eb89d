"""claims.timeline.build_timeline on synthetic data: one order for every kind of entry, sources and
evidence kept, and disagreements between sources flagged (and only those)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from claims.models import (
    Action,
    ActionOutcome,
    AdjustmentGroup,
    CheckSource,
    Denial,
    FrequencyCode,
    Payment,
    PaymentMethod,
    StatusCheck,
    Submission,
    SubmissionRoute,
    SubmissionState,
)
from claims.status import ClaimStatus
from claims.timeline import EntryKind, build_timeline


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 10, day, hour, tzinfo=UTC)


def check(source: CheckSource, status: ClaimStatus, day: int, paid: str | None = None, **more: object) -> StatusCheck:
    return StatusCheck(
        claim_id="C1",
        source=source,
        status=status,
        checked_at=at(day),
        paid_amount=None if paid is None else Decimal(paid),
        **more,  # type: ignore[arg-type]
    )


def test_every_kind_of_entry_in_one_order_with_its_source_and_evidence() -> None:
    era = check(
        CheckSource.EDI,
        ClaimStatus.DENIED,
        20,
        paid="0.00",
        effective_at=at(12, 0),
        dedupe_key="edi:SANDBOXCH:000000003:0081:13:835-claim:C1",
        denials=(Denial(group=AdjustmentGroup.CO, carc="16", rarcs=("N290",), amount=Decimal("80.00")),),
    )
    portal = check(CheckSource.PORTAL, ClaimStatus.PENDING, 5, evidence_ref="sunrise/C1-20261005.html")
    payment = Payment(claim_id="C1", amount=Decimal("0.00"), paid_date=date(2026, 10, 11), method=PaymentMethod.NONE)
    action = Action(
        actor="maria", action="resubmit", idempotency_key="resubmit:C1:1", outcome=ActionOutcome.REFUSED, at=at(21)
    )
    sent = Submission(
        claim_id="C1",
        claim_version=2,
        frequency_code=FrequencyCode.REPLACEMENT,
        original_payer_claim_number="SR123",
        route=SubmissionRoute.API,
        state=SubmissionState.ACCEPTED,
        requested_by="maria",
        idempotency_key="resubmit:C1:2",
        requested_at=at(22),
        sent_at=at(22, 10),
        confirmation_number="B2026102200001",
        ack_codes=("999:A", "277CA:A2:20"),
    )
    timeline = build_timeline([portal, era], [payment], [action], [sent])
    assert [(e.kind, e.source, e.at.date().day) for e in timeline] == [
        (EntryKind.STATUS, "portal", 5),
        (EntryKind.PAYMENT, "edi", 11),
        (EntryKind.STATUS, "edi", 12),  # the ERA's own date, though recorded on the 20th
        (EntryKind.ACTION, "audit", 21),
        (EntryKind.SUBMISSION, "api", 22),
    ]
    assert [e.evidence for e in timeline] == [
        "sunrise/C1-20261005.html",
        None,
        "edi:SANDBOXCH:000000003:0081:13:835-claim:C1",
        "resubmit:C1:1",
        "B2026102200001",
    ]
    assert timeline[2].summary == "denied paid 0.00 CO-16 N290"
    assert timeline[3].summary == "resubmit by maria: refused"
    assert timeline[4].summary == (
        "sent version 2 as frequency 7 (REF*F8 SR123) by maria: accepted [999:A, 277CA:A2:20]"
    )
    assert all(e.disagreements == () for e in timeline)  # pending then denied is news, not a dispute


def test_a_paid_amount_two_sources_read_differently_is_flagged_on_the_later() -> None:
    era = check(CheckSource.EDI, ClaimStatus.PAID, 10, paid="75.00")
    portal = check(CheckSource.PORTAL, ClaimStatus.PAID, 30, paid="80.00")
    same_again = check(CheckSource.EDI, ClaimStatus.PAID, 31, paid="75.00")
    first, second, third = build_timeline([era, portal, same_again], [], [], [])
    assert first.disagreements == ()
    assert second.disagreements == ("paid 80.00 here, 75.00 by edi 2026-10-10",)
    assert third.disagreements == ("paid 75.00 here, 80.00 by portal 2026-10-30",)  # not against its own source


def test_a_reversal_between_two_payments_is_not_a_disagreement() -> None:
    checks = [
        check(CheckSource.EDI, ClaimStatus.PAID, 1, paid="75.00"),
        check(CheckSource.EDI, ClaimStatus.REVERSED, 20, paid="-75.00"),
        check(CheckSource.PORTAL, ClaimStatus.PAID, 29, paid="90.00"),
    ]
    assert [e.disagreements for e in build_timeline(checks, [], [], [])] == [(), (), ()]


def test_denied_and_paid_at_about_the_same_time_from_two_sources_is_flagged() -> None:
    checks = [
        check(CheckSource.PORTAL, ClaimStatus.DENIED, 10),
        check(CheckSource.EDI, ClaimStatus.PAID, 12, paid="80.00"),
        check(CheckSource.API, ClaimStatus.PAID, 28, paid="80.00"),  # weeks later, after a reprocess: news
    ]
    flagged = [e.disagreements for e in build_timeline(checks, [], [], [])]
    assert flagged == [(), ("status paid here, denied by portal 2026-10-10",), ()]
