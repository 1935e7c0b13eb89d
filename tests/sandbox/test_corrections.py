"""The sandbox payers' corrections book: its rules on their own, then across routes (batch 837P in,
real-time 277 and the SUNRISE portal out), over real HTTP with answers read back by `edi`."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from edi.acknowledgment import ImplementationAcknowledgment
from edi.claim_status import ClaimStatusResponse
from edi.remittance import RemittanceAdvice
from edi.writers import corrected_submission
from sandbox.accounts import CLEARINGHOUSE_API_KEY, ServerName
from sandbox.codes import Outcome
from sandbox.corrections import CorrectedLine, CorrectionsBook, CorrectionSubmission
from sandbox.dataset import load_world
from sandbox.exports import claim_submission, submissions_837_text
from sandbox.models import SandboxClaim, ServiceLine
from sandbox.payer_book import PayerBook
from sandbox.servers import SandboxEndpoints
from sandbox.testing import SandboxAdmin, reset_all, sign_in_over_http
from tests.sandbox.conftest import pick_claim
from tests.sandbox.test_clearinghouse import ask_status, read_clean, submit


@pytest.fixture(autouse=True)
def _forget_corrections(sandbox: SandboxEndpoints) -> Iterator[None]:
    yield
    reset_all(sandbox)  # the session's sandbox must not remember these corrections elsewhere


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def sent_lines(lines: tuple[ServiceLine, ...]) -> tuple[CorrectedLine, ...]:
    return tuple(
        CorrectedLine(procedure_code=n.procedure_code, modifiers=n.modifiers, units=n.units, charge=n.charge)
        for n in lines
    )


def as_sent(
    claim: SandboxClaim, frequency: str = "7", original: str | None = None, **changes: object
) -> CorrectionSubmission:
    """The claim as the payer holds it, sent back as a correction with `changes`."""
    assert claim.payer is not None
    fields: dict[str, object] = {
        "payer_id": claim.payer_id,
        "claim_id": claim.claim_id,
        "frequency_code": frequency,
        "original_claim_number": claim.payer.payer_claim_number if original is None else original,
        "lines": sent_lines(claim.lines),
        "diagnosis_codes": claim.diagnosis_codes,
        "rendering_npi": claim.rendering_npi,
    }
    return CorrectionSubmission.model_validate(fields | changes)


def other_npi(claim: SandboxClaim) -> str:
    return next(p.npi for p in load_world().providers if p.npi != claim.rendering_npi)


# --- the rules ---------------------------------------------------------------------------------


def test_an_unknown_or_missing_original_claim_number_is_refused() -> None:
    book = CorrectionsBook(load_world())
    claim = pick_claim("SUNRISE", Outcome.DENIED)
    unknown = book.submit(as_sent(claim, original="SR00000000000"))
    missing = book.submit(as_sent(claim, original=""))
    other = pick_claim("SUNRISE", Outcome.PARTIALLY_PAID).payer
    assert other is not None
    elsewhere = book.submit(as_sent(claim, original=other.payer_claim_number))  # another claim's number
    assert [(v.accepted, v.category_code, v.status_code) for v in (unknown, missing, elsewhere)] == [
        (False, "A7", "464"),
        (False, "A6", "464"),
        (False, "A7", "464"),
    ]
    assert book.entries() == []


def test_claims_in_process_and_paid_claims_are_duplicates() -> None:
    book = CorrectionsBook(load_world())
    pending = book.submit(as_sent(pick_claim("SUNRISE", Outcome.PENDING)))
    paid_claim = pick_claim("SUNRISE", Outcome.PAID)
    paid = book.submit(as_sent(paid_claim, rendering_npi=other_npi(paid_claim)))
    assert (pending.category_code, pending.status_code) == ("A3", "78")
    assert (paid.category_code, paid.status_code) == ("A3", "54")
    assert book.submit(as_sent(paid_claim, frequency="8")).accepted  # a paid claim may be voided


def test_an_accepted_replacement_is_pending_until_its_delay_then_paid_at_its_allowed_amounts() -> None:
    world = load_world()
    clock = Clock()
    book = CorrectionsBook(world, clock=clock)
    claim = pick_claim("SUNRISE", Outcome.DENIED)
    verdict = book.submit(as_sent(claim, rendering_npi=other_npi(claim)), delay_s=30)
    assert (verdict.accepted, verdict.category_code, verdict.status_code) == (True, "A2", "20")
    assert verdict.payer_claim_number and verdict.payer_claim_number.startswith("SR")
    pending = book.current(claim).payer
    assert pending is not None
    assert (pending.category_code, pending.status_code, pending.payer_claim_number) == (
        "P1",
        "20",
        verdict.payer_claim_number,
    )
    found = PayerBook(load_world(), "SUNRISE", book).find(verdict.payer_claim_number)  # by its new number
    assert found is not None and found.claim_id == claim.claim_id
    again = book.submit(as_sent(claim, original=verdict.payer_claim_number, rendering_npi=other_npi(claim)))
    assert (again.category_code, again.status_code) == ("A3", "78")  # already corrected and in process
    clock.now = 30
    final = book.current(claim)
    assert final.payer is not None
    assert (final.payer.outcome, final.payer.category_code, final.payer.status_code) == (Outcome.PAID, "F1", "65")
    assert final.rendering_npi == other_npi(claim)
    assert all(line.paid == line.allowed > 0 for line in final.lines)
    assert all(
        line.charge - line.allowed == sum((a.amount for a in line.adjustments), Decimal(0)) for line in final.lines
    )
    stale = book.submit(as_sent(claim, rendering_npi=other_npi(claim)))  # quoting the replaced number
    assert (stale.category_code, stale.status_code) == ("A7", "495")


def test_a_replacement_that_changes_nothing_the_denial_was_about_is_denied_again() -> None:
    book = CorrectionsBook(load_world())
    denied = pick_claim("SUNRISE", Outcome.DENIED)
    book.submit(as_sent(denied))
    identical = book.current(denied)
    assert identical.payer is not None
    assert (identical.payer.category_code, identical.payer.status_code) == ("F2", "54")
    assert {(a.group, a.carc, a.rarc) for a in identical.adjustments} == {("CO", "18", "N522")}

    partly = pick_claim("SUNRISE", Outcome.PARTIALLY_PAID)
    first = partly.lines[0]
    recharged = (first.model_copy(update={"charge": first.charge + 1}),)
    lines = sent_lines(recharged + partly.lines[1:])
    book.submit(as_sent(partly, lines=lines))  # only a paid line's charge changed
    after = book.current(partly)
    assert after.payer is not None
    assert (after.payer.outcome, after.payer.category_code) == (Outcome.PARTIALLY_PAID, "F1")
    assert after.lines[-1].adjustments == partly.lines[-1].adjustments  # the denied line, denied again


def test_a_void_is_finalized_f0_686_with_nothing_paid() -> None:
    book = CorrectionsBook(load_world())
    claim = pick_claim("SUNRISE", Outcome.PARTIALLY_PAID)
    assert book.submit(as_sent(claim, frequency="8")).accepted
    voided = book.current(claim).payer
    assert voided is not None
    assert (voided.outcome, voided.category_code, voided.status_code, voided.paid) == (
        Outcome.VOIDED,
        "F0",
        "686",
        Decimal("0.00"),
    )
    stale = book.submit(as_sent(claim, frequency="8"))  # the number the void replaced
    assert (stale.category_code, stale.status_code) == ("A7", "495")
    refused = book.submit(as_sent(claim, original=voided.payer_claim_number))
    assert (refused.category_code, refused.status_code) == ("A3", "54")


def test_the_same_correction_from_many_threads_is_taken_once() -> None:
    book = CorrectionsBook(load_world())
    claim = pick_claim("SUNRISE", Outcome.DENIED)
    sent = as_sent(claim, rendering_npi=other_npi(claim))
    verdicts = []
    threads = [threading.Thread(target=lambda: verdicts.append(book.submit(sent, delay_s=60))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(v.accepted for v in verdicts) == 1
    assert {(v.category_code, v.status_code) for v in verdicts if not v.accepted} == {("A3", "78")}
    book.clear()
    assert book.entries() == [] and book.current(claim) == claim


# --- across the routes -------------------------------------------------------------------------


@pytest.fixture
def clearinghouse(sandbox: SandboxEndpoints) -> Iterator[httpx.Client]:
    headers = {"X-API-Key": CLEARINGHOUSE_API_KEY}
    with httpx.Client(base_url=sandbox.url(ServerName.CLEARINGHOUSE), headers=headers, timeout=10) as client:
        yield client


def test_a_corrected_claim_in_a_batch_gets_999_and_277ca_and_every_route_sees_it(
    clearinghouse: httpx.Client, sandbox: SandboxEndpoints
) -> None:
    world = load_world()
    claim = pick_claim("SUNRISE", Outcome.DENIED)
    stranger = pick_claim("MERIDIAN", Outcome.DENIED)
    assert claim.payer is not None and claim.payer.payer_claim_number
    fixed = corrected_submission(
        claim_submission(claim.model_copy(update={"rendering_npi": other_npi(claim)}), world),
        claim.payer.payer_claim_number,
    )
    wrong = corrected_submission(claim_submission(stranger, world), "M2026010100000")
    payload = submissions_837_text(world, [fixed, wrong])
    assert "*11:B:7*" in payload and f"REF*F8*{claim.payer.payer_claim_number}~" in payload
    status = submit(clearinghouse, payload)
    assert (status["claims"], status["accepted"], status["rejected"]) == (2, 1, 1)
    files = {f["kind"]: f["url"] for f in status["files"]}
    assert set(files) == {"999", "277CA", "835"}  # final at once (correction_delay_s 0): paid in this batch

    [ack] = read_clean(clearinghouse.get(files["999"]).text).transactions_of(ImplementationAcknowledgment)
    assert ack.group_accepted  # the syntax is fine: the verdicts are the 277CA's
    [answer] = read_clean(clearinghouse.get(files["277CA"]).text).transactions_of(ClaimStatusResponse)
    verdicts = {c.patient_control_number: c for c in answer.claims}
    assert str(verdicts[claim.claim_id].primary_status) == "A2:20"
    new_number = verdicts[claim.claim_id].payer_claim_control_number
    assert new_number and new_number != claim.payer.payer_claim_number
    assert str(verdicts[stranger.claim_id].primary_status) == "A7:464"
    [advice] = read_clean(clearinghouse.get(files["835"]).text).transactions_of(RemittanceAdvice)
    [paid] = advice.claims
    assert (paid.patient_control_number, paid.payer_claim_control_number, paid.status_code) == (
        claim.claim_id,
        new_number,
        "1",
    )
    assert paid.paid is not None and paid.paid > 0
    assert advice.payment is not None and advice.payment.amount == paid.paid

    [later] = ask_status(clearinghouse, [claim]).values()  # real time, by the practice's claim number
    assert str(later.primary_status) == "F1:65"
    assert later.payer_claim_control_number == new_number
    assert later.statuses[0].paid_amount is not None and later.statuses[0].paid_amount > 0

    key = PayerBook(world, "SUNRISE").key_of(claim)
    with httpx.Client(base_url=sandbox.url(ServerName.SUNRISE), timeout=10) as portal:
        sign_in_over_http(portal, ServerName.SUNRISE)
        page = portal.get(f"/claims/{key}").text
    assert '<span class="status-code">F1:65</span>' in page
    assert f'<dd id="payer-claim-number">{new_number}</dd>' in page


def test_reset_forgets_every_correction(clearinghouse: httpx.Client, sandbox: SandboxEndpoints) -> None:
    world = load_world()
    claim = pick_claim("SUNRISE", Outcome.DENIED)
    assert claim.payer is not None
    submission = corrected_submission(claim_submission(claim, world), claim.payer.payer_claim_number, void=True)
    assert submit(clearinghouse, submissions_837_text(world, [submission]))["accepted"] == 1
    with SandboxAdmin(sandbox[ServerName.KEYSTONE]) as admin:  # any server's reset: the book is shared
        assert len(httpx.get(admin.endpoint.admin_url + "/corrections").json()) == 1
        admin.reset()
        assert httpx.get(admin.endpoint.admin_url + "/corrections").json() == []
    [again] = ask_status(clearinghouse, [claim]).values()
    assert str(again.primary_status).startswith(claim.payer.category_code)


def test_sunrise_form_keeps_its_ids_in_layout_2_and_refuses_a_post_without_its_token(
    sandbox: SandboxEndpoints,
) -> None:
    claim = pick_claim("SUNRISE", Outcome.DENIED)
    key = PayerBook(load_world(), "SUNRISE").key_of(claim)
    with (
        httpx.Client(base_url=sandbox.url(ServerName.SUNRISE), timeout=10) as portal,
        SandboxAdmin(sandbox[ServerName.SUNRISE]) as admin,
    ):
        sign_in_over_http(portal, ServerName.SUNRISE)
        admin.set_faults(layout_version=2)
        detail = portal.get(f"/claims/{key}").text
        form = portal.get(f"/claims/{key}/correct").text
        forged = portal.post(f"/claims/{key}/correct", data={"step": "submit", "csrf_token": "forged"})
    assert 'data-layout="2"' in detail and 'id="correct-claim"' in detail
    for element in ('id="correction-form"', 'class="correction-line"', 'id="frequency_code"', 'id="correction-review"'):
        assert element in form
    assert forged.status_code == 400 and 'id="correction-error"' in forged.text
    assert httpx.get(sandbox[ServerName.SUNRISE].admin_url + "/corrections").json() == []
