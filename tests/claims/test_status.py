from decimal import Decimal

import pytest

from claims.status import FINAL_STATUSES, ClaimStatus, is_denial, refine_with_amounts, status_from_277, status_from_835


@pytest.mark.parametrize(
    ("category", "code", "expected"),
    [
        ("A1", None, ClaimStatus.ACKNOWLEDGED),
        ("A2", "20", ClaimStatus.ACKNOWLEDGED),
        ("A3", None, ClaimStatus.REJECTED),
        ("A4", None, ClaimStatus.NOT_FOUND),
        ("A7", "21", ClaimStatus.REJECTED),
        ("P1", None, ClaimStatus.PENDING),
        ("P3", None, ClaimStatus.INFO_REQUESTED),
        ("R4", None, ClaimStatus.INFO_REQUESTED),
        ("F1", "65", ClaimStatus.PAID),
        ("F2", None, ClaimStatus.DENIED),
        ("F4", None, ClaimStatus.FINALIZED),
        ("E1", None, ClaimStatus.UNAVAILABLE),
        ("D0", None, ClaimStatus.NOT_FOUND),
        ("P0", "35", ClaimStatus.NOT_FOUND),
        ("f1", None, ClaimStatus.PAID),
        ("Z9", None, ClaimStatus.UNKNOWN),
    ],
)
def test_277_categories_normalize(category: str, code: str | None, expected: ClaimStatus) -> None:
    assert status_from_277(category, code) is expected


def test_acknowledged_is_never_final() -> None:
    """Close work on F, never on A."""
    assert ClaimStatus.ACKNOWLEDGED not in FINAL_STATUSES
    assert status_from_277("F1") in FINAL_STATUSES


@pytest.mark.parametrize(
    ("clp02", "paid", "denial", "expected"),
    [
        ("1", Decimal("80.00"), False, ClaimStatus.PAID),
        ("1", Decimal("40.00"), True, ClaimStatus.PARTIALLY_PAID),
        ("1", Decimal("0.00"), True, ClaimStatus.DENIED),
        ("1", Decimal("0.00"), False, ClaimStatus.FINALIZED),
        ("4", Decimal("0.00"), True, ClaimStatus.DENIED),
        ("22", Decimal("-80.00"), False, ClaimStatus.REVERSED),
        ("99", Decimal("0.00"), False, ClaimStatus.UNKNOWN),
    ],
)
def test_835_claim_status_normalizes(clp02: str, paid: Decimal, denial: bool, expected: ClaimStatus) -> None:
    assert status_from_835(clp02, paid, denial) is expected


@pytest.mark.parametrize(
    ("status", "paid", "denial", "expected"),
    [
        (ClaimStatus.FINALIZED, Decimal("236.97"), False, ClaimStatus.PAID),
        (ClaimStatus.PAID, Decimal("50.00"), True, ClaimStatus.PARTIALLY_PAID),
        (ClaimStatus.FINALIZED, Decimal("0.00"), False, ClaimStatus.FINALIZED),
        (ClaimStatus.DENIED, Decimal("0.00"), True, ClaimStatus.DENIED),
        (ClaimStatus.PENDING, None, False, ClaimStatus.PENDING),
    ],
)
def test_amounts_refine_the_category(
    status: ClaimStatus, paid: Decimal | None, denial: bool, expected: ClaimStatus
) -> None:
    assert refine_with_amounts(status, paid, denial) is expected


def test_what_counts_as_a_denial() -> None:
    assert is_denial("CO", "50")
    assert not is_denial("CO", "45")
    assert not is_denial("PR", "2")
    assert is_denial("OA", "18")


def test_an_adjustment_of_zero_or_less_leaves_nothing_unpaid() -> None:
    assert not is_denial("OA", "225", Decimal("-1.50"))  # interest the payer added
    assert not is_denial("CO", "50", Decimal("0.00"))  # informational
    assert is_denial("CO", "50", Decimal("25.00"))
    assert is_denial("CO", "50")  # amount unknown (a portal page without one): the code decides
