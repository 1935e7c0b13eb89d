"""Commands over the ledger itself: `db upgrade`, `claims import|list|show`, `codes show|import`.

The ledger, the importer and rich's progress bar are imported inside the commands that use them,
so `claimbot --help` stays light (bench/startup_bench.py; tests/claimbot/test_startup.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from claimbot.console import Exit, JsonOption, err, fail, out, print_json, write_json_text
from claimbot.ledger_access import open_ledger, prepare_ledger
from claimbot.logs import get_logger
from claimbot.settings import Settings
from claimbot.tables import Col, add_rows, make_table
from claims.codesets import CodeKind
from claims.status import ClaimStatus

if TYPE_CHECKING:
    from rich.table import Table

    from claims.codesets import CodeSets
    from claims.denials import DenialPlaybook
    from claims.importing import ColumnMapping
    from claims.ledger import ClaimSummary, Ledger
    from claims.models import Denial
    from claims.payer_config import DeadlineRules

db_app = typer.Typer(help="The claims ledger.", no_args_is_help=True)
claims_app = typer.Typer(help="Claims in the ledger.", no_args_is_help=True)
codes_app = typer.Typer(help="Code sets: claim status categories and codes, CARC, RARC.", no_args_is_help=True)

log = get_logger("claimbot.cli")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the ledger and load the payer list (payers.yaml) into it."""
    settings = Settings()
    ledger = prepare_ledger(settings)
    log.info("ledger upgraded", payers=len(ledger.payers()))
    out.print(f"ledger ready: {ledger.engine.url.render_as_string(hide_password=True)}", markup=False)


def run_import(ledger: Ledger, path: Path, mapping: ColumnMapping | None, as_json: bool) -> None:
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    from claims.importing import import_claims_csv

    size = path.stat().st_size if path.exists() else 0
    show_bar = not as_json and sys.stderr.isatty() and size > 1_000_000
    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not show_bar,
    )
    with progress:
        task = progress.add_task(f"importing {path.name}", total=size)
        report = import_claims_csv(ledger, path, mapping, on_bytes=lambda n: progress.advance(task, n))
    if as_json:
        print_json(report)
    else:
        out.print(
            f"{path.name}: {report.claims} claims in {report.rows} rows — "
            f"{report.created} new, {report.updated} updated, {report.unchanged} unchanged",
            markup=False,
        )


@claims_app.command("import")
def claims_import(
    path: Annotated[Path, typer.Argument(help="A CSV export, one row per service line (docs/claims-csv.md).")],
    mapping: Annotated[Path | None, typer.Option(help="YAML mapping for other column names or date formats.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Import claims from a CSV file; all or nothing, idempotent (upsert by claim id)."""
    from claims.importing import ClaimImportError, ColumnMapping, MappingError

    if not path.is_file():
        fail(Exit.BAD_INPUT, f"{path}: no such file")
    try:
        column_mapping = ColumnMapping.load(mapping) if mapping else None
    except MappingError as error:
        fail(Exit.BAD_INPUT, str(error))
    ledger = open_ledger(Settings())
    try:
        run_import(ledger, path, column_mapping, as_json)
    except ClaimImportError as error:
        if as_json:
            print_json({"imported": False, "problems": [i.model_dump() for i in error.issues]})
        fail(Exit.BAD_INPUT, str(error))
    log.info("claims imported", file=path.name)


def _summary_table(rows: list[ClaimSummary]) -> Table:
    table = make_table(
        ("claim", Col.KEY),
        ("payer", Col.KEY),
        ("patient", Col.KEY),
        ("service", Col.KEY),
        ("billed", Col.AMOUNT),
        ("status", Col.KEY),
        ("paid", Col.AMOUNT),
        ("checked", Col.TEXT),
    )
    return add_rows(
        table,
        (
            [
                row.claim_id,
                row.payer_id,
                row.patient_initials,
                row.service_date_from.isoformat(),
                f"{row.billed_amount:,.2f}",
                row.status.value,
                "" if row.paid_amount is None else f"{row.paid_amount:,.2f}",
                row.status_checked_at.strftime("%Y-%m-%d %H:%M") if row.status_checked_at else "",
            ]
            for row in rows
        ),
    )


@claims_app.command("list")
def claims_list(
    status: Annotated[ClaimStatus | None, typer.Option(help="Only claims whose current status is this.")] = None,
    payer: Annotated[str | None, typer.Option(help="Only this payer's claims (payer id).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many claims.")] = 100,
    show_all: Annotated[bool, typer.Option("--all", help="Every claim that matches, however many.")] = False,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many first.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """List claims with their current status (derived from their status history)."""
    ledger = open_ledger(Settings())
    payer_id = payer.upper() if payer else None
    rows = ledger.list_claims(status=status, payer_id=payer_id, limit=None if show_all else limit, offset=offset)
    total = ledger.count_claims(status=status, payer_id=payer_id)
    if as_json:
        claims_json = ",".join(row.model_dump_json() for row in rows)
        write_json_text(f'{{"total": {total}, "offset": {offset}, "shown": {len(rows)}, "claims": [{claims_json}]}}')
        return
    out.print(_summary_table(rows))
    if offset or len(rows) < total:
        more = "" if offset + len(rows) >= total else " — use --limit N, --offset N or --all for more"
        out.print(f"{len(rows):,} of {total:,} claims shown{more}", markup=False)


@claims_app.command("show")
def claims_show(claim_id: str, as_json: JsonOption = False) -> None:
    """One claim: its lines, current status, what to do about its denial and by when, and its timeline."""
    from claims.codesets import CodeSets
    from claims.deadlines import claim_deadlines, current_check
    from claims.ledger import ClaimNotFoundError
    from claims.models import utc_now
    from claims.timeline import EntryKind, build_timeline

    settings = Settings()
    ledger = open_ledger(settings)
    try:
        summary = ledger.summary(claim_id)
        claim = ledger.get_claim(claim_id)
        history = ledger.history(claim_id)
        timeline = build_timeline(
            history, ledger.payments(claim_id), ledger.actions_for(claim_id), ledger.submissions(claim_id)
        )
    except ClaimNotFoundError as error:
        fail(Exit.NOT_FOUND, str(error))
    codes = CodeSets(settings.codesets_dir)
    today = utc_now().date()
    playbook, rules = _denial_playbook_and_rules(settings, codes)
    answer = current_check(history)
    recommendation = None
    if (
        playbook is not None
        and answer is not None
        and summary.status in (ClaimStatus.DENIED, ClaimStatus.PARTIALLY_PAID)
    ):
        recommendation = playbook.recommend_claim(answer.denials, summary.payer_id)
    deadlines = claim_deadlines(ledger, claim_id, today, rules, recommendation=recommendation)
    upcoming = deadlines.next(today)
    if as_json:
        print_json(
            {
                "summary": summary.model_dump(mode="json"),
                "lines": [line.model_dump(mode="json") for line in claim.lines],
                "diagnosis_codes": list(claim.diagnosis_codes),
                "rendering_npi": claim.rendering_npi,
                "history": [check.model_dump(mode="json") for check in history],
                "recommendation": recommendation.model_dump(mode="json") if recommendation else None,
                "deadlines": {
                    **deadlines.model_dump(mode="json"),
                    "next": upcoming.model_dump(mode="json") if upcoming else None,
                },
                "timeline": [entry.model_dump(mode="json") for entry in timeline],
            }
        )
        return
    out.print(_summary_table([summary]))
    lines = make_table(
        ("line", Col.KEY),
        ("procedure", Col.KEY),
        ("modifiers", Col.KEY),
        ("units", Col.AMOUNT),
        ("charge", Col.AMOUNT),
        ("service dates", Col.KEY),
        ("dx pointers", Col.KEY),
    )
    out.print(
        add_rows(
            lines,
            (
                [
                    str(line.line_number),
                    line.procedure_code,
                    " ".join(line.modifiers),
                    str(line.units),
                    f"{line.charge:,.2f}",
                    f"{line.service_date_from} – {line.service_date_to}",
                    ",".join(str(p) for p in line.diagnosis_pointers),
                ]
                for line in claim.lines
            ),
        )
    )
    out.print(f"diagnoses: {', '.join(claim.diagnosis_codes)}   rendering NPI: {claim.rendering_npi}", markup=False)
    if recommendation is not None:
        fixable = "a corrected claim can fix it" if recommendation.correctable else "not fixed by a corrected claim"
        out.print(
            f"next step: {recommendation.next_step} ({' '.join(recommendation.codes)}: {recommendation.official_text}; "
            f"{recommendation.category.value}, {fixable}; rule {recommendation.rule})",
            markup=False,
        )
        if recommendation.escalate:
            out.print(f"escalate: {recommendation.escalation_reason}", markup=False)
    if deadlines.deadlines:
        windows = "; ".join(
            f"{d.kind.value} {d.due} ({_days_left(d.days_left(today))}: {d.basis})" for d in deadlines.deadlines
        )
        coming = f"next {upcoming.kind.value} {upcoming.due}" if upcoming else "every deadline has passed"
        out.print(f"deadlines: {coming} — {windows}; at risk {deadlines.amount_at_risk:,.2f}", markup=False)
    if not history:
        out.print("no status answers recorded yet", markup=False)
    if not timeline:
        return
    table = make_table(
        ("at", Col.KEY),
        ("source", Col.KEY),
        ("what", Col.TEXT),
        ("evidence", Col.TEXT),
        ("sources disagree", Col.TEXT),
    )
    rows = [
        [
            entry.at.strftime("%Y-%m-%d %H:%M"),
            f"{entry.kind.value} {entry.source}" if entry.kind is not EntryKind.STATUS else entry.source,
            "\n".join(
                [
                    entry.summary,
                    *(_denial_with_remarks(codes, d) for d in entry.denials),
                    *(f"claim remark [{codes.remark_text(rarc)}]" for rarc in entry.remarks),
                ]
            ),
            entry.evidence or "",
            "; ".join(entry.disagreements),
        ]
        for entry in timeline
    ]
    out.print(add_rows(table, rows))
    disputed = sum(1 for entry in timeline if entry.disagreements)
    if disputed:
        out.print(f"{disputed} entries disagree with another source: check the evidence of both", markup=False)


def _days_left(days: int) -> str:
    return f"{days} days left" if days >= 0 else f"passed {-days} days ago"


def _denial_playbook_and_rules(
    settings: Settings, codes: CodeSets
) -> tuple[DenialPlaybook | None, DeadlineRules | None]:
    """The denial playbook and the payers' deadlines; a broken file is said on stderr, the claim still shown."""
    from claims.denials import DENIALS_FILE, DenialPlaybookError, load_denial_playbook
    from claims.payer_config import PayerConfigError, load_payer_config

    playbook = rules = None
    try:
        playbook = load_denial_playbook(settings.playbooks_dir / DENIALS_FILE, codes)
    except DenialPlaybookError as error:
        err.print(f"note: no next step shown: {error}", markup=False)
    try:
        rules = load_payer_config(settings.payers_file).deadline_rules()
    except PayerConfigError as error:
        err.print(f"note: deadlines from the shipped windows: {error}", markup=False)
    return playbook, rules


def _denial_with_remarks(codes: CodeSets, denial: Denial) -> str:
    remarks = "".join(f" [{codes.remark_text(rarc)}]" for rarc in denial.rarcs)
    amount = f" {denial.amount:,.2f}" if denial.amount is not None else ""
    return f"{codes.denial_text(denial.group.value, denial.carc)}{amount}{remarks}"


@codes_app.command("show")
def codes_show(
    kind: CodeKind,
    code: Annotated[str | None, typer.Argument(help="e.g. 45, CO-45 (group and CARC), N290, F2:88.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Describe one code (CO-45 explains the group and the CARC), or list a whole code set."""
    from claims.codesets import CodeSets

    codes = CodeSets(Settings().codesets_dir)
    rows = codes.explain(kind, code) if code else codes.all(kind)
    if not rows:
        fail(Exit.NOT_FOUND, f"{kind.value} code {code} is not known")
    if as_json:
        write_json_text(json.dumps([c.model_dump(mode="json") for c in rows], indent=2))
        return
    table = make_table(("kind", Col.KEY), ("code", Col.KEY), ("description", Col.TEXT), ("normalized status", Col.KEY))
    out.print(
        add_rows(
            table,
            (
                [c.kind.value, c.code, c.description, c.normalized_status.value if c.normalized_status else ""]
                for c in rows
            ),
        )
    )


@codes_app.command("import")
def codes_import(kind: CodeKind, path: Path) -> None:
    """Load an official code list you hold a licence for (CSV: code,description); it overrides ours."""
    from claims.codesets import CodeSetError, read_official_list

    try:
        codes = read_official_list(path)
    except CodeSetError as error:
        fail(Exit.BAD_INPUT, str(error))
    target = Settings().codesets_dir
    target.mkdir(parents=True, exist_ok=True)
    staged = target / f".{kind.value}.csv.tmp"
    staged.write_text(path.read_text("utf-8-sig"), "utf-8")
    staged.replace(target / f"{kind.value}.csv")
    out.print(f"{len(codes)} {kind.value} codes loaded", markup=False)
