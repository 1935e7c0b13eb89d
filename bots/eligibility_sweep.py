"""The eligibility sweep: before the visits of the next few days, ask each payer whether the patient is
still covered, and record every answer once.

Where the appointments come from:
- a CSV of upcoming appointments (`read_appointments`, columns in APPOINTMENT_COLUMNS): read whole
  before anything is written; every problem is named by file, line and column, never with a PHI value,
  and one bad row refuses the file (nothing recorded). Rows dated before today or after the window
  (`days`) are counted as skipped, by reason; so are repeated rows (same payer, member, birth date and
  date of service);
- without a CSV, the members of open claims (`open_claim_appointments`): one check each, dated today.

A sweep is data first, like the status sweep (bots.sweep): a `sweeps` row of kind `eligibility` and one
`eligibility_sweep_items` row per appointment, all `planned`. `run_eligibility_sweep` works the planned
ones; each answer (an eligibility check) and its item's state are one transaction, and only a planned
item takes an answer, so a sweep stopped at any moment is continued by the next one and nothing is
recorded twice. Coverage found inactive where it was active raises `eligibility_inactive` in that same
transaction (the ledger's own rule, LedgerWriter.record_eligibility): the sweep raises nothing itself.

Per payer, as a live check does (bots.live): a held payer is not asked (its items `skipped`,
payer_suspended); a refused sign-in holds the payer and, like any error that stops the payer, fails its
remaining items with the error's kind; retryable failures are retried by the RetryPolicy, then the item
is `failed` with the kind. Counts add up: read = checked + failed + skipped (by reason) + left.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import structlog
from pydantic import BaseModel, ConfigDict, ValidationError

from bots.live import DEFAULT_LEASE, Sleep, hold_payer
from bots.sweep import finish_sweep, keep_sweep_alive, start_sweep
from claims.ledger import EligibilityItem, Ledger
from claims.models import EligibilityCheck, Patient, Sweep, SweepItemState, SweepKind, SweepState
from claims.validation import plain_problems
from portal_adapters.contract import EligibilityQuery, EligibilityResult, PayerAdapter
from portal_adapters.errors import AdapterError, suspends_payer
from portal_adapters.retry import RetryPolicy

log = structlog.get_logger("bots.eligibility_sweep")

#: The CSV's columns: name -> (required, PHI). Dates are YYYY-MM-DD.
APPOINTMENT_COLUMNS: dict[str, tuple[bool, bool]] = {
    "appointment_date": (True, False),
    "payer_id": (True, False),
    "member_id": (True, True),
    "patient_last_name": (True, True),
    "patient_first_name": (True, True),
    "patient_dob": (True, True),
    "appointment_id": (False, False),
}
MAX_PROBLEMS = 50

SKIP_PAST = "before today"
SKIP_LATER = "after the window"
SKIP_REPEATED = "same member and date listed before"
PAYER_SUSPENDED = "payer_suspended"
NO_ADAPTER = "no_adapter"


class AppointmentProblem(BaseModel):
    model_config = ConfigDict(frozen=True)

    file: str
    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        column = f" column '{self.column}':" if self.column else ""
        return f"{self.file}: line {self.line}:{column} {self.message}"


class AppointmentsError(ValueError):
    """The appointments file was refused: nothing was recorded. Carries every problem found (PHI-free)."""

    def __init__(self, problems: list[AppointmentProblem], truncated: bool = False) -> None:
        self.problems = problems
        more = " (more problems not shown)" if truncated else ""
        lines = "\n".join(str(p) for p in problems)
        super().__init__(f"{len(problems)} problem(s), nothing recorded{more}:\n{lines}")


@dataclass(frozen=True)
class Appointment:
    key: str  # unique within its sweep, PHI-free: appt:<appointment_id>, line:<n> or member:<n>
    payer_id: str
    patient: Patient
    service_date: date


@dataclass
class AppointmentsRead:
    """What a file or the open claims gave: the appointments to check, and the rows skipped by reason."""

    read: int = 0
    appointments: list[Appointment] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)


def _member_key(payer_id: str, patient: Patient, on: date) -> str:
    text = "|".join((payer_id, patient.member_id, patient.date_of_birth.isoformat(), on.isoformat()))
    return hashlib.sha256(text.encode()).hexdigest()


def read_appointments(path: Path, known_payers: frozenset[str], today: date, days: int) -> AppointmentsRead:
    """Read the whole file; raise AppointmentsError (file, line, column, plain words) on any bad row."""
    name = path.name
    problems: list[AppointmentProblem] = []
    truncated = False

    def problem(line: int, column: str | None, message: str) -> None:
        nonlocal truncated
        if len(problems) < MAX_PROBLEMS:
            problems.append(AppointmentProblem(file=name, line=line, column=column, message=message))
        else:
            truncated = True

    result = AppointmentsRead()
    seen: set[str] = set()
    ids_seen: dict[str, int] = {}
    last_day = today + timedelta(days=days)
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as err:
        raise AppointmentsError(
            [AppointmentProblem(file=name, line=0, column=None, message=f"cannot read the file ({err.strerror})")]
        ) from err
    with handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise AppointmentsError([AppointmentProblem(file=name, line=1, column=None, message="the file is empty")])
        names = [h.strip() for h in header]
        missing = [c for c, (required, _) in APPOINTMENT_COLUMNS.items() if required and c not in names]
        if missing:
            raise AppointmentsError(
                [
                    AppointmentProblem(
                        file=name,
                        line=1,
                        column=None,
                        message=f"the header lacks the required column(s): {', '.join(missing)}",
                    )
                ]
            )
        positions = {c: names.index(c) for c in APPOINTMENT_COLUMNS if c in names}
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            result.read += 1
            if len(row) != len(names):
                problem(line, None, f"has {len(row)} fields where the header has {len(names)}")
                continue
            values = {c: row[i].strip() for c, i in positions.items()}
            bad = False
            for column, (required, _) in APPOINTMENT_COLUMNS.items():
                if required and not values.get(column):
                    problem(line, column, "is empty")
                    bad = True
            if bad:
                continue
            dates: dict[str, date] = {}
            for column in ("appointment_date", "patient_dob"):
                try:
                    dates[column] = date.fromisoformat(values[column])
                except ValueError:
                    shown = "" if APPOINTMENT_COLUMNS[column][1] else f" {values[column]!r}"
                    problem(line, column, f"value{shown} is not a date (YYYY-MM-DD)")
                    bad = True
            payer_id = values["payer_id"].upper()
            if payer_id not in known_payers:
                problem(line, "payer_id", f"value {values['payer_id']!r} is not a payer in payers.yaml")
                bad = True
            appointment_id = values.get("appointment_id") or ""
            if appointment_id:
                if (
                    len(appointment_id) > 60
                    or not appointment_id.replace("-", "").replace("_", "").replace(".", "").isalnum()
                ):
                    problem(line, "appointment_id", "is not an id of up to 60 letters, digits, '-', '_' or '.'")
                    bad = True
                elif appointment_id in ids_seen:
                    problem(line, "appointment_id", f"repeats the appointment id of line {ids_seen[appointment_id]}")
                    bad = True
                else:
                    ids_seen[appointment_id] = line
            if bad:
                continue
            try:
                patient = Patient(
                    last_name=values["patient_last_name"],
                    first_name=values["patient_first_name"],
                    date_of_birth=dates["patient_dob"],
                    member_id=values["member_id"],
                )
            except ValidationError as err:
                for found in plain_problems(err):
                    column = {
                        "last_name": "patient_last_name",
                        "first_name": "patient_first_name",
                        "member_id": "member_id",
                        "date_of_birth": "patient_dob",
                    }.get(found.key, found.key)
                    problem(line, column, found.message)
                continue
            on = dates["appointment_date"]
            if on < today:
                result.skipped[SKIP_PAST] += 1
                continue
            if on > last_day:
                result.skipped[SKIP_LATER] += 1
                continue
            member = _member_key(payer_id, patient, on)
            if member in seen:
                result.skipped[SKIP_REPEATED] += 1
                continue
            seen.add(member)
            key = f"appt:{appointment_id}" if appointment_id else f"line:{line}"
            result.appointments.append(Appointment(key=key, payer_id=payer_id, patient=patient, service_date=on))
    if problems:
        raise AppointmentsError(problems, truncated)
    return result


def open_claim_appointments(ledger: Ledger, today: date, payer_id: str | None = None) -> AppointmentsRead:
    """Without a CSV: each member of an open claim, once, dated today."""
    members = ledger.open_claim_members(payer_id)
    result = AppointmentsRead(read=len(members))
    for n, (payer, patient) in enumerate(members, start=1):
        result.appointments.append(Appointment(key=f"member:{n}", payer_id=payer, patient=patient, service_date=today))
    return result


def plan_eligibility_sweep(
    ledger: Ledger, found: AppointmentsRead, trigger: str = "cli", note: str | None = None
) -> int:
    """Record the appointments as an eligibility sweep whose items are all planned; returns its id."""
    items = [
        EligibilityItem(appointment_key=a.key, payer_id=a.payer_id, patient=a.patient, service_date=a.service_date)
        for a in found.appointments
    ]
    with ledger.writer() as writer:
        return writer.create_eligibility_sweep(Sweep(kind=SweepKind.ELIGIBILITY, trigger=trigger, note=note), items)


@dataclass
class EligibilityOutcome:
    """Per payer: what became of its appointments in this run."""

    payer_id: str
    active: int = 0
    inactive: int = 0
    not_found: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    stopped: str | None = None


def _end(ledger: Ledger, sweep_id: int, keys: Sequence[str], state: SweepItemState, why: str) -> int:
    with ledger.writer() as writer:
        return writer.set_eligibility_sweep_items(sweep_id, keys, state, why)


async def _ask(adapter: PayerAdapter, query: EligibilityQuery, policy: RetryPolicy, sleep: Sleep) -> EligibilityResult:
    attempt = 0
    while True:
        attempt += 1
        try:
            return await adapter.check_eligibility(query)
        except AdapterError as err:
            decision = policy.decide(err, attempt)
            if not decision.retry:
                raise
            await sleep(decision.delay_s)


async def check_payer_appointments(
    ledger: Ledger,
    sweep_id: int,
    payer_id: str,
    adapter: PayerAdapter | str,
    policy: RetryPolicy,
    sleep: Sleep = asyncio.sleep,
) -> EligibilityOutcome:
    """Ask about this payer's planned appointments of the sweep, one at a time, recording each answer."""
    result = EligibilityOutcome(payer_id)
    bound = log.bind(sweep_id=sweep_id, payer=payer_id)
    items = [
        i
        for i in await asyncio.to_thread(ledger.eligibility_sweep_items, sweep_id, SweepItemState.PLANNED)
        if i.payer_id == payer_id
    ]
    keys = [i.appointment_key for i in items]
    if not items:
        return result
    if isinstance(adapter, str):
        result.skipped[NO_ADAPTER] += await asyncio.to_thread(
            _end, ledger, sweep_id, keys, SweepItemState.SKIPPED, NO_ADAPTER
        )
        result.stopped = NO_ADAPTER
        bound.warning("no adapter for the payer: its appointments are skipped", why=adapter, appointments=len(keys))
        return result
    if await asyncio.to_thread(ledger.open_hold, payer_id) is not None:
        result.skipped[PAYER_SUSPENDED] += await asyncio.to_thread(
            _end, ledger, sweep_id, keys, SweepItemState.SKIPPED, PAYER_SUSPENDED
        )
        result.stopped = PAYER_SUSPENDED
        bound.warning("payer held: its appointments are skipped", appointments=len(keys))
        return result
    for n, item in enumerate(items):
        query = EligibilityQuery(payer_id=payer_id, patient=item.patient, service_date=item.service_date)
        try:
            answer = await _ask(adapter, query, policy, sleep)
        except AdapterError as err:
            if err.stops_payer:
                if suspends_payer(err):
                    await asyncio.to_thread(hold_payer, ledger, payer_id, err)
                ended = await asyncio.to_thread(_end, ledger, sweep_id, keys[n:], SweepItemState.FAILED, err.kind.value)
                result.failed[err.kind.value] += ended
                result.stopped = err.kind.value
                bound.warning("payer stopped the eligibility sweep", kind=err.kind.value, reason=err.reason.value)
                break
            result.failed[err.kind.value] += await asyncio.to_thread(
                _end, ledger, sweep_id, [item.appointment_key], SweepItemState.FAILED, err.kind.value
            )
            bound.info("eligibility appointment failed", appointment=item.appointment_key, kind=err.kind.value)
            continue
        check = answer.to_eligibility_check(query)

        if await asyncio.to_thread(_record, ledger, sweep_id, item.appointment_key, check):
            if not answer.found:
                result.not_found += 1
            elif answer.active:
                result.active += 1
            else:
                result.inactive += 1
        bound.info(
            "eligibility appointment",
            appointment=item.appointment_key,
            outcome="not_found" if not answer.found else ("active" if answer.active else "inactive"),
            duration_ms=answer.elapsed_ms,
        )
    return result


def _record(ledger: Ledger, sweep_id: int, key: str, check: EligibilityCheck) -> bool:
    with ledger.writer() as writer:
        return writer.record_eligibility_sweep_answer(sweep_id, key, check)


async def run_eligibility_sweep(
    ledger: Ledger,
    sweep_id: int,
    adapters: Mapping[str, PayerAdapter | str],
    policy: RetryPolicy,
    sleep: Sleep = asyncio.sleep,
    *,
    lease: timedelta = DEFAULT_LEASE,
) -> dict[str, EligibilityOutcome]:
    """Work the sweep's planned appointments, every payer at once; a cancelled run is marked interrupted
    (its planned appointments are continued by the next eligibility sweep)."""
    await asyncio.to_thread(start_sweep, ledger, sweep_id, lease)
    heartbeat = asyncio.create_task(keep_sweep_alive(ledger, sweep_id, lease))
    payers = sorted({i.payer_id for i in await asyncio.to_thread(ledger.eligibility_sweep_items, sweep_id)})
    try:
        outcomes = await asyncio.gather(
            *(check_payer_appointments(ledger, sweep_id, p, adapters.get(p, NO_ADAPTER), policy, sleep) for p in payers)
        )
    except BaseException:
        finish_sweep(ledger, sweep_id, SweepState.INTERRUPTED, "stopped before it finished")
        raise
    finally:
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat
    stopped = [f"{o.payer_id}: {o.stopped}" for o in outcomes if o.stopped]
    await asyncio.to_thread(finish_sweep, ledger, sweep_id, SweepState.FINISHED, "; ".join(stopped)[:500] or None)
    return {o.payer_id: o for o in outcomes}


@dataclass
class EligibilityReport:
    """A sweep's counts from the ledger: read = checked + failed + skipped + left (+ the file's skips)."""

    sweep_id: int | None
    state: str
    read: int = 0
    checked: int = 0
    active: int = 0
    inactive: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    left: int = 0
    inactive_events: int = 0

    def line(self) -> str:
        parts = [f"{self.checked} checked ({self.active} active, {self.inactive} not active)"]
        parts.append(f"{sum(self.failed.values())} failed" + (f" ({_by(self.failed)})" if self.failed else ""))
        parts.append(f"{sum(self.skipped.values())} skipped" + (f" ({_by(self.skipped)})" if self.skipped else ""))
        if self.left:
            parts.append(f"{self.left} left")
        return f"appointments {self.read} read = " + " + ".join(parts)

    def as_json(self) -> dict[str, object]:
        return {
            "sweep_id": self.sweep_id,
            "state": self.state,
            "read": self.read,
            "checked": self.checked,
            "active": self.active,
            "inactive": self.inactive,
            "failed": sum(self.failed.values()),
            "failed_by_reason": dict(self.failed),
            "skipped": sum(self.skipped.values()),
            "skipped_by_reason": dict(self.skipped),
            "left": self.left,
            "eligibility_inactive_events": self.inactive_events,
        }


def _by(counts: Counter[str]) -> str:
    return ", ".join(f"{why} {n}" for why, n in counts.most_common())


def eligibility_report(ledger: Ledger, sweep_id: int, file_skipped: Counter[str] | None = None) -> EligibilityReport:
    """The sweep's items as counts; `file_skipped` adds the rows the file gave that never became items."""
    from claims.models import EventKind

    sweep = ledger.sweep(sweep_id)
    report = EligibilityReport(sweep_id, sweep.state.value if sweep else "unknown")
    check_ids: set[int] = set()
    actives = ledger.eligibility_check_activity(sweep_id)
    for item in ledger.eligibility_sweep_items(sweep_id):
        report.read += 1
        if item.state is SweepItemState.DONE:
            report.checked += 1
            if item.eligibility_check_id is not None:
                check_ids.add(item.eligibility_check_id)
                if actives.get(item.eligibility_check_id):
                    report.active += 1
                else:
                    report.inactive += 1
        elif item.state is SweepItemState.FAILED:
            report.failed[item.last_error_kind or "unknown"] += 1
        elif item.state is SweepItemState.SKIPPED:
            report.skipped[item.last_error_kind or "unknown"] += 1
        else:
            report.left += 1
    for why, n in (file_skipped or Counter()).items():
        report.read += n
        report.skipped[why] += n
    report.inactive_events = sum(
        1
        for e in ledger.events(kind=EventKind.ELIGIBILITY_INACTIVE)
        if isinstance(e.payload.get("eligibility_check_id"), int) and e.payload["eligibility_check_id"] in check_ids
    )
    return report
