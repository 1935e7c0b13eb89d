"""Commands that talk to payers: live claim checks, eligibility, and the playbook tools."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from claimbot import eligibility_sweep_commands as elig_sweep
from claimbot.console import Exit, JsonOption, err, fail, out, print_json
from claimbot.settings import Settings
from claimbot.tables import Col, add_rows, make_table

# Browsers, HTTP clients and the ledger are imported where a command uses them, so `claimbot --help`
# and the ledger-only commands start in well under a second (bench/startup_bench.py).
if TYPE_CHECKING:
    from rich.table import Table

    from claims.ledger import Ledger
    from portal_adapters.contract import ClaimCheckFailed, ClaimStatusResult, PayerAdapter
    from portal_adapters.engine import PlaybookPortalAdapter
    from portal_adapters.errors import AdapterError

playbook_app = typer.Typer(help="Portal playbooks: validate them, try them on a claim.", no_args_is_help=True)
eligibility_app = typer.Typer(help="Eligibility and benefits.", no_args_is_help=True)


class Via(StrEnum):
    PORTAL = "portal"
    API = "api"


ViaOption = Annotated[Via | None, typer.Option(help="Portal or clearinghouse API; default: the payer's route.")]


def _portal(settings: Settings, payer_id: str, headless: bool = True) -> PlaybookPortalAdapter:
    from portal_adapters.credentials import CredentialsError
    from portal_adapters.errors import AdapterError
    from portal_adapters.factory import portal_adapter
    from portal_adapters.playbook import PlaybookError

    try:
        return portal_adapter(
            payer_id, settings.data_dir, settings.playbooks_dir, settings.evidence_retention_days, headless=headless
        )
    except (PlaybookError, CredentialsError, AdapterError) as error:
        fail(Exit.PAYER, str(error))


def _adapter(settings: Settings, payer_id: str, via: Via | None) -> PayerAdapter:
    """The route asked for, else the payer's route from config/payers.yaml."""
    from claims.payer_config import PayerConfigError, PayerRoute, load_payer_entries
    from portal_adapters.credentials import CredentialsError
    from portal_adapters.errors import AdapterError
    from portal_adapters.factory import route_adapter
    from portal_adapters.playbook import PlaybookError

    try:
        entry = next((p for p in load_payer_entries(settings.payers_file) if p.id == payer_id), None)
    except PayerConfigError as error:
        fail(Exit.LEDGER, str(error))
    if entry is None:
        fail(Exit.NOT_FOUND, f"payer {payer_id} is not in {settings.payers_file}")
    try:
        return route_adapter(
            payer_id,
            PayerRoute(via.value) if via else entry.route,
            entry.clearinghouse_payer_id,
            settings.data_dir,
            settings.playbooks_dir,
            settings.evidence_retention_days,
        )
    except (PlaybookError, CredentialsError, AdapterError) as error:
        fail(Exit.PAYER, str(error))


def _result_table(results: list[ClaimStatusResult | ClaimCheckFailed]) -> Table:
    from claims.codesets import CodeSets
    from portal_adapters.contract import ClaimCheckFailed

    codes = CodeSets()
    table = make_table(
        ("claim", Col.KEY),
        ("status", Col.KEY),
        ("payer says", Col.TEXT),
        ("paid", Col.AMOUNT),
        ("denials", Col.TEXT),
        ("took", Col.AMOUNT),
        ("evidence", Col.TEXT),
    )
    rows = []
    for result in results:
        if isinstance(result, ClaimCheckFailed):
            rows.append(
                [result.claim_id, f"failed: {result.kind.value}", result.message, "", "", "", result.evidence_ref or ""]
            )
            continue
        rows.append(
            [
                result.claim_id,
                result.status.value,
                " ".join(p for p in (result.category_code, result.payer_status_text) if p),
                "" if result.paid_amount is None else f"{result.paid_amount:,.2f}",
                "; ".join(codes.denial_text(d.group.value, d.carc) for d in result.denials),
                f"{result.elapsed_ms} ms",
                result.evidence_ref or "",
            ]
        )
    return add_rows(table, rows)


def _run_lease() -> timedelta:
    """How long a bot run may go without a heartbeat before the next start takes it for dead."""
    return timedelta(seconds=Settings().run_lease_s)


def _stopped_text(error: AdapterError) -> str:
    from portal_adapters.errors import Reason

    text = str(error)
    if error.evidence_ref:
        text += f" (evidence {error.evidence_ref})"
    if error.reason is Reason.PAYER_SUSPENDED:
        text += f": check the account, then run `claimbot payers resume {error.payer_id}`"
    return text


def register(app: typer.Typer, open_ledger: Callable[[Settings], Ledger]) -> None:
    """Add these commands to the main app; `open_ledger(settings)` is the CLI's checked ledger opener."""

    @app.command("check")
    def check(
        claim_ids: Annotated[
            list[str], typer.Argument(help="One or more claim ids; several payers are asked in turn.")
        ],
        via: Annotated[
            Via | None, typer.Option(help="Portal or clearinghouse API; default: the payer's route.")
        ] = None,
        as_json: JsonOption = False,
    ) -> None:
        """Check claims with their payers now and record each answer in the claim's history as it comes."""
        from bots.live import live_check
        from claims.ledger import ClaimNotFoundError
        from portal_adapters.errors import AdapterError
        from portal_adapters.retry import RetryPolicy

        settings = Settings()
        lease = _run_lease()
        ledger = open_ledger(settings)
        by_payer: dict[str, list[str]] = {}
        try:
            for claim_id in dict.fromkeys(claim_ids):
                by_payer.setdefault(ledger.get_claim(claim_id).payer_id, []).append(claim_id)
        except ClaimNotFoundError as error:
            fail(Exit.NOT_FOUND, str(error))
        adapters = {payer_id: _adapter(settings, payer_id, via) for payer_id in by_payer}

        async def run() -> tuple[list[ClaimStatusResult | ClaimCheckFailed], list[str]]:
            results: list[ClaimStatusResult | ClaimCheckFailed] = []
            stopped: list[str] = []
            for payer_id, adapter in adapters.items():
                try:
                    results += await live_check(
                        ledger, adapter, by_payer[payer_id], RetryPolicy(max_attempts=3, base_delay_s=1.0), lease=lease
                    )
                except AdapterError as error:
                    stopped.append(_stopped_text(error))
                finally:
                    await adapter.close()
            return results, stopped

        results, stopped = asyncio.run(run())
        if as_json:
            print_json([r.model_dump(mode="json") for r in results])
        elif results:
            out.print(_result_table(list(results)))
        for message in stopped[:-1]:
            err.print(f"error: {message}", markup=False)
        if stopped:
            fail(Exit.PAYER, stopped[-1])

    @eligibility_app.command("check")
    def eligibility_check(
        payer: Annotated[str, typer.Option(help="Payer id.")],
        member: Annotated[str, typer.Option(help="Member id (PHI: not logged).")],
        dob: Annotated[str, typer.Option(help="Date of birth, YYYY-MM-DD (PHI: not logged).")],
        on: Annotated[str | None, typer.Option("--date", help="Date of service, YYYY-MM-DD; default today.")] = None,
        last_name: Annotated[str | None, typer.Option(help="Needed when the ledger does not know the member.")] = None,
        via: Annotated[
            Via | None, typer.Option(help="Portal or clearinghouse API; default: the payer's route.")
        ] = None,
        first_name: Annotated[str | None, typer.Option()] = None,
        as_json: JsonOption = False,
    ) -> None:
        """Check a member's coverage and benefits with the payer now, and record the answer."""
        from bots.live import live_eligibility
        from claims.models import Patient
        from portal_adapters.contract import EligibilityQuery, EligibilityResult
        from portal_adapters.errors import AdapterError

        settings = Settings()
        ledger = open_ledger(settings)
        try:
            birth = date.fromisoformat(dob)
            service_date = date.fromisoformat(on) if on else date.today()
        except ValueError:
            fail(Exit.BAD_INPUT, "--dob and --date take dates as YYYY-MM-DD")
        payer_id = payer.upper()
        patient = ledger.find_patient(payer_id, member, birth)
        if patient is None:
            if not (last_name and first_name):
                fail(Exit.NOT_FOUND, "the ledger does not know this member: give --last-name and --first-name")
            patient = Patient(last_name=last_name, first_name=first_name, date_of_birth=birth, member_id=member)
        query = EligibilityQuery(payer_id=payer_id, patient=patient, service_date=service_date)
        adapter = _adapter(settings, payer_id, via)

        async def run() -> EligibilityResult:
            try:
                return await live_eligibility(ledger, adapter, query)
            finally:
                await adapter.close()

        try:
            result = asyncio.run(run())
        except AdapterError as error:
            fail(Exit.PAYER, _stopped_text(error))
        if as_json:
            print_json(result)
            return
        out.print(
            f"{payer_id} member {patient.initials}: {'ACTIVE' if result.active else 'NOT ACTIVE'}"
            f"{' — ' + result.plan_name if result.plan_name else ''}"
            if result.found
            else f"{payer_id}: member not found",
            markup=False,
        )
        table = make_table(
            ("benefit", Col.KEY),
            ("service", Col.TEXT),
            ("amount", Col.AMOUNT),
            ("percent", Col.AMOUNT),
            ("remaining", Col.AMOUNT),
            ("network", Col.KEY),
        )
        rows = [
            [
                b.kind,
                b.service_type or "",
                "" if b.amount is None else f"{b.amount:,.2f}",
                "" if b.percent is None else f"{b.percent}%",
                "" if b.remaining is None else f"{b.remaining:,.2f}",
                "" if b.in_network is None else ("in" if b.in_network else "out"),
            ]
            for b in result.benefits
        ]
        out.print(add_rows(table, rows))

    @eligibility_app.command("sweep")
    def eligibility_sweep(
        appointments: elig_sweep.AppointmentsOption = None,
        days: elig_sweep.DaysOption = None,
        dry_run: elig_sweep.DryRunOption = False,
        as_json: JsonOption = False,
    ) -> None:
        """Coverage before the coming visits, recorded once per appointment; counts that add up."""
        elig_sweep.sweep(open_ledger, appointments, days, dry_run, as_json)

    app.add_typer(eligibility_app, name="eligibility")
    app.add_typer(playbook_app, name="playbook")

    @playbook_app.command("validate")
    def playbook_validate(
        path: Annotated[Path | None, typer.Argument(help="A playbooks folder or one playbook.yaml.")] = None,
    ) -> None:
        """Check the portal playbooks and the denial playbook; exit 3 if any is broken (CI runs this)."""
        from claims.denials import DENIALS_FILE, DenialPlaybookError, load_denial_playbook
        from portal_adapters.playbook import PlaybookError, load_playbook
        from portal_adapters.playbook.loader import PLAYBOOK_FILE, validate_all

        target = path or Settings().playbooks_dir
        denials = target if target.name == DENIALS_FILE else target / DENIALS_FILE
        playbooks, problems = [], []
        if target.is_file() and target != denials:
            try:
                playbooks = [load_playbook(target)]
            except PlaybookError as error:
                problems = [str(error)]
        elif target.is_dir():
            playbooks, problems = validate_all(target)
        for playbook in playbooks:
            out.print(f"ok  {playbook.payer_id}: {playbook.name}", markup=False)
        if denials.is_file():
            try:
                rules = len(load_denial_playbook(denials).rules)
                out.print(f"ok  {DENIALS_FILE}: {rules} denial rules", markup=False)
                if not playbooks and target == denials:
                    return
            except DenialPlaybookError as error:
                problems.append(str(error))
        for problem in problems:
            out.print(f"BAD {problem}", markup=False)
        if problems:
            raise typer.Exit(Exit.BAD_INPUT)
        if not playbooks:
            fail(Exit.BAD_INPUT, f"{target}: no {PLAYBOOK_FILE} found")

    @playbook_app.command("try")
    def playbook_try(
        payer: str,
        claim: Annotated[str, typer.Option(help="A claim id from the ledger to look up.")],
        headed: Annotated[bool, typer.Option(help="Show the browser window (needs a display).")] = False,
        screenshot: Annotated[Path | None, typer.Option(help="Save a screenshot of the last page here.")] = None,
        as_json: JsonOption = False,
    ) -> None:
        """Run a playbook on one claim without recording anything: for whoever writes or fixes it."""
        from claims.ledger import ClaimNotFoundError
        from portal_adapters.contract import ClaimQuery
        from portal_adapters.errors import AdapterError

        settings = Settings()
        ledger = open_ledger(settings)
        try:
            query = ClaimQuery.from_claim(ledger.get_claim(claim))
        except ClaimNotFoundError as error:
            fail(Exit.NOT_FOUND, str(error))
        adapter = _portal(settings, payer.upper(), headless=not headed)

        async def run() -> tuple[list[ClaimStatusResult | ClaimCheckFailed], str | None]:
            try:
                results = await adapter.check_claims([query])
                shot = await adapter.capture("try") if screenshot else None
                return results, shot
            finally:
                await adapter.close()

        try:
            results, shot = asyncio.run(run())
        except AdapterError as error:
            fail(Exit.PAYER, _stopped_text(error))
        if screenshot and shot:
            shutil.copyfile(adapter.evidence.folder / f"{shot}.png", screenshot)
        if as_json:
            print_json([r.model_dump(mode="json") for r in results])
        else:
            out.print(_result_table(list(results)))
