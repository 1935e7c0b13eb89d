"""One normalized claim status vocabulary, mapped from what payers actually send.

Payers speak X12 277 category codes (STC01-1), 835 claim status codes (CLP02) and portal words.
Everything Claimbot decides (alerts, worklists, "is this claim done?") reads only `ClaimStatus`.
The mapping table is documented in ARCHITECTURE.md; the per-code data lives in codesets/data.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum


class ClaimStatus(StrEnum):
    SUBMITTED = "submitted"  # billed, no answer from the payer yet
    ACKNOWLEDGED = "acknowledged"  # A0/A1/A2/A5: received — NOT adjudicated, keep working it
    PENDING = "pending"  # P*: in process or in review
    INFO_REQUESTED = "info_requested"  # R*, P3: the payer waits for something from us
    PAID = "paid"  # F1 / 835 paid in full of the allowed amount
    PARTIALLY_PAID = "partially_paid"  # paid, but some lines or amounts denied
    DENIED = "denied"  # F2 / CLP02=4 / paid zero with a denial reason
    FINALIZED = "finalized"  # F0/F3/F4: adjudication complete, no payment detail given
    REJECTED = "rejected"  # A3/A6/A7/A8: returned unprocessed; must be fixed and resent
    REVERSED = "reversed"  # 835 CLP02=22: an earlier payment was taken back
    NOT_FOUND = "not_found"  # A4 / D0 / status 35: the payer has no record of it
    UNAVAILABLE = "unavailable"  # E*: the payer could not answer; says nothing about the claim
    UNKNOWN = "unknown"


#: Adjudication is over: stop polling (close work on F, never on A).
FINAL_STATUSES = frozenset(
    {
        ClaimStatus.PAID,
        ClaimStatus.PARTIALLY_PAID,
        ClaimStatus.DENIED,
        ClaimStatus.FINALIZED,
        ClaimStatus.REVERSED,
    }
)

#: Answers that carry no news about the claim itself; they never become its current status.
UNINFORMATIVE_STATUSES = frozenset({ClaimStatus.UNAVAILABLE, ClaimStatus.UNKNOWN})

_CATEGORY_EXACT = {
    "A3": ClaimStatus.REJECTED,
    "A4": ClaimStatus.NOT_FOUND,
    "A6": ClaimStatus.REJECTED,
    "A7": ClaimStatus.REJECTED,
    "A8": ClaimStatus.REJECTED,
    "P3": ClaimStatus.INFO_REQUESTED,
    "F0": ClaimStatus.FINALIZED,
    "F1": ClaimStatus.PAID,
    "F2": ClaimStatus.DENIED,
    "F3": ClaimStatus.FINALIZED,
    "F3F": ClaimStatus.FINALIZED,
    "F3N": ClaimStatus.FINALIZED,
    "F4": ClaimStatus.FINALIZED,
    "D0": ClaimStatus.NOT_FOUND,
}
_CATEGORY_PREFIX = {
    "A": ClaimStatus.ACKNOWLEDGED,
    "P": ClaimStatus.PENDING,
    "R": ClaimStatus.INFO_REQUESTED,
    "E": ClaimStatus.UNAVAILABLE,
}
#: Claim status codes (STC01-2) that mean "no such claim" whatever the category says.
NOT_FOUND_STATUS_CODES = frozenset({"35"})


def status_from_277(category_code: str, status_code: str | None = None) -> ClaimStatus:
    """Normalize a 277 STC01 category (and status code) into the Claimbot vocabulary."""
    category = category_code.strip().upper()
    if status_code is not None and status_code.strip() in NOT_FOUND_STATUS_CODES:
        return ClaimStatus.NOT_FOUND
    if category in _CATEGORY_EXACT:
        return _CATEGORY_EXACT[category]
    return _CATEGORY_PREFIX.get(category[:1], ClaimStatus.UNKNOWN)


#: Adjustments that are not denials: contractual write-off, sequestration, prior payer's payment.
NOT_DENIALS = frozenset({("CO", "45"), ("CO", "253"), ("OA", "23")})


def is_denial(group: str, carc: str, amount: Decimal | None = None) -> bool:
    """A reason that leaves money unpaid and needs work: not a write-off, not the patient's share,
    and not an adjustment of zero or less when the amount is known (interest the payer added,
    CAS*OA*225*-1.50, or an informational 0.00), which leaves nothing unpaid."""
    if amount is not None and amount <= 0:
        return False
    return group != "PR" and (group, carc) not in NOT_DENIALS


def refine_with_amounts(status: ClaimStatus, paid: Decimal | None, has_denial: bool) -> ClaimStatus:
    """Portals and 277s often say 'finalized' or 'paid' where the amounts tell more: use them."""
    if status in (ClaimStatus.FINALIZED, ClaimStatus.PAID) and paid is not None and paid > 0:
        return ClaimStatus.PARTIALLY_PAID if has_denial else ClaimStatus.PAID
    return status


def status_from_835(claim_status_code: str, paid: Decimal, has_denial: bool) -> ClaimStatus:
    """Normalize an 835 CLP02 plus what was paid and whether any non-contractual denial came with it.

    `has_denial` means a CARC other than a plain contractual write-off (CO-45) or patient share (PR-*).
    """
    code = claim_status_code.strip()
    if code == "22":
        return ClaimStatus.REVERSED
    if code == "4":
        return ClaimStatus.DENIED
    if code in {"1", "2", "3", "19", "20", "21"}:
        if paid <= 0:
            return ClaimStatus.DENIED if has_denial else ClaimStatus.FINALIZED
        return ClaimStatus.PARTIALLY_PAID if has_denial else ClaimStatus.PAID
    if code == "23":  # not our claim, forwarded to another payer
        return ClaimStatus.FINALIZED
    return ClaimStatus.UNKNOWN
