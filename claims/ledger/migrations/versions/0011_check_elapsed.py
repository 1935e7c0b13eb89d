"""how long a payer took to answer a check (status_checks.elapsed_ms), for the per-payer p90 report

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 18:00:00

Null for answers that were not timed: EDI files, manual entries, failed attempts and checks recorded
before this column.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("status_checks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("elapsed_ms", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("status_checks", schema=None) as batch_op:
        batch_op.drop_column("elapsed_ms")
