"""One timeline per claim: every answer (portal, API, EDI file), payment, action and submission, in order,
each with its source and evidence, and the places where two sources disagree about the same fact.

Pure: `build_timeline` takes what the ledger holds (Ledger.history, payments, actions_for, submissions)
and returns entries; `claimbot claims show` and the Slack card render them.

Two sources **disagree** when, from different sources (portal, api, edi, manual):
- both say the payer paid (paid / partially paid) but name different paid amounts, with no reversal
  between them (the amount paid is one fact whenever it is read); or
- both give a final status (paid, partially paid, denied, finalized, reversed), different ones, within
  SAME_TIME of each other (a payer that reprocessed a claim weeks later is not a disagreement).
The later entry of the two carries the flag, naming the earlier one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from claims.models import Action, Denial, Payment, StatusCheck, Submission
from claims.status import FINAL_STATUSES, ClaimStatus

#: Final answers from two sources this close together describe the same decision.
SAME_TIME = timedelta(days=7)
_PAID = frozenset({ClaimStatus.PAID, ClaimStatus.PARTIALLY_PAID})


class EntryKind(StrEnum):
    STATUS = "status"  # an answer about the claim (portal page, 277, 835, ...)
    PAYMENT = "payment"
    ACTION = "action"  # the audit log: who did what
    SUBMISSION = "submission"  # a claim sent to the payer (original, corrected, void)


class TimelineEntry(BaseModel):
    """One thing that happened to a claim. PHI-free: codes, amounts, ids, people's user names."""

    model_config = ConfigDict(frozen=True)

    at: datetime  # when it was true (an answer's status_at, a payment's date, an action's time, when sent)
    kind: EntryKind
    source: str  # portal, api, edi, manual; audit for actions; a submission's route
    summary: str  # plain words
    evidence: str | None = None  # evidence file, EDI key (sender, ISA13, ST02, position), idempotency key...
    status: ClaimStatus | None = None
    paid_amount: Decimal | None = None
    denials: tuple[Denial, ...] = ()
    remarks: tuple[str, ...] = ()
    disagreements: tuple[str, ...] = ()


def _check_entry(check: StatusCheck) -> TimelineEntry:
    parts = [check.status.value]
    if code := ":".join(c for c in (check.category_code, check.status_code) if c):
        parts.append(f"({code})")
    if check.paid_amount is not None:
        parts.append(f"paid {check.paid_amount:,.2f}")
    parts += dict.fromkeys(f"{d.code}{''.join(' ' + r for r in d.rarcs)}" for d in check.denials)  # once each
    if check.payer_status_text:
        parts.append(f"“{check.payer_status_text}”")
    return TimelineEntry(
        at=check.status_at,
        kind=EntryKind.STATUS,
        source=check.source.value,
        summary=" ".join(parts),
        evidence=check.evidence_ref or check.dedupe_key,
        status=check.status,
        paid_amount=check.paid_amount,
        denials=check.denials,
        remarks=check.remarks,
    )


def _payment_entry(payment: Payment, fallback_at: datetime) -> TimelineEntry:
    number = f", {payment.method.value} {payment.check_number}" if payment.check_number else ""
    at = datetime.combine(payment.paid_date, time(), UTC) if payment.paid_date else fallback_at
    return TimelineEntry(
        at=at,
        kind=EntryKind.PAYMENT,
        source=payment.source.value,
        summary=f"payment {payment.amount:,.2f}{number}",
        evidence=payment.dedupe_key,
        paid_amount=payment.amount,
    )


def _action_entry(action: Action) -> TimelineEntry:
    return TimelineEntry(
        at=action.at,
        kind=EntryKind.ACTION,
        source="audit",
        summary=f"{action.action} by {action.actor}: {action.outcome.value}",
        evidence=action.idempotency_key,
    )


def _submission_entry(submission: Submission) -> TimelineEntry:
    parts = [
        f"sent version {submission.claim_version} as frequency {submission.frequency_code.value}",
        f"(REF*F8 {submission.original_payer_claim_number})" if submission.original_payer_claim_number else "",
        f"by {submission.requested_by}: {submission.state.value}",
        f"[{', '.join(submission.ack_codes)}]" if submission.ack_codes else "",
        f"error {submission.error}" if submission.error else "",
    ]
    evidence = submission.evidence_ref or submission.confirmation_number or submission.idempotency_key
    return TimelineEntry(
        at=submission.sent_at or submission.requested_at,
        kind=EntryKind.SUBMISSION,
        source=submission.route.value,
        summary=" ".join(p for p in parts if p),
        evidence=evidence,
    )


def _disagreements(checks: Sequence[StatusCheck]) -> dict[int, list[str]]:
    """Index of a check in `checks` -> what it disagrees about with an earlier check from another source."""
    ordered = sorted(range(len(checks)), key=lambda i: (checks[i].status_at, checks[i].checked_at, i))
    found: dict[int, list[str]] = {}
    for position, later in enumerate(ordered):
        b = checks[later]
        for start, earlier in enumerate(ordered[:position]):
            a = checks[earlier]
            if a.source is b.source:
                continue
            said = f"{a.source.value} {a.status_at:%Y-%m-%d}"
            between = [checks[i].status for i in ordered[start + 1 : position]]
            if (
                a.status in _PAID
                and b.status in _PAID
                and a.paid_amount is not None
                and b.paid_amount is not None
                and a.paid_amount != b.paid_amount
                and ClaimStatus.REVERSED not in between
            ):
                found.setdefault(later, []).append(f"paid {b.paid_amount:,.2f} here, {a.paid_amount:,.2f} by {said}")
            if (
                a.status in FINAL_STATUSES
                and b.status in FINAL_STATUSES
                and a.status is not b.status
                and b.status_at - a.status_at <= SAME_TIME
            ):
                found.setdefault(later, []).append(f"status {b.status.value} here, {a.status.value} by {said}")
    return found


def build_timeline(
    checks: Sequence[StatusCheck],
    payments: Sequence[Payment],
    actions: Sequence[Action],
    submissions: Sequence[Submission],
) -> list[TimelineEntry]:
    """Every entry in time order (then answers, payments, submissions, actions), disagreements flagged."""
    flags = _disagreements(checks)
    entries = [
        _check_entry(check).model_copy(update={"disagreements": tuple(flags.get(i, ()))})
        for i, check in enumerate(checks)
    ]
    # a payment without a date was recorded with the latest answers: put it there
    undated_at = max((c.checked_at for c in checks), default=datetime.now(UTC))
    entries += [_payment_entry(payment, undated_at) for payment in payments]
    entries += [_submission_entry(submission) for submission in submissions]
    entries += [_action_entry(action) for action in actions]
    order = list(EntryKind)
    return sorted(entries, key=lambda e: (e.at, order.index(e.kind)))
