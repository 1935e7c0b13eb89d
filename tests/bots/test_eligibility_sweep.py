"""bots.eligibility_sweep over the real sandbox clearinghouse (HTTP, 270/271), on SQLite and PostgreSQL.

Each appointment ends checked exactly once (or failed / skipped with its reason); coverage that went
from active to inactive raises exactly one eligibility_inactive event; a stopped sweep is continued
without asking or recording anything twice; a bad file is refused whole, each problem by line and
column, no PHI repeated."""

from __future__ import annotations

import asyncio
import csv
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import structlog
from pydantic import SecretStr

from bots.eligibility_sweep import (
    SKIP_LATER,
    SKIP_PAST,
    SKIP_REPEATED,
    AppointmentsError,
    eligibility_report,
    open_claim_appointments,
    plan_eligibility_sweep,
    read_appointments,
    run_eligibility_sweep,
)
from claimbot.demo import sample_claims_csv
from claims.importing import import_claims_csv
from claims.ledger import Ledger
from claims.models import CheckSource, EligibilityCheck, EventKind, SweepItemState, SweepState, utc_now
from portal_adapters.clearinghouse import ClearinghouseAdapter
from portal_adapters.contract import EligibilityQuery, EligibilityResult, PayerAdapter
from portal_adapters.retry import RetryPolicy
from sandbox.accounts import CLEARINGHOUSE_API_KEY, ServerName
from sandbox.dataset import load_world
from sandbox.servers import SandboxEndpoints
from sandbox.testing import reset_all

POLICY = RetryPolicy(max_attempts=2, base_delay_s=0.0)
PAYERS = frozenset({"SUNRISE", "MERIDIAN", "KEYSTONE"})
HEADER = [
    "appointment_id",
    "appointment_date",
    "payer_id",
    "member_id",
    "patient_last_name",
    "patient_first_name",
    "patient_dob",
]


@pytest.fixture(autouse=True)
def fresh_logging() -> None:
    """A CLI test run before this one may leave structlog writing to its closed capture stream."""
    structlog.reset_defaults()


async def no_sleep(_: float) -> None:
    return None


def members(payer_id: str, active: bool, count: int) -> list[dict[str, str]]:
    """Sandbox patients of this payer whose coverage is (in)active next week."""
    world = load_world()
    on = utc_now().date() + timedelta(days=2)
    wanted = {e.member_id for e in world.eligibility if e.payer_id == payer_id and e.is_active_on(on) is active}
    found: dict[str, dict[str, str]] = {}
    for claim in world.claims:
        p = claim.patient
        if claim.payer_id == payer_id and p.member_id in wanted and p.member_id not in found:
            found[p.member_id] = {
                "payer_id": payer_id,
                "member_id": p.member_id,
                "patient_last_name": p.last_name,
                "patient_first_name": p.first_name,
                "patient_dob": p.dob.isoformat(),
            }
    assert len(found) >= count
    return list(found.values())[:count]


def write(path: Path, rows: list[dict[str, str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def clearinghouse(sandbox: SandboxEndpoints, payer_id: str) -> ClearinghouseAdapter:
    return ClearinghouseAdapter(payer_id, sandbox.url(ServerName.CLEARINGHOUSE), SecretStr(CLEARINGHOUSE_API_KEY))


def appointments_file(tmp_path: Path) -> tuple[Path, dict[str, str], dict[str, str]]:
    """Two active SUNRISE members, one SUNRISE and one MERIDIAN member no longer covered, plus a past
    visit, one beyond the window and a repeated row."""
    today = utc_now().date()
    active = members("SUNRISE", True, 3)
    lapsed = members("SUNRISE", False, 1)[0]
    lapsed_meridian = members("MERIDIAN", False, 1)[0]
    day = (today + timedelta(days=1)).isoformat()
    rows = [
        {**active[0], "appointment_id": "A1", "appointment_date": day},
        {**active[1], "appointment_id": "A2", "appointment_date": (today + timedelta(days=7)).isoformat()},
        {**lapsed, "appointment_id": "A3", "appointment_date": day},
        {**lapsed_meridian, "appointment_id": "", "appointment_date": today.isoformat()},
        {**active[2], "appointment_id": "A5", "appointment_date": (today - timedelta(days=1)).isoformat()},
        {**active[2], "appointment_id": "A6", "appointment_date": (today + timedelta(days=8)).isoformat()},
        {**active[0], "appointment_id": "A7", "appointment_date": day},  # the same visit twice
    ]
    return write(tmp_path / "appointments.csv", rows), lapsed, lapsed_meridian


@pytest.fixture
def practice(ledger: Ledger, sandbox: SandboxEndpoints) -> Ledger:
    reset_all(sandbox)
    import_claims_csv(ledger, sample_claims_csv())
    return ledger


def seed_active(ledger: Ledger, member: dict[str, str]) -> None:
    """The member was covered when last asked (a week ago)."""
    from claims.models import Patient

    ledger.record_eligibility(
        EligibilityCheck(
            payer_id=member["payer_id"],
            patient=Patient(
                last_name=member["patient_last_name"],
                first_name=member["patient_first_name"],
                date_of_birth=date.fromisoformat(member["patient_dob"]),
                member_id=member["member_id"],
            ),
            source=CheckSource.API,
            service_date=utc_now().date() - timedelta(days=7),
            active=True,
            checked_at=datetime.now(UTC) - timedelta(days=7),
        )
    )


def inactive_events(ledger: Ledger) -> list[int]:
    return [
        int(e.payload["eligibility_check_id"])  # type: ignore[arg-type]
        for e in ledger.events(kind=EventKind.ELIGIBILITY_INACTIVE)
    ]


async def test_each_appointment_is_checked_once_and_newly_inactive_coverage_raises_one_event(
    practice: Ledger, sandbox: SandboxEndpoints, tmp_path: Path
) -> None:
    path, lapsed, _ = appointments_file(tmp_path)
    seed_active(practice, lapsed)
    found = read_appointments(path, PAYERS, utc_now().date(), 7)
    assert found.read == 7
    assert [a.key for a in found.appointments] == ["appt:A1", "appt:A2", "appt:A3", "line:5"]
    assert found.skipped == Counter({SKIP_PAST: 1, SKIP_LATER: 1, SKIP_REPEATED: 1})
    sweep_id = plan_eligibility_sweep(practice, found, trigger="test")
    adapters: dict[str, PayerAdapter | str] = {p: clearinghouse(sandbox, p) for p in ("SUNRISE", "MERIDIAN")}
    try:
        outcomes = await run_eligibility_sweep(practice, sweep_id, adapters, POLICY, no_sleep)
        again = await run_eligibility_sweep(practice, sweep_id, adapters, POLICY, no_sleep)
    finally:
        for adapter in adapters.values():
            assert not isinstance(adapter, str)
            await adapter.close()
    assert (outcomes["SUNRISE"].active, outcomes["SUNRISE"].inactive) == (2, 1)
    assert (outcomes["MERIDIAN"].active, outcomes["MERIDIAN"].inactive) == (0, 1)
    assert all(o.active + o.inactive + o.not_found == 0 for o in again.values())  # nothing asked twice
    items = practice.eligibility_sweep_items(sweep_id)
    assert {i.state for i in items} == {SweepItemState.DONE}
    check_ids = {i.eligibility_check_id for i in items}
    assert None not in check_ids and len(check_ids) == 4
    events = inactive_events(practice)
    assert len(events) == 2 and set(events) <= check_ids  # the lapsed SUNRISE member and the MERIDIAN one
    report = eligibility_report(practice, sweep_id, found.skipped)
    assert (report.read, report.checked, report.active, report.inactive) == (7, 4, 2, 2)
    assert report.read == report.checked + sum(report.failed.values()) + sum(report.skipped.values()) + report.left
    assert report.inactive_events == 2
    assert report.line().startswith("appointments 7 read = 4 checked (2 active, 2 not active) + 0 failed + 3 skipped")
    sweep = practice.sweep(sweep_id)
    assert sweep is not None and sweep.state is SweepState.FINISHED and sweep.kind.value == "eligibility"

    # The next night: still inactive, so nothing new is raised.
    second = plan_eligibility_sweep(practice, read_appointments(path, PAYERS, utc_now().date(), 7))
    adapters = {p: clearinghouse(sandbox, p) for p in ("SUNRISE", "MERIDIAN")}
    try:
        await run_eligibility_sweep(practice, second, adapters, POLICY, no_sleep)
    finally:
        for adapter in adapters.values():
            assert not isinstance(adapter, str)
            await adapter.close()
    assert len(inactive_events(practice)) == 2


class Slow:
    """Answers 'active' for every member, the second and later ones only when let go."""

    route = ClearinghouseAdapter.route

    def __init__(self, payer_id: str) -> None:
        self.payer_id = payer_id
        self.asked: list[str] = []
        self.go = asyncio.Event()
        self.waiting = asyncio.Event()

    async def check_claims(self, queries: object) -> list[object]:
        raise NotImplementedError

    async def check_eligibility(self, query: EligibilityQuery) -> EligibilityResult:
        self.asked.append(query.patient.member_id)
        if len(self.asked) > 1:
            self.waiting.set()
            await self.go.wait()
        return EligibilityResult(payer_id=self.payer_id, route=self.route, elapsed_ms=1, found=True, active=True)

    async def close(self) -> None:
        return None


async def test_a_stopped_sweep_leaves_the_rest_planned_and_the_next_run_asks_only_those(
    practice: Ledger, tmp_path: Path
) -> None:
    rows = [
        {**m, "appointment_id": f"B{n}", "appointment_date": utc_now().date().isoformat()}
        for n, m in enumerate(members("SUNRISE", True, 3))
    ]
    found = read_appointments(write(tmp_path / "a.csv", rows), PAYERS, utc_now().date(), 7)
    sweep_id = plan_eligibility_sweep(practice, found)
    slow = Slow("SUNRISE")
    task = asyncio.create_task(run_eligibility_sweep(practice, sweep_id, {"SUNRISE": slow}, POLICY, no_sleep))  # type: ignore[dict-item]
    await asyncio.wait_for(slow.waiting.wait(), 10)  # the first answer is recorded, the second asked
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    sweep = practice.sweep(sweep_id)
    assert sweep is not None and sweep.state is SweepState.INTERRUPTED
    states = Counter(i.state for i in practice.eligibility_sweep_items(sweep_id))
    assert states == Counter({SweepItemState.DONE: 1, SweepItemState.PLANNED: 2})  # none half-written
    assert practice.resumable_eligibility_sweep() == sweep
    again = Slow("SUNRISE")
    again.go.set()
    await run_eligibility_sweep(practice, sweep_id, {"SUNRISE": again}, POLICY, no_sleep)  # type: ignore[dict-item]
    assert again.asked == [m["member_id"] for m in rows[1:]]  # only those left
    items = practice.eligibility_sweep_items(sweep_id)
    assert {i.state for i in items} == {SweepItemState.DONE}
    assert len({i.eligibility_check_id for i in items}) == 3


async def test_a_held_payer_is_not_asked(practice: Ledger, tmp_path: Path) -> None:
    from claims.ledger import PayerHold

    practice.hold_payer(PayerHold(payer_id="SUNRISE", kind="auth_failed", reason="invalid_login", since=utc_now()))
    rows = [
        {**m, "appointment_id": "H1", "appointment_date": utc_now().date().isoformat()}
        for m in members("SUNRISE", True, 1)
    ]
    sweep_id = plan_eligibility_sweep(
        practice, read_appointments(write(tmp_path / "h.csv", rows), PAYERS, utc_now().date(), 7)
    )
    slow = Slow("SUNRISE")
    outcomes = await run_eligibility_sweep(practice, sweep_id, {"SUNRISE": slow}, POLICY, no_sleep)  # type: ignore[dict-item]
    assert slow.asked == []
    assert outcomes["SUNRISE"].skipped == Counter({"payer_suspended": 1})
    report = eligibility_report(practice, sweep_id)
    assert (report.read, report.skipped) == (1, Counter({"payer_suspended": 1}))


def test_bad_rows_are_named_by_file_line_and_column_without_phi(tmp_path: Path) -> None:
    good = members("SUNRISE", True, 4)
    today = utc_now().date().isoformat()
    rows = [
        {**good[0], "appointment_id": "X1", "appointment_date": today},
        {**good[1], "appointment_id": "X2", "appointment_date": "12/05/2026"},
        {**good[2], "appointment_id": "X3", "appointment_date": today, "patient_dob": good[2]["patient_dob"] + "x"},
        {**good[3], "appointment_id": "X4", "appointment_date": today, "payer_id": "NOPE", "member_id": ""},
        {**good[0], "appointment_id": "X1", "appointment_date": today},
    ]
    path = write(tmp_path / "visits.csv", rows)
    with pytest.raises(AppointmentsError) as caught:
        read_appointments(path, PAYERS, utc_now().date(), 7)
    problems = [str(p) for p in caught.value.problems]
    assert problems == [
        "visits.csv: line 3: column 'appointment_date': value '12/05/2026' is not a date (YYYY-MM-DD)",
        "visits.csv: line 4: column 'patient_dob': value is not a date (YYYY-MM-DD)",
        "visits.csv: line 5: column 'member_id': is empty",
        "visits.csv: line 6: column 'appointment_id': repeats the appointment id of line 2",
    ]
    text = str(caught.value)
    for member in good:
        assert member["member_id"] not in text and member["patient_last_name"] not in text
        assert member["patient_dob"] not in text
    missing = write(tmp_path / "short.csv", [], header=["appointment_date", "payer_id"])
    with pytest.raises(AppointmentsError, match=r"short\.csv: line 1: the header lacks the required column"):
        read_appointments(missing, PAYERS, utc_now().date(), 7)


def test_without_a_file_the_members_of_open_claims_are_checked_once_each(practice: Ledger) -> None:
    found = open_claim_appointments(practice, utc_now().date())
    assert found.read == len(found.appointments) > 0
    identities = {(a.payer_id, a.patient.member_id, a.patient.date_of_birth) for a in found.appointments}
    assert len(identities) == len(found.appointments)
    assert {a.service_date for a in found.appointments} == {utc_now().date()}


async def test_the_scheduled_job_sweeps_the_configured_file_and_refuses_a_bad_one_whole(
    practice: Ledger, sandbox: SandboxEndpoints, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bots.schedule import BotContext, run_scheduled_eligibility_sweep

    config = tmp_path / "payers.yaml"
    config.write_text(
        "payers:\n"
        + "".join(
            f"  - {{id: {p}, name: {p}, kind: commercial, timely_filing_days: 90, route: api}}\n"
            for p in sorted(PAYERS)
        )
    )
    monkeypatch.setenv("CLAIMBOT_CLEARINGHOUSE_URL", sandbox.url(ServerName.CLEARINGHOUSE))
    monkeypatch.setenv("CLAIMBOT_CLEARINGHOUSE_API_KEY", CLEARINGHOUSE_API_KEY)
    path, _, _ = appointments_file(tmp_path)
    context = BotContext(
        ledger_url=practice.engine.url.render_as_string(hide_password=False),
        payers_file=config,
        data_dir=tmp_path,
        playbooks_dir=tmp_path,
        appointments_file=path,
    )
    sweep_id = await run_scheduled_eligibility_sweep(context)
    assert sweep_id is not None
    report = eligibility_report(practice, sweep_id)
    assert (report.read, report.checked, report.state) == (4, 4, "finished")
    bad = write(tmp_path / "bad.csv", [{"appointment_date": "soon", "payer_id": "SUNRISE"}])
    refused = BotContext(**{**context.__dict__, "appointments_file": bad})
    assert await run_scheduled_eligibility_sweep(refused) is None
    assert [s.id for s in practice.sweeps()] == [sweep_id]  # nothing recorded
