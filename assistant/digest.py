"""The daily digest: what happened overnight and where the money is, for the team channel and App Home.

Figures (`build_digest`, over the `hours` before `now`, 24 by default):
- claims checked (distinct claims with an answer recorded), answers, and answers that failed;
- status changes by new status (from the events outbox);
- new denials by reason (group-CARC, or a 277's category:status) and by payer;
- A/R aging: claims.reports' (the `claimbot report aging` total): open balances in buckets 0–30, 31–60,
  61–90, 91–120 and 120+ days since the date of service, with counts and amounts;
- bot health per payer: answers, failed answers, bot failures and failed canaries, and an open hold.
Only counts, amounts, payer ids and codes: no PHI. The chart (assistant.charts) draws aging and denials.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict

from assistant.cards import money
from claims.ledger import Ledger
from claims.ledger.schema import claims, status_checks
from claims.models import EventKind
from claims.reports import BUCKET_LABELS, aging_report
from claims.status import ClaimStatus

DENIAL_EVENTS = frozenset({EventKind.DENIED, EventKind.PARTIALLY_PAID})
PAYER_FAILURES = frozenset({EventKind.BOT_FAILURE, EventKind.CANARY_FAILED})
ZERO = Decimal("0.00")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class AgingBucket(_Frozen):
    label: str
    claims: int
    amount: Decimal


class PayerHealth(_Frozen):
    payer_id: str
    answers: int
    failed: int
    bot_failures: int
    held: bool

    @property
    def healthy(self) -> bool:
        return not self.held and not self.bot_failures and (self.answers == 0 or self.failed * 2 < self.answers)


class Digest(_Frozen):
    since: datetime
    until: datetime
    claims_checked: int
    answers: int
    failed_answers: int
    status_changes: dict[str, int]
    denials_by_reason: dict[str, int]
    denials_by_payer: dict[str, int]
    aging: tuple[AgingBucket, ...]
    bot_health: tuple[PayerHealth, ...]

    @property
    def new_denials(self) -> int:
        return sum(self.denials_by_payer.values())


def build_digest(ledger: Ledger, now: datetime, hours: int = 24) -> Digest:
    since = now - timedelta(hours=hours)
    window = sa.and_(status_checks.c.checked_at >= since, status_checks.c.checked_at < now)
    with ledger.engine.connect() as conn:
        checked = conn.execute(sa.select(sa.func.count(sa.distinct(status_checks.c.claim_pk))).where(window)).scalar()
        per_payer = conn.execute(
            sa.select(
                claims.c.payer_id,
                sa.func.count().label("answers"),
                sa.func.sum(sa.case((status_checks.c.status == ClaimStatus.UNAVAILABLE.value, 1), else_=0)).label(
                    "failed"
                ),
            )
            .join(claims, claims.c.id == status_checks.c.claim_pk)
            .where(window)
            .group_by(claims.c.payer_id)
        ).all()
    events = [e for e in ledger.events(since=since) if e.created_at < now]
    changes: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    denied_payers: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    for event in events:
        if event.kind in PAYER_FAILURES:
            failures[event.payer_id or "?"] += 1
            continue
        if event.claim_id is None:
            continue
        changes[str(event.payload.get("status") or event.kind.value)] += 1
        if event.kind in DENIAL_EVENTS:
            denied_payers[event.payer_id or "?"] += 1
            codes = event.payload.get("denials")
            found = (
                codes
                if isinstance(codes, list) and codes
                else [f"{event.payload.get('category_code') or '?'}:{event.payload.get('status_code') or '?'}"]
            )
            reasons.update(found)
    aging = aging_report(ledger.list_claims(limit=None), now.date()).total
    held = {hold.payer_id for hold in ledger.holds()}
    answers = {row.payer_id: (int(row.answers), int(row.failed or 0)) for row in per_payer}
    payer_ids = sorted({p.id for p in ledger.payers()} | set(answers) | set(failures))
    return Digest(
        since=since,
        until=now,
        claims_checked=int(checked or 0),
        answers=sum(a for a, _ in answers.values()),
        failed_answers=sum(f for _, f in answers.values()),
        status_changes=dict(changes.most_common()),
        denials_by_reason=dict(reasons.most_common()),
        denials_by_payer=dict(denied_payers.most_common()),
        aging=tuple(
            AgingBucket(label=label, claims=aging.counts[label], amount=aging.amounts[label]) for label in BUCKET_LABELS
        ),
        bot_health=tuple(
            PayerHealth(
                payer_id=payer,
                answers=answers.get(payer, (0, 0))[0],
                failed=answers.get(payer, (0, 0))[1],
                bot_failures=failures[payer],
                held=payer in held,
            )
            for payer in payer_ids
        ),
    )


def _pairs(counts: dict[str, int], empty: str) -> str:
    return ", ".join(f"{key} {count}" for key, count in counts.items()) or empty


def digest_text(digest: Digest) -> str:
    """The notification fallback and the console form's first line."""
    return (
        f"Daily digest: {digest.claims_checked} claims checked, {digest.new_denials} new denials, "
        f"{money(sum((b.amount for b in digest.aging), ZERO))} open A/R"
    )


def digest_blocks(digest: Digest, title: str = "Daily digest") -> list[dict[str, Any]]:
    aging = "\n".join(f"`{b.label:>6}` {b.claims} claims · {money(b.amount)}" for b in digest.aging)
    health = "\n".join(
        f"{'✅' if p.healthy else '⚠️'} {p.payer_id}: {p.answers} answers, {p.failed} failed"
        + (f", {p.bot_failures} bot failures" if p.bot_failures else "")
        + (", *held*" if p.held else "")
        for p in digest.bot_health
    )
    return [
        {"type": "header", "text": {"type": "plain_text", "text": title}},
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": f"{digest.since:%Y-%m-%d %H:%M} to {digest.until:%Y-%m-%d %H:%M} UTC"}
            ],
        },
        {
            "type": "section",
            "fields": [
                {
                    "type": "mrkdwn",
                    "text": f"*Checked overnight*\n{digest.claims_checked} claims, {digest.answers} answers"
                    f" ({digest.failed_answers} failed)",
                },
                {"type": "mrkdwn", "text": f"*Status changes*\n{_pairs(digest.status_changes, 'none')}"},
                {"type": "mrkdwn", "text": f"*New denials by reason*\n{_pairs(digest.denials_by_reason, 'none')}"},
                {"type": "mrkdwn", "text": f"*New denials by payer*\n{_pairs(digest.denials_by_payer, 'none')}"},
            ],
        },
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"*A/R aging* (days from the date of service)\n{aging}"},
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*Bot health*\n{health or 'no payers'}"}},
    ]


def chart_of(digest: Digest) -> bytes:
    from assistant.charts import digest_chart

    return digest_chart([(b.label, b.amount) for b in digest.aging], list(digest.denials_by_reason.items()))
