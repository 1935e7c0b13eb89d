"""claims.deadlines: timely filing, corrected-claim and appeal windows per payer, and the amount at risk."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from claims.deadlines import DeadlineKind, claim_deadlines, current_check, decision_date, remittance_date
from claims.ledger import Ledger
from claims.models import AdjustmentGroup, CheckSource, Denial, StatusCheck
from claims.payer_config import PayerConfigError, WindowStart, load_payer_config
from claims.status import ClaimStatus
from tests.conftest import REPO
from tests.factories import make_claim

SERVICE = date(2026, 9, 14)  # make_claim's date of service
RULES = load_payer_config(REPO / "config" / "payers.yaml").deadline_rules()
ONE = "payers:\n  - {id: ACME, name: Acme, kind: %s, timely_filing_days: 90%s}\n"


def denied(claim_id: str, *, paid: str = "0.00", payment_date: date | None = date(2026, 10, 20)) -> StatusCheck:
    return StatusCheck(
        claim_id=claim_id,
        checked_at=datetime(2026, 10, 25, 9, tzinfo=UTC),
        effective_at=datetime(2026, 10, 21, tzinfo=UTC),
        source=CheckSource.EDI,
        status=ClaimStatus.DENIED if paid == "0.00" else ClaimStatus.PARTIALLY_PAID,
        paid_amount=Decimal(paid),
        payment_date=payment_date,
        denials=(
            Denial(group=AdjustmentGroup.CO, carc="16", rarcs=("N290",), amount=Decimal("18.50"), line_number=2),
            Denial(group=AdjustmentGroup.CO, carc="45", amount=Decimal("40.00"), line_number=1),
            Denial(group=AdjustmentGroup.PR, carc="2", amount=Decimal("12.00"), line_number=1),
        ),
    )


def test_medicare_counts_the_corrected_claim_from_the_date_of_service_and_the_appeal_from_the_remittance(
    sqlite_ledger: Ledger,
) -> None:
    with sqlite_ledger.writer() as writer:
        writer.upsert_claims([make_claim("K1", payer_id="KEYSTONE")])
        writer.record_status_check(denied("K1"))
    found = claim_deadlines(sqlite_ledger, "K1", date(2026, 11, 1), RULES)
    by_kind = {d.kind: d for d in found.deadlines}
    assert by_kind[DeadlineKind.CORRECTED_CLAIM].due == date(2027, 9, 14)  # 365 days from the DOS
    assert by_kind[DeadlineKind.CORRECTED_CLAIM].basis == "365 days from the date of service 2026-09-14"
    assert by_kind[DeadlineKind.APPEAL].due == date(2027, 2, 17)  # 120 days from the RA of 2026-10-20
    assert by_kind[DeadlineKind.APPEAL].basis == "120 days from the remittance 2026-10-20"
    assert found.amount_at_risk == Decimal("18.50")  # CO-16 only: CO-45 and PR-2 are not work
    assert found.next(date(2026, 11, 1)) == by_kind[DeadlineKind.APPEAL]
    assert found.next(date(2027, 3, 1)) == by_kind[DeadlineKind.CORRECTED_CLAIM]
    assert found.passed(DeadlineKind.APPEAL, date(2027, 2, 18)) and not found.passed(
        DeadlineKind.APPEAL, date(2027, 2, 17)
    )
    assert not found.passed(DeadlineKind.TIMELY_FILING, date(2030, 1, 1))  # it has none: filed and decided


def test_commercial_windows_run_from_the_remittance_and_a_payers_own_block_wins(sqlite_ledger: Ledger) -> None:
    with sqlite_ledger.writer() as writer:
        writer.upsert_claims([make_claim("S1", payer_id="SUNRISE"), make_claim("M1", payer_id="MERIDIAN")])
        writer.record_status_check(denied("S1", paid="100.00"))
        writer.record_status_check(denied("M1"))
    sunrise = {d.kind: d.due for d in claim_deadlines(sqlite_ledger, "S1", date(2026, 11, 1), RULES).deadlines}
    meridian = {d.kind: d.due for d in claim_deadlines(sqlite_ledger, "M1", date(2026, 11, 1), RULES).deadlines}
    assert sunrise == {DeadlineKind.CORRECTED_CLAIM: date(2027, 4, 18), DeadlineKind.APPEAL: date(2027, 4, 18)}
    assert meridian == {DeadlineKind.CORRECTED_CLAIM: date(2027, 1, 18), DeadlineKind.APPEAL: date(2027, 1, 18)}


def test_an_unadjudicated_claim_risks_its_billed_amount_to_timely_filing(sqlite_ledger: Ledger) -> None:
    with sqlite_ledger.writer() as writer:
        writer.upsert_claims([make_claim("M2", payer_id="MERIDIAN")])
    found = claim_deadlines(sqlite_ledger, "M2", date(2026, 11, 1))  # shipped windows from the ledger's payers
    [filing] = found.deadlines
    assert (filing.kind, filing.due) == (DeadlineKind.TIMELY_FILING, date(2026, 12, 13))  # 90 days from the DOS
    assert filing.basis == "90 days from the date of service 2026-09-14"
    assert found.amount_at_risk == Decimal("143.50")
    assert filing.days_left(date(2026, 12, 20)) == -7 and found.next(date(2026, 12, 20)) is None


def test_a_paid_claim_has_no_deadline(sqlite_ledger: Ledger) -> None:
    with sqlite_ledger.writer() as writer:
        writer.upsert_claims([make_claim("S2")])
        writer.record_status_check(
            StatusCheck(claim_id="S2", source=CheckSource.PORTAL, status=ClaimStatus.PAID, paid_amount=Decimal("90"))
        )
    found = claim_deadlines(sqlite_ledger, "S2", date(2026, 11, 1), RULES)
    assert found.deadlines == () and found.amount_at_risk == 0


def test_the_remittance_date_is_the_payment_date_else_the_payers_date_else_when_seen() -> None:
    assert remittance_date(denied("X")) == date(2026, 10, 20)
    assert remittance_date(denied("X", payment_date=None)) == date(2026, 10, 21)
    seen = denied("X", payment_date=None).model_copy(update={"effective_at": None})
    assert remittance_date(seen) == date(2026, 10, 25)


def test_the_current_check_ignores_answers_that_say_nothing_and_old_files_imported_late() -> None:
    newer = denied("X")
    old = newer.model_copy(
        update={"effective_at": datetime(2026, 9, 30, tzinfo=UTC), "checked_at": datetime(2026, 11, 1, tzinfo=UTC)}
    )
    silent = StatusCheck(claim_id="X", source=CheckSource.PORTAL, status=ClaimStatus.UNAVAILABLE)
    assert current_check([newer, old, silent]) is newer
    assert current_check([silent]) is None


def test_a_later_look_at_the_same_decision_does_not_restart_the_windows() -> None:
    era = denied("X")
    portal_again = StatusCheck(
        claim_id="X",
        checked_at=datetime(2026, 12, 1, 9, tzinfo=UTC),
        source=CheckSource.PORTAL,
        status=ClaimStatus.DENIED,
    )
    assert decision_date([era, portal_again]) == date(2026, 10, 20)
    pending = StatusCheck(
        claim_id="X",
        checked_at=datetime(2026, 11, 5, tzinfo=UTC),
        source=CheckSource.PORTAL,
        status=ClaimStatus.PENDING,
    )
    # denied, then back in process (a correction), then denied again: the new decision counts from itself
    assert decision_date([era, pending, portal_again]) == date(2026, 12, 1)
    assert decision_date([]) is None


def test_deadline_config_keys_layer_and_mistakes_name_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "payers.yaml"
    path.write_text(
        "deadline_defaults:\n  commercial: {appeal_days: 60}\n"
        + ONE % ("commercial", ", deadlines: {corrected_claim_from: service_date}")
    )
    [acme] = load_payer_config(path).deadline_rules().by_payer.values()
    assert (acme.appeal_days, acme.corrected_claim_days, acme.corrected_claim_from) == (
        60,
        180,
        WindowStart.SERVICE_DATE,
    )
    path.write_text("deadline_defaults:\n  commercial:\n    appeal_dayz: 60\n" + ONE % ("commercial", ""))
    with pytest.raises(PayerConfigError) as error:
        load_payer_config(path)
    assert str(error.value) == (f"{path}: line 3: key 'deadline_defaults.commercial.appeal_dayz': is not a known key")
    path.write_text(ONE % ("commercial", ", deadlines: {appeal_days: 0}"))
    with pytest.raises(PayerConfigError, match=r"line 2: key 'payers.0.deadlines.appeal_days': must be at least 1"):
        load_payer_config(path)
