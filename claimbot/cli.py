"""The `claimbot` command line. Thin: each command parses options, calls the domain, renders.

Exit codes scripts can rely on are in claimbot.console.Exit (and the README).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import TypeAdapter
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
from rich.table import Table

from claimbot import credentials_commands, edi_commands, evidence_commands, payer_commands, portal_commands
from claimbot.console import Exit, JsonOption, err, fail, out, print_json, write_json_text
from claimbot.demo import run_demo
from claimbot.logs import configure_logging, get_logger
from claimbot.settings import Settings
from claims.codesets import CodeKind, CodeSetError, CodeSets, read_official_list
from claims.importing import ClaimImportError, ColumnMapping, MappingError, import_claims_csv
from claims.ledger import ClaimNotFoundError, ClaimSummary, Ledger, is_current, upgrade
from claims.payer_config import PayerConfigError, load_payers
from claims.status import ClaimStatus
from sandbox import cli as sandbox_cli

app = typer.Typer(help="Claimbot: claim status, denials and resubmissions for billing teams.", no_args_is_help=True)
db_app = typer.Typer(help="The claims ledger.", no_args_is_help=True)
claims_app = typer.Typer(help="Claims in the ledger.", no_args_is_help=True)
codes_app = typer.Typer(help="Code sets: claim status categories and codes, CARC, RARC.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(claims_app, name="claims")
app.add_typer(codes_app, name="codes")

log = get_logger("claimbot.cli")


@app.callback()
def main() -> None:
    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)


def _ledger(settings: Settings) -> Ledger:
    """Open the ledger, refusing one whose schema is behind this code (the fix is one command)."""
    url = settings.ledger_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        fail(Exit.LEDGER, f"no ledger in {settings.data_dir} yet: run `claimbot db upgrade`")
    ledger = Ledger.connect(url)
    try:
        current = is_current(ledger.engine)
    except Exception as error:
        fail(Exit.LEDGER, f"cannot open the ledger ({error.__class__.__name__}); check CLAIMBOT_DATABASE_URL")
    if not current:
        fail(Exit.LEDGER, "the ledger is not up to date: run `claimbot db upgrade`")
    return ledger


def prepare_ledger(settings: Settings) -> Ledger:
    """Migrate the ledger and load the team's payer list into it."""
    try:
        payer_list = load_payers(settings.payers_file)
    except PayerConfigError as error:
        fail(Exit.LEDGER, str(error))
    upgrade(settings.ledger_url)
    ledger = Ledger.connect(settings.ledger_url)
    ledger.sync_payers(payer_list)
    return ledger


portal_commands.register(app, _ledger)
edi_commands.register(app, _ledger)
payer_commands.register(app, _ledger)
credentials_commands.register(app)
evidence_commands.register(app)
app.add_typer(sandbox_cli.app, name="sandbox", help="Local sandbox payer portals and clearinghouse.")


@app.command("demo")
def demo(
    portals: Annotated[bool, typer.Option(help="Also check claims on the local sandbox portals.")] = True,
) -> None:
    """The main job on embedded defaults: the synthetic practice imported, its claims checked by the bots."""
    settings = Settings()
    run_demo(settings, prepare_ledger(settings), out, portals=portals)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the ledger and load config/payers.yaml into it."""
    settings = Settings()
    ledger = prepare_ledger(settings)
    log.info("ledger upgraded", payers=len(ledger.payers()))
    out.print(f"ledger ready: {ledger.engine.url.render_as_string(hide_password=True)}", markup=False)


def run_import(ledger: Ledger, path: Path, mapping: ColumnMapping | None, as_json: bool) -> None:
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
    try:
        column_mapping = ColumnMapping.load(mapping) if mapping else None
    except MappingError as error:
        fail(Exit.BAD_INPUT, str(error))
    ledger = _ledger(Settings())
    try:
        run_import(ledger, path, column_mapping, as_json)
    except ClaimImportError as error:
        if as_json:
            print_json({"imported": False, "problems": [i.model_dump() for i in error.issues]})
        fail(Exit.BAD_INPUT, str(error))
    log.info("claims imported", file=path.name)


def _summary_table(rows: list[ClaimSummary]) -> Table:
    table = Table("claim", "payer", "patient", "service", "billed", "status", "paid", "checked")
    for row in rows:
        table.add_row(
            row.claim_id,
            row.payer_id,
            row.patient_initials,
            row.service_date_from.isoformat(),
            f"{row.billed_amount:,.2f}",
            row.status.value,
            "" if row.paid_amount is None else f"{row.paid_amount:,.2f}",
            row.status_checked_at.strftime("%Y-%m-%d %H:%M") if row.status_checked_at else "",
        )
    return table


@claims_app.command("list")
def claims_list(
    status: Annotated[ClaimStatus | None, typer.Option(help="Only claims whose current status is this.")] = None,
    payer: Annotated[str | None, typer.Option(help="Only this payer's claims (payer id).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many claims.")] = 100,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: JsonOption = False,
) -> None:
    """List claims with their current status (derived from their status history)."""
    rows = _ledger(Settings()).list_claims(
        status=status, payer_id=payer.upper() if payer else None, limit=limit, offset=offset
    )
    if as_json:
        write_json_text(TypeAdapter(list[ClaimSummary]).dump_json(rows, indent=2).decode())
    else:
        out.print(_summary_table(rows))


@claims_app.command("show")
def claims_show(claim_id: str, as_json: JsonOption = False) -> None:
    """One claim: its lines, current status and every status answer recorded for it."""
    settings = Settings()
    ledger = _ledger(settings)
    try:
        summary = ledger.summary(claim_id)
        claim = ledger.get_claim(claim_id)
        history = ledger.history(claim_id)
    except ClaimNotFoundError as error:
        fail(Exit.NOT_FOUND, str(error))
    codes = CodeSets(settings.codesets_dir)
    if as_json:
        print_json(
            {
                "summary": summary.model_dump(mode="json"),
                "lines": [line.model_dump(mode="json") for line in claim.lines],
                "diagnosis_codes": list(claim.diagnosis_codes),
                "rendering_npi": claim.rendering_npi,
                "history": [check.model_dump(mode="json") for check in history],
            }
        )
        return
    out.print(_summary_table([summary]))
    lines = Table("line", "procedure", "modifiers", "units", "charge", "service dates", "dx pointers")
    for line in claim.lines:
        lines.add_row(
            str(line.line_number),
            line.procedure_code,
            " ".join(line.modifiers),
            str(line.units),
            f"{line.charge:,.2f}",
            f"{line.service_date_from} – {line.service_date_to}",
            ",".join(str(p) for p in line.diagnosis_pointers),
        )
    out.print(lines)
    out.print(f"diagnoses: {', '.join(claim.diagnosis_codes)}   rendering NPI: {claim.rendering_npi}", markup=False)
    if not history:
        out.print("no status answers recorded yet", markup=False)
        return
    table = Table("checked", "source", "status", "payer code", "paid", "denials", "evidence")
    for check in history:
        table.add_row(
            check.checked_at.strftime("%Y-%m-%d %H:%M"),
            check.source.value,
            check.status.value,
            ":".join(c for c in (check.category_code, check.status_code) if c),
            "" if check.paid_amount is None else f"{check.paid_amount:,.2f}",
            "; ".join(codes.denial_text(d.group.value, d.carc) for d in check.denials),
            check.evidence_ref or "",
        )
    out.print(table)


@codes_app.command("show")
def codes_show(
    kind: CodeKind, code: Annotated[str | None, typer.Argument()] = None, as_json: JsonOption = False
) -> None:
    """Describe one code, or list a whole code set."""
    codes = CodeSets(Settings().codesets_dir)
    found = [codes.describe(kind, code)] if code else codes.all(kind)
    if found == [None]:
        fail(Exit.NOT_FOUND, f"{kind.value} code {code} is not known")
    rows = [c for c in found if c is not None]
    if as_json:
        write_json_text(json.dumps([c.model_dump(mode="json") for c in rows], indent=2))
        return
    table = Table("code", "description", "normalized status")
    for c in rows:
        table.add_row(c.code, c.description, c.normalized_status.value if c.normalized_status else "")
    out.print(table)


@codes_app.command("import")
def codes_import(kind: CodeKind, path: Path) -> None:
    """Load an official code list you hold a licence for (CSV: code,description); it overrides ours."""
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
