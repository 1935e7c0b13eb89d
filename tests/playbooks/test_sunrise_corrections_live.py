"""Corrected claims through SUNRISE's form, in real headless Chromium against the sandbox portal.

The sandbox's corrections book is the ground truth of what the payer received: a dry run must leave
it empty, a real submit must put exactly one correction in it, and the next look-up on the same
adapter must see what the payer made of it. The claim is the first one SUNRISE denied for its
rendering NPI (CO-16 / N290), corrected with another of the practice's clinicians.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from claims.models import Claim, FrequencyCode, Patient, ServiceLine
from claims.status import ClaimStatus
from edi.writers import corrected_submission
from portal_adapters.contract import AcknowledgmentState, ClaimStatusResult, CorrectionRequest
from portal_adapters.engine import PlaybookPortalAdapter
from portal_adapters.errors import BadClaimData, LayoutChanged, Reason
from portal_adapters.evidence import EvidenceStore
from portal_adapters.playbook import load_playbook
from sandbox.accounts import ServerName
from sandbox.dataset import load_world
from sandbox.exports import claim_submission, submissions_837_text
from sandbox.models import SandboxClaim
from sandbox.servers import SandboxEndpoints
from sandbox.testing import SandboxAdmin, reset_all
from tests.playbooks.sunrise.correction_pages import WRONG_ORIGINAL, corrected_claim, corrected_npi
from tests.portals import REPO, account, open_adapter, query

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _forget_corrections(sandbox: SandboxEndpoints) -> Iterator[None]:
    """The sandbox is shared by the session: what these tests correct must not outlive them."""
    yield
    reset_all(sandbox)


def corrections(sandbox: SandboxEndpoints) -> list[dict[str, Any]]:
    """What the payers received (GET /__admin/corrections): the same book on every server."""
    answer = httpx.get(sandbox[ServerName.SUNRISE].admin_url + "/corrections", timeout=10)
    answer.raise_for_status()
    entries: list[dict[str, Any]] = answer.json()
    return entries


def posts_to_the_form(sandbox: SandboxEndpoints) -> int:
    with SandboxAdmin(sandbox[ServerName.SUNRISE]) as admin:
        return sum(1 for e in admin.requests() if e.method == "POST" and e.path.endswith("/correct"))


def as_billed(claim: SandboxClaim, **changes: Any) -> Claim:
    """The sandbox claim as the ledger holds it, with the specialist's changes."""
    p = claim.patient
    lines = tuple(
        ServiceLine(
            line_number=line.line_number,
            procedure_code=line.procedure_code,
            modifiers=line.modifiers,
            units=Decimal(line.units),
            charge=line.charge,
            service_date_from=line.service_date_from,
            service_date_to=line.service_date_to,
            diagnosis_pointers=line.diagnosis_pointers,
        )
        for line in claim.lines
    )
    fields: dict[str, Any] = {
        "claim_id": claim.claim_id,
        "payer_id": claim.payer_id,
        "patient": Patient(last_name=p.last_name, first_name=p.first_name, date_of_birth=p.dob, member_id=p.member_id),
        "rendering_npi": claim.rendering_npi,
        "diagnosis_codes": claim.diagnosis_codes,
        "lines": lines,
        "place_of_service": claim.place_of_service,
        "submitted_date": claim.submitted_date,
    }
    return Claim(**(fields | changes))


def correction(
    claim: SandboxClaim, *, original: str | None = None, frequency: FrequencyCode = FrequencyCode.REPLACEMENT
) -> CorrectionRequest:
    """The claim with its rendering NPI corrected, as a 7 (or 8) of the payer's claim number."""
    assert claim.payer is not None and claim.payer.payer_claim_number
    number = original or claim.payer.payer_claim_number
    npi = corrected_npi(claim)
    sent = claim.model_copy(update={"rendering_npi": npi})
    submission = corrected_submission(
        claim_submission(sent, load_world()), number, void=frequency is FrequencyCode.VOID
    )
    return CorrectionRequest(
        query=query(claim),
        claim=as_billed(claim, rendering_npi=npi, frequency_code=frequency),
        frequency_code=frequency,
        payer_claim_number=number,
        x12=submissions_837_text(load_world(), [submission]),
        reason="Rendering provider corrected",
    )


async def test_dry_run_fills_the_form_and_sends_nothing(sandbox: SandboxEndpoints, tmp_path: Path) -> None:
    claim = corrected_claim()
    async with open_adapter(sandbox, "SUNRISE", tmp_path) as adapter:
        receipt = await adapter.submit_correction(correction(claim), dry_run=True)
    assert (receipt.submitted, receipt.confirmation_number, receipt.payer_claim_number) == (False, None, None)
    assert receipt.evidence_ref is not None
    filled = (tmp_path / f"{receipt.evidence_ref}.html").read_text("utf-8")
    assert f'id="review-npi">{corrected_npi(claim)}<' in filled  # the form went through with the new NPI
    assert 'id="correction-submit"' in filled  # and stopped at the final submit
    assert corrections(sandbox) == []
    assert posts_to_the_form(sandbox) == 1  # the review only, never the submit


async def test_a_submit_is_taken_and_the_next_check_sees_what_the_payer_made_of_it(
    sandbox: SandboxEndpoints, tmp_path: Path
) -> None:
    claim = corrected_claim()
    assert claim.payer is not None
    async with open_adapter(sandbox, "SUNRISE", tmp_path) as adapter:
        receipt = await adapter.submit_correction(correction(claim))
        [after] = await adapter.check_claims([query(claim)])
    assert receipt.submitted and receipt.acknowledgment is AcknowledgmentState.ACCEPTED
    [taken] = corrections(sandbox)
    assert (receipt.confirmation_number, receipt.payer_claim_number) == (
        taken["confirmation_number"],
        taken["payer_claim_number"],
    )
    assert receipt.payer_claim_number != claim.payer.payer_claim_number
    assert receipt.evidence_ref is not None
    assert "correction-confirmation" in (tmp_path / f"{receipt.evidence_ref}.html").read_text("utf-8")
    assert isinstance(after, ClaimStatusResult)
    assert after.status is ClaimStatus.PAID  # the NPI was what the denial was about
    assert after.payer_claim_number == receipt.payer_claim_number
    assert after.paid_amount is not None and after.paid_amount > 0
    assert after.denials == () or all(not d.needs_work for d in after.denials)


async def test_a_wrong_original_claim_number_is_refused_with_evidence(
    sandbox: SandboxEndpoints, tmp_path: Path
) -> None:
    claim = corrected_claim()
    async with open_adapter(sandbox, "SUNRISE", tmp_path) as adapter:
        with pytest.raises(BadClaimData) as refused:
            await adapter.submit_correction(correction(claim, original=WRONG_ORIGINAL))
    assert refused.value.reason is Reason.CORRECTION_ORIGINAL_UNKNOWN
    assert refused.value.claim_id == claim.claim_id
    assert refused.value.evidence_ref is not None
    assert "A7:464" in (tmp_path / f"{refused.value.evidence_ref}.html").read_text("utf-8")
    assert claim.patient.last_name.upper() not in str(refused.value).upper()
    assert corrections(sandbox) == []


async def test_a_second_correction_while_the_first_is_in_process_is_a_duplicate(
    sandbox: SandboxEndpoints, tmp_path: Path
) -> None:
    claim = corrected_claim()
    with SandboxAdmin(sandbox[ServerName.SUNRISE]) as admin:
        admin.set_faults(correction_delay_s=300)
    async with open_adapter(sandbox, "SUNRISE", tmp_path) as adapter:
        receipt = await adapter.submit_correction(correction(claim))
        [pending] = await adapter.check_claims([query(claim)])
        assert isinstance(pending, ClaimStatusResult)
        assert (pending.status, pending.category_code) == (ClaimStatus.PENDING, "P1")
        assert pending.payer_claim_number == receipt.payer_claim_number
        assert receipt.payer_claim_number is not None
        for number in (receipt.payer_claim_number, None):  # the new number, then the one it replaced
            with pytest.raises(BadClaimData) as refused:
                await adapter.submit_correction(correction(claim, original=number))
            assert refused.value.reason is Reason.CORRECTION_DUPLICATE
            assert refused.value.evidence_ref is not None
    assert len(corrections(sandbox)) == 1


async def test_a_void_is_finalized_with_nothing_paid(sandbox: SandboxEndpoints, tmp_path: Path) -> None:
    claim = corrected_claim()
    async with open_adapter(sandbox, "SUNRISE", tmp_path) as adapter:
        receipt = await adapter.submit_correction(correction(claim, frequency=FrequencyCode.VOID))
        [after] = await adapter.check_claims([query(claim)])
    assert receipt.submitted
    assert isinstance(after, ClaimStatusResult)
    assert (after.status, after.category_code, after.status_code) == (ClaimStatus.FINALIZED, "F0", "686")
    assert after.paid_amount == Decimal("0.00")


async def test_a_portal_without_a_corrected_claim_task_takes_no_corrections(
    sandbox: SandboxEndpoints, tmp_path: Path
) -> None:
    playbook = load_playbook(REPO / "playbooks" / "sunrise" / "playbook.yaml")
    adapter = PlaybookPortalAdapter(
        playbook.model_copy(update={"corrected_claim": None}),
        [account("SUNRISE")],
        EvidenceStore(tmp_path),
        base_url=sandbox[ServerName.SUNRISE].base_url,
    )
    with pytest.raises(BadClaimData) as refused:
        await adapter.submit_correction(correction(corrected_claim()))
    assert refused.value.reason is Reason.NO_CORRECTION_TASK
    assert adapter.sessions == []  # refused before a browser was started or anyone signed in
    assert corrections(sandbox) == []


async def test_a_submit_the_portal_never_confirms_is_unconfirmed_and_not_sent_again(
    sandbox: SandboxEndpoints, tmp_path: Path
) -> None:
    sunrise = load_playbook(REPO / "playbooks" / "sunrise" / "playbook.yaml")
    assert sunrise.corrected_claim is not None
    lost = sunrise.model_copy(  # the confirmation page moved: the engine cannot tell it was taken
        update={"corrected_claim": sunrise.corrected_claim.model_copy(update={"done_when": "#moved-confirmation"})}
    )
    path = tmp_path / "sunrise" / "playbook.yaml"
    path.parent.mkdir()
    path.write_text(lost.model_dump_json())  # JSON is YAML: the loader checks it like any playbook
    async with open_adapter(sandbox, "SUNRISE", tmp_path, playbook_path=path) as adapter:
        with pytest.raises(LayoutChanged) as unconfirmed:
            await adapter.submit_correction(correction(corrected_claim()))
    assert unconfirmed.value.reason is Reason.CORRECTION_UNCONFIRMED
    assert unconfirmed.value.stops_payer and not unconfirmed.value.retryable
    assert unconfirmed.value.evidence_ref is not None
    assert len(corrections(sandbox)) == 1  # it was sent, once: a person looks before it goes again
