from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from claims.models import CheckSource, Claim, Denial, ServiceLine, StatusCheck, npi_check_digit_ok
from claims.status import ClaimStatus
from tests.factories import make_claim, make_patient


def test_npi_check_digit() -> None:
    assert npi_check_digit_ok("1234567893")
    assert not npi_check_digit_ok("1234567890")
    assert not npi_check_digit_ok("123456789")


def test_claim_totals_and_span() -> None:
    claim = make_claim()
    assert claim.billed_amount == Decimal("143.50")
    assert claim.service_date_from == date(2026, 9, 14)


def test_patient_phi_stays_out_of_repr() -> None:
    claim = make_claim()
    text = repr(claim) + str(claim) + repr(claim.patient)
    assert "Quillfeather" not in text
    assert "Marisol" not in text
    assert "SUN77120433" not in text
    assert "1979" not in text
    assert claim.patient.initials == "M.Q."


@pytest.mark.parametrize(
    ("overrides", "where"),
    [
        ({"rendering_npi": "1234567890"}, "rendering_npi"),
        ({"diagnosis_codes": ("U99",)}, "diagnosis_codes"),
        ({"diagnosis_codes": ()}, "diagnosis_codes"),
        ({"claim_id": "C 1"}, "claim_id"),
        ({"place_of_service": "1"}, "place_of_service"),
    ],
)
def test_claim_rejects_bad_fields(overrides: dict[str, object], where: str) -> None:
    with pytest.raises(ValidationError) as caught:
        make_claim(**overrides)
    assert caught.value.errors()[0]["loc"][0] == where


def test_line_pointer_beyond_diagnoses_is_refused() -> None:
    line = ServiceLine(
        line_number=1,
        procedure_code="99213",
        charge=Decimal(10),
        service_date_from=date(2026, 1, 2),
        service_date_to=date(2026, 1, 2),
        diagnosis_pointers=(3,),
    )
    with pytest.raises(ValidationError, match="points at a diagnosis"):
        make_claim(lines=(line,))


def test_service_line_rules() -> None:
    with pytest.raises(ValidationError, match="5 letters or digits"):
        ServiceLine(
            line_number=1,
            procedure_code="9921",
            charge=Decimal(1),
            service_date_from=date(2026, 1, 1),
            service_date_to=date(2026, 1, 1),
        )
    with pytest.raises(ValidationError, match="before"):
        ServiceLine(
            line_number=1,
            procedure_code="99213",
            charge=Decimal(1),
            service_date_from=date(2026, 1, 2),
            service_date_to=date(2026, 1, 1),
        )
    with pytest.raises(ValidationError, match="two decimal places"):
        ServiceLine(
            line_number=1,
            procedure_code="99213",
            charge=Decimal("1.001"),
            service_date_from=date(2026, 1, 1),
            service_date_to=date(2026, 1, 1),
        )


def test_lines_must_be_numbered_in_order() -> None:
    claim = make_claim()
    with pytest.raises(ValidationError, match="numbered"):
        Claim(**{**claim.model_dump(), "lines": tuple(reversed([line.model_dump() for line in claim.lines]))})


def test_status_check_needs_an_aware_time_and_normalizes_to_utc() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        StatusCheck(claim_id="C1", source=CheckSource.PORTAL, status=ClaimStatus.PAID, checked_at=datetime(2026, 1, 1))
    check = StatusCheck(claim_id="C1", source=CheckSource.PORTAL, status=ClaimStatus.PAID)
    assert check.checked_at.tzinfo is UTC


def test_denial_code() -> None:
    assert Denial(group="CO", carc="18").code == "CO-18"  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Denial(group="XX", carc="18")  # type: ignore[arg-type]


def test_patient_requires_all_identity_fields() -> None:
    with pytest.raises(ValidationError):
        make_patient(member_id="")


def test_payer_text_is_cut_to_its_column_with_a_marker_never_refused() -> None:
    from claims.models import PAYER_NUMBER_MAX, PAYER_TEXT_MAX, TRUNCATED, Payment

    check = StatusCheck(
        claim_id="C1", source=CheckSource.PORTAL, status=ClaimStatus.DENIED, payer_status_text="x" * 600
    )
    assert check.payer_status_text == "x" * (PAYER_TEXT_MAX - 1) + TRUNCATED
    exact = StatusCheck(
        claim_id="C1", source=CheckSource.PORTAL, status=ClaimStatus.DENIED, payer_status_text="y" * 500
    )
    assert exact.payer_status_text == "y" * 500
    payment = Payment(claim_id="C1", amount=Decimal("1.00"), check_number="8" * 51)
    assert payment.check_number is not None and len(payment.check_number) == PAYER_NUMBER_MAX
    assert payment.check_number.endswith(TRUNCATED)
    with pytest.raises(ValidationError):  # codes are not cut: a wrong code is wrong, not long
        StatusCheck(claim_id="C1", source=CheckSource.PORTAL, status=ClaimStatus.DENIED, category_code="F2XX")


def test_model_limits_are_the_ledger_columns() -> None:
    from claims.ledger.schema import payments, status_checks
    from claims.models import PAYER_NUMBER_MAX, PAYER_TEXT_MAX, RAW_SEGMENT_MAX

    assert status_checks.c.payer_status_text.type.length == PAYER_TEXT_MAX  # type: ignore[attr-defined]
    assert status_checks.c.raw_segment.type.length == RAW_SEGMENT_MAX  # type: ignore[attr-defined]
    assert status_checks.c.check_number.type.length == PAYER_NUMBER_MAX  # type: ignore[attr-defined]
    assert payments.c.payer_claim_number.type.length == PAYER_NUMBER_MAX  # type: ignore[attr-defined]
