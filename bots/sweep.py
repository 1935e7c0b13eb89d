"""A sweep: check the due claims of every payer, record every answer once, survive faults and crashes.

A sweep is data first (`sweeps`, `sweep_items`): `plan_to_sweep` writes the planner's choice, and
`run_sweep` works the items still `planned`. So a sweep killed at any moment is continued by the next
one: the items already recorded are done, and each answer and its item's state are one transaction
keyed `sweep:<sweep>:<claim>`, so a re-delivered job records nothing twice.

The unit of work is `check_payer_items(ledger, sweep_id, payer_id, adapter, limits, ...)`: "check this
payer's planned claims within sweep S", a plain async function a job queue can call. `run_sweep` runs
one per payer at once (asyncio.gather); each keeps within its limits: its adapter's own session limit,
`max_sessions` claims asked at a time, `requests_per_minute` by a simple async rate limiter. Ledger
calls run in a worker thread, never blocking the event loop the browser shares.

Faults, per payer:
- transient failures are retried with backoff by the RetryPolicy (bots.live.check_with_retry);
- a **canary** first: the payer's route is tried on a known claim (`canary_claim`, else its most
  recently finalized claim). A payer that fails it (layout changed, sign-in refused, unreachable after
  retries) is quarantined for this sweep: its items `quarantined`, its claims untouched, and one
  `canary_failed` event says why, with the evidence;
- a **circuit breaker**: `circuit_breaker_failures` claims in a row failing for a retryable reason open
  it; the payer's remaining items are marked failed (`circuit_open`) and one `bot_failure` event is raised;
- an error that stops the payer (layout changed, sign-in refused: that also holds the payer, as a live
  check does) fails its remaining items the same way, with one `bot_failure` event.
A claim whose check failed keeps its status and gets a failed check (`unavailable`, with the reason);
a claim never asked (its payer stopped first) gets no check, only its item's state and reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from bots.live import DEFAULT_LEASE, Sleep, as_check, check_with_retry, hold_payer, source_of
from bots.planner import SweepPlan
from claims.ledger import ClaimNotFoundError, Ledger
from claims.models import (
    Event,
    EventKind,
    Sweep,
    SweepItem,
    SweepItemState,
    SweepKind,
    SweepState,
)
from portal_adapters.contract import ClaimCheckFailed, ClaimOutcome, ClaimQuery, PayerAdapter
from portal_adapters.errors import AdapterError, ErrorKind, error_for, suspends_payer
from portal_adapters.retry import RetryPolicy

log = structlog.get_logger("bots.sweep")

CIRCUIT_OPEN = "circuit_open"
PAYER_SUSPENDED = "payer_suspended"
NO_ADAPTER = "no_adapter"
ENGINE_FAILED = "engine_failed"

#: Called as items end: (payer id, outcome) with outcome "done" or the error kind / reason.
OnProgress = Callable[[str, str], None]
#: Asked before each claim is started: True once the process is stopping (bots.schedule.stop_jobs).
ShouldStop = Callable[[], bool]


@dataclass(frozen=True)
class PayerLimits:
    """How hard a sweep may press one payer, and how it tests it first (claims.payer_config.SweepRules)."""

    requests_per_minute: int = 60
    max_sessions: int = 2
    circuit_breaker_failures: int = 5
    canary: bool = True
    canary_claim: str | None = None


class RateLimiter:
    """At most `per_minute` claims asked a minute, on average: each claim reserves the next slot."""

    def __init__(self, per_minute: int, sleep: Sleep = asyncio.sleep, clock: Callable[[], float] = time.monotonic):
        self.interval = 60.0 / per_minute
        self.sleep = sleep
        self.clock = clock
        self._next = 0.0

    async def acquire(self, claims: int = 1) -> None:
        now = self.clock()
        wait = self._next - now
        self._next = max(now, self._next) + claims * self.interval
        if wait > 0:
            await self.sleep(wait)


def plan_to_sweep(
    ledger: Ledger, plan: SweepPlan, routes: Mapping[str, str], trigger: str = "cli", note: str | None = None
) -> int:
    """Record the plan as a sweep whose items are all planned; returns its id."""
    items = [
        SweepItem(
            claim_id=claim.claim_id,
            payer_id=claim.payer_id,
            route=routes.get(claim.payer_id, "portal"),
            priority=claim.priority,
            due_reason=claim.due_reason,
        )
        for claim in plan.due
    ]
    with ledger.writer() as writer:
        return writer.create_sweep(Sweep(kind=SweepKind.STATUS, trigger=trigger, note=note), items)


def _event_key(kind: EventKind, sweep_id: int, payer_id: str) -> str:
    return f"event:{kind.value}:sweep:{sweep_id}:{payer_id}"


def _payer_event(
    ledger: Ledger,
    kind: EventKind,
    sweep_id: int,
    payer_id: str,
    why: str,
    err: AdapterError | None,
    **extra: str | int | None,
) -> None:
    """One event per payer and sweep (its key says so): a resumed sweep does not raise it again."""
    payload: dict[str, str | int | float | bool | list[str] | None] = {
        "why": why,
        "kind": None if err is None else err.kind.value,
        "reason": None if err is None else err.reason.value,
        "message": None if err is None else err.message,
        "evidence_ref": None if err is None else err.evidence_ref,
        **extra,
    }
    with ledger.writer() as writer:
        writer.add_event(
            Event(
                kind=kind,
                payer_id=payer_id,
                sweep_id=sweep_id,
                payload=payload,
                dedupe_key=_event_key(kind, sweep_id, payer_id),
            )
        )


def _end_items(ledger: Ledger, sweep_id: int, claim_ids: Sequence[str], state: SweepItemState, why: str) -> int:
    with ledger.writer() as writer:
        return writer.set_sweep_items(sweep_id, claim_ids, state, why)


def _planned(ledger: Ledger, sweep_id: int, payer_id: str) -> list[ClaimQuery]:
    queries = []
    for item in ledger.sweep_items(sweep_id, SweepItemState.PLANNED):
        if item.payer_id == payer_id:
            with contextlib.suppress(ClaimNotFoundError):
                queries.append(ClaimQuery.from_claim(ledger.get_claim(item.claim_id)))
    return queries


def _canary_query(ledger: Ledger, payer_id: str, limits: PayerLimits) -> ClaimQuery | None:
    claim_id = limits.canary_claim or ledger.latest_finalized_claim(payer_id)
    if claim_id is None:
        return None
    try:
        return ClaimQuery.from_claim(ledger.get_claim(claim_id))
    except ClaimNotFoundError:
        log.warning("canary claim not in the ledger: no canary", payer=payer_id, claim_id=claim_id)
        return None


@dataclass
class PayerOutcome:
    """What one payer's unit of work did (the ledger has the same, item by item)."""

    payer_id: str
    asked: int = 0
    done: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    quarantined: int = 0
    skipped: int = 0
    stopped: str | None = None


async def _canary_fails(
    adapter: PayerAdapter, query: ClaimQuery, policy: RetryPolicy, sleep: Sleep
) -> AdapterError | None:
    """The payer's route on a known claim: the error that makes it unusable tonight, or None."""
    try:
        [outcome] = await check_with_retry(adapter, [query], policy, sleep)
    except AdapterError as err:
        return err
    if isinstance(outcome, ClaimCheckFailed) and outcome.kind is not ErrorKind.BAD_CLAIM_DATA:
        failed = error_for(outcome.kind, outcome.payer_id, outcome.reason)
        failed.evidence_ref = outcome.evidence_ref
        return failed
    return None


async def check_payer_items(
    ledger: Ledger,
    sweep_id: int,
    payer_id: str,
    adapter: PayerAdapter,
    limits: PayerLimits,
    policy: RetryPolicy,
    sleep: Sleep = asyncio.sleep,
    on_progress: OnProgress | None = None,
    should_stop: ShouldStop = lambda: False,
) -> PayerOutcome:
    """Check this payer's planned claims within sweep `sweep_id`, recording each answer as it comes.
    Once `should_stop()` says so, no claim is started: those asked are answered and recorded, the
    rest stay planned (a clean stop: the sweep is continued later)."""
    result = PayerOutcome(payer_id)
    started = time.monotonic()
    bound = log.bind(sweep_id=sweep_id, payer=payer_id)

    def progress(what: str, count: int = 1) -> None:
        if on_progress is not None:
            for _ in range(count):
                on_progress(payer_id, what)

    queries = await asyncio.to_thread(_planned, ledger, sweep_id, payer_id)
    if not queries:
        return result
    ids = [q.claim_id for q in queries]
    hold = await asyncio.to_thread(ledger.open_hold, payer_id)
    if hold is not None:
        result.skipped = await asyncio.to_thread(
            _end_items, ledger, sweep_id, ids, SweepItemState.SKIPPED, PAYER_SUSPENDED
        )
        result.stopped = PAYER_SUSPENDED
        progress(PAYER_SUSPENDED, len(ids))
        bound.warning("payer held: its claims are skipped", claims=len(ids))
        return result

    if limits.canary:
        canary = await asyncio.to_thread(_canary_query, ledger, payer_id, limits)
        if canary is not None:
            failed = await _canary_fails(adapter, canary, policy, sleep)
            if failed is not None:
                if suspends_payer(failed):
                    await asyncio.to_thread(hold_payer, ledger, payer_id, failed)
                result.quarantined = await asyncio.to_thread(
                    _end_items, ledger, sweep_id, ids, SweepItemState.QUARANTINED, failed.kind.value
                )
                await asyncio.to_thread(
                    _payer_event,
                    ledger,
                    EventKind.CANARY_FAILED,
                    sweep_id,
                    payer_id,
                    "the payer failed its canary: quarantined for this sweep",
                    failed,
                    canary_claim_id=canary.claim_id,
                    claims_quarantined=result.quarantined,
                )
                result.stopped = f"canary: {failed.kind.value}"
                progress(f"quarantined: {failed.kind.value}", len(ids))
                bound.warning("canary failed: payer quarantined", kind=failed.kind.value, reason=failed.reason.value)
                return result
            bound.info("canary passed", claim_id=canary.claim_id)

    source = source_of(adapter)
    limiter = RateLimiter(limits.requests_per_minute, sleep=sleep)
    in_a_row = 0
    last_failure: AdapterError | None = None
    answered: set[str] = set()

    async def record(outcome: ClaimOutcome) -> None:
        nonlocal in_a_row, last_failure
        outcome, check = as_check(outcome, source, payer_id, None)
        failed = isinstance(outcome, ClaimCheckFailed)
        state = SweepItemState.FAILED if failed else SweepItemState.DONE
        kind = outcome.kind.value if isinstance(outcome, ClaimCheckFailed) else None

        def write() -> None:
            with ledger.writer() as writer:
                writer.record_sweep_answer(sweep_id, check, state, kind)

        with contextlib.suppress(ClaimNotFoundError):
            await asyncio.to_thread(write)
        answered.add(outcome.claim_id)
        if isinstance(outcome, ClaimCheckFailed):
            result.failed[outcome.kind.value] += 1
            error = error_for(outcome.kind, payer_id, outcome.reason)
            if error.retryable:
                in_a_row += 1
                error.evidence_ref = outcome.evidence_ref
                last_failure = error
            progress(outcome.kind.value)
        else:
            result.done += 1
            in_a_row = 0
            progress("done")
        bound.info(
            "sweep claim",
            claim_id=outcome.claim_id,
            outcome=kind or check.status.value,
            duration_ms=getattr(outcome, "elapsed_ms", None),
        )

    async def stop(why: str, err: AdapterError | None, unasked: Sequence[str]) -> None:
        left = [c for c in unasked if c not in answered]
        ended = await asyncio.to_thread(_end_items, ledger, sweep_id, left, SweepItemState.FAILED, why)
        result.failed[why] += ended
        result.stopped = why
        progress(why, ended)
        await asyncio.to_thread(
            _payer_event,
            ledger,
            EventKind.BOT_FAILURE,
            sweep_id,
            payer_id,
            "the payer stopped the sweep" if why != CIRCUIT_OPEN else "too many failures in a row: circuit open",
            err,
            claims_not_asked=ended,
        )
        bound.warning("payer stopped", why=why, claims_not_asked=ended)

    chunk = max(1, limits.max_sessions)
    for start in range(0, len(queries), chunk):
        if should_stop():
            break
        batch = queries[start : start + chunk]
        await limiter.acquire(len(batch))
        result.asked += len(batch)
        try:
            await check_with_retry(adapter, batch, policy, sleep, record)
        except AdapterError as err:
            # The claims of this batch were asked: each gets the failed attempt.
            for query in batch:
                if query.claim_id not in answered:
                    await record(ClaimCheckFailed.from_error(query.claim_id, err))
            if err.stops_payer:
                if suspends_payer(err):
                    await asyncio.to_thread(hold_payer, ledger, payer_id, err)
                await stop(err.kind.value, err, ids[start + chunk :])
                break
        if in_a_row >= limits.circuit_breaker_failures:
            await stop(CIRCUIT_OPEN, last_failure, ids[start + chunk :])
            break
    bound.info(
        "payer finished",
        done=result.done,
        failed=sum(result.failed.values()),
        seconds=round(time.monotonic() - started, 2),
    )
    return result


#: Builds the adapter of a payer, or says why it cannot (no credentials, no playbook): PHI-free text.
AdapterFor = Callable[[str], Awaitable[PayerAdapter | str]]


async def keep_sweep_alive(ledger: Ledger, sweep_id: int, lease: timedelta) -> None:
    """Renew a sweep's lease every third of it, until cancelled (any kind of sweep)."""

    def renew() -> None:
        with ledger.writer() as writer:
            writer.renew_sweep(sweep_id, lease)

    while True:
        await asyncio.sleep(lease.total_seconds() / 3)
        await asyncio.to_thread(renew)


def start_sweep(ledger: Ledger, sweep_id: int, lease: timedelta) -> None:
    """Mark a sweep running (sweeps whose lease ran out are interrupted first)."""
    with ledger.writer() as writer:
        writer.interrupt_stale_sweeps()
        writer.start_sweep(sweep_id, lease)


def finish_sweep(ledger: Ledger, sweep_id: int, state: SweepState, note: str | None) -> None:
    with ledger.writer() as writer:
        writer.finish_sweep(sweep_id, state, note)


async def run_sweep(
    ledger: Ledger,
    sweep_id: int,
    adapters: Mapping[str, PayerAdapter | str],
    limits: Mapping[str, PayerLimits],
    policy: RetryPolicy,
    sleep: Sleep = asyncio.sleep,
    *,
    lease: timedelta = DEFAULT_LEASE,
    on_progress: OnProgress | None = None,
    should_stop: ShouldStop = lambda: False,
) -> dict[str, PayerOutcome]:
    """Work the sweep's planned items, every payer at once. `adapters` maps each payer of the sweep to
    its adapter, or to why there is none (its items are skipped, with one bot_failure event)."""
    await asyncio.to_thread(start_sweep, ledger, sweep_id, lease)
    heartbeat = asyncio.create_task(keep_sweep_alive(ledger, sweep_id, lease))
    payers = sorted({item.payer_id for item in await asyncio.to_thread(ledger.sweep_items, sweep_id)})

    async def one(payer_id: str) -> PayerOutcome:
        adapter = adapters.get(payer_id, NO_ADAPTER)
        if isinstance(adapter, str):
            queries = await asyncio.to_thread(_planned, ledger, sweep_id, payer_id)
            ids = [q.claim_id for q in queries]
            skipped = await asyncio.to_thread(_end_items, ledger, sweep_id, ids, SweepItemState.SKIPPED, NO_ADAPTER)
            if skipped:
                await asyncio.to_thread(
                    _payer_event,
                    ledger,
                    EventKind.BOT_FAILURE,
                    sweep_id,
                    payer_id,
                    adapter,
                    None,
                    claims_not_asked=skipped,
                )
                if on_progress is not None:
                    for _ in range(skipped):
                        on_progress(payer_id, NO_ADAPTER)
            return PayerOutcome(payer_id, skipped=skipped, stopped=NO_ADAPTER)
        try:
            return await check_payer_items(
                ledger,
                sweep_id,
                payer_id,
                adapter,
                limits.get(payer_id, PayerLimits()),
                policy,
                sleep,
                on_progress,
                should_stop,
            )
        except Exception as bug:  # a fault of Claimbot: this payer stops, the others go on
            log.exception("payer failed", sweep_id=sweep_id, payer=payer_id, error=type(bug).__name__)
            queries = await asyncio.to_thread(_planned, ledger, sweep_id, payer_id)
            ids = [q.claim_id for q in queries]
            failed = await asyncio.to_thread(_end_items, ledger, sweep_id, ids, SweepItemState.FAILED, ENGINE_FAILED)
            await asyncio.to_thread(
                _payer_event,
                ledger,
                EventKind.BOT_FAILURE,
                sweep_id,
                payer_id,
                f"Claimbot failed ({type(bug).__name__})",
                None,
                claims_not_asked=failed,
            )
            return PayerOutcome(payer_id, failed=Counter({ENGINE_FAILED: failed}), stopped=ENGINE_FAILED)

    try:
        outcomes = await asyncio.gather(*(one(p) for p in payers))
    except BaseException:  # cancelled or interrupted: say so now; the next sweep continues it
        finish_sweep(ledger, sweep_id, SweepState.INTERRUPTED, "stopped before it finished")
        raise
    finally:
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat
    done = {o.payer_id: o for o in outcomes}
    stopped = [f"{o.payer_id}: {o.stopped}" for o in outcomes if o.stopped]
    left = await asyncio.to_thread(ledger.sweep_items, sweep_id, SweepItemState.PLANNED) if should_stop() else []
    if left:
        # stopped cleanly: the claims not asked stay planned, the next run continues the sweep
        await asyncio.to_thread(finish_sweep, ledger, sweep_id, SweepState.INTERRUPTED, "stopped before it finished")
        return done
    await asyncio.to_thread(finish_sweep, ledger, sweep_id, SweepState.FINISHED, "; ".join(stopped)[:500] or None)
    return done


# --- reporting ---------------------------------------------------------------------------------------


@dataclass
class PayerReport:
    payer_id: str
    planned: int = 0
    checked: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    quarantined: int = 0
    skipped: int = 0
    left: int = 0  # still planned: the sweep has not finished
    changed: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None

    @property
    def seconds(self) -> float | None:
        if self.first_at is None or self.last_at is None:
            return None
        return (self.last_at - self.first_at).total_seconds()

    def as_json(self) -> dict[str, object]:
        return {
            "payer_id": self.payer_id,
            "planned": self.planned,
            "checked": self.checked,
            "failed": sum(self.failed.values()),
            "failed_by_reason": dict(self.failed),
            "quarantined": self.quarantined,
            "skipped": self.skipped,
            "left": self.left,
            "changed": self.changed,
            "seconds": self.seconds,
        }


def sweep_report(ledger: Ledger, sweep_id: int, started_at: datetime | None = None) -> dict[str, PayerReport]:
    """Per payer: planned = checked + failed + quarantined + skipped + left; changed = its events."""
    reports: dict[str, PayerReport] = {}
    for item in ledger.sweep_items(sweep_id):
        report = reports.setdefault(item.payer_id, PayerReport(item.payer_id))
        report.planned += 1
        if item.state is SweepItemState.DONE:
            report.checked += 1
        elif item.state is SweepItemState.FAILED:
            report.failed[item.last_error_kind or "unknown"] += 1
        elif item.state is SweepItemState.QUARANTINED:
            report.quarantined += 1
        elif item.state is SweepItemState.SKIPPED:
            report.skipped += 1
        else:
            report.left += 1
        if item.state is not SweepItemState.PLANNED:
            report.first_at = (
                started_at if started_at is not None else min(report.first_at or item.updated_at, item.updated_at)
            )
            report.last_at = max(report.last_at or item.updated_at, item.updated_at)
    for event in ledger.events(sweep_id=sweep_id):
        if event.claim_id is not None and event.payer_id in reports:
            reports[event.payer_id].changed += 1
    return reports
