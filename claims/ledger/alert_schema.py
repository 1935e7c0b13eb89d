"""The Slack assistant's alert tables (assistant.alerts, assistant.escalations), on the ledger's metadata.

Kept apart from schema.py so the alert feature owns its tables; migration 0009 creates them.
- `alert_messages`: every message the assistant posts on its own (an alert, a payer's group of alerts,
  a reply in an alert's thread, an escalation, the digest), written before it is sent: `ts` stays NULL
  until Slack took it, so a message that could not be sent is sent by the next pass, once. `update_due`
  asks the next pass to re-render a parent with `chat.update`.
- `denial_alerts`: one row per denial (claim + its denial codes: `dedupe_key`), which message carries
  it, and what people did: acknowledged, snoozed, closed by a later status.
- `escalations`: one row per escalation sent (`dedupe_key` per rule and subject), so a rule that still
  holds escalates nothing twice.
No PHI: claim references, payer ids, codes, amounts, Slack ids.
"""

from __future__ import annotations

import sqlalchemy as sa

from claims.ledger.schema import UTCDateTime, metadata

ALERT_KEY_MAX = 200
ALERT_TEXT_MAX = 3000

alert_messages = sa.Table(
    "alert_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("message_key", sa.String(ALERT_KEY_MAX), nullable=False, unique=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("channel", sa.String(40), nullable=False),
    sa.Column("payer_id", sa.String(20)),
    sa.Column("parent_id", sa.Integer, sa.ForeignKey("alert_messages.id", ondelete="CASCADE")),
    sa.Column("text", sa.String(ALERT_TEXT_MAX), nullable=False),
    sa.Column("blocks", sa.JSON, nullable=False),
    sa.Column("ts", sa.String(40), index=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("posted_at", UTCDateTime),
    sa.Column("update_due", sa.Boolean, nullable=False, default=False),
)

denial_alerts = sa.Table(
    "denial_alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("dedupe_key", sa.String(ALERT_KEY_MAX), nullable=False, unique=True),
    sa.Column("claim_pk", sa.Integer, sa.ForeignKey("claims.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("payer_id", sa.String(20), nullable=False),
    sa.Column("event_id", sa.Integer, sa.ForeignKey("events.id", ondelete="SET NULL")),
    sa.Column("message_id", sa.Integer, sa.ForeignKey("alert_messages.id", ondelete="CASCADE"), nullable=False),
    sa.Column("denied_cents", sa.BigInteger, nullable=False),
    sa.Column("reasons", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("acknowledged_at", UTCDateTime),
    sa.Column("acknowledged_by", sa.String(40)),
    sa.Column("snoozed_until", UTCDateTime),
    sa.Column("closed_at", UTCDateTime),
    sa.Column("closed_status", sa.String(20)),
)

escalations = sa.Table(
    "escalations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("dedupe_key", sa.String(ALERT_KEY_MAX), nullable=False, unique=True),
    sa.Column("rule", sa.String(20), nullable=False),
    sa.Column("claim_pk", sa.Integer, sa.ForeignKey("claims.id", ondelete="CASCADE"), index=True),
    sa.Column("payer_id", sa.String(20)),
    sa.Column("denial_alert_id", sa.Integer, sa.ForeignKey("denial_alerts.id", ondelete="CASCADE")),
    sa.Column("repeat", sa.Integer, nullable=False),
    sa.Column("message_id", sa.Integer, sa.ForeignKey("alert_messages.id", ondelete="SET NULL")),
    sa.Column("created_at", UTCDateTime, nullable=False),
)
