"""`claimbot resubmit` and `claimbot submissions`: corrected claims through the guard (bots.resubmission).

The person running the command is `CLAIMBOT_USER`, else the OS login; config/team.yaml gives their
roles (claims.team). The 837P a dry run prints names the patient by nature: it goes to the terminal
only, never to the log.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from claimbot.console import Exit, JsonOption, fail, out, print_json, write_json_text
from claimbot.settings import Settings
from claimbot.tables import Col, add_rows, make_table

if TYPE_CHECKING:
    from bots.resubmission import ResubmissionOutcome, ResubmissionService
    from claims.ledger import Ledger
    from claims.team import Actor

submissions_app = typer.Typer(
    help="Corrected claims sent or waiting: list them, approve or cancel one.", no_args_is_help=True
)

SET_HELP = (
    "FIELD=VALUE, repeatable: diagnosis_codes=E11.9,I10  rendering_npi=NPI  place_of_service=11  "
    "lines.N.procedure_code=99214  lines.N.modifiers=25,59  lines.N.units=2  lines.N.charge=125.00  "
    "lines.N.diagnosis_pointers=1,2  lines.N.service_date_from / _to=YYYY-MM-DD"
)


def _actor(settings: Settings) -> Actor:
    """CLAIMBOT_USER, else the OS login, with the roles config/team.yaml gives them."""
    from claims.team import LOGIN, TeamConfigError, load_team

    login = os.environ.get("CLAIMBOT_USER") or getpass.getuser()
    if not re.match(LOGIN, login):
        fail(Exit.BAD_INPUT, "CLAIMBOT_USER (or the OS login) is not a plain login name: letters, digits, . _ -")
    try:
        return load_team(settings.team_file).cli_actor(login)
    except TeamConfigError as error:
        fail(Exit.BAD_INPUT, str(error))


def _service(settings: Settings, ledger: Ledger) -> ResubmissionService:
    from bots.resubmission import ResubmissionService
    from claims.payer_config import PayerConfigError, load_payer_config
    from claims.team import TeamConfigError, load_team

    try:
        config = load_payer_config(settings.payers_file)
        team = load_team(settings.team_file)
    except (PayerConfigError, TeamConfigError) as error:
        fail(Exit.BAD_INPUT, str(error))
    return ResubmissionService.configured(
        ledger, team, config, settings.data_dir, settings.playbooks_dir, settings.evidence_retention_days
    )


def _changes(pairs: list[str]) -> dict[str, str]:
    changes: dict[str, str] = {}
    for pair in pairs:
        field, equals, value = pair.partition("=")
        if not equals or not field.strip():
            fail(Exit.USAGE, "--set takes FIELD=VALUE (e.g. --set lines.1.modifiers=25,59)")
        if field.strip() in changes:
            fail(Exit.USAGE, f"--set names {field.strip()} twice")
        changes[field.strip()] = value
    return changes


def _exit_code(outcome: ResubmissionOutcome) -> Exit:
    from bots.resubmission import Refusal, ResubmissionState
    from claims.models import SubmissionState

    if outcome.state is ResubmissionState.FAILED or outcome.submission_state is SubmissionState.REJECTED:
        return Exit.PAYER
    if outcome.state is not ResubmissionState.REFUSED:
        return Exit.OK
    if outcome.refusal in (Refusal.CLAIM_NOT_FOUND, Refusal.SUBMISSION_NOT_FOUND):
        return Exit.NOT_FOUND
    if outcome.refusal in (Refusal.NO_ROUTE, Refusal.STATUS_UNAVAILABLE):
        return Exit.PAYER
    return Exit.BAD_INPUT


def _finish(outcome: ResubmissionOutcome, as_json: bool) -> None:
    """Print the outcome (and a dry run's 837P), then exit with its code."""
    if as_json:
        data = outcome.model_dump(mode="json")
        if outcome.x12 is not None:
            data["x12"] = outcome.x12
        print_json(data)
    else:
        if outcome.x12 is not None:
            write_json_text(outcome.x12.rstrip("\n"))  # as it is: rich would wrap or style the segments
        out.print(outcome.message, markup=False)
    code = _exit_code(outcome)
    if code is not Exit.OK:
        raise typer.Exit(code)


def register(app: typer.Typer, open_ledger: Callable[[Settings], Ledger]) -> None:
    """Add `resubmit` and the `submissions` group to the main app."""
    app.add_typer(submissions_app, name="submissions")

    @app.command("resubmit")
    def resubmit(
        claim_id: Annotated[str, typer.Argument(help="The claim to correct.")],
        changes: Annotated[list[str] | None, typer.Option("--set", help=SET_HELP)] = None,
        reason: Annotated[
            str | None, typer.Option(help="Why, in words without PHI (kept with the submission).")
        ] = None,
        void: Annotated[
            bool, typer.Option("--void", help="Void the claim (frequency 8) instead of replacing it.")
        ] = False,
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Run every check and print the 837P; send nothing.")
        ] = False,
        key: Annotated[
            str | None, typer.Option(help="Idempotency key; default: one from the claim, version and changes.")
        ] = None,
        as_json: JsonOption = False,
    ) -> None:
        """Send a corrected claim (frequency 7, or 8 with --void) quoting the payer's claim number, after a
        fresh status check; above the team's threshold a second person with the lead role approves first."""
        from bots.resubmission import ResubmissionRequest

        settings = Settings()
        actor = _actor(settings)
        ledger = open_ledger(settings)
        try:
            request = ResubmissionRequest(
                claim_id=claim_id,
                changes=_changes(changes or []),
                reason=reason,
                void=void,
                dry_run=dry_run,
                actor=actor,
                idempotency_key=key,
            )
        except ValueError:
            fail(Exit.USAGE, "the claim id, reason (up to 300 characters) or key is not usable")
        outcome = asyncio.run(_service(settings, ledger).request_resubmission(request))
        _finish(outcome, as_json)

    @submissions_app.command("list")
    def list_submissions(
        claim: Annotated[str | None, typer.Option(help="Only this claim's submissions.")] = None,
        state: Annotated[str | None, typer.Option(help="Only this state, e.g. awaiting_approval.")] = None,
        as_json: JsonOption = False,
    ) -> None:
        """Submissions, oldest first: what was sent (or waits), on which route, and what came back."""
        from claims.ledger import ClaimNotFoundError
        from claims.models import SubmissionState

        try:
            wanted = SubmissionState(state) if state else None
        except ValueError:
            fail(Exit.USAGE, f"--state is one of {', '.join(s.value for s in SubmissionState)}")
        ledger = open_ledger(Settings())
        try:
            found = ledger.submissions(claim_id=claim, state=wanted)
        except ClaimNotFoundError as error:
            fail(Exit.NOT_FOUND, str(error))
        if as_json:
            print_json([s.model_dump(mode="json") for s in found])
            return
        table = make_table(
            ("id", Col.KEY),
            ("claim", Col.KEY),
            ("freq", Col.KEY),
            ("state", Col.KEY),
            ("route", Col.KEY),
            ("asked by", Col.KEY),
            ("approved by", Col.KEY),
            ("requested", Col.KEY),
            ("acknowledgment", Col.TEXT),
            ("payer claim no.", Col.KEY),
            ("changes", Col.TEXT),
        )
        rows = [
            [
                str(s.id),
                s.claim_id,
                s.frequency_code.value,
                s.state.value + (f" ({s.error})" if s.error else ""),
                s.route.value,
                s.requested_by,
                s.approved_by or "",
                s.requested_at.strftime("%Y-%m-%d %H:%M"),
                " ".join(s.ack_codes),
                s.payer_claim_number or "",
                " ".join(f"{k}={v}" for k, v in s.changes.items()),
            ]
            for s in found
        ]
        out.print(add_rows(table, rows) if rows else "no submissions")

    @submissions_app.command("approve")
    def approve(
        submission_id: Annotated[int, typer.Argument(help="A submission waiting for approval.")],
        as_json: JsonOption = False,
    ) -> None:
        """Approve a waiting corrected claim (a lead who did not ask for it): checked again, then sent."""
        settings = Settings()
        actor = _actor(settings)
        ledger = open_ledger(settings)
        _finish(asyncio.run(_service(settings, ledger).approve(submission_id, actor)), as_json)

    @submissions_app.command("cancel")
    def cancel(
        submission_id: Annotated[int, typer.Argument(help="A submission waiting for approval, or unconfirmed.")],
        as_json: JsonOption = False,
    ) -> None:
        """Cancel a submission waiting for approval; a lead may also close one whose sending was never
        confirmed, once the payer says it did not arrive."""
        settings = Settings()
        actor = _actor(settings)
        ledger = open_ledger(settings)
        _finish(_service(settings, ledger).cancel(submission_id, actor), as_json)
