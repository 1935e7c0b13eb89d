"""`claimbot edi ...`: import X12 files into the ledger, show what a file holds, list unmatched answers.

Exit codes: 0 when nothing was refused (warnings only flag what was read), 3 (bad input) when a
finding is an error (a refused claim or set, an unreadable file) or, with ``--strict``, a warning.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from claimbot.console import Exit, JsonOption, fail, out, print_json, write_json_text
from claimbot.settings import Settings
from claimbot.tables import Col, add_rows, make_table

if TYPE_CHECKING:  # the X12 layer, the intake and the ledger are imported by the commands that use them
    from claims.edi_intake import EdiImportSummary
    from claims.ledger import Ledger, UnmatchedItem
    from edi import DocumentSummary, X12Document

edi_app = typer.Typer(help="X12 files: 835 remittances, 277/277CA, 837P, 271, 999.", no_args_is_help=True)

MAX_FINDINGS_SHOWN = 50  # as the CSV import: a file with a bad habit would otherwise bury the counts
StrictOption = Annotated[
    bool, typer.Option("--strict", help="Exit 3 on warnings too (envelope counts, unknown codes, ...).")
]


def register(app: typer.Typer, open_ledger: Callable[[Settings], Ledger]) -> None:
    app.add_typer(edi_app, name="edi")

    @edi_app.command("import")
    def edi_import(
        paths: Annotated[list[Path], typer.Argument(help="Files or folders of X12 files.")],
        force: Annotated[
            bool, typer.Option("--force", help="Read files imported before again (nothing is recorded twice).")
        ] = False,
        strict: StrictOption = False,
        as_json: JsonOption = False,
    ) -> None:
        """Record what the files say against their claims; answers for unknown claims wait as unmatched,
        claims refused over an error wait as rejected. Exit 3 when a finding is an error."""
        from claims.codesets import CodeSets
        from claims.edi_intake import import_edi

        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            fail(Exit.BAD_INPUT, f"no such file or folder: {', '.join(missing)}")
        settings = Settings()
        ledger = open_ledger(settings)
        summary = import_edi(ledger, paths, force=force, codes=CodeSets(settings.codesets_dir))
        if as_json:
            print_json(summary)
        else:
            for line in _import_lines(summary):
                out.print(line, markup=False)
        if summary.errors or (strict and summary.warnings):
            raise typer.Exit(Exit.BAD_INPUT)

    @edi_app.command("show")
    def edi_show(path: Path, strict: StrictOption = False, as_json: JsonOption = False) -> None:
        """What a file holds (claims, amounts, adjustments, findings), without touching the ledger.
        Exit 3 when a finding is an error (with --strict: any warning too)."""
        from claims.codesets import CodeSets
        from claims.edi_intake import check_claims
        from edi import X12SyntaxError, describe, read_x12_file, render_lines

        try:
            document = read_x12_file(path)
        except OSError as error:
            fail(Exit.BAD_INPUT, f"{path}: cannot read ({error.strerror})")
        except X12SyntaxError as error:
            fail(Exit.BAD_INPUT, str(error))
        check_claims(document, CodeSets(Settings().codesets_dir))
        summary = describe(document)
        _mask_payer_text(document, summary)
        if as_json:
            print_json(summary)
        else:
            for line in render_lines(summary):
                out.print(line, markup=False)
        if summary.error_count or (strict and summary.warning_count):
            raise typer.Exit(Exit.BAD_INPUT)

    @edi_app.command("unmatched")
    def edi_unmatched(
        include_matched: Annotated[bool, typer.Option(help="Also list answers matched since.")] = False,
        as_json: JsonOption = False,
    ) -> None:
        """Answers from EDI files whose claim is not (yet) in the ledger, and claims refused over an
        error ('rejected', with the findings that refused them)."""
        from pydantic import TypeAdapter

        from claims.ledger import UnmatchedKind

        ledger = open_ledger(Settings())
        items = ledger.unmatched(include_matched=include_matched)
        if as_json:
            shown = [
                i.model_dump(mode="json", exclude={"payload"})
                | ({"findings": i.payload.get("findings", [])} if i.kind is UnmatchedKind.REJECTED else {})
                for i in items
            ]
            write_json_text(TypeAdapter(list[dict[str, object]]).dump_json(shown, indent=2).decode())
            return
        table = make_table(
            ("claim ref", Col.KEY),
            ("kind", Col.KEY),
            ("payer claim #", Col.KEY),
            ("from", Col.TEXT),
            ("received", Col.KEY),
            ("matched", Col.KEY),
            ("why", Col.TEXT),
        )
        rows = [
            [
                item.claim_ref,
                item.kind.value,
                item.payer_claim_number or "",
                item.source,
                item.received_at.strftime("%Y-%m-%d %H:%M"),
                item.matched_at.strftime("%Y-%m-%d") if item.matched_at else "",
                _why(item),
            ]
            for item in items
        ]
        out.print(add_rows(table, rows))


def _why(item: UnmatchedItem) -> str:
    """What refused a rejected claim: its first finding, located (finding texts hold no PHI)."""
    from claims.ledger import UnmatchedKind

    findings = item.payload.get("findings") if item.kind is UnmatchedKind.REJECTED else None
    if not isinstance(findings, list) or not findings or not isinstance(findings[0], dict):
        return ""
    first = findings[0]
    more = f" (+{len(findings) - 1})" if len(findings) > 1 else ""
    return f"{first.get('location', '')}: {first.get('message', '')}{more}"


def _import_lines(summary: EdiImportSummary) -> list[str]:
    """The findings, one line each, then each file's counts and the totals: read = recorded +
    unmatched + rejected + duplicate."""
    from edi import Severity

    errors_first = sorted(summary.findings, key=lambda finding: finding.severity is not Severity.ERROR)
    lines = [
        f"{finding.severity.value}: {finding.location}: {finding.message}"
        + (f" (set {finding.transaction_control_number})" if finding.transaction_control_number else "")
        for finding in errors_first[:MAX_FINDINGS_SHOWN]
    ]
    if len(errors_first) > MAX_FINDINGS_SHOWN:
        lines.append(f"... and {len(errors_first) - MAX_FINDINGS_SHOWN} more finding(s) (--json lists them all)")
    for result in summary.file_results:
        counts = result.claims
        if result.outcome in ("already imported", "unreadable"):
            hint = " (use --force to read it again)" if result.outcome == "already imported" else ""
            lines.append(f"{result.file}: {result.outcome}{hint}")
            continue
        lines.append(
            f"{result.file}: {result.outcome}: {counts.read} claim(s) read, {counts.recorded} recorded, "
            f"{counts.unmatched} unmatched, {counts.rejected} rejected, {counts.duplicate} already recorded; "
            f"{result.errors} error(s), {result.warnings} warning(s)"
        )
    total = summary.claims
    lines.append(
        f"{summary.files} file(s) ({summary.files_already_imported} already imported, {summary.files_refused} "
        f"with errors), {summary.transactions} transaction set(s) ({summary.transactions_rejected} rejected): "
        f"claims {total.read} read = {total.recorded} recorded + {total.unmatched} unmatched + "
        f"{total.rejected} rejected + {total.duplicate} already recorded; {summary.status_checks} status "
        f"answers, {summary.denials} denials, {summary.payments} payments; acknowledgments "
        f"{summary.acknowledgments_accepted} accepted / {summary.acknowledgments_rejected} rejected; "
        f"{summary.errors} error(s), {summary.warnings} warning(s)"
    )
    return lines


def _mask_payer_text(document: X12Document, summary: DocumentSummary) -> None:
    """Payer free text (277 STC12, 271 MSG) may quote a patient: each claim's words are masked with
    the people that claim names (NM1*QC / NM1*IL), the set's own statuses with everyone in it."""
    from claims.edi_intake import people_as_patients
    from claims.phi import PhiScrubber
    from edi import ClaimStatusResponse, EligibilityResponse

    for transaction, shown in zip(document.transactions, summary.transactions, strict=True):
        if isinstance(transaction, ClaimStatusResponse):
            everyone = []
            for claim, claim_shown in zip(transaction.claims, shown.claims, strict=True):
                people = people_as_patients(claim.patient, claim.subscriber)
                everyone.extend(people)
                scrubber = PhiScrubber(people)
                for status in [
                    *claim_shown.statuses,
                    *(s for line in claim_shown.service_lines for s in line.statuses),
                ]:
                    status.message = scrubber.scrub(status.message)
            set_scrubber = PhiScrubber(everyone)
            for level in shown.reporting_statuses:
                for status in level.statuses:
                    status.message = set_scrubber.scrub(status.message)
        elif isinstance(transaction, EligibilityResponse):
            for result, person_shown in zip(transaction.results, shown.eligibility, strict=True):
                scrubber = PhiScrubber(people_as_patients(result.person))
                person_shown.messages = [scrubber.scrub(message) for message in person_shown.messages]
