"""Two writers with the same key at the same moment, on a real PostgreSQL: both succeed, one row.

Each writer has its own engine and connection, opens its transaction, and waits at a barrier; then
both write the same thing, and each holds its transaction open a moment before committing, so the
second statement meets the first one's uncommitted row (what a select-then-insert gets wrong).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from claims.ledger import Ledger, LedgerWriter, upgrade
from claims.ledger.schema import actions, claims, patients, payers, service_lines, status_checks
from claims.models import Action, ActionOutcome, CheckSource, Payer, PayerKind, StatusCheck
from claims.payer_config import load_payers
from claims.status import ClaimStatus
from tests.conftest import REPO
from tests.factories import make_claim, make_patient

pytestmark = pytest.mark.postgres

WRITERS = 2


@pytest.fixture
def pg_ledger(pg_database_url: str) -> Ledger:
    upgrade(pg_database_url)
    ledger = Ledger.connect(pg_database_url)
    ledger.sync_payers(load_payers(REPO / "config" / "payers.yaml"))
    with ledger.writer() as writer:
        writer.upsert_claims([make_claim("RACE-1")])
    ledger.close()
    return ledger


def race(url: str, write: Callable[[LedgerWriter], object]) -> list[object]:
    """Run `write` in WRITERS threads at once, each in its own transaction on its own connection."""
    barrier = threading.Barrier(WRITERS, timeout=30)
    results: list[object] = [None] * WRITERS

    def writer(index: int) -> None:
        ledger = Ledger.connect(url)
        try:
            with ledger.writer() as w:
                w._conn.execute(sa.text("SELECT 1"))  # the transaction is open before the race starts
                barrier.wait()
                results[index] = write(w)
                time.sleep(0.3)  # hold the row uncommitted while the other writer arrives
        except BaseException as error:
            results[index] = error
        finally:
            ledger.close()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for result in results:
        assert not isinstance(result, BaseException), repr(result)
    return results


def count(url: str, table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one())
    finally:
        engine.dispose()


def test_the_same_status_check_twice_at_once(pg_ledger: Ledger, pg_database_url: str) -> None:
    check = StatusCheck(
        claim_id="RACE-1",
        source=CheckSource.EDI,
        status=ClaimStatus.PAID,
        checked_at=datetime(2026, 10, 2, tzinfo=UTC),
        dedupe_key="edi:race:1",
    )
    inserted = race(pg_database_url, lambda w: w.record_status_check(check))
    assert sorted(inserted, key=bool) == [False, True]
    assert count(pg_database_url, status_checks, status_checks.c.dedupe_key == "edi:race:1") == 1


def test_the_same_action_twice_at_once(pg_ledger: Ledger, pg_database_url: str) -> None:
    action = Action(
        actor="bot", action="claims.resubmit", idempotency_key="resubmit:RACE-1:1", outcome=ActionOutcome.SUCCEEDED
    )
    inserted = race(pg_database_url, lambda w: w.record_action(action))
    assert sorted(inserted, key=bool) == [False, True]
    assert count(pg_database_url, actions, actions.c.idempotency_key == "resubmit:RACE-1:1") == 1


def test_the_same_new_claim_and_patient_twice_at_once(pg_ledger: Ledger, pg_database_url: str) -> None:
    newcomer = make_patient(last_name="Ashgrove", first_name="Tobiah", member_id="SUN55500001")
    claim = make_claim("RACE-NEW", patient=newcomer)
    counts = race(pg_database_url, lambda w: w.upsert_claims([claim]))
    assert sorted((c.created, c.unchanged) for c in counts) == [(0, 1), (1, 0)]  # type: ignore[attr-defined]
    assert count(pg_database_url, patients, patients.c.member_id == "SUN55500001") == 1
    assert count(pg_database_url, claims, claims.c.claim_id == "RACE-NEW") == 1
    pk = sa.select(claims.c.id).where(claims.c.claim_id == "RACE-NEW").scalar_subquery()
    assert count(pg_database_url, service_lines, service_lines.c.claim_pk == pk) == len(claim.lines)


def test_the_same_new_payer_synced_twice_at_once(pg_ledger: Ledger, pg_database_url: str) -> None:
    payer = Payer(id="NEWPAYER", name="New Payer", kind=PayerKind.COMMERCIAL, timely_filing_days=90)
    race(pg_database_url, lambda w: w.sync_payers([payer]))
    assert count(pg_database_url, payers, payers.c.id == "NEWPAYER") == 1
