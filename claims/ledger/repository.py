"""Reads and writes of the ledger, in typed models.

Writes go through a `LedgerWriter` bound to one transaction, so an import or an EDI file is
recorded whole or not at all. A claim's current status is derived from its append-only history:
the latest check that says something about the claim (an "unavailable" answer never does).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal, NamedTuple

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from claims.ledger.money import from_cents, from_cents_or_none, to_cents, to_cents_or_none
from claims.ledger.schema import (
    actions,
    bot_runs,
    claims,
    denials,
    edi_files,
    eligibility_checks,
    eligibility_sweep_items,
    events,
    patients,
    payer_holds,
    payers,
    payments,
    service_lines,
    status_checks,
    sweep_items,
    sweeps,
    unmatched_items,
)
from claims.ledger.submissions import (
    add_submission,
    keep_version,
    read_submissions,
    read_versions,
    submission_filters,
    update_submission,
)
from claims.models import (
    APPOINTMENT_KEY_MAX,
    STATUS_EVENT_KINDS,
    SWEEP_ERROR_MAX,
    Action,
    AdjustmentGroup,
    BotRun,
    BotRunStatus,
    CheckSource,
    Claim,
    ClaimVersion,
    Denial,
    EligibilityCheck,
    Event,
    EventKind,
    FrequencyCode,
    Patient,
    Payer,
    PayerKind,
    PayerNumber,
    Payment,
    PaymentMethod,
    ServiceLine,
    StatusCheck,
    Submission,
    SubmissionState,
    Sweep,
    SweepItem,
    SweepItemState,
    SweepKind,
    SweepState,
    utc_now,
)
from claims.status import FINAL_STATUSES, UNINFORMATIVE_STATUSES, ClaimStatus

_UNINFORMATIVE = [s.value for s in UNINFORMATIVE_STATUSES]
_IN_CHUNK = 500  # ids per IN (...) query; stays far below SQLite's bound-parameter limit


class ClaimNotFoundError(LookupError):
    """No claim with this id in the ledger (a result for the caller to report, not a crash)."""

    def __init__(self, claim_id: str) -> None:
        super().__init__(f"claim {claim_id} is not in the ledger")
        self.claim_id = claim_id


class ClaimSummary(BaseModel):
    """One claim as lists and chat show it: no PHI beyond the patient's initials."""

    model_config = ConfigDict(frozen=True)

    claim_id: str
    payer_id: str
    patient_initials: str
    service_date_from: date
    service_date_to: date
    billed_amount: Decimal
    submitted_date: date | None
    payer_claim_number: str | None
    status: ClaimStatus
    status_checked_at: datetime | None
    paid_amount: Decimal | None


class ClaimSnapshot(BaseModel):
    """What the sweep planner needs to know about one claim (bots.planner): no PHI at all."""

    model_config = ConfigDict(frozen=True)

    claim_id: str
    payer_id: str
    status: ClaimStatus  # current (derived) status
    service_date_from: date
    submitted_date: date | None
    billed_amount: Decimal
    last_checked_at: datetime | None = None  # the latest check of any kind, failed attempts too
    last_answer_status: ClaimStatus | None = None  # that check's status (unavailable when it failed)


class UnmatchedKind(StrEnum):
    STATUS = "status"
    PAYMENT = "payment"
    REJECTED = "rejected"  # an EDI claim refused over an error finding: kept to be seen, never matched


class UnmatchedItem(BaseModel):
    """A payer answer about a claim the ledger does not have yet (payload: the StatusCheck or Payment)."""

    model_config = ConfigDict(frozen=True)

    id: int | None = None
    dedupe_key: str
    kind: UnmatchedKind
    claim_ref: str
    payer_claim_number: PayerNumber | None = None
    source: str
    received_at: datetime
    payload: dict[str, Any]
    matched_at: datetime | None = None


class PayerHold(BaseModel):
    """A payer no bot may sign in to until a person clears it (see portal_adapters.errors.SUSPENDING_KINDS)."""

    model_config = ConfigDict(frozen=True)

    id: int | None = None
    payer_id: str
    kind: str
    reason: str
    since: datetime
    evidence_ref: str | None = None
    bot_run_id: int | None = None
    cleared_at: datetime | None = None
    cleared_by: str | None = None

    @property
    def open(self) -> bool:
        return self.cleared_at is None


class EligibilityItem(BaseModel):
    """One appointment of an eligibility sweep: whose coverage, on which date, and what became of it."""

    model_config = ConfigDict(frozen=True)

    id: int | None = None
    sweep_id: int | None = None
    appointment_key: str = Field(min_length=1, max_length=APPOINTMENT_KEY_MAX)
    payer_id: str
    patient: Patient
    service_date: date
    state: SweepItemState = SweepItemState.PLANNED
    last_error_kind: str | None = Field(default=None, max_length=SWEEP_ERROR_MAX)
    eligibility_check_id: int | None = None
    updated_at: datetime = Field(default_factory=utc_now)


class ClaimUpsertCounts(BaseModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: ClaimUpsertCounts) -> ClaimUpsertCounts:
        return ClaimUpsertCounts(
            created=self.created + other.created,
            updated=self.updated + other.updated,
            unchanged=self.unchanged + other.unchanged,
        )


def content_hash(claim: Claim) -> str:
    return hashlib.sha256(claim.model_dump_json().encode()).hexdigest()


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_ledger_engine(url: str) -> Engine:
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _insert(connection: Connection, table: sa.Table) -> Any:
    """An INSERT that knows ON CONFLICT, in the connection's dialect (both have the same spelling)."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _patient_key(payer_id: str, patient: Patient) -> tuple[str, str, date, str, str]:
    return (payer_id, patient.member_id, patient.date_of_birth, patient.last_name, patient.first_name)


def _claim_row(claim: Claim, patient_pk: int, now: datetime) -> dict[str, Any]:
    return {
        "claim_id": claim.claim_id,
        "payer_id": claim.payer_id,
        "patient_id": patient_pk,
        "rendering_npi": claim.rendering_npi,
        "diagnosis_codes": ";".join(claim.diagnosis_codes),
        "place_of_service": claim.place_of_service,
        "frequency_code": claim.frequency_code.value,
        "billed_cents": to_cents(claim.billed_amount),
        "service_date_from": claim.service_date_from,
        "service_date_to": claim.service_date_to,
        "submitted_date": claim.submitted_date,
        "payer_claim_number": claim.payer_claim_number,
        "content_hash": content_hash(claim),
        "updated_at": now,
    }


def _line_rows(claim_pk: int, claim: Claim) -> list[dict[str, Any]]:
    return [
        {
            "claim_pk": claim_pk,
            "line_number": line.line_number,
            "procedure_code": line.procedure_code,
            "modifiers": ";".join(line.modifiers),
            "units": str(line.units),
            "charge_cents": to_cents(line.charge),
            "service_date_from": line.service_date_from,
            "service_date_to": line.service_date_to,
            "diagnosis_pointers": ";".join(str(p) for p in line.diagnosis_pointers),
        }
        for line in claim.lines
    ]


def _without(row: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in names}


def _split(text: str) -> tuple[str, ...]:
    return tuple(part for part in text.split(";") if part)


def sweep_dedupe_key(sweep_id: int, claim_id: str) -> str:
    return f"sweep:{sweep_id}:{claim_id}"


def _status_event(
    check: StatusCheck,
    check_id: int,
    payer_id: str,
    was: ClaimStatus,
    now: ClaimStatus,
    sweep_id: int | None,
) -> Event:
    """The one event a change of a claim's current status raises: named after the new status when it
    needs someone (paid, denied, ...), else status_changed. PHI-free: ids, codes, amounts, statuses."""
    kind = STATUS_EVENT_KINDS.get(now, EventKind.STATUS_CHANGED)
    return Event(
        kind=kind,
        claim_id=check.claim_id,
        payer_id=payer_id,
        sweep_id=sweep_id,
        payload={
            "status_check_id": check_id,
            "status_before": was.value,
            "status": now.value,
            "source": check.source.value,
            "category_code": check.category_code,
            "status_code": check.status_code,
            "paid_amount": None if check.paid_amount is None else str(check.paid_amount),
            "denials": [d.code for d in check.denials if d.needs_work],
            "evidence_ref": check.evidence_ref,
        },
        dedupe_key=f"event:{kind.value}:{check.claim_id}:{check_id}",
    )


AnswerOutcome = Literal["recorded", "duplicate", "unmatched"]
_ROW_CHUNK = 1000  # rows per batched INSERT


class _Current(NamedTuple):
    """A claim's latest informative check, as far as deriving its status needs."""

    status: str
    status_at: datetime
    checked_at: datetime


def _check_row(check: StatusCheck, claim_pk: int) -> dict[str, Any]:
    return {
        "claim_pk": claim_pk,
        "checked_at": check.checked_at,
        "effective_at": check.effective_at,
        "status_at": check.status_at,
        "source": check.source.value,
        "status": check.status.value,
        "category_code": check.category_code,
        "status_code": check.status_code,
        "payer_status_text": check.payer_status_text,
        "billed_cents": to_cents_or_none(check.billed_amount),
        "paid_cents": to_cents_or_none(check.paid_amount),
        "patient_responsibility_cents": to_cents_or_none(check.patient_responsibility),
        "payer_claim_number": check.payer_claim_number,
        "check_number": check.check_number,
        "payment_date": check.payment_date,
        "evidence_ref": check.evidence_ref,
        "bot_run_id": check.bot_run_id,
        "dedupe_key": check.dedupe_key,
        "raw_segment": check.raw_segment,
        "remarks": ";".join(check.remarks),
        "elapsed_ms": check.elapsed_ms,
    }


def _denial_rows(check: StatusCheck, check_id: int) -> list[dict[str, Any]]:
    return [
        {
            "status_check_id": check_id,
            "group_code": d.group.value,
            "carc": d.carc,
            "rarcs": ";".join(d.rarcs),
            "amount_cents": to_cents_or_none(d.amount),
            "line_number": d.line_number,
        }
        for d in check.denials
    ]


def _payment_row(payment: Payment, claim_pk: int) -> dict[str, Any]:
    return {
        "claim_pk": claim_pk,
        "amount_cents": to_cents(payment.amount),
        "paid_date": payment.paid_date,
        "method": payment.method.value,
        "check_number": payment.check_number,
        "payer_claim_number": payment.payer_claim_number,
        "source": payment.source.value,
        "dedupe_key": payment.dedupe_key,
        "recorded_at": utc_now(),
    }


def _event_row(event: Event, claim_pk: int | None) -> dict[str, Any]:
    return {
        "kind": event.kind.value,
        "claim_pk": claim_pk,
        "payer_id": event.payer_id,
        "sweep_id": event.sweep_id,
        "payload": event.payload,
        "dedupe_key": event.dedupe_key,
        "created_at": event.created_at,
    }


def _change_event(check: StatusCheck, check_id: int, claim: Any, before: Any, sweep_id: int | None) -> Event | None:
    """The event a just-recorded check raises when it changes the claim's current status (`before`:
    the latest informative check until now, or None), else None."""
    was = _derived_status(None if before is None else before.status, claim.submitted_date)
    now = was
    if check.status not in UNINFORMATIVE_STATUSES and (
        before is None or (check.status_at, check.checked_at) >= (before.status_at, before.checked_at)
    ):
        now = check.status
    if now is was:
        return None
    return _status_event(check, check_id, claim.payer_id, was, now, sweep_id)


class LedgerWriter:
    """All writes, inside one transaction opened by `Ledger.writer()`."""

    def __init__(self, connection: Connection) -> None:
        self._conn = connection

    def sync_payers(self, payer_list: Iterable[Payer]) -> None:
        """Insert or update each payer, one statement each (two writers may sync at once)."""
        for payer in payer_list:
            values = payer.model_dump(mode="json")
            statement = _insert(self._conn, payers).values(**values)
            self._conn.execute(
                statement.on_conflict_do_update(
                    index_elements=[payers.c.id],
                    set_={name: statement.excluded[name] for name in values if name != "id"},
                )
            )

    def _find_patients(
        self, wanted: set[tuple[str, str, date, str, str]]
    ) -> dict[tuple[str, str, date, str, str], int]:
        member_ids = sorted({key[1] for key in wanted})
        found: dict[tuple[str, str, date, str, str], int] = {}
        for start in range(0, len(member_ids), _IN_CHUNK):
            rows = self._conn.execute(
                sa.select(
                    patients.c.id,
                    patients.c.payer_id,
                    patients.c.member_id,
                    patients.c.date_of_birth,
                    patients.c.last_name,
                    patients.c.first_name,
                ).where(patients.c.member_id.in_(member_ids[start : start + _IN_CHUNK]))
            )
            for row in rows:
                key = (row.payer_id, row.member_id, row.date_of_birth, row.last_name, row.first_name)
                if key in wanted:
                    found[key] = row.id
        return found

    def _patient_ids(self, memberships: Iterable[tuple[str, Patient]]) -> dict[tuple[str, str, date, str, str], int]:
        """Ledger ids of (payer, patient) pairs, inserting the patients not seen before.

        New patients are inserted ON CONFLICT DO NOTHING and then read back, so another writer adding
        the same patient at the same moment costs nothing: both get the one row.
        """
        wanted = {_patient_key(payer_id, patient) for payer_id, patient in memberships}
        found = self._find_patients(wanted)
        missing = [key for key in wanted if key not in found]
        if missing:
            self._conn.execute(
                _insert(self._conn, patients).on_conflict_do_nothing(
                    index_elements=[
                        patients.c.payer_id,
                        patients.c.member_id,
                        patients.c.date_of_birth,
                        patients.c.last_name,
                        patients.c.first_name,
                    ]
                ),
                [
                    {
                        "payer_id": k[0],
                        "member_id": k[1],
                        "date_of_birth": k[2],
                        "last_name": k[3],
                        "first_name": k[4],
                    }
                    for k in missing
                ],
            )
            found.update(self._find_patients(set(missing)))
        return found

    def upsert_claims(self, batch: Sequence[Claim]) -> ClaimUpsertCounts:
        """Insert new claims, replace changed ones, leave identical ones untouched (import is idempotent)."""
        if not batch:
            return ClaimUpsertCounts()
        ids = [c.claim_id for c in batch]
        existing: dict[str, tuple[int, str]] = {}
        for start in range(0, len(ids), _IN_CHUNK):
            rows = self._conn.execute(
                sa.select(claims.c.claim_id, claims.c.id, claims.c.content_hash).where(
                    claims.c.claim_id.in_(ids[start : start + _IN_CHUNK])
                )
            )
            existing.update({row.claim_id: (row.id, row.content_hash) for row in rows})
        new = [c for c in batch if c.claim_id not in existing]
        changed = [c for c in batch if c.claim_id in existing and existing[c.claim_id][1] != content_hash(c)]
        if not new and not changed:
            return ClaimUpsertCounts(unchanged=len(batch))
        patient_ids = self._patient_ids((c.payer_id, c.patient) for c in new + changed)
        now = utc_now()
        lines: list[dict[str, Any]] = []
        if new:
            claim_rows = [
                {**_claim_row(c, patient_ids[_patient_key(c.payer_id, c.patient)], now), "created_at": now} for c in new
            ]
            inserted = {
                row.claim_id: row.id
                for row in self._conn.execute(
                    _insert(self._conn, claims)
                    .on_conflict_do_nothing(index_elements=[claims.c.claim_id])
                    .returning(claims.c.id, claims.c.claim_id),
                    claim_rows,
                )
            }
            for claim in new:
                if claim.claim_id in inserted:
                    lines.extend(_line_rows(inserted[claim.claim_id], claim))
            raced = [c for c in new if c.claim_id not in inserted]
            if raced:  # another writer inserted these claims since we looked: they are existing claims now
                rows = self._conn.execute(
                    sa.select(claims.c.claim_id, claims.c.id, claims.c.content_hash).where(
                        claims.c.claim_id.in_([c.claim_id for c in raced])
                    )
                )
                existing.update({row.claim_id: (row.id, row.content_hash) for row in rows})
                changed += [c for c in raced if existing[c.claim_id][1] != content_hash(c)]
                new = [c for c in new if c.claim_id in inserted]
        for claim in changed:
            pk = existing[claim.claim_id][0]
            keep_version(self._conn, pk)  # what the payer may have received is never overwritten
            row = _claim_row(claim, patient_ids[_patient_key(claim.payer_id, claim.patient)], now)
            self._conn.execute(claims.update().where(claims.c.id == pk).values(**row, version=claims.c.version + 1))
            self._conn.execute(service_lines.delete().where(service_lines.c.claim_pk == pk))
            lines.extend(_line_rows(pk, claim))
        if lines:
            self._conn.execute(service_lines.insert(), lines)
        return ClaimUpsertCounts(created=len(new), updated=len(changed), unchanged=len(batch) - len(new) - len(changed))

    def _claim_pk(self, claim_id: str) -> int:
        pk = self._conn.execute(sa.select(claims.c.id).where(claims.c.claim_id == claim_id)).scalar()
        if pk is None:
            raise ClaimNotFoundError(claim_id)
        return int(pk)

    def _insert_new(self, table: sa.Table, key: sa.Column[Any], values: dict[str, Any]) -> int | None:
        """Insert unless a row with the same unique `key` exists: one statement, so two writers with the
        same key both succeed and one row results. The new row's id, or None when the key was there."""
        inserted = self._conn.execute(
            _insert(self._conn, table).on_conflict_do_nothing(index_elements=[key]).returning(table.c.id), values
        ).scalar()
        return None if inserted is None else int(inserted)

    def record_status_check(self, check: StatusCheck, sweep_id: int | None = None) -> bool:
        """Append one payer answer, and in the same transaction the event its status change raises
        (see `_status_event`). Returns False when its dedupe key was recorded before."""
        return self._record_check(check, sweep_id) is not None

    def _current(self, claim_pk: int) -> Any:
        """The claim's latest informative check: (status, status_at, checked_at)."""
        return self._conn.execute(
            sa.select(status_checks.c.status, status_checks.c.status_at, status_checks.c.checked_at)
            .where(status_checks.c.claim_pk == claim_pk, status_checks.c.status.not_in(_UNINFORMATIVE))
            .order_by(*_LATEST_FIRST)
            .limit(1)
        ).first()

    def _record_check(self, check: StatusCheck, sweep_id: int | None) -> int | None:
        claim = self._conn.execute(
            sa.select(claims.c.id, claims.c.payer_id, claims.c.submitted_date).where(
                claims.c.claim_id == check.claim_id
            )
        ).first()
        if claim is None:
            raise ClaimNotFoundError(check.claim_id)
        before = self._current(claim.id)
        check_id = self._insert_new(status_checks, status_checks.c.dedupe_key, _check_row(check, claim.id))
        if check_id is None:
            return None
        if check.denials:
            self._conn.execute(denials.insert(), _denial_rows(check, check_id))
        event = _change_event(check, check_id, claim, before, sweep_id)
        if event is not None:
            self._add_event(event, claim.id)
        return check_id

    def record_answers(self, records: Sequence[StatusCheck | Payment]) -> list[AnswerOutcome]:
        """Record many payer answers at once, as `record_status_check` / `record_payment` would one
        after another (same rows, same events, same dedupe keys), for a file's worth of answers: one
        look-up of their claims, one of the claims' current statuses, batched inserts (ON CONFLICT DO
        NOTHING on the dedupe keys, so a retry records nothing twice), then each claim's status walked
        in order to raise one event per change. One outcome per record, in order."""
        outcomes: list[AnswerOutcome] = ["duplicate"] * len(records)
        found = self._claims_by_id(sorted({r.claim_id for r in records}))
        checks: dict[str, tuple[int, StatusCheck]] = {}  # first of each dedupe key in the batch
        paid: dict[str, tuple[int, Payment]] = {}
        for index, record in enumerate(records):
            if record.claim_id not in found:
                outcomes[index] = "unmatched"
            elif record.dedupe_key is None:  # no key to batch on: the one-by-one path
                recorded = (
                    self.record_status_check(record) if isinstance(record, StatusCheck) else self.record_payment(record)
                )
                outcomes[index] = "recorded" if recorded else "duplicate"
            elif isinstance(record, StatusCheck):
                checks.setdefault(record.dedupe_key, (index, record))
            else:
                paid.setdefault(record.dedupe_key, (index, record))
        current = self._current_of({found[c.claim_id].id for _, c in checks.values()})
        check_ids = self._insert_many(status_checks, [_check_row(c, found[c.claim_id].id) for _, c in checks.values()])
        denial_rows: list[dict[str, Any]] = []
        event_rows: list[dict[str, Any]] = []
        for key, (index, check) in checks.items():
            check_id = check_ids.get(key)
            if check_id is None:
                continue
            outcomes[index] = "recorded"
            claim = found[check.claim_id]
            denial_rows.extend(_denial_rows(check, check_id))
            before = current.get(claim.id)
            event = _change_event(check, check_id, claim, before, None)
            if event is not None:
                event_rows.append(_event_row(event, claim.id))
            if check.status not in UNINFORMATIVE_STATUSES and (
                before is None or (check.status_at, check.checked_at) >= (before.status_at, before.checked_at)
            ):
                current[claim.id] = _Current(check.status.value, check.status_at, check.checked_at)
        for start in range(0, len(denial_rows), _ROW_CHUNK):
            self._conn.execute(denials.insert(), denial_rows[start : start + _ROW_CHUNK])
        self._insert_many(events, event_rows)
        payment_ids = self._insert_many(payments, [_payment_row(p, found[p.claim_id].id) for _, p in paid.values()])
        for key, (index, _) in paid.items():
            if key in payment_ids:
                outcomes[index] = "recorded"
        return outcomes

    def _claims_by_id(self, claim_ids: Sequence[str]) -> dict[str, Any]:
        """(id, payer_id, submitted_date) of each claim id the ledger holds, in chunked IN look-ups."""
        found: dict[str, Any] = {}
        for start in range(0, len(claim_ids), _IN_CHUNK):
            rows = self._conn.execute(
                sa.select(claims.c.claim_id, claims.c.id, claims.c.payer_id, claims.c.submitted_date).where(
                    claims.c.claim_id.in_(claim_ids[start : start + _IN_CHUNK])
                )
            )
            found.update({row.claim_id: row for row in rows})
        return found

    def _current_of(self, claim_pks: set[int]) -> dict[int, _Current]:
        """The latest informative check of each claim (what `_current` finds for one)."""
        latest: dict[int, tuple[Any, ...]] = {}
        wanted = sorted(claim_pks)
        for start in range(0, len(wanted), _IN_CHUNK):
            rows = self._conn.execute(
                sa.select(
                    status_checks.c.claim_pk,
                    status_checks.c.id,
                    status_checks.c.status,
                    status_checks.c.status_at,
                    status_checks.c.checked_at,
                ).where(
                    status_checks.c.claim_pk.in_(wanted[start : start + _IN_CHUNK]),
                    status_checks.c.status.not_in(_UNINFORMATIVE),
                )
            )
            for row in rows:
                order = (row.status_at, row.checked_at, row.id)
                if row.claim_pk not in latest or order > latest[row.claim_pk][0]:
                    latest[row.claim_pk] = (order, row.status)
        return {pk: _Current(status, order[0], order[1]) for pk, (order, status) in latest.items()}

    def _insert_many(self, table: sa.Table, rows: list[dict[str, Any]]) -> dict[str, int]:
        """Insert rows in chunks unless their dedupe key exists: {dedupe key: new id} of those inserted."""
        inserted: dict[str, int] = {}
        statement = (
            _insert(self._conn, table)
            .on_conflict_do_nothing(index_elements=[table.c.dedupe_key])
            .returning(table.c.dedupe_key, table.c.id)
        )
        for start in range(0, len(rows), _ROW_CHUNK):
            result = self._conn.execute(statement, rows[start : start + _ROW_CHUNK])
            inserted.update({row.dedupe_key: row.id for row in result})
        return inserted

    def record_payment(self, payment: Payment) -> bool:
        """Record one payment. Returns False when its dedupe key was recorded before."""
        row = _payment_row(payment, self._claim_pk(payment.claim_id))
        return self._insert_new(payments, payments.c.dedupe_key, row) is not None

    def record_eligibility(self, check: EligibilityCheck) -> int:
        """Append one eligibility answer; coverage found inactive where it was active (or never
        asked) raises an `eligibility_inactive` event in the same transaction."""
        patient_pk = self._patient_ids([(check.payer_id, check.patient)])[_patient_key(check.payer_id, check.patient)]
        was_active = self._conn.execute(
            sa.select(eligibility_checks.c.active)
            .where(eligibility_checks.c.patient_id == patient_pk, eligibility_checks.c.payer_id == check.payer_id)
            .order_by(eligibility_checks.c.checked_at.desc(), eligibility_checks.c.id.desc())
            .limit(1)
        ).scalar()
        check_id = int(
            self._conn.execute(
                eligibility_checks.insert().returning(eligibility_checks.c.id),
                {
                    "patient_id": patient_pk,
                    "payer_id": check.payer_id,
                    "checked_at": check.checked_at,
                    "source": check.source.value,
                    "service_date": check.service_date,
                    "active": check.active,
                    "plan_name": check.plan_name,
                    "benefits": [b.model_dump(mode="json") for b in check.benefits],
                    "rejection_code": check.rejection_code,
                    "evidence_ref": check.evidence_ref,
                    "bot_run_id": check.bot_run_id,
                },
            ).scalar_one()
        )
        if not check.active and was_active is not False:
            self.add_event(
                Event(
                    kind=EventKind.ELIGIBILITY_INACTIVE,
                    payer_id=check.payer_id,
                    payload={
                        "eligibility_check_id": check_id,
                        "service_date": check.service_date.isoformat(),
                        "source": check.source.value,
                        "rejection_code": check.rejection_code,
                        "evidence_ref": check.evidence_ref,
                    },
                    dedupe_key=f"event:{EventKind.ELIGIBILITY_INACTIVE.value}:{check_id}",
                )
            )
        return check_id

    def record_action(self, action: Action) -> bool:
        """Audit one action. Returns False (and records nothing) when its idempotency key exists."""
        claim_pk = self._claim_pk(action.claim_id) if action.claim_id else None
        inserted = self._insert_new(
            actions,
            actions.c.idempotency_key,
            {
                "at": action.at,
                "actor": action.actor,
                "action": action.action,
                "claim_pk": claim_pk,
                "idempotency_key": action.idempotency_key,
                "outcome": action.outcome.value,
                "detail": action.detail,
            },
        )
        return inserted is not None

    def add_submission(self, submission: Submission) -> tuple[int, bool]:
        """Record a submission once per idempotency key: (its id, whether this call added it)."""
        return add_submission(self._conn, submission, self._claim_pk(submission.claim_id))

    def update_submission(self, submission_id: int, **changes: Any) -> None:
        """Move a submission on (state, control numbers, acknowledgment, evidence...)."""
        update_submission(self._conn, submission_id, changes)

    def edi_file_seen(self, sha256: str) -> bool:
        return self._conn.execute(sa.select(edi_files.c.id).where(edi_files.c.sha256 == sha256)).first() is not None

    def record_edi_file(self, sha256: str, name: str, summary: dict[str, Any]) -> None:
        self._insert_new(
            edi_files,
            edi_files.c.sha256,
            {"sha256": sha256, "name": name, "imported_at": utc_now(), "summary": summary},
        )

    def queue_unmatched(self, item: UnmatchedItem) -> bool:
        """Keep an answer whose claim is not in the ledger. False when it was queued before."""
        return (
            self._insert_new(
                unmatched_items,
                unmatched_items.c.dedupe_key,
                item.model_dump(mode="json", exclude={"id", "matched_at"}) | {"received_at": item.received_at},
            )
            is not None
        )

    def queue_unmatched_many(self, items: Sequence[UnmatchedItem]) -> set[str]:
        """`queue_unmatched` for many at once: the dedupe keys this call queued (not queued before)."""
        rows = [
            item.model_dump(mode="json", exclude={"id", "matched_at"}) | {"received_at": item.received_at}
            for item in items
        ]
        return set(self._insert_many(unmatched_items, rows))

    def match_unmatched(self) -> int:
        """Record every queued answer whose claim has since arrived; returns how many were matched."""
        rows = list(
            self._conn.execute(
                sa.select(unmatched_items.c.id, unmatched_items.c.kind, unmatched_items.c.payload)
                .join(claims, claims.c.claim_id == unmatched_items.c.claim_ref)
                .where(unmatched_items.c.matched_at.is_(None), unmatched_items.c.kind != UnmatchedKind.REJECTED.value)
                .order_by(unmatched_items.c.id)
            )
        )
        self.record_answers(
            [
                StatusCheck.model_validate(row.payload)
                if row.kind == UnmatchedKind.STATUS
                else Payment.model_validate(row.payload)
                for row in rows
            ]
        )
        ids = [row.id for row in rows]
        for start in range(0, len(ids), _IN_CHUNK):
            self._conn.execute(
                unmatched_items.update()
                .where(unmatched_items.c.id.in_(ids[start : start + _IN_CHUNK]))
                .values(matched_at=utc_now())
            )
        return len(rows)

    def start_bot_run(self, run: BotRun, lease: timedelta | None = None) -> int:
        """Record a run starting. With a lease it must `renew_bot_run` before the lease ends, or the
        next start of a run marks it interrupted (`interrupt_stale_runs`)."""
        values = run.model_dump(mode="python")
        if lease is not None:
            now = utc_now()
            values |= {"heartbeat_at": now, "lease_expires_at": now + lease}
        return int(self._conn.execute(bot_runs.insert().returning(bot_runs.c.id), values).scalar_one())

    def renew_bot_run(self, run_id: int, lease: timedelta, claims_checked: int, errors: int) -> None:
        """A heartbeat: the run is alive, and so far has checked this many claims."""
        now = utc_now()
        self._conn.execute(
            bot_runs.update()
            .where(bot_runs.c.id == run_id, bot_runs.c.status == BotRunStatus.RUNNING.value)
            .values(heartbeat_at=now, lease_expires_at=now + lease, claims_checked=claims_checked, errors=errors)
        )

    def interrupt_stale_runs(self, now: datetime | None = None) -> int:
        """Mark `running` runs whose lease ran out (or that never had one) `interrupted`; returns how many.

        A process that dies (kill, crash, power) cannot say so itself: this is how its run ends.
        """
        return self._interrupt_stale(bot_runs.c.status, BotRunStatus.RUNNING, BotRunStatus.INTERRUPTED, now)

    def finish_bot_run(
        self, run_id: int, status: BotRunStatus, claims_checked: int, errors: int, note: str | None
    ) -> None:
        self._conn.execute(
            bot_runs.update()
            .where(bot_runs.c.id == run_id)
            .values(
                finished_at=utc_now(),
                status=status.value,
                claims_checked=claims_checked,
                errors=errors,
                note=note,
                lease_expires_at=None,
            )
        )

    def hold_payer(self, hold: PayerHold) -> bool:
        """Suspend a payer until a person clears it. False when it is already held (the first hold stays)."""
        inserted = self._conn.execute(
            _insert(self._conn, payer_holds)
            .on_conflict_do_nothing(
                index_elements=[payer_holds.c.payer_id], index_where=payer_holds.c.cleared_at.is_(None)
            )
            .returning(payer_holds.c.id),
            hold.model_dump(mode="python", exclude={"id", "cleared_at", "cleared_by"}),
        ).scalar()
        return inserted is not None

    def clear_hold(self, payer_id: str, cleared_by: str) -> PayerHold | None:
        """Lift the payer's open hold; returns it as cleared, or None when the payer was not held."""
        row = self._conn.execute(
            payer_holds.update()
            .where(payer_holds.c.payer_id == payer_id, payer_holds.c.cleared_at.is_(None))
            .values(cleared_at=utc_now(), cleared_by=cleared_by)
            .returning(*payer_holds.c)
        ).first()
        return None if row is None else PayerHold.model_validate(row._asdict())

    # --- events (the outbox) ---------------------------------------------------------------------

    def add_event(self, event: Event) -> bool:
        """Append an event unless its dedupe key exists (a re-delivered job raises nothing twice)."""
        return self._add_event(event, self._claim_pk(event.claim_id) if event.claim_id else None)

    def _add_event(self, event: Event, claim_pk: int | None) -> bool:
        return self._insert_new(events, events.c.dedupe_key, _event_row(event, claim_pk)) is not None

    def mark_dispatched(self, event_ids: Sequence[int]) -> int:
        """Consumers say they acted on these events; returns how many were still pending."""
        done = 0
        for start in range(0, len(event_ids), _IN_CHUNK):
            done += self._conn.execute(
                events.update()
                .where(events.c.id.in_(list(event_ids[start : start + _IN_CHUNK])), events.c.dispatched_at.is_(None))
                .values(dispatched_at=utc_now())
            ).rowcount
        return done

    # --- sweeps ------------------------------------------------------------------------------------

    def _claim_pks(self, claim_ids: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(claim_ids), _IN_CHUNK):
            rows = self._conn.execute(
                sa.select(claims.c.claim_id, claims.c.id).where(
                    claims.c.claim_id.in_(claim_ids[start : start + _IN_CHUNK])
                )
            )
            found.update({row.claim_id: row.id for row in rows})
        return found

    def create_sweep(self, sweep: Sweep, items: Sequence[SweepItem]) -> int:
        """Record a planned sweep and its items (state planned); returns the sweep's id."""
        sweep_id = int(
            self._conn.execute(
                sweeps.insert().returning(sweeps.c.id), sweep.model_dump(mode="python", exclude={"id"})
            ).scalar_one()
        )
        pks = self._claim_pks([item.claim_id for item in items])
        missing = [item.claim_id for item in items if item.claim_id not in pks]
        if missing:
            raise ClaimNotFoundError(missing[0])
        if items:
            self._conn.execute(
                sweep_items.insert(),
                [
                    item.model_dump(mode="python", exclude={"id", "claim_id", "sweep_id"})
                    | {"sweep_id": sweep_id, "claim_pk": pks[item.claim_id]}
                    for item in items
                ],
            )
        return sweep_id

    def start_sweep(self, sweep_id: int, lease: timedelta) -> None:
        """The sweep runs (again): state running, a fresh lease; started_at stays the first start."""
        now = utc_now()
        self._conn.execute(
            sweeps.update()
            .where(sweeps.c.id == sweep_id)
            .values(
                state=SweepState.RUNNING.value,
                started_at=sa.func.coalesce(sweeps.c.started_at, now),
                finished_at=None,
                heartbeat_at=now,
                lease_expires_at=now + lease,
            )
        )

    def renew_sweep(self, sweep_id: int, lease: timedelta) -> None:
        now = utc_now()
        self._conn.execute(
            sweeps.update()
            .where(sweeps.c.id == sweep_id, sweeps.c.state == SweepState.RUNNING.value)
            .values(heartbeat_at=now, lease_expires_at=now + lease)
        )

    def finish_sweep(self, sweep_id: int, state: SweepState, note: str | None = None) -> None:
        self._conn.execute(
            sweeps.update()
            .where(sweeps.c.id == sweep_id)
            .values(state=state.value, finished_at=utc_now(), lease_expires_at=None, note=note)
        )

    def interrupt_stale_sweeps(self, now: datetime | None = None) -> int:
        """Mark running sweeps whose lease ran out `interrupted` (their process died); returns how many."""
        return self._interrupt_stale(sweeps.c.state, SweepState.RUNNING, SweepState.INTERRUPTED, now)

    def _interrupt_stale(
        self, state: sa.Column[Any], running: StrEnum, interrupted: StrEnum, now: datetime | None
    ) -> int:
        """One statement for bot runs and sweeps alike: `running` rows whose lease ran out end `interrupted`."""
        table = state.table
        now = now or utc_now()
        return int(
            self._conn.execute(
                table.update()
                .where(
                    state == running.value,
                    sa.or_(table.c.lease_expires_at.is_(None), table.c.lease_expires_at < now),
                )
                .values(
                    {
                        state.name: interrupted.value,
                        "finished_at": now,
                        "note": "no heartbeat before its lease ran out: the process ended without finishing",
                    }
                )
            ).rowcount
        )

    def record_sweep_answer(
        self,
        sweep_id: int,
        check: StatusCheck,
        state: SweepItemState = SweepItemState.DONE,
        error_kind: str | None = None,
    ) -> bool:
        """One answer of a sweep and its item's new state, in this one transaction. The check is keyed
        `sweep:<sweep>:<claim>`, so a re-delivered job records nothing twice (returns False then)."""
        check = check.model_copy(update={"dedupe_key": sweep_dedupe_key(sweep_id, check.claim_id)})
        check_id = self._record_check(check, sweep_id)
        recorded = check_id is not None
        if check_id is None:
            check_id = self._conn.execute(
                sa.select(status_checks.c.id).where(status_checks.c.dedupe_key == check.dedupe_key)
            ).scalar_one()
        self._conn.execute(
            sweep_items.update()
            .where(sweep_items.c.sweep_id == sweep_id, sweep_items.c.claim_pk == self._claim_pk(check.claim_id))
            .values(
                state=state.value,
                attempts=sweep_items.c.attempts + int(recorded),
                last_error_kind=error_kind,
                status_check_id=check_id,
                updated_at=utc_now(),
            )
        )
        return recorded

    def set_sweep_items(
        self, sweep_id: int, claim_ids: Sequence[str], state: SweepItemState, error_kind: str | None
    ) -> int:
        """Items still planned that end without an answer (quarantined, skipped, failed unasked)."""
        pks = list(self._claim_pks(claim_ids).values())
        changed = 0
        for start in range(0, len(pks), _IN_CHUNK):
            changed += self._conn.execute(
                sweep_items.update()
                .where(
                    sweep_items.c.sweep_id == sweep_id,
                    sweep_items.c.claim_pk.in_(pks[start : start + _IN_CHUNK]),
                    sweep_items.c.state == SweepItemState.PLANNED.value,
                )
                .values(state=state.value, last_error_kind=error_kind, updated_at=utc_now())
            ).rowcount
        return changed

    # --- eligibility sweeps ----------------------------------------------------------------------

    def create_eligibility_sweep(self, sweep: Sweep, items: Sequence[EligibilityItem]) -> int:
        """Record an eligibility sweep and its appointments (state planned); returns the sweep's id.
        Patients the ledger does not know yet are added (the same patient stays one row)."""
        sweep_id = int(
            self._conn.execute(
                sweeps.insert().returning(sweeps.c.id),
                sweep.model_copy(update={"kind": SweepKind.ELIGIBILITY}).model_dump(mode="python", exclude={"id"}),
            ).scalar_one()
        )
        pks = self._patient_ids([(item.payer_id, item.patient) for item in items])
        if items:
            self._conn.execute(
                eligibility_sweep_items.insert(),
                [
                    {
                        "sweep_id": sweep_id,
                        "appointment_key": item.appointment_key,
                        "payer_id": item.payer_id,
                        "patient_id": pks[_patient_key(item.payer_id, item.patient)],
                        "service_date": item.service_date,
                        "state": item.state.value,
                        "last_error_kind": item.last_error_kind,
                        "updated_at": item.updated_at,
                    }
                    for item in items
                ],
            )
        return sweep_id

    def record_eligibility_sweep_answer(self, sweep_id: int, appointment_key: str, check: EligibilityCheck) -> bool:
        """One appointment's answer and its item's state, in this one transaction. Only a planned item
        takes an answer: a re-delivered job records nothing twice (returns False then)."""
        item = eligibility_sweep_items.c
        where = sa.and_(item.sweep_id == sweep_id, item.appointment_key == appointment_key)
        claimed = self._conn.execute(
            eligibility_sweep_items.update()
            .where(where, item.state == SweepItemState.PLANNED.value)
            .values(state=SweepItemState.DONE.value, last_error_kind=None, updated_at=utc_now())
        ).rowcount
        if not claimed:
            return False
        check_id = self.record_eligibility(check)
        self._conn.execute(eligibility_sweep_items.update().where(where).values(eligibility_check_id=check_id))
        return True

    def set_eligibility_sweep_items(
        self, sweep_id: int, appointment_keys: Sequence[str], state: SweepItemState, error_kind: str | None
    ) -> int:
        """Appointments still planned that end without an answer (failed, skipped); returns how many."""
        changed = 0
        for start in range(0, len(appointment_keys), _IN_CHUNK):
            changed += self._conn.execute(
                eligibility_sweep_items.update()
                .where(
                    eligibility_sweep_items.c.sweep_id == sweep_id,
                    eligibility_sweep_items.c.appointment_key.in_(list(appointment_keys[start : start + _IN_CHUNK])),
                    eligibility_sweep_items.c.state == SweepItemState.PLANNED.value,
                )
                .values(state=state.value, last_error_kind=error_kind, updated_at=utc_now())
            ).rowcount
        return changed


#: The order in which a claim's checks say what its status is now: by when the answer was true (the
#: payer's effective date, else when observed), then by when it was observed, then by arrival. So an
#: old ERA imported today does not rewind a newer portal answer. ix_status_checks_claim_latest serves it.
_LATEST_FIRST = (status_checks.c.status_at.desc(), status_checks.c.checked_at.desc(), status_checks.c.id.desc())


def _latest_informative_checks(only_claim_id: str | None = None) -> sa.Subquery:
    """Each claim's latest informative check; ranking only one claim's history when asked for one."""
    where: list[sa.ColumnElement[bool]] = [status_checks.c.status.not_in(_UNINFORMATIVE)]
    if only_claim_id is not None:
        claim_pk = sa.select(claims.c.id).where(claims.c.claim_id == only_claim_id).scalar_subquery()
        where.append(status_checks.c.claim_pk == claim_pk)
    ranked = (
        sa.select(
            status_checks.c.id,
            status_checks.c.claim_pk,
            status_checks.c.status,
            status_checks.c.checked_at,
            status_checks.c.paid_cents,
            sa.func.row_number().over(partition_by=status_checks.c.claim_pk, order_by=_LATEST_FIRST).label("rank"),
        )
        .where(*where)
        .subquery()
    )
    return sa.select(ranked).where(ranked.c.rank == 1).subquery("latest")


def _status_filters(latest: sa.Subquery, status: ClaimStatus | None) -> list[sa.ColumnElement[bool]]:
    """Claims whose current status is `status` (derived: no informative check means submitted/unknown)."""
    if status is ClaimStatus.SUBMITTED:
        return [claims.c.submitted_date.is_not(None), latest.c.status.is_(None)]
    if status is ClaimStatus.UNKNOWN:
        return [claims.c.submitted_date.is_(None), latest.c.status.is_(None)]
    return [] if status is None else [latest.c.status == status.value]


def _derived_status(check_status: str | None, submitted: date | None) -> ClaimStatus:
    if check_status is not None:
        return ClaimStatus(check_status)
    return ClaimStatus.SUBMITTED if submitted else ClaimStatus.UNKNOWN


class Ledger:
    """The ledger at one database URL. Cheap reads; writes through `writer()` or the record_* helpers."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def connect(cls, url: str) -> Ledger:
        return cls(create_ledger_engine(url))

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def writer(self) -> Iterator[LedgerWriter]:
        with self.engine.begin() as connection:
            yield LedgerWriter(connection)

    def sync_payers(self, payer_list: Iterable[Payer]) -> None:
        with self.writer() as writer:
            writer.sync_payers(payer_list)

    def record_status_check(self, check: StatusCheck) -> bool:
        with self.writer() as writer:
            return writer.record_status_check(check)

    def record_payment(self, payment: Payment) -> bool:
        with self.writer() as writer:
            return writer.record_payment(payment)

    def record_eligibility(self, check: EligibilityCheck) -> int:
        with self.writer() as writer:
            return writer.record_eligibility(check)

    def record_action(self, action: Action) -> bool:
        with self.writer() as writer:
            return writer.record_action(action)

    def interrupt_stale_runs(self) -> int:
        with self.writer() as writer:
            return writer.interrupt_stale_runs()

    # --- what was sent -----------------------------------------------------------------------------

    def claim_versions(self, claim_id: str) -> list[ClaimVersion]:
        """Every version of the claim, oldest first; the last is current."""
        current = self.get_claim(claim_id)
        with self.engine.connect() as conn:
            pk = conn.execute(sa.select(claims.c.id).where(claims.c.claim_id == claim_id)).scalar_one()
            return read_versions(conn, pk, current)

    def claim_version(self, claim_id: str, version: int) -> Claim:
        """The claim as it was at `version` (what a submission of that version sent)."""
        for kept in self.claim_versions(claim_id):
            if kept.version == version:
                return kept.claim
        raise LookupError(f"claim {claim_id} has no version {version}")

    def add_submission(self, submission: Submission) -> tuple[int, bool]:
        with self.writer() as writer:
            return writer.add_submission(submission)

    def update_submission(self, submission_id: int, **changes: Any) -> None:
        with self.writer() as writer:
            writer.update_submission(submission_id, **changes)

    def submissions(
        self,
        claim_id: str | None = None,
        state: SubmissionState | None = None,
        interchange_control_number: str | None = None,
        since: datetime | None = None,
    ) -> list[Submission]:
        """Submissions, oldest first, narrowed by claim, state, interchange (ISA13) or request time."""
        with self.engine.connect() as conn:
            claim_pk = None
            if claim_id is not None:
                claim_pk = conn.execute(sa.select(claims.c.id).where(claims.c.claim_id == claim_id)).scalar()
                if claim_pk is None:
                    raise ClaimNotFoundError(claim_id)
            return read_submissions(
                conn,
                submission_filters(
                    claim_pk=claim_pk,
                    state=state,
                    interchange_control_number=interchange_control_number,
                    since=since,
                ),
            )

    def submission(self, submission_id: int | None = None, idempotency_key: str | None = None) -> Submission | None:
        """One submission by id or by idempotency key."""
        with self.engine.connect() as conn:
            found = read_submissions(
                conn, submission_filters(submission_id=submission_id, idempotency_key=idempotency_key)
            )
        return found[0] if found else None

    def bot_runs(self, kind: str | None = None) -> dict[int, BotRun]:
        """Runs by id, oldest first."""
        query = sa.select(bot_runs).order_by(bot_runs.c.id)
        if kind is not None:
            query = query.where(bot_runs.c.kind == kind)
        with self.engine.connect() as conn:
            return {row.id: BotRun.model_validate(_without(row._asdict(), "id")) for row in conn.execute(query)}

    def hold_payer(self, hold: PayerHold) -> bool:
        with self.writer() as writer:
            return writer.hold_payer(hold)

    def open_hold(self, payer_id: str) -> PayerHold | None:
        """The payer's hold that no person has cleared yet, if any."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(payer_holds).where(payer_holds.c.payer_id == payer_id, payer_holds.c.cleared_at.is_(None))
            ).first()
        return None if row is None else PayerHold.model_validate(row._asdict())

    def holds(self, include_cleared: bool = False) -> list[PayerHold]:
        query = sa.select(payer_holds).order_by(payer_holds.c.id)
        if not include_cleared:
            query = query.where(payer_holds.c.cleared_at.is_(None))
        with self.engine.connect() as conn:
            return [PayerHold.model_validate(row._asdict()) for row in conn.execute(query)]

    def payers(self) -> list[Payer]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(payers).order_by(payers.c.id))
            return [
                Payer(id=r.id, name=r.name, kind=PayerKind(r.kind), timely_filing_days=r.timely_filing_days)
                for r in rows
            ]

    def get_claim(self, claim_id: str) -> Claim:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(
                    claims,
                    patients.c.member_id,
                    patients.c.last_name,
                    patients.c.first_name,
                    patients.c.date_of_birth,
                )
                .join(patients, patients.c.id == claims.c.patient_id)
                .where(claims.c.claim_id == claim_id)
            ).first()
            if row is None:
                raise ClaimNotFoundError(claim_id)
            line_rows = conn.execute(
                sa.select(service_lines).where(service_lines.c.claim_pk == row.id).order_by(service_lines.c.line_number)
            )
            lines = tuple(
                ServiceLine(
                    line_number=line.line_number,
                    procedure_code=line.procedure_code,
                    modifiers=_split(line.modifiers),
                    units=Decimal(line.units),
                    charge=from_cents(line.charge_cents),
                    service_date_from=line.service_date_from,
                    service_date_to=line.service_date_to,
                    diagnosis_pointers=tuple(int(p) for p in _split(line.diagnosis_pointers)),
                )
                for line in line_rows
            )
        return Claim(
            claim_id=row.claim_id,
            payer_id=row.payer_id,
            patient=Patient(
                last_name=row.last_name,
                first_name=row.first_name,
                date_of_birth=row.date_of_birth,
                member_id=row.member_id,
            ),
            rendering_npi=row.rendering_npi,
            diagnosis_codes=_split(row.diagnosis_codes),
            lines=lines,
            place_of_service=row.place_of_service,
            submitted_date=row.submitted_date,
            payer_claim_number=row.payer_claim_number,
            frequency_code=FrequencyCode(row.frequency_code),
        )

    def _summaries(
        self,
        where: Sequence[sa.ColumnElement[bool]],
        limit: int | None,
        offset: int,
        status: ClaimStatus | None = None,
        only_claim_id: str | None = None,
    ) -> list[ClaimSummary]:
        latest = _latest_informative_checks(only_claim_id)
        filters = [*where, *_status_filters(latest, status)]
        query = (
            sa.select(
                claims.c.claim_id,
                claims.c.payer_id,
                claims.c.service_date_from,
                claims.c.service_date_to,
                claims.c.billed_cents,
                claims.c.submitted_date,
                claims.c.payer_claim_number,
                patients.c.first_name,
                patients.c.last_name,
                latest.c.status,
                latest.c.checked_at,
                latest.c.paid_cents,
            )
            .join(patients, patients.c.id == claims.c.patient_id)
            .outerjoin(latest, latest.c.claim_pk == claims.c.id)
            .where(*filters)
            .order_by(claims.c.claim_id)
            .offset(offset)
        )
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [
                ClaimSummary(
                    claim_id=r.claim_id,
                    payer_id=r.payer_id,
                    patient_initials=f"{r.first_name[:1]}.{r.last_name[:1]}.".upper(),
                    service_date_from=r.service_date_from,
                    service_date_to=r.service_date_to,
                    billed_amount=from_cents(r.billed_cents),
                    submitted_date=r.submitted_date,
                    payer_claim_number=r.payer_claim_number,
                    status=_derived_status(r.status, r.submitted_date),
                    status_checked_at=r.checked_at,
                    paid_amount=from_cents_or_none(r.paid_cents),
                )
                for r in conn.execute(query)
            ]

    def summary(self, claim_id: str) -> ClaimSummary:
        found = self._summaries([claims.c.claim_id == claim_id], limit=1, offset=0, only_claim_id=claim_id)
        if not found:
            raise ClaimNotFoundError(claim_id)
        return found[0]

    def list_claims(
        self,
        status: ClaimStatus | None = None,
        payer_id: str | None = None,
        limit: int | None = 100,
        offset: int = 0,
    ) -> list[ClaimSummary]:
        where = [claims.c.payer_id == payer_id] if payer_id else []
        return self._summaries(where, limit, offset, status)

    def current_denials(self) -> list[tuple[str, str, Denial]]:
        """(claim id, payer id, denial) for every adjustment of each claim's current answer (reports)."""
        latest = _latest_informative_checks()
        query = (
            sa.select(claims.c.claim_id, claims.c.payer_id, denials)
            .join(latest, latest.c.claim_pk == claims.c.id)
            .join(denials, denials.c.status_check_id == latest.c.id)
            .order_by(claims.c.claim_id, denials.c.id)
        )
        with self.engine.connect() as conn:
            return [
                (
                    r.claim_id,
                    r.payer_id,
                    Denial(
                        group=AdjustmentGroup(r.group_code),
                        carc=r.carc,
                        rarcs=_split(r.rarcs),
                        amount=from_cents_or_none(r.amount_cents),
                        line_number=r.line_number,
                    ),
                )
                for r in conn.execute(query)
            ]

    def find_patient(self, payer_id: str, member_id: str, date_of_birth: date) -> Patient | None:
        """The patient this payer knows by member id and birth date, if the ledger has one."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(patients.c.last_name, patients.c.first_name)
                .where(
                    patients.c.payer_id == payer_id,
                    patients.c.member_id == member_id,
                    patients.c.date_of_birth == date_of_birth,
                )
                .limit(1)
            ).first()
        if row is None:
            return None
        return Patient(
            last_name=row.last_name, first_name=row.first_name, date_of_birth=date_of_birth, member_id=member_id
        )

    def count_claims(self, status: ClaimStatus | None = None, payer_id: str | None = None) -> int:
        """How many claims `list_claims` would give without a limit."""
        query = sa.select(sa.func.count()).select_from(claims)
        if status is not None:
            latest = _latest_informative_checks()
            query = query.outerjoin(latest, latest.c.claim_pk == claims.c.id).where(*_status_filters(latest, status))
        if payer_id:
            query = query.where(claims.c.payer_id == payer_id)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def current_status(self, claim_id: str) -> ClaimStatus:
        """The claim's status now: its latest informative check, else submitted/unknown."""
        with self.engine.connect() as conn:
            claim = conn.execute(
                sa.select(claims.c.id, claims.c.submitted_date).where(claims.c.claim_id == claim_id)
            ).first()
            if claim is None:
                raise ClaimNotFoundError(claim_id)
            status = conn.execute(
                sa.select(status_checks.c.status)
                .where(status_checks.c.claim_pk == claim.id, status_checks.c.status.not_in(_UNINFORMATIVE))
                .order_by(*_LATEST_FIRST)
                .limit(1)
            ).scalar()
        return _derived_status(status, claim.submitted_date)

    def history(self, claim_id: str) -> list[StatusCheck]:
        """Every answer recorded for the claim, oldest first, with its denials."""
        with self.engine.connect() as conn:
            pk = conn.execute(sa.select(claims.c.id).where(claims.c.claim_id == claim_id)).scalar()
            if pk is None:
                raise ClaimNotFoundError(claim_id)
            rows = list(
                conn.execute(
                    sa.select(status_checks)
                    .where(status_checks.c.claim_pk == pk)
                    .order_by(status_checks.c.checked_at, status_checks.c.id)
                )
            )
            denial_rows: dict[int, list[Denial]] = {}
            if rows:
                for d in conn.execute(
                    sa.select(denials).where(denials.c.status_check_id.in_([r.id for r in rows])).order_by(denials.c.id)
                ):
                    denial_rows.setdefault(d.status_check_id, []).append(
                        Denial(
                            group=AdjustmentGroup(d.group_code),
                            carc=d.carc,
                            rarcs=_split(d.rarcs),
                            amount=from_cents_or_none(d.amount_cents),
                            line_number=d.line_number,
                        )
                    )
        return [
            StatusCheck(
                claim_id=claim_id,
                checked_at=r.checked_at,
                effective_at=r.effective_at,
                source=CheckSource(r.source),
                status=ClaimStatus(r.status),
                category_code=r.category_code,
                status_code=r.status_code,
                payer_status_text=r.payer_status_text,
                billed_amount=from_cents_or_none(r.billed_cents),
                paid_amount=from_cents_or_none(r.paid_cents),
                patient_responsibility=from_cents_or_none(r.patient_responsibility_cents),
                payer_claim_number=r.payer_claim_number,
                check_number=r.check_number,
                payment_date=r.payment_date,
                denials=tuple(denial_rows.get(r.id, ())),
                evidence_ref=r.evidence_ref,
                bot_run_id=r.bot_run_id,
                dedupe_key=r.dedupe_key,
                raw_segment=r.raw_segment,
                remarks=_split(r.remarks),
                elapsed_ms=r.elapsed_ms,
            )
            for r in rows
        ]

    def unmatched(self, include_matched: bool = False) -> list[UnmatchedItem]:
        query = sa.select(unmatched_items).order_by(unmatched_items.c.id)
        if not include_matched:
            query = query.where(unmatched_items.c.matched_at.is_(None))
        with self.engine.connect() as conn:
            return [UnmatchedItem.model_validate(row._asdict()) for row in conn.execute(query)]

    def actions_for(self, claim_id: str | None = None) -> list[Action]:
        query = sa.select(actions, claims.c.claim_id).outerjoin(claims, claims.c.id == actions.c.claim_pk)
        if claim_id is not None:
            query = query.where(claims.c.claim_id == claim_id)
        with self.engine.connect() as conn:
            return [
                Action.model_validate(
                    {
                        "actor": r.actor,
                        "action": r.action,
                        "idempotency_key": r.idempotency_key,
                        "outcome": r.outcome,
                        "claim_id": r.claim_id,
                        "at": r.at,
                        "detail": r.detail,
                    }
                )
                for r in conn.execute(query.order_by(actions.c.id))
            ]

    # --- payments (issue 13: the claim timeline) ------------------------------------------------------

    def payments(self, claim_id: str) -> list[Payment]:
        """The payments recorded for a claim, in the order they were recorded."""
        query = (
            sa.select(payments)
            .join(claims, claims.c.id == payments.c.claim_pk)
            .where(claims.c.claim_id == claim_id)
            .order_by(payments.c.id)
        )
        with self.engine.connect() as conn:
            return [
                Payment(
                    claim_id=claim_id,
                    amount=from_cents(r.amount_cents),
                    paid_date=r.paid_date,
                    method=PaymentMethod(r.method),
                    check_number=r.check_number,
                    payer_claim_number=r.payer_claim_number,
                    source=CheckSource(r.source),
                    dedupe_key=r.dedupe_key,
                )
                for r in conn.execute(query)
            ]

    # --- events ------------------------------------------------------------------------------------

    def events(
        self,
        since: datetime | None = None,
        kind: EventKind | None = None,
        sweep_id: int | None = None,
        pending_only: bool = False,
        limit: int | None = None,
    ) -> list[Event]:
        """Events, oldest first."""
        query = sa.select(events, claims.c.claim_id).outerjoin(claims, claims.c.id == events.c.claim_pk)
        if since is not None:
            query = query.where(events.c.created_at >= since)
        if kind is not None:
            query = query.where(events.c.kind == kind.value)
        if sweep_id is not None:
            query = query.where(events.c.sweep_id == sweep_id)
        if pending_only:
            query = query.where(events.c.dispatched_at.is_(None))
        query = query.order_by(events.c.id)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [Event.model_validate(_without(row._asdict(), "claim_pk")) for row in conn.execute(query)]

    def pending_events(self, limit: int = 100) -> list[Event]:
        """Events no consumer has marked dispatched yet, oldest first."""
        return self.events(pending_only=True, limit=limit)

    def mark_dispatched(self, event_ids: Sequence[int]) -> int:
        with self.writer() as writer:
            return writer.mark_dispatched(event_ids)

    # --- sweeps ------------------------------------------------------------------------------------

    def sweep(self, sweep_id: int) -> Sweep | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(sweeps).where(sweeps.c.id == sweep_id)).first()
        return None if row is None else Sweep.model_validate(row._asdict())

    def sweeps(self, limit: int | None = None) -> list[Sweep]:
        """Sweeps, newest first."""
        query = sa.select(sweeps).order_by(sweeps.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [Sweep.model_validate(row._asdict()) for row in conn.execute(query)]

    def sweep_items(self, sweep_id: int, state: SweepItemState | None = None) -> list[SweepItem]:
        """A sweep's items in the order they are asked (priority)."""
        query = (
            sa.select(sweep_items, claims.c.claim_id)
            .join(claims, claims.c.id == sweep_items.c.claim_pk)
            .where(sweep_items.c.sweep_id == sweep_id)
            .order_by(sweep_items.c.priority, sweep_items.c.id)
        )
        if state is not None:
            query = query.where(sweep_items.c.state == state.value)
        with self.engine.connect() as conn:
            return [SweepItem.model_validate(_without(row._asdict(), "claim_pk")) for row in conn.execute(query)]

    def resumable_sweep(self, kind: SweepKind = SweepKind.STATUS) -> Sweep | None:
        """The newest sweep that did not finish (interrupted, or planned and never started) and still
        has planned items: the next sweep continues it instead of planning a new one. Running sweeps
        whose lease ran out are marked interrupted first."""
        self.interrupt_stale_sweeps()
        has_planned = (
            sa.select(sweep_items.c.id)
            .where(sweep_items.c.sweep_id == sweeps.c.id, sweep_items.c.state == SweepItemState.PLANNED.value)
            .exists()
        )
        query = (
            sa.select(sweeps)
            .where(
                sweeps.c.kind == kind.value,
                sweeps.c.state.in_([SweepState.INTERRUPTED.value, SweepState.PLANNED.value]),
                has_planned,
            )
            .order_by(sweeps.c.id.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else Sweep.model_validate(row._asdict())

    def interrupt_stale_sweeps(self) -> int:
        with self.writer() as writer:
            return writer.interrupt_stale_sweeps()

    def eligibility_sweep_items(self, sweep_id: int, state: SweepItemState | None = None) -> list[EligibilityItem]:
        """An eligibility sweep's appointments, in the order they were planned."""
        item = eligibility_sweep_items.c
        query = (
            sa.select(
                eligibility_sweep_items,
                patients.c.member_id,
                patients.c.last_name,
                patients.c.first_name,
                patients.c.date_of_birth,
            )
            .join(patients, patients.c.id == item.patient_id)
            .where(item.sweep_id == sweep_id)
            .order_by(item.id)
        )
        if state is not None:
            query = query.where(item.state == state.value)
        with self.engine.connect() as conn:
            return [
                EligibilityItem(
                    id=row.id,
                    sweep_id=row.sweep_id,
                    appointment_key=row.appointment_key,
                    payer_id=row.payer_id,
                    patient=Patient(
                        last_name=row.last_name,
                        first_name=row.first_name,
                        date_of_birth=row.date_of_birth,
                        member_id=row.member_id,
                    ),
                    service_date=row.service_date,
                    state=SweepItemState(row.state),
                    last_error_kind=row.last_error_kind,
                    eligibility_check_id=row.eligibility_check_id,
                    updated_at=row.updated_at,
                )
                for row in conn.execute(query)
            ]

    def eligibility_check_activity(self, sweep_id: int) -> dict[int, bool]:
        """The eligibility checks an eligibility sweep recorded: id -> coverage active."""
        item = eligibility_sweep_items.c
        query = (
            sa.select(eligibility_checks.c.id, eligibility_checks.c.active)
            .join(eligibility_sweep_items, item.eligibility_check_id == eligibility_checks.c.id)
            .where(item.sweep_id == sweep_id)
        )
        with self.engine.connect() as conn:
            return {row.id: bool(row.active) for row in conn.execute(query)}

    def resumable_eligibility_sweep(self) -> Sweep | None:
        """The newest eligibility sweep that did not finish and still has planned appointments."""
        self.interrupt_stale_sweeps()
        has_planned = (
            sa.select(eligibility_sweep_items.c.id)
            .where(
                eligibility_sweep_items.c.sweep_id == sweeps.c.id,
                eligibility_sweep_items.c.state == SweepItemState.PLANNED.value,
            )
            .exists()
        )
        query = (
            sa.select(sweeps)
            .where(
                sweeps.c.kind == SweepKind.ELIGIBILITY.value,
                sweeps.c.state.in_([SweepState.INTERRUPTED.value, SweepState.PLANNED.value]),
                has_planned,
            )
            .order_by(sweeps.c.id.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else Sweep.model_validate(row._asdict())

    def open_claim_members(self, payer_id: str | None = None) -> list[tuple[str, Patient]]:
        """Each (payer, patient) with at least one claim that is not final: whose coverage matters now."""
        open_ids = {s.claim_id for s in self.claim_snapshots(payer_id) if s.status not in FINAL_STATUSES}
        query = (
            sa.select(
                claims.c.claim_id,
                claims.c.payer_id,
                patients.c.id,
                patients.c.member_id,
                patients.c.last_name,
                patients.c.first_name,
                patients.c.date_of_birth,
            )
            .join(patients, patients.c.id == claims.c.patient_id)
            .order_by(claims.c.payer_id, patients.c.id)
        )
        if payer_id is not None:
            query = query.where(claims.c.payer_id == payer_id)
        members: dict[int, tuple[str, Patient]] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                if row.claim_id in open_ids and row.id not in members:
                    members[row.id] = (
                        row.payer_id,
                        Patient(
                            last_name=row.last_name,
                            first_name=row.first_name,
                            date_of_birth=row.date_of_birth,
                            member_id=row.member_id,
                        ),
                    )
        return list(members.values())

    def claim_snapshots(self, payer_id: str | None = None) -> list[ClaimSnapshot]:
        """Every claim as the sweep planner sees it: current status, when it was last asked, the answer."""
        latest = _latest_informative_checks()
        last_any = sa.select(
            status_checks.c.claim_pk,
            status_checks.c.status,
            status_checks.c.checked_at,
            sa.func.row_number()
            .over(
                partition_by=status_checks.c.claim_pk,
                order_by=(status_checks.c.checked_at.desc(), status_checks.c.id.desc()),
            )
            .label("rank"),
        ).subquery()
        last = sa.select(last_any).where(last_any.c.rank == 1).subquery("last_any")
        query = (
            sa.select(
                claims.c.claim_id,
                claims.c.payer_id,
                claims.c.service_date_from,
                claims.c.submitted_date,
                claims.c.billed_cents,
                latest.c.status,
                last.c.status.label("last_status"),
                last.c.checked_at.label("last_checked_at"),
            )
            .outerjoin(latest, latest.c.claim_pk == claims.c.id)
            .outerjoin(last, last.c.claim_pk == claims.c.id)
            .order_by(claims.c.claim_id)
        )
        if payer_id is not None:
            query = query.where(claims.c.payer_id == payer_id)
        with self.engine.connect() as conn:
            return [
                ClaimSnapshot(
                    claim_id=r.claim_id,
                    payer_id=r.payer_id,
                    status=_derived_status(r.status, r.submitted_date),
                    service_date_from=r.service_date_from,
                    submitted_date=r.submitted_date,
                    billed_amount=from_cents(r.billed_cents),
                    last_checked_at=r.last_checked_at,
                    last_answer_status=None if r.last_status is None else ClaimStatus(r.last_status),
                )
                for r in conn.execute(query)
            ]

    def days_to_final(self, payer_id: str | None = None) -> dict[str, list[int]]:
        """Per payer, the days from submission to the first final answer of each finalized claim:
        the payer's own pace, which the planner's adaptive cadence learns from."""
        first_final = (
            sa.select(status_checks.c.claim_pk, sa.func.min(status_checks.c.status_at).label("final_at"))
            .where(status_checks.c.status.in_([s.value for s in FINAL_STATUSES]))
            .group_by(status_checks.c.claim_pk)
            .subquery()
        )
        query = (
            sa.select(claims.c.payer_id, claims.c.submitted_date, first_final.c.final_at)
            .join(first_final, first_final.c.claim_pk == claims.c.id)
            .where(claims.c.submitted_date.is_not(None))
            .order_by(claims.c.payer_id, claims.c.id)
        )
        if payer_id is not None:
            query = query.where(claims.c.payer_id == payer_id)
        found: dict[str, list[int]] = {}
        with self.engine.connect() as conn:
            for r in conn.execute(query):
                final_at = r.final_at if isinstance(r.final_at, datetime) else datetime.fromisoformat(str(r.final_at))
                days = (final_at.date() - r.submitted_date).days
                if days >= 0:
                    found.setdefault(r.payer_id, []).append(days)
        return found

    def latest_finalized_claim(self, payer_id: str) -> str | None:
        """The payer's claim with the most recent final answer: the default canary of a sweep."""
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(claims.c.claim_id)
                .join(status_checks, status_checks.c.claim_pk == claims.c.id)
                .where(claims.c.payer_id == payer_id, status_checks.c.status.in_([s.value for s in FINAL_STATUSES]))
                .order_by(status_checks.c.checked_at.desc(), status_checks.c.id.desc())
                .limit(1)
            ).scalar()
