"""`LedgerWriter.record_answers` (the bulk path of `edi import`) records what the one-by-one path
records: the same rows, the same events with the same dedupe keys, nothing twice on a retry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from claims.ledger import Ledger, upgrade
from claims.models import AdjustmentGroup, CheckSource, Denial, Payment, StatusCheck
from claims.payer_config import load_payers
from claims.status import ClaimStatus
from tests.factories import make_claim

REPO = Path(__file__).resolve().parents[3]
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def _check(claim_id: str, status: ClaimStatus, key: str, days: int, **fields: Any) -> StatusCheck:
    return StatusCheck(
        claim_id=claim_id,
        source=CheckSource.EDI,
        status=status,
        checked_at=T0 + timedelta(days=days),
        dedupe_key=key,
        **fields,
    )


def _answers() -> list[StatusCheck | Payment]:
    denial = Denial(group=AdjustmentGroup.CO, carc="50", amount=Decimal("143.50"))
    return [
        _check("B1", ClaimStatus.PENDING, "k1", 0),
        _check("B1", ClaimStatus.PENDING, "k2", 1),  # same status: no event
        _check("B1", ClaimStatus.DENIED, "k3", 2, denials=(denial,), paid_amount=Decimal("0.00")),
        _check("B1", ClaimStatus.PAID, "k3", 3),  # same key as before in the batch: a duplicate
        _check("B1", ClaimStatus.PENDING, "k4", 4, effective_at=T0 - timedelta(days=9)),  # old news: no event
        _check("B2", ClaimStatus.UNAVAILABLE, "k5", 0),  # uninformative: no event
        _check("B2", ClaimStatus.PAID, "k6", 1, paid_amount=Decimal("80.00")),
        Payment(claim_id="B2", amount=Decimal("80.00"), dedupe_key="p1"),
        Payment(claim_id="B2", amount=Decimal("80.00"), dedupe_key="p1"),
        _check("NOPE", ClaimStatus.PAID, "k7", 0),  # not in the ledger
        Payment(claim_id="NOPE", amount=Decimal("1.00"), dedupe_key="p2"),
    ]


def _ledger(path: Path) -> Ledger:
    url = f"sqlite:///{path}"
    upgrade(url)
    ledger = Ledger.connect(url)
    ledger.sync_payers(load_payers(REPO / "config" / "payers.yaml"))
    with ledger.writer() as writer:
        writer.upsert_claims([make_claim("B1"), make_claim("B2", payer_id="MERIDIAN")])
    ledger.record_status_check(_check("B2", ClaimStatus.PENDING, "k0", -5))  # a history before the batch
    return ledger


def _what_is_recorded(ledger: Ledger) -> Any:
    events = [(e.kind, e.claim_id, e.payer_id, e.dedupe_key, e.payload) for e in ledger.events()]
    history = {c: [(h.status, h.dedupe_key, h.denials) for h in ledger.history(c)] for c in ("B1", "B2")}
    payments = [(p.amount, p.dedupe_key) for p in ledger.payments("B2")]
    statuses = [ledger.current_status(c) for c in ("B1", "B2")]
    return events, history, payments, statuses


def test_a_batch_records_what_the_answers_one_by_one_record(tmp_path: Path) -> None:
    one_by_one, batched = _ledger(tmp_path / "one.db"), _ledger(tmp_path / "batch.db")
    expected = []
    for answer in _answers():
        with one_by_one.writer() as writer:
            try:
                recorded = (
                    writer.record_status_check(answer)
                    if isinstance(answer, StatusCheck)
                    else writer.record_payment(answer)
                )
                expected.append("recorded" if recorded else "duplicate")
            except LookupError:
                expected.append("unmatched")
    with batched.writer() as writer:
        outcomes = writer.record_answers(_answers())
    assert outcomes == expected
    assert outcomes.count("recorded") == 7
    assert _what_is_recorded(batched) == _what_is_recorded(one_by_one)
    kinds = [event[0].value for event in _what_is_recorded(batched)[0]]
    assert kinds == ["status_changed", "status_changed", "denied", "paid"]


def test_a_retried_batch_records_nothing_twice(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path / "retry.db")
    with ledger.writer() as writer:
        writer.record_answers(_answers())
    before = _what_is_recorded(ledger)
    with ledger.writer() as writer:
        again = writer.record_answers(_answers())
    assert set(again) == {"duplicate", "unmatched"}
    assert _what_is_recorded(ledger) == before
