"""The denials worklist: every claim the payer denied in whole or part, what to do, by when, and what is at stake.

`open_denials` reads the ledger (one snapshot per claim, then the history of the denied ones), asks the
denial playbook for the denial to act on first and claims.deadlines for the windows it leaves, and
orders the list by the next deadline, soonest first, then by the amount at risk. The CLI (`claimbot
denials list`), the Slack assistant and the digest read it; PHI-free by construction (ids, codes,
amounts, dates).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from claims.deadlines import (
    DENIED_STATUSES,
    Deadline,
    current_check,
    deadlines_of,
    denied_amount,
    remittance_date,
)
from claims.denials import DenialCategory, DenialPlaybook, Recommendation
from claims.ledger import Ledger
from claims.models import Denial
from claims.payer_config import DeadlineRules


class OpenDenial(BaseModel):
    """One denied (or partly denied) claim on the worklist."""

    model_config = ConfigDict(frozen=True)

    claim_id: str
    payer_id: str
    denials: tuple[Denial, ...]  # those of the answer that denied it, work first (claims.models.Denial.needs_work)
    recommendation: Recommendation | None  # the denial to act on first; None when the payer gave no codes
    denied_amount: Decimal  # what the denials that need work leave unpaid
    denied_on: date  # the remittance date (claims.deadlines.remittance_date)
    age_days: int  # days since denied_on
    next_deadline: Deadline | None  # the soonest one not passed; None when all have passed
    deadlines: tuple[Deadline, ...]  # every window the denial has, passed ones included
    amount_at_risk: Decimal


def open_denials(
    ledger: Ledger,
    playbook: DenialPlaybook,
    today: date,
    *,
    payer_id: str | None = None,
    category: DenialCategory | None = None,
    due_within_days: int | None = None,
    since: datetime | None = None,
    rules: DeadlineRules | None = None,
) -> list[OpenDenial]:
    """Claims whose current status is denied or partially paid, filtered, soonest deadline first.

    `due_within_days` keeps denials whose next deadline (not passed) is at most that many days away;
    `since` keeps those whose denying answer was recorded at or after it (what is new for a digest);
    `rules` from payers.yaml (PayerConfig.deadline_rules()), else the ledger's payers with the shipped windows.
    """
    resolved = rules or DeadlineRules.shipped(ledger.payers())
    found: list[OpenDenial] = []
    for snapshot in ledger.claim_snapshots(payer_id):
        if snapshot.status not in DENIED_STATUSES:
            continue
        history = ledger.history(snapshot.claim_id)
        check = current_check(history)
        if check is None or (since is not None and check.checked_at < since):
            continue
        ordered = tuple(sorted(check.denials, key=lambda d: not d.needs_work))
        recommendation = playbook.recommend_claim(ordered, snapshot.payer_id)
        if category is not None and (recommendation is None or recommendation.category is not category):
            continue
        windows = deadlines_of(
            snapshot.claim_id,
            resolved.for_payer(snapshot.payer_id),
            snapshot.service_date_from,
            snapshot.billed_amount,
            history,
            recommendation,
        )
        upcoming = windows.next(today)
        if due_within_days is not None and (upcoming is None or upcoming.days_left(today) > due_within_days):
            continue
        denied_on = remittance_date(check)
        found.append(
            OpenDenial(
                claim_id=snapshot.claim_id,
                payer_id=snapshot.payer_id,
                denials=ordered,
                recommendation=recommendation,
                denied_amount=denied_amount(check),
                denied_on=denied_on,
                age_days=(today - denied_on).days,
                next_deadline=upcoming,
                deadlines=windows.deadlines,
                amount_at_risk=windows.amount_at_risk,
            )
        )
    return sorted(
        found,
        key=lambda d: (
            d.next_deadline is None,
            d.next_deadline.due if d.next_deadline else date.max,
            -d.amount_at_risk,
            d.claim_id,
        ),
    )
