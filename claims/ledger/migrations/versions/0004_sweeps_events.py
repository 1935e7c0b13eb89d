"""sweeps and their items, the events outbox

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 15:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sweeps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("trigger", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sweeps")),
    )
    op.create_index("ix_sweeps_state_lease", "sweeps", ["state", "lease_expires_at"], unique=False)
    op.create_table(
        "sweep_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sweep_id", sa.Integer(), nullable=False),
        sa.Column("claim_pk", sa.Integer(), nullable=False),
        sa.Column("payer_id", sa.String(length=20), nullable=False),
        sa.Column("route", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("due_reason", sa.String(length=300), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error_kind", sa.String(length=40), nullable=True),
        sa.Column("status_check_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_pk"], ["claims.id"], name=op.f("fk_sweep_items_claim_pk_claims"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["status_check_id"],
            ["status_checks.id"],
            name=op.f("fk_sweep_items_status_check_id_status_checks"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sweep_id"], ["sweeps.id"], name=op.f("fk_sweep_items_sweep_id_sweeps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sweep_items")),
        sa.UniqueConstraint("sweep_id", "claim_pk", name="uq_sweep_items_sweep_claim"),
    )
    op.create_index(op.f("ix_sweep_items_claim_pk"), "sweep_items", ["claim_pk"], unique=False)
    op.create_index("ix_sweep_items_sweep_state", "sweep_items", ["sweep_id", "state"], unique=False)
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("claim_pk", sa.Integer(), nullable=True),
        sa.Column("payer_id", sa.String(length=20), nullable=True),
        sa.Column("sweep_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["claim_pk"], ["claims.id"], name=op.f("fk_events_claim_pk_claims"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["sweep_id"], ["sweeps.id"], name=op.f("fk_events_sweep_id_sweeps"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_events_dedupe_key")),
    )
    op.create_index(op.f("ix_events_created_at"), "events", ["created_at"], unique=False)
    op.create_index("ix_events_pending", "events", ["dispatched_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_events_pending", table_name="events")
    op.drop_index(op.f("ix_events_created_at"), table_name="events")
    op.drop_table("events")
    op.drop_index("ix_sweep_items_sweep_state", table_name="sweep_items")
    op.drop_index(op.f("ix_sweep_items_claim_pk"), table_name="sweep_items")
    op.drop_table("sweep_items")
    op.drop_index("ix_sweeps_state_lease", table_name="sweeps")
    op.drop_table("sweeps")
