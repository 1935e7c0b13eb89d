"""Clearinghouse round trips: requests written with `edi.writers`, answers read back with `edi`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from edi import X12Document, read_x12
from edi.acknowledgment import ImplementationAcknowledgment
from edi.claim_status import ClaimStatus, ClaimStatusResponse
from edi.eligibility import EligibilityResponse
from edi.outbound import (
    ClaimStatusInquiry,
    EligibilityInquiry,
    InterchangeSettings,
    PayerDetails,
    ProviderDetails,
    SubmitterDetails,
    SubscriberDetails,
)
from edi.remittance import RemittanceAdvice
from edi.writers import write_270, write_276
from sandbox.accounts import CLEARINGHOUSE_API_KEY, ServerName
from sandbox.codes import Outcome
from sandbox.dataset import load_world
from sandbox.exports import claims_837_text
from sandbox.models import Patient, SandboxClaim
from sandbox.servers import SandboxEndpoints
from sandbox.testing import SandboxAdmin
from tests.sandbox.conftest import pick_claim

SETTINGS = InterchangeSettings(sender_id="WILLOWBEND", receiver_id="SANDBOXCH", usage_indicator="T")
REQUESTER = SubmitterDetails(name="WILLOWBEND FAMILY MEDICINE", identifier="WILLOWBEND")


@pytest.fixture
def clearinghouse(sandbox: SandboxEndpoints) -> Iterator[httpx.Client]:
    headers = {"X-API-Key": CLEARINGHOUSE_API_KEY}
    with httpx.Client(base_url=sandbox.url(ServerName.CLEARINGHOUSE), headers=headers, timeout=10) as client:
        yield client


@pytest.fixture
def clearinghouse_admin(sandbox: SandboxEndpoints) -> Iterator[SandboxAdmin]:
    with SandboxAdmin(sandbox[ServerName.CLEARINGHOUSE]) as admin:
        yield admin


def envelope(payload_type: str, payload: str, mode: str = "RealTime") -> dict[str, Any]:
    return {
        "payload_type": payload_type,
        "processing_mode": mode,
        "payload_id": "test-0001",
        "sender_id": "WILLOWBEND",
        "receiver_id": "SANDBOXCH",
        "payload": payload,
    }


def subscriber(patient: Patient, birth_date: date | None = None) -> SubscriberDetails:
    return SubscriberDetails(
        last_name=patient.last_name.upper(),
        first_name=patient.first_name.upper(),
        member_id=patient.member_id,
        birth_date=birth_date or patient.dob,
    )


def provider(claim: SandboxClaim) -> ProviderDetails:
    return ProviderDetails(name="WILLOWBEND FAMILY MEDICINE", npi=claim.rendering_npi)


def status_inquiry(claim: SandboxClaim) -> ClaimStatusInquiry:
    return ClaimStatusInquiry(
        payer=PayerDetails(name=claim.payer_id, payer_id=claim.payer_id),
        provider=provider(claim),
        subscriber=subscriber(claim.patient),
        patient_control_number=claim.claim_id,
        trace_number=f"T-{claim.claim_id}",
        total_charge=claim.billed_amount,
        service_date=claim.service_date_from,
        service_end_date=claim.service_date_to,
    )


def ask_status(client: httpx.Client, claims: list[SandboxClaim]) -> dict[str, ClaimStatus]:
    """Send one 276 about `claims`; the 277's claims by trace number."""
    response = client.post(
        "/core/realtime",
        json=envelope(
            "X12_276_Request_005010X212",
            write_276([status_inquiry(c) for c in claims], requester=REQUESTER, settings=SETTINGS),
        ),
    )
    assert response.status_code == 200
    body = response.json()
    assert body["payload_type"] == "X12_277_Response_005010X212"
    assert body["error_code"] == "Success"
    document = read_clean(body["payload"])
    [answer] = document.transactions_of(ClaimStatusResponse)
    return {claim.trace_number: claim for claim in answer.claims}


def read_clean(payload: str) -> X12Document:
    document = read_x12(payload, "sandbox-answer")
    assert [f for f in document.all_findings() if f.severity == "error"] == []
    return document


def test_277_reports_each_claim_as_its_payer_holds_it(clearinghouse: httpx.Client) -> None:
    paid = pick_claim("SUNRISE", Outcome.PAID)
    denied = pick_claim("MERIDIAN", Outcome.DENIED)
    pending = pick_claim("KEYSTONE", Outcome.PENDING)
    rejected = pick_claim("SUNRISE", Outcome.REJECTED)
    missing = next(
        c for c in load_world().claims if c.payer is None and c.patient.member_id in load_world().eligibility_by_member
    )
    answers = ask_status(clearinghouse, [paid, denied, pending, rejected, missing])
    for claim in (paid, denied, pending, rejected):
        record = claim.payer
        assert record is not None
        answer = answers[f"T-{claim.claim_id}"]
        status = answer.primary_status
        assert status is not None
        assert (status.category, status.status) == (record.category_code, record.status_code)
        assert answer.patient_control_number == claim.claim_id
        assert answer.payer_claim_control_number == (record.payer_claim_number or "")
    paid_report = answers[f"T-{paid.claim_id}"].statuses[0]
    assert paid.payer is not None
    assert paid.payer.payment is not None
    assert paid_report.paid_amount == paid.payer.paid
    assert paid_report.total_charge == paid.billed_amount
    assert paid_report.check_number == paid.payer.payment.trace_number
    assert paid_report.payment_method == paid.payer.payment.method
    assert len(answers[f"T-{paid.claim_id}"].services) == len(paid.lines)
    not_found = answers[f"T-{missing.claim_id}"].primary_status
    assert not_found is not None
    assert (not_found.category, not_found.status) == ("A4", "35")


def test_277_says_response_not_possible_when_the_payer_is_down(
    clearinghouse: httpx.Client, clearinghouse_admin: SandboxAdmin
) -> None:
    clearinghouse_admin.set_faults(payers_down=["SUNRISE"])
    sunrise, keystone = pick_claim("SUNRISE", Outcome.PAID), pick_claim("KEYSTONE", Outcome.PAID)
    answers = ask_status(clearinghouse, [sunrise, keystone])
    down = answers[f"T-{sunrise.claim_id}"].primary_status
    up = answers[f"T-{keystone.claim_id}"].primary_status
    assert down is not None
    assert up is not None
    assert down.category == "E1"
    assert up.category.startswith("F")


def eligibility_inquiry(patient: Patient, npi: str, birth_date: date | None = None) -> EligibilityInquiry:
    return EligibilityInquiry(
        payer=PayerDetails(name=patient.payer_id, payer_id=patient.payer_id),
        provider=ProviderDetails(name="WILLOWBEND FAMILY MEDICINE", npi=npi),
        subscriber=subscriber(patient, birth_date),
        trace_number=f"E-{patient.member_id}",
        trace_originator_id="9WILLOWBND",
        service_date=load_world().reference_date,
    )


def ask_eligibility(client: httpx.Client, inquiries: list[EligibilityInquiry]) -> EligibilityResponse:
    response = client.post(
        "/core/realtime", json=envelope("X12_270_Request_005010X279A1", write_270(inquiries, settings=SETTINGS))
    )
    assert response.status_code == 200
    assert response.json()["payload_type"] == "X12_271_Response_005010X279A1"
    [answer] = read_clean(response.json()["payload"]).transactions_of(EligibilityResponse)
    return answer


def test_271_answers_benefits_and_rejects_unknown_members_and_wrong_birth_dates(clearinghouse: httpx.Client) -> None:
    world = load_world()
    claim = pick_claim("MERIDIAN", Outcome.PAID)
    member = claim.patient
    benefits = world.eligibility_by_member[member.member_id]
    stranger = next(
        c.patient
        for c in world.claims
        if c.payer_id == "MERIDIAN" and c.patient.member_id not in world.eligibility_by_member
    )
    answer = ask_eligibility(
        clearinghouse,
        [
            eligibility_inquiry(member, claim.rendering_npi),
            eligibility_inquiry(stranger, claim.rendering_npi),
            eligibility_inquiry(member, claim.rendering_npi, birth_date=date(1901, 1, 1)),
        ],
    )
    known, unknown, wrong_dob = answer.results
    assert known.coverage.active is (benefits.coverage_end is None)
    assert benefits.plan_name in known.coverage.plans
    deductibles = {(a.time_period, a.amount) for a in known.coverage.of_kind("deductible")}
    assert ("23", benefits.deductible) in deductibles
    assert ("29", benefits.deductible_remaining) in deductibles
    assert known.rejections == []
    assert [(r.valid_request, r.reason_code, r.follow_up_action) for r in unknown.rejections] == [("Y", "75", "C")]
    assert [(r.valid_request, r.reason_code, r.follow_up_action) for r in wrong_dob.rejections] == [("Y", "71", "C")]


def test_271_from_a_down_payer_says_unable_to_respond(
    clearinghouse: httpx.Client, clearinghouse_admin: SandboxAdmin
) -> None:
    clearinghouse_admin.set_faults(payers_down=["KEYSTONE"])
    claim = pick_claim("KEYSTONE", Outcome.PAID)
    answer = ask_eligibility(clearinghouse, [eligibility_inquiry(claim.patient, claim.rendering_npi)])
    assert [(r.reason_code, r.follow_up_action) for r in answer.rejections] == [("42", "R")]


def test_envelope_errors(clearinghouse: httpx.Client, sandbox: SandboxEndpoints) -> None:
    with httpx.Client(base_url=sandbox.url(ServerName.CLEARINGHOUSE)) as anonymous:
        refused = anonymous.post(
            "/core/realtime", json=envelope("X12_276_Request_005010X212", "ISA"), headers={"X-API-Key": "wrong"}
        )
    assert refused.status_code == 401
    assert refused.json()["error_code"] == "Unauthorized"
    not_x12 = clearinghouse.post("/core/realtime", json=envelope("X12_276_Request_005010X212", "hello"))
    assert (not_x12.status_code, not_x12.json()["error_code"]) == (400, "InvalidPayload")
    wrong_type = clearinghouse.post("/core/realtime", json=envelope("X12_835_Request", "ISA"))
    assert (wrong_type.status_code, wrong_type.json()["error_code"]) == (400, "PayloadTypeNotSupported")
    broken = clearinghouse.post("/core/realtime", json={"payload": "x"})
    assert (broken.status_code, broken.json()["error_code"]) == (400, "InvalidEnvelope")


def test_faults_reach_clearinghouse_clients(clearinghouse: httpx.Client, clearinghouse_admin: SandboxAdmin) -> None:
    clearinghouse_admin.set_faults(error_rate=1.0, error_status=503)
    answer = clearinghouse.post("/core/realtime", json=envelope("X12_276_Request_005010X212", "ISA"))
    assert (answer.status_code, answer.json()["error_code"]) == (503, "InternalError")
    clearinghouse_admin.set_faults(error_rate=0.0, latency_ms=150)
    started = time.perf_counter()
    with pytest.raises(httpx.ReadTimeout):  # lets clients test their own timeouts
        clearinghouse.post("/core/realtime", json=envelope("X12_276_Request_005010X212", "ISA"), timeout=0.05)
    assert time.perf_counter() - started < 0.15
    clearinghouse_admin.set_faults(latency_ms=0, rate_limit_requests=2, rate_limit_window_s=60)
    codes = [clearinghouse.get("/core/batch/none").status_code for _ in range(3)]
    assert codes == [404, 404, 429]


def submit(client: httpx.Client, payload: str) -> dict[str, Any]:
    response = client.post("/core/batch", json=envelope("X12_837_Request_005010X222A1", payload, mode="Batch"))
    assert response.status_code == 202
    status: dict[str, Any] = response.json()
    return status


def test_batch_837p_gets_999_277ca_and_835(clearinghouse: httpx.Client, clearinghouse_admin: SandboxAdmin) -> None:
    world = load_world()
    finalized = [
        pick_claim("SUNRISE", Outcome.PAID),
        pick_claim("SUNRISE", Outcome.DENIED),
        pick_claim("KEYSTONE", Outcome.PARTIALLY_PAID),
    ]
    rejected = pick_claim("MERIDIAN", Outcome.REJECTED)
    pending = pick_claim("MERIDIAN", Outcome.PENDING)
    clearinghouse_admin.set_faults(batch_delay_s=0.4)
    status = submit(clearinghouse, claims_837_text(world, [*finalized, rejected, pending]))
    assert [f["kind"] for f in status["files"]] == ["999"]
    assert status["pending"] == ["277CA", "835"]
    assert (status["claims"], status["accepted"], status["rejected"]) == (5, 4, 1)
    early = clearinghouse.get(f"/core/batch/{status['submission_id']}/835")
    assert (early.status_code, early.json()["error_code"]) == (404, "NotReady")

    [ack] = read_clean(clearinghouse.get(status["files"][0]["url"]).text).transactions_of(ImplementationAcknowledgment)
    assert ack.group_accepted
    assert [t.accepted for t in ack.transaction_acks] == [True]

    time.sleep(0.45)
    later = clearinghouse.get(f"/core/batch/{status['submission_id']}").json()
    assert [f["kind"] for f in later["files"]] == ["999", "277CA", "835"]
    [acknowledgment] = read_clean(clearinghouse.get(later["files"][1]["url"]).text).transactions_of(ClaimStatusResponse)
    verdicts = {c.patient_control_number: c.primary_status for c in acknowledgment.claims}
    assert rejected.payer is not None
    assert str(verdicts.pop(rejected.claim_id)).startswith(rejected.payer.category_code)
    assert {str(v) for v in verdicts.values()} == {"A2:20"}

    remittances = read_clean(clearinghouse.get(later["files"][2]["url"]).text).transactions_of(RemittanceAdvice)
    paid = {c.patient_control_number: c for advice in remittances for c in advice.claims}
    assert set(paid) == {claim.claim_id for claim in finalized}
    for claim in finalized:
        record = claim.payer
        assert record is not None
        assert paid[claim.claim_id].paid == record.paid
        assert paid[claim.claim_id].payer_claim_control_number == record.payer_claim_number
        assert paid[claim.claim_id].status_code == ("4" if record.outcome == Outcome.DENIED else "1")
        carcs = [(a.group, a.reason, a.amount) for s in paid[claim.claim_id].services for a in s.adjustments]
        assert carcs == [(a.group, a.carc, a.amount) for a in claim.adjustments]
    for advice in remittances:
        assert advice.payment is not None
        assert advice.payment.amount == sum((c.paid or Decimal(0) for c in advice.claims), Decimal(0))


def test_999_rejects_a_transaction_set_with_a_wrong_segment_count(clearinghouse: httpx.Client) -> None:
    payload = claims_837_text(load_world(), [pick_claim("SUNRISE", Outcome.PAID)])
    se = next(line for line in payload.splitlines() if line.startswith("SE*"))
    count = int(se.split("*")[1])
    status = submit(clearinghouse, payload.replace(se, se.replace(f"SE*{count}*", f"SE*{count + 1}*")))
    [ack] = read_x12(clearinghouse.get(status["files"][0]["url"]).text, "999").transactions_of(
        ImplementationAcknowledgment
    )
    assert not ack.group_accepted
    assert [(t.status_code, t.error_codes) for t in ack.transaction_acks] == [("R", ["4"])]


def test_one_276_about_two_claims_of_the_same_member_answers_both() -> None:
    """Regression: each TRN under a member starts a new claim (the earlier one was lost)."""
    from sandbox.x12 import read_status_inquiries

    segments = [
        ["HL", "4", "3", "22", "0"],
        ["NM1", "IL", "1", "DOE", "JAN", "", "", "", "MI", "M1"],
        ["TRN", "1", "CLAIM-A"],
        ["REF", "EJ", "CLAIM-A"],
        ["TRN", "1", "CLAIM-B"],
        ["REF", "EJ", "CLAIM-B"],
        ["SE", "8", "0001"],
    ]
    assert [i.trace_number for i in read_status_inquiries(segments)] == ["CLAIM-A", "CLAIM-B"]
