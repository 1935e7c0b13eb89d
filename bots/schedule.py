"""When the overnight bots run: APScheduler 3.11, its jobs kept in the ledger's own database.

Three jobs, each a cron line read in one time zone (ScheduleConfig):
- `status_sweep` (default 02:00): plans the due claims and works them (bots.planner, bots.sweep), or
  continues the newest interrupted status sweep first;
- `eligibility_sweep` (default 01:00): coverage for the next days' appointments (bots.eligibility_sweep),
  from the configured appointments CSV, else the members of open claims;
  In team mode (`claimbot serve` on PostgreSQL) its job is `team_status_sweep_job`, which plans the
  same sweep and queues it for the workers (bots.workers) instead of working it in this process;
- `daily_digest` (default 07:00): the daily digest, through `BotContext.digest` (the Slack assistant's
  `assistant.jobs.digest_job`, set by `claimbot scheduler run` when SLACK_BOT_TOKEN is set: bots never
  import the assistant); without one the job only logs that no digest is configured.

The job store is `SQLAlchemyJobStore` on the ledger URL, table `apscheduler_jobs` (created by migration
0007, so the schema test covers it). APScheduler's gotchas are handled (../shared/research/feasibility.md §2):
- every job has `coalesce=True`, `max_instances=1` and a long `misfire_grace_time` (default 23 h):
  a scheduler down for three nights runs each missed job **once** when it comes back, never three times;
- jobs are declared at start-up without `replace_existing` (which would recompute the next run from now
  and silently lose a missed run): a job is added only when the store lacks it, and rescheduled only
  when its cron line or zone changed (`ensure_jobs`);
- jobs are textual references to module-level coroutines, with no arguments: what they need (the
  ledger URL, folders, the lease) is the process's `BotContext`, set before the scheduler starts.
Besides max_instances, a sweep guards itself in the ledger: a sweep is refused (skipped, logged) while
another sweep of the same kind is `running` with a live lease over any of the same payers, so a second
scheduler process, or `claimbot sweep` by hand, never sweeps one payer twice at once; a sweep of the
other kind over the same payers (their portal sessions are shared) is waited for, up to two hours.

Shutdown (`stop_jobs`): a status sweep in flight starts no new claim, finishes and records the claims
it has asked (each answer and its item are one transaction, off the event loop), leaves the rest
`planned` and is marked `interrupted`, to be continued by the next run. Whatever has not ended within
`STOP_GRACE_S` (and any other job) is cancelled: an answer already being written is still written
whole, the claims not yet answered stay planned, and the sweep is marked interrupted the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import structlog
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]

from claims.ledger import Ledger
from claims.models import Sweep, SweepKind, SweepState, utc_now

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler  # type: ignore[import-untyped]

    from claims.payer_config import PayerEntry, SweepRules
    from portal_adapters.contract import PayerAdapter
    from portal_adapters.credentials import OneTimeCodeSource

log = structlog.get_logger("bots.schedule")

STATUS_SWEEP = "status_sweep"
ELIGIBILITY_SWEEP = "eligibility_sweep"
DAILY_DIGEST = "daily_digest"
JOBSTORE_TABLE = "apscheduler_jobs"


@dataclass(frozen=True)
class ScheduleConfig:
    timezone: str = "UTC"
    status_sweep_cron: str = "0 2 * * *"
    eligibility_sweep_cron: str = "0 1 * * *"
    digest_cron: str = "0 7 * * *"
    misfire_grace_s: int = 23 * 3600


class ScheduleError(ValueError):
    """A cron line or time zone that cannot be read; the message names the setting, not a secret."""


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: str  # textual reference "module:function" (persistent job stores need one)
    cron: str
    description: str


def zone(config: ScheduleConfig) -> ZoneInfo:
    try:
        return ZoneInfo(config.timezone)
    except (KeyError, ValueError) as err:
        raise ScheduleError(f"CLAIMBOT_SCHEDULE_TIMEZONE: {config.timezone!r} is not a known time zone") from err


def cron_trigger(cron: str, config: ScheduleConfig, setting: str = "cron") -> CronTrigger:
    tz = zone(config)
    try:
        return CronTrigger.from_crontab(cron, timezone=tz)
    except ValueError as err:
        raise ScheduleError(f"{setting}: {cron!r} is not a crontab line (minute hour day month weekday)") from err


def job_specs(config: ScheduleConfig, funcs: Mapping[str, str] | None = None) -> list[JobSpec]:
    """The three jobs; `funcs` replaces a job's callable (tests use counting functions)."""
    chosen = {
        STATUS_SWEEP: f"{__name__}:status_sweep_job",
        ELIGIBILITY_SWEEP: f"{__name__}:eligibility_sweep_job",
        DAILY_DIGEST: f"{__name__}:digest_job",
        **(funcs or {}),
    }
    return [
        JobSpec(STATUS_SWEEP, chosen[STATUS_SWEEP], config.status_sweep_cron, "check the due claims of every payer"),
        JobSpec(
            ELIGIBILITY_SWEEP,
            chosen[ELIGIBILITY_SWEEP],
            config.eligibility_sweep_cron,
            "coverage for the coming appointments",
        ),
        JobSpec(DAILY_DIGEST, chosen[DAILY_DIGEST], config.digest_cron, "the daily digest to the team channel"),
    ]


_SETTING = {
    STATUS_SWEEP: "CLAIMBOT_STATUS_SWEEP_CRON",
    ELIGIBILITY_SWEEP: "CLAIMBOT_ELIGIBILITY_SWEEP_CRON",
    DAILY_DIGEST: "CLAIMBOT_DIGEST_CRON",
}


def job_defaults(config: ScheduleConfig) -> dict[str, Any]:
    return {"coalesce": True, "max_instances": 1, "misfire_grace_time": config.misfire_grace_s}


def ensure_jobs(scheduler: BaseScheduler, specs: Sequence[JobSpec], config: ScheduleConfig) -> dict[str, str]:
    """Declare the jobs without losing a missed run: add the ones the store lacks, reschedule those whose
    cron line changed, leave the rest as stored. Returns what was done per job (added, rescheduled, kept)."""
    done: dict[str, str] = {}
    for spec in specs:
        trigger = cron_trigger(spec.cron, config, _SETTING.get(spec.id, spec.id))
        existing = scheduler.get_job(spec.id)
        if existing is None:
            scheduler.add_job(spec.func, trigger, id=spec.id, name=spec.description, **job_defaults(config))
            done[spec.id] = "added"
            continue
        if existing.func_ref != spec.func or existing.name != spec.description:
            existing.modify(func=spec.func, name=spec.description)
        changes = {k: v for k, v in job_defaults(config).items() if getattr(existing, k) != v}
        if changes:
            existing.modify(**changes)
        if str(existing.trigger) != str(trigger):
            scheduler.reschedule_job(spec.id, trigger=trigger)
            done[spec.id] = "rescheduled"
        else:
            done[spec.id] = "kept"
    return done


def build_scheduler(
    ledger_url: str,
    config: ScheduleConfig,
    scheduler_class: type[BaseScheduler] | None = None,
    executors: dict[str, Any] | None = None,
) -> BaseScheduler:
    """A scheduler (AsyncIOScheduler unless told) whose job store is the ledger's database."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore  # type: ignore[import-untyped]

    if scheduler_class is None:
        from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]

        scheduler_class = AsyncIOScheduler
    store = SQLAlchemyJobStore(url=ledger_url, tablename=JOBSTORE_TABLE)
    kwargs: dict[str, Any] = {
        "jobstores": {"default": store},
        "job_defaults": job_defaults(config),
        "timezone": zone(config),
    }
    if executors is not None:
        kwargs["executors"] = executors
    return scheduler_class(**kwargs)


def next_runs(
    ledger_url: str, config: ScheduleConfig, now: datetime | None = None
) -> list[tuple[JobSpec, datetime | None, bool]]:
    """Each configured job with its next run: the stored one if the scheduler ever ran (True), else
    the one its cron line gives from now (False). Reads the store without starting a scheduler."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    store = SQLAlchemyJobStore(url=ledger_url, tablename=JOBSTORE_TABLE)
    try:
        stored = {job.id: job for job in store.get_all_jobs()}
    finally:
        store.shutdown()
    now = now or datetime.now(zone(config))
    rows = []
    for spec in job_specs(config):
        job = stored.get(spec.id)
        if job is not None:
            rows.append((spec, job.next_run_time, True))
        else:
            trigger = cron_trigger(spec.cron, config, _SETTING.get(spec.id, spec.id))
            rows.append((spec, trigger.get_next_fire_time(None, now), False))
    return rows


class SchedulerBusy(RuntimeError):
    """Another scheduler holds this ledger (APScheduler 3 must not share a job store)."""


#: The PostgreSQL advisory lock a scheduler holds for its whole life ("CLBOT" in ASCII).
SCHEDULER_LOCK_KEY = 0x434C424F54


@contextlib.contextmanager
def single_scheduler(ledger_url: str) -> Iterator[None]:
    """Hold the one-scheduler-per-ledger lock, or raise SchedulerBusy: a session advisory lock on
    PostgreSQL (released the moment the holder's connection dies), an flock beside a SQLite file."""
    import sqlalchemy as sa

    from claims.ledger.migrate import sqlite_file

    database = sqlite_file(ledger_url)
    if database is not None:
        import fcntl

        lock_path = database.with_name(database.name + ".scheduler.lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as err:
                raise SchedulerBusy("another scheduler is running on this ledger") from err
            yield
        finally:
            os.close(fd)  # closing the file releases the lock
        return
    engine = sa.create_engine(ledger_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                held = conn.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": SCHEDULER_LOCK_KEY}).scalar()
                conn.commit()
                if not held:
                    raise SchedulerBusy("another scheduler is running on this ledger")
            try:
                yield
            finally:
                if engine.dialect.name == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEDULER_LOCK_KEY})
                    conn.commit()
    finally:
        engine.dispose()


# --- what the jobs need, set once per process -------------------------------------------------------


@dataclass(frozen=True)
class BotContext:
    """Everything a scheduled job needs: plain values, so the jobs stay argument-free references."""

    ledger_url: str
    payers_file: Path
    data_dir: Path
    playbooks_dir: Path
    evidence_retention_days: int = 30
    lease: timedelta = timedelta(seconds=60)
    appointments_file: Path | None = None
    eligibility_days: int = 7
    retry_attempts: int = 3
    retry_base_delay_s: float = 1.0
    #: A sweep of the other kind over the same payers (their portal sessions are shared) is waited
    #: for, polling every `wait_poll_s`, at most this long; then this sweep is skipped for the night.
    max_wait_for_other_s: float = 2 * 3600
    wait_poll_s: float = 15.0
    #: Sends the daily digest (assistant.jobs.digest_job); None: no digest is configured.
    digest: Callable[[], Awaitable[None]] | None = None
    #: Answers one-time codes for accounts with `mfa: broker` (the Slack app's MFA broker when it runs in
    #: this process); None: such a payer's sign-in fails cleanly (mfa_code_not_given).
    codes: OneTimeCodeSource | None = None


#: On shutdown, how long a status sweep in flight may take to finish the claims it has asked.
STOP_GRACE_S = 30.0


@dataclass
class _Runtime:
    context: BotContext | None = None
    running: set[asyncio.Task[Any]] = field(default_factory=set)
    draining: set[asyncio.Task[Any]] = field(default_factory=set)  # jobs that end by themselves on a stop
    stopping: bool = False


_runtime = _Runtime()


def set_context(context: BotContext | None) -> None:
    _runtime.context = context
    _runtime.stopping = False


def _context() -> BotContext:
    if _runtime.context is None:
        raise RuntimeError("bots.schedule.set_context was not called before the scheduler started")
    return _runtime.context


async def stop_jobs(grace_s: float = STOP_GRACE_S) -> int:
    """Stop the jobs in flight and wait for each to end: a status sweep finishes the claims it has asked
    (up to `grace_s`), every other job is cancelled at once (a sweep cancelled marks itself interrupted)."""
    _runtime.stopping = True
    tasks = [t for t in _runtime.running if not t.done()]
    draining = [t for t in tasks if t in _runtime.draining]
    for task in tasks:
        if task not in _runtime.draining:
            task.cancel()
    if draining:
        _, late = await asyncio.wait(draining, timeout=grace_s)
        for task in late:
            task.cancel()
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)
    return len(tasks)


def stopping() -> bool:
    """True once shutdown began: a status sweep starts no new claim (bots.sweep.ShouldStop)."""
    return _runtime.stopping


class _Tracked:
    """Registers the current task as a job in flight, so shutdown can stop it cleanly; a job that
    `drains` ends by itself when asked (stopping()), others are cancelled."""

    def __init__(self, drains: bool = False) -> None:
        self.drains = drains

    def __enter__(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            _runtime.running.add(task)
            if self.drains:
                _runtime.draining.add(task)

    def __exit__(self, *_: object) -> None:
        task = asyncio.current_task()
        if task is not None:
            _runtime.running.discard(task)
            _runtime.draining.discard(task)


def sweep_in_the_way(ledger: Ledger, kind: SweepKind, payer_ids: Sequence[str]) -> Sweep | None:
    """A sweep of this kind still `running` with a live lease over any of these payers (stale ones are
    marked interrupted first): a new sweep of them must not start."""
    ledger.interrupt_stale_sweeps()
    wanted = set(payer_ids)
    now = utc_now()
    for sweep in ledger.sweeps(limit=50):
        if sweep.kind is not kind or sweep.state is not SweepState.RUNNING or sweep.id is None:
            continue
        if sweep.lease_expires_at is not None and sweep.lease_expires_at < now:
            continue
        if kind is SweepKind.STATUS:
            covered = {item.payer_id for item in ledger.sweep_items(sweep.id)}
        else:
            covered = {item.payer_id for item in ledger.eligibility_sweep_items(sweep.id)}
        if not wanted or covered & wanted or not covered:
            return sweep
    return None


def adapter_or_reason(context: BotContext, entry: PayerEntry) -> PayerAdapter | str:
    """The payer's adapter on its route, or why there is none."""
    from portal_adapters.factory import adapter_or_reason as build

    return build(
        entry.id,
        entry.route,
        entry.clearinghouse_payer_id,
        context.data_dir,
        context.playbooks_dir,
        context.evidence_retention_days,
        codes=context.codes,
    )


async def _clear_of(ledger: Ledger, kind: SweepKind, payer_ids: Sequence[str], context: BotContext) -> Sweep | None:
    """None when a sweep of `kind` may start now; else the running sweep that stands in its way.

    A running sweep of the same kind is doing this very work: refused at once. One of the other kind
    (the eligibility sweep still asking at 02:00) shares the payers' portal sessions: waited for."""
    same = await asyncio.to_thread(sweep_in_the_way, ledger, kind, payer_ids)
    if same is not None:
        return same
    other = SweepKind.ELIGIBILITY if kind is SweepKind.STATUS else SweepKind.STATUS
    waited = 0.0
    while (blocking := await asyncio.to_thread(sweep_in_the_way, ledger, other, payer_ids)) is not None:
        if waited >= context.max_wait_for_other_s or _runtime.stopping:
            return blocking
        if waited == 0:
            log.info("waiting for a running sweep of the same payers", kind=kind.value, running_sweep=blocking.id)
        await asyncio.sleep(context.wait_poll_s)
        waited += context.wait_poll_s
    return None


async def _close(adapters: Mapping[str, PayerAdapter | str]) -> None:
    for adapter in adapters.values():
        if not isinstance(adapter, str):
            with contextlib.suppress(Exception):
                await adapter.close()


async def _status_sweep_to_work(
    ledger: Ledger, rules: Mapping[str, SweepRules], context: BotContext, trigger: str
) -> int | None:
    """The status sweep to work now: the newest interrupted one, else a new plan of the due claims;
    None when nothing is due or another sweep is in the way."""
    from bots.planner import plan_from_ledger
    from bots.sweep import plan_to_sweep

    blocking = await _clear_of(ledger, SweepKind.STATUS, list(rules), context)
    if blocking is not None:
        log.warning("status sweep skipped: another is running over the same payers", running_sweep=blocking.id)
        return None
    continuing = await asyncio.to_thread(ledger.resumable_sweep)
    if continuing is not None and continuing.id is not None:
        log.info("continuing an interrupted status sweep", sweep_id=continuing.id)
        return continuing.id
    plan = await asyncio.to_thread(plan_from_ledger, ledger, rules, utc_now().date())
    if not plan.due:
        log.info("status sweep: nothing due", considered=plan.considered)
        return None
    routes = {p: r.route.value for p, r in rules.items()}
    return await asyncio.to_thread(plan_to_sweep, ledger, plan, routes, trigger)


async def enqueue_status_sweep(context: BotContext, trigger: str = "schedule") -> int | None:
    """Team mode: plan (or continue) the status sweep and queue one job per payer for the workers
    (bots.workers); returns its id, or None when nothing was queued."""
    from bots.workers import enqueue_sweep, libpq_dsn, open_app
    from claims.payer_config import load_payer_config

    config = await asyncio.to_thread(load_payer_config, context.payers_file)
    ledger = Ledger.connect(context.ledger_url)
    try:
        sweep_id = await _status_sweep_to_work(ledger, config.rules(), context, trigger)
        if sweep_id is None:
            return None
        async with open_app(libpq_dsn(context.ledger_url)):
            queued = await enqueue_sweep(ledger, sweep_id)
        log.info("status sweep queued for the workers", sweep_id=sweep_id, payers=queued)
        return sweep_id
    finally:
        ledger.close()


async def run_status_sweep(context: BotContext, trigger: str = "schedule") -> int | None:
    """Plan (or continue) and work a status sweep; returns its id, or None when nothing ran."""
    from bots.sweep import PayerLimits, run_sweep, sweep_report
    from claims.models import SweepItemState
    from claims.payer_config import load_payer_config
    from portal_adapters.retry import RetryPolicy

    config = await asyncio.to_thread(load_payer_config, context.payers_file)
    rules = config.rules()
    ledger = Ledger.connect(context.ledger_url)
    try:
        sweep_id = await _status_sweep_to_work(ledger, rules, context, trigger)
        if sweep_id is None:
            return None
        planned = await asyncio.to_thread(ledger.sweep_items, sweep_id, SweepItemState.PLANNED)
        entries = {entry.id: entry for entry in config.payers}
        payers = sorted({item.payer_id for item in planned})
        adapters: dict[str, PayerAdapter | str] = {
            p: adapter_or_reason(context, entries[p]) if p in entries else f"payer {p} is not in payers.yaml"
            for p in payers
        }
        limits = {
            p: PayerLimits(
                requests_per_minute=r.requests_per_minute,
                max_sessions=r.max_sessions,
                circuit_breaker_failures=r.circuit_breaker_failures,
                canary=r.canary,
                canary_claim=r.canary_claim,
            )
            for p, r in rules.items()
        }
        log.info("status sweep started", sweep_id=sweep_id, claims=len(planned), payers=len(payers))
        try:
            await run_sweep(
                ledger,
                sweep_id,
                adapters,
                limits,
                RetryPolicy(max_attempts=context.retry_attempts, base_delay_s=context.retry_base_delay_s),
                lease=context.lease,
                should_stop=stopping,
            )
        finally:
            await _close(adapters)
        reports = await asyncio.to_thread(sweep_report, ledger, sweep_id)
        left = sum(r.left for r in reports.values())
        log.info(
            "status sweep stopped cleanly: the claims asked are recorded, the rest stay planned"
            if left
            else "status sweep finished",
            sweep_id=sweep_id,
            planned=sum(r.planned for r in reports.values()),
            checked=sum(r.checked for r in reports.values()),
            failed=sum(sum(r.failed.values()) for r in reports.values()),
            quarantined=sum(r.quarantined for r in reports.values()),
            skipped=sum(r.skipped for r in reports.values()),
            left=left,
        )
        return sweep_id
    finally:
        ledger.close()


async def run_scheduled_eligibility_sweep(context: BotContext, trigger: str = "schedule") -> int | None:
    """The eligibility sweep with the context's appointments file (else open claims' members)."""
    from bots.eligibility_sweep import (
        AppointmentsError,
        eligibility_report,
        open_claim_appointments,
        plan_eligibility_sweep,
        read_appointments,
        run_eligibility_sweep,
    )
    from claims.payer_config import load_payer_config
    from portal_adapters.retry import RetryPolicy

    config = await asyncio.to_thread(load_payer_config, context.payers_file)
    entries = {entry.id: entry for entry in config.payers}
    ledger = Ledger.connect(context.ledger_url)
    try:
        blocking = await _clear_of(ledger, SweepKind.ELIGIBILITY, list(entries), context)
        if blocking is not None:
            log.warning("eligibility sweep skipped: another is running", running_sweep=blocking.id)
            return None
        continuing = await asyncio.to_thread(ledger.resumable_eligibility_sweep)
        if continuing is not None and continuing.id is not None:
            sweep_id = continuing.id
        else:
            today = utc_now().date()
            if context.appointments_file is not None:
                try:
                    found = await asyncio.to_thread(
                        read_appointments,
                        context.appointments_file,
                        frozenset(entries),
                        today,
                        context.eligibility_days,
                    )
                except AppointmentsError as error:  # PHI-free by construction: file, line, column, words
                    log.error(
                        "eligibility sweep: the appointments file was refused, nothing recorded",
                        problems=[str(p) for p in error.problems],
                    )
                    return None
            else:
                found = await asyncio.to_thread(open_claim_appointments, ledger, today)
            if not found.appointments:
                log.info("eligibility sweep: no appointments", read=found.read)
                return None
            sweep_id = await asyncio.to_thread(plan_eligibility_sweep, ledger, found, trigger)
        items = await asyncio.to_thread(ledger.eligibility_sweep_items, sweep_id)
        payers = sorted({i.payer_id for i in items})
        adapters: dict[str, PayerAdapter | str] = {
            p: adapter_or_reason(context, entries[p]) if p in entries else f"payer {p} is not in payers.yaml"
            for p in payers
        }
        try:
            await run_eligibility_sweep(
                ledger,
                sweep_id,
                adapters,
                RetryPolicy(max_attempts=context.retry_attempts, base_delay_s=context.retry_base_delay_s),
                lease=context.lease,
            )
        finally:
            await _close(adapters)
        report = await asyncio.to_thread(eligibility_report, ledger, sweep_id)
        log.info("eligibility sweep finished", **{k: v for k, v in report.as_json().items() if not isinstance(v, dict)})
        return sweep_id
    finally:
        ledger.close()


# --- the jobs (module-level coroutines: the job store keeps "bots.schedule:<name>") ----------------


async def status_sweep_job() -> None:
    with _Tracked(drains=True):
        log.info("job started", job=STATUS_SWEEP)
        try:
            await run_status_sweep(_context())
        except asyncio.CancelledError:  # shutdown: the sweep marked itself interrupted
            log.info("job stopped by shutdown", job=STATUS_SWEEP)
            return
        log.info("job finished", job=STATUS_SWEEP)


async def team_status_sweep_job() -> None:
    """The status sweep in team mode (`claimbot serve` on PostgreSQL): planned here, worked by the workers."""
    with _Tracked(drains=True):
        log.info("job started", job=STATUS_SWEEP, mode="team")
        try:
            await enqueue_status_sweep(_context())
        except asyncio.CancelledError:
            log.info("job stopped by shutdown", job=STATUS_SWEEP)
            return
        log.info("job finished", job=STATUS_SWEEP)


async def eligibility_sweep_job() -> None:
    with _Tracked():
        log.info("job started", job=ELIGIBILITY_SWEEP)
        try:
            await run_scheduled_eligibility_sweep(_context())
        except asyncio.CancelledError:
            log.info("job stopped by shutdown", job=ELIGIBILITY_SWEEP)
            return
        log.info("job finished", job=ELIGIBILITY_SWEEP)


async def digest_job() -> None:
    """The daily digest through the context's sender (the Slack assistant's), else a note in the log."""
    send = _context().digest
    if send is None:
        log.info("job skipped", job=DAILY_DIGEST, note="no digest configured (SLACK_BOT_TOKEN is not set)")
        return
    with _Tracked():
        log.info("job started", job=DAILY_DIGEST)
        try:
            await send()
        except asyncio.CancelledError:
            log.info("job stopped by shutdown", job=DAILY_DIGEST)
            return
        log.info("job finished", job=DAILY_DIGEST)
