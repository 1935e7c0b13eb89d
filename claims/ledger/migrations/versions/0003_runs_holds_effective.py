"""bot run leases, payer holds, observed vs effective time of a status check

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bot_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("lease_expires_at", sa.DateTime(), nullable=True))
        batch_op.create_index("ix_bot_runs_status_lease", ["status", "lease_expires_at"], unique=False)

    # A check's status_at is its effective time if the payer gave one, else when it was observed:
    # every check recorded so far has only the observed time.
    with op.batch_alter_table("status_checks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("effective_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("status_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE status_checks SET status_at = checked_at")
    with op.batch_alter_table("status_checks", schema=None) as batch_op:
        batch_op.alter_column("status_at", existing_type=sa.DateTime(), nullable=False)
        batch_op.drop_index("ix_status_checks_claim_latest")
        batch_op.create_index(
            "ix_status_checks_claim_latest", ["claim_pk", "status_at", "checked_at", "id"], unique=False
        )

    op.create_table(
        "payer_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payer_id", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("since", sa.DateTime(), nullable=False),
        sa.Column("evidence_ref", sa.String(length=300), nullable=True),
        sa.Column("bot_run_id", sa.Integer(), nullable=True),
        sa.Column("cleared_at", sa.DateTime(), nullable=True),
        sa.Column("cleared_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["bot_run_id"], ["bot_runs.id"], name=op.f("fk_payer_holds_bot_run_id_bot_runs")),
        sa.ForeignKeyConstraint(["payer_id"], ["payers.id"], name=op.f("fk_payer_holds_payer_id_payers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payer_holds")),
    )
    op.create_index(
        "uq_payer_holds_open",
        "payer_holds",
        ["payer_id"],
        unique=True,
        sqlite_where=sa.text("cleared_at IS NULL"),
        postgresql_where=sa.text("cleared_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_payer_holds_open", table_name="payer_holds")
    op.drop_table("payer_holds")
    with op.batch_alter_table("status_checks", schema=None) as batch_op:
        batch_op.drop_index("ix_status_checks_claim_latest")
        batch_op.create_index("ix_status_checks_claim_latest", ["claim_pk", "checked_at", "id"], unique=False)
        batch_op.drop_column("status_at")
        batch_op.drop_column("effective_at")
    with op.batch_alter_table("bot_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_bot_runs_status_lease")
        batch_op.drop_column("lease_expires_at")
        batch_op.drop_column("heartbeat_at")
