"""Team mode: the sweep's unit of work as procrastinate jobs, run by worker processes on any host.

The embedded default (SQLite) needs none of this: `bots.sweep.run_sweep` works a sweep in-process.
With the ledger on PostgreSQL, a sweep is worked by `claimbot worker` processes over that same
database through procrastinate (its tables come with the ledger's migration 0006):

- **One job per payer of a sweep**, `check_payer_job(sweep_id, payer_id)`, which calls the sweep's
  unit of work `bots.sweep.check_payer_items`. `enqueue_sweep(sweep_id)` defers them. A queueing lock
  and a lock named `sweep:<sweep>:<payer>` keep a payer's job from being queued twice or run twice at
  once. Delivery is at-least-once: a job run again works only the items still `planned`, and each
  answer and its item's state are one write keyed `sweep:<sweep>:<claim>`, so nothing is recorded twice.
- **A killed worker's job comes back.** Each worker writes a heartbeat every `HEARTBEAT_S`; the
  periodic task `retry_stalled_jobs` (every `RETRY_STALLED_EVERY_S`, on its own one-slot worker loop so
  busy sweep slots never delay it) puts back every `doing` job whose worker has been silent for
  `STALLED_AFTER_S`. Workers poll for jobs every `POLL_S` as well as listening. So a job whose
  worker was SIGKILLed starts again within `RECOVERY_BOUND_S` (12 s) of the kill, given a free slot.
- **Session limits across workers.** A payer's portal sessions are bounded by a PostgreSQL
  advisory-lock semaphore: `max_sessions` (payers.yaml) slots per payer, `pg_try_advisory_lock(key,
  slot)` on a connection of the job's own. A job takes the free slots (at least one, waiting for one
  otherwise), asks that many claims at a time (so its adapter opens at most that many sessions),
  signs its sessions out, then gives the slots back. A killed worker's slots are freed with its
  connection. The slots bound all sessions of the payer's accounts together, so each account too.
- **The browser is kept** for the worker's life (one Chromium per process, launched at the first
  portal job); each job signs its sessions in and out inside its slots, so no idle session holds a
  place the portal counts.

Nothing here is imported by `claimbot --help`: procrastinate and psycopg load with the worker commands.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import procrastinate
import psycopg
import sqlalchemy as sa
import structlog
from procrastinate import RetryStrategy
from procrastinate.exceptions import AlreadyEnqueued

from bots.live import DEFAULT_LEASE
from bots.sweep import NO_ADAPTER, PayerLimits, PayerOutcome, check_payer_items
from claims.ledger import Ledger
from claims.models import SweepItemState, SweepState
from portal_adapters.contract import PayerAdapter
from portal_adapters.retry import RetryPolicy

if TYPE_CHECKING:
    from playwright.async_api import Browser, Playwright

log = structlog.get_logger("bots.workers")

SWEEP_QUEUE = "claimbot.sweeps"
MAINT_QUEUE = "claimbot.maintenance"
#: A worker's heartbeat; a worker silent for STALLED_AFTER_S is taken for dead and its jobs retried.
HEARTBEAT_S = 2.0
STALLED_AFTER_S = 8.0
RETRY_STALLED_EVERY_S = 3
#: Workers listen for new jobs and also poll this often (a job put back by a retry wakes no one).
POLL_S = 1.0
#: From a worker's death to its job running again elsewhere (with a free slot): it is found stalled at
#: most STALLED_AFTER_S after its last heartbeat, retried at the next tick, then fetched within POLL_S.
RECOVERY_BOUND_S = STALLED_AFTER_S + RETRY_STALLED_EVERY_S + POLL_S
#: How often a job waiting for a free session slot tries again.
SLOT_WAIT_S = 0.5
#: On SIGTERM: running jobs get this long to finish, then they are cancelled and go back to the queue.
DEFAULT_GRACE_S = 30.0


class TeamModeError(RuntimeError):
    """Team mode cannot run here (the message says why, without the URL's password)."""


def libpq_dsn(url: str) -> str:
    """The ledger's SQLAlchemy URL (`postgresql+psycopg://...`) as a libpq connection string."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise TeamModeError(
            "team mode (claimbot worker) needs the ledger on PostgreSQL: set CLAIMBOT_DATABASE_URL to "
            "postgresql+psycopg://user@host/claimbot (the embedded SQLite ledger runs sweeps in-process: "
            "claimbot sweep)"
        )
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


app = procrastinate.App(connector=procrastinate.PsycopgConnector())


@contextlib.asynccontextmanager
async def open_app(dsn: str, pool_size: int = 4) -> AsyncIterator[procrastinate.App]:
    """The procrastinate app, open on the ledger's server (libpq DSN) for the block."""
    with app.replace_connector(procrastinate.PsycopgConnector(conninfo=dsn, min_size=1, max_size=pool_size)):
        async with app.open_async():
            yield app


#: Builds a payer's adapter, or says why there is none (PHI-free text).
AdapterFactory = Callable[[str], Awaitable[PayerAdapter | str]]


@dataclass
class Runtime:
    """What a worker process keeps across jobs: the ledger, the adapters' factory, the rules."""

    ledger: Ledger
    dsn: str
    adapter_for: AdapterFactory
    limits: Mapping[str, PayerLimits]
    policy: RetryPolicy = field(default_factory=lambda: RetryPolicy(max_attempts=3, base_delay_s=1.0))
    lease: timedelta = DEFAULT_LEASE


_runtime: Runtime | None = None


def runtime() -> Runtime:
    if _runtime is None:
        raise TeamModeError("this process is not a claimbot worker (bots.workers.serve sets it up)")
    return _runtime


class SharedBrowser:
    """One Chromium for the worker's life, launched at the first portal job, lent to every adapter."""

    def __init__(self, chromium_path: str | None = None) -> None:
        self._chromium_path = chromium_path
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> Browser:
        async with self._lock:
            if self._browser is None or not self._browser.is_connected():
                from playwright.async_api import async_playwright

                from portal_adapters.browser import LAUNCH_ARGS, browser_env, find_chromium

                if self._playwright is None:
                    self._playwright = await async_playwright().start()
                self._browser = await self._playwright.chromium.launch(
                    executable_path=find_chromium(self._chromium_path),
                    headless=True,
                    args=list(LAUNCH_ARGS),
                    env=dict[str, str | float | bool](browser_env()),
                )
            return self._browser

    async def close(self) -> None:
        if self._browser is not None:
            with contextlib.suppress(Exception):
                await self._browser.close()
        if self._playwright is not None:
            with contextlib.suppress(Exception):
                await self._playwright.stop()
        self._browser = self._playwright = None


# --- the session semaphore -----------------------------------------------------------------------


def slot_key(payer_id: str) -> int:
    """A stable signed 32-bit key for the payer's slots (Python's hash() differs per process)."""
    digest = hashlib.sha256(f"claimbot.sessions:{payer_id.upper()}".encode()).digest()
    return int.from_bytes(digest[:4], "big", signed=True)


@contextlib.asynccontextmanager
async def session_slots(dsn: str, payer_id: str, slots: int, wanted: int) -> AsyncIterator[int]:
    """Hold between 1 and `wanted` of the payer's `slots` session slots for the block; yields how many.

    Advisory locks live on this block's own connection: they go when it closes, also when the
    process is killed."""
    key = slot_key(payer_id)
    conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
    held: list[int] = []
    try:
        waited = False
        while True:
            for slot in range(slots):
                if len(held) >= wanted:
                    break
                cur = await conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (key, slot))
                row = await cur.fetchone()
                if row is not None and row[0]:
                    held.append(slot)
            if held:
                break
            if not waited:
                log.info("waiting for a free session slot", payer=payer_id, slots=slots)
                waited = True
            await asyncio.sleep(SLOT_WAIT_S)
        yield len(held)
    finally:
        with contextlib.suppress(psycopg.Error):
            for slot in held:
                await conn.execute("SELECT pg_advisory_unlock(%s, %s)", (key, slot))
        await conn.close()


# --- the tasks -----------------------------------------------------------------------------------


def _payer_lock(sweep_id: int, payer_id: str) -> str:
    return f"sweep:{sweep_id}:{payer_id}"


def _start(ledger: Ledger, sweep_id: int, lease: timedelta) -> None:
    with ledger.writer() as writer:
        writer.start_sweep(sweep_id, lease)


def _finish_if_done(ledger: Ledger, sweep_id: int) -> bool:
    """The last job of a sweep ends it: no item is still planned."""
    if ledger.sweep_items(sweep_id, SweepItemState.PLANNED):
        return False
    with ledger.writer() as writer:
        writer.finish_sweep(sweep_id, SweepState.FINISHED)
    return True


def _skip_payer(ledger: Ledger, sweep_id: int, payer_id: str) -> int:
    planned = ledger.sweep_items(sweep_id, SweepItemState.PLANNED)
    with ledger.writer() as writer:
        return writer.set_sweep_items(
            sweep_id, [i.claim_id for i in planned if i.payer_id == payer_id], SweepItemState.SKIPPED, NO_ADAPTER
        )


async def _keep_sweep_alive(ledger: Ledger, sweep_id: int, lease: timedelta) -> None:
    def renew() -> None:
        with ledger.writer() as writer:
            writer.renew_sweep(sweep_id, lease)

    while True:
        await asyncio.sleep(lease.total_seconds() / 3)
        await asyncio.to_thread(renew)


async def work_payer(rt: Runtime, sweep_id: int, payer_id: str) -> PayerOutcome:
    """One payer's share of a sweep, inside its session slots; the sweep ends with its last payer."""
    ledger = rt.ledger
    limits = rt.limits.get(payer_id, PayerLimits())
    await asyncio.to_thread(_start, ledger, sweep_id, rt.lease)
    keep_alive = asyncio.create_task(_keep_sweep_alive(ledger, sweep_id, rt.lease))
    try:
        async with session_slots(rt.dsn, payer_id, limits.max_sessions, limits.max_sessions) as held:
            adapter = await rt.adapter_for(payer_id)
            if isinstance(adapter, str):
                skipped = await asyncio.to_thread(_skip_payer, ledger, sweep_id, payer_id)
                log.warning("no adapter: the payer's claims are skipped", payer=payer_id, why=adapter)
                return PayerOutcome(payer_id, skipped=skipped, stopped=NO_ADAPTER)
            try:
                return await check_payer_items(
                    ledger, sweep_id, payer_id, adapter, dataclasses.replace(limits, max_sessions=held), rt.policy
                )
            finally:
                await adapter.close()  # signed out before the slots are given back
    finally:
        keep_alive.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keep_alive
        await asyncio.to_thread(_finish_if_done, ledger, sweep_id)


@app.task(
    name="claimbot.check_payer_job",
    queue=SWEEP_QUEUE,
    pass_context=True,
    retry=RetryStrategy(max_attempts=5, wait=5),
)
async def check_payer_job(context: procrastinate.JobContext, sweep_id: int, payer_id: str) -> dict[str, Any]:
    """Check this payer's claims still planned in sweep `sweep_id` (bots.sweep.check_payer_items)."""
    job = context.job
    bound = log.bind(sweep_id=sweep_id, payer=payer_id, job_id=job.id, attempt=job.attempts + 1)
    bound.info("payer job started")
    outcome = await work_payer(runtime(), sweep_id, payer_id)
    bound.info("payer job finished", done=outcome.done, failed=sum(outcome.failed.values()), stopped=outcome.stopped)
    return {"done": outcome.done, "failed": sum(outcome.failed.values()), "stopped": outcome.stopped}


@app.periodic(cron=f"* * * * * */{RETRY_STALLED_EVERY_S}", periodic_id="claimbot.retry_stalled_jobs")
@app.task(name="claimbot.retry_stalled_jobs", queue=MAINT_QUEUE, queueing_lock="claimbot.retry_stalled_jobs")
async def retry_stalled_jobs(timestamp: int) -> int:
    """Put back every job whose worker stopped sending heartbeats (killed, host lost)."""
    stalled = await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER_S)
    count = 0
    for job in stalled:
        log.warning("retrying a stalled job", job_id=job.id, task=job.task_name, lock=job.lock)
        await app.job_manager.retry_job(job)
        count += 1
    return count


# --- enqueueing and the worker loop --------------------------------------------------------------


async def enqueue_sweep(ledger: Ledger, sweep_id: int) -> list[str]:
    """Defer one job per payer with planned items in the sweep; returns the payers queued now (a
    payer whose job is already waiting or running is left as it is). The app must be open."""
    items = await asyncio.to_thread(ledger.sweep_items, sweep_id, SweepItemState.PLANNED)
    queued = []
    for payer_id in sorted({item.payer_id for item in items}):
        lock = _payer_lock(sweep_id, payer_id)
        if await app.job_manager.list_jobs_async(lock=lock, status="doing"):
            continue  # running now: it works every item still planned (the queueing lock covers `todo`)
        try:
            await check_payer_job.configure(lock=lock, queueing_lock=lock).defer_async(
                sweep_id=sweep_id, payer_id=payer_id
            )
        except AlreadyEnqueued:
            continue
        queued.append(payer_id)
    return queued


async def serve(
    rt: Runtime,
    concurrency: int,
    grace_s: float | None = DEFAULT_GRACE_S,
    name: str = "worker",
    stop_when: asyncio.Event | None = None,
) -> None:
    """Run a worker until SIGTERM/SIGINT (or, when given, until `stop_when` is set: a process serving
    other roles too owns the signals): `concurrency` payer jobs at once, plus one maintenance slot for
    the stalled-job retries. On a stop no job is started; running ones get `grace_s`."""
    global _runtime
    _runtime = rt
    options: dict[str, Any] = {
        "update_heartbeat_interval": HEARTBEAT_S,
        "stalled_worker_timeout": STALLED_AFTER_S,
        "fetch_job_polling_interval": POLL_S,
        "abort_job_polling_interval": POLL_S,
        "shutdown_graceful_timeout": grace_s,
        "install_signal_handlers": False,
    }
    loop = asyncio.get_running_loop()
    async with open_app(rt.dsn, pool_size=concurrency + 3):
        workers = [
            asyncio.create_task(
                app.run_worker_async(queues=[SWEEP_QUEUE], concurrency=concurrency, name=name, **options)
            ),
            asyncio.create_task(
                app.run_worker_async(queues=[MAINT_QUEUE], concurrency=1, name=f"{name}-maint", **options)
            ),
        ]

        def stop() -> None:
            log.info("stop requested: finishing the running jobs", grace_s=grace_s)
            for task in workers:
                task.cancel()

        async def stop_on_event(event: asyncio.Event) -> None:
            await event.wait()
            stop()

        signals = (signal.SIGTERM, signal.SIGINT) if stop_when is None else ()
        for sig in signals:
            loop.add_signal_handler(sig, stop)
        watcher = None if stop_when is None else asyncio.create_task(stop_on_event(stop_when))
        try:
            await asyncio.gather(*workers, return_exceptions=True)
        finally:
            if watcher is not None:
                watcher.cancel()
            for sig in signals:
                loop.remove_signal_handler(sig)
            _runtime = None
