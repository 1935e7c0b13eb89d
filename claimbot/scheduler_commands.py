"""`claimbot scheduler run | jobs`: the overnight bots on their schedule (bots.schedule).

`run` stays in the foreground (run it under systemd or a container supervisor, exactly one per
ledger: APScheduler 3 must not share its job store between two schedulers). It logs structured,
PHI-free lines (CLAIMBOT_LOG_FORMAT=json in production). SIGTERM or SIGINT stops it cleanly: no new
job starts, the sweep in flight stops taking new claims, the answers being written are written whole,
the rest stay planned and the sweep is marked interrupted (the next run continues it); exit 0.

APScheduler, the ledger and the bots are imported inside the commands (tests/claimbot/test_startup.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from claimbot.console import Exit, JsonOption, fail, out, print_json
from claimbot.settings import Settings
from claimbot.tables import Col, add_rows, make_table

if TYPE_CHECKING:
    import asyncio

    from bots.schedule import BotContext, JobSpec, ScheduleConfig
    from claims.ledger import Ledger

scheduler_app = typer.Typer(
    help="The overnight bots on a schedule: status sweep, eligibility sweep, daily digest.", no_args_is_help=True
)


def schedule_config(settings: Settings) -> ScheduleConfig:
    from bots.schedule import ScheduleConfig

    return ScheduleConfig(
        timezone=settings.schedule_timezone,
        status_sweep_cron=settings.status_sweep_cron,
        eligibility_sweep_cron=settings.eligibility_sweep_cron,
        digest_cron=settings.digest_cron,
        misfire_grace_s=settings.schedule_misfire_grace_s,
    )


def bot_context(settings: Settings) -> BotContext:
    from bots.schedule import BotContext

    return BotContext(
        ledger_url=settings.ledger_url,
        payers_file=settings.payers_file,
        data_dir=settings.data_dir,
        playbooks_dir=settings.playbooks_dir,
        evidence_retention_days=settings.evidence_retention_days,
        lease=timedelta(seconds=settings.run_lease_s),
        appointments_file=settings.appointments_file,
        eligibility_days=settings.eligibility_days,
        digest=_slack_digest(settings),
    )


def _slack_digest(settings: Settings) -> Callable[[], Awaitable[None]] | None:
    """The daily digest's sender when the Slack assistant is set up (SLACK_BOT_TOKEN), else None."""
    from assistant.settings import SlackSettings

    if SlackSettings().bot_token is None:
        return None
    from assistant.jobs import digest_job

    return digest_job(settings)


def checked_jobs(
    config: ScheduleConfig, run_now: Sequence[str] | None, funcs: dict[str, str] | None = None
) -> tuple[list[JobSpec], list[str]]:
    """The jobs (`funcs` replaces a job's callable) and the --run-now ones, each cron line read; a plain
    exit when --run-now names no job (2) or a cron line or the time zone cannot be read (5)."""
    from bots import schedule

    specs = schedule.job_specs(config, funcs)
    wanted = list(dict.fromkeys(run_now or []))
    if any(j not in {s.id for s in specs} for j in wanted):
        fail(Exit.USAGE, f"--run-now takes one of: {', '.join(s.id for s in specs)}")
    try:
        for spec in specs:
            schedule.cron_trigger(spec.cron, config)
    except schedule.ScheduleError as error:
        fail(Exit.LEDGER, str(error))
    return specs, wanted


async def run_scheduler(
    settings: Settings,
    config: ScheduleConfig,
    specs: Sequence[JobSpec],
    run_now: Sequence[str],
    stop: asyncio.Event,
    on_started: Callable[[], None] | None = None,
) -> int:
    """Run the scheduler until `stop` is set, then end cleanly: no new job starts, the jobs in flight are
    stopped (a sweep is marked interrupted with its unanswered claims planned). The caller holds
    `single_scheduler` and owns the signals (`scheduler run`, `claimbot serve`)."""
    from datetime import datetime

    from bots import schedule
    from claimbot.logs import get_logger

    log = get_logger("claimbot.scheduler")
    schedule.set_context(bot_context(settings))
    scheduler = schedule.build_scheduler(settings.ledger_url, config)
    scheduler.start(paused=True)
    done = schedule.ensure_jobs(scheduler, specs, config)
    for job_id in run_now:
        scheduler.modify_job(job_id, next_run_time=datetime.now(schedule.zone(config)))
    scheduler.resume()
    for job in scheduler.get_jobs():
        log.info(
            "job scheduled",
            job=job.id,
            declared=done.get(job.id),
            next_run=job.next_run_time.isoformat() if job.next_run_time else None,
        )
    log.info("scheduler running", timezone=config.timezone, run_now=list(run_now) or None)
    if on_started is not None:
        on_started()
    await stop.wait()
    log.info("scheduler stopping: no new jobs; the jobs in flight end cleanly")
    scheduler.pause()
    stopped = await schedule.stop_jobs()
    scheduler.shutdown(wait=False)
    schedule.set_context(None)
    log.info("scheduler stopped", jobs_stopped=stopped)
    return 0


def register(app: typer.Typer, open_ledger: Callable[[Settings], Ledger]) -> None:
    """Add `scheduler run` and `scheduler jobs` to the main app."""
    app.add_typer(scheduler_app, name="scheduler")

    @scheduler_app.command("run")
    def run(
        run_now: Annotated[
            list[str] | None,
            typer.Option(
                "--run-now",
                help="Also run this job at once, then on its schedule (status_sweep, eligibility_sweep, daily_digest).",
            ),
        ] = None,
    ) -> None:
        """Run the scheduler in the foreground until SIGTERM or SIGINT; exits 0 after a clean stop."""
        import asyncio
        import signal

        from bots import schedule

        settings = Settings()
        open_ledger(settings).close()  # the schema is current, or a plain-words exit 5
        config = schedule_config(settings)
        specs, wanted = checked_jobs(config, run_now)

        async def main() -> int:
            loop = asyncio.get_running_loop()
            stop = asyncio.Event()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            return await run_scheduler(settings, config, specs, wanted, stop)

        try:
            with schedule.single_scheduler(settings.ledger_url):
                code = asyncio.run(main())
        except schedule.SchedulerBusy as error:
            fail(Exit.LEDGER, f"{error}: run one `claimbot scheduler run` per ledger")
        raise typer.Exit(code)

    @scheduler_app.command("jobs")
    def jobs(as_json: JsonOption = False) -> None:
        """The scheduled jobs, their cron lines and their next run times."""
        from bots import schedule

        settings = Settings()
        open_ledger(settings).close()
        config = schedule_config(settings)
        try:
            rows = schedule.next_runs(settings.ledger_url, config)
        except schedule.ScheduleError as error:
            fail(Exit.LEDGER, str(error))
        if as_json:
            print_json(
                [
                    {
                        "id": spec.id,
                        "cron": spec.cron,
                        "timezone": config.timezone,
                        "next_run": when.isoformat() if when else None,
                        "stored": stored,
                        "description": spec.description,
                    }
                    for spec, when, stored in rows
                ]
            )
            return
        table = make_table(
            ("job", Col.KEY),
            ("cron", Col.KEY),
            ("next run", Col.KEY),
            ("what", Col.TEXT),
            title=f"schedule ({config.timezone})",
        )
        out.print(
            add_rows(
                table,
                [
                    [
                        spec.id,
                        spec.cron,
                        (f"{when:%Y-%m-%d %H:%M %Z}" if when else "paused")
                        + ("" if stored else " (scheduler not started yet)"),
                        spec.description,
                    ]
                    for spec, when, stored in rows
                ],
            )
        )
