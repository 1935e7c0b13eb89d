"""`claimbot sweep`, `claimbot runs`, `claimbot events`: the overnight bots and what they found.

`sweep` plans the due claims (bots.planner), records the plan as a sweep, and works it (bots.sweep),
or continues the newest interrupted sweep first. `--dry-run` shows the plan and records nothing.
`runs` shows past sweeps with their counts per payer; `events` the outbox of what changed.

The ledger, the bots, the adapters and rich's progress bar are imported inside the commands that use
them, so `claimbot --help` stays light (tests/claimbot/test_startup.py).
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from claimbot.console import Exit, JsonOption, err, fail, out, print_json
from claimbot.settings import Settings
from claimbot.tables import Col, add_rows, make_table

if TYPE_CHECKING:
    from bots.planner import SweepPlan
    from bots.sweep import PayerReport
    from claims.ledger import Ledger
    from claims.models import Event, Sweep
    from claims.payer_config import PayerEntry
    from portal_adapters.contract import PayerAdapter

runs_app = typer.Typer(help="Sweeps that ran: their counts per payer and timings.", no_args_is_help=True)
events_app = typer.Typer(help="Events: what sweeps and imports found changed (the outbox).", no_args_is_help=True)


def _adapter_or_reason(settings: Settings, entry: PayerEntry) -> PayerAdapter | str:
    """The payer's adapter on its route, or why there is none."""
    from portal_adapters.factory import adapter_or_reason

    return adapter_or_reason(
        entry.id,
        entry.route,
        entry.clearinghouse_payer_id,
        settings.data_dir,
        settings.playbooks_dir,
        settings.evidence_retention_days,
    )


def _plan_json(plan: SweepPlan) -> dict[str, object]:
    return {
        "considered": plan.considered,
        "due": len(plan.due),
        "payers": [
            {
                "payer_id": p.payer_id,
                "considered": p.considered,
                "due": [
                    {
                        "claim_id": c.claim_id,
                        "priority": c.priority,
                        "due_reason": c.due_reason,
                        "timely_filing_days_left": c.timely_filing_days_left,
                        "age_days": c.age_days,
                        "billed_amount": c.billed_amount,
                    }
                    for c in p.due
                ],
                "not_due": dict(p.not_due),
                "cadence": None
                if p.cadence is None
                else {
                    "typical_days": p.cadence.typical_days,
                    "late_days": p.cadence.late_days,
                    "samples": p.cadence.samples,
                },
            }
            for p in plan.payers.values()
        ],
    }


def _show_plan(plan: SweepPlan) -> None:
    for payer in plan.payers.values():
        pace = (
            f"; usually decides in {payer.cadence.typical_days} days ({payer.cadence.samples} claims)"
            if payer.cadence
            else ""
        )
        title = f"{payer.payer_id}: {len(payer.due)} due of {payer.considered} considered{pace}"
        table = make_table(
            ("#", Col.AMOUNT), ("claim", Col.KEY), ("billed", Col.AMOUNT), ("why due", Col.TEXT), title=title
        )
        out.print(add_rows(table, [[str(c.priority), c.claim_id, c.billed_amount, c.due_reason] for c in payer.due]))
        if payer.not_due:
            counts = make_table(("not due", Col.TEXT), ("claims", Col.AMOUNT))
            out.print(add_rows(counts, [[why, str(n)] for why, n in payer.not_due.most_common()]))


def _report_rows(reports: dict[str, PayerReport]) -> list[list[str]]:
    rows = []
    for r in reports.values():
        rows.append(
            [
                r.payer_id,
                str(r.planned),
                str(r.checked),
                str(sum(r.failed.values())),
                str(r.quarantined),
                str(r.skipped),
                str(r.left),
                str(r.changed),
                ", ".join(f"{why} {n}" for why, n in r.failed.most_common()),
                "" if r.seconds is None else f"{r.seconds:.1f} s",
            ]
        )
    return rows


def report_table(reports: dict[str, PayerReport], title: str) -> object:
    table = make_table(
        ("payer", Col.KEY),
        ("planned", Col.AMOUNT),
        ("checked", Col.AMOUNT),
        ("failed", Col.AMOUNT),
        ("quarantined", Col.AMOUNT),
        ("skipped", Col.AMOUNT),
        ("left", Col.AMOUNT),
        ("changed", Col.AMOUNT),
        ("failures by reason", Col.TEXT),
        ("took", Col.AMOUNT),
        title=title,
    )
    return add_rows(table, _report_rows(reports))


def totals_line(reports: dict[str, PayerReport]) -> str:
    planned = sum(r.planned for r in reports.values())
    parts = {
        "checked": sum(r.checked for r in reports.values()),
        "failed": sum(sum(r.failed.values()) for r in reports.values()),
        "quarantined": sum(r.quarantined for r in reports.values()),
        "skipped": sum(r.skipped for r in reports.values()),
    }
    left = sum(r.left for r in reports.values())
    if left:
        parts["left"] = left
    return f"planned {planned} = " + " + ".join(f"{n} {what}" for what, n in parts.items())


def _sweep_json(sweep: Sweep, reports: dict[str, PayerReport]) -> dict[str, object]:
    return {
        **sweep.model_dump(mode="json"),
        "payers": [r.as_json() for r in reports.values()],
        "totals": {
            "planned": sum(r.planned for r in reports.values()),
            "checked": sum(r.checked for r in reports.values()),
            "failed": sum(sum(r.failed.values()) for r in reports.values()),
            "quarantined": sum(r.quarantined for r in reports.values()),
            "skipped": sum(r.skipped for r in reports.values()),
            "left": sum(r.left for r in reports.values()),
            "changed": sum(r.changed for r in reports.values()),
        },
    }


class LiveView:
    """Per-payer progress on stderr (a terminal only): done/total, rate, failures by reason."""

    def __init__(self, totals: dict[str, int], enabled: bool) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[rate]}"),
            TextColumn("{task.fields[failures]}"),
            console=err,
            disable=not enabled,
        )
        self.tasks = {p: self.progress.add_task(p, total=n, rate="", failures="") for p, n in totals.items()}
        self.failures: dict[str, Counter[str]] = {p: Counter() for p in totals}
        self.started = datetime.now(UTC)

    def __call__(self, payer_id: str, what: str) -> None:
        if payer_id not in self.tasks:
            return
        if what != "done":
            self.failures[payer_id][what] += 1
        task = self.tasks[payer_id]
        self.progress.advance(task)
        done = self.progress.tasks[task].completed
        seconds = max((datetime.now(UTC) - self.started).total_seconds(), 0.001)
        self.progress.update(
            task,
            rate=f"{done / seconds * 60:.0f}/min",
            failures=", ".join(f"{k} {n}" for k, n in self.failures[payer_id].most_common()),
        )


def register(app: typer.Typer, open_ledger: Callable[[Settings], Ledger]) -> None:
    """Add `sweep`, `runs` and `events` to the main app."""
    app.add_typer(runs_app, name="runs")
    app.add_typer(events_app, name="events")

    @app.command("sweep")
    def sweep(
        payer: Annotated[str | None, typer.Option(help="Only this payer's claims.")] = None,
        limit: Annotated[int | None, typer.Option(min=1, help="At most this many claims per payer.")] = None,
        dry_run: Annotated[
            bool, typer.Option(help="Show the plan (and why each claim is due); record nothing.")
        ] = False,
        resume: Annotated[
            bool, typer.Option(help="Only continue the newest interrupted sweep (the default does so first anyway).")
        ] = False,
        as_json: JsonOption = False,
    ) -> None:
        """Check every due claim with its payer and record each answer once; continues an interrupted sweep first."""
        from bots.planner import plan_from_ledger
        from bots.sweep import PayerLimits, plan_to_sweep, run_sweep, sweep_report
        from claims.models import SweepItemState, SweepState, utc_now
        from claims.payer_config import PayerConfigError, load_payer_config
        from portal_adapters.retry import RetryPolicy

        settings = Settings()
        ledger = open_ledger(settings)
        try:
            config = load_payer_config(settings.payers_file)
        except PayerConfigError as error:
            fail(Exit.LEDGER, str(error))
        rules = config.rules()
        payer_id = payer.upper() if payer else None
        if payer_id is not None and payer_id not in rules:
            fail(Exit.NOT_FOUND, f"payer {payer_id} is not in {settings.payers_file}")
        selected = rules if payer_id is None else {payer_id: rules[payer_id]}
        today = utc_now().date()
        if dry_run:
            plan = plan_from_ledger(ledger, selected, today, payer_id, limit)
            if as_json:
                print_json(_plan_json(plan))
            else:
                _show_plan(plan)
                out.print(f"{len(plan.due)} claims due of {plan.considered} considered (dry run: nothing recorded)")
            return

        ledger.interrupt_stale_sweeps()
        running = [s for s in ledger.sweeps(limit=20) if s.state is SweepState.RUNNING]
        if running:
            fail(Exit.LEDGER, f"sweep {running[0].id} is running (its lease is alive): wait for it to finish")
        continuing = ledger.resumable_sweep()
        if continuing is not None and continuing.id is not None:
            sweep_id = continuing.id
            err.print(f"continuing sweep {sweep_id} (interrupted): its claims not yet recorded", markup=False)
        elif resume:
            fail(Exit.NOT_FOUND, "no interrupted sweep to resume")
        else:
            plan = plan_from_ledger(ledger, selected, today, payer_id, limit)
            if not plan.due:
                if as_json:
                    print_json({"sweep": None, "due": 0, "considered": plan.considered})
                else:
                    out.print(f"nothing due: {plan.considered} claims considered")
                return
            routes = {p: r.route.value for p, r in rules.items()}
            sweep_id = plan_to_sweep(ledger, plan, routes, trigger="cli")
        planned = ledger.sweep_items(sweep_id, SweepItemState.PLANNED)
        totals = Counter(item.payer_id for item in planned)
        entries = {entry.id: entry for entry in config.payers}
        adapters: dict[str, PayerAdapter | str] = {
            p: (_adapter_or_reason(settings, entries[p]) if p in entries else f"payer {p} is not in payers.yaml")
            for p in totals
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
        view = LiveView(dict(totals), enabled=not as_json and sys.stderr.isatty())
        lease_s = settings.run_lease_s

        async def work() -> None:
            from datetime import timedelta

            try:
                await run_sweep(
                    ledger,
                    sweep_id,
                    adapters,
                    limits,
                    RetryPolicy(max_attempts=3, base_delay_s=1.0),
                    lease=timedelta(seconds=lease_s),
                    on_progress=view,
                )
            finally:
                for adapter in adapters.values():
                    if not isinstance(adapter, str):
                        await adapter.close()

        with view.progress:
            asyncio.run(work())
        finished = ledger.sweep(sweep_id)
        assert finished is not None
        reports = sweep_report(ledger, sweep_id)
        if as_json:
            print_json(_sweep_json(finished, reports))
        else:
            out.print(report_table(reports, f"sweep {sweep_id}: {finished.state.value}"))
            out.print(totals_line(reports), markup=False)
        if any(r.quarantined or r.skipped or r.failed for r in reports.values()):
            raise typer.Exit(Exit.PAYER)

    @runs_app.command("list")
    def runs_list(
        limit: Annotated[int, typer.Option(min=1, help="How many sweeps, newest first.")] = 20,
        as_json: JsonOption = False,
    ) -> None:
        """Past sweeps, newest first, with their counts."""
        from bots.sweep import sweep_report

        ledger = open_ledger(Settings())
        found = [(s, sweep_report(ledger, s.id)) for s in ledger.sweeps(limit) if s.id is not None]
        if as_json:
            print_json([_sweep_json(s, reports) for s, reports in found])
            return
        table = make_table(
            ("sweep", Col.AMOUNT),
            ("kind", Col.KEY),
            ("state", Col.KEY),
            ("trigger", Col.KEY),
            ("started", Col.KEY),
            ("planned", Col.AMOUNT),
            ("checked", Col.AMOUNT),
            ("failed", Col.AMOUNT),
            ("changed", Col.AMOUNT),
            ("note", Col.TEXT),
        )
        rows = []
        for s, reports in found:
            rows.append(
                [
                    str(s.id),
                    s.kind.value,
                    s.state.value,
                    s.trigger,
                    f"{s.started_at:%Y-%m-%d %H:%M}" if s.started_at else "",
                    str(sum(r.planned for r in reports.values())),
                    str(sum(r.checked for r in reports.values())),
                    str(sum(sum(r.failed.values()) for r in reports.values())),
                    str(sum(r.changed for r in reports.values())),
                    s.note or "",
                ]
            )
        out.print(add_rows(table, rows))

    @runs_app.command("show")
    def runs_show(
        sweep_id: Annotated[int, typer.Argument(help="The sweep's id (runs list).")], as_json: JsonOption = False
    ) -> None:
        """One sweep: per payer, planned / checked / failed by reason / quarantined / changed, and timings."""
        from bots.sweep import sweep_report

        ledger = open_ledger(Settings())
        found = ledger.sweep(sweep_id)
        if found is None:
            fail(Exit.NOT_FOUND, f"no sweep {sweep_id}")
        reports = sweep_report(ledger, sweep_id)
        if as_json:
            print_json(_sweep_json(found, reports))
            return
        took = ""
        if found.started_at and found.finished_at:
            took = f", took {(found.finished_at - found.started_at).total_seconds():.1f} s"
        out.print(
            f"sweep {sweep_id} ({found.kind.value}, {found.trigger}): {found.state.value}{took}"
            + (f" — {found.note}" if found.note else ""),
            markup=False,
        )
        out.print(report_table(reports, "per payer"))
        out.print(totals_line(reports), markup=False)

    @events_app.command("list")
    def events_list(
        since: Annotated[
            str | None, typer.Option(help="Only events from this time on (ISO date or date-time, UTC).")
        ] = None,
        kind: Annotated[str | None, typer.Option(help="Only this kind (paid, denied, bot_failure, ...).")] = None,
        limit: Annotated[int, typer.Option(min=1, help="At most this many, oldest first.")] = 200,
        as_json: JsonOption = False,
    ) -> None:
        """Events in the outbox: status changes, failed bots and canaries (PHI-free)."""
        from claims.models import EventKind

        start: datetime | None = None
        if since:
            try:
                start = datetime.fromisoformat(since)
            except ValueError:
                fail(Exit.BAD_INPUT, "--since takes an ISO date or date-time, e.g. 2026-12-01 or 2026-12-01T06:00")
            start = start if start.tzinfo else start.replace(tzinfo=UTC)
        wanted = None
        if kind:
            try:
                wanted = EventKind(kind)
            except ValueError:
                fail(Exit.BAD_INPUT, f"--kind is one of: {', '.join(k.value for k in EventKind)}")
        ledger = open_ledger(Settings())
        found = ledger.events(since=start, kind=wanted, limit=limit)
        if as_json:
            print_json([e.model_dump(mode="json") for e in found])
            return
        table = make_table(
            ("id", Col.AMOUNT),
            ("at", Col.KEY),
            ("kind", Col.KEY),
            ("payer", Col.KEY),
            ("claim", Col.KEY),
            ("what", Col.TEXT),
            ("dispatched", Col.KEY),
        )
        out.print(add_rows(table, [_event_row(e) for e in found]))


def _event_row(event: Event) -> list[str]:
    p = event.payload
    if event.claim_id is not None:
        what = f"{p.get('status_before')} -> {p.get('status')}"
        if p.get("denials"):
            what += f" ({', '.join(str(d) for d in p['denials'] or [])})"  # type: ignore[union-attr]
        if p.get("paid_amount") is not None:
            what += f", paid {p['paid_amount']}"
    else:
        what = str(p.get("why") or p.get("kind") or "")
        if p.get("message"):
            what += f": {p['message']}"
        if p.get("evidence_ref"):
            what += f" (evidence {p['evidence_ref']})"
    return [
        str(event.id),
        f"{event.created_at:%Y-%m-%d %H:%M:%S}",
        event.kind.value,
        event.payer_id or "",
        event.claim_id or "",
        what,
        f"{event.dispatched_at:%Y-%m-%d %H:%M}" if event.dispatched_at else "",
    ]
