"""`claimbot report aging|denials|runs|payers`: what the ledger says, as tables, JSON or CSV.

The figures are computed by claims.reports (pure functions over ledger reads); this module only picks
the output. `--chart FILE.png` (aging, denials) writes the chart the daily digest attaches (assistant.digest:
A/R aging and the last day's new denials by reason), so the report's picture is the digest's. The ledger,
the denial playbook and Pillow are imported inside the commands.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from claimbot.console import Exit, JsonOption, err, fail, out, print_json
from claimbot.settings import Settings
from claimbot.tables import Col, add_rows, make_table

if TYPE_CHECKING:
    from claims.ledger import Ledger
    from claims.reports import AgingReport, DenialsReport

report_app = typer.Typer(
    help="Reports from the ledger: A/R aging, denials, runs, payer reliability.", no_args_is_help=True
)

CsvOption = Annotated[bool, typer.Option("--csv", help="Print CSV (one row per table row) instead of tables.")]
ChartOption = Annotated[
    Path | None,
    typer.Option("--chart", help="Also write the daily digest's chart (A/R aging, new denials by reason) to this PNG."),
]
DaysOption = Annotated[int, typer.Option("--days", min=1, help="Look back this many days.")]


def _money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def _pct(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def _write_csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    writer = csv.writer(out.file, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)


def _one_output(as_json: bool, as_csv: bool) -> None:
    if as_json and as_csv:
        fail(Exit.USAGE, "--json and --csv: choose one")


def _aging(ledger: Ledger, today: date) -> AgingReport:
    from claims.reports import aging_report

    return aging_report(ledger.list_claims(limit=None), today)


def _denials(ledger: Ledger, settings: Settings) -> DenialsReport:
    from claimbot.denials_commands import denial_playbook
    from claims.reports import denials_report

    playbook = denial_playbook(settings)
    return denials_report(ledger.current_denials(), lambda d, payer: playbook.recommend(d, payer).category.value)


def _chart(path: Path | None, ledger: Ledger) -> None:
    """The PNG the daily digest attaches (assistant.digest), drawn from the ledger as it is now."""
    if path is None:
        return
    from assistant.digest import build_digest, chart_of
    from claims.models import utc_now

    if path.suffix.lower() != ".png":
        fail(Exit.USAGE, f"--chart {path.name}: the chart is a PNG; name the file *.png")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(chart_of(build_digest(ledger, utc_now())))
    err.print(f"chart written to {path}", markup=False)


def register(app: typer.Typer, open_ledger: Callable[[Settings], Ledger]) -> None:
    """Add `claimbot report` and its four reports to the main app."""
    app.add_typer(report_app, name="report")

    @report_app.command("aging")
    def aging(
        as_of: Annotated[
            str | None, typer.Option("--as-of", help="Age the claims as of this day (YYYY-MM-DD; default today).")
        ] = None,
        as_json: JsonOption = False,
        as_csv: CsvOption = False,
        chart: ChartOption = None,
    ) -> None:
        """A/R aging: open balances per payer in buckets of days since the date of service."""
        from claims.reports import BUCKET_LABELS

        _one_output(as_json, as_csv)
        try:
            today = date.fromisoformat(as_of) if as_of else date.today()
        except ValueError:
            fail(Exit.USAGE, "--as-of takes a date as YYYY-MM-DD")
        settings = Settings()
        ledger = open_ledger(settings)
        report = _aging(ledger, today)
        _chart(chart, ledger)
        rows = [*report.payers, report.total]
        if as_json:
            print_json(report)
        elif as_csv:
            _write_csv(
                ["payer", *(f"{b} {w}" for b in BUCKET_LABELS for w in ("claims", "amount")), "claims", "amount"],
                [
                    [r.payer_id, *(v for b in BUCKET_LABELS for v in (r.counts[b], r.amounts[b])), r.count, r.amount]
                    for r in rows
                ],
            )
        else:
            table = make_table(
                ("payer", Col.KEY),
                *((f"{b} days", Col.AMOUNT) for b in BUCKET_LABELS),
                ("total", Col.AMOUNT),
                title=f"A/R aging as of {today} (days since the date of service; claims and open balance)",
            )
            out.print(
                add_rows(
                    table,
                    [
                        [
                            r.payer_id,
                            *(f"{r.counts[b]} · {_money(r.amounts[b])}" for b in BUCKET_LABELS),
                            f"{r.count} · {_money(r.amount)}",
                        ]
                        for r in rows
                    ],
                )
            )
        ledger.close()

    @report_app.command("denials")
    def denials(as_json: JsonOption = False, as_csv: CsvOption = False, chart: ChartOption = None) -> None:
        """Denials that need work, by category (the denial playbook's), group + CARC and payer."""
        _one_output(as_json, as_csv)
        settings = Settings()
        ledger = open_ledger(settings)
        report = _denials(ledger, settings)
        _chart(chart, ledger)
        ledger.close()
        if as_json:
            print_json(report)
            return
        if as_csv:
            _write_csv(
                ["category", "code", "payer", "claims", "denials", "amount"],
                [[r.category, r.code, r.payer_id, r.claims, r.denials, r.amount] for r in report.rows],
            )
            return
        by_category = make_table(
            ("category", Col.KEY),
            ("claims", Col.AMOUNT),
            ("denials", Col.AMOUNT),
            ("amount", Col.AMOUNT),
            title="denials that need work, by category",
        )
        out.print(
            add_rows(
                by_category,
                [
                    *([c.category, str(c.claims), str(c.denials), _money(c.amount)] for c in report.categories),
                    ["total", str(report.claims), str(report.denials), _money(report.amount)],
                ],
            )
        )
        detail = make_table(
            ("category", Col.KEY),
            ("code", Col.KEY),
            ("payer", Col.KEY),
            ("claims", Col.AMOUNT),
            ("denials", Col.AMOUNT),
            ("amount", Col.AMOUNT),
            title="by category, code and payer",
        )
        out.print(
            add_rows(
                detail,
                [
                    [r.category, r.code, r.payer_id, str(r.claims), str(r.denials), _money(r.amount)]
                    for r in report.rows
                ],
            )
        )

    @report_app.command("runs")
    def runs(days: DaysOption = 30, as_json: JsonOption = False, as_csv: CsvOption = False) -> None:
        """Sweeps and live-check runs of the last days: items done, failed, not asked, left; timings."""
        from claims.reports import read_runs

        _one_output(as_json, as_csv)
        ledger = open_ledger(Settings())
        report = read_runs(ledger, date.today() - timedelta(days=days))
        ledger.close()
        if as_json:
            print_json(report)
            return
        header = ["what", "id", "payer", "trigger", "state", "started", "seconds", "planned", "done", "failed"]
        header += ["not asked", "left", "per minute"]
        rows = [
            [
                r.what,
                str(r.id),
                r.payer_id or "",
                r.trigger,
                r.state,
                f"{r.started_at:%Y-%m-%d %H:%M}" if r.started_at else "",
                "" if r.seconds is None else f"{r.seconds:.1f}",
                str(r.planned),
                str(r.done),
                str(r.failed),
                str(r.not_asked),
                str(r.left),
                "" if r.per_minute is None else f"{r.per_minute:.1f}",
            ]
            for r in report.rows
        ]
        if as_csv:
            _write_csv(header, rows)
            return
        kinds = [Col.KEY] * 6 + [Col.AMOUNT] * 7
        table = make_table(*zip(header, kinds, strict=True), title=f"runs since {report.since}")
        totals = [str(report.planned), str(report.done), str(report.failed), str(report.not_asked), str(report.left)]
        out.print(add_rows(table, [*rows, ["total", "", "", "", "", "", "", *totals, ""]]))

    @report_app.command("payers")
    def payers(days: DaysOption = 30, as_json: JsonOption = False, as_csv: CsvOption = False) -> None:
        """Per payer, the bots' checks of the last days: success, not-found and error rates, p90 answer
        time against the CAQH CORE 20-second rule."""
        from claims.models import utc_now
        from claims.reports import payers_report, read_check_tallies

        _one_output(as_json, as_csv)
        ledger = open_ledger(Settings())
        since = utc_now() - timedelta(days=days)
        report = payers_report(read_check_tallies(ledger, since), since.date())
        ledger.close()
        if as_json:
            print_json(report)
            return
        header = [
            "payer",
            "checks",
            "success",
            "not found",
            "errors",
            "timed",
            "p90 s",
            f"≤ {report.limit_seconds:g} s",
        ]
        rows = [
            [
                p.payer_id,
                str(p.checks),
                _pct(p.success_rate),
                _pct(p.not_found_rate),
                _pct(p.error_rate),
                str(p.timed),
                "" if p.p90_seconds is None else f"{p.p90_seconds:.2f}",
                "" if p.within_caqh is None else ("yes" if p.within_caqh else "NO"),
            ]
            for p in report.payers
        ]
        if as_csv:
            _write_csv(header, rows)
            return
        table = make_table(
            *zip(header, [Col.KEY, *[Col.AMOUNT] * 7], strict=True),
            title=f"payer reliability since {report.since} (bot checks; CAQH CORE: answer within 20 s)",
        )
        out.print(add_rows(table, rows))
