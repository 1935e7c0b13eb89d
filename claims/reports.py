"""What the ledger says about the team's work, in four reports: A/R aging, denials, runs, payer reliability.

Each report is a pure function over ledger reads (`aging_report(ledger.list_claims(...), today)` and
so on), so it is tested on a ledger built in the test with exact numbers; `claimbot report` shows them.

- **Aging** counts each open claim's balance (billed minus what the payer paid on its current answer)
  in buckets of days **since the date of service** (the first day of service): a claim is aged from
  the day the work was done whether or not it was submitted yet, as practice A/R is, and timely filing
  runs from the same day. A claim is open unless its current status is `paid` or `finalized`.
- **Denials** are the adjustments of each claim's current answer that need work (`Denial.needs_work`:
  no contractual write-off, no patient share), grouped by category (the denial playbook's), group + CARC,
  and payer.
- **Runs** are the sweeps and the live-check runs started since a day, with their item counts and timings.
- **Payers** are the bot checks (portal and API answers) since a day: success, not-found and error rates,
  and the 90th percentile of the payer's answer time against the CAQH CORE rule (a real-time claim status
  answer within 20 seconds). Answer times are `status_checks.elapsed_ms`; failed attempts are untimed.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict

from claims.ledger import ClaimSummary, Ledger
from claims.ledger.schema import claims, status_checks
from claims.models import BotRun, CheckSource, Denial, Sweep, SweepItemState, SweepKind
from claims.status import ClaimStatus

#: (label, first day, last day or None): days since the date of service.
AGING_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-30", 0, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("91-120", 91, 120),
    ("120+", 121, None),
)
BUCKET_LABELS = tuple(label for label, _, _ in AGING_BUCKETS)
#: A claim in one of these owes the practice nothing more: it is out of A/R.
CLOSED_STATUSES = frozenset({ClaimStatus.PAID, ClaimStatus.FINALIZED})
#: CAQH CORE: a real-time claim status answer within 20 seconds.
CAQH_RESPONSE_LIMIT_S = 20.0
ZERO = Decimal("0.00")


class _Report(BaseModel):
    model_config = ConfigDict(frozen=True)


def bucket_of(age_days: int) -> str:
    for label, first, last in AGING_BUCKETS:
        if age_days >= first and (last is None or age_days <= last):
            return label
    return BUCKET_LABELS[0]  # a date of service in the future (a typo in the export) counts as new


def open_balance(claim: ClaimSummary) -> Decimal:
    """What the payer still owes on the claim: billed minus paid, nothing once it is closed."""
    if claim.status in CLOSED_STATUSES:
        return ZERO
    return max(ZERO, claim.billed_amount - (claim.paid_amount or ZERO))


class AgingRow(_Report):
    payer_id: str  # "total" on the total row
    counts: dict[str, int]  # bucket label -> claims
    amounts: dict[str, Decimal]  # bucket label -> open balance
    count: int
    amount: Decimal


class AgingReport(_Report):
    as_of: date
    basis: str = "days since the date of service"
    buckets: tuple[str, ...] = BUCKET_LABELS
    payers: list[AgingRow]
    total: AgingRow


def _aging_row(payer_id: str, entries: Sequence[tuple[str, Decimal]]) -> AgingRow:
    counts = dict.fromkeys(BUCKET_LABELS, 0)
    amounts = dict.fromkeys(BUCKET_LABELS, ZERO)
    for label, amount in entries:
        counts[label] += 1
        amounts[label] += amount
    return AgingRow(
        payer_id=payer_id,
        counts=counts,
        amounts=amounts,
        count=len(entries),
        amount=sum((a for _, a in entries), ZERO),
    )


def aging_report(summaries: Iterable[ClaimSummary], today: date) -> AgingReport:
    """Open balances per payer and bucket of days since the date of service."""
    per_payer: dict[str, list[tuple[str, Decimal]]] = {}
    for claim in summaries:
        balance = open_balance(claim)
        if balance <= 0:
            continue
        label = bucket_of((today - claim.service_date_from).days)
        per_payer.setdefault(claim.payer_id, []).append((label, balance))
    rows = [_aging_row(payer, entries) for payer, entries in sorted(per_payer.items())]
    return AgingReport(
        as_of=today,
        payers=rows,
        total=_aging_row("total", [e for entries in per_payer.values() for e in entries]),
    )


class DenialRow(_Report):
    category: str
    code: str  # group + CARC, e.g. CO-16
    payer_id: str
    claims: int
    denials: int
    amount: Decimal


class DenialCategoryRow(_Report):
    category: str
    claims: int
    denials: int
    amount: Decimal


class DenialsReport(_Report):
    rows: list[DenialRow]  # by category, code, payer
    categories: list[DenialCategoryRow]  # largest amount first
    claims: int
    denials: int
    amount: Decimal


#: The category of one denial of one payer (the denial playbook's: `recommend(d, payer).category`).
Categorize = Callable[[Denial, str], str]


def denials_report(found: Iterable[tuple[str, str, Denial]], categorize: Categorize) -> DenialsReport:
    """The denials that need work, from `Ledger.current_denials()` (claim id, payer id, denial)."""
    groups: dict[tuple[str, str, str], tuple[set[str], list[Decimal]]] = {}
    for claim_id, payer_id, denial in found:
        if not denial.needs_work:
            continue
        key = (categorize(denial, payer_id), denial.code, payer_id)
        claims_of, amounts = groups.setdefault(key, (set(), []))
        claims_of.add(claim_id)
        amounts.append(denial.amount or ZERO)
    rows = [
        DenialRow(
            category=category,
            code=code,
            payer_id=payer,
            claims=len(claim_ids),
            denials=len(amounts),
            amount=sum(amounts, ZERO),
        )
        for (category, code, payer), (claim_ids, amounts) in sorted(groups.items())
    ]
    categories: dict[str, tuple[set[str], int, Decimal]] = {}
    all_claims: set[str] = set()
    for (category, _, _), (claim_ids, amounts) in groups.items():
        ids, count, amount = categories.get(category, (set(), 0, ZERO))
        categories[category] = (ids | claim_ids, count + len(amounts), amount + sum(amounts, ZERO))
        all_claims |= claim_ids
    by_category = sorted(
        (DenialCategoryRow(category=c, claims=len(ids), denials=n, amount=a) for c, (ids, n, a) in categories.items()),
        key=lambda row: (-row.amount, row.category),
    )
    return DenialsReport(
        rows=rows,
        categories=by_category,
        claims=len(all_claims),
        denials=sum(r.denials for r in rows),
        amount=sum((r.amount for r in rows), ZERO),
    )


class RunRow(_Report):
    what: str  # "status sweep", "eligibility sweep", or the bot run's kind
    id: int
    payer_id: str | None
    trigger: str
    state: str
    started_at: datetime | None
    seconds: float | None
    planned: int
    done: int
    failed: int
    not_asked: int  # quarantined or skipped
    left: int  # still planned: stopped before it finished

    @property
    def per_minute(self) -> float | None:
        if not self.seconds or not (self.done + self.failed):
            return None
        return round((self.done + self.failed) * 60 / self.seconds, 1)


class RunsReport(_Report):
    since: date
    rows: list[RunRow]  # newest first
    planned: int
    done: int
    failed: int
    not_asked: int
    left: int


def _seconds(started: datetime | None, finished: datetime | None) -> float | None:
    return None if started is None or finished is None else round((finished - started).total_seconds(), 1)


def runs_report(
    sweeps: Iterable[tuple[Sweep, Counter[SweepItemState]]],
    bot_runs: Iterable[tuple[int, BotRun]],
    since: date,
) -> RunsReport:
    """Sweeps (with their items counted by state) and live-check runs started on or after `since`."""
    rows = []
    for sweep, states in sweeps:
        began = sweep.started_at or sweep.created_at
        if sweep.id is None or began.date() < since:
            continue
        rows.append(
            RunRow(
                what=f"{sweep.kind.value} sweep",
                id=sweep.id,
                payer_id=None,
                trigger=sweep.trigger,
                state=sweep.state.value,
                started_at=sweep.started_at,
                seconds=_seconds(sweep.started_at, sweep.finished_at),
                planned=states.total(),
                done=states[SweepItemState.DONE],
                failed=states[SweepItemState.FAILED],
                not_asked=states[SweepItemState.QUARANTINED] + states[SweepItemState.SKIPPED],
                left=states[SweepItemState.PLANNED],
            )
        )
    for run_id, run in bot_runs:
        if run.started_at.date() < since:
            continue
        rows.append(
            RunRow(
                what=run.kind,
                id=run_id,
                payer_id=run.payer_id,
                trigger=run.trigger,
                state=run.status.value,
                started_at=run.started_at,
                seconds=_seconds(run.started_at, run.finished_at),
                planned=run.claims_checked + run.errors,
                done=run.claims_checked,
                failed=run.errors,
                not_asked=0,
                left=0,
            )
        )
    rows.sort(key=lambda r: (r.started_at is not None, r.started_at or datetime.min), reverse=True)
    return RunsReport(
        since=since,
        rows=rows,
        planned=sum(r.planned for r in rows),
        done=sum(r.done for r in rows),
        failed=sum(r.failed for r in rows),
        not_asked=sum(r.not_asked for r in rows),
        left=sum(r.left for r in rows),
    )


def read_runs(ledger: Ledger, since: date) -> RunsReport:
    """The runs report from the ledger: sweeps' items counted by state, live runs as recorded."""
    sweeps = []
    for sweep in ledger.sweeps():
        if sweep.id is None or (sweep.started_at or sweep.created_at).date() < since:
            continue
        if sweep.kind is SweepKind.STATUS:
            states = Counter(item.state for item in ledger.sweep_items(sweep.id))
        else:
            states = Counter(item.state for item in ledger.eligibility_sweep_items(sweep.id))
        sweeps.append((sweep, states))
    return runs_report(sweeps, ledger.bot_runs().items(), since)


class CheckTally(_Report):
    """The bot checks of one payer with one status, and the answer times recorded for them (ms)."""

    payer_id: str
    status: ClaimStatus
    count: int
    elapsed_ms: list[int]


class PayerReliability(_Report):
    payer_id: str
    checks: int
    success: int
    not_found: int
    errors: int
    success_rate: float
    not_found_rate: float
    error_rate: float
    timed: int  # answers with a recorded time
    p90_seconds: float | None
    within_caqh: bool | None  # p90 within CAQH_RESPONSE_LIMIT_S; None when nothing was timed


class PayersReport(_Report):
    since: date
    limit_seconds: float = CAQH_RESPONSE_LIMIT_S
    payers: list[PayerReliability]


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least `share` of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def payers_report(tallies: Iterable[CheckTally], since: date) -> PayersReport:
    """Per payer: an error is an attempt that got no answer (`unavailable`); not found is the payer
    saying it has no such claim; every other answer is a success."""
    per_payer: dict[str, list[CheckTally]] = {}
    for tally in tallies:
        per_payer.setdefault(tally.payer_id, []).append(tally)
    rows = []
    for payer_id, found in sorted(per_payer.items()):
        checks = sum(t.count for t in found)
        errors = sum(t.count for t in found if t.status is ClaimStatus.UNAVAILABLE)
        not_found = sum(t.count for t in found if t.status is ClaimStatus.NOT_FOUND)
        times = [ms / 1000 for t in found for ms in t.elapsed_ms]
        p90 = percentile(times, 0.9)
        rows.append(
            PayerReliability(
                payer_id=payer_id,
                checks=checks,
                success=checks - errors - not_found,
                not_found=not_found,
                errors=errors,
                success_rate=_rate(checks - errors - not_found, checks),
                not_found_rate=_rate(not_found, checks),
                error_rate=_rate(errors, checks),
                timed=len(times),
                p90_seconds=None if p90 is None else round(p90, 3),
                within_caqh=None if p90 is None else p90 <= CAQH_RESPONSE_LIMIT_S,
            )
        )
    return PayersReport(since=since, payers=rows)


#: Checks a bot made (portal or API); EDI files and manual entries are not the payer's reliability.
BOT_SOURCES = (CheckSource.PORTAL.value, CheckSource.API.value)


def read_check_tallies(ledger: Ledger, since: datetime) -> list[CheckTally]:
    """The bot checks observed since `since`, per payer and status, with their answer times."""
    query = (
        sa.select(claims.c.payer_id, status_checks.c.status, status_checks.c.elapsed_ms)
        .join(claims, claims.c.id == status_checks.c.claim_pk)
        .where(status_checks.c.checked_at >= since, status_checks.c.source.in_(BOT_SOURCES))
    )
    counts: Counter[tuple[str, str]] = Counter()
    times: dict[tuple[str, str], list[int]] = {}
    with ledger.engine.connect() as conn:
        for row in conn.execute(query):
            key = (row.payer_id, row.status)
            counts[key] += 1
            if row.elapsed_ms is not None:
                times.setdefault(key, []).append(row.elapsed_ms)
    return [
        CheckTally(payer_id=payer, status=ClaimStatus(status), count=n, elapsed_ms=times.get((payer, status), []))
        for (payer, status), n in sorted(counts.items())
    ]
