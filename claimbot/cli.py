"""The `claimbot` command line. Thin: each command parses options, calls the domain, renders.

This module only assembles the command groups. Each group's module imports what its commands use
(the ledger, browsers, HTTP clients, the sandbox) inside the commands, so `claimbot --help` and the
ledger-only commands start in well under a second (bench/startup_bench.py; a test fails when
`--help` imports a heavy module: tests/claimbot/test_startup.py).

Exit codes scripts can rely on are in claimbot.console.Exit (and the README).
"""

from __future__ import annotations

from typing import Annotated

import typer

from claimbot import (
    ask_commands,
    claims_commands,
    credentials_commands,
    denials_commands,
    edi_commands,
    evidence_commands,
    payer_commands,
    portal_commands,
    report_commands,
    resubmit_commands,
    scheduler_commands,
    serve_commands,
    slack_commands,
    sweep_commands,
    worker_commands,
)
from claimbot.console import Exit, fail, out
from claimbot.ledger_access import open_ledger, prepare_ledger
from claimbot.settings import ConfigFileError, ServeSettings, Settings
from sandbox import cli as sandbox_cli

app = typer.Typer(help="Claimbot: claim status, denials and resubmissions for billing teams.", no_args_is_help=True)
app.add_typer(claims_commands.db_app, name="db")
app.add_typer(claims_commands.claims_app, name="claims")
app.add_typer(claims_commands.codes_app, name="codes")


@app.callback()
def main() -> None:
    from claimbot.logs import configure_logging

    try:
        settings = Settings()
        ServeSettings()
    except ConfigFileError as error:  # config/claimbot.toml: names the file and the key, never a value
        fail(Exit.BAD_INPUT, str(error))
    configure_logging(settings.log_format, settings.log_level)


portal_commands.register(app, open_ledger)
edi_commands.register(app, open_ledger)
payer_commands.register(app, open_ledger)
credentials_commands.register(app)
evidence_commands.register(app)
sweep_commands.register(app, open_ledger)
scheduler_commands.register(app, open_ledger)
worker_commands.register(app, open_ledger)
denials_commands.register(app, open_ledger)
resubmit_commands.register(app, open_ledger)
ask_commands.register(app, open_ledger)
slack_commands.register(app, open_ledger)
report_commands.register(app, open_ledger)
serve_commands.register(app, open_ledger)


@app.command("demo")
def demo(
    portals: Annotated[
        bool, typer.Option(help="Sweep the three sandbox portals in Chromium (else the clearinghouse).")
    ] = True,
    claims: Annotated[int, typer.Option("--claims", min=1, help="Claims the sweep checks per payer.")] = 12,
) -> None:
    """The whole loop on embedded defaults: claims imported, an 835, a sweep, reports, alerts, two questions."""
    import sys

    from claimbot.demo import run_demo

    settings = Settings()
    run_demo(
        settings, prepare_ledger(settings), out, portals=portals, claims_per_payer=claims, progress=sys.stderr.isatty()
    )


app.add_typer(sandbox_cli.app, name="sandbox", help="Local sandbox payer portals and clearinghouse.")
