"""Ledger tables (SQLAlchemy Core). Alembic migrations under migrations/ create exactly these.

Money is stored as integer cents (exact on SQLite and PostgreSQL alike); datetimes as naive UTC
and handed back timezone-aware. `status_checks` is append-only: a claim's status is derived from it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from claims.models import (
    APPOINTMENT_KEY_MAX,
    BOT_RUN_NOTE_MAX,
    CATEGORY_CODE_MAX,
    CONTROL_NUMBER_MAX,
    DEDUPE_KEY_MAX,
    EVENT_KIND_MAX,
    EVIDENCE_REF_MAX,
    PAYER_NUMBER_MAX,
    PAYER_TEXT_MAX,
    PLAN_NAME_MAX,
    RAW_SEGMENT_MAX,
    STATUS_CODE_MAX,
    SUBMISSION_REASON_MAX,
    SWEEP_ERROR_MAX,
    SWEEP_REASON_MAX,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = sa.MetaData(naming_convention=NAMING)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Stores UTC without a zone (portable), returns aware datetimes; refuses naive input."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the ledger")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


payers = sa.Table(
    "payers",
    metadata,
    sa.Column("id", sa.String(20), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("timely_filing_days", sa.Integer, nullable=False),
)

patients = sa.Table(
    "patients",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("payer_id", sa.String(20), sa.ForeignKey("payers.id"), nullable=False),
    sa.Column("member_id", sa.String(80), nullable=False),
    sa.Column("last_name", sa.String(100), nullable=False),
    sa.Column("first_name", sa.String(100), nullable=False),
    sa.Column("date_of_birth", sa.Date, nullable=False),
    sa.UniqueConstraint(
        "payer_id", "member_id", "date_of_birth", "last_name", "first_name", name="uq_patients_identity"
    ),
)

claims = sa.Table(
    "claims",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("claim_id", sa.String(38), nullable=False, unique=True),
    sa.Column("payer_id", sa.String(20), sa.ForeignKey("payers.id"), nullable=False, index=True),
    sa.Column("patient_id", sa.Integer, sa.ForeignKey("patients.id"), nullable=False, index=True),
    sa.Column("rendering_npi", sa.String(10), nullable=False),
    sa.Column("diagnosis_codes", sa.String(200), nullable=False),
    sa.Column("place_of_service", sa.String(2), nullable=False),
    sa.Column("frequency_code", sa.String(1), nullable=False),
    sa.Column("billed_cents", sa.BigInteger, nullable=False),
    sa.Column("service_date_from", sa.Date, nullable=False),
    sa.Column("service_date_to", sa.Date, nullable=False),
    sa.Column("submitted_date", sa.Date),
    sa.Column("payer_claim_number", sa.String(50)),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # 1 when first imported; each change (an import with other content, a correction) adds one and keeps
    # the version before in claim_versions.
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
)

service_lines = sa.Table(
    "service_lines",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("claim_pk", sa.Integer, sa.ForeignKey("claims.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("line_number", sa.Integer, nullable=False),
    sa.Column("procedure_code", sa.String(5), nullable=False),
    sa.Column("modifiers", sa.String(20), nullable=False),
    sa.Column("units", sa.String(12), nullable=False),
    sa.Column("charge_cents", sa.BigInteger, nullable=False),
    sa.Column("service_date_from", sa.Date, nullable=False),
    sa.Column("service_date_to", sa.Date, nullable=False),
    sa.Column("diagnosis_pointers", sa.String(12), nullable=False),
    sa.UniqueConstraint("claim_pk", "line_number", name="uq_service_lines_claim_line"),
)

bot_runs = sa.Table(
    "bot_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("payer_id", sa.String(20)),
    sa.Column("trigger", sa.String(40), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("claims_checked", sa.Integer, nullable=False),
    sa.Column("errors", sa.Integer, nullable=False),
    sa.Column("note", sa.String(BOT_RUN_NOTE_MAX)),
    # A live run renews its lease with each heartbeat; a `running` run past its lease has died.
    sa.Column("heartbeat_at", UTCDateTime),
    sa.Column("lease_expires_at", UTCDateTime),
    sa.Index("ix_bot_runs_status_lease", "status", "lease_expires_at"),
)

status_checks = sa.Table(
    "status_checks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("claim_pk", sa.Integer, sa.ForeignKey("claims.id", ondelete="CASCADE"), nullable=False),
    sa.Column("checked_at", UTCDateTime, nullable=False),  # when Claimbot observed the answer
    sa.Column("effective_at", UTCDateTime),  # the payer's own date for it (an ERA's production date), if any
    # effective_at, else checked_at: the current status is the latest informative check by this time.
    sa.Column("status_at", UTCDateTime, nullable=False),
    sa.Column("source", sa.String(10), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("category_code", sa.String(CATEGORY_CODE_MAX)),
    sa.Column("status_code", sa.String(STATUS_CODE_MAX)),
    sa.Column("payer_status_text", sa.String(PAYER_TEXT_MAX)),
    sa.Column("billed_cents", sa.BigInteger),
    sa.Column("paid_cents", sa.BigInteger),
    sa.Column("patient_responsibility_cents", sa.BigInteger),
    sa.Column("payer_claim_number", sa.String(PAYER_NUMBER_MAX)),
    sa.Column("check_number", sa.String(PAYER_NUMBER_MAX)),
    sa.Column("payment_date", sa.Date),
    sa.Column("evidence_ref", sa.String(EVIDENCE_REF_MAX)),
    sa.Column("bot_run_id", sa.Integer, sa.ForeignKey("bot_runs.id")),
    sa.Column("dedupe_key", sa.String(DEDUPE_KEY_MAX), unique=True),
    sa.Column("raw_segment", sa.String(RAW_SEGMENT_MAX)),
    sa.Column("remarks", sa.String(100), nullable=False, server_default=""),  # claim-level RARCs, ';'-joined
    sa.Column("elapsed_ms", sa.Integer),  # how long the payer took to answer (bot checks only)
    sa.Index("ix_status_checks_claim_latest", "claim_pk", "status_at", "checked_at", "id"),
)

denials = sa.Table(
    "denials",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "status_check_id",
        sa.Integer,
        sa.ForeignKey("status_checks.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("group_code", sa.String(2), nullable=False),
    sa.Column("carc", sa.String(5), nullable=False, index=True),
    sa.Column("rarcs", sa.String(100), nullable=False),
    sa.Column("amount_cents", sa.BigInteger),
    sa.Column("line_number", sa.Integer),
)

payments = sa.Table(
    "payments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("claim_pk", sa.Integer, sa.ForeignKey("claims.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("paid_date", sa.Date),
    sa.Column("method", sa.String(3), nullable=False),
    sa.Column("check_number", sa.String(PAYER_NUMBER_MAX)),
    sa.Column("payer_claim_number", sa.String(PAYER_NUMBER_MAX)),
    sa.Column("source", sa.String(10), nullable=False),
    sa.Column("dedupe_key", sa.String(DEDUPE_KEY_MAX), unique=True),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
)

eligibility_checks = sa.Table(
    "eligibility_checks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("patient_id", sa.Integer, sa.ForeignKey("patients.id"), nullable=False, index=True),
    sa.Column("payer_id", sa.String(20), sa.ForeignKey("payers.id"), nullable=False),
    sa.Column("checked_at", UTCDateTime, nullable=False),
    sa.Column("source", sa.String(10), nullable=False),
    sa.Column("service_date", sa.Date, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("plan_name", sa.String(PLAN_NAME_MAX)),
    sa.Column("benefits", sa.JSON, nullable=False),
    sa.Column("rejection_code", sa.String(STATUS_CODE_MAX)),
    sa.Column("evidence_ref", sa.String(EVIDENCE_REF_MAX)),
    sa.Column("bot_run_id", sa.Integer, sa.ForeignKey("bot_runs.id")),
)

actions = sa.Table(
    "actions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("action", sa.String(60), nullable=False),
    sa.Column("claim_pk", sa.Integer, sa.ForeignKey("claims.id")),
    sa.Column("idempotency_key", sa.String(DEDUPE_KEY_MAX), nullable=False, unique=True),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
)

edi_files = sa.Table(
    "edi_files",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("imported_at", UTCDateTime, nullable=False),
    sa.Column("summary", sa.JSON, nullable=False),
)

#: Answers whose claim is not (yet) in the ledger: kept, never dropped, recorded when the claim arrives.
unmatched_items = sa.Table(
    "unmatched_items",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("dedupe_key", sa.String(DEDUPE_KEY_MAX), nullable=False, unique=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("claim_ref", sa.String(50), nullable=False, index=True),
    sa.Column("payer_claim_number", sa.String(PAYER_NUMBER_MAX)),
    sa.Column("source", sa.String(300), nullable=False),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("matched_at", UTCDateTime),
)

#: A payer no bot may sign in to until a person clears it (a refused sign-in or a locked account):
#: retrying a refused password is how an account gets locked. At most one open hold per payer.
payer_holds = sa.Table(
    "payer_holds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("payer_id", sa.String(20), sa.ForeignKey("payers.id"), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("reason", sa.String(40), nullable=False),
    sa.Column("since", UTCDateTime, nullable=False),
    sa.Column("evidence_ref", sa.String(EVIDENCE_REF_MAX)),
    sa.Column("bot_run_id", sa.Integer, sa.ForeignKey("bot_runs.id")),
    sa.Column("cleared_at", UTCDateTime),
    sa.Column("cleared_by", sa.String(100)),
    sa.Index(
        "uq_payer_holds_open",
        "payer_id",
        unique=True,
        sqlite_where=sa.text("cleared_at IS NULL"),
        postgresql_where=sa.text("cleared_at IS NULL"),
    ),
)

#: A pass over the due claims (`claimbot sweep`). Like a bot run it renews a lease while it works; a
#: running sweep past its lease has died and is marked interrupted, and the next sweep continues it.
sweeps = sa.Table(
    "sweeps",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("trigger", sa.String(40), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("started_at", UTCDateTime),
    sa.Column("finished_at", UTCDateTime),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("heartbeat_at", UTCDateTime),
    sa.Column("lease_expires_at", UTCDateTime),
    sa.Column("note", sa.String(BOT_RUN_NOTE_MAX)),
    sa.Index("ix_sweeps_state_lease", "state", "lease_expires_at"),
)

#: One claim of a sweep. Its answer and its state change are written in one transaction.
sweep_items = sa.Table(
    "sweep_items",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sweep_id", sa.Integer, sa.ForeignKey("sweeps.id", ondelete="CASCADE"), nullable=False),
    sa.Column("claim_pk", sa.Integer, sa.ForeignKey("claims.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("payer_id", sa.String(20), nullable=False),
    sa.Column("route", sa.String(20), nullable=False),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("due_reason", sa.String(SWEEP_REASON_MAX), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error_kind", sa.String(SWEEP_ERROR_MAX)),
    sa.Column("status_check_id", sa.Integer, sa.ForeignKey("status_checks.id", ondelete="SET NULL")),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("sweep_id", "claim_pk", name="uq_sweep_items_sweep_claim"),
    sa.Index("ix_sweep_items_sweep_state", "sweep_id", "state"),
)

#: The outbox: what changed, appended in the transaction that recorded it; consumers mark it dispatched.
events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(EVENT_KIND_MAX), nullable=False),
    sa.Column("claim_pk", sa.Integer, sa.ForeignKey("claims.id", ondelete="CASCADE")),
    sa.Column("payer_id", sa.String(20)),
    sa.Column("sweep_id", sa.Integer, sa.ForeignKey("sweeps.id", ondelete="SET NULL")),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("dedupe_key", sa.String(DEDUPE_KEY_MAX), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False, index=True),
    sa.Column("dispatched_at", UTCDateTime),
    sa.Index("ix_events_pending", "dispatched_at", "id"),
)

#: An eligibility sweep's appointments (a `sweeps` row of kind eligibility): one member's coverage on one
#: date of service each. Its answer (an eligibility check) and its state change are one transaction.
eligibility_sweep_items = sa.Table(
    "eligibility_sweep_items",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sweep_id", sa.Integer, sa.ForeignKey("sweeps.id", ondelete="CASCADE"), nullable=False),
    sa.Column("appointment_key", sa.String(APPOINTMENT_KEY_MAX), nullable=False),
    sa.Column("payer_id", sa.String(20), sa.ForeignKey("payers.id"), nullable=False),
    sa.Column("patient_id", sa.Integer, sa.ForeignKey("patients.id"), nullable=False, index=True),
    sa.Column("service_date", sa.Date, nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("last_error_kind", sa.String(SWEEP_ERROR_MAX)),
    sa.Column("eligibility_check_id", sa.Integer, sa.ForeignKey("eligibility_checks.id", ondelete="SET NULL")),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("sweep_id", "appointment_key", name="uq_eligibility_sweep_items_sweep_appointment"),
    sa.Index("ix_eligibility_sweep_items_sweep_state", "sweep_id", "state"),
)

#: APScheduler 3's job store (bots.schedule: SQLAlchemyJobStore on the ledger's URL), declared here so the
#: migrations create it and the schema test covers it. Its shape is APScheduler's own, column for column.
apscheduler_jobs = sa.Table(
    "apscheduler_jobs",
    metadata,
    sa.Column("id", sa.Unicode(191), primary_key=True),
    sa.Column("next_run_time", sa.Float(25), index=True),
    sa.Column("job_state", sa.LargeBinary, nullable=False),
)

#: Earlier versions of a claim, kept when an import or a correction changes it: the claim's own fields and
#: lines as JSON (`snapshot`), its patient by reference (PHI stays in `patients`).
claim_versions = sa.Table(
    "claim_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("claim_pk", sa.Integer, sa.ForeignKey("claims.id", ondelete="CASCADE"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("patient_id", sa.Integer, sa.ForeignKey("patients.id"), nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("snapshot", sa.JSON, nullable=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False),  # when this version became current
    sa.UniqueConstraint("claim_pk", "version", name="uq_claim_versions_claim_version"),
)

#: Each sending of a claim to its payer (claims.models.Submission): which version, how, and what came back.
submissions = sa.Table(
    "submissions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("claim_pk", sa.Integer, sa.ForeignKey("claims.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("claim_version", sa.Integer, nullable=False),
    sa.Column("frequency_code", sa.String(1), nullable=False),
    sa.Column("original_payer_claim_number", sa.String(PAYER_NUMBER_MAX)),
    sa.Column("route", sa.String(10), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("changes", sa.JSON, nullable=False),
    sa.Column("reason", sa.String(SUBMISSION_REASON_MAX)),
    sa.Column("requested_by", sa.String(100), nullable=False),
    sa.Column("approved_by", sa.String(100)),
    sa.Column("idempotency_key", sa.String(DEDUPE_KEY_MAX), nullable=False, unique=True),
    sa.Column("requested_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime),
    sa.Column("interchange_control_number", sa.String(CONTROL_NUMBER_MAX)),
    sa.Column("group_control_number", sa.String(CONTROL_NUMBER_MAX)),
    sa.Column("transaction_control_number", sa.String(CONTROL_NUMBER_MAX)),
    sa.Column("x12_sha256", sa.String(64)),
    sa.Column("confirmation_number", sa.String(PAYER_NUMBER_MAX)),
    sa.Column("ack_codes", sa.String(400), nullable=False, server_default=""),  # ';'-joined
    sa.Column("payer_claim_number", sa.String(PAYER_NUMBER_MAX)),
    sa.Column("evidence_ref", sa.String(EVIDENCE_REF_MAX)),
    sa.Column("error", sa.String(SWEEP_ERROR_MAX)),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index("ix_submissions_interchange", "interchange_control_number"),
)
