"""`claimbot payers`: the team's payers, how each is reached, and whether a person must clear it.

A refused sign-in or a locked account holds the payer (bots.live): no bot signs in to it again, so
no scheduled run retries a bad password into a lockout. `payers resume` is how a person clears it,
once the account is fixed; the resume is audited with their OS user name.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from claimbot.console import Exit, JsonOption, fail, out, print_json
from claimbot.settings import Settings
from claimbot.tables import Col, add_rows, make_table

if TYPE_CHECKING:  # the ledger loads when a command runs, not on start-up
    from claims.ledger import Ledger, PayerHold

payers_app = typer.Typer(help="Payers: their routes, and holds after a refused sign-in.", no_args_is_help=True)


def _operator() -> str:
    """Who is at the keyboard, for the audit trail."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment or the password database
        return "unknown"


def _hold_json(hold: PayerHold | None) -> dict[str, object] | None:
    return None if hold is None else hold.model_dump(mode="json", exclude={"id"})


def register(app: typer.Typer, open_ledger: Callable[[Settings], Ledger]) -> None:
    """Add `claimbot payers` to the main app; `open_ledger(settings)` is the CLI's checked ledger opener."""
    app.add_typer(payers_app, name="payers")

    @payers_app.command("list")
    def payers_list(as_json: JsonOption = False) -> None:
        """Every payer in the ledger, with its route and whether it is held."""
        from claims.payer_config import PayerConfigError, load_payer_entries

        settings = Settings()
        ledger = open_ledger(settings)
        try:
            routes = {entry.id: entry.route.value for entry in load_payer_entries(settings.payers_file)}
        except PayerConfigError as error:
            fail(Exit.LEDGER, str(error))
        holds = {hold.payer_id: hold for hold in ledger.holds()}
        payers = ledger.payers()
        if as_json:
            print_json(
                [
                    {
                        "id": p.id,
                        "name": p.name,
                        "kind": p.kind.value,
                        "route": routes.get(p.id),
                        "suspended": p.id in holds,
                        "hold": _hold_json(holds.get(p.id)),
                    }
                    for p in payers
                ]
            )
            return
        table = make_table(
            ("payer", Col.KEY),
            ("name", Col.TEXT),
            ("route", Col.KEY),
            ("state", Col.TEXT),
            ("since", Col.KEY),
            ("evidence", Col.TEXT),
        )
        rows = []
        for p in payers:
            hold = holds.get(p.id)
            rows.append(
                [
                    p.id,
                    p.name,
                    routes.get(p.id, "not in config"),
                    f"SUSPENDED ({hold.kind}: {hold.reason})" if hold else "active",
                    hold.since.strftime("%Y-%m-%d %H:%M") if hold else "",
                    (hold.evidence_ref or "") if hold else "",
                ]
            )
        out.print(add_rows(table, rows))

    @payers_app.command("resume")
    def payers_resume(
        payer: Annotated[str, typer.Argument(help="The payer id to clear, once its account is fixed.")],
        as_json: JsonOption = False,
    ) -> None:
        """Clear a payer's hold so bots may sign in again; audited with your OS user name."""
        from claims.models import Action, ActionOutcome

        payer_id = payer.upper()
        ledger = open_ledger(Settings())
        if payer_id not in {p.id for p in ledger.payers()}:
            fail(Exit.NOT_FOUND, f"payer {payer_id} is not in the ledger")
        actor = _operator()
        with ledger.writer() as writer:
            cleared = writer.clear_hold(payer_id, actor)
            if cleared is not None:
                writer.record_action(
                    Action(
                        actor=actor,
                        action="payer.resume",
                        idempotency_key=f"payer.resume:{cleared.id}",
                        outcome=ActionOutcome.SUCCEEDED,
                        detail={"payer_id": payer_id, "kind": cleared.kind, "reason": cleared.reason},
                    )
                )
        if as_json:
            print_json({"payer_id": payer_id, "resumed": cleared is not None, "hold": _hold_json(cleared)})
        elif cleared is None:
            out.print(f"{payer_id} was not suspended: nothing to do", markup=False)
        else:
            out.print(
                f"{payer_id} resumed by {actor}: held since {cleared.since:%Y-%m-%d %H:%M} ({cleared.kind})",
                markup=False,
            )
