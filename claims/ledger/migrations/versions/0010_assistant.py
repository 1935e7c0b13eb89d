"""the Slack assistant's assignments: who works a claim now

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 18:20:00

Table of claims.ledger.assistant_schema: one row per claim, taken by "Assign to me"; `/claim queue`
lists a person's rows.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_pk", sa.Integer(), nullable=False),
        sa.Column("assignee", sa.String(length=100), nullable=False),
        sa.Column("assignee_name", sa.String(length=100), nullable=False),
        sa.Column("assigned_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_pk"], ["claims.id"], name=op.f("fk_assignments_claim_pk_claims"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
        sa.UniqueConstraint("claim_pk", name=op.f("uq_assignments_claim_pk")),
    )
    op.create_index(op.f("ix_assignments_assignee"), "assignments", ["assignee"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_assignments_assignee"), table_name="assignments")
    op.drop_table("assignments")
