"""ClearinghouseAdapter.submit_correction against the real sandbox clearinghouse: what each answer and
each failure becomes (receipt states and ack codes, the error taxonomy), with no PHI in any message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bots.resubmission import build_837p
from claims.ledger import Ledger
from claims.models import FrequencyCode
from claims.phi import scrub_text
from portal_adapters.clearinghouse import BatchPolling, ClearinghouseAdapter, ClearinghouseIdentity
from portal_adapters.contract import AcknowledgmentState, ClaimQuery, CorrectionRequest
from portal_adapters.errors import AuthenticationFailed, PortalUnavailable, Reason
from sandbox.accounts import CLEARINGHOUSE_API_KEY, ServerName
from sandbox.codes import Outcome
from sandbox.servers import SandboxEndpoints
from sandbox.testing import SandboxAdmin, reset_all
from tests.bots.test_resubmission import CONFIG, below, denied_line, import_some, pick, sent_837s


@pytest.fixture
def correction(sqlite_ledger: Ledger, sandbox: SandboxEndpoints, tmp_path: Path) -> CorrectionRequest:
    """A corrected KEYSTONE claim quoting its payer claim number, as the pipeline builds it."""
    reset_all(sandbox)
    picked = pick("KEYSTONE", Outcome.DENIED, below("900"))
    assert picked.payer is not None and picked.payer.payer_claim_number
    import_some(sqlite_ledger, tmp_path, picked.claim_id)
    claim = sqlite_ledger.get_claim(picked.claim_id)
    line = denied_line(picked) - 1
    changed = claim.lines[line].model_copy(update={"modifiers": ("59",)})
    claim = claim.model_copy(
        update={
            "lines": (*claim.lines[:line], changed, *claim.lines[line + 1 :]),
            "frequency_code": FrequencyCode.REPLACEMENT,
            "payer_claim_number": picked.payer.payer_claim_number,
        }
    )
    keystone = next(p for p in CONFIG.payers if p.id == "KEYSTONE")
    return CorrectionRequest(
        query=ClaimQuery.from_claim(claim),
        claim=claim,
        frequency_code=FrequencyCode.REPLACEMENT,
        payer_claim_number=picked.payer.payer_claim_number,
        x12=build_837p(claim, keystone, ClearinghouseIdentity(), control_number=7),
    )


def adapter(sandbox: SandboxEndpoints, api_key: str = CLEARINGHOUSE_API_KEY, **polling: Any) -> ClearinghouseAdapter:
    waits = {"ack_wait_s": 5.0, "ack_poll_first_s": 0.05, "ack_poll_max_s": 0.2} | polling
    return ClearinghouseAdapter(
        "KEYSTONE", sandbox.url(ServerName.CLEARINGHOUSE), SecretStr(api_key), polling=BatchPolling(**waits)
    )


def faults(sandbox: SandboxEndpoints, **fields: Any) -> None:
    with SandboxAdmin(sandbox[ServerName.CLEARINGHOUSE]) as admin:
        admin.set_faults(**fields)


async def test_accepted_rejected_and_late_acknowledgments(
    correction: CorrectionRequest, sandbox: SandboxEndpoints
) -> None:
    ch, impatient = adapter(sandbox), adapter(sandbox, ack_wait_s=0.5)
    try:
        dry = await ch.submit_correction(correction, dry_run=True)
        assert (dry.submitted, dry.confirmation_number, sent_837s(sandbox)) == (False, None, 0)

        unknown = correction.model_copy(
            update={"x12": correction.x12.replace(f"REF*F8*{correction.payer_claim_number}~", "REF*F8*K000000000~")}
        )
        refused = await ch.submit_correction(unknown)
        assert refused.acknowledgment is AcknowledgmentState.REJECTED
        assert refused.ack_codes[0] == "999:A" and refused.ack_codes[1].startswith("277CA:A7:464")
        assert refused.payer_claim_number is None and refused.confirmation_number

        accepted = await ch.submit_correction(correction)
        assert accepted.acknowledgment is AcknowledgmentState.ACCEPTED, accepted.ack_codes
        assert accepted.ack_codes == ("999:A", "277CA:A2:20") and accepted.payer_claim_number

        faults(sandbox, batch_delay_s=30)  # the 277CA comes long after the wait
        late = await impatient.submit_correction(correction)
        assert (late.submitted, late.acknowledgment, late.ack_codes) == (True, AcknowledgmentState.PENDING, ("999:A",))
    finally:
        await ch.close()
        await impatient.close()
    assert sent_837s(sandbox) == 3


async def test_failures_are_typed_and_name_no_patient(correction: CorrectionRequest, sandbox: SandboxEndpoints) -> None:
    wrong_key, ch = adapter(sandbox, api_key="not-the-key"), adapter(sandbox)
    gone = ClearinghouseAdapter("KEYSTONE", "http://127.0.0.1:9", SecretStr(CLEARINGHOUSE_API_KEY))
    try:
        with pytest.raises(AuthenticationFailed) as refused:
            await wrong_key.submit_correction(correction)
        faults(sandbox, error_rate=1.0, error_status=503)
        with pytest.raises(PortalUnavailable) as down:
            await ch.submit_correction(correction)
        with pytest.raises(PortalUnavailable) as unreachable:
            await gone.submit_correction(correction)
    finally:
        for opened in (wrong_key, ch, gone):
            await opened.close()
    assert (refused.value.reason, down.value.reason, unreachable.value.reason) == (
        Reason.API_KEY_REFUSED,
        Reason.CLEARINGHOUSE_FAILED,
        Reason.CLEARINGHOUSE_UNREACHABLE,
    )
    for error in (refused.value, down.value, unreachable.value):
        assert scrub_text(str(error), [correction.claim.patient]) == str(error)
        assert CLEARINGHOUSE_API_KEY not in str(error) and error.claim_id == correction.claim.claim_id
    assert sent_837s(sandbox) == 0
