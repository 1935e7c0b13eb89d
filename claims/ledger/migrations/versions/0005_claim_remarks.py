"""claim-level remark codes (RARC) that belong to no adjustment

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 16:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("status_checks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("remarks", sa.String(length=100), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("status_checks", schema=None) as batch_op:
        batch_op.drop_column("remarks")
