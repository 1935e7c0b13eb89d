"""Which claims a sweep asks about tonight, in which order, and why: pure functions over snapshots.

A claim is due when it is not final, old enough for its payer's first check, and its last answer is
older than the re-check interval of its status (a failed attempt: the interval of `unavailable`).
Each payer's own pace adapts that: from the ledger's history (days from submission to the first final
answer of the payer's finalized claims, once there are `learn_min_samples`), a claim still waiting on
the payer is not re-checked much before the payer usually decides (its median), and is re-checked
twice as often once it is past the payer's slow end (the 75th percentile).

Due claims are ordered per payer: those whose timely filing limit (days from the date of service) ends
within `timely_filing_warning_days` first, soonest first; then by age × amount, largest first. Every
claim considered is either due, with its reason in plain words, or counted under one reason it is not
(so considered = due + not due, per payer).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from claims.ledger import ClaimSnapshot, Ledger
from claims.payer_config import SweepRules
from claims.status import FINAL_STATUSES, UNINFORMATIVE_STATUSES, ClaimStatus

#: Statuses where the claim waits on the payer: the adaptive cadence applies to these only. The others
#: (info requested, rejected, not found) wait on us, and keep their plain interval.
WAITING_ON_PAYER = frozenset({ClaimStatus.SUBMITTED, ClaimStatus.ACKNOWLEDGED, ClaimStatus.PENDING})

# Why a claim is not due (the counts' keys): short and stable, for tables and JSON.
NOT_DUE_FINAL = "final"
NOT_DUE_TOO_NEW = "too new for a first check"
NOT_DUE_RECENT = "checked recently"
NOT_DUE_EARLY = "before the payer usually decides"
NOT_DUE_NO_RULES = "payer not in payers.yaml"
NOT_DUE_OVER_LIMIT = "due, over --limit"


@dataclass(frozen=True)
class Cadence:
    """A payer's observed pace: days from submission to the first final answer."""

    typical_days: int  # the median
    late_days: int  # the 75th percentile
    samples: int


def _quantile(values: Sequence[int], q: float) -> int:
    ordered = sorted(values)
    index = max(0, math.ceil(q * len(ordered)) - 1)
    return ordered[index]


def learn_cadence(samples: Sequence[int], min_samples: int) -> Cadence | None:
    """The payer's pace from its finalized claims, or None with fewer than `min_samples` of them."""
    if len(samples) < max(1, min_samples):
        return None
    return Cadence(typical_days=_quantile(samples, 0.5), late_days=_quantile(samples, 0.75), samples=len(samples))


@dataclass(frozen=True)
class Decision:
    due: bool
    reason: str  # due: the plain-words reason; not due: one of the NOT_DUE_* keys
    detail: str = ""


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def decide(snapshot: ClaimSnapshot, rules: SweepRules, cadence: Cadence | None, today: date) -> Decision:
    """Is this claim due tonight, and why (or why not)."""
    status = snapshot.status
    if status in FINAL_STATUSES:
        return Decision(False, NOT_DUE_FINAL)
    start = snapshot.submitted_date or snapshot.service_date_from
    age = (today - start).days
    if snapshot.last_checked_at is None:
        if age < rules.first_check_after_days:
            return Decision(False, NOT_DUE_TOO_NEW)
        first = rules.first_check_after_days
        return Decision(True, f"{status.value} {_plural(age, 'day')} ago, never checked; first check after {first}")
    since = (today - snapshot.last_checked_at.date()).days
    last = snapshot.last_answer_status
    failed = last is not None and last in UNINFORMATIVE_STATUSES
    interval_status = last if failed and last is not None else status
    interval = rules.recheck_days.get(interval_status, rules.recheck_days.get(ClaimStatus.UNKNOWN, 1))
    said = (
        f"last check failed {_plural(since, 'day')} ago ({interval_status.value}); retry every {interval}"
        if failed
        else f"{status.value}, last checked {_plural(since, 'day')} ago; re-check every {interval}"
    )
    if cadence is not None and status in WAITING_ON_PAYER and not failed:
        if age < cadence.typical_days - interval:
            return Decision(False, NOT_DUE_EARLY)
        if age > cadence.late_days:
            interval = max(1, interval // 2)
            said = (
                f"{status.value}, last checked {_plural(since, 'day')} ago; {_plural(age, 'day')} old, past the "
                f"payer's usual {cadence.late_days}: re-check every {interval}"
            )
    if since < interval:
        return Decision(False, NOT_DUE_RECENT)
    return Decision(True, said)


@dataclass(frozen=True)
class PlannedClaim:
    claim_id: str
    payer_id: str
    priority: int  # 1 = asked first, within its payer
    due_reason: str
    timely_filing_days_left: int
    age_days: int
    billed_amount: str


@dataclass
class PayerPlan:
    payer_id: str
    cadence: Cadence | None = None
    due: list[PlannedClaim] = field(default_factory=list)
    not_due: Counter[str] = field(default_factory=Counter)

    @property
    def considered(self) -> int:
        return len(self.due) + sum(self.not_due.values())


@dataclass
class SweepPlan:
    payers: dict[str, PayerPlan] = field(default_factory=dict)

    @property
    def due(self) -> list[PlannedClaim]:
        return [claim for plan in self.payers.values() for claim in plan.due]

    @property
    def considered(self) -> int:
        return sum(plan.considered for plan in self.payers.values())


def _order_key(claim: PlannedClaim, warning_days: int, amount: float) -> tuple[int, float]:
    if claim.timely_filing_days_left <= warning_days:
        return (0, claim.timely_filing_days_left)
    return (1, -(max(claim.age_days, 0) * amount))


def plan_sweep(
    snapshots: Iterable[ClaimSnapshot],
    rules: Mapping[str, SweepRules],
    cadences: Mapping[str, Cadence | None],
    today: date,
    limit_per_payer: int | None = None,
) -> SweepPlan:
    """Every claim considered once: due (ordered, with its reason) or counted under why it is not."""
    plan = SweepPlan()
    candidates: dict[str, list[tuple[tuple[int, float], PlannedClaim]]] = {}
    for snapshot in snapshots:
        payer = plan.payers.setdefault(
            snapshot.payer_id, PayerPlan(snapshot.payer_id, cadence=cadences.get(snapshot.payer_id))
        )
        payer_rules = rules.get(snapshot.payer_id)
        if payer_rules is None:
            payer.not_due[NOT_DUE_NO_RULES] += 1
            continue
        decision = decide(snapshot, payer_rules, payer.cadence, today)
        if not decision.due:
            payer.not_due[decision.reason] += 1
            continue
        days_left = payer_rules.timely_filing_days - (today - snapshot.service_date_from).days
        reason = decision.reason
        if days_left <= payer_rules.timely_filing_warning_days:
            reason = f"timely filing ends in {_plural(days_left, 'day')}; {reason}"
        start = snapshot.submitted_date or snapshot.service_date_from
        claim = PlannedClaim(
            claim_id=snapshot.claim_id,
            payer_id=snapshot.payer_id,
            priority=0,
            due_reason=reason,
            timely_filing_days_left=days_left,
            age_days=(today - start).days,
            billed_amount=str(snapshot.billed_amount),
        )
        key = _order_key(claim, payer_rules.timely_filing_warning_days, float(snapshot.billed_amount))
        candidates.setdefault(snapshot.payer_id, []).append((key, claim))
    for payer_id, found in candidates.items():
        found.sort(key=lambda pair: (pair[0], pair[1].claim_id))
        kept = found if limit_per_payer is None else found[:limit_per_payer]
        payer = plan.payers[payer_id]
        payer.due = [replace(claim, priority=rank) for rank, (_, claim) in enumerate(kept, start=1)]
        if len(found) > len(kept):
            payer.not_due[NOT_DUE_OVER_LIMIT] += len(found) - len(kept)
    return plan


def plan_from_ledger(
    ledger: Ledger,
    rules: Mapping[str, SweepRules],
    today: date,
    payer_id: str | None = None,
    limit_per_payer: int | None = None,
) -> SweepPlan:
    """The plan for tonight from the ledger: its claims' snapshots and each payer's learned pace."""
    history = ledger.days_to_final(payer_id)
    cadences = {
        payer: learn_cadence(history.get(payer, []), payer_rules.learn_min_samples)
        for payer, payer_rules in rules.items()
    }
    return plan_sweep(ledger.claim_snapshots(payer_id), rules, cadences, today, limit_per_payer)
