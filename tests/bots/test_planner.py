"""bots.planner on synthetic claims: no database, except the one test of the ledger's snapshots."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from bots.planner import (
    NOT_DUE_EARLY,
    NOT_DUE_FINAL,
    NOT_DUE_OVER_LIMIT,
    NOT_DUE_RECENT,
    NOT_DUE_TOO_NEW,
    Cadence,
    decide,
    learn_cadence,
    plan_from_ledger,
    plan_sweep,
)
from claims.ledger import ClaimSnapshot, Ledger
from claims.models import CheckSource, PayerKind, StatusCheck
from claims.payer_config import PayerEntry, PayerSweep, SweepDefaults, SweepRules, sweep_rules
from claims.status import ClaimStatus
from tests.factories import make_claim

TODAY = date(2026, 12, 1)


def rules(kind: PayerKind = PayerKind.COMMERCIAL, payer_id: str = "ACME", **sweep: object) -> SweepRules:
    entry = PayerEntry(
        id=payer_id, name=payer_id, kind=kind, timely_filing_days=180, sweep=PayerSweep.model_validate(sweep)
    )
    return sweep_rules(entry, SweepDefaults())


def snap(
    claim_id: str = "C1",
    status: ClaimStatus = ClaimStatus.SUBMITTED,
    submitted_days_ago: int = 30,
    checked_days_ago: int | None = None,
    last: ClaimStatus | None = None,
    amount: str = "100.00",
    service_days_ago: int | None = None,
    payer_id: str = "ACME",
) -> ClaimSnapshot:
    submitted = TODAY - timedelta(days=submitted_days_ago)
    checked = (
        None
        if checked_days_ago is None
        else datetime.combine(TODAY, datetime.min.time(), UTC) - timedelta(days=checked_days_ago)
    )
    return ClaimSnapshot(
        claim_id=claim_id,
        payer_id=payer_id,
        status=status,
        service_date_from=TODAY - timedelta(days=service_days_ago or submitted_days_ago + 3),
        submitted_date=submitted,
        billed_amount=Decimal(amount),
        last_checked_at=checked,
        last_answer_status=last or (status if checked is not None else None),
    )


def test_first_check_waits_for_the_payer_kind() -> None:
    assert decide(snap(submitted_days_ago=6), rules(), None, TODAY).reason == NOT_DUE_TOO_NEW
    assert decide(snap(submitted_days_ago=7), rules(), None, TODAY).due
    medicare = rules(PayerKind.MEDICARE)
    assert medicare.first_check_after_days == 14
    assert decide(snap(submitted_days_ago=10), medicare, None, TODAY).reason == NOT_DUE_TOO_NEW
    assert decide(snap(submitted_days_ago=10), rules(first_check_after_days=3), None, TODAY).due
    said = decide(snap(submitted_days_ago=15), medicare, None, TODAY).reason
    assert said == "submitted 15 days ago, never checked; first check after 14"


def test_re_checks_follow_the_interval_of_the_status() -> None:
    pending = snap(status=ClaimStatus.PENDING, checked_days_ago=6)
    decision = decide(pending, rules(), None, TODAY)
    assert decision.due and decision.reason == "pending, last checked 6 days ago; re-check every 5"
    assert decide(snap(status=ClaimStatus.PENDING, checked_days_ago=4), rules(), None, TODAY).reason == NOT_DUE_RECENT
    assert decide(snap(status=ClaimStatus.INFO_REQUESTED, checked_days_ago=2), rules(), None, TODAY).due
    assert not decide(snap(status=ClaimStatus.PENDING, checked_days_ago=4), rules(), None, TODAY).due
    assert decide(
        snap(status=ClaimStatus.PENDING, checked_days_ago=4), rules(recheck_days={"pending": 3}), None, TODAY
    ).due
    failed = snap(status=ClaimStatus.PENDING, checked_days_ago=1, last=ClaimStatus.UNAVAILABLE)
    assert decide(failed, rules(), None, TODAY).reason == "last check failed 1 day ago (unavailable); retry every 1"
    for final in (ClaimStatus.PAID, ClaimStatus.DENIED, ClaimStatus.PARTIALLY_PAID, ClaimStatus.FINALIZED):
        assert decide(snap(status=final, checked_days_ago=99), rules(), None, TODAY).reason == NOT_DUE_FINAL


def test_the_cadence_is_learned_from_enough_finalized_claims() -> None:
    assert learn_cadence([10] * 19, min_samples=20) is None
    cadence = learn_cadence([*range(20, 40)], min_samples=20)
    assert cadence == Cadence(typical_days=29, late_days=34, samples=20)


def test_the_cadence_holds_checks_back_early_and_speeds_them_up_late() -> None:
    cadence = Cadence(typical_days=30, late_days=40, samples=50)
    early = snap(status=ClaimStatus.PENDING, submitted_days_ago=20, checked_days_ago=10)
    assert decide(early, rules(), None, TODAY).due  # the plain interval would ask
    assert decide(early, rules(), cadence, TODAY).reason == NOT_DUE_EARLY  # the payer needs ~30 days
    near = snap(status=ClaimStatus.PENDING, submitted_days_ago=26, checked_days_ago=6)
    assert decide(near, rules(), cadence, TODAY).due  # within one interval of the usual: ask
    late = snap(status=ClaimStatus.PENDING, submitted_days_ago=45, checked_days_ago=3)
    assert not decide(late, rules(), None, TODAY).due
    decision = decide(late, rules(), cadence, TODAY)
    assert decision.due and "past the payer's usual 40: re-check every 2" in decision.reason
    # A claim waiting on us (information requested) keeps its own interval whatever the payer's pace.
    info = snap(status=ClaimStatus.INFO_REQUESTED, submitted_days_ago=10, checked_days_ago=2)
    assert decide(info, rules(), cadence, TODAY).due


def test_the_plan_orders_by_deadline_then_age_times_amount_and_counts_add_up() -> None:
    snapshots = [
        snap("BIG", amount="5000.00", submitted_days_ago=20),
        snap("SMALL", amount="10.00", submitted_days_ago=20),
        snap("OLDER", amount="1000.00", submitted_days_ago=120),
        snap("DEADLINE", amount="1.00", submitted_days_ago=20, service_days_ago=170),
        snap("DEADLINE2", amount="1.00", submitted_days_ago=20, service_days_ago=160),
        snap("NEW", submitted_days_ago=2),
        snap("DONE", status=ClaimStatus.PAID, checked_days_ago=1),
        snap("RECENT", status=ClaimStatus.PENDING, checked_days_ago=1),
        snap("OTHER", payer_id="NOPE"),
    ]
    plan = plan_sweep(snapshots, {"ACME": rules()}, {}, TODAY)
    acme = plan.payers["ACME"]
    assert [c.claim_id for c in acme.due] == ["DEADLINE", "DEADLINE2", "OLDER", "BIG", "SMALL"]
    assert [c.priority for c in acme.due] == [1, 2, 3, 4, 5]
    assert acme.due[0].due_reason.startswith("timely filing ends in 10 days; submitted 20 days ago")
    assert dict(acme.not_due) == {NOT_DUE_TOO_NEW: 1, NOT_DUE_FINAL: 1, NOT_DUE_RECENT: 1}
    assert acme.considered == 8 and plan.payers["NOPE"].considered == 1 and plan.considered == len(snapshots)
    limited = plan_sweep(snapshots, {"ACME": rules()}, {}, TODAY, limit_per_payer=2)
    assert [c.claim_id for c in limited.payers["ACME"].due] == ["DEADLINE", "DEADLINE2"]
    assert limited.payers["ACME"].not_due[NOT_DUE_OVER_LIMIT] == 3
    assert limited.considered == len(snapshots)


def test_the_plan_from_the_ledger_learns_the_payers_pace(ledger: Ledger) -> None:
    """20 SUNRISE claims finalized 8 to 10 days after submission teach the planner the payer's pace: a
    claim still pending at 11 days is past it, so it is re-checked every 2 days instead of every 5."""
    claims = [make_claim(f"F{n:02d}") for n in range(20)] + [make_claim("WAIT")]  # submitted 2026-09-20
    with ledger.writer() as writer:
        writer.upsert_claims(claims)
    for n in range(20):
        ledger.record_status_check(
            StatusCheck(
                claim_id=f"F{n:02d}",
                source=CheckSource.EDI,
                status=ClaimStatus.PAID,
                checked_at=datetime(2026, 9, 30 - (n % 3), tzinfo=UTC),
                dedupe_key=f"f{n}",
            )
        )
    ledger.record_status_check(
        StatusCheck(
            claim_id="WAIT",
            source=CheckSource.PORTAL,
            status=ClaimStatus.PENDING,
            checked_at=datetime(2026, 9, 25, tzinfo=UTC),
            dedupe_key="w",
        )
    )
    sunrise = {"SUNRISE": rules(payer_id="SUNRISE")}
    plan = plan_from_ledger(ledger, sunrise, date(2026, 10, 1), payer_id="SUNRISE")
    payer = plan.payers["SUNRISE"]
    assert payer.cadence == Cadence(typical_days=9, late_days=10, samples=20)
    assert payer.not_due[NOT_DUE_FINAL] == 20
    assert [c.claim_id for c in payer.due] == ["WAIT"]  # 11 days old, past the payer's usual 10
    assert "past the payer's usual 10: re-check every 2" in payer.due[0].due_reason
