"""The listeners of the alerts' buttons, App Home and the MFA modal; thin: ack, act through assistant.alerts /
assistant.home / assistant.mfa, and let the dispatcher deliver. build_app calls `register_alert_listeners`.

Every button on an alert carries the claim id and acts on the claim's newest alert. Permissions are the
app's middleware (assistant.middleware): buttons need a specialist unless registered otherwise here;
the MFA button and modal need nobody's role (only the credential's owner can answer: the broker checks),
and App Home's refresh needs a team member.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from assistant.alerts import (
    ACK,
    ASSIGN,
    ESCALATE,
    SNOOZE,
    Dispatcher,
    WebApiPoster,
    acknowledge,
    facts_of,
    latest_alert,
    lead_targets,
    snooze,
)
from assistant.escalations import EscalationConfig, load_escalations, manual_escalation
from assistant.home import REFRESH, home_view
from assistant.mfa import CODE_BLOCK, CODE_INPUT, OPEN, SUBMIT, MfaBroker, code_modal
from claims.ledger import Ledger
from claims.models import utc_now
from claims.team import Actor, TeamConfig

if TYPE_CHECKING:
    from slack_bolt.app.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    from assistant.middleware import Permissions
    from assistant.settings import SlackSettings

log = structlog.get_logger("assistant.alert_listeners")

ESCALATIONS_FILE = Path("config") / "escalations.yaml"


@dataclass
class AlertRuntime:
    """What `slack serve` and `slack dispatch` run: the dispatcher (its loop) and the MFA broker."""

    dispatcher: Dispatcher
    broker: MfaBroker


def build_dispatcher(
    ledger: Ledger,
    client: AsyncWebClient,
    settings: SlackSettings,
    team: TeamConfig,
    config: EscalationConfig | None = None,
    timezone: str = "UTC",
) -> Dispatcher:
    """The dispatcher over the app's own (PHI-guarded) Web API client, channels from SLACK_* settings."""
    alert_channel = settings.alert_channel or settings.leads_channel or settings.digest_channel
    if alert_channel is None:
        raise ValueError("set SLACK_ALERT_CHANNEL (a channel id) for denial alerts")
    targets = lead_targets(team, alert_channel, settings.leads_channel, settings.digest_channel)
    return Dispatcher(ledger, WebApiPoster(client), targets, config or load_escalations(ESCALATIONS_FILE), timezone)


def register_alert_listeners(
    app: AsyncApp,
    ledger: Ledger,
    settings: SlackSettings,
    team: TeamConfig,
    permissions: Permissions | None = None,
    *,
    config: EscalationConfig | None = None,
    timezone: str = "UTC",
    mfa_timeout_s: float = 120.0,
) -> AlertRuntime:
    dispatcher = build_dispatcher(ledger, app.client, settings, team, config, timezone)
    broker = MfaBroker(dispatcher.poster, timeout_s=mfa_timeout_s)
    if permissions is not None:
        from assistant.middleware import Need

        permissions.require(OPEN, Need.ANYONE)
        permissions.require(SUBMIT, Need.ANYONE)
        permissions.require(REFRESH, Need.MEMBER)
        permissions.require("app_home_opened", Need.MEMBER)

    async def tell(respond: Any, text: str) -> None:
        await respond(text=text, response_type="ephemeral", replace_original=False)

    async def alert_of(claim_id: str, respond: Any) -> int | None:
        alert_id = await asyncio.to_thread(latest_alert, ledger, claim_id)
        if alert_id is None:
            await tell(respond, f"Claim {claim_id} has no denial alert.")
        return alert_id

    @app.action(ACK)
    async def acknowledged(ack: Any, action: dict[str, Any], respond: Any, context: Any) -> None:
        await ack()
        claim_id, user = str(action.get("value", "")), str(context["slack_user_id"])
        alert_id = await alert_of(claim_id, respond)
        if alert_id is None:
            return
        now = utc_now()
        if await asyncio.to_thread(acknowledge, ledger, alert_id, user, now):
            await asyncio.to_thread(dispatcher.stage_note, alert_id, f"Acknowledged by <@{user}>.", now)
            await dispatcher.deliver(now)
        else:
            await tell(respond, f"The alert for claim {claim_id} was acknowledged already.")

    @app.action(ASSIGN)
    async def assigned(ack: Any, action: dict[str, Any], respond: Any, context: Any) -> None:
        from assistant.assignments import assign_to

        await ack()
        claim_id = str(action.get("value", ""))
        actor: Actor = context["actor"]
        alert_id = await alert_of(claim_id, respond)
        if alert_id is None:
            return
        done = await asyncio.to_thread(assign_to, ledger, claim_id, actor)
        if not done.changed:
            await tell(respond, f"Claim {claim_id} is assigned to you already.")
            return
        now = utc_now()
        await asyncio.to_thread(dispatcher.stage_note, alert_id, f"Assigned to {done.assignee_name}.", now)
        await dispatcher.deliver(now)

    @app.action(ESCALATE)
    async def escalated(ack: Any, action: dict[str, Any], respond: Any, context: Any) -> None:
        await ack()
        claim_id, user = str(action.get("value", "")), str(context["slack_user_id"])
        alert_id = await alert_of(claim_id, respond)
        if alert_id is None:
            return
        facts = await asyncio.to_thread(facts_of, ledger, alert_id)
        if facts is None:
            return
        now = utc_now()
        staged = await asyncio.to_thread(dispatcher.stage_manual, manual_escalation(facts, user, now), now)
        await dispatcher.deliver(now)
        await tell(respond, "Escalated to the leads." if staged else "You escalated this alert already.")

    @app.action(SNOOZE)
    async def snoozed(ack: Any, action: dict[str, Any], respond: Any, context: Any) -> None:
        await ack()
        chosen = str((action.get("selected_option") or {}).get("value", ""))
        claim_id, _, hours_text = chosen.rpartition(":")
        if not hours_text.isdigit() or int(hours_text) not in dispatcher.config.alerts.snooze_hours:
            await tell(respond, "That snooze is not one of the choices.")
            return
        alert_id = await alert_of(claim_id, respond)
        if alert_id is None:
            return
        now, hours = utc_now(), int(hours_text)
        until = await asyncio.to_thread(_snooze, ledger, alert_id, now, hours)
        await asyncio.to_thread(
            dispatcher.stage_note,
            alert_id,
            f"Snoozed {hours} h by <@{context['slack_user_id']}> (until {until:%H:%M} UTC).",
            now,
        )
        await dispatcher.deliver(now)

    @app.event("app_home_opened")
    async def home_opened(event: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
        if event.get("tab", "home") != "home":
            return
        view = await asyncio.to_thread(home_view, ledger, context["actor"], utc_now())
        await client.views_publish(user_id=context["slack_user_id"], view=view)

    @app.action(REFRESH)
    async def refresh_home(ack: Any, client: AsyncWebClient, context: Any) -> None:
        await ack()
        view = await asyncio.to_thread(home_view, ledger, context["actor"], utc_now())
        await client.views_publish(user_id=context["slack_user_id"], view=view)

    @app.action(OPEN)
    async def open_code_modal(
        ack: Any, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, respond: Any
    ) -> None:
        await ack()
        request_id = str(action.get("value", ""))
        payer_id = broker.payer_for(request_id)
        if payer_id is None:
            await tell(respond, "This code request has ended (it was answered, or the bot gave up waiting).")
            return
        await client.views_open(trigger_id=body["trigger_id"], view=code_modal(request_id, payer_id))

    @app.view(SUBMIT)
    async def code_submitted(ack: Any, view: dict[str, Any], context: Any) -> None:
        values = (view.get("state") or {}).get("values") or {}
        code = str(((values.get(CODE_BLOCK) or {}).get(CODE_INPUT) or {}).get("value") or "")
        refused = broker.submit(str(view.get("private_metadata", "")), str(context["slack_user_id"]), code)
        if refused is None:
            await ack()
        else:
            await ack(response_action="errors", errors={CODE_BLOCK: refused})

    return AlertRuntime(dispatcher, broker)


def _snooze(ledger: Ledger, alert_id: int, now: datetime, hours: int) -> datetime:
    until = now + timedelta(hours=hours)
    snooze(ledger, alert_id, until)
    return until
