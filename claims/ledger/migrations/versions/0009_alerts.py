"""the Slack assistant's alerts: messages it posts on its own, denial alerts, escalations sent

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 18:05:00

Tables of claims.ledger.alert_schema (assistant.alerts, assistant.escalations): every message is written
before it is sent and keeps Slack's ts once sent, so nothing is lost while Slack is down and nothing
is sent twice; denial alerts and escalations are unique by dedupe key.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("payer_id", sa.String(length=20), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.String(length=3000), nullable=False),
        sa.Column("blocks", sa.JSON(), nullable=False),
        sa.Column("ts", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("posted_at", sa.DateTime(), nullable=True),
        sa.Column("update_due", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["alert_messages.id"],
            name=op.f("fk_alert_messages_parent_id_alert_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_messages")),
        sa.UniqueConstraint("message_key", name=op.f("uq_alert_messages_message_key")),
    )
    op.create_index(op.f("ix_alert_messages_ts"), "alert_messages", ["ts"], unique=False)
    op.create_table(
        "denial_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("claim_pk", sa.Integer(), nullable=False),
        sa.Column("payer_id", sa.String(length=20), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("denied_cents", sa.BigInteger(), nullable=False),
        sa.Column("reasons", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=40), nullable=True),
        sa.Column("snoozed_until", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("closed_status", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["claim_pk"], ["claims.id"], name=op.f("fk_denial_alerts_claim_pk_claims"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_denial_alerts_event_id_events"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["alert_messages.id"],
            name=op.f("fk_denial_alerts_message_id_alert_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_denial_alerts")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_denial_alerts_dedupe_key")),
    )
    op.create_index(op.f("ix_denial_alerts_claim_pk"), "denial_alerts", ["claim_pk"], unique=False)
    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("rule", sa.String(length=20), nullable=False),
        sa.Column("claim_pk", sa.Integer(), nullable=True),
        sa.Column("payer_id", sa.String(length=20), nullable=True),
        sa.Column("denial_alert_id", sa.Integer(), nullable=True),
        sa.Column("repeat", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_pk"], ["claims.id"], name=op.f("fk_escalations_claim_pk_claims"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["denial_alert_id"],
            ["denial_alerts.id"],
            name=op.f("fk_escalations_denial_alert_id_denial_alerts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["alert_messages.id"],
            name=op.f("fk_escalations_message_id_alert_messages"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalations")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_escalations_dedupe_key")),
    )
    op.create_index(op.f("ix_escalations_claim_pk"), "escalations", ["claim_pk"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_escalations_claim_pk"), table_name="escalations")
    op.drop_table("escalations")
    op.drop_index(op.f("ix_denial_alerts_claim_pk"), table_name="denial_alerts")
    op.drop_table("denial_alerts")
    op.drop_index(op.f("ix_alert_messages_ts"), table_name="alert_messages")
    op.drop_table("alert_messages")
