"""`claimbot ask "..."`: the Slack assistant's questions answered in the terminal (assistant.console)."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from claimbot.console import Exit, JsonOption, fail, out, print_json
from claimbot.settings import Settings

if TYPE_CHECKING:
    from claims.ledger import Ledger


def register(app: typer.Typer, open_ledger: Callable[[Settings], Ledger]) -> None:
    """Add the command to the main app."""

    @app.command("ask")
    def ask(
        question: Annotated[str, typer.Argument(help='e.g. "status of claim 1001", "denials SUNRISE today", "queue"')],
        as_json: JsonOption = False,
    ) -> None:
        """Ask what the Slack assistant answers: a claim's status, recent denials, your queue."""
        from assistant.answers import Answers
        from assistant.console import render_text
        from assistant.intents import parse_phrase
        from claims.team import TeamConfigError, load_team

        settings = Settings()
        try:
            team = load_team(settings.team_file)
        except TeamConfigError as error:
            fail(Exit.BAD_INPUT, str(error))
        ledger = open_ledger(settings)
        answers = Answers.from_settings(ledger, settings)
        answer = answers.answer(parse_phrase(question, answers.payer_names()), team.cli_actor(getpass.getuser()))
        if as_json:
            print_json(answer)
        else:
            out.print(render_text(answer), markup=False)
