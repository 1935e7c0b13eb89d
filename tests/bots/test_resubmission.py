"""The resubmission guard and pipeline against the real sandbox clearinghouse, on real ledgers.

A denied KEYSTONE claim is corrected and sent as an 837P batch: the 999 and 277CA come back, the
submission row and the claim's new version are recorded, and the next status sweep sees the payer's
new decision. The 837P is read back with our own reader (CLM05-3, REF*F8, SE01/GE01/IEA01). Paid,
in-process, unknown and late claims, duplicates and bad changes are refused with nothing sent (the
sandbox's 837 counter) and an audit row each; the two-person rule; a route failure that proves
nothing was sent can be retried, one that may have reached the payer blocks the claim until a lead
closes it. No message or log line names the patient.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bots.live import live_check
from bots.planner import plan_sweep
from bots.resubmission import (
    FIELD_PATHS,
    PayerRoutes,
    Refusal,
    ResubmissionOutcome,
    ResubmissionRequest,
    ResubmissionService,
    ResubmissionState,
    apply_changes,
)
from bots.sweep import PayerLimits, plan_to_sweep, run_sweep
from claimbot.demo import sample_claims_csv
from claims.importing import import_claims_csv
from claims.ledger import Ledger
from claims.models import (
    ActionOutcome,
    CheckSource,
    FrequencyCode,
    StatusCheck,
    Submission,
    SubmissionRoute,
    SubmissionState,
)
from claims.payer_config import load_payer_config
from claims.phi import scrub_text
from claims.status import ClaimStatus
from claims.team import Actor, Role, TeamConfig
from edi import read_x12
from edi.professional_claim import ProfessionalClaimSet
from portal_adapters.clearinghouse import BatchPolling, ClearinghouseAdapter
from portal_adapters.contract import PayerAdapter
from portal_adapters.retry import RetryPolicy
from sandbox.accounts import CLEARINGHOUSE_API_KEY, ServerName
from sandbox.codes import Outcome
from sandbox.dataset import load_world
from sandbox.models import SandboxClaim
from sandbox.servers import SandboxEndpoints
from sandbox.testing import SandboxAdmin, reset_all
from tests.conftest import REPO
from tests.portals import claims_of

WORLD = load_world()
CONFIG = load_payer_config(REPO / "config" / "payers.yaml")
SAM = Actor(id="cli:sam", name="Sam", roles=frozenset({Role.SPECIALIST}))
LEE = Actor(id="cli:lee", name="Lee", roles=frozenset({Role.LEAD}))
KIM = Actor(id="cli:kim", name="Kim", roles=frozenset({Role.SPECIALIST, Role.LEAD}))
NOBODY = Actor(id="slack:U0OUTSIDER", name="U0OUTSIDER", roles=frozenset())


def pick(payer: str, outcome: Outcome | None, wanted: Callable[[SandboxClaim], bool] = lambda _: True) -> SandboxClaim:
    return next(c for c in claims_of(payer) if (c.payer.outcome if c.payer else None) == outcome and wanted(c))


def below(amount: str) -> Callable[[SandboxClaim], bool]:
    return lambda c: c.billed_amount <= Decimal(amount)


def denied_line(claim: SandboxClaim) -> int:
    """The number of a line the payer denied (the change that fixes it goes there)."""
    return next(n for n, line in enumerate(claim.lines, start=1) if line.paid == 0)


class FixedRoutes:
    """The clearinghouse for both the status check and the correction (what KEYSTONE's route would be
    without a portal form), or given adapters."""

    def __init__(self, status: PayerAdapter, correction: PayerAdapter | None = None) -> None:
        self.status = status
        self.correction = correction or status

    @asynccontextmanager
    async def open(self, payer_id: str) -> AsyncIterator[PayerRoutes]:
        yield PayerRoutes(status=self.status, correction=self.correction)


def clearinghouse(sandbox: SandboxEndpoints, payer: str, url: str | None = None) -> ClearinghouseAdapter:
    return ClearinghouseAdapter(
        payer,
        url or sandbox.url(ServerName.CLEARINGHOUSE),
        SecretStr(CLEARINGHOUSE_API_KEY),
        polling=BatchPolling(ack_wait_s=10, ack_poll_first_s=0.05, ack_poll_max_s=0.2),
        timeout_s=5,
    )


def service(ledger: Ledger, routes: Any, threshold: str | None = "1000.00") -> ResubmissionService:
    return ResubmissionService(
        ledger,
        TeamConfig(resubmit_approval_above=None if threshold is None else Decimal(threshold)),
        routes,
        CONFIG.payers,
        deadline_rules=CONFIG.deadline_rules(),
        status_retry=RetryPolicy(max_attempts=2, base_delay_s=0.01),
        today=lambda: WORLD.reference_date,
    )


def sent_837s(sandbox: SandboxEndpoints) -> int:
    with SandboxAdmin(sandbox[ServerName.CLEARINGHOUSE]) as admin:
        return admin.counters().transactions.get("837", 0)


def assert_phi_free(outcome: ResubmissionOutcome, claim: SandboxClaim, caplog: pytest.LogCaptureFixture) -> None:
    from tests.portals import patient

    people = [patient(claim)]
    assert scrub_text(outcome.message, people) == outcome.message, outcome.message
    assert scrub_text(caplog.text, people) == caplog.text
    assert outcome.model_dump_json().find(claim.patient.member_id) == -1


@pytest.fixture(autouse=True)
def _clean(sandbox: SandboxEndpoints) -> None:
    reset_all(sandbox)


#: A few claims of each payer and outcome: importing the whole practice costs seconds per test.
SOME_CLAIMS = {
    c.claim_id
    for payer in ("SUNRISE", "MERIDIAN", "KEYSTONE")
    for outcome in (*Outcome, None)
    for c in [c for c in claims_of(payer) if (c.payer.outcome if c.payer else None) == outcome][:4]
}


def import_some(ledger: Ledger, folder: Path, *more: str) -> None:
    """The bundled practice export, cut to SOME_CLAIMS and `more`."""
    wanted = SOME_CLAIMS | set(more)
    rows = sample_claims_csv().read_text("utf-8").splitlines(keepends=True)
    path = folder / "claims.csv"
    path.write_text(rows[0] + "".join(r for r in rows[1:] if r.split(",", 1)[0] in wanted), "utf-8")
    import_claims_csv(ledger, path)


@pytest.fixture
def imported(sqlite_ledger: Ledger, tmp_path: Path) -> Ledger:
    import_some(sqlite_ledger, tmp_path)
    return sqlite_ledger


async def test_a_corrected_claim_goes_to_the_clearinghouse_and_the_next_sweep_sees_the_payer_decide(
    ledger: Ledger, sandbox: SandboxEndpoints, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    import_some(ledger, tmp_path)
    claim = pick("KEYSTONE", Outcome.DENIED, below("900"))
    assert claim.payer is not None
    line = denied_line(claim)
    adapter = clearinghouse(sandbox, "KEYSTONE")
    try:
        outcome = await service(ledger, FixedRoutes(adapter)).request_resubmission(
            ResubmissionRequest(
                claim_id=claim.claim_id,
                changes={f"lines.{line}.modifiers": "25,59", f"lines.{line}.units": "2"},
                reason="modifier 59 was missing",
                actor=SAM,
            )
        )
        assert outcome.state is ResubmissionState.SENT, outcome.message
        assert outcome.submission_state is SubmissionState.ACCEPTED
        assert outcome.ack_codes == ("999:A", "277CA:A2:20")
        assert outcome.payer_claim_number and outcome.payer_claim_number != claim.payer.payer_claim_number
        assert outcome.route is SubmissionRoute.API and outcome.confirmation_number
        assert sent_837s(sandbox) == 1
        assert_phi_free(outcome, claim, caplog)

        [row] = ledger.submissions(claim_id=claim.claim_id)
        assert (row.state, row.frequency_code, row.route) == (
            SubmissionState.ACCEPTED,
            FrequencyCode.REPLACEMENT,
            SubmissionRoute.API,
        )
        assert row.original_payer_claim_number == claim.payer.payer_claim_number
        assert row.interchange_control_number == f"{row.id:09d}" and row.x12_sha256 and row.sent_at
        assert row.changes == {f"lines.{line}.modifiers": "25,59", f"lines.{line}.units": "2"}
        assert (row.requested_by, row.claim_version, row.payer_claim_number) == (
            "cli:sam",
            1,
            outcome.payer_claim_number,
        )
        assert ledger.submissions(interchange_control_number=row.interchange_control_number) == [row]

        versions = ledger.claim_versions(claim.claim_id)
        assert [v.version for v in versions] == [1, 2]  # what the payer had first is kept
        corrected = versions[-1].claim
        assert corrected.frequency_code is FrequencyCode.REPLACEMENT
        assert corrected.lines[line - 1].modifiers == ("25", "59") and corrected.lines[line - 1].units == 2
        assert corrected.payer_claim_number == outcome.payer_claim_number
        assert versions[0].claim.lines[line - 1].modifiers == tuple(claim.lines[line - 1].modifiers)

        assert ledger.current_status(claim.claim_id) is ClaimStatus.ACKNOWLEDGED  # swept again
        [action] = [a for a in ledger.actions_for(claim.claim_id) if a.action == "resubmit.request"]
        assert (action.actor, action.outcome, action.detail["submission_id"]) == (
            "cli:sam",
            ActionOutcome.SUCCEEDED,
            row.id,
        )

        # The next sweep: the claim is due again, and the payer's answer is the corrected claim's.
        snapshots = [s for s in ledger.claim_snapshots("KEYSTONE") if s.claim_id == claim.claim_id]
        plan = plan_sweep(snapshots, CONFIG.rules(), {}, WORLD.reference_date + timedelta(days=30))
        assert [c.claim_id for c in plan.due] == [claim.claim_id]
        sweep_id = plan_to_sweep(ledger, plan, {"KEYSTONE": "api"}, trigger="test")
        await run_sweep(
            ledger,
            sweep_id,
            {"KEYSTONE": adapter},
            {"KEYSTONE": PayerLimits(requests_per_minute=6000, canary=False)},
            RetryPolicy(max_attempts=2, base_delay_s=0.01),
        )
    finally:
        await adapter.close()
    with SandboxAdmin(sandbox[ServerName.CLEARINGHOUSE]) as admin:
        [entry] = admin._client.get("/corrections").raise_for_status().json()
    assert entry["claim_id"] == claim.claim_id and entry["payer_claim_number"] == outcome.payer_claim_number
    answered = ledger.history(claim.claim_id)[-1]
    assert answered.payer_claim_number == outcome.payer_claim_number
    assert ledger.current_status(claim.claim_id) is {"paid": ClaimStatus.PAID}.get(
        entry["outcome"], ClaimStatus(entry["outcome"])
    )
    assert ledger.current_status(claim.claim_id) is not ClaimStatus.DENIED  # the change fixed the denied line


async def test_a_dry_run_shows_the_837p_it_would_send_and_sends_nothing(
    imported: Ledger, sandbox: SandboxEndpoints
) -> None:
    claim = pick("KEYSTONE", Outcome.DENIED, below("900"))
    assert claim.payer is not None
    adapter = clearinghouse(sandbox, "KEYSTONE")
    try:
        outcome = await service(imported, FixedRoutes(adapter)).request_resubmission(
            ResubmissionRequest(
                claim_id=claim.claim_id,
                changes={"diagnosis_codes": "E11.9,I10", "lines.1.procedure_code": "99214"},
                dry_run=True,
                actor=SAM,
            )
        )
    finally:
        await adapter.close()
    assert outcome.state is ResubmissionState.DRY_RUN, outcome.message
    assert outcome.x12 is not None and "x12" not in outcome.model_dump()  # never in JSON or logs
    assert sent_837s(sandbox) == 0 and imported.submissions(claim_id=claim.claim_id) == []

    document = read_x12(outcome.x12, "dry run")
    assert [f for f in document.all_findings() if f.severity.value != "info"] == []
    [claims_set] = document.transactions_of(ProfessionalClaimSet)
    [sent] = claims_set.claims
    assert sent.frequency_code == "7"  # CLM05-3
    assert sent.payer_claim_control_number == claim.payer.payer_claim_number  # REF*F8
    assert [d.code for d in sent.diagnoses] == ["E119", "I10"]
    assert sent.services[0].procedure.code == "99214"
    segments = [s for s in outcome.x12.replace("\n", "").split("~") if s]
    body = segments[segments.index(next(s for s in segments if s.startswith("ST*"))) :]
    se = next(s for s in body if s.startswith("SE*")).split("*")
    assert int(se[1]) == body.index("*".join(se)) + 1  # SE01 counts ST..SE
    assert next(s for s in segments if s.startswith("GE*")).split("*")[1] == "1"  # GE01: one set
    assert next(s for s in segments if s.startswith("IEA*")).split("*")[1] == "1"  # IEA01: one group
    [action] = imported.actions_for(claim.claim_id)
    assert action.detail["dry_run"] is True and action.detail["state"] == "dry_run"


async def test_paid_in_process_unknown_and_late_claims_and_duplicates_are_refused_with_nothing_sent(
    imported: Ledger, sandbox: SandboxEndpoints, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    cases = {
        Refusal.PAID: pick("KEYSTONE", Outcome.PAID),
        Refusal.IN_PROCESS: pick("KEYSTONE", Outcome.PENDING),
        Refusal.UNKNOWN_TO_PAYER: pick("KEYSTONE", None),
        Refusal.DEADLINE_PASSED: pick("MERIDIAN", Outcome.DENIED, lambda c: c.payer is not None and c.payer.paid == 0),
    }
    late = cases[Refusal.DEADLINE_PASSED]
    assert late.payer is not None and late.payer.payment is not None
    imported.record_status_check(  # its ERA, imported when it came: the window counts from its date
        StatusCheck(
            claim_id=late.claim_id,
            source=CheckSource.EDI,
            status=ClaimStatus.DENIED,
            effective_at=datetime.combine(late.payer.payment.payment_date, time(12), UTC),
            payment_date=late.payer.payment.payment_date,
            paid_amount=Decimal("0.00"),
            payer_claim_number=late.payer.payer_claim_number,
            dedupe_key=f"edi:test:{late.claim_id}",
        )
    )
    adapters = {payer: clearinghouse(sandbox, payer) for payer in ("KEYSTONE", "MERIDIAN")}
    try:
        for refusal, claim in cases.items():
            run = service(imported, FixedRoutes(adapters[claim.payer_id]))
            outcome = await run.request_resubmission(
                ResubmissionRequest(claim_id=claim.claim_id, changes={"lines.1.units": "2"}, actor=SAM)
            )
            assert (outcome.state, outcome.refusal) == (ResubmissionState.REFUSED, refusal), outcome.message
            assert claim.claim_id in outcome.message
            assert_phi_free(outcome, claim, caplog)
            [action] = [a for a in imported.actions_for(claim.claim_id) if a.action == "resubmit.request"]
            assert (action.outcome, action.actor, action.detail["refusal"]) == (
                ActionOutcome.REFUSED,
                "cli:sam",
                refusal.value,
            )
        assert "deadline" in outcome.message and "passed on" in outcome.message
        assert sent_837s(sandbox) == 0

        denied = pick("KEYSTONE", Outcome.DENIED, below("900"))
        run = service(imported, FixedRoutes(adapters["KEYSTONE"]))
        request = ResubmissionRequest(
            claim_id=denied.claim_id, changes={f"lines.{denied_line(denied)}.modifiers": "59"}, actor=SAM
        )
        first = await run.request_resubmission(request)
        assert first.state is ResubmissionState.SENT, first.message
        again = await run.request_resubmission(request)
        assert (again.refusal, again.submission_id) == (Refusal.DUPLICATE, None)
        assert f"submission {first.submission_id}" in again.message
        other = await run.request_resubmission(request.model_copy(update={"changes": {"lines.1.units": "3"}}))
        assert other.refusal is Refusal.PAID, other.message  # the payer paid the corrected claim at once

        # A correction sent after the last denial (here by another system) that the payer shows no answer to yet.
        corrected = pick("KEYSTONE", Outcome.DENIED, lambda c: below("900")(c) and c.claim_id != denied.claim_id)
        imported.add_submission(
            Submission(
                claim_id=corrected.claim_id,
                claim_version=1,
                frequency_code=FrequencyCode.REPLACEMENT,
                route=SubmissionRoute.FILE,
                state=SubmissionState.ACCEPTED,
                sent_at=datetime.now(UTC),
                requested_by="cli:sam",
                idempotency_key="sent-elsewhere",
            )
        )
        twice = await run.request_resubmission(
            ResubmissionRequest(claim_id=corrected.claim_id, changes={"lines.1.units": "3"}, actor=SAM)
        )
        assert twice.refusal is Refusal.ALREADY_CORRECTED, twice.message
        assert sent_837s(sandbox) == 1  # the same request twice sent one claim
        assert len(imported.submissions(claim_id=denied.claim_id)) == 1
        refused = [a for a in imported.actions_for(denied.claim_id) if a.outcome is ActionOutcome.REFUSED]
        assert [a.detail["refusal"] for a in refused] == ["duplicate", "paid"]
    finally:
        for adapter in adapters.values():
            await adapter.close()


async def test_bad_changes_and_people_without_a_role_are_refused_before_the_payer_is_asked(
    imported: Ledger, sandbox: SandboxEndpoints
) -> None:
    claim = pick("KEYSTONE", Outcome.DENIED, below("900"))
    adapter = clearinghouse(sandbox, "KEYSTONE")
    run = service(imported, FixedRoutes(adapter))
    cases: list[tuple[Actor, dict[str, str], Refusal, str]] = [
        (NOBODY, {"lines.1.units": "2"}, Refusal.NOT_ALLOWED, "specialist or a lead"),
        (SAM, {"lines.9.units": "2"}, Refusal.BAD_CHANGE, "lines.9.units: the claim has"),
        (SAM, {"lines.1.units": "two"}, Refusal.BAD_CHANGE, "lines.1.units: expected a number above 0"),
        (SAM, {"lines.1.modifiers": "5X9"}, Refusal.BAD_CHANGE, "lines.1.modifiers: expected up to 4 modifiers"),
        (SAM, {"rendering_npi": "1234567890"}, Refusal.BAD_CHANGE, "rendering_npi: expected an NPI"),
        (SAM, {"diagnosis_codes": "NOTACODE"}, Refusal.BAD_CHANGE, "diagnosis_codes: expected ICD-10-CM"),
        (SAM, {"lines.1.diagnosis_pointers": "7"}, Refusal.BAD_CHANGE, "points at a diagnosis"),
        (SAM, {"patient_name": "x"}, Refusal.BAD_CHANGE, "'patient_name' is not a field"),
        (SAM, {"Mary Smith": "x"}, Refusal.BAD_CHANGE, "that field is not a field"),
        (SAM, {}, Refusal.NO_CHANGE, "at least one change"),
        (SAM, {"lines.1.units": str(claim.lines[0].units)}, Refusal.NO_CHANGE, "duplicate (CO-18)"),
    ]
    try:
        for actor, changes, refusal, said in cases:
            outcome = await run.request_resubmission(
                ResubmissionRequest(claim_id=claim.claim_id, changes=changes, actor=actor)
            )
            assert (outcome.refusal, said in outcome.message) == (refusal, True), outcome.message
            for value in changes.values():
                assert len(value) < 3 or value not in outcome.message  # the value is never repeated
        named = await run.request_resubmission(
            ResubmissionRequest(
                claim_id=claim.claim_id,
                changes={"lines.1.units": "2"},
                reason=f"{claim.patient.last_name} called",
                actor=SAM,
            )
        )
        assert named.refusal is Refusal.BAD_REASON and claim.patient.last_name not in named.message
        void = await run.request_resubmission(
            ResubmissionRequest(claim_id=claim.claim_id, changes={"lines.1.units": "2"}, void=True, actor=SAM)
        )
        assert void.refusal is Refusal.BAD_CHANGE
    finally:
        await adapter.close()
    with SandboxAdmin(sandbox[ServerName.CLEARINGHOUSE]) as admin:
        assert admin.counters().requests == 0  # no guard above asked the payer anything
    assert len(imported.actions_for(claim.claim_id)) == len(cases) + 2


async def test_above_the_threshold_a_second_person_with_the_lead_role_must_approve(
    imported: Ledger, sandbox: SandboxEndpoints
) -> None:
    claim = pick("KEYSTONE", Outcome.DENIED, below("900"))
    adapter = clearinghouse(sandbox, "KEYSTONE")
    run = service(imported, FixedRoutes(adapter), threshold="100.00")
    try:
        waiting = await run.request_resubmission(
            ResubmissionRequest(
                claim_id=claim.claim_id, changes={f"lines.{denied_line(claim)}.modifiers": "59"}, actor=KIM
            )
        )
        assert waiting.state is ResubmissionState.AWAITING_APPROVAL, waiting.message
        assert waiting.submission_id is not None and sent_837s(sandbox) == 0
        assert "lead other than you" in waiting.message
        for who, said in ((KIM, "requester cannot approve"), (SAM, "only a lead")):
            refused = await run.approve(waiting.submission_id, who)
            assert (refused.refusal, said in refused.message) == (Refusal.NOT_ALLOWED, True), refused.message
        assert run.cancel(waiting.submission_id, SAM).refusal is Refusal.NOT_ALLOWED  # neither requester nor lead
        blocked = await run.request_resubmission(
            ResubmissionRequest(claim_id=claim.claim_id, changes={"lines.1.units": "2"}, actor=SAM)
        )
        assert blocked.refusal is Refusal.AWAITING_APPROVAL
        approved = await run.approve(waiting.submission_id, LEE)
        assert approved.state is ResubmissionState.SENT, approved.message
        assert sent_837s(sandbox) == 1
        row = imported.submission(waiting.submission_id)
        assert row is not None and (row.requested_by, row.approved_by) == ("cli:kim", "cli:lee")
        assert (await run.approve(waiting.submission_id, LEE)).refusal is Refusal.NOT_WAITING
    finally:
        await adapter.close()
    approvals = [a for a in imported.actions_for(claim.claim_id) if a.action == "resubmit.approve"]
    assert [(a.actor, a.outcome) for a in approvals] == [
        ("cli:kim", ActionOutcome.REFUSED),
        ("cli:sam", ActionOutcome.REFUSED),
        ("cli:lee", ActionOutcome.SUCCEEDED),
        ("cli:lee", ActionOutcome.REFUSED),
    ]


async def test_a_correction_that_never_reached_the_payer_is_retried_and_an_unconfirmed_one_blocks_the_claim(
    imported: Ledger, sandbox: SandboxEndpoints
) -> None:
    claim = pick("KEYSTONE", Outcome.DENIED, below("900"))
    status = clearinghouse(sandbox, "KEYSTONE")
    nowhere = clearinghouse(sandbox, "KEYSTONE", url="http://127.0.0.1:9")  # connection refused
    request = ResubmissionRequest(
        claim_id=claim.claim_id, changes={f"lines.{denied_line(claim)}.modifiers": "59"}, actor=SAM
    )
    try:
        failed = await service(imported, FixedRoutes(status, nowhere)).request_resubmission(request)
        assert (failed.state, failed.submission_state) == (ResubmissionState.FAILED, SubmissionState.FAILED)
        assert "nothing reached the payer" in failed.message
        retried = await service(imported, FixedRoutes(status)).request_resubmission(request)
        assert retried.state is ResubmissionState.SENT and retried.submission_id == failed.submission_id
        assert sent_837s(sandbox) == 1
    finally:
        await status.close()
        await nowhere.close()

    # A crash after `sending` (simulated: a row left in that state) is never resent blindly.
    other = pick("KEYSTONE", Outcome.DENIED, lambda c: below("900")(c) and c.claim_id != claim.claim_id)
    stuck_id, _ = imported.add_submission(
        Submission(
            claim_id=other.claim_id,
            claim_version=1,
            frequency_code=FrequencyCode.REPLACEMENT,
            route=SubmissionRoute.API,
            state=SubmissionState.SENDING,
            requested_by="cli:sam",
            idempotency_key="crashed-run",
        )
    )
    adapter = clearinghouse(sandbox, "KEYSTONE")
    run = service(imported, FixedRoutes(adapter))
    try:
        blocked = await run.request_resubmission(request.model_copy(update={"claim_id": other.claim_id}))
        assert blocked.refusal is Refusal.UNCONFIRMED and "not resent blindly" in blocked.message
        assert run.cancel(stuck_id, SAM).refusal is Refusal.NOT_ALLOWED
        closed = run.cancel(stuck_id, LEE)
        assert closed.submission_state is SubmissionState.FAILED
        changes = {f"lines.{denied_line(other)}.modifiers": "59"}
        sent = await run.request_resubmission(ResubmissionRequest(claim_id=other.claim_id, changes=changes, actor=SAM))
        assert sent.state is ResubmissionState.SENT, sent.message
    finally:
        await adapter.close()
    assert sent_837s(sandbox) == 2


def test_every_documented_field_path_applies(imported: Ledger) -> None:
    claim = next(c for c in WORLD.claims if len(c.lines) >= 2 and len(c.diagnosis_codes) == 2)
    base = imported.get_claim(claim.claim_id)
    changed = apply_changes(
        base,
        {
            "diagnosis_codes": "E11.9,I10",
            "rendering_npi": "1003000126",
            "place_of_service": "22",
            "lines.1.procedure_code": "99214",
            "lines.1.modifiers": "25,59",
            "lines.1.units": "2",
            "lines.1.charge": "150.00",
            "lines.2.diagnosis_pointers": "2,1",
            "lines.2.service_date_from": base.lines[1].service_date_from.isoformat(),
            "lines.2.service_date_to": base.lines[1].service_date_to.isoformat(),
            "lines.2.modifiers": "",
        },
    )
    assert changed.diagnosis_codes == ("E11.9", "I10") and changed.rendering_npi == "1003000126"
    assert changed.place_of_service == "22"
    first, second = changed.lines[0], changed.lines[1]
    assert (first.procedure_code, first.modifiers, first.units, first.charge) == ("99214", ("25", "59"), 2, 150)
    assert (second.diagnosis_pointers, second.modifiers) == ((2, 1), ())
    assert changed.patient == base.patient
    assert set(FIELD_PATHS) == {
        "diagnosis_codes",
        "rendering_npi",
        "place_of_service",
        *(f"lines.N.{f}" for f in ("procedure_code", "modifiers", "units", "charge", "diagnosis_pointers")),
        "lines.N.service_date_from",
        "lines.N.service_date_to",
    }


async def test_a_second_correction_is_built_on_the_first_and_quotes_the_number_the_payer_gave_it(
    imported: Ledger, sandbox: SandboxEndpoints, tmp_path: Path
) -> None:
    claim = pick(
        "KEYSTONE",
        Outcome.PARTIALLY_PAID,
        lambda c: c.lines[0].paid > 0 and any(line.paid == 0 for line in c.lines),
    )
    import_some(imported, tmp_path, claim.claim_id)
    line = denied_line(claim)
    charge = f"{claim.lines[0].charge + 10:.2f}"
    adapter = clearinghouse(sandbox, "KEYSTONE")
    run = service(imported, FixedRoutes(adapter))
    try:
        first = await run.request_resubmission(  # not a fix: the payer pays what it paid and denies the rest again
            ResubmissionRequest(claim_id=claim.claim_id, changes={"lines.1.charge": charge}, actor=SAM)
        )
        assert first.submission_state is SubmissionState.ACCEPTED, first.message
        too_soon = await run.request_resubmission(
            ResubmissionRequest(claim_id=claim.claim_id, changes={f"lines.{line}.modifiers": "59"}, actor=SAM)
        )
        assert too_soon.refusal is Refusal.ALREADY_CORRECTED, too_soon.message  # no answer to the first seen yet
        await live_check(imported, adapter, [claim.claim_id], RetryPolicy(max_attempts=1))  # what a sweep does
        assert imported.current_status(claim.claim_id) is ClaimStatus.PARTIALLY_PAID
        second = await run.request_resubmission(
            ResubmissionRequest(claim_id=claim.claim_id, changes={f"lines.{line}.modifiers": "59"}, actor=SAM)
        )
    finally:
        await adapter.close()
    assert second.submission_state is SubmissionState.ACCEPTED, second.message
    one, two = imported.submissions(claim_id=claim.claim_id)
    assert two.original_payer_claim_number == one.payer_claim_number  # the newer number, not the first
    assert two.claim_version == 2 and two.changes == {f"lines.{line}.modifiers": "59"}
    sent = imported.claim_versions(claim.claim_id)[-1].claim
    assert f"{sent.lines[0].charge:.2f}" == charge and sent.lines[line - 1].modifiers == ("59",)  # both changes


class CrashesAfterPosting(ClearinghouseAdapter):
    """Posts the batch, then fails as a bug or a killed process would, before any receipt."""

    async def submit_correction(self, request: Any, *, dry_run: bool = False) -> Any:
        await self.open()
        await self._post_batch(request.x12, request.claim.claim_id)
        raise RuntimeError("killed after the POST")


async def test_a_crash_after_the_claim_left_is_audited_and_the_claim_is_never_resent(
    imported: Ledger, sandbox: SandboxEndpoints
) -> None:
    claim = pick("KEYSTONE", Outcome.DENIED, below("900"))
    status = clearinghouse(sandbox, "KEYSTONE")
    crashing = CrashesAfterPosting("KEYSTONE", sandbox.url(ServerName.CLEARINGHOUSE), SecretStr(CLEARINGHOUSE_API_KEY))
    request = ResubmissionRequest(
        claim_id=claim.claim_id, changes={f"lines.{denied_line(claim)}.modifiers": "59"}, actor=SAM
    )
    try:
        with pytest.raises(RuntimeError):
            await service(imported, FixedRoutes(status, crashing)).request_resubmission(request)
        [row] = imported.submissions(claim_id=claim.claim_id)
        assert row.state is SubmissionState.SENDING and row.interchange_control_number
        [audit] = [a for a in imported.actions_for(claim.claim_id) if a.action == "resubmit.request"]
        assert (audit.outcome, audit.detail["state"]) == (ActionOutcome.FAILED, "failed")
        for again in (request, request.model_copy(update={"changes": {"lines.1.units": "3"}})):
            refused = await service(imported, FixedRoutes(status)).request_resubmission(again)
            assert refused.refusal in (Refusal.DUPLICATE, Refusal.UNCONFIRMED), refused.message
    finally:
        await status.close()
        await crashing.close()
    assert sent_837s(sandbox) == 1  # it reached the clearinghouse once, and was not sent again


async def test_a_void_is_frequency_8_with_the_original_number_and_the_payer_closes_the_claim(
    imported: Ledger, sandbox: SandboxEndpoints
) -> None:
    claim = pick("KEYSTONE", Outcome.DENIED, below("900"))
    assert claim.payer is not None
    adapter = clearinghouse(sandbox, "KEYSTONE")
    run = service(imported, FixedRoutes(adapter))
    void = ResubmissionRequest(claim_id=claim.claim_id, void=True, reason="billed in error", actor=SAM)
    try:
        dry = await run.request_resubmission(void.model_copy(update={"dry_run": True}))
        assert dry.x12 is not None, dry.message
        [claims_set] = read_x12(dry.x12, "void").transactions_of(ProfessionalClaimSet)
        assert [(c.frequency_code, c.payer_claim_control_number) for c in claims_set.claims] == [
            ("8", claim.payer.payer_claim_number)
        ]
        sent = await run.request_resubmission(void)
        assert sent.submission_state is SubmissionState.ACCEPTED, sent.message
        assert sent.message.startswith("void of claim")
        await live_check(imported, adapter, [claim.claim_id], RetryPolicy(max_attempts=1))
    finally:
        await adapter.close()
    assert imported.get_claim(claim.claim_id).frequency_code is FrequencyCode.VOID
    assert imported.current_status(claim.claim_id) is ClaimStatus.FINALIZED  # F0:686: the whole claim voided
