"""The clearinghouse adapter against the real sandbox clearinghouse over HTTP; the sandbox world is the truth.

Round trips per payer and outcome, eligibility benefits to the cent, and every fault the sandbox can
inject ending in the right type of the error taxonomy, with no PHI and no API key in any message.
Answers the sandbox never sends (not X12, a claim missing, a malformed loop) come from a proxy that
forwards to the sandbox and tampers with what comes back.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bots.live import check_with_retry
from claims.models import Benefit, Patient
from claims.phi import MASK, scrub_secrets, scrub_text
from claims.status import ClaimStatus
from portal_adapters.clearinghouse import ClearinghouseAdapter
from portal_adapters.contract import ClaimCheckFailed, ClaimOutcome, ClaimQuery, ClaimStatusResult, EligibilityQuery
from portal_adapters.credentials import CredentialsError
from portal_adapters.errors import (
    AdapterError,
    AuthenticationFailed,
    ErrorKind,
    LayoutChanged,
    PortalUnavailable,
    RateLimited,
    Reason,
)
from portal_adapters.factory import clearinghouse_adapter
from portal_adapters.retry import RetryPolicy
from sandbox.accounts import CLEARINGHOUSE_API_KEY, ServerName
from sandbox.codes import Outcome
from sandbox.dataset import load_world
from sandbox.models import SandboxClaim
from sandbox.servers import SandboxEndpoints
from sandbox.testing import SandboxAdmin, reset_all
from tests.portals import PAYERS, claims_of, eligibility_query, expected_status, one_per_outcome, query

WORLD = load_world()
PAID = {
    payer: claims_of(payer, lambda c: c.payer is not None and c.payer.outcome == Outcome.PAID)[:2] for payer in PAYERS
}


@pytest.fixture(autouse=True)
def _clean(sandbox: SandboxEndpoints) -> None:
    reset_all(sandbox)


def set_faults(sandbox: SandboxEndpoints, **faults: Any) -> None:
    with SandboxAdmin(sandbox[ServerName.CLEARINGHOUSE]) as admin:
        admin.set_faults(**faults)


@asynccontextmanager
async def clearinghouse(
    sandbox: SandboxEndpoints, payer: str = "SUNRISE", api_key: str = CLEARINGHOUSE_API_KEY, **options: Any
) -> AsyncIterator[ClearinghouseAdapter]:
    adapter = ClearinghouseAdapter(payer, sandbox.url(ServerName.CLEARINGHOUSE), SecretStr(api_key), **options)
    try:
        yield adapter
    finally:
        await adapter.close()


def assert_no_phi(message: str, patients: list[Patient]) -> None:
    assert scrub_text(message, patients) == message, message
    assert CLEARINGHOUSE_API_KEY not in message


def patients_of(queries: list[ClaimQuery]) -> list[Patient]:
    return [q.patient for q in queries]


def failures(outcomes: list[ClaimOutcome]) -> list[ClaimCheckFailed]:
    assert all(isinstance(o, ClaimCheckFailed) for o in outcomes), outcomes
    return [o for o in outcomes if isinstance(o, ClaimCheckFailed)]


# --- claim status ---------------------------------------------------------------------------------


@pytest.mark.parametrize("payer", PAYERS)
async def test_status_of_each_outcome_matches_the_payers_record(sandbox: SandboxEndpoints, payer: str) -> None:
    claims = one_per_outcome(payer)
    async with clearinghouse(sandbox, payer) as adapter:
        outcomes = await adapter.check_claims([query(c) for c in claims])
    assert len(claims) == 7  # six outcomes and a claim the payer never received
    for claim, result in zip(claims, outcomes, strict=True):
        assert isinstance(result, ClaimStatusResult), result
        # Partially paid comes through: the 277 says F1 with paid < billed, and its SVC loop marks
        # the denied line F2, which is what tells it apart from a claim paid in full.
        assert result.status is expected_status(claim), claim.claim_id
        assert (result.claim_id, result.payer_id, result.route, result.evidence_ref) == (
            claim.claim_id,
            payer,
            "api",
            None,
        )
        assert result.billed_amount == claim.billed_amount
        record = claim.payer
        if record is None:
            assert (result.category_code, result.status_code, result.paid_amount) == ("A4", "35", None)
            continue
        assert (result.category_code, result.status_code) == (record.category_code, record.status_code)
        assert result.payer_claim_number == record.payer_claim_number
        assert result.payer_status_text
        if record.payment is None:  # not finalized: the 277 carries no money yet
            assert result.paid_amount is None
        else:
            assert result.paid_amount == record.paid
        if record.payment is not None and record.paid > 0:
            assert (result.check_number, result.payment_date) == (
                record.payment.trace_number,
                record.payment.payment_date,
            )


async def test_claim_the_payer_never_got_is_a_not_found_result(sandbox: SandboxEndpoints) -> None:
    missing = claims_of("MERIDIAN", lambda c: c.payer is None)[:2]
    async with clearinghouse(sandbox, "MERIDIAN") as adapter:
        outcomes = await adapter.check_claims([query(c) for c in missing])
    for result in outcomes:
        assert isinstance(result, ClaimStatusResult)
        assert result.status is ClaimStatus.NOT_FOUND
        assert result.payer_status_text == "Not found; Claim or encounter not found"


async def test_a_claim_that_cannot_be_written_fails_alone(sandbox: SandboxEndpoints) -> None:
    good = query(PAID["SUNRISE"][0])
    patient = good.patient.model_copy(update={"member_id": "SUN*1234"})  # '*' is the element separator
    bad = good.model_copy(update={"claim_id": "C-BAD", "patient": patient})
    async with clearinghouse(sandbox) as adapter:
        failed, answered = await adapter.check_claims([bad, good])
    assert isinstance(failed, ClaimCheckFailed)
    assert failed.kind is ErrorKind.BAD_CLAIM_DATA
    assert failed.reason in (Reason.CANNOT_WRITE_X12, Reason.REQUEST_REFUSED)
    assert_no_phi(failed.message, [patient])
    assert isinstance(answered, ClaimStatusResult)
    assert answered.status is ClaimStatus.PAID


async def test_requests_are_bounded_by_max_concurrent(sandbox: SandboxEndpoints) -> None:
    set_faults(sandbox, latency_ms=200)
    claims = claims_of("KEYSTONE", lambda c: c.payer is not None)[:4]
    async with clearinghouse(sandbox, "KEYSTONE", max_concurrent=2) as adapter:
        started = time.perf_counter()
        outcomes = await adapter.check_claims([query(c) for c in claims])
        took = time.perf_counter() - started
    assert all(isinstance(o, ClaimStatusResult) and o.elapsed_ms >= 200 for o in outcomes)
    assert took >= 0.4  # two rounds of two


# --- eligibility ----------------------------------------------------------------------------------


def member_claim(payer: str, active: bool) -> SandboxClaim:
    records = WORLD.eligibility_by_member
    return next(
        c
        for c in claims_of(payer)
        if c.patient.member_id in records and records[c.patient.member_id].is_active_on(WORLD.reference_date) is active
    )


@pytest.mark.parametrize("payer", PAYERS)
async def test_eligibility_benefits_match_the_world(sandbox: SandboxEndpoints, payer: str) -> None:
    claim = member_claim(payer, active=True)
    truth = WORLD.eligibility_by_member[claim.patient.member_id]
    async with clearinghouse(sandbox, payer) as adapter:
        result = await adapter.check_eligibility(eligibility_query(claim))
    assert (result.found, result.active, result.rejection_code, result.route) == (True, True, None, "api")
    assert result.plan_name == truth.plan_name
    expected = [
        Benefit(kind="coinsurance", service_type="30", percent=truth.coinsurance_percent),
        Benefit(kind="deductible", service_type="30", amount=truth.deductible, remaining=truth.deductible_remaining),
    ]
    if truth.copay > 0:
        expected.append(Benefit(kind="copay", service_type="30", amount=truth.copay))
    if truth.out_of_pocket_max is not None:
        expected.append(
            Benefit(
                kind="out_of_pocket",
                service_type="30",
                amount=truth.out_of_pocket_max,
                remaining=truth.out_of_pocket_remaining,
            )
        )
    assert sorted(result.benefits, key=lambda b: b.kind) == sorted(expected, key=lambda b: b.kind)


async def test_ended_coverage_is_found_but_inactive(sandbox: SandboxEndpoints) -> None:
    claim = member_claim("SUNRISE", active=False)
    async with clearinghouse(sandbox) as adapter:
        result = await adapter.check_eligibility(eligibility_query(claim))
    assert (result.found, result.active, result.benefits) == (True, False, ())
    assert result.plan_name == WORLD.eligibility_by_member[claim.patient.member_id].plan_name


def with_patient(asked: EligibilityQuery, **changes: Any) -> EligibilityQuery:
    return asked.model_copy(update={"patient": asked.patient.model_copy(update=changes)})


async def test_unknown_member_and_wrong_birth_date_are_rejections_not_errors(sandbox: SandboxEndpoints) -> None:
    asked = eligibility_query(member_claim("MERIDIAN", active=True))
    async with clearinghouse(sandbox, "MERIDIAN") as adapter:
        unknown = await adapter.check_eligibility(with_patient(asked, member_id="MER000000000"))
        wrong_dob = await adapter.check_eligibility(with_patient(asked, date_of_birth=date(1901, 1, 1)))
    assert (unknown.found, unknown.active, unknown.rejection_code) == (False, False, "75")
    assert (wrong_dob.found, wrong_dob.active, wrong_dob.rejection_code) == (False, False, "71")


# --- errors ---------------------------------------------------------------------------------------


async def test_payer_down_is_retryable_for_that_payer_only(sandbox: SandboxEndpoints) -> None:
    set_faults(sandbox, payers_down=["SUNRISE"])
    queries = [query(c) for c in PAID["SUNRISE"]]
    async with clearinghouse(sandbox, "SUNRISE") as adapter:
        down = failures(await adapter.check_claims(queries))
        with pytest.raises(PortalUnavailable) as raised:
            await adapter.check_eligibility(eligibility_query(PAID["SUNRISE"][0]))
    assert [f.kind for f in down] == [ErrorKind.PORTAL_UNAVAILABLE] * 2
    assert all(f.reason is Reason.PAYER_COULD_NOT_ANSWER and "code E1" in f.message for f in down)
    assert (raised.value.reason, raised.value.code) == (Reason.PAYER_COULD_NOT_ANSWER, "42")
    for message in [raised.value.message, *(f.message for f in down)]:
        assert_no_phi(message, patients_of(queries))
    async with clearinghouse(sandbox, "KEYSTONE") as adapter:
        [up] = await adapter.check_claims([query(PAID["KEYSTONE"][0])])
    assert isinstance(up, ClaimStatusResult)


async def test_wrong_api_key_stops_the_payer(sandbox: SandboxEndpoints) -> None:
    wrong = "not-the-sandbox-key"
    queries = [query(c) for c in PAID["SUNRISE"]]
    async with clearinghouse(sandbox, api_key=wrong) as adapter:
        with pytest.raises(AuthenticationFailed) as status_error:
            await adapter.check_claims(queries)
        with pytest.raises(AuthenticationFailed) as eligibility_error:
            await adapter.check_eligibility(eligibility_query(PAID["SUNRISE"][0]))
    for error in (status_error.value, eligibility_error.value):
        assert error.stops_payer
        assert wrong not in str(error)
        assert_no_phi(str(error), patients_of(queries))
    assert scrub_secrets(f"key {wrong}") == f"key {MASK}"  # registered with the log redactor


@pytest.mark.parametrize("error_status", [500, 503])
async def test_server_errors_fail_each_claim_retryably_and_raise_for_eligibility(
    sandbox: SandboxEndpoints, error_status: int
) -> None:
    set_faults(sandbox, error_rate=1.0, error_status=error_status)
    queries = [query(c) for c in PAID["MERIDIAN"]]
    async with clearinghouse(sandbox, "MERIDIAN") as adapter:
        failed = failures(await adapter.check_claims(queries))
        with pytest.raises(PortalUnavailable) as raised:
            await adapter.check_eligibility(eligibility_query(PAID["MERIDIAN"][0]))

        async def recover(_: float) -> None:
            set_faults(sandbox, error_rate=0.0)

        retried = await check_with_retry(adapter, queries, RetryPolicy(), sleep=recover)
    assert [f.kind for f in failed] == [ErrorKind.PORTAL_UNAVAILABLE] * 2
    assert failed[0].reason is Reason.CLEARINGHOUSE_FAILED
    assert f"HTTP {error_status}" in failed[0].message
    assert (raised.value.reason, raised.value.http_status) == (Reason.CLEARINGHOUSE_FAILED, error_status)
    assert type(raised.value) is PortalUnavailable
    assert [r.status for r in retried if isinstance(r, ClaimStatusResult)] == [ClaimStatus.PAID] * 2


async def test_timeout_is_unavailable_not_a_hang(sandbox: SandboxEndpoints) -> None:
    set_faults(sandbox, latency_ms=800)
    queries = [query(c) for c in PAID["KEYSTONE"]]
    async with clearinghouse(sandbox, "KEYSTONE", timeout_s=0.3) as adapter:
        started = time.perf_counter()
        failed = failures(await adapter.check_claims(queries))
        with pytest.raises(PortalUnavailable) as raised:
            await adapter.check_eligibility(eligibility_query(PAID["KEYSTONE"][0]))
        took = time.perf_counter() - started
    assert [f.kind for f in failed] == [ErrorKind.PORTAL_UNAVAILABLE] * 2
    assert failed[0].reason is Reason.CLEARINGHOUSE_TIMEOUT
    assert raised.value.reason is Reason.CLEARINGHOUSE_TIMEOUT
    assert isinstance(raised.value.__cause__, httpx.TimeoutException)
    assert took < 1.2  # two waits of 0.3 s, never the 0.8 s latency
    assert_no_phi(raised.value.message, patients_of(queries))


async def test_rate_limit_is_raised_with_retry_after(sandbox: SandboxEndpoints) -> None:
    set_faults(sandbox, rate_limit_requests=1, rate_limit_window_s=30)
    queries = [query(c) for c in PAID["SUNRISE"]]
    async with clearinghouse(sandbox) as adapter:
        with pytest.raises(RateLimited) as raised:
            await adapter.check_claims(queries)
        with pytest.raises(RateLimited):
            await adapter.check_eligibility(eligibility_query(PAID["SUNRISE"][0]))
    assert raised.value.retryable
    assert raised.value.retry_after_s == 30
    assert_no_phi(raised.value.message, patients_of(queries))


# --- answers the sandbox never sends --------------------------------------------------------------

Tamper = Callable[[httpx.Response, str], httpx.Response]


def with_payload(change: Callable[[str, str], str]) -> Tamper:
    """Rewrite the X12 payload of the envelope (given the claim id asked about)."""

    def tamper(answer: httpx.Response, claim_id: str) -> httpx.Response:
        body = answer.json()
        body["payload"] = change(body["payload"], claim_id)
        return httpx.Response(answer.status_code, json=body)

    return tamper


def html_page(answer: httpx.Response, _: str) -> httpx.Response:
    return httpx.Response(200, text="<html><body>Gateway says hello</body></html>")


TAMPERED: dict[str, tuple[Tamper, ErrorKind, bool]] = {
    # name: (tampering, kind, raised: True = the answer as a whole is broken, stop the payer)
    "not_json": (html_page, ErrorKind.LAYOUT_CHANGED, True),
    "not_x12": (with_payload(lambda _, __: "this is not X12"), ErrorKind.LAYOUT_CHANGED, True),
    # (a wrong SE count alone is a warning now: the set still reads, so a missing SE is the broken case)
    "transaction_set_truncated": (
        with_payload(lambda x12, _: re.sub(r"SE\*\d+\*[^~]*~", "", x12)),
        ErrorKind.LAYOUT_CHANGED,
        True,
    ),
    "other_claim_answered": (
        with_payload(lambda x12, claim_id: x12.replace(f"TRN*2*{claim_id}~", "TRN*2*SOMEONE-ELSE~")),
        ErrorKind.LAYOUT_CHANGED,
        False,
    ),
    "claim_amount_garbled": (
        with_payload(lambda x12, _: re.sub(r"(STC\*[^*~]+\*\d{8}\*\*)\d+", r"\g<1>4O9", x12, count=1)),
        ErrorKind.LAYOUT_CHANGED,
        False,
    ),
}


@asynccontextmanager
async def tampering_client(tamper: Tamper, claim_id: str) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client whose requests reach the sandbox and whose answers are tampered with."""
    async with httpx.AsyncClient() as upstream:

        async def forward(request: httpx.Request) -> httpx.Response:
            answer = await upstream.send(request)
            await answer.aread()
            return tamper(answer, claim_id)

        async with httpx.AsyncClient(transport=httpx.MockTransport(forward)) as client:
            yield client


@pytest.mark.parametrize("case", TAMPERED)
async def test_answers_claimbot_cannot_read(sandbox: SandboxEndpoints, case: str) -> None:
    tamper, kind, raised = TAMPERED[case]
    asked = query(PAID["SUNRISE"][0])
    async with tampering_client(tamper, asked.claim_id) as client, clearinghouse(sandbox, client=client) as adapter:
        if raised:
            with pytest.raises(AdapterError) as error:
                await adapter.check_claims([asked])
            assert (error.value.kind, error.value.stops_payer) == (kind, True)
            message = error.value.message
        else:
            [failed] = failures(await adapter.check_claims([asked]))
            assert failed.kind is kind
            message = failed.message
        assert not client.is_closed  # a shared client belongs to whoever gave it
    assert_no_phi(message, [asked.patient])


async def test_layout_changed_type_for_unreadable_eligibility(sandbox: SandboxEndpoints) -> None:
    asked = eligibility_query(PAID["SUNRISE"][0])
    async with tampering_client(html_page, "") as client, clearinghouse(sandbox, client=client) as adapter:
        with pytest.raises(LayoutChanged):
            await adapter.check_eligibility(asked)


@pytest.mark.parametrize("url", ["https://user:s3cret@ch.example", "ftp://ch.example", "https://ch.example/?k=s3cret"])
def test_a_bad_clearinghouse_address_is_a_config_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("CLAIMBOT_CLEARINGHOUSE_URL", url)
    monkeypatch.setenv("CLAIMBOT_CLEARINGHOUSE_API_KEY", "k")
    with pytest.raises(CredentialsError) as caught:
        clearinghouse_adapter("SUNRISE", None)
    assert "CLAIMBOT_CLEARINGHOUSE_URL" in str(caught.value)
    assert url not in str(caught.value) and "s3cret" not in str(caught.value)
