"""Denial alerts: the dispatcher that turns the ledger's event outbox into Slack messages, once each.

One pass (`Dispatcher.run_once`):
1. **Stage.** Pending events are read (`Ledger.pending_events`) and, in ONE ledger transaction, become
   rows: a denial alert per denial (`denial_alerts`, unique per claim and denial codes: the same denial
   never alerts twice), the message that will carry it (`alert_messages`: one per denial, or one per
   payer when a run found `group_when_at_least` or more), a reply in the thread of the claim's alert for
   any later change of the claim (and the parent marked for an update), an escalation for a bot failure;
   and the events are marked dispatched in that same transaction. Nothing is sent yet.
2. **Escalate.** The rules of config/escalations.yaml run over the open alerts and claims
   (assistant.escalations); new escalations are staged the same way (unique by dedupe key).
3. **Send.** Every staged message without a Slack `ts` is posted, oldest first (a reply after its
   parent); its `ts` is written as soon as Slack answers. When Slack is down or rate-limits, the pass
   stops and the rest waits for the next pass: nothing is lost, nothing is sent twice.
4. **Update.** Parents marked `update_due` are re-rendered from the ledger and `chat.update`d.

Messages carry no PHI: claim id, payer, amounts, codes and their texts, ages, Slack ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa
import structlog
from pydantic import BaseModel, ConfigDict
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from assistant.cards import RESUBMIT, money
from assistant.digest import build_digest, chart_of, digest_blocks, digest_text
from assistant.escalations import (
    CARD_KEY,
    AlertFacts,
    ClaimFacts,
    DeadlineFacts,
    Escalation,
    EscalationConfig,
    RuleName,
    bot_failure_escalation,
    by_rule,
    due_escalations,
)
from claims.codesets import CodeKind, CodeSets
from claims.ledger import ClaimNotFoundError, Ledger, LedgerWriter
from claims.ledger.alert_schema import alert_messages, denial_alerts, escalations
from claims.ledger.money import from_cents, to_cents
from claims.ledger.schema import claims
from claims.models import Event, EventKind, utc_now
from claims.status import ClaimStatus
from claims.team import Role, TeamConfig

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

    from claims.denials import DenialPlaybook

log = structlog.get_logger("assistant.alerts")

DENIAL_KINDS = frozenset({EventKind.DENIED, EventKind.PARTIALLY_PAID})
STILL_DENIED = frozenset({ClaimStatus.DENIED, ClaimStatus.PARTIALLY_PAID})
ZERO = Decimal("0.00")

#: The alert's buttons carry the claim id (the audit links the request to the claim; a claim has one open
#: alert at a time). Resubmit is the status card's own button (assistant.cards), whose modal runs the guard.
ACK, ASSIGN, ESCALATE, SNOOZE = ("alert_ack", "alert_assign", "alert_escalate", "alert_snooze")


class SlackUnavailable(RuntimeError):
    """Slack did not take a call (down, rate-limited, refused): the pass stops, the rest waits."""


class SlackPoster(Protocol):
    """The few Web API calls the dispatcher makes (WebApiPoster; tests may pass a fake)."""

    async def post(self, channel: str, text: str, blocks: list[dict[str, Any]], thread_ts: str | None) -> str: ...

    async def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None: ...

    async def open_dm(self, user_id: str) -> str: ...

    async def upload(self, channel: str, filename: str, title: str, content: bytes, thread_ts: str | None) -> str: ...


class WebApiPoster:
    """SlackPoster over slack_sdk's AsyncWebClient (pointed at SLACK_API_URL, guarded by assistant.middleware)."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def _call(self, method: str, **kwargs: Any) -> Mapping[str, Any]:
        import aiohttp
        from slack_sdk.errors import SlackApiError

        try:
            response = await self.client.api_call(method, json=kwargs)
        except SlackApiError as err:
            status = err.response.status_code if err.response is not None else None
            error = err.response.get("error") if err.response is not None else None
            raise SlackUnavailable(f"{method}: Slack answered {status} {error or ''}".strip()) from err
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            raise SlackUnavailable(f"{method}: Slack could not be reached ({type(err).__name__})") from err
        data = response.data
        return data if isinstance(data, Mapping) else {}

    async def post(self, channel: str, text: str, blocks: list[dict[str, Any]], thread_ts: str | None) -> str:
        extra = {"thread_ts": thread_ts} if thread_ts else {}
        data = await self._call(
            "chat.postMessage",
            channel=channel,
            text=text,
            blocks=blocks,
            unfurl_links=False,
            unfurl_media=False,
            **extra,
        )
        return str(data["ts"])

    async def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None:
        await self._call("chat.update", channel=channel, ts=ts, text=text, blocks=blocks)

    async def open_dm(self, user_id: str) -> str:
        data = await self._call("conversations.open", users=user_id)
        return str(data["channel"]["id"])

    async def upload(self, channel: str, filename: str, title: str, content: bytes, thread_ts: str | None) -> str:
        """Slack's external upload flow, every step through the client's base URL (SLACK_API_URL):
        files.getUploadURLExternal, the bytes POSTed to the URL it gave, files.completeUploadExternal."""
        import httpx

        ticket = await self._call("files.getUploadURLExternal", filename=filename, length=len(content))
        try:
            async with httpx.AsyncClient(timeout=30.0) as http:
                sent = await http.post(str(ticket["upload_url"]), content=content)
        except httpx.HTTPError as err:
            raise SlackUnavailable(f"file upload: Slack could not be reached ({type(err).__name__})") from err
        if sent.status_code != 200:
            raise SlackUnavailable(f"file upload: Slack answered {sent.status_code}")
        extra = {"thread_ts": thread_ts} if thread_ts else {}
        await self._call(
            "files.completeUploadExternal",
            files=[{"id": ticket["file_id"], "title": title}],
            channel_id=channel,
            **extra,
        )
        return str(ticket["file_id"])


@dataclass(frozen=True)
class AlertTargets:
    """Where things go: channel ids from SlackSettings, the leads from team.yaml."""

    alert_channel: str
    leads_channel: str | None = None
    lead_group: str | None = None  # a Slack user group id (S...) mentioned in escalations
    lead_users: tuple[str, ...] = ()  # Slack user ids DMed when delivery.dm_leads is on
    digest_channel: str | None = None  # the daily digest's channel; None: the alert channel


# --- what an alert shows (read from the ledger; PHI-free) -------------------------------------------


class DenialView(BaseModel):
    model_config = ConfigDict(frozen=True)

    alert_id: int
    claim_id: str
    payer_id: str
    status: ClaimStatus
    billed: Decimal
    denied: Decimal
    reasons: tuple[str, ...]  # "CO-50 Not deemed a medical necessity by the payer"
    age_days: int | None
    acknowledged_by: str | None
    snoozed_until: datetime | None
    closed_status: str | None
    assignee_name: str | None = None
    recommendation: str | None = None  # the denial playbook's next step (claims.denials)


def _state_line(view: DenialView) -> str:
    assigned = f" Assigned to {view.assignee_name}." if view.assignee_name else ""
    if view.closed_status:
        return f"Closed: the claim is now {view.closed_status}.{assigned}"
    if view.acknowledged_by:
        return f"Acknowledged by <@{view.acknowledged_by}>.{assigned}"
    if view.snoozed_until:
        return f"Snoozed until {view.snoozed_until:%Y-%m-%d %H:%M} UTC.{assigned}"
    return f"Not acknowledged yet.{assigned}"


def alert_buttons(claim_id: str, snooze_hours: Sequence[int]) -> dict[str, Any]:
    value = claim_id
    return {
        "type": "actions",
        "block_id": f"alert_actions:{claim_id}",
        "elements": [
            {"type": "button", "action_id": ACK, "text": {"type": "plain_text", "text": "Acknowledge"}, "value": value},
            {
                "type": "button",
                "action_id": ASSIGN,
                "text": {"type": "plain_text", "text": "Assign to me"},
                "value": value,
            },
            {
                "type": "button",
                "action_id": RESUBMIT,
                "text": {"type": "plain_text", "text": "Resubmit"},
                "value": value,
            },
            {
                "type": "button",
                "action_id": ESCALATE,
                "style": "danger",
                "text": {"type": "plain_text", "text": "Escalate"},
                "value": value,
            },
            {
                "type": "static_select",
                "action_id": SNOOZE,
                "placeholder": {"type": "plain_text", "text": "Snooze"},
                "options": [
                    {"text": {"type": "plain_text", "text": f"Snooze {h} h"}, "value": f"{claim_id}:{h}"}
                    for h in snooze_hours
                ],
            },
        ],
    }


def denial_blocks(view: DenialView, snooze_hours: Sequence[int]) -> list[dict[str, Any]]:
    age = f"{view.age_days} days" if view.age_days is not None else "unknown"
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"*Denial: claim {view.claim_id}* · {view.payer_id}"},
            "fields": [
                {"type": "mrkdwn", "text": f"*Denied*\n{money(view.denied)} of {money(view.billed)}"},
                {"type": "mrkdwn", "text": f"*Age*\n{age}"},
                {"type": "mrkdwn", "text": f"*Status*\n{view.status.value}"},
            ],
        },
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "*Reason*\n" + ("\n".join(view.reasons) or "none given")},
        },
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "*Recommended next step*\n"
                + (view.recommendation or "The payer gave no reason code here: read the remittance (835)."),
            },
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _state_line(view)}]},
    ]
    if not view.closed_status:
        blocks.append(alert_buttons(view.claim_id, snooze_hours))
    return blocks


def group_blocks(payer_id: str, views: Sequence[DenialView], snooze_hours: Sequence[int]) -> list[dict[str, Any]]:
    total = sum((v.denied for v in views), ZERO)
    open_views = [v for v in views if not v.closed_status]
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"*{len(views)} denials from {payer_id}* · {money(total)} denied · {len(open_views)} open",
            },
        }
    ]
    for view in views[:40]:  # Slack allows 50 blocks: the rest are counted, and each has its own thread line
        codes = ", ".join(r.split(" ", 1)[0] for r in view.reasons) or "no code"
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"claim {view.claim_id}: {money(view.denied)} ({codes}) · {_state_line(view)}",
                },
                **(
                    {}
                    if view.closed_status
                    else {
                        "accessory": {
                            "type": "button",
                            "action_id": ACK,
                            "text": {"type": "plain_text", "text": "Acknowledge"},
                            "value": view.claim_id,
                        }
                    }
                ),
            }
        )
    if len(views) > 40:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"and {len(views) - 40} more"}]})
    del snooze_hours  # a group offers Acknowledge per claim; its claims' own buttons are on their alerts
    return blocks


def denial_text(view: DenialView) -> str:
    """The notification fallback: generic on purpose (lock screens show it)."""
    return f"Denial: claim {view.claim_id} at {view.payer_id}, {money(view.denied)}"


def group_text(payer_id: str, count: int) -> str:
    return f"{count} new denials from {payer_id}"


# --- the ledger side ----------------------------------------------------------------------------------


def _insert(conn: Connection, table: sa.Table) -> Any:
    return postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)


def _insert_new(conn: Connection, table: sa.Table, key: str, values: dict[str, Any]) -> int | None:
    """Insert unless the unique key exists: the new row's id, or None when it was there already."""
    row = conn.execute(
        _insert(conn, table).values(**values).on_conflict_do_nothing(index_elements=[key]).returning(table.c.id)
    ).first()
    return None if row is None else int(row[0])


class SentMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    kind: str
    channel: str
    ts: str | None
    parent_ts: str | None
    parent_created_at: datetime | None


@dataclass
class PassReport:
    events: int = 0
    alerts: int = 0
    replies: int = 0
    escalations: int = 0
    sent: int = 0
    updated: int = 0
    waiting: int = 0  # staged messages Slack has not taken yet
    slack_error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Dispatcher:
    """One dispatcher per process; `run_once` is safe to call again at any time, and from two processes at
    once (`slack serve` and a `slack dispatch`): staging is unique by key, and a message is taken by one
    sender (`_claim`) before it is posted."""

    ledger: Ledger
    poster: SlackPoster
    targets: AlertTargets
    config: EscalationConfig = field(default_factory=EscalationConfig)
    schedule_timezone: str = "UTC"
    codesets: CodeSets = field(default_factory=CodeSets)
    _denial_playbook: DenialPlaybook | None = field(default=None, init=False, repr=False)

    # --- views ----------------------------------------------------------------------------------

    def _views(self, conn: Connection, where: sa.ColumnElement[bool], now: datetime) -> list[DenialView]:
        rows = conn.execute(
            sa.select(denial_alerts, claims.c.claim_id, claims.c.submitted_date, claims.c.service_date_from)
            .join(claims, claims.c.id == denial_alerts.c.claim_pk)
            .where(where)
            .order_by(denial_alerts.c.id)
        ).all()
        from assistant.assignments import assignee_of
        from claims.deadlines import current_check

        views = []
        for row in rows:
            summary = self.ledger.summary(row.claim_id)
            assignee = assignee_of(self.ledger, row.claim_id)
            check = current_check(self.ledger.history(row.claim_id))
            found = self._playbook().recommend_claim(check.denials, row.payer_id) if check else None
            since: date = row.submitted_date or row.service_date_from
            views.append(
                DenialView(
                    alert_id=row.id,
                    claim_id=row.claim_id,
                    payer_id=row.payer_id,
                    status=summary.status,
                    billed=summary.billed_amount,
                    denied=from_cents(row.denied_cents),
                    reasons=tuple(self._reason_text(code) for code in row.reasons.split(",") if code),
                    age_days=(now.date() - since).days,
                    acknowledged_by=row.acknowledged_by,
                    snoozed_until=row.snoozed_until if row.snoozed_until and row.snoozed_until > now else None,
                    closed_status=row.closed_status,
                    assignee_name=assignee.assignee_name if assignee else None,
                    recommendation=found.next_step if found else None,
                )
            )
        return views

    def _playbook(self) -> DenialPlaybook:
        if self._denial_playbook is None:
            from claims.denials import load_denial_playbook

            self._denial_playbook = load_denial_playbook(codes=self.codesets)
        return self._denial_playbook

    def _reason_text(self, code: str) -> str:
        if ":" in code:  # a 277's category:status pair (no CARC on a 277)
            found = self.codesets.explain(CodeKind.CATEGORY, code)
            words = " / ".join(c.description for c in found)
            return f"payer status {code}" + (f" {words}" if words else "") + " (no reason code: see the remittance)"
        group, _, carc = code.partition("-")
        return self.codesets.denial_text(group, carc) if carc else code

    def render(self, message_id: int, now: datetime | None = None) -> tuple[str, list[dict[str, Any]]]:
        """The text and blocks of an alert or group message as the ledger says now."""
        now = now or utc_now()
        with self.ledger.engine.connect() as conn:
            message = conn.execute(sa.select(alert_messages).where(alert_messages.c.id == message_id)).one()
            if message.kind not in ("alert", "group"):
                return message.text, list(message.blocks)
            views = self._views(conn, denial_alerts.c.message_id == message_id, now)
        hours = self.config.alerts.snooze_hours
        if message.kind == "alert" and len(views) == 1:
            return denial_text(views[0]), denial_blocks(views[0], hours)
        return group_text(message.payer_id or "", len(views)), group_blocks(message.payer_id or "", views, hours)

    # --- 1. staging events ------------------------------------------------------------------------

    def _denial_of(self, event: Event) -> tuple[str, Decimal, tuple[str, ...]] | None:
        """(dedupe key, denied amount, reasons) of a denial event. The reasons are its CARCs (group-CARC),
        or, from a 277 that carries none, the payer's category:status code pair."""
        if event.kind not in DENIAL_KINDS or not event.claim_id:
            return None
        from claims.deadlines import current_check, denied_amount

        try:
            summary = self.ledger.summary(event.claim_id)
            check = current_check(self.ledger.history(event.claim_id))
        except ClaimNotFoundError:
            return None
        amount = denied_amount(check) if check is not None else ZERO
        if not amount:
            paid = Decimal(str(event.payload.get("paid_amount") or "0"))
            amount = max(summary.billed_amount - paid, ZERO)
        codes = event.payload.get("denials")
        reasons = tuple(sorted(set(codes))) if isinstance(codes, list) and codes else ()
        if not reasons:
            category, status = event.payload.get("category_code"), event.payload.get("status_code")
            reasons = (f"{category or '?'}:{status or '?'}",)
        return f"denial:{event.claim_id}:{'+'.join(reasons)}", amount, reasons

    def _stage_message(
        self,
        conn: Connection,
        key: str,
        kind: str,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]],
        now: datetime,
        payer_id: str | None = None,
        parent_id: int | None = None,
    ) -> int:
        found = _insert_new(
            conn,
            alert_messages,
            "message_key",
            {
                "message_key": key,
                "kind": kind,
                "channel": channel,
                "payer_id": payer_id,
                "parent_id": parent_id,
                "text": text[:3000],
                "blocks": blocks,
                "created_at": now,
                "update_due": False,
            },
        )
        if found is not None:
            return found
        return int(conn.execute(sa.select(alert_messages.c.id).where(alert_messages.c.message_key == key)).scalar_one())

    def stage_events(self, now: datetime) -> PassReport:
        report = PassReport()
        events = self.ledger.pending_events(limit=self.config.alerts.batch)
        if not events:
            return report
        report.events = len(events)
        denials: list[tuple[Event, str, Decimal, tuple[str, ...]]] = []
        for event in events:
            found = self._denial_of(event)
            if found is not None:
                denials.append((event, *found))
        with self.ledger.writer() as writer:
            conn = _connection(writer)
            claim_pks = _claim_pks(conn, {e.claim_id for e in events if e.claim_id})
            fresh, redelivered = self._fresh_denials(conn, denials, claim_pks)
            alerting = {d[0].id for d in fresh} | redelivered
            # a claim's changes before its new denial concern its earlier alert; those after, the new one
            first_new: dict[str, int] = {}
            for event, *_ in fresh:
                first_new.setdefault(event.claim_id or "", event.id or 0)

            def before_new(event: Event) -> bool:
                return event.claim_id not in first_new or (event.id or 0) < first_new[event.claim_id or ""]

            changes = [e for e in events if e.id not in alerting]
            for event in [e for e in changes if before_new(e)]:
                report.replies += self._stage_event(conn, event, claim_pks, now, report)
            report.alerts = self._stage_denials(conn, fresh, claim_pks, now)
            for event in [e for e in changes if not before_new(e)]:
                report.replies += self._stage_event(conn, event, claim_pks, now, report)
            writer.mark_dispatched([e.id for e in events if e.id is not None])
        return report

    def _fresh_denials(
        self,
        conn: Connection,
        denials: Sequence[tuple[Event, str, Decimal, tuple[str, ...]]],
        claim_pks: Mapping[str, int],
    ) -> tuple[list[tuple[Event, str, Decimal, tuple[str, ...]]], set[int | None]]:
        """The denials never alerted (the first of each key in this pass), and the events that raised an
        alert already (the outbox delivered again: nothing to do). Any other denial alerted before is a
        change of its alert: a thread line, and the alert open again."""
        seen: set[str] = set()
        fresh, redelivered = [], set()
        for denial in denials:
            event, key = denial[0], denial[1]
            if event.claim_id not in claim_pks or key in seen:
                continue
            seen.add(key)
            known = conn.execute(sa.select(denial_alerts.c.event_id).where(denial_alerts.c.dedupe_key == key)).first()
            if known is None:
                fresh.append(denial)
            elif known.event_id == event.id:
                redelivered.add(event.id)
        return fresh, redelivered

    def _stage_event(
        self, conn: Connection, event: Event, claim_pks: Mapping[str, int], now: datetime, report: PassReport
    ) -> int:
        """An event that raises no new alert: a change of the claim's alert, or a bot failure's escalation."""
        escalation = bot_failure_escalation(self.config, event)
        if escalation is not None:
            report.escalations += self._stage_escalations(conn, [escalation], {}, now)
        if event.claim_id and event.claim_id in claim_pks:
            return self._stage_change(conn, event, claim_pks[event.claim_id], now)
        return 0

    def _stage_denials(
        self,
        conn: Connection,
        fresh: Sequence[tuple[Event, str, Decimal, tuple[str, ...]]],
        claim_pks: Mapping[str, int],
        now: datetime,
    ) -> int:
        """One alert per fresh denial, in one message each or one per payer and run; returns how many."""
        runs: dict[tuple[str, str], list[tuple[Event, str, Decimal, tuple[str, ...]]]] = {}
        for denial in fresh:
            event = denial[0]
            run = f"sweep:{event.sweep_id}" if event.sweep_id is not None else f"batch:{now:%Y%m%dT%H%M%S}"
            runs.setdefault((event.payer_id or "", run), []).append(denial)
        alerted = 0
        for (payer_id, run), members in runs.items():
            grouped = len(members) >= self.config.alerts.group_when_at_least
            group_id = None
            if grouped:
                group_id = self._stage_message(
                    conn,
                    f"group:{payer_id}:{run}",
                    "group",
                    self.targets.alert_channel,
                    group_text(payer_id, len(members)),
                    [],
                    now,
                    payer_id,
                )
            for event, key, amount, codes in members:
                claim_id = event.claim_id or ""
                self._close_earlier(conn, claim_pks[claim_id], "denied again", now)
                message_id = group_id or self._stage_message(
                    conn,
                    f"alert:{key}",
                    "alert",
                    self.targets.alert_channel,
                    f"Denial: claim {claim_id} at {payer_id}",
                    [],
                    now,
                    payer_id,
                )
                alert_id = _insert_new(
                    conn,
                    denial_alerts,
                    "dedupe_key",
                    {
                        "dedupe_key": key,
                        "claim_pk": claim_pks[claim_id],
                        "payer_id": payer_id,
                        "event_id": event.id,
                        "message_id": message_id,
                        "denied_cents": to_cents(amount),
                        "reasons": ",".join(codes)[:200],
                        "created_at": now,
                    },
                )
                alerted += alert_id is not None
        return alerted

    def _close_earlier(self, conn: Connection, claim_pk: int, status: str, now: datetime) -> None:
        conn.execute(
            denial_alerts.update()
            .where(denial_alerts.c.claim_pk == claim_pk, denial_alerts.c.closed_at.is_(None))
            .values(closed_at=now, closed_status=status)
        )

    def _stage_change(self, conn: Connection, event: Event, claim_pk: int, now: datetime) -> int:
        """A later change of a claim that has an alert: a line in the alert's thread, the parent updated,
        the alert closed once the claim is no longer denied (and open again when it is denied again)."""
        latest = conn.execute(
            sa.select(denial_alerts.c.id, denial_alerts.c.message_id, denial_alerts.c.closed_at)
            .where(denial_alerts.c.claim_pk == claim_pk)
            .order_by(denial_alerts.c.id.desc())
            .limit(1)
        ).first()
        if latest is None:
            return 0
        status = str(event.payload.get("status") or event.kind.value)
        paid = event.payload.get("paid_amount")
        line = f"Claim {event.claim_id} is now *{status}*" + (f", paid {money(Decimal(str(paid)))}" if paid else "")
        message = conn.execute(
            sa.select(alert_messages.c.channel).where(alert_messages.c.id == latest.message_id)
        ).scalar_one()
        self._stage_message(
            conn,
            f"reply:{event.dedupe_key}",
            "reply",
            message,
            line,
            [{"type": "section", "text": {"type": "mrkdwn", "text": line}}],
            now,
            event.payer_id,
            parent_id=latest.message_id,
        )
        if latest.closed_at is None and status not in STILL_DENIED:
            conn.execute(
                denial_alerts.update()
                .where(denial_alerts.c.id == latest.id)
                .values(closed_at=now, closed_status=status)
            )
        elif latest.closed_at is not None and status in STILL_DENIED:  # denied again for the same reasons
            conn.execute(
                denial_alerts.update().where(denial_alerts.c.id == latest.id).values(closed_at=None, closed_status=None)
            )
        conn.execute(alert_messages.update().where(alert_messages.c.id == latest.message_id).values(update_due=True))
        return 1

    # --- 2. escalations ---------------------------------------------------------------------------

    def alert_facts(self, conn: Connection) -> list[AlertFacts]:
        return [_facts(row) for row in conn.execute(_facts_query().where(denial_alerts.c.closed_at.is_(None)))]

    def claim_facts(self) -> tuple[list[ClaimFacts], list[DeadlineFacts]]:
        rules = self.config.rules
        if not (rules.unresolved.enabled or rules.timely_filing.enabled):
            return [], []
        from claims.deadlines import deadlines_of
        from claims.payer_config import DeadlineRules
        from claims.status import FINAL_STATUSES

        snapshots = self.ledger.claim_snapshots()
        facts = [
            ClaimFacts(
                claim_id=s.claim_id,
                payer_id=s.payer_id,
                status=s.status,
                submitted_date=s.submitted_date,
                billed_amount=s.billed_amount,
            )
            for s in snapshots
        ]
        deadlines: list[DeadlineFacts] = []
        if rules.timely_filing.enabled:
            shipped = DeadlineRules.shipped(self.ledger.payers())
            for s in snapshots:
                if s.status in FINAL_STATUSES:
                    continue
                # the snapshot says the payer has not decided: timely filing is all that runs, and it needs
                # no history (claims.deadlines.deadlines_of with an empty one)
                found = deadlines_of(
                    s.claim_id, shipped.for_payer(s.payer_id), s.service_date_from, s.billed_amount, ()
                )
                for deadline in found.deadlines:
                    deadlines.append(
                        DeadlineFacts(
                            claim_id=s.claim_id,
                            payer_id=s.payer_id,
                            deadline=deadline.due,
                            amount_at_risk=found.amount_at_risk,
                        )
                    )
        return facts, deadlines

    def stage_escalations(self, now: datetime) -> int:
        with self.ledger.engine.connect() as conn:
            alerts = self.alert_facts(conn)
        claim_list, deadlines = self.claim_facts()
        due = due_escalations(self.config, self.schedule_timezone, now, alerts, claim_list, deadlines)
        if not due:
            return 0
        with self.ledger.writer() as writer:
            conn = _connection(writer)
            return self._stage_escalations(conn, due, _claim_pks(conn, {e.claim_id for e in due if e.claim_id}), now)

    def stage_manual(self, escalation: Escalation, now: datetime) -> int:
        with self.ledger.writer() as writer:
            conn = _connection(writer)
            pks = _claim_pks(conn, {escalation.claim_id} if escalation.claim_id else set())
            return self._stage_escalations(conn, [escalation], pks, now)

    def _stage_escalations(
        self, conn: Connection, due: Sequence[Escalation], claim_pks: Mapping[str, int], now: datetime
    ) -> int:
        fresh: list[tuple[int, Escalation]] = []
        for escalation in due:
            esc_id = _insert_new(
                conn,
                escalations,
                "dedupe_key",
                {
                    "dedupe_key": escalation.dedupe_key,
                    "rule": escalation.rule.value,
                    "claim_pk": claim_pks.get(escalation.claim_id or ""),
                    "payer_id": escalation.payer_id,
                    "denial_alert_id": escalation.alert_id,
                    "repeat": escalation.repeat,
                    "created_at": now,
                },
            )
            if esc_id is not None:
                fresh.append((esc_id, escalation))
        if not fresh:
            return 0
        delivery = self.config.delivery
        mention = (
            f"<!subteam^{self.targets.lead_group}> " if delivery.mention_lead_group and self.targets.lead_group else ""
        )
        destinations: list[str] = []
        if delivery.leads_channel and self.targets.leads_channel:
            destinations.append(self.targets.leads_channel)
        if delivery.dm_leads:
            destinations += [f"dm:{user}" for user in self.targets.lead_users]
        if not destinations:
            log.warning("escalations staged with nowhere to send them", count=len(fresh))
        grouped = by_rule([e for _, e in fresh])
        first_id = {rule: min(i for i, e in fresh if e.rule is rule) for rule in grouped}
        for rule, items in grouped.items():
            text = f"{mention}Escalation ({_RULE_TITLE[rule]}): {len(items)} item{'s' if len(items) > 1 else ''}"
            lines = [f"• {e.detail}" + (f" (evidence {e.evidence_ref})" if e.evidence_ref else "") for e in items[:30]]
            if len(items) > 30:
                lines.append(f"and {len(items) - 30} more")
            blocks = [
                {"type": "section", "text": {"type": "mrkdwn", "text": f"{mention}*Escalation: {_RULE_TITLE[rule]}*"}},
                {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:2900]}},
            ]
            message_id = None
            for destination in destinations:
                message_id = self._stage_message(
                    conn,
                    f"esc:{rule.value}:{first_id[rule]}:{destination}",
                    "escalation",
                    destination,
                    text,
                    blocks,
                    now,
                )
            ids = [i for i, e in fresh if e.rule is rule]
            if message_id is not None:
                conn.execute(escalations.update().where(escalations.c.id.in_(ids)).values(message_id=message_id))
            for esc_id, escalation in fresh:
                if escalation.rule is rule and escalation.alert_id is not None:
                    self._stage_thread_note(conn, esc_id, escalation, now)
        return len(fresh)

    def _stage_thread_note(self, conn: Connection, esc_id: int, escalation: Escalation, now: datetime) -> None:
        parent = conn.execute(
            sa.select(alert_messages.c.id, alert_messages.c.channel)
            .join(denial_alerts, denial_alerts.c.message_id == alert_messages.c.id)
            .where(denial_alerts.c.id == escalation.alert_id)
        ).first()
        if parent is None:
            return
        line = f"Escalated to the leads: {_RULE_TITLE[escalation.rule]}"
        self._stage_message(
            conn,
            f"reply:esc:{esc_id}",
            "reply",
            parent.channel,
            line,
            [{"type": "context", "elements": [{"type": "mrkdwn", "text": line}]}],
            now,
            escalation.payer_id,
            parent_id=parent.id,
        )

    # --- 3. and 4. sending ------------------------------------------------------------------------

    def unsent(self) -> list[SentMessage]:
        parent = alert_messages.alias("parent")
        with self.ledger.engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    alert_messages.c.id,
                    alert_messages.c.kind,
                    alert_messages.c.channel,
                    alert_messages.c.ts,
                    parent.c.ts.label("parent_ts"),
                    parent.c.created_at.label("parent_created_at"),
                )
                .outerjoin(parent, parent.c.id == alert_messages.c.parent_id)
                .where(_unsent())
                .order_by(alert_messages.c.id)
            ).all()
        return [
            SentMessage.model_validate(r._asdict() | {"parent_ts": _sent_ts(r.parent_ts), "ts": None}) for r in rows
        ]

    def _claim(self, message_id: int) -> bool:
        """Take a message to send it: True for one process only (another dispatcher may run beside this one).
        A claim whose process died is taken again after CLAIM_STALE: sending is at least once, never lost."""
        with self.ledger.engine.begin() as conn:
            taken = conn.execute(
                alert_messages.update()
                .where(alert_messages.c.id == message_id, _unsent())
                .values(ts=f"{SENDING}{secrets.token_hex(6)}", posted_at=utc_now())
            ).rowcount
        return bool(taken)

    def _release(self, message_id: int) -> None:
        with self.ledger.engine.begin() as conn:
            conn.execute(
                alert_messages.update()
                .where(alert_messages.c.id == message_id, alert_messages.c.ts.like(f"{SENDING}%"))
                .values(ts=None, posted_at=None)
            )

    async def send_pending(self, report: PassReport, now: datetime) -> None:
        """Send what Slack has not taken, oldest first; a reply or chart whose parent went out in this
        pass goes out in the next round of the same pass."""
        while True:
            sent_before, held_back = report.sent, 0
            for message in await asyncio.to_thread(self.unsent):
                if message.kind in ("reply", "chart") and message.parent_ts is None:
                    held_back += 1  # its parent is not in Slack yet
                    continue
                if not await asyncio.to_thread(self._claim, message.id):
                    continue  # another dispatcher took it
                try:
                    await self._send(message, now)
                except BaseException:
                    await asyncio.to_thread(self._release, message.id)
                    raise
                report.sent += 1
            if not held_back or report.sent == sent_before:
                return

    async def _send(self, message: SentMessage, now: datetime) -> None:
        if message.kind == "chart" and message.parent_created_at is not None:
            digest_at = message.parent_created_at  # the chart draws the digest it belongs to
            chart = await asyncio.to_thread(lambda: chart_of(build_digest(self.ledger, digest_at)))
            day = digest_at.date().isoformat()
            file_id = await self.poster.upload(
                message.channel, f"claimbot-digest-{day}.png", f"Digest {day}", chart, message.parent_ts
            )
            await asyncio.to_thread(self._mark_sent, message.id, message.channel, file_id, now)
            return
        text, blocks = await asyncio.to_thread(self.render, message.id, now)
        channel = message.channel
        if channel.startswith("dm:"):
            channel = await self.poster.open_dm(channel.removeprefix("dm:"))
        ts = await self.poster.post(channel, text, blocks, message.parent_ts if message.kind == "reply" else None)
        await asyncio.to_thread(self._mark_sent, message.id, channel, ts, now)

    def _mark_sent(self, message_id: int, channel: str, ts: str, now: datetime) -> None:
        with self.ledger.engine.begin() as conn:
            conn.execute(
                alert_messages.update()
                .where(alert_messages.c.id == message_id)
                .values(ts=ts, channel=channel, posted_at=now, update_due=False)
            )

    async def send_updates(self, report: PassReport, now: datetime) -> None:
        def due() -> list[tuple[int, str, str]]:
            with self.ledger.engine.connect() as conn:
                return [
                    (r.id, r.channel, r.ts)
                    for r in conn.execute(
                        sa.select(alert_messages.c.id, alert_messages.c.channel, alert_messages.c.ts).where(
                            alert_messages.c.update_due.is_(True),
                            alert_messages.c.ts.is_not(None),
                            alert_messages.c.ts.not_like(f"{SENDING}%"),
                        )
                    )
                ]

        for message_id, channel, ts in await asyncio.to_thread(due):
            text, blocks = await asyncio.to_thread(self.render, message_id, now)
            await self.poster.update(channel, ts, text, blocks)
            await asyncio.to_thread(self._updated, message_id)
            report.updated += 1

    def _updated(self, message_id: int) -> None:
        with self.ledger.engine.begin() as conn:
            conn.execute(alert_messages.update().where(alert_messages.c.id == message_id).values(update_due=False))

    def stage_digest(self, now: datetime) -> bool:
        """Stage today's digest and its chart (sent by the next pass, once: keyed by the date)."""
        digest = build_digest(self.ledger, now)
        channel = self.targets.digest_channel or self.targets.alert_channel
        key = f"digest:{now.date().isoformat()}"
        with self.ledger.writer() as writer:
            conn = _connection(writer)
            if conn.execute(sa.select(alert_messages.c.id).where(alert_messages.c.message_key == key)).first():
                return False
            message_id = self._stage_message(
                conn, key, "digest", channel, digest_text(digest), digest_blocks(digest), now
            )
            self._stage_message(conn, f"chart:{key}", "chart", channel, "chart", [], now, parent_id=message_id)
        return True

    def stage_note(self, alert_id: int, line: str, now: datetime) -> None:
        """A line in the alert's thread (who acknowledged, assigned, snoozed) and its parent re-rendered."""
        with self.ledger.writer() as writer:
            conn = _connection(writer)
            parent = conn.execute(
                sa.select(alert_messages.c.id, alert_messages.c.channel, alert_messages.c.payer_id)
                .join(denial_alerts, denial_alerts.c.message_id == alert_messages.c.id)
                .where(denial_alerts.c.id == alert_id)
            ).one()
            self._stage_message(
                conn,
                f"reply:note:{alert_id}:{now.isoformat()}:{line[:60]}",
                "reply",
                parent.channel,
                line,
                [{"type": "context", "elements": [{"type": "mrkdwn", "text": line}]}],
                now,
                parent.payer_id,
                parent_id=parent.id,
            )
            conn.execute(alert_messages.update().where(alert_messages.c.id == parent.id).values(update_due=True))

    async def deliver(self, now: datetime | None = None) -> PassReport:
        """Send and update only (after a button): what Slack does not take now, the next pass sends."""
        now = now or utc_now()
        report = PassReport()
        try:
            await self.send_pending(report, now)
            await self.send_updates(report, now)
        except SlackUnavailable as err:
            report.slack_error = str(err)
            log.warning("slack unavailable: the rest waits for the next pass", error=str(err))
        return report

    async def run_once(self, now: datetime | None = None) -> PassReport:
        """Stage, escalate, send, update. Slack being down stops the sending, never the staging."""
        now = now or utc_now()
        report = await asyncio.to_thread(self.stage_events, now)
        report.escalations += await asyncio.to_thread(self.stage_escalations, now)
        try:
            await self.send_pending(report, now)
            await self.send_updates(report, now)
        except SlackUnavailable as err:
            report.slack_error = str(err)
            log.warning("slack unavailable: the rest waits for the next pass", error=str(err))
        report.waiting = len(await asyncio.to_thread(self.unsent))
        log.info("alerts pass", **report.as_json())
        return report

    async def run_forever(self, every_s: float, stop: asyncio.Event) -> None:
        """The loop inside `claimbot slack serve`: a pass, then wait, until `stop` is set."""
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception as err:
                log.error("alerts pass failed", error_type=type(err).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every_s)


_RULE_TITLE = {
    RuleName.DENIAL_ABOVE: "denial above the amount",
    RuleName.UNRESOLVED: "claims unresolved too long",
    RuleName.TIMELY_FILING: "timely-filing deadline near",
    RuleName.BOT_FAILURE: "bot failure",
    RuleName.UNACKNOWLEDGED: "denial alert not acknowledged",
    RuleName.MANUAL: "escalated by hand",
}


SENDING = "sending:"  # a message's ts while one dispatcher sends it
CLAIM_STALE = timedelta(minutes=5)


def _unsent() -> sa.ColumnElement[bool]:
    """Not in Slack yet: never sent, or taken by a dispatcher that has not finished within CLAIM_STALE."""
    return sa.or_(
        alert_messages.c.ts.is_(None),
        sa.and_(alert_messages.c.ts.like(f"{SENDING}%"), alert_messages.c.posted_at < utc_now() - CLAIM_STALE),
    )


def _sent_ts(ts: str | None) -> str | None:
    return None if ts is None or ts.startswith(SENDING) else ts


def _facts_query() -> sa.Select[Any]:
    return (
        sa.select(denial_alerts, claims.c.claim_id, alert_messages.c.posted_at, alert_messages.c.ts)
        .join(claims, claims.c.id == denial_alerts.c.claim_pk)
        .join(alert_messages, alert_messages.c.id == denial_alerts.c.message_id)
    )


def _facts(row: Any) -> AlertFacts:
    """An alert as the escalation rules see it; posted only once Slack took its message."""
    return AlertFacts(
        alert_id=row.id,
        claim_id=row.claim_id,
        payer_id=row.payer_id,
        denied_amount=from_cents(row.denied_cents),
        reasons=tuple(c for c in row.reasons.split(",") if c),
        posted_at=row.posted_at if _sent_ts(row.ts) else None,
        acknowledged_at=row.acknowledged_at,
        snoozed_until=row.snoozed_until,
        closed_at=row.closed_at,
    )


def _claim_pks(conn: Connection, claim_ids: set[str]) -> dict[str, int]:
    """The ledger's keys of these claims (the alert tables refer to claims by key)."""
    if not claim_ids:
        return {}
    query = sa.select(claims.c.claim_id, claims.c.id).where(claims.c.claim_id.in_(claim_ids))
    return {row.claim_id: int(row.id) for row in conn.execute(query)}


def _connection(writer: LedgerWriter) -> Connection:
    """The writer's connection: the alert rows and the outbox's dispatched marks share one transaction."""
    return writer._conn


# --- actions on alerts (called by the listeners) -----------------------------------------------------


def latest_alert(ledger: Ledger, claim_id: str) -> int | None:
    """The id of the claim's newest denial alert (the one its buttons act on), or None."""
    with ledger.engine.connect() as conn:
        found = conn.execute(
            sa.select(denial_alerts.c.id)
            .join(claims, claims.c.id == denial_alerts.c.claim_pk)
            .where(claims.c.claim_id == claim_id)
            .order_by(denial_alerts.c.id.desc())
            .limit(1)
        ).scalar()
    return None if found is None else int(found)


def _parent_due(conn: Connection, alert_id: int) -> None:
    """The message carrying the alert is re-rendered by the next delivery."""
    carrier = sa.select(denial_alerts.c.message_id).where(denial_alerts.c.id == alert_id).scalar_subquery()
    conn.execute(alert_messages.update().where(alert_messages.c.id == carrier).values(update_due=True))


def acknowledge(ledger: Ledger, alert_id: int, user_id: str, at: datetime) -> bool:
    """Acknowledge once: True for the first, False when it was acknowledged already (a double click)."""
    with ledger.engine.begin() as conn:
        done = conn.execute(
            denial_alerts.update()
            .where(denial_alerts.c.id == alert_id, denial_alerts.c.acknowledged_at.is_(None))
            .values(acknowledged_at=at, acknowledged_by=user_id, snoozed_until=None)
        ).rowcount
        _parent_due(conn, alert_id)
    return bool(done)


def snooze(ledger: Ledger, alert_id: int, until: datetime) -> None:
    with ledger.engine.begin() as conn:
        conn.execute(denial_alerts.update().where(denial_alerts.c.id == alert_id).values(snoozed_until=until))
        _parent_due(conn, alert_id)


def facts_of(ledger: Ledger, alert_id: int) -> AlertFacts | None:
    with ledger.engine.connect() as conn:
        row = conn.execute(_facts_query().where(denial_alerts.c.id == alert_id)).first()
    return None if row is None else _facts(row)


def last_card_escalation(ledger: Ledger, claim_id: str) -> tuple[int, datetime] | None:
    """(number, when) of the claim's newest escalation from its status card, or None (never escalated)."""
    prefix = CARD_KEY + claim_id + ":"
    with ledger.engine.connect() as conn:
        rows = conn.execute(
            sa.select(escalations.c.dedupe_key, escalations.c.created_at)
            .join(claims, claims.c.id == escalations.c.claim_pk)
            .where(claims.c.claim_id == claim_id, escalations.c.rule == RuleName.MANUAL.value)
        ).all()
    numbered = [
        (int(row.dedupe_key.removeprefix(prefix)), row.created_at)
        for row in rows
        if row.dedupe_key.startswith(prefix) and row.dedupe_key.removeprefix(prefix).isdigit()
    ]
    return max(numbered, default=None)


def escalation_rows(ledger: Ledger) -> list[dict[str, Any]]:
    """Every escalation with its claim id (tests, and the alert state `claimbot slack dispatch` reports)."""
    with ledger.engine.connect() as conn:
        return [
            r._asdict()
            for r in conn.execute(
                sa.select(
                    escalations.c.id,
                    escalations.c.dedupe_key,
                    escalations.c.rule,
                    claims.c.claim_id,
                    escalations.c.denial_alert_id,
                    escalations.c.message_id,
                    escalations.c.created_at,
                )
                .outerjoin(claims, claims.c.id == escalations.c.claim_pk)
                .order_by(escalations.c.id)
            )
        ]


def alert_rows(ledger: Ledger) -> list[dict[str, Any]]:
    """Every denial alert with its claim id and state (tests, and what `claimbot slack dispatch` counts)."""
    with ledger.engine.connect() as conn:
        return [
            r._asdict()
            for r in conn.execute(
                sa.select(
                    denial_alerts.c.id,
                    claims.c.claim_id,
                    denial_alerts.c.payer_id,
                    denial_alerts.c.reasons,
                    denial_alerts.c.acknowledged_by,
                    denial_alerts.c.closed_status,
                )
                .join(claims, claims.c.id == denial_alerts.c.claim_pk)
                .order_by(denial_alerts.c.id)
            )
        ]


def lead_targets(
    team: TeamConfig, alert_channel: str, leads_channel: str | None, digest_channel: str | None = None
) -> AlertTargets:
    """AlertTargets from team.yaml: the first lead group is mentioned, listed leads may be DMed."""
    groups = team.slack_groups.get(Role.LEAD, ())
    users = tuple(m.slack_user for m in team.members if Role.LEAD in m.roles and m.slack_user)
    return AlertTargets(alert_channel, leads_channel, groups[0] if groups else None, users, digest_channel)
