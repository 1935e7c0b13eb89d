"""the scheduler's job store (apscheduler_jobs) and the eligibility sweep's appointments

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 16:20:00

`claimbot scheduler run` keeps APScheduler 3's jobs in the ledger's own database (bots.schedule), in the
table APScheduler would create itself, column for column; creating it here keeps one schema history.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "eligibility_sweep_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sweep_id", sa.Integer(), nullable=False),
        sa.Column("appointment_key", sa.String(length=80), nullable=False),
        sa.Column("payer_id", sa.String(length=20), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("last_error_kind", sa.String(length=40), nullable=True),
        sa.Column("eligibility_check_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["eligibility_check_id"],
            ["eligibility_checks.id"],
            name=op.f("fk_eligibility_sweep_items_eligibility_check_id_eligibility_checks"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_eligibility_sweep_items_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(["payer_id"], ["payers.id"], name=op.f("fk_eligibility_sweep_items_payer_id_payers")),
        sa.ForeignKeyConstraint(
            ["sweep_id"], ["sweeps.id"], name=op.f("fk_eligibility_sweep_items_sweep_id_sweeps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eligibility_sweep_items")),
        sa.UniqueConstraint("sweep_id", "appointment_key", name="uq_eligibility_sweep_items_sweep_appointment"),
    )
    op.create_index(
        op.f("ix_eligibility_sweep_items_patient_id"), "eligibility_sweep_items", ["patient_id"], unique=False
    )
    op.create_index(
        "ix_eligibility_sweep_items_sweep_state", "eligibility_sweep_items", ["sweep_id", "state"], unique=False
    )
    op.create_table(
        "apscheduler_jobs",
        sa.Column("id", sa.Unicode(length=191), nullable=False),
        sa.Column("next_run_time", sa.Float(precision=25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apscheduler_jobs")),
    )
    op.create_index(op.f("ix_apscheduler_jobs_next_run_time"), "apscheduler_jobs", ["next_run_time"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_apscheduler_jobs_next_run_time"), table_name="apscheduler_jobs")
    op.drop_table("apscheduler_jobs")
    op.drop_index("ix_eligibility_sweep_items_sweep_state", table_name="eligibility_sweep_items")
    op.drop_index(op.f("ix_eligibility_sweep_items_patient_id"), table_name="eligibility_sweep_items")
    op.drop_table("eligibility_sweep_items")
