"""what was sent: earlier claim versions and every submission of a claim

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 18:00:00

An import that changes a claim keeps the version before (claim_versions), and each sending of a claim
(the original from an imported 837P, a corrected or void claim sent by Claimbot) is a submissions row:
version, frequency code, REF*F8, control numbers and hash, route, and the acknowledgment that came back.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    op.create_table(
        "claim_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_pk", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_pk"], ["claims.id"], name=op.f("fk_claim_versions_claim_pk_claims"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_claim_versions_patient_id_patients")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_versions")),
        sa.UniqueConstraint("claim_pk", "version", name="uq_claim_versions_claim_version"),
    )
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_pk", sa.Integer(), nullable=False),
        sa.Column("claim_version", sa.Integer(), nullable=False),
        sa.Column("frequency_code", sa.String(length=1), nullable=False),
        sa.Column("original_payer_claim_number", sa.String(length=50), nullable=True),
        sa.Column("route", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("approved_by", sa.String(length=100), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("interchange_control_number", sa.String(length=9), nullable=True),
        sa.Column("group_control_number", sa.String(length=9), nullable=True),
        sa.Column("transaction_control_number", sa.String(length=9), nullable=True),
        sa.Column("x12_sha256", sa.String(length=64), nullable=True),
        sa.Column("confirmation_number", sa.String(length=50), nullable=True),
        sa.Column("ack_codes", sa.String(length=400), server_default="", nullable=False),
        sa.Column("payer_claim_number", sa.String(length=50), nullable=True),
        sa.Column("evidence_ref", sa.String(length=300), nullable=True),
        sa.Column("error", sa.String(length=40), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_pk"], ["claims.id"], name=op.f("fk_submissions_claim_pk_claims"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submissions")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_submissions_idempotency_key")),
    )
    op.create_index(op.f("ix_submissions_claim_pk"), "submissions", ["claim_pk"], unique=False)
    op.create_index("ix_submissions_interchange", "submissions", ["interchange_control_number"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_submissions_interchange", table_name="submissions")
    op.drop_index(op.f("ix_submissions_claim_pk"), table_name="submissions")
    op.drop_table("submissions")
    op.drop_table("claim_versions")
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_column("version")
