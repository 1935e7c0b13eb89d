"""bots.schedule with a fake clock: APScheduler 3's own scheduling logic and its real job store in the
ledger's database, driven by `_process_jobs()` at chosen instants instead of waiting for nights.

APScheduler reads the time with `datetime.now(tz)` in the scheduler and the executor; both modules'
`datetime` is replaced by one whose `now` is the test's clock. The jobs are counting functions (the
real sweep jobs are textual references too; their ledger guard is tested on its own below)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import apscheduler.executors.base
import apscheduler.schedulers.base
import pytest
import structlog
from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.debug import DebugExecutor
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.base import BaseScheduler

from bots.schedule import (
    DAILY_DIGEST,
    ELIGIBILITY_SWEEP,
    STATUS_SWEEP,
    BotContext,
    ScheduleConfig,
    ScheduleError,
    build_scheduler,
    ensure_jobs,
    job_specs,
    next_runs,
    run_status_sweep,
    sweep_in_the_way,
)
from claims.ledger import Ledger
from claims.models import Sweep, SweepItem, SweepKind, SweepState
from tests.conftest import REPO
from tests.factories import make_claim

RUNS: list[tuple[str, datetime]] = []
RELEASE = threading.Event()
STARTED = threading.Event()


class Clock:
    now = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


class FakeDatetime(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> Any:
        return Clock.now.astimezone(tz) if tz is not None else Clock.now.replace(tzinfo=None)


def record_status() -> None:
    RUNS.append((STATUS_SWEEP, Clock.now))


def record_eligibility() -> None:
    RUNS.append((ELIGIBILITY_SWEEP, Clock.now))


def record_digest() -> None:
    RUNS.append((DAILY_DIGEST, Clock.now))


def long_sweep() -> None:
    RUNS.append(("long", Clock.now))
    STARTED.set()
    RELEASE.wait(10)


FUNCS = {
    STATUS_SWEEP: f"{__name__}:record_status",
    ELIGIBILITY_SWEEP: f"{__name__}:record_eligibility",
    DAILY_DIGEST: f"{__name__}:record_digest",
}


@pytest.fixture(autouse=True)
def fresh_logging() -> None:
    """A CLI test run before this one may leave structlog writing to its closed capture stream."""
    structlog.reset_defaults()


class ManualScheduler(BaseScheduler):  # type: ignore[misc]
    """Processes jobs only when the test says so."""

    def wakeup(self) -> None:
        return None

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)


@pytest.fixture(autouse=True)
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(apscheduler.schedulers.base, "datetime", FakeDatetime)
    monkeypatch.setattr(apscheduler.executors.base, "datetime", FakeDatetime)
    Clock.now = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    RUNS.clear()
    RELEASE.clear()
    STARTED.clear()
    yield
    RELEASE.set()


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


def started(ledger: Ledger, config: ScheduleConfig, executor: Any = None) -> tuple[BaseScheduler, dict[str, str]]:
    scheduler = build_scheduler(
        str(ledger.engine.url.render_as_string(hide_password=False)),
        config,
        scheduler_class=ManualScheduler,
        executors={"default": executor or DebugExecutor()},
    )
    scheduler.start(paused=True)
    done = ensure_jobs(scheduler, job_specs(config, FUNCS), config)
    scheduler.resume()
    return scheduler, done


def runs(name: str) -> list[datetime]:
    return [when for job, when in RUNS if job == name]


def test_the_nightly_sweep_fires_once_a_night(ledger: Ledger) -> None:
    config = ScheduleConfig()
    scheduler, done = started(ledger, config)
    assert done == dict.fromkeys((STATUS_SWEEP, ELIGIBILITY_SWEEP, DAILY_DIGEST), "added")
    for instant in (at(1, 0, 30), at(1, 1, 59)):
        Clock.now = instant
        scheduler._process_jobs()
    assert runs(STATUS_SWEEP) == []
    assert runs(ELIGIBILITY_SWEEP) == [at(1, 1, 59)]  # 01:00 came
    for instant in (at(1, 2, 0), at(1, 2, 1), at(1, 3, 0), at(1, 23, 59)):
        Clock.now = instant
        scheduler._process_jobs()
    assert runs(STATUS_SWEEP) == [at(1, 2, 0)]
    Clock.now = at(2, 2, 0)
    scheduler._process_jobs()
    assert runs(STATUS_SWEEP) == [at(1, 2, 0), at(2, 2, 0)]
    assert scheduler.get_job(STATUS_SWEEP).next_run_time == at(3, 2, 0)
    assert len(runs(DAILY_DIGEST)) == 1  # 07:00 of the first day
    scheduler.shutdown()


def test_runs_missed_during_three_nights_down_coalesce_into_one(ledger: Ledger) -> None:
    config = ScheduleConfig()
    scheduler, _ = started(ledger, config)
    scheduler.shutdown()  # down from Dec 1 00:00: the 02:00 runs of Dec 1, 2 and 3 are missed
    Clock.now = at(3, 10, 0)
    again, done = started(ledger, config)
    assert done == dict.fromkeys((STATUS_SWEEP, ELIGIBILITY_SWEEP, DAILY_DIGEST), "kept")  # the store kept them
    again._process_jobs()
    assert runs(STATUS_SWEEP) == [at(3, 10, 0)]  # once, at start-up, not three times
    assert runs(ELIGIBILITY_SWEEP) == [at(3, 10, 0)]
    assert runs(DAILY_DIGEST) == [at(3, 10, 0)]
    assert again.get_job(STATUS_SWEEP).next_run_time == at(4, 2, 0)
    again._process_jobs()
    assert len(runs(STATUS_SWEEP)) == 1
    again.shutdown()


def test_a_run_missed_by_more_than_the_grace_time_is_skipped_not_run_late(ledger: Ledger) -> None:
    config = ScheduleConfig(misfire_grace_s=3600)
    scheduler, _ = started(ledger, config)
    missed: list[str] = []
    scheduler.add_listener(lambda event: missed.append(event.job_id), EVENT_JOB_MISSED)
    Clock.now = at(1, 5, 0)  # 02:00 passed three hours ago
    scheduler._process_jobs()
    assert runs(STATUS_SWEEP) == []
    assert STATUS_SWEEP in missed
    scheduler.shutdown()


def test_a_bad_cron_line_or_zone_is_named_by_its_setting() -> None:
    with pytest.raises(ScheduleError, match="CLAIMBOT_STATUS_SWEEP_CRON"):
        ensure_jobs(ManualScheduler(), job_specs(ScheduleConfig(status_sweep_cron="every night")), ScheduleConfig())
    with pytest.raises(ScheduleError, match="CLAIMBOT_SCHEDULE_TIMEZONE"):
        ensure_jobs(ManualScheduler(), job_specs(ScheduleConfig()), ScheduleConfig(timezone="Mars/Olympus"))


def test_rescheduling_when_the_cron_line_changes(ledger: Ledger) -> None:
    scheduler, _ = started(ledger, ScheduleConfig())
    scheduler.shutdown()
    config = ScheduleConfig(status_sweep_cron="30 3 * * *", timezone="America/New_York")
    again, done = started(ledger, config)
    assert done[STATUS_SWEEP] == "rescheduled"
    assert again.get_job(STATUS_SWEEP).next_run_time == datetime(2026, 12, 1, 8, 30, tzinfo=UTC)  # 03:30 EST
    again.shutdown()


def test_a_job_still_running_is_not_started_again(ledger: Ledger) -> None:
    config = ScheduleConfig(status_sweep_cron="* * * * *")
    scheduler = build_scheduler(
        str(ledger.engine.url.render_as_string(hide_password=False)),
        config,
        scheduler_class=ManualScheduler,
        executors={"default": ThreadPoolExecutor(4)},
    )
    skipped: list[JobExecutionEvent] = []
    scheduler.add_listener(skipped.append, EVENT_JOB_MAX_INSTANCES)
    scheduler.start(paused=True)
    ensure_jobs(scheduler, job_specs(config, {**FUNCS, STATUS_SWEEP: f"{__name__}:long_sweep"}), config)
    scheduler.resume()
    Clock.now = at(1, 0, 1)
    scheduler._process_jobs()
    assert STARTED.wait(5)
    for minute in (2, 3):
        Clock.now = at(1, 0, minute)
        scheduler._process_jobs()
    RELEASE.set()
    scheduler.shutdown(wait=True)
    assert runs("long") == [at(1, 0, 1)]
    assert len(skipped) == 2  # the minutes 00:02 and 00:03 found it running


def test_jobs_lists_the_next_runs_before_and_after_the_scheduler_ran(ledger: Ledger) -> None:
    url = str(ledger.engine.url.render_as_string(hide_password=False))
    before = next_runs(url, ScheduleConfig(), now=at(1, 0, 0))
    assert [(spec.id, when, stored) for spec, when, stored in before] == [
        (STATUS_SWEEP, at(1, 2, 0), False),
        (ELIGIBILITY_SWEEP, at(1, 1, 0), False),
        (DAILY_DIGEST, at(1, 7, 0), False),
    ]
    scheduler, _ = started(ledger, ScheduleConfig())
    scheduler.shutdown()
    after = next_runs(url, ScheduleConfig(), now=at(3, 0, 0))
    assert [(spec.id, when, stored) for spec, when, stored in after] == [
        (STATUS_SWEEP, at(1, 2, 0), True),  # stored: missed runs are still owed
        (ELIGIBILITY_SWEEP, at(1, 1, 0), True),
        (DAILY_DIGEST, at(1, 7, 0), True),
    ]


def test_a_sweep_over_a_payer_already_being_swept_is_refused(ledger: Ledger, tmp_path: Path) -> None:
    with ledger.writer() as writer:
        writer.upsert_claims([make_claim("C1", "SUNRISE"), make_claim("C2", "MERIDIAN")])
        running = writer.create_sweep(
            Sweep(kind=SweepKind.STATUS, trigger="test"),
            [SweepItem(claim_id="C1", payer_id="SUNRISE", route="portal", priority=1, due_reason="test")],
        )
        writer.start_sweep(running, timedelta(minutes=5))
    blocking = sweep_in_the_way(ledger, SweepKind.STATUS, ["SUNRISE", "KEYSTONE"])
    assert blocking is not None and blocking.id == running
    assert sweep_in_the_way(ledger, SweepKind.STATUS, ["MERIDIAN"]) is None
    assert sweep_in_the_way(ledger, SweepKind.ELIGIBILITY, ["SUNRISE"]) is None
    context = BotContext(
        ledger_url=str(ledger.engine.url.render_as_string(hide_password=False)),
        payers_file=REPO / "config" / "payers.yaml",
        data_dir=tmp_path,
        playbooks_dir=REPO / "playbooks",
    )
    assert asyncio.run(run_status_sweep(context)) is None  # skipped, nothing planned
    assert [s.id for s in ledger.sweeps()] == [running]
    with ledger.writer() as writer:  # its process died: the lease runs out, the guard lets go
        writer.interrupt_stale_sweeps(now=datetime.now(UTC) + timedelta(minutes=6))
    assert sweep_in_the_way(ledger, SweepKind.STATUS, ["SUNRISE"]) is None
    assert ledger.sweep(running).state is SweepState.INTERRUPTED  # type: ignore[union-attr]


def test_one_scheduler_per_ledger(ledger: Ledger) -> None:
    from bots.schedule import SchedulerBusy, single_scheduler

    url = ledger.engine.url.render_as_string(hide_password=False)
    with single_scheduler(url), pytest.raises(SchedulerBusy), single_scheduler(url):
        pass
    with single_scheduler(url):  # released when the first one ended
        pass


async def test_a_status_sweep_waits_for_an_eligibility_sweep_of_the_same_payers(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from claims.ledger import EligibilityItem
    from tests.factories import make_patient

    monkeypatch.delenv("CLAIMBOT_CLEARINGHOUSE_URL", raising=False)  # no route: the payers are skipped
    payers = tmp_path / "payers.yaml"
    payers.write_text(
        "payers:\n  - {id: SUNRISE, name: Sunrise, kind: commercial, timely_filing_days: 180, route: api}\n"
    )
    with ledger.writer() as writer:
        writer.upsert_claims([make_claim("C1", "SUNRISE")])
        eligibility = writer.create_eligibility_sweep(
            Sweep(kind=SweepKind.ELIGIBILITY, trigger="test"),
            [
                EligibilityItem(
                    appointment_key="appt:1", payer_id="SUNRISE", patient=make_patient(), service_date=at(1, 0).date()
                )
            ],
        )
        writer.start_sweep(eligibility, timedelta(minutes=5))
    context = BotContext(
        ledger_url=ledger.engine.url.render_as_string(hide_password=False),
        payers_file=payers,
        data_dir=tmp_path,
        playbooks_dir=REPO / "playbooks",
        max_wait_for_other_s=0.2,
        wait_poll_s=0.05,
    )
    assert await run_status_sweep(context) is None  # waited its bound, then skipped
    assert [s.id for s in ledger.sweeps()] == [eligibility]

    async def finish_soon() -> None:
        await asyncio.sleep(0.2)
        with ledger.writer() as writer:
            writer.finish_sweep(eligibility, SweepState.FINISHED)

    patient = BotContext(**{**context.__dict__, "max_wait_for_other_s": 30.0})
    ran, _ = await asyncio.gather(run_status_sweep(patient), finish_soon())
    assert ran is not None and ran != eligibility  # it went ahead once the other one ended
    swept = ledger.sweep(ran)
    assert swept is not None and swept.kind is SweepKind.STATUS and swept.state is SweepState.FINISHED
