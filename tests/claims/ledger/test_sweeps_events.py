"""Sweeps and the events outbox in the ledger, on SQLite and PostgreSQL.

Every recorded answer that changes a claim's current status appends exactly one event in the same
transaction; a sweep's answer and its item's state change are one transaction, keyed so that a
re-delivered job records nothing twice.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from claims.ledger import Ledger, sweep_dedupe_key
from claims.models import (
    AdjustmentGroup,
    CheckSource,
    Denial,
    EligibilityCheck,
    Event,
    EventKind,
    StatusCheck,
    Sweep,
    SweepItem,
    SweepItemState,
    SweepState,
)
from claims.status import ClaimStatus
from tests.factories import make_claim, make_patient

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def check(claim_id: str, status: ClaimStatus, key: str, at: datetime = T0, **fields: object) -> StatusCheck:
    return StatusCheck(
        claim_id=claim_id, source=CheckSource.PORTAL, status=status, checked_at=at, dedupe_key=key, **fields
    )  # type: ignore[arg-type]


def test_each_status_change_raises_one_event_and_nothing_else_does(ledger: Ledger) -> None:
    with ledger.writer() as writer:
        writer.upsert_claims([make_claim("E1")])
    assert ledger.record_status_check(check("E1", ClaimStatus.PENDING, "k1"))
    assert ledger.record_status_check(check("E1", ClaimStatus.PENDING, "k2", T0 + timedelta(days=1)))  # same status
    assert ledger.record_status_check(check("E1", ClaimStatus.UNAVAILABLE, "k3", T0 + timedelta(days=2)))
    assert not ledger.record_status_check(check("E1", ClaimStatus.DENIED, "k1"))  # a duplicate records nothing
    denial = Denial(group=AdjustmentGroup.CO, carc="50", amount=Decimal("143.50"))
    assert ledger.record_status_check(
        check("E1", ClaimStatus.DENIED, "k4", T0 + timedelta(days=3), denials=(denial,), paid_amount=Decimal("0.00"))
    )
    # An old answer imported late does not become the current status: no event.
    assert ledger.record_status_check(
        check("E1", ClaimStatus.PENDING, "k5", T0 + timedelta(days=4), effective_at=T0 - timedelta(days=9))
    )
    got = ledger.events()
    assert [(e.kind, e.claim_id, e.payer_id) for e in got] == [
        (EventKind.STATUS_CHANGED, "E1", "SUNRISE"),
        (EventKind.DENIED, "E1", "SUNRISE"),
    ]
    first, denied = got
    assert (first.payload["status_before"], first.payload["status"]) == ("submitted", "pending")
    assert denied.payload["denials"] == ["CO-50"] and denied.payload["paid_amount"] == "0.00"
    assert denied.dedupe_key == f"event:denied:E1:{denied.payload['status_check_id']}"
    patient = make_patient()
    text = repr([e.model_dump() for e in got])
    assert patient.last_name not in text and patient.member_id not in text
    assert ledger.events(kind=EventKind.DENIED) == [denied]
    assert ledger.events(since=T0 + timedelta(days=3650)) == []


def test_many_answers_in_one_transaction_each_raise_their_event(ledger: Ledger) -> None:
    """EDI intake records a whole set in one transaction: each answer sees the one before it."""
    with ledger.writer() as writer:
        writer.upsert_claims([make_claim("E2"), make_claim("E3")])
    with ledger.writer() as writer:
        writer.record_status_check(check("E2", ClaimStatus.ACKNOWLEDGED, "e1"))
        writer.record_status_check(
            check("E2", ClaimStatus.PAID, "e2", T0 + timedelta(hours=1), paid_amount=Decimal("1"))
        )
        writer.record_status_check(check("E3", ClaimStatus.REJECTED, "e3"))
    assert [(e.kind, e.claim_id) for e in ledger.events()] == [
        (EventKind.STATUS_CHANGED, "E2"),
        (EventKind.PAID, "E2"),
        (EventKind.REJECTED, "E3"),
    ]


def test_consumers_read_pending_events_and_mark_them(ledger: Ledger) -> None:
    with ledger.writer() as writer:
        writer.upsert_claims([make_claim("E4")])
        for n in range(3):
            assert writer.add_event(Event(kind=EventKind.BOT_FAILURE, payer_id="SUNRISE", dedupe_key=f"f{n}"))
        assert not writer.add_event(Event(kind=EventKind.BOT_FAILURE, payer_id="SUNRISE", dedupe_key="f0"))
    pending = ledger.pending_events(limit=2)
    assert len(pending) == 2
    assert ledger.mark_dispatched([e.id for e in pending if e.id is not None]) == 2
    assert ledger.mark_dispatched([e.id for e in pending if e.id is not None]) == 0
    [left] = ledger.pending_events()
    assert left.dedupe_key == "f2"


def test_coverage_found_inactive_raises_one_event(ledger: Ledger) -> None:
    patient = make_patient()

    def eligibility(active: bool, day: int) -> EligibilityCheck:
        return EligibilityCheck(
            payer_id="SUNRISE",
            patient=patient,
            source=CheckSource.API,
            service_date=date(2026, 11, day),
            active=active,
            checked_at=T0 + timedelta(days=day),
        )

    ledger.record_eligibility(eligibility(True, 1))
    ledger.record_eligibility(eligibility(False, 2))
    ledger.record_eligibility(eligibility(False, 3))  # still inactive: nothing new
    [event] = ledger.events()
    assert event.kind is EventKind.ELIGIBILITY_INACTIVE and event.claim_id is None
    assert event.payload["service_date"] == "2026-11-02"
    assert patient.member_id not in repr(event.model_dump())


def _items(*claim_ids: str) -> list[SweepItem]:
    return [
        SweepItem(claim_id=c, payer_id="SUNRISE", route="portal", priority=n, due_reason="submitted, never checked")
        for n, c in enumerate(claim_ids, 1)
    ]


def test_a_sweep_answer_and_its_item_are_one_write_recorded_once(ledger: Ledger) -> None:
    with ledger.writer() as writer:
        writer.upsert_claims([make_claim(c) for c in ("S1", "S2", "S3")])
        sweep_id = writer.create_sweep(Sweep(trigger="test"), _items("S1", "S2", "S3"))
        writer.start_sweep(sweep_id, timedelta(minutes=1))
    answer = check("S1", ClaimStatus.PAID, "ignored", paid_amount=Decimal("10.00"))
    with ledger.writer() as writer:
        assert writer.record_sweep_answer(sweep_id, answer)
    with ledger.writer() as writer:  # the job is delivered again: nothing twice
        assert not writer.record_sweep_answer(sweep_id, answer)
    [recorded] = ledger.history("S1")
    assert recorded.dedupe_key == sweep_dedupe_key(sweep_id, "S1") == f"sweep:{sweep_id}:S1"
    [paid] = ledger.events(sweep_id=sweep_id)
    assert paid.kind is EventKind.PAID and paid.sweep_id == sweep_id
    with ledger.writer() as writer:
        assert writer.set_sweep_items(sweep_id, ["S1", "S2"], SweepItemState.QUARANTINED, "layout_changed") == 1
    items = {i.claim_id: i for i in ledger.sweep_items(sweep_id)}
    assert (items["S1"].state, items["S1"].attempts, items["S1"].status_check_id is not None) == (
        SweepItemState.DONE,
        1,
        True,
    )
    assert (items["S2"].state, items["S2"].last_error_kind) == (SweepItemState.QUARANTINED, "layout_changed")
    assert items["S3"].state is SweepItemState.PLANNED
    assert [i.claim_id for i in ledger.sweep_items(sweep_id, SweepItemState.PLANNED)] == ["S3"]


def test_a_dead_sweep_is_interrupted_and_resumable_until_nothing_is_planned(ledger: Ledger) -> None:
    with ledger.writer() as writer:
        writer.upsert_claims([make_claim("R1"), make_claim("R2")])
        sweep_id = writer.create_sweep(Sweep(trigger="test"), _items("R1", "R2"))
        writer.start_sweep(sweep_id, timedelta(seconds=-1))  # its lease already ran out
    resumable = ledger.resumable_sweep()
    assert resumable is not None and resumable.id == sweep_id and resumable.state is SweepState.INTERRUPTED
    with ledger.writer() as writer:
        writer.start_sweep(sweep_id, timedelta(minutes=1))
    assert ledger.resumable_sweep() is None  # alive again
    with ledger.writer() as writer:
        writer.record_sweep_answer(sweep_id, check("R1", ClaimStatus.PENDING, "x"))
        writer.set_sweep_items(sweep_id, ["R2"], SweepItemState.FAILED, "portal_unavailable")
        writer.finish_sweep(sweep_id, SweepState.FINISHED, "2 planned")
    done = ledger.sweep(sweep_id)
    assert done is not None and done.state is SweepState.FINISHED and done.finished_at is not None
    assert ledger.resumable_sweep() is None


def test_snapshots_and_the_payers_pace_come_from_the_history(ledger: Ledger) -> None:
    with ledger.writer() as writer:
        writer.upsert_claims([make_claim(c) for c in ("P1", "P2", "P3")])  # submitted 2026-09-20
    ledger.record_status_check(check("P1", ClaimStatus.PENDING, "a", datetime(2026, 10, 1, tzinfo=UTC)))
    ledger.record_status_check(check("P1", ClaimStatus.PAID, "b", datetime(2026, 10, 10, tzinfo=UTC)))
    ledger.record_status_check(check("P1", ClaimStatus.PAID, "c", datetime(2026, 10, 20, tzinfo=UTC)))
    ledger.record_status_check(check("P2", ClaimStatus.DENIED, "d", datetime(2026, 10, 30, tzinfo=UTC)))
    ledger.record_status_check(check("P3", ClaimStatus.PENDING, "e", datetime(2026, 10, 2, tzinfo=UTC)))
    ledger.record_status_check(check("P3", ClaimStatus.UNAVAILABLE, "f", datetime(2026, 10, 3, tzinfo=UTC)))
    assert sorted(ledger.days_to_final()["SUNRISE"]) == [20, 40]
    snapshots = {s.claim_id: s for s in ledger.claim_snapshots("SUNRISE")}
    assert snapshots["P3"].status is ClaimStatus.PENDING
    assert snapshots["P3"].last_answer_status is ClaimStatus.UNAVAILABLE
    assert snapshots["P3"].last_checked_at == datetime(2026, 10, 3, tzinfo=UTC)
    assert snapshots["P1"].billed_amount == Decimal("143.50")
    assert ledger.latest_finalized_claim("SUNRISE") == "P2"
    assert ledger.latest_finalized_claim("MERIDIAN") is None


def test_edi_intake_raises_the_events_of_its_answers_once(ledger: Ledger, tmp_path: Path) -> None:
    """An ERA's answers go through the same recording path: each status change is one event, a
    re-import raises none, and an answer matched when its claim arrives raises its event then."""
    from claims.edi_intake import import_edi
    from claims.importing import import_claims_csv
    from tests.edi.edi_x12_builders import interchange, paid_claim, remittance
    from tests.factories import claims_csv

    with ledger.writer() as writer:
        writer.upsert_claims([make_claim("C1")])
    era = tmp_path / "era.835"
    era.write_text(interchange([remittance([paid_claim("C1"), paid_claim("C9")])]))
    import_edi(ledger, [era])
    import_edi(ledger, [era], force=True)
    assert [(e.kind, e.claim_id) for e in ledger.events()] == [(EventKind.PAID, "C1")]
    import_claims_csv(ledger, claims_csv(tmp_path / "late.csv", [make_claim("C9")]))
    assert [(e.kind, e.claim_id) for e in ledger.events()] == [(EventKind.PAID, "C1"), (EventKind.PAID, "C9")]
