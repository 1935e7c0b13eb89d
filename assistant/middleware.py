"""The Slack app's cross-cutting rules, as Bolt global middleware (listeners stay thin):

1. PHI guard: the request's Web API client and its `respond()` are replaced by guarded ones, so
   EVERY outgoing payload (chat, views, assistant threads, file upload metadata, response_url posts)
   is scanned before it leaves: a value under a PHI key, or a known patient's name, member id or
   birth date anywhere in the text, blocks the call (PhiBlocked) and logs the method and the field
   paths, never the value. The patients are those the request's answers are about (PhiGuard.watch).
2. Retry de-duplication: an Events API delivery whose event_id was already handled is acknowledged
   and dropped (Slack re-sends with X-Slack-Retry-Num when it did not see a 2xx in 3 s): first by this
   process's memory, then by the audit row's idempotency key (5.), so a retry that reaches another
   replica on the same ledger is dropped too. A retry of an event nobody saw (the app was down) is
   handled once.
3. Identity: the Slack user as a claims.team.Actor, groups resolved through usergroups.users.list.
4. Permissions: every command, action, modal submit and user event needs a role (checked on each
   request, never trusted from an earlier one); a refusal is answered in plain words and audited.
5. Audit: every permitted request goes to the ledger's actions table with the Slack user, what they
   did and the claim it was about (never the text they typed: it may hold anything).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from enum import StrEnum
from typing import Any

import structlog
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from assistant.identity import Identity
from assistant.intents import IntentKind, parse_command
from claims.ledger import ClaimNotFoundError, Ledger
from claims.models import DEDUPE_KEY_MAX, Action, ActionOutcome, Patient
from claims.phi import PHI_KEYS, PhiScrubber
from claims.team import Actor, Role

log = structlog.get_logger(__name__)

Next = Callable[[], Awaitable[None]]

# --- 1. PHI guard -----------------------------------------------------------------------------------

_NOT_CONTENT = frozenset({"token", "response_url", "trigger_id", "channel", "user", "ts", "thread_ts"})


class PhiBlocked(RuntimeError):
    """An outgoing Slack payload would have carried PHI; it was not sent. Names fields, never values."""

    def __init__(self, method: str, fields: list[str]) -> None:
        super().__init__(f"{method}: not sent, PHI in {', '.join(fields)}")
        self.method = method
        self.fields = fields


class PhiGuard:
    """Knows the patients in play and refuses any payload that names one of them."""

    def __init__(self) -> None:
        self._scrubber = PhiScrubber()

    def watch(self, patients: Iterable[Patient]) -> None:
        for patient in patients:
            self._scrubber.add(patient)

    def findings(self, payload: Any, path: str = "") -> list[str]:
        """The field paths of `payload` that hold PHI."""
        found: list[str] = []
        if isinstance(payload, Mapping):
            for key, value in payload.items():
                where = f"{path}.{key}" if path else str(key)
                if str(key).lower() in PHI_KEYS and value not in (None, "", [], {}):
                    found.append(where)
                elif str(key) not in _NOT_CONTENT:
                    found += self.findings(value, where)
        elif isinstance(payload, list | tuple):
            for index, item in enumerate(payload):
                found += self.findings(item, f"{path}[{index}]")
        elif isinstance(payload, str):
            text = payload
            if text[:1] in "[{":  # a form-encoded call carries blocks and views as JSON strings
                try:
                    return self.findings(json.loads(text), path)
                except ValueError:
                    pass
            if self._scrubber.scrub(text) != text:
                found.append(path or "text")
        return found

    def check(self, method: str, payload: Any) -> None:
        fields = self.findings(payload)
        if fields:
            log.error("slack_payload_blocked", method=method, fields=fields)
            raise PhiBlocked(method, fields)


class GuardedWebClient(AsyncWebClient):
    """An AsyncWebClient whose every Web API call passes the PHI guard first."""

    def __init__(self, guard: PhiGuard, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.guard = guard

    async def api_call(  # type: ignore[override]
        self,
        api_method: str,
        *,
        http_verb: str = "POST",
        files: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        auth: dict[str, Any] | None = None,
    ) -> AsyncSlackResponse:
        self.guard.check(api_method, {"data": data, "params": params, "json": json})
        return await super().api_call(
            api_method,
            http_verb=http_verb,
            files=files,
            data=data,
            params=params,
            json=json,
            headers=headers,
            auth=auth,
        )


def guarded_client(client: AsyncWebClient, guard: PhiGuard, team_id: str | None = None) -> GuardedWebClient:
    return GuardedWebClient(
        guard,
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout,
        ssl=client.ssl,
        proxy=client.proxy,
        session=client.session,
        trust_env_in_session=client.trust_env_in_session,
        headers=client.headers,
        team_id=team_id,
        logger=client.logger,
        retry_handlers=client.retry_handlers.copy() if client.retry_handlers is not None else None,
    )


class GuardedRespond(AsyncRespond):
    """`respond()` (a post to the request's response_url), through the same guard."""

    def __init__(self, guard: PhiGuard, response_url: str | None, **kwargs: Any) -> None:
        super().__init__(response_url=response_url, **kwargs)
        self.guard = guard

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.guard.check("response_url", {"args": list(args), **kwargs})
        return await super().__call__(*args, **kwargs)


def phi_guard_middleware(guard: PhiGuard) -> Callable[..., Awaitable[Any]]:
    async def guard_outgoing(context: AsyncBoltContext, next: Next) -> None:
        context["client"] = guarded_client(context.client, guard, context.team_id)
        context["respond"] = GuardedRespond(
            guard, context.response_url, proxy=context.client.proxy, ssl=context.client.ssl
        )
        await next()

    return guard_outgoing


# --- 2. retries ------------------------------------------------------------------------------------


class SeenEvents:
    """Event ids handled in the last `ttl_s` (Slack retries within ~5 minutes), bounded in size."""

    def __init__(self, ttl_s: float = 3600.0, size: int = 50_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.size = size
        self.clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first_time(self, event_id: str) -> bool:
        now = self.clock()
        while self._seen and (len(self._seen) >= self.size or next(iter(self._seen.values())) < now - self.ttl_s):
            self._seen.popitem(last=False)
        if event_id in self._seen:
            return False
        self._seen[event_id] = now
        return True


def dedupe_middleware(seen: SeenEvents) -> Callable[..., Awaitable[BoltResponse | None]]:
    async def drop_retries(request: AsyncBoltRequest, body: dict[str, Any], next: Next) -> BoltResponse | None:
        event_id = body.get("event_id")
        if isinstance(event_id, str) and not seen.first_time(event_id):
            retry = request.headers.get("x-slack-retry-num", [None])[0]
            log.info("slack_retry_ignored", event_id=event_id, retry=retry)
            return BoltResponse(status=200, body="")
        await next()
        return None

    return drop_retries


# --- 3. identity -----------------------------------------------------------------------------------


def slack_user_of(body: Mapping[str, Any]) -> str | None:
    """Who is asking: a slash command's, an interaction's or a user event's Slack user id."""
    if isinstance(body.get("user_id"), str):
        return str(body["user_id"])
    user = body.get("user")
    if isinstance(user, Mapping) and isinstance(user.get("id"), str):
        return str(user["id"])
    event = body.get("event")
    if isinstance(event, Mapping):
        if event.get("bot_id") or event.get("subtype"):
            return None  # bots (this app included) and edits/joins: nobody is asking
        thread = event.get("assistant_thread")
        if isinstance(thread, Mapping) and isinstance(thread.get("user_id"), str):
            return str(thread["user_id"])
        if isinstance(event.get("user"), str):
            return str(event["user"])
    return None


def identity_middleware(identity: Identity) -> Callable[..., Awaitable[None]]:
    async def resolve_actor(context: AsyncBoltContext, body: dict[str, Any], next: Next) -> None:
        user_id = slack_user_of(body)
        if user_id is not None:
            context["slack_user_id"] = user_id
            context["actor"] = await identity.actor(user_id)
        await next()

    return resolve_actor


# --- 4. permissions and 5. audit ----------------------------------------------------------------------


class Need(StrEnum):
    ANYONE = "anyone"  # no role: the listener checks (an MFA code comes from the credential's owner)
    MEMBER = "member"  # any role on the team (look-ups)
    SPECIALIST = "specialist"
    LEAD = "lead"


def satisfies(actor: Actor, need: Need) -> bool:
    if need is Need.ANYONE:
        return True
    if need is Need.MEMBER:
        return bool(actor.roles)
    return actor.has(Role(need.value))


class Permissions:
    """What each request needs. Commands and user events: a team member; buttons and modal submits:
    a specialist unless registered otherwise (`require`)."""

    def __init__(self) -> None:
        self._needs: dict[str, Need] = {}

    def require(self, name: str, need: Need) -> None:
        """`name`: an action_id, a view callback_id, a command ("/claim") or an event type."""
        self._needs[name] = need

    def need(self, kind: str, name: str) -> Need:
        default = Need.MEMBER if kind in ("command", "event") else Need.SPECIALIST
        return self._needs.get(name, default)


def request_kind(body: Mapping[str, Any]) -> tuple[str, str]:
    """('command', '/claim'), ('action', action_id), ('view', callback_id), ('event', type) or ('other', type)."""
    if isinstance(body.get("command"), str):
        return "command", str(body["command"])
    kind = body.get("type")
    if kind == "block_actions":
        actions = body.get("actions") or [{}]
        return "action", str(actions[0].get("action_id", ""))
    if kind in ("view_submission", "view_closed"):
        return "view", str((body.get("view") or {}).get("callback_id", ""))
    if kind == "event_callback":
        return "event", str((body.get("event") or {}).get("type", ""))
    return "other", str(kind or "")


def _claim_ref(kind: str, body: Mapping[str, Any]) -> str | None:
    """The claim a request is about, as the request says it (verified against the ledger before audit)."""
    if kind == "action":
        value = (body.get("actions") or [{}])[0].get("value")
        return value if isinstance(value, str) else None
    if kind == "view":
        try:
            meta = json.loads((body.get("view") or {}).get("private_metadata") or "{}")
        except ValueError:
            return None
        claim_id = meta.get("claim_id") if isinstance(meta, dict) else None
        return claim_id if isinstance(claim_id, str) else None
    if kind == "command":
        intent = parse_command(str(body.get("text", "")))
        return intent.claim_id if intent.kind is IntentKind.STATUS else None
    return None


def _request_key(kind: str, body: Mapping[str, Any], user_id: str) -> str:
    """One audit row per request Slack made: a retry or a second replica's copy of it has the same key.
    A request without the ids that name it gets a key of its own (never taken for another's retry)."""
    action = (body.get("actions") or [{}])[0]
    view = body.get("view") or {}
    naming = {
        "command": (body.get("trigger_id"),),
        "action": (user_id, action.get("action_id"), action.get("action_ts")),
        "view": (view.get("id"), view.get("hash"), body.get("trigger_id")),
        "event": (body.get("event_id"),),
    }.get(kind)
    if naming is None or not all(naming):
        naming = (user_id, time.time_ns())
    return f"slack:{kind}:{':'.join(str(part) for part in naming)}"[:DEDUPE_KEY_MAX]


class Auditor:
    """Writes one actions row per request (who, what, which claim, allowed or refused)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def _record(self, body: Mapping[str, Any], actor: Actor, user_id: str, outcome: ActionOutcome, need: Need) -> bool:
        kind, name = request_kind(body)
        channel = (
            body.get("channel_id") or (body.get("channel") or {}).get("id") or (body.get("event") or {}).get("channel")
        )
        action = Action(
            actor=actor.id,
            action=f"slack.{kind}:{name}"[:100],
            idempotency_key=_request_key(kind, body, user_id),
            outcome=outcome,
            claim_id=_claim_ref(kind, body),
            detail={
                "slack_user": user_id,
                "channel": str(channel) if channel else None,
                "needed": need.value,
                "roles": ",".join(sorted(r.value for r in actor.roles)) or None,
            },
        )
        try:
            return self.ledger.record_action(action)
        except ClaimNotFoundError:  # the request named a claim the ledger lacks: audited without it
            return self.ledger.record_action(action.model_copy(update={"claim_id": None}))

    async def record(
        self, body: Mapping[str, Any], actor: Actor, user_id: str, outcome: ActionOutcome, need: Need
    ) -> bool:
        """False when this very request was audited before (by this process or another on the same ledger)."""
        return await asyncio.to_thread(self._record, body, actor, user_id, outcome, need)


REFUSAL = "You need the {need} role for this. Ask a team lead to add you to config/team.yaml or its Slack group."


def _refusal_text(need: Need) -> str:
    if need is Need.MEMBER:
        return "I only answer people on the claims team. Ask a team lead to add you to config/team.yaml."
    return REFUSAL.format(need=need.value)


_telling: set[asyncio.Task[Any]] = set()


def _after_ack(work: Coroutine[Any, Any, Any]) -> None:
    """Tell the person after the ack has gone (the refusal's 200 must not wait for Slack's Web API)."""
    task = asyncio.get_running_loop().create_task(work)
    _telling.add(task)
    task.add_done_callback(_telling.discard)


def permission_middleware(permissions: Permissions, auditor: Auditor) -> Callable[..., Awaitable[BoltResponse | None]]:
    async def authorize(context: AsyncBoltContext, body: dict[str, Any], next: Next) -> BoltResponse | None:
        actor: Actor | None = context.get("actor")
        user_id: str | None = context.get("slack_user_id")
        if actor is None or user_id is None:
            await next()  # nobody is asking (bot messages, url verification): nothing to permit
            return None
        kind, name = request_kind(body)
        need = permissions.need(kind, name)
        allowed = satisfies(actor, need)
        outcome = ActionOutcome.SUCCEEDED if allowed else ActionOutcome.REFUSED
        if not await auditor.record(body, actor, user_id, outcome, need):
            log.info("slack_request_seen_before", request=f"{kind}:{name}")  # a retry another replica handled
            return BoltResponse(status=200, body="")
        if allowed:
            await next()
            return None
        log.info("slack_request_refused", request=f"{kind}:{name}", needed=need.value)
        text = _refusal_text(need)
        if kind == "command":
            return BoltResponse(status=200, body={"response_type": "ephemeral", "text": text})
        if kind == "view":
            return BoltResponse(
                status=200,
                body={
                    "response_action": "update",
                    "view": {
                        "type": "modal",
                        "title": {"type": "plain_text", "text": "Not allowed"},
                        "close": {"type": "plain_text", "text": "Close"},
                        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
                    },
                },
            )
        if kind == "action" and context.respond is not None and context.response_url:
            _after_ack(context.respond(text=text, response_type="ephemeral", replace_original=False))
        elif kind == "event" and context.channel_id:
            event = body.get("event") or {}
            _after_ack(
                context.client.chat_postEphemeral(
                    channel=context.channel_id,
                    user=user_id,
                    text=text,
                    thread_ts=event.get("thread_ts") or event.get("ts"),
                )
            )
        return BoltResponse(status=200, body="")

    return authorize
