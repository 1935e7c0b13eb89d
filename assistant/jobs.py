"""The alerts' processes: one dispatcher pass (`claimbot slack dispatch`), the dispatcher loop beside the
app in `claimbot slack serve`, and the scheduler's daily digest (bots.schedule's `daily_digest` slot calls
`BotContext.digest`, which `claimbot scheduler run` sets to `digest_job(settings)` when Slack is set up).

Each builds its own PHI-guarded Web API client (assistant.middleware) on SLACK_API_URL and reads
config/escalations.yaml from CLAIMBOT_CONFIG_DIR.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import structlog

from assistant.alert_listeners import build_dispatcher
from assistant.alerts import Dispatcher, PassReport
from assistant.escalations import load_escalations
from assistant.settings import SlackSettings
from claimbot.settings import Settings
from claims.ledger import Ledger
from claims.models import utc_now
from claims.team import load_team

log = structlog.get_logger("assistant.jobs")


def escalations_file(settings: Settings) -> Path:
    return settings.config_dir / "escalations.yaml"


def dispatcher_for(settings: Settings, slack: SlackSettings, ledger: Ledger) -> Dispatcher:
    from assistant.middleware import GuardedWebClient, PhiGuard

    client = GuardedWebClient(
        PhiGuard(), token=slack.bot_token.get_secret_value() if slack.bot_token else None, base_url=slack.base_url
    )
    return build_dispatcher(
        ledger,
        client,
        slack,
        load_team(settings.team_file),
        load_escalations(escalations_file(settings)),
        settings.schedule_timezone,
    )


async def dispatch_once(settings: Settings, slack: SlackSettings, ledger: Ledger, digest: bool = False) -> PassReport:
    """One pass (and, with `digest`, today's digest first): what `claimbot slack dispatch` runs."""
    dispatcher = dispatcher_for(settings, slack, ledger)
    if digest:
        await asyncio.to_thread(dispatcher.stage_digest, utc_now())
    return await dispatcher.run_once()


def digest_job(settings: Settings) -> Callable[[], Awaitable[None]]:
    """The scheduler's daily digest: stage it (once per day) and send it with the pending alerts."""

    async def run() -> None:
        slack = SlackSettings()
        ledger = Ledger.connect(settings.ledger_url)
        try:
            report = await dispatch_once(settings, slack, ledger, digest=True)
            log.info("daily digest", sent=report.sent, slack_error=report.slack_error)
        finally:
            ledger.close()

    return run


@contextmanager
def dispatcher_running(dispatcher: Dispatcher, every_s: float = 30.0) -> Iterator[threading.Thread]:
    """The dispatcher loop on its own thread and event loop beside the app's server; stopped on exit."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(dispatcher.run_forever(every_s, stop))

    thread = threading.Thread(target=run, name="claimbot-alerts", daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(every_s + 10)
        loop.close()
