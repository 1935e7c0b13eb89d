"""What was sent is kept: earlier claim versions survive a changing import, and submissions are
recorded once per idempotency key (SQLite and PostgreSQL, see the `ledger` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from claims.ledger import ClaimNotFoundError, Ledger
from claims.models import FrequencyCode, Submission, SubmissionRoute, SubmissionState
from tests.factories import make_claim


def submission(claim_id: str, key: str, **fields: object) -> Submission:
    values: dict[str, object] = {
        "claim_id": claim_id,
        "claim_version": 1,
        "frequency_code": FrequencyCode.REPLACEMENT,
        "original_payer_claim_number": "ICN-1",
        "route": SubmissionRoute.API,
        "state": SubmissionState.SENDING,
        "requested_by": "cli:dana",
        "idempotency_key": key,
        "changes": {"lines.1.modifiers": "25"},
    }
    values.update(fields)
    return Submission.model_validate(values)


def test_a_changed_import_keeps_the_version_the_payer_received(ledger: Ledger) -> None:
    original = make_claim("V1", payer_claim_number="ICN-1")
    with ledger.writer() as writer:
        writer.upsert_claims([original])
    assert [v.version for v in ledger.claim_versions("V1")] == [1]
    changed = make_claim("V1", payer_claim_number="ICN-1", lines=original.lines[:1])
    with ledger.writer() as writer:
        writer.upsert_claims([changed])
        writer.upsert_claims([changed])  # the same content again is not a new version
    versions = ledger.claim_versions("V1")
    assert [(v.version, v.current) for v in versions] == [(1, False), (2, True)]
    assert versions[0].claim == original and ledger.claim_version("V1", 1) == original
    assert versions[1].claim == changed == ledger.get_claim("V1")
    with pytest.raises(LookupError, match="no version 3"):
        ledger.claim_version("V1", 3)


def test_a_submission_is_recorded_once_per_key_and_moves_through_its_states(ledger: Ledger) -> None:
    with ledger.writer() as writer:
        writer.upsert_claims([make_claim("S1", payer_claim_number="ICN-1")])
    first_id, created = ledger.add_submission(submission("S1", "resubmit:S1:abc"))
    again_id, created_again = ledger.add_submission(submission("S1", "resubmit:S1:abc", reason="clicked twice"))
    assert created and not created_again and again_id == first_id
    sent = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
    ledger.update_submission(
        first_id,
        state=SubmissionState.SENT,
        sent_at=sent,
        interchange_control_number="000000042",
        ack_codes=("999:A",),
    )
    ledger.update_submission(first_id, state=SubmissionState.ACCEPTED, ack_codes=("999:A", "277CA:A2:20"))
    [stored] = ledger.submissions("S1")
    assert stored.state is SubmissionState.ACCEPTED and stored.sent_at == sent
    assert stored.ack_codes == ("999:A", "277CA:A2:20") and stored.changes == {"lines.1.modifiers": "25"}
    assert ledger.submissions(interchange_control_number="000000042") == [stored]
    assert ledger.submission(idempotency_key="resubmit:S1:abc") == stored == ledger.submission(first_id)
    assert ledger.submissions(state=SubmissionState.SENT) == []
    with pytest.raises(ValueError, match="requested_by cannot change"):
        ledger.update_submission(first_id, requested_by="someone else")
    with pytest.raises(ClaimNotFoundError):
        ledger.submissions("NOPE")
