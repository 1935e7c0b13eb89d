"""`claimbot edi ...`: import X12 files into the ledger, show what a file holds, list unmatched answers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from pydantic import TypeAdapter
from rich.table import Table

from claimbot.console import Exit, JsonOption, fail, out, print_json, write_json_text
from claimbot.settings import Settings
from claims.edi_intake import import_edi
from claims.ledger import Ledger
from edi import X12SyntaxError, describe, read_x12_file, render_lines

edi_app = typer.Typer(help="X12 files: 835 remittances, 277/277CA, 271, 999.", no_args_is_help=True)


def register(app: typer.Typer, open_ledger: Callable[[Settings], Ledger]) -> None:
    app.add_typer(edi_app, name="edi")

    @edi_app.command("import")
    def edi_import(
        paths: Annotated[list[Path], typer.Argument(help="Files or folders of X12 files.")],
        as_json: JsonOption = False,
    ) -> None:
        """Record what the files say against their claims; answers for unknown claims wait as unmatched."""
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            fail(Exit.BAD_INPUT, f"no such file or folder: {', '.join(missing)}")
        ledger = open_ledger(Settings())
        summary = import_edi(ledger, paths)
        if as_json:
            print_json(summary)
        else:
            out.print(
                f"{summary.files} file(s) ({summary.files_already_imported} already imported), "
                f"{summary.transactions} transaction set(s) ({summary.transactions_rejected} rejected): "
                f"{summary.status_checks} status answers for {summary.claims_matched} claims, "
                f"{summary.denials} denials, {summary.payments} payments, {summary.unmatched} unmatched, "
                f"acknowledgments {summary.acknowledgments_accepted} accepted / "
                f"{summary.acknowledgments_rejected} rejected",
                markup=False,
            )
            for finding in summary.findings:
                out.print(f"{finding.severity}: {finding.location}: {finding.message}", markup=False)
        if summary.findings and not (summary.status_checks or summary.payments or summary.unmatched):
            raise typer.Exit(Exit.BAD_INPUT)

    @edi_app.command("show")
    def edi_show(path: Path, as_json: JsonOption = False) -> None:
        """What a file holds (claims, amounts, adjustments, findings), without touching the ledger."""
        try:
            document = read_x12_file(path)
        except OSError as error:
            fail(Exit.BAD_INPUT, f"{path}: cannot read ({error.strerror})")
        except X12SyntaxError as error:
            fail(Exit.BAD_INPUT, str(error))
        summary = describe(document)
        if as_json:
            print_json(summary)
        else:
            for line in render_lines(summary):
                out.print(line, markup=False)

    @edi_app.command("unmatched")
    def edi_unmatched(
        include_matched: Annotated[bool, typer.Option(help="Also list answers matched since.")] = False,
        as_json: JsonOption = False,
    ) -> None:
        """Answers from EDI files whose claim is not (yet) in the ledger."""
        ledger = open_ledger(Settings())
        items = ledger.unmatched(include_matched=include_matched)
        if as_json:
            shown = [i.model_dump(mode="json", exclude={"payload"}) for i in items]
            write_json_text(TypeAdapter(list[dict[str, object]]).dump_json(shown, indent=2).decode())
            return
        table = Table("claim ref", "kind", "payer claim #", "from", "received", "matched")
        for item in items:
            table.add_row(
                item.claim_ref,
                item.kind.value,
                item.payer_claim_number or "",
                item.source,
                item.received_at.strftime("%Y-%m-%d %H:%M"),
                item.matched_at.strftime("%Y-%m-%d") if item.matched_at else "",
            )
        out.print(table)
