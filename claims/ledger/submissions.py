"""What was sent: earlier versions of a claim, and each submission of it (claims.models.Submission).

Kept apart from repository.py because it is its own concern: an import or a correction that changes a
claim first copies the version being replaced into `claim_versions` (`keep_version`, called by
`LedgerWriter.upsert_claims`), so a corrected claim can be built from what the payer received; and a
submission row is added once per idempotency key (`add_submission`: INSERT … ON CONFLICT DO NOTHING),
then moved through its states as the route answers (`update_submission`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from claims.ledger.money import from_cents
from claims.ledger.schema import claim_versions, claims, patients, service_lines, submissions
from claims.models import (
    Claim,
    ClaimVersion,
    FrequencyCode,
    Patient,
    ServiceLine,
    Submission,
    SubmissionRoute,
    SubmissionState,
    utc_now,
)

#: Fields `update_submission` may change; the rest of a submission is fixed when it is added.
UPDATABLE = frozenset(
    {
        "state",
        "approved_by",
        "sent_at",
        "interchange_control_number",
        "group_control_number",
        "transaction_control_number",
        "x12_sha256",
        "confirmation_number",
        "ack_codes",
        "payer_claim_number",
        "evidence_ref",
        "error",
    }
)


def _split(text: str) -> tuple[str, ...]:
    return tuple(part for part in text.split(";") if part)


def _insert(connection: Connection, table: sa.Table) -> Any:
    return (postgresql if connection.dialect.name == "postgresql" else sqlite).insert(table)


def _snapshot(row: Any, lines: Sequence[Any]) -> dict[str, Any]:
    """A claim's own fields and lines as JSON: everything but the patient, who stays in `patients`."""
    return {
        "claim_id": row.claim_id,
        "payer_id": row.payer_id,
        "rendering_npi": row.rendering_npi,
        "diagnosis_codes": list(_split(row.diagnosis_codes)),
        "place_of_service": row.place_of_service,
        "frequency_code": row.frequency_code,
        "submitted_date": row.submitted_date.isoformat() if row.submitted_date else None,
        "payer_claim_number": row.payer_claim_number,
        "lines": [
            {
                "line_number": line.line_number,
                "procedure_code": line.procedure_code,
                "modifiers": list(_split(line.modifiers)),
                "units": line.units,
                "charge": str(from_cents(line.charge_cents)),
                "service_date_from": line.service_date_from.isoformat(),
                "service_date_to": line.service_date_to.isoformat(),
                "diagnosis_pointers": [int(p) for p in _split(line.diagnosis_pointers)],
            }
            for line in lines
        ],
    }


def _claim_of(snapshot: dict[str, Any], patient: Patient) -> Claim:
    return Claim(
        claim_id=snapshot["claim_id"],
        payer_id=snapshot["payer_id"],
        patient=patient,
        rendering_npi=snapshot["rendering_npi"],
        diagnosis_codes=tuple(snapshot["diagnosis_codes"]),
        lines=tuple(
            ServiceLine(
                line_number=line["line_number"],
                procedure_code=line["procedure_code"],
                modifiers=tuple(line["modifiers"]),
                units=Decimal(line["units"]),
                charge=Decimal(line["charge"]),
                service_date_from=date.fromisoformat(line["service_date_from"]),
                service_date_to=date.fromisoformat(line["service_date_to"]),
                diagnosis_pointers=tuple(line["diagnosis_pointers"]),
            )
            for line in snapshot["lines"]
        ),
        place_of_service=snapshot["place_of_service"],
        submitted_date=date.fromisoformat(snapshot["submitted_date"]) if snapshot["submitted_date"] else None,
        payer_claim_number=snapshot["payer_claim_number"],
        frequency_code=FrequencyCode(snapshot["frequency_code"]),
    )


def _patient(row: Any) -> Patient:
    return Patient(
        last_name=row.last_name, first_name=row.first_name, date_of_birth=row.date_of_birth, member_id=row.member_id
    )


def keep_version(connection: Connection, claim_pk: int) -> None:
    """Copy the claim's current version into claim_versions before it is replaced (once per version)."""
    row = connection.execute(sa.select(claims).where(claims.c.id == claim_pk)).one()
    lines = connection.execute(
        sa.select(service_lines).where(service_lines.c.claim_pk == claim_pk).order_by(service_lines.c.line_number)
    ).all()
    connection.execute(
        _insert(connection, claim_versions).on_conflict_do_nothing(
            index_elements=[claim_versions.c.claim_pk, claim_versions.c.version]
        ),
        {
            "claim_pk": claim_pk,
            "version": row.version,
            "patient_id": row.patient_id,
            "content_hash": row.content_hash,
            "snapshot": _snapshot(row, lines),
            "recorded_at": row.updated_at,
        },
    )


def read_versions(connection: Connection, claim_pk: int, current: Claim) -> list[ClaimVersion]:
    """Every version of a claim, oldest first; the last is the current one."""
    kept = connection.execute(
        sa.select(claim_versions, patients)
        .join(patients, patients.c.id == claim_versions.c.patient_id)
        .where(claim_versions.c.claim_pk == claim_pk)
        .order_by(claim_versions.c.version)
    ).all()
    row = connection.execute(
        sa.select(claims.c.version, claims.c.content_hash, claims.c.updated_at).where(claims.c.id == claim_pk)
    ).one()
    versions = [
        ClaimVersion(
            claim=_claim_of(version.snapshot, _patient(version)),
            version=version.version,
            content_hash=version.content_hash,
            recorded_at=version.recorded_at,
            current=False,
        )
        for version in kept
    ]
    versions.append(
        ClaimVersion(
            claim=current, version=row.version, content_hash=row.content_hash, recorded_at=row.updated_at, current=True
        )
    )
    return versions


def _row(submission: Submission, claim_pk: int) -> dict[str, Any]:
    values = submission.model_dump(exclude={"id", "claim_id"})
    values["claim_pk"] = claim_pk
    values["ack_codes"] = ";".join(submission.ack_codes)
    for name in ("frequency_code", "route", "state"):
        values[name] = getattr(submission, name).value
    return values


def add_submission(connection: Connection, submission: Submission, claim_pk: int) -> tuple[int, bool]:
    """Add a submission unless one with its idempotency key exists: (its id, whether it is new)."""
    inserted = connection.execute(
        _insert(connection, submissions)
        .on_conflict_do_nothing(index_elements=[submissions.c.idempotency_key])
        .returning(submissions.c.id),
        _row(submission, claim_pk),
    ).scalar()
    if inserted is not None:
        return int(inserted), True
    existing = connection.execute(
        sa.select(submissions.c.id).where(submissions.c.idempotency_key == submission.idempotency_key)
    ).scalar_one()
    return int(existing), False


def update_submission(connection: Connection, submission_id: int, changes: dict[str, Any]) -> None:
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise ValueError(f"a submission's {', '.join(sorted(unknown))} cannot change once it is added")
    values = dict(changes)
    if "ack_codes" in values:
        values["ack_codes"] = ";".join(values["ack_codes"])
    if isinstance(values.get("state"), SubmissionState):
        values["state"] = values["state"].value
    values["updated_at"] = utc_now()
    connection.execute(submissions.update().where(submissions.c.id == submission_id).values(**values))


def read_submissions(connection: Connection, where: Sequence[sa.ColumnElement[bool]]) -> list[Submission]:
    rows = connection.execute(
        sa.select(submissions, claims.c.claim_id)
        .join(claims, claims.c.id == submissions.c.claim_pk)
        .where(*where)
        .order_by(submissions.c.requested_at, submissions.c.id)
    )
    return [_submission(row) for row in rows]


def _submission(row: Any) -> Submission:
    return Submission(
        id=row.id,
        claim_id=row.claim_id,
        claim_version=row.claim_version,
        frequency_code=FrequencyCode(row.frequency_code),
        original_payer_claim_number=row.original_payer_claim_number,
        route=SubmissionRoute(row.route),
        state=SubmissionState(row.state),
        changes=row.changes,
        reason=row.reason,
        requested_by=row.requested_by,
        approved_by=row.approved_by,
        idempotency_key=row.idempotency_key,
        requested_at=row.requested_at,
        sent_at=row.sent_at,
        interchange_control_number=row.interchange_control_number,
        group_control_number=row.group_control_number,
        transaction_control_number=row.transaction_control_number,
        x12_sha256=row.x12_sha256,
        confirmation_number=row.confirmation_number,
        ack_codes=_split(row.ack_codes),
        payer_claim_number=row.payer_claim_number,
        evidence_ref=row.evidence_ref,
        error=row.error,
        updated_at=row.updated_at,
    )


def submission_filters(
    claim_pk: int | None = None,
    state: SubmissionState | None = None,
    interchange_control_number: str | None = None,
    submission_id: int | None = None,
    idempotency_key: str | None = None,
    since: datetime | None = None,
) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if claim_pk is not None:
        where.append(submissions.c.claim_pk == claim_pk)
    if state is not None:
        where.append(submissions.c.state == state.value)
    if interchange_control_number is not None:
        where.append(submissions.c.interchange_control_number == interchange_control_number)
    if submission_id is not None:
        where.append(submissions.c.id == submission_id)
    if idempotency_key is not None:
        where.append(submissions.c.idempotency_key == idempotency_key)
    if since is not None:
        where.append(submissions.c.requested_at >= since)
    return where
