"""`claimbot worker`: team mode, sweeps worked by worker processes over the shared PostgreSQL ledger.

`claimbot worker [--concurrency N]` runs one worker (bots.workers) until SIGTERM; start as many as the
team needs, on any hosts that reach the ledger. `claimbot worker enqueue [--payer P] [--limit N]`
plans a sweep (bots.planner) and queues one job per payer of it, for the workers to take.

procrastinate, psycopg, the ledger and the browser are imported inside the commands, so
`claimbot --help` stays light (tests/claimbot/test_startup.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from claimbot.console import Exit, JsonOption, err, fail, out, print_json
from claimbot.settings import Settings

if TYPE_CHECKING:
    from bots.sweep import PayerLimits
    from bots.workers import Runtime, SharedBrowser
    from claims.ledger import Ledger
    from claims.payer_config import PayerConfig, PayerEntry
    from portal_adapters.contract import PayerAdapter

worker_app = typer.Typer(
    help="Team mode: sweeps worked by worker processes over the shared PostgreSQL ledger.",
    invoke_without_command=True,
)


def _dsn(settings: Settings) -> str:
    from bots.workers import TeamModeError, libpq_dsn

    try:
        return libpq_dsn(settings.ledger_url)
    except TeamModeError as error:
        fail(Exit.LEDGER, str(error))


def _config(settings: Settings) -> PayerConfig:
    from claims.payer_config import PayerConfigError, load_payer_config

    try:
        return load_payer_config(settings.payers_file)
    except PayerConfigError as error:
        fail(Exit.LEDGER, str(error))


def _limits(config: PayerConfig) -> dict[str, PayerLimits]:
    from bots.sweep import PayerLimits

    return {
        p: PayerLimits(
            requests_per_minute=r.requests_per_minute,
            max_sessions=r.max_sessions,
            circuit_breaker_failures=r.circuit_breaker_failures,
            canary=r.canary,
            canary_claim=r.canary_claim,
        )
        for p, r in config.rules().items()
    }


async def _adapter_or_reason(settings: Settings, entry: PayerEntry, browser: SharedBrowser) -> PayerAdapter | str:
    """The payer's adapter on its route, on the worker's own browser (started only for a portal route);
    or why there is none (PHI-free)."""
    from claims.payer_config import PayerRoute
    from portal_adapters.factory import adapter_or_reason

    shared = None if entry.route is PayerRoute.API else await browser.get()
    return adapter_or_reason(
        entry.id,
        entry.route,
        entry.clearinghouse_payer_id,
        settings.data_dir,
        settings.playbooks_dir,
        settings.evidence_retention_days,
        browser=shared,
    )


def worker_runtime(settings: Settings, open_ledger: Callable[[Settings], Ledger]) -> tuple[Runtime, SharedBrowser]:
    """What a worker keeps across jobs (bots.workers.Runtime), and the browser it lends its adapters;
    a plain-words exit when the ledger is not on PostgreSQL or payers.yaml is refused."""
    from datetime import timedelta

    from bots.workers import Runtime, SharedBrowser

    dsn = _dsn(settings)
    ledger = open_ledger(settings)
    config = _config(settings)
    entries = {entry.id: entry for entry in config.payers}
    browser = SharedBrowser()

    async def adapter_for(payer_id: str) -> PayerAdapter | str:
        entry = entries.get(payer_id)
        if entry is None:
            return f"payer {payer_id} is not in payers.yaml"
        return await _adapter_or_reason(settings, entry, browser)

    runtime = Runtime(ledger, dsn, adapter_for, _limits(config), lease=timedelta(seconds=settings.run_lease_s))
    return runtime, browser


def worker_name() -> str:
    """host:pid, as procrastinate and the logs name the worker."""
    import os
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


def register(app: typer.Typer, open_ledger: Callable[[Settings], Ledger]) -> None:
    """Add `claimbot worker` (and `worker enqueue`) to the main app."""
    app.add_typer(worker_app, name="worker")

    @worker_app.callback()
    def worker(
        ctx: typer.Context,
        concurrency: Annotated[int, typer.Option(min=1, max=32, help="Payer jobs this worker runs at once.")] = 2,
        grace: Annotated[
            float, typer.Option(min=0, help="On SIGTERM, seconds running jobs get before going back to the queue.")
        ] = 30.0,
    ) -> None:
        """Run a worker until SIGTERM: it works queued sweeps' payer jobs (CLAIMBOT_DATABASE_URL on PostgreSQL)."""
        if ctx.invoked_subcommand is not None:
            return
        import asyncio

        from bots.workers import RECOVERY_BOUND_S, serve

        settings = Settings()
        runtime, browser = worker_runtime(settings, open_ledger)
        ledger = runtime.ledger
        name = worker_name()
        err.print(
            f"worker {name}: at most {concurrency} payer job(s) at once; a killed worker's job is picked up "
            f"again within {RECOVERY_BOUND_S:.0f} s",
            markup=False,
        )

        async def run() -> None:
            try:
                await serve(runtime, concurrency, grace, name=name)
            finally:
                await browser.close()

        try:
            asyncio.run(run())
        finally:
            ledger.close()
        err.print(f"worker {name}: stopped", markup=False)

    @worker_app.command("enqueue")
    def enqueue(
        payer: Annotated[str | None, typer.Option(help="Only this payer's claims.")] = None,
        limit: Annotated[int | None, typer.Option(min=1, help="At most this many claims per payer.")] = None,
        sweep_id: Annotated[
            int | None, typer.Option("--sweep", help="Queue this planned sweep's payers instead of planning one.")
        ] = None,
        as_json: JsonOption = False,
    ) -> None:
        """Plan a sweep of the due claims and queue one job per payer for the workers."""
        import asyncio

        from bots.planner import plan_from_ledger
        from bots.sweep import plan_to_sweep
        from bots.workers import enqueue_sweep, open_app
        from claims.models import SweepItemState, utc_now

        settings = Settings()
        dsn = _dsn(settings)
        ledger = open_ledger(settings)
        if sweep_id is None:
            config = _config(settings)
            rules = config.rules()
            payer_id = payer.upper() if payer else None
            if payer_id is not None and payer_id not in rules:
                fail(Exit.NOT_FOUND, f"payer {payer_id} is not in {settings.payers_file}")
            selected = rules if payer_id is None else {payer_id: rules[payer_id]}
            plan = plan_from_ledger(ledger, selected, utc_now().date(), payer_id, limit)
            if not plan.due:
                if as_json:
                    print_json({"sweep": None, "due": 0, "considered": plan.considered, "queued": []})
                else:
                    out.print(f"nothing due: {plan.considered} claims considered")
                return
            sweep_id = plan_to_sweep(ledger, plan, {p: r.route.value for p, r in rules.items()}, trigger="worker")
        elif ledger.sweep(sweep_id) is None:
            fail(Exit.NOT_FOUND, f"no sweep {sweep_id}")

        async def defer(target: int) -> list[str]:
            async with open_app(dsn):
                return await enqueue_sweep(ledger, target)

        queued = asyncio.run(defer(sweep_id))
        planned = ledger.sweep_items(sweep_id, SweepItemState.PLANNED)
        ledger.close()
        if as_json:
            print_json({"sweep": sweep_id, "planned": len(planned), "queued": queued})
            return
        out.print(
            f"sweep {sweep_id}: {len(planned)} claims planned; queued {len(queued)} payer jobs"
            + (f" ({', '.join(queued)})" if queued else " (already queued)"),
            markup=False,
        )
