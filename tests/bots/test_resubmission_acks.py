"""Acknowledgments that come back as files: `claimbot edi import` of the 999 and the 277CA the sandbox
clearinghouse made for one of our corrected claims moves its submission on (by ISA13 for the 999, by
claim for the 277CA), including one a crash left `sending`."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from bots.resubmission import ResubmissionRequest, ResubmissionState
from claims.edi_intake import import_edi
from claims.ledger import Ledger
from claims.models import SubmissionState
from portal_adapters.clearinghouse import BatchPolling, ClearinghouseAdapter
from sandbox.accounts import CLEARINGHOUSE_API_KEY, ServerName
from sandbox.codes import Outcome
from sandbox.servers import SandboxEndpoints
from sandbox.testing import reset_all
from tests.bots.test_resubmission import SAM, FixedRoutes, below, denied_line, import_some, pick, service


@pytest.fixture
def imported(sqlite_ledger: Ledger, sandbox: SandboxEndpoints, tmp_path: Path) -> Ledger:
    reset_all(sandbox)
    import_some(sqlite_ledger, tmp_path)
    return sqlite_ledger


async def test_a_999_and_a_277ca_imported_later_record_the_submissions_acknowledgment(
    imported: Ledger, sandbox: SandboxEndpoints, tmp_path: Path
) -> None:
    claim = pick("KEYSTONE", Outcome.DENIED, below("900"))
    url = sandbox.url(ServerName.CLEARINGHOUSE)
    impatient = ClearinghouseAdapter(  # does not wait for the acknowledgments at all
        "KEYSTONE", url, SecretStr(CLEARINGHOUSE_API_KEY), polling=BatchPolling(ack_wait_s=0)
    )
    try:
        outcome = await service(imported, FixedRoutes(impatient)).request_resubmission(
            ResubmissionRequest(
                claim_id=claim.claim_id, changes={f"lines.{denied_line(claim)}.modifiers": "59"}, actor=SAM
            )
        )
    finally:
        await impatient.close()
    assert outcome.state is ResubmissionState.SENT, outcome.message
    assert (outcome.submission_state, outcome.ack_codes) == (SubmissionState.SENT, ())
    assert outcome.submission_id is not None and outcome.confirmation_number
    imported.update_submission(outcome.submission_id, state=SubmissionState.SENDING)  # as a crash would leave it

    files = {}
    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": CLEARINGHOUSE_API_KEY}) as client:
        for kind in ("999", "277CA"):
            answer = (await client.get(f"/core/batch/{outcome.confirmation_number}/{kind}")).raise_for_status()
            files[kind] = tmp_path / f"answer.{kind.lower()}"
            files[kind].write_text(answer.text, "utf-8")

    first = import_edi(imported, [files["999"]])
    assert first.submissions_acknowledged == 1
    row = imported.submission(outcome.submission_id)
    assert row is not None and (row.state, row.ack_codes) == (SubmissionState.SENT, ("999:A",))

    second = import_edi(imported, [files["277CA"]])
    assert second.submissions_acknowledged == 1
    row = imported.submission(outcome.submission_id)
    assert row is not None
    assert (row.state, row.ack_codes) == (SubmissionState.ACCEPTED, ("999:A", "277CA:A2:20"))
    assert row.payer_claim_number and row.payer_claim_number != row.original_payer_claim_number

    again = import_edi(imported, [files["999"], files["277CA"]], force=True)
    assert again.submissions_acknowledged == 0  # an acknowledged submission waits for nothing more
