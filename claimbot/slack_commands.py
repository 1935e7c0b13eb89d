"""`claimbot slack serve`: the Slack assistant (assistant.app) over HTTP or Socket Mode."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from claimbot.console import Exit, fail
from claimbot.settings import Settings

if TYPE_CHECKING:
    from claims.ledger import Ledger

slack_app = typer.Typer(help="The Slack assistant: claim status in chat, live checks, resubmissions, alerts.")


def _ledger_answers(ledger: Ledger) -> bool:
    """GET /healthz: the ledger answers a trivial query."""
    import sqlalchemy as sa

    try:
        with ledger.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception:
        return False
    return True


def register(app: typer.Typer, open_ledger: Callable[[Settings], Ledger]) -> None:
    """Add `claimbot slack ...` to the main app."""
    app.add_typer(slack_app, name="slack")

    @slack_app.command("serve")
    def serve(
        http: Annotated[
            bool,
            typer.Option(
                "--http/--socket",
                help="HTTP: events, commands and interactivity on POST /slack/events (signed), GET /healthz. "
                "Socket Mode: a websocket opened with SLACK_APP_TOKEN, no public endpoint.",
            ),
        ] = True,
        port: Annotated[int, typer.Option(help="HTTP port.", min=1, max=65535)] = 3000,
        host: Annotated[str, typer.Option(help="HTTP address to listen on.")] = "0.0.0.0",  # noqa: S104 (a server)
    ) -> None:
        """Serve the Slack app until SIGTERM or Ctrl-C."""
        from assistant.app import build_app
        from assistant.server import serve_http, serve_socket_mode
        from assistant.settings import SlackSettings, SlackSettingsError
        from claims.team import TeamConfigError, load_team

        settings = Settings()
        slack = SlackSettings()
        try:
            slack.require(socket_mode=not http)
            team = load_team(settings.team_file)
        except (SlackSettingsError, TeamConfigError) as error:
            fail(Exit.BAD_INPUT, str(error))
        ledger = open_ledger(settings)
        app = build_app(slack, lambda: ledger, team, claimbot_settings=settings)
        alerts = contextlib.ExitStack()
        if slack.alert_channel:  # the denial alerts' dispatcher loop beside the app (assistant.jobs)
            from assistant.jobs import dispatcher_for, dispatcher_running

            alerts.enter_context(dispatcher_running(dispatcher_for(settings, slack, ledger)))
        try:
            if http:
                serve_http(app, host, port, healthy=lambda: _ledger_answers(ledger))
            else:
                assert slack.app_token is not None  # require() said so
                serve_socket_mode(app, slack.app_token.get_secret_value())
        finally:
            alerts.close()
            ledger.close()

    @slack_app.command("dispatch")
    def dispatch(
        digest: Annotated[bool, typer.Option("--digest", help="Also send today's daily digest (once a day).")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="The pass's counts as JSON.")] = False,
    ) -> None:
        """One pass of the denial alerts: the outbox's new denials and changes, due escalations, and
        whatever Slack did not take before (SLACK_ALERT_CHANNEL, config/escalations.yaml)."""
        import asyncio

        from assistant.jobs import dispatch_once
        from assistant.settings import SlackSettings
        from claimbot.console import print_json

        settings = Settings()
        slack = SlackSettings()
        if slack.bot_token is None or not slack.alert_channel:
            fail(Exit.BAD_INPUT, "set SLACK_BOT_TOKEN and SLACK_ALERT_CHANNEL to dispatch alerts")
        ledger = open_ledger(settings)
        try:
            report = asyncio.run(dispatch_once(settings, slack, ledger, digest=digest))
        except ValueError as error:  # escalations.yaml or team.yaml refused: file and key, no values
            fail(Exit.BAD_INPUT, str(error))
        finally:
            ledger.close()
        if as_json:
            print_json(report.as_json())
        else:
            typer.echo(
                f"events {report.events}: alerts {report.alerts}, thread replies {report.replies}, "
                f"escalations {report.escalations}; sent {report.sent}, updated {report.updated}, "
                f"waiting {report.waiting}" + (f" (Slack: {report.slack_error})" if report.slack_error else "")
            )
        if report.slack_error:
            raise typer.Exit(1)  # Slack did not take everything: it waits in the ledger for the next pass
