"""build_app: the one Slack app (slack-bolt AsyncApp). Middleware does the cross-cutting work
(assistant.middleware); the listeners here are thin: ack at once, then answer through
assistant.answers and render through assistant.cards.

Every listener acks before it does anything slow (process_before_response stays False, so Bolt
returns the ack to Slack while the listener goes on): a look-up answers through `respond()` or the
Web API afterwards, a live check updates its card in place when the payer answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.middleware.assistant.async_assistant import AsyncAssistant
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from assistant.alert_listeners import AlertRuntime, build_dispatcher, register_alert_listeners
from assistant.alerts import Dispatcher, last_card_escalation, latest_alert
from assistant.answers import Answer, Answers, NotFoundAnswer, StatusAnswer
from assistant.assignments import assign_to
from assistant.cards import (
    ASSIGN,
    CHECK_NOW,
    ESCALATE,
    RESUBMIT,
    Block,
    answer_blocks,
    answer_text,
    not_found_blocks,
    notice_blocks,
    status_blocks,
)
from assistant.escalations import EscalationConfig, card_escalation, load_escalations
from assistant.identity import Identity
from assistant.intents import parse_command, parse_phrase
from assistant.middleware import (
    Auditor,
    GuardedWebClient,
    Need,
    Permissions,
    PhiBlocked,
    PhiGuard,
    SeenEvents,
    dedupe_middleware,
    identity_middleware,
    permission_middleware,
    phi_guard_middleware,
)
from assistant.resubmit_views import (
    APPROVE,
    CANCEL,
    CHANGES_BLOCK,
    REASON_BLOCK,
    RESUBMIT_CONFIRM,
    RESUBMIT_MODAL,
    Draft,
    approval_blocks,
    claim_of,
    confirmation_modal,
    outcome_modal,
    read_request,
    request_modal,
    working_modal,
)
from assistant.settings import SlackSettings
from bots.resubmission import FIELD_PATHS, ResubmissionRequest, ResubmissionService, ResubmissionState
from claimbot.settings import Settings
from claims.ledger import Ledger
from claims.models import utc_now
from claims.team import Actor, Role, TeamConfig
from portal_adapters.credentials import OneTimeCodeSource

log = structlog.get_logger(__name__)

#: Checks a claim with its payer now and records the answer; None when it got one, else why not (plain words).
ClaimChecker = Callable[[Ledger, str], Awaitable[str | None]]

SUGGESTED_PROMPTS = (
    {"title": "Status of a claim", "message": "What's the status of claim 1001?"},
    {"title": "New denials today", "message": "Any new denials today?"},
    {"title": "My queue", "message": "What's in my queue?"},
)
BLOCKED = "This answer could not be sent safely (it would have shown patient details); the team's log has it."
FAILED = "Something went wrong on my side answering that; it is logged. Try again in a minute."
GREETING = "Hi! Ask me about a claim by its id, about denials (by payer, today or this week), or about your queue."


def live_checker(settings: Settings, codes: Callable[[], OneTimeCodeSource | None] = lambda: None) -> ClaimChecker:
    """Check now through the payer's route (portal, clearinghouse or both), as `claimbot check` does.
    `codes()` is the MFA broker (when the alerts run in this app) for accounts with `mfa: broker`."""

    async def check(ledger: Ledger, claim_id: str) -> str | None:
        from bots.live import live_check
        from claims.payer_config import PayerConfigError, load_payer_entries
        from portal_adapters.contract import ClaimCheckFailed
        from portal_adapters.errors import AdapterError
        from portal_adapters.factory import adapter_or_reason
        from portal_adapters.retry import RetryPolicy

        payer_id = (await asyncio.to_thread(ledger.summary, claim_id)).payer_id
        try:
            entry = next((p for p in load_payer_entries(settings.payers_file) if p.id == payer_id), None)
        except PayerConfigError:
            return "the payer list (config/payers.yaml) cannot be read"
        if entry is None:
            return f"payer {payer_id} is not in the payer list"
        adapter = adapter_or_reason(
            payer_id,
            entry.route,
            entry.clearinghouse_payer_id,
            settings.data_dir,
            settings.playbooks_dir,
            settings.evidence_retention_days,
            codes=codes(),
        )
        if isinstance(adapter, str):
            return adapter
        try:
            outcomes = await live_check(
                ledger, adapter, [claim_id], RetryPolicy(max_attempts=2, base_delay_s=1.0), trigger="slack"
            )
        except AdapterError as error:
            return str(error)
        finally:
            await adapter.close()
        outcome = outcomes[0]
        return outcome.message if isinstance(outcome, ClaimCheckFailed) else None

    return check


def reporting(listener: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """A listener whose failure after its ack reaches the person in plain words (and the log by type).

    Bolt's own error path, after an ack, can race its wait for the ack and answer Slack 404; caught
    here, the ack stands. Bolt passes listeners their arguments by name: the wrapper keeps the names.
    """

    @functools.wraps(listener)
    async def run(**kwargs: Any) -> None:
        try:
            await listener(**kwargs)
        except Exception as error:
            ack = kwargs.get("ack")
            if ack is not None and ack.response is None:
                await ack()  # failed before its ack: Slack still gets one within the 3 s
            if isinstance(error, PhiBlocked):
                text = BLOCKED  # the guard logged it, with field paths only
            else:
                log.error("slack_listener_failed", listener=listener.__name__, error=error.__class__.__name__)
                text = FAILED
            respond, context = kwargs.get("respond"), kwargs.get("context")
            if respond is not None and context is not None and context.response_url:
                await respond(text=text, response_type="ephemeral", replace_original=False)

    return run


@dataclass(frozen=True)
class SlackAssistant:
    """The app, and the alerts' dispatcher and MFA broker its listeners use (None without SLACK_ALERT_CHANNEL)."""

    app: AsyncApp
    alerts: AlertRuntime | None


def build_app(
    settings: SlackSettings,
    ledger_factory: Callable[[], Ledger],
    team: TeamConfig,
    **options: Any,
) -> AsyncApp:
    """The app alone (tests, the bench): `build_assistant(...).app`."""
    return build_assistant(settings, ledger_factory, team, **options).app


def build_assistant(
    settings: SlackSettings,
    ledger_factory: Callable[[], Ledger],
    team: TeamConfig,
    *,
    claimbot_settings: Settings | None = None,
    checker: ClaimChecker | None = None,
    resubmissions: ResubmissionService | None = None,
    escalations: EscalationConfig | None = None,
    mfa_timeout_s: float = 120.0,
) -> SlackAssistant:
    """The app, its middleware and every listener: this module's, and the alerts' (assistant.alert_listeners)
    when SLACK_ALERT_CHANNEL is set. `ledger_factory` is called once; the app keeps the ledger."""
    for noisy in ("slack_sdk", "slack_bolt"):  # slack-sdk logs message bodies at DEBUG: never here
        logging.getLogger(noisy).setLevel(max(logging.INFO, logging.getLogger(noisy).level))
    config = claimbot_settings or Settings()
    ledger = ledger_factory()
    guard = PhiGuard()
    answers = Answers.from_settings(ledger, config, guard.watch)
    client = GuardedWebClient(
        guard,
        token=settings.bot_token.get_secret_value() if settings.bot_token else None,
        base_url=settings.base_url,
    )
    app = AsyncApp(
        client=client,
        signing_secret=settings.signing_secret.get_secret_value() if settings.signing_secret else "",
        process_before_response=False,
        name="claimbot",
    )
    permissions = Permissions()
    identity = Identity(team, client, settings.usergroup_cache_s)
    app.use(phi_guard_middleware(guard))
    app.use(dedupe_middleware(SeenEvents()))
    app.use(identity_middleware(identity))
    app.use(permission_middleware(permissions, Auditor(ledger)))
    checking: set[str] = set()
    check = checker or live_checker(config, codes=lambda: alerts.broker if alerts is not None else None)

    async def answer_for(text: str, actor: Actor, command: bool) -> Answer:
        intent = (parse_command if command else parse_phrase)(text, answers.payer_names())
        return await asyncio.to_thread(answers.answer, intent, actor)

    # --- asking ----------------------------------------------------------------------------------

    @app.command("/claim")
    @reporting
    async def claim_command(ack: Any, command: dict[str, Any], respond: AsyncRespond, context: Any) -> None:
        await ack()
        answer = await answer_for(str(command.get("text", "")), context["actor"], command=True)
        await respond(text=answer_text(answer), blocks=answer_blocks(answer), response_type="ephemeral")

    @app.event("app_mention")
    @reporting
    async def mentioned(event: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
        answer = await answer_for(str(event.get("text", "")), context["actor"], command=False)
        await client.chat_postEphemeral(  # a look-up in a channel is shown to the one who asked
            channel=event["channel"],
            user=context["slack_user_id"],
            thread_ts=event.get("thread_ts"),
            text=answer_text(answer),
            blocks=answer_blocks(answer),
        )

    @app.event("message")
    @reporting
    async def dm_received(event: dict[str, Any], say: Any, context: Any) -> None:
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return  # only people's DMs; the app does not read channels
        answer = await answer_for(str(event.get("text", "")), context["actor"], command=False)
        await say(text=answer_text(answer), blocks=answer_blocks(answer))

    assistant = AsyncAssistant()

    @assistant.thread_started
    @reporting
    async def thread_started(say: Any, set_suggested_prompts: Any) -> None:
        await say(GREETING)
        await set_suggested_prompts(prompts=list(SUGGESTED_PROMPTS), title="Try one of these")

    @assistant.user_message
    @reporting
    async def assistant_question(payload: dict[str, Any], say: Any, set_status: Any, context: Any) -> None:
        await set_status("is looking it up...")
        answer = await answer_for(str(payload.get("text", "")), context["actor"], command=False)
        await say(text=answer_text(answer), blocks=answer_blocks(answer))

    app.assistant(assistant)

    # --- the status card's buttons --------------------------------------------------------------

    async def show(
        body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient, blocks: list[Block], text: str
    ) -> None:
        """Replace the card the button was on: an ephemeral one through response_url, a message in place."""
        container = body.get("container") or {}
        if container.get("is_ephemeral") or not container.get("message_ts"):
            await respond(text=text, blocks=blocks, replace_original=True, response_type="ephemeral")
        else:
            await client.chat_update(
                channel=container["channel_id"], ts=container["message_ts"], text=text, blocks=blocks
            )

    async def card(claim_id: str, note: str | None = None) -> tuple[list[Block], str]:
        answer = await asyncio.to_thread(answers.status, claim_id)
        if isinstance(answer, NotFoundAnswer):
            return not_found_blocks(answer), answer_text(answer)
        return status_blocks(answer, note), answer_text(answer)

    @app.action(CHECK_NOW)
    @reporting
    async def check_now(
        ack: Any, action: dict[str, Any], body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        claim_id = str(action.get("value", ""))
        if claim_id in checking:
            await respond(
                text="A check of this claim is already running.", replace_original=False, response_type="ephemeral"
            )
            return
        answer = await asyncio.to_thread(answers.status, claim_id)
        if isinstance(answer, NotFoundAnswer):
            await show(body, respond, client, not_found_blocks(answer), answer_text(answer))
            return
        await show(body, respond, client, status_blocks(answer, "Checking with the payer now..."), answer_text(answer))
        checking.add(claim_id)
        try:
            failure = await check(ledger, claim_id)
        except Exception as error:  # reported on the card; the traceback goes to the log
            log.exception("slack_check_failed", claim_id=claim_id, error=error.__class__.__name__)
            failure = "the check stopped on an error (logged)"
        finally:
            checking.discard(claim_id)
        note = "Checked just now." if failure is None else f"The check got no answer: {failure}"
        blocks, text = await card(claim_id, note)
        await show(body, respond, client, blocks, text)

    @app.action(ASSIGN)
    @reporting
    async def assign(
        ack: Any,
        action: dict[str, Any],
        body: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
        context: Any,
    ) -> None:
        await ack()
        claim_id = str(action.get("value", ""))
        answer = await asyncio.to_thread(answers.status, claim_id)
        if isinstance(answer, NotFoundAnswer):
            await show(body, respond, client, not_found_blocks(answer), answer_text(answer))
            return
        done = await asyncio.to_thread(assign_to, ledger, claim_id, context["actor"])
        note = (
            "Already assigned to you."
            if not done.changed
            else f"Assigned to {done.assignee_name}" + (f" (was {done.previous_name})." if done.previous_name else ".")
        )
        blocks, text = await card(claim_id, note)
        await show(body, respond, client, blocks, text)

    @app.action(ESCALATE)
    @reporting
    async def escalate(
        ack: Any, action: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient, context: Any
    ) -> None:
        await ack()
        answer = await asyncio.to_thread(answers.status, str(action.get("value", "")))
        if not isinstance(answer, StatusAnswer):
            await respond(text=answer_text(answer), blocks=answer_blocks(answer), replace_original=False)
            return
        reached = await escalate_to_leads(answer, context["slack_user_id"])
        await respond(text=reached, replace_original=False, response_type="ephemeral")

    card_dispatchers: list[Dispatcher] = []

    def card_dispatcher() -> Dispatcher | None:
        """The escalations' dispatcher (the alerts' when they run here); it DMs the leads when there is no
        leads channel, as the card always did. None: no channel is configured at all."""
        if not card_dispatchers:
            try:
                base = (
                    alerts.dispatcher
                    if alerts is not None
                    else build_dispatcher(
                        ledger,
                        client,
                        settings,
                        team,
                        escalations or load_escalations(config.config_dir / "escalations.yaml"),
                        config.schedule_timezone,
                    )
                )
            except ValueError:  # no alert, leads or digest channel
                return None
            delivery = base.config.delivery
            if not (delivery.leads_channel and base.targets.leads_channel) and not delivery.dm_leads:
                dm = base.config.model_copy(update={"delivery": delivery.model_copy(update={"dm_leads": True})})
                base = dataclasses.replace(base, config=dm)
            card_dispatchers.append(base)
        return card_dispatchers[0]

    async def escalate_to_leads(answer: StatusAnswer, user_id: str) -> str:
        """Through the escalation records (assistant.alerts): once per claim within `rules.manual.window_hours`,
        whoever presses, on the claim's alert thread too when it has one."""
        dispatcher = card_dispatcher()
        targets = dispatcher.targets if dispatcher is not None else None
        delivery = dispatcher.config.delivery if dispatcher is not None else None
        to_channel = bool(targets and delivery and delivery.leads_channel and targets.leads_channel)
        dms = len(targets.lead_users) if targets and delivery and delivery.dm_leads else 0
        if dispatcher is None or not (to_channel or dms):
            return "No lead to escalate to: set SLACK_LEADS_CHANNEL or give someone the lead role in config/team.yaml."
        now = utc_now()
        window = timedelta(hours=dispatcher.config.rules.manual.window_hours)
        last = await asyncio.to_thread(last_card_escalation, ledger, answer.claim_id)
        if last is not None and now - last[1] < window:
            return (
                f"Claim {answer.claim_id} was escalated already at {last[1]:%Y-%m-%d %H:%M} UTC: "
                "the leads have it (nothing new was sent)."
            )
        alert_id = await asyncio.to_thread(latest_alert, ledger, answer.claim_id)
        escalation = card_escalation(
            answer.claim_id,
            answer.payer_id,
            answer.status,
            answer.billed,
            user_id,
            now,
            1 if last is None else last[0] + 1,
            alert_id,
        )
        if not await asyncio.to_thread(dispatcher.stage_manual, escalation, now):
            return f"Claim {answer.claim_id} was escalated already just now: the leads have it (nothing new was sent)."
        await dispatcher.deliver(now)
        said = ["the leads' channel"] if to_channel else []
        said += [f"{dms} lead{'s' if dms != 1 else ''} by DM"] if dms else []
        return f"Escalated to {' and '.join(said)}."

    # --- resubmission: button -> modal -> confirmation -> the guard service --------------------------

    permissions.require(APPROVE, Need.LEAD)
    service_box: list[ResubmissionService] = [resubmissions] if resubmissions else []
    claim_locks: dict[str, asyncio.Lock] = {}

    def service() -> ResubmissionService:
        if not service_box:
            service_box.append(configured_resubmissions(config, ledger, team))
        return service_box[0]

    @app.action(RESUBMIT)
    @reporting
    async def resubmit(
        ack: Any, action: dict[str, Any], body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        answer = await asyncio.to_thread(answers.status, str(action.get("value", "")))
        if not isinstance(answer, StatusAnswer):
            await respond(text=answer_text(answer), blocks=answer_blocks(answer), replace_original=False)
            return
        await client.views_open(trigger_id=body["trigger_id"], view=request_modal(answer, FIELD_PATHS))

    @app.view(RESUBMIT_MODAL)
    @reporting
    async def resubmit_reviewed(ack: Any, view: dict[str, Any]) -> None:
        claim_id = claim_of(view.get("private_metadata", "")) or ""
        answer = await asyncio.to_thread(answers.status, claim_id)
        if not isinstance(answer, StatusAnswer):
            await ack(response_action="errors", errors={REASON_BLOCK: "this claim is no longer in the ledger"})
            return
        draft, errors = read_request(claim_id, view.get("state", {}).get("values", {}))
        if draft is not None and not draft.void:
            problem = await asyncio.to_thread(change_problem, ledger, draft)
            if problem:
                errors = {CHANGES_BLOCK: problem}
        if draft is None or errors:
            await ack(response_action="errors", errors=errors)
            return
        confirm = confirmation_modal(draft, answer, team.resubmit_approval_above)
        if guard.findings(confirm):
            await ack(response_action="errors", errors={REASON_BLOCK: "the reason must not name the patient"})
            return
        await ack(response_action="update", view=confirm)

    @app.view(RESUBMIT_CONFIRM)
    @reporting
    async def resubmit_confirmed(ack: Any, view: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
        draft = Draft.from_metadata(view.get("private_metadata", ""))
        if draft is None:
            await ack()
            return
        await ack(response_action="update", view=working_modal(draft.claim_id))
        request = ResubmissionRequest(
            claim_id=draft.claim_id,
            changes=draft.changes,
            reason=draft.reason,
            void=draft.void,
            actor=context["actor"],
        )
        async with claim_locks.setdefault(draft.claim_id, asyncio.Lock()):  # a double submit waits, then is a duplicate
            outcome = await service().request_resubmission(request)
        user_id = context["slack_user_id"]
        with contextlib.suppress(SlackApiError):  # the person may have closed the modal
            await client.views_update(view_id=view["id"], view=outcome_modal(draft.claim_id, outcome.message))
        await send_dm(client, user_id, f"Claim {draft.claim_id}: {outcome.message}")
        if outcome.state is ResubmissionState.AWAITING_APPROVAL and outcome.submission_id is not None:
            blocks = approval_blocks(draft.claim_id, outcome.submission_id, user_id, outcome.message)
            for lead in await identity.holders(Role.LEAD):
                if lead != user_id:
                    await send_dm(client, lead, f"Claim {draft.claim_id}: approval asked", blocks)

    @app.action(APPROVE)
    @reporting
    async def approve(
        ack: Any,
        action: dict[str, Any],
        body: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
        context: Any,
    ) -> None:
        await ack()
        outcome = await service().approve(int(action["value"]), context["actor"])
        await after_decision(body, respond, client, int(action["value"]), outcome.message)

    @app.action(CANCEL)
    @reporting
    async def cancel(
        ack: Any,
        action: dict[str, Any],
        body: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
        context: Any,
    ) -> None:
        await ack()
        outcome = await asyncio.to_thread(service().cancel, int(action["value"]), context["actor"])
        await after_decision(body, respond, client, int(action["value"]), outcome.message)

    async def after_decision(
        body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient, submission_id: int, message: str
    ) -> None:
        """The lead's message shows what happened; the requester hears it by DM."""
        await show(
            body,
            respond,
            client,
            notice_blocks(f"Submission {submission_id}: {message}"),
            f"Submission {submission_id}",
        )
        found = await asyncio.to_thread(ledger.submission, submission_id)
        if found is not None and found.requested_by.startswith("slack:"):
            requester = found.requested_by.removeprefix("slack:")
            if requester != (body.get("user") or {}).get("id"):
                await send_dm(client, requester, f"Claim {found.claim_id}, submission {submission_id}: {message}")

    async def send_dm(client: AsyncWebClient, user_id: str, text: str, blocks: list[Block] | None = None) -> None:
        opened = await client.conversations_open(users=user_id)
        await client.chat_postMessage(channel=opened["channel"]["id"], text=text, blocks=blocks or notice_blocks(text))

    alerts: AlertRuntime | None = None
    if settings.alert_channel:
        alerts = register_alert_listeners(
            app,
            ledger,
            settings,
            team,
            permissions,
            config=escalations or load_escalations(config.config_dir / "escalations.yaml"),
            timezone=config.schedule_timezone,
            mfa_timeout_s=mfa_timeout_s,
        )
    return SlackAssistant(app, alerts)


def change_problem(ledger: Ledger, draft: Draft) -> str | None:
    """The first change the guard would refuse, named by field path (early, while the modal is open)."""
    from bots.resubmission import ChangeError, apply_changes

    try:
        apply_changes(ledger.get_claim(draft.claim_id), draft.changes)
    except ChangeError as error:
        return str(error)
    return None


def configured_resubmissions(config: Settings, ledger: Ledger, team: TeamConfig) -> ResubmissionService:
    """The guard service on this install's routes (payers.yaml), as `claimbot resubmit` builds it."""
    from bots.resubmission import ResubmissionService
    from claims.payer_config import load_payer_config

    return ResubmissionService.configured(
        ledger,
        team,
        load_payer_config(config.payers_file),
        config.data_dir,
        config.playbooks_dir,
        config.evidence_retention_days,
    )
