"""`claimbot eligibility sweep`: coverage before the coming visits, recorded once per appointment.

From `--appointments FILE` (a CSV, columns in bots.eligibility_sweep.APPOINTMENT_COLUMNS) or, without
one, the members of open claims. An interrupted eligibility sweep is continued instead of planning a
new one. Ends with counts that add up: appointments read = checked + failed + skipped (by reason).

The ledger and the bots are imported inside the command (tests/claimbot/test_startup.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from claimbot.console import Exit, JsonOption, err, fail, out, print_json
from claimbot.settings import Settings
from claimbot.tables import Col, add_rows, make_table

if TYPE_CHECKING:
    from claims.ledger import Ledger
    from portal_adapters.contract import PayerAdapter


def sweep(
    open_ledger: Callable[[Settings], Ledger],
    appointments: Path | None,
    days: int | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    import asyncio

    from bots.eligibility_sweep import (
        AppointmentsError,
        AppointmentsRead,
        eligibility_report,
        open_claim_appointments,
        plan_eligibility_sweep,
        read_appointments,
        run_eligibility_sweep,
    )
    from bots.schedule import adapter_or_reason, sweep_in_the_way
    from claimbot.scheduler_commands import bot_context
    from claims.models import SweepKind, utc_now
    from claims.payer_config import PayerConfigError, load_payer_config
    from portal_adapters.retry import RetryPolicy

    settings = Settings()
    ledger = open_ledger(settings)
    try:
        config = load_payer_config(settings.payers_file)
    except PayerConfigError as error:
        fail(Exit.LEDGER, str(error))
    entries = {entry.id: entry for entry in config.payers}
    window = settings.eligibility_days if days is None else days
    today = utc_now().date()
    source = appointments or settings.appointments_file

    def read() -> AppointmentsRead:
        if source is None:
            return open_claim_appointments(ledger, today)
        try:
            return read_appointments(source, frozenset(entries), today, window)
        except AppointmentsError as error:
            for problem in error.problems:
                err.print(str(problem), markup=False)
            fail(Exit.BAD_INPUT, f"{len(error.problems)} problem(s) in {source.name}: nothing recorded")

    if dry_run:
        found = read()
        by_payer = Counter(a.payer_id for a in found.appointments)
        if as_json:
            print_json(
                {
                    "read": found.read,
                    "to_check": len(found.appointments),
                    "by_payer": dict(by_payer),
                    "skipped_by_reason": dict(found.skipped),
                }
            )
            return
        skipped = " + ".join(f"{n} skipped ({why})" for why, n in found.skipped.most_common())
        out.print(
            f"appointments {found.read} read = {len(found.appointments)} to check"
            + (f" + {skipped}" if skipped else "")
            + f" (dry run: nothing recorded; {', '.join(f'{p} {n}' for p, n in sorted(by_payer.items())) or 'none'})",
            markup=False,
        )
        return

    blocking = sweep_in_the_way(ledger, SweepKind.ELIGIBILITY, list(entries))
    if blocking is not None:
        fail(Exit.LEDGER, f"eligibility sweep {blocking.id} is running (its lease is alive): wait for it to finish")
    file_skipped: Counter[str] = Counter()
    continuing = ledger.resumable_eligibility_sweep()
    if continuing is not None and continuing.id is not None:
        sweep_id = continuing.id
        err.print(
            f"continuing eligibility sweep {sweep_id} (interrupted): its appointments not yet checked"
            + ("; run again for the file" if source is not None else ""),
            markup=False,
        )
    else:
        found = read()
        file_skipped = found.skipped
        if not found.appointments:
            if as_json:
                print_json({"sweep_id": None, "read": found.read, "skipped_by_reason": dict(found.skipped)})
            else:
                out.print(f"no appointments to check: {found.read} read", markup=False)
            return
        sweep_id = plan_eligibility_sweep(ledger, found, trigger="cli")
    context = bot_context(settings)
    payers = sorted({item.payer_id for item in ledger.eligibility_sweep_items(sweep_id)})
    adapters: dict[str, PayerAdapter | str] = {
        p: adapter_or_reason(context, entries[p]) if p in entries else f"payer {p} is not in payers.yaml"
        for p in payers
    }

    async def work() -> None:
        try:
            await run_eligibility_sweep(
                ledger, sweep_id, adapters, RetryPolicy(max_attempts=3, base_delay_s=1.0), lease=context.lease
            )
        finally:
            for adapter in adapters.values():
                if not isinstance(adapter, str):
                    await adapter.close()

    asyncio.run(work())
    report = eligibility_report(ledger, sweep_id, file_skipped)
    if as_json:
        print_json(report.as_json())
    else:
        table = make_table(("payer", Col.KEY), ("why not asked", Col.TEXT), title=f"eligibility sweep {sweep_id}")
        for payer_id in payers:
            adapter = adapters[payer_id]
            if isinstance(adapter, str):
                add_rows(table, [[payer_id, adapter]])
        if any(isinstance(a, str) for a in adapters.values()):
            out.print(table)
        out.print(report.line(), markup=False)
        if report.inactive_events:
            out.print(
                f"{report.inactive_events} newly inactive: see `claimbot events list --kind eligibility_inactive`"
            )
    if report.failed or any(why not in file_skipped for why in report.skipped):
        raise typer.Exit(Exit.PAYER)


AppointmentsOption = Annotated[
    Path | None,
    typer.Option(
        "--appointments",
        exists=True,
        dir_okay=False,
        help="CSV of upcoming appointments (default: CLAIMBOT_APPOINTMENTS_FILE, else members of open claims).",
    ),
]
DaysOption = Annotated[
    int | None,
    typer.Option(min=0, max=90, help="Appointments in the next N days (default CLAIMBOT_ELIGIBILITY_DAYS, 7)."),
]
DryRunOption = Annotated[bool, typer.Option(help="Read and count the appointments; record nothing.")]
__all__ = ["AppointmentsOption", "DaysOption", "DryRunOption", "JsonOption", "sweep"]
