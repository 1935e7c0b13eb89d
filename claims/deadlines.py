"""By when a claim must be filed, corrected or appealed, and how much money is at stake if it is not.

Three clocks, configured per payer in payers.yaml (`timely_filing_days`, `deadline_defaults:` by kind and
a payer's own `deadlines:`, resolved by claims.payer_config.DeadlineRules):

- **timely filing** runs from the claim's first date of service, for as long as the payer has not
  adjudicated it (submitted, acknowledged, pending, info requested, rejected, not found): an accepted
  claim must reach the payer within it;
- **corrected claim** runs from the date of service (Medicare: adjustment claims fall under the
  12-month filing limit) or from the remittance date (most commercial payers);
- **appeal** runs from the remittance date (Medicare redetermination: 120 days from the RA), or as
  long as the denial playbook's rule says.

**The remittance date** is the date of the payer's denial as its answer gives it: the answer's
`payment_date` (an ERA's BPR16, the date on the remittance advice, which is what Medicare counts from),
else the payer's own `effective_at` (an ERA's DTM*405, a 277's STC02), else the day Claimbot saw the
answer (`checked_at`). Missing dates therefore err towards a later start, never an invented earlier one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from claims.models import StatusCheck
from claims.payer_config import DeadlineRule, DeadlineRules, WindowStart
from claims.status import FINAL_STATUSES, UNINFORMATIVE_STATUSES, ClaimStatus

if TYPE_CHECKING:
    from claims.denials import Recommendation
    from claims.ledger import Ledger

#: A claim in one of these was denied in part or whole: it has corrected-claim and appeal windows.
DENIED_STATUSES = frozenset({ClaimStatus.DENIED, ClaimStatus.PARTIALLY_PAID})
ZERO = Decimal("0.00")


class DeadlineKind(StrEnum):
    TIMELY_FILING = "timely_filing"
    CORRECTED_CLAIM = "corrected_claim"
    APPEAL = "appeal"


class Deadline(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: DeadlineKind
    due: date
    basis: str  # plain words: "180 days from the date of service 2026-05-01"

    def days_left(self, today: date) -> int:
        """Negative once it has passed."""
        return (self.due - today).days


class ClaimDeadlines(BaseModel):
    """A claim's deadlines that apply in its current status, and what is lost if they pass."""

    model_config = ConfigDict(frozen=True)

    claim_id: str
    deadlines: tuple[Deadline, ...]
    amount_at_risk: Decimal

    def next(self, today: date) -> Deadline | None:
        """The soonest deadline not passed yet (today still counts), or None."""
        ahead = [d for d in self.deadlines if d.due >= today]
        return min(ahead, key=lambda d: (d.due, d.kind.value)) if ahead else None

    def passed(self, kind: DeadlineKind, today: date) -> bool:
        """Whether this claim's deadline of that kind is behind us (False when it has none of that kind)."""
        return any(d.kind is kind and d.due < today for d in self.deadlines)


def current_check(history: Sequence[StatusCheck]) -> StatusCheck | None:
    """The answer the claim's current status comes from: the latest informative one by status_at, then
    by observation (the ledger's own rule, claims.ledger: history is oldest first, so ties go to the later)."""
    found: StatusCheck | None = None
    for check in history:
        if check.status in UNINFORMATIVE_STATUSES:
            continue
        if found is None or (check.status_at, check.checked_at) >= (found.status_at, found.checked_at):
            found = check
    return found


def remittance_date(check: StatusCheck) -> date:
    """The date of the payer's decision (see the module docstring for the order)."""
    return check.payment_date or check.status_at.date()


def decision_date(history: Sequence[StatusCheck]) -> date | None:
    """The date of the claim's current decision as first recorded.

    A later look at a decided claim (a live check, a portal re-read, a 277 that carries no remittance
    date) observes the same decision again; counting from it would restart the windows at every look.
    So the answers that say the same as the current one, back to the last that said something else,
    are one decision: its date is the earliest remittance date among them.
    """
    ordered = sorted(
        (check for check in history if check.status not in UNINFORMATIVE_STATUSES),
        key=lambda check: (check.status_at, check.checked_at),
    )
    if not ordered:
        return None
    run: list[StatusCheck] = []
    for check in reversed(ordered):
        if check.status is not ordered[-1].status:
            break
        run.append(check)
    return min(remittance_date(check) for check in run)


def denied_amount(check: StatusCheck) -> Decimal:
    """What the denials that need work leave unpaid (claims.models.Denial.needs_work)."""
    return sum((d.amount for d in check.denials if d.needs_work and d.amount is not None), ZERO)


def _days(count: int, start: date, what: str) -> tuple[date, str]:
    return start + timedelta(days=count), f"{count} days from the {what} {start.isoformat()}"


def deadlines_of(
    claim_id: str,
    rule: DeadlineRule | None,
    service_date: date,
    billed: Decimal,
    history: Sequence[StatusCheck],
    recommendation: Recommendation | None = None,
) -> ClaimDeadlines:
    """A claim's deadlines from what the ledger holds about it (pure: claim_deadlines reads the ledger).

    A claim the payer has not adjudicated risks its billed amount to timely filing; a denied one risks
    what its denials leave unpaid (billed less paid when the payer gave no codes) to the corrected-claim
    window (only when a corrected claim can fix it, if the playbook says) and the appeal window.
    """
    check = current_check(history)
    status = check.status if check is not None else ClaimStatus.SUBMITTED
    if rule is None:
        return ClaimDeadlines(claim_id=claim_id, deadlines=(), amount_at_risk=ZERO)
    if status not in FINAL_STATUSES:
        due, basis = _days(rule.timely_filing_days, service_date, "date of service")
        return ClaimDeadlines(
            claim_id=claim_id,
            deadlines=(Deadline(kind=DeadlineKind.TIMELY_FILING, due=due, basis=basis),),
            amount_at_risk=billed,
        )
    if check is None or status not in DENIED_STATUSES:
        return ClaimDeadlines(claim_id=claim_id, deadlines=(), amount_at_risk=ZERO)
    remitted = decision_date(history) or remittance_date(check)
    found: list[Deadline] = []
    if recommendation is None or recommendation.correctable:
        start, what = (
            (service_date, "date of service")
            if rule.corrected_claim_from is WindowStart.SERVICE_DATE
            else (remitted, "remittance")
        )
        due, basis = _days(rule.corrected_claim_days, start, what)
        found.append(Deadline(kind=DeadlineKind.CORRECTED_CLAIM, due=due, basis=basis))
    appeal_days = rule.appeal_days
    if recommendation is not None and recommendation.appeal_window_days is not None:
        appeal_days = recommendation.appeal_window_days
    due, basis = _days(appeal_days, remitted, "remittance")
    found.append(Deadline(kind=DeadlineKind.APPEAL, due=due, basis=basis))
    # Only what the denials that need work leave unpaid: a patient's share is the patient's to pay and a
    # write-off is the contract. Without any codes (a 277 F2 says no more), what was billed and not paid.
    at_risk = denied_amount(check) if check.denials else max(billed - (check.paid_amount or ZERO), ZERO)
    return ClaimDeadlines(claim_id=claim_id, deadlines=tuple(found), amount_at_risk=at_risk)


def claim_deadlines(
    ledger: Ledger,
    claim_id: str,
    today: date,
    rules: DeadlineRules | None = None,
    *,
    recommendation: Recommendation | None = None,
) -> ClaimDeadlines:
    """One claim's deadlines. `rules` from payers.yaml (PayerConfig.deadline_rules()); without them, the
    ledger's payers (kind, timely filing) with the shipped windows. The deadlines are dates and do not
    depend on `today`; it is taken so callers ask `.next(today)` and `.passed(kind, today)` of the same day."""
    summary = ledger.summary(claim_id)
    resolved = rules or DeadlineRules.shipped(ledger.payers())
    return deadlines_of(
        claim_id,
        resolved.for_payer(summary.payer_id),
        summary.service_date_from,
        summary.billed_amount,
        ledger.history(claim_id),
        recommendation,
    )
