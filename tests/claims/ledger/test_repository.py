"""The same ledger behaviour on SQLite and on a real PostgreSQL (see the `ledger` fixture)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from claims.ledger import ClaimNotFoundError, Ledger
from claims.models import (
    Action,
    ActionOutcome,
    Benefit,
    BotRun,
    BotRunStatus,
    CheckSource,
    Denial,
    EligibilityCheck,
    Payment,
    PaymentMethod,
    StatusCheck,
)
from claims.status import ClaimStatus
from tests.factories import make_claim, make_patient

T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


def check(claim_id: str, status: ClaimStatus, at: datetime, **fields: object) -> StatusCheck:
    return StatusCheck(claim_id=claim_id, source=CheckSource.PORTAL, status=status, checked_at=at, **fields)  # type: ignore[arg-type]


def test_upsert_is_idempotent_and_updates_changed_claims(ledger: Ledger) -> None:
    first = [make_claim("C1"), make_claim("C2", payer_id="MERIDIAN")]
    with ledger.writer() as writer:
        assert writer.upsert_claims(first).created == 2
    with ledger.writer() as writer:
        again = writer.upsert_claims(first)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    changed = make_claim("C1", payer_claim_number="ICN-77", lines=make_claim().lines[:1])
    with ledger.writer() as writer:
        counts = writer.upsert_claims([changed])
    assert counts.updated == 1
    stored = ledger.get_claim("C1")
    assert stored == changed
    assert len(stored.lines) == 1
    assert ledger.count_claims() == 2


def test_claim_round_trips_exactly(ledger: Ledger) -> None:
    claim = make_claim("RT-1")
    with ledger.writer() as writer:
        writer.upsert_claims([claim])
    assert ledger.get_claim("RT-1") == claim
    with pytest.raises(ClaimNotFoundError, match="NOPE"):
        ledger.get_claim("NOPE")


def test_patients_are_shared_between_claims(ledger: Ledger) -> None:
    with ledger.writer() as writer:
        writer.upsert_claims([make_claim("P1"), make_claim("P2")])
    with ledger.engine.connect() as conn:
        from sqlalchemy import func, select

        from claims.ledger.schema import patients

        assert conn.execute(select(func.count()).select_from(patients)).scalar_one() == 1


def test_status_is_derived_from_history_which_is_never_overwritten(ledger: Ledger) -> None:
    with ledger.writer() as writer:
        writer.upsert_claims([make_claim("S1"), make_claim("S2", submitted_date=None)])
    assert ledger.current_status("S1") is ClaimStatus.SUBMITTED
    assert ledger.current_status("S2") is ClaimStatus.UNKNOWN
    ledger.record_status_check(check("S1", ClaimStatus.ACKNOWLEDGED, T0, category_code="A2"))
    ledger.record_status_check(check("S1", ClaimStatus.PENDING, T0 + timedelta(days=3), category_code="P1"))
    # A late-arriving older answer does not become the current status.
    ledger.record_status_check(check("S1", ClaimStatus.ACKNOWLEDGED, T0 + timedelta(days=1), category_code="A1"))
    assert ledger.current_status("S1") is ClaimStatus.PENDING
    # "The payer could not answer" says nothing about the claim.
    ledger.record_status_check(check("S1", ClaimStatus.UNAVAILABLE, T0 + timedelta(days=4), category_code="E1"))
    assert ledger.current_status("S1") is ClaimStatus.PENDING
    denied = check(
        "S1",
        ClaimStatus.DENIED,
        T0 + timedelta(days=9),
        category_code="F2",
        paid_amount=Decimal("0.00"),
        billed_amount=Decimal("143.50"),
        denials=(Denial(group="CO", carc="50", rarcs=("N115",), amount=Decimal("143.50"), line_number=1),),  # type: ignore[arg-type]
    )
    ledger.record_status_check(denied)
    assert ledger.current_status("S1") is ClaimStatus.DENIED
    history = ledger.history("S1")
    assert [h.status for h in history] == [
        ClaimStatus.ACKNOWLEDGED,
        ClaimStatus.ACKNOWLEDGED,
        ClaimStatus.PENDING,
        ClaimStatus.UNAVAILABLE,
        ClaimStatus.DENIED,
    ]
    assert history[-1] == denied
    summary = ledger.summary("S1")
    assert summary.status is ClaimStatus.DENIED
    assert summary.status_checked_at == T0 + timedelta(days=9)
    assert summary.patient_initials == "M.Q."


def test_list_filters_by_derived_status_and_payer(ledger: Ledger) -> None:
    with ledger.writer() as writer:
        writer.upsert_claims(
            [
                make_claim("L1"),
                make_claim("L2"),
                make_claim("L3", payer_id="KEYSTONE"),
                make_claim("L4", submitted_date=None),
            ]
        )
    ledger.record_status_check(check("L1", ClaimStatus.PAID, T0, paid_amount=Decimal("100.00")))
    ledger.record_status_check(check("L2", ClaimStatus.PENDING, T0))
    ledger.record_status_check(check("L2", ClaimStatus.PAID, T0 + timedelta(hours=1)))
    ledger.record_status_check(check("L2", ClaimStatus.PENDING, T0 - timedelta(hours=1)))
    assert [c.claim_id for c in ledger.list_claims(status=ClaimStatus.PAID)] == ["L1", "L2"]
    assert [c.claim_id for c in ledger.list_claims(status=ClaimStatus.SUBMITTED)] == ["L3"]
    assert [c.claim_id for c in ledger.list_claims(status=ClaimStatus.UNKNOWN)] == ["L4"]
    assert [c.claim_id for c in ledger.list_claims(payer_id="KEYSTONE")] == ["L3"]
    assert [c.claim_id for c in ledger.list_claims(limit=2, offset=1)] == ["L2", "L3"]
    assert ledger.list_claims(status=ClaimStatus.PAID)[0].paid_amount == Decimal("100.00")


def test_dedupe_keys_make_recording_idempotent(ledger: Ledger) -> None:
    with ledger.writer() as writer:
        writer.upsert_claims([make_claim("D1")])
    answer = check("D1", ClaimStatus.PAID, T0, dedupe_key="file:abc:CLP:1")
    assert ledger.record_status_check(answer)
    assert not ledger.record_status_check(answer)
    payment = Payment(
        claim_id="D1",
        amount=Decimal("90.10"),
        paid_date=date(2026, 10, 2),
        method=PaymentMethod.EFT,
        check_number="EFT123",
        dedupe_key="file:abc:pay:1",
    )
    assert ledger.record_payment(payment)
    assert not ledger.record_payment(payment)
    assert len(ledger.history("D1")) == 1


def test_recording_for_an_unknown_claim_is_refused_and_writes_nothing(ledger: Ledger) -> None:
    with pytest.raises(ClaimNotFoundError):
        ledger.record_status_check(check("GHOST", ClaimStatus.PAID, T0))
    with pytest.raises(ClaimNotFoundError):
        ledger.current_status("GHOST")
    with pytest.raises(ClaimNotFoundError):
        ledger.history("GHOST")


def test_a_failed_transaction_leaves_nothing_behind(ledger: Ledger) -> None:
    def import_then_fail() -> None:
        with ledger.writer() as writer:
            writer.upsert_claims([make_claim("TX1")])
            writer.record_status_check(check("GHOST", ClaimStatus.PAID, T0))

    with pytest.raises(ClaimNotFoundError):
        import_then_fail()
    assert ledger.count_claims() == 0


def test_actions_are_audited_once_per_idempotency_key(ledger: Ledger) -> None:
    with ledger.writer() as writer:
        writer.upsert_claims([make_claim("A1")])
    action = Action(
        actor="U123",
        action="claim.resubmit",
        idempotency_key="resubmit:A1:1",
        outcome=ActionOutcome.SUCCEEDED,
        claim_id="A1",
        detail={"frequency_code": "7"},
    )
    assert ledger.record_action(action)
    assert not ledger.record_action(action)
    recorded = ledger.actions_for("A1")
    assert len(recorded) == 1
    assert recorded[0].detail == {"frequency_code": "7"}


def test_eligibility_and_bot_runs(ledger: Ledger) -> None:
    with ledger.writer() as writer:
        run_id = writer.start_bot_run(BotRun(kind="eligibility", payer_id="SUNRISE"))
        eligibility = EligibilityCheck(
            payer_id="SUNRISE",
            patient=make_patient(),
            source=CheckSource.PORTAL,
            service_date=date(2026, 11, 1),
            active=True,
            plan_name="Gold PPO",
            benefits=(Benefit(kind="copay", service_type="30", amount=Decimal("25.00")),),
            bot_run_id=run_id,
        )
        assert writer.record_eligibility(eligibility) > 0
        writer.finish_bot_run(run_id, BotRunStatus.SUCCEEDED, claims_checked=0, errors=0, note=None)


def test_payers_sync_updates_in_place(ledger: Ledger) -> None:
    payers = ledger.payers()
    assert [p.id for p in payers] == ["KEYSTONE", "MERIDIAN", "SUNRISE"]
    ledger.sync_payers([payers[0].model_copy(update={"timely_filing_days": 300})])
    assert ledger.payers()[0].timely_filing_days == 300


def test_claim_level_remarks_are_kept_with_their_answer(ledger: Ledger) -> None:
    """A remark that belongs to no adjustment (a portal's separate list, an 835's MOA) is not lost."""
    with ledger.writer() as writer:
        writer.upsert_claims([make_claim("C1")])
    ledger.record_status_check(
        StatusCheck(claim_id="C1", source=CheckSource.PORTAL, status=ClaimStatus.PENDING, remarks=("N290", "MA130"))
    )
    [check] = ledger.history("C1")
    assert check.remarks == ("N290", "MA130")
    with pytest.raises(ValueError, match="remarks"):
        StatusCheck(claim_id="C1", source=CheckSource.PORTAL, status=ClaimStatus.PENDING, remarks=("Quillfeather",))
