"""Bot runs that die, payer holds, observed vs effective time, and payer text cut to its column:
the same behaviour on SQLite and on a real PostgreSQL (the `ledger` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from claims.importing import import_claims_csv
from claims.ledger import Ledger, PayerHold
from claims.ledger.schema import status_checks
from claims.models import PAYER_TEXT_MAX, TRUNCATED, BotRun, BotRunStatus, CheckSource, StatusCheck, utc_now
from claims.status import ClaimStatus
from tests.factories import claims_csv, make_claim

T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


def _check(claim_id: str, status: ClaimStatus, checked_at: datetime, **fields: object) -> StatusCheck:
    return StatusCheck(claim_id=claim_id, source=CheckSource.EDI, status=status, checked_at=checked_at, **fields)  # type: ignore[arg-type]


def test_an_old_era_recorded_late_does_not_rewind_a_newer_status(ledger: Ledger) -> None:
    with ledger.writer() as writer:
        writer.upsert_claims([make_claim("E1"), make_claim("E2")])
    ledger.record_status_check(_check("E1", ClaimStatus.PENDING, T0, effective_at=T0))
    # Today an ERA produced last month arrives: it was observed later, but it was true earlier.
    last_month = T0 - timedelta(days=30)
    ledger.record_status_check(_check("E1", ClaimStatus.DENIED, T0 + timedelta(days=1), effective_at=last_month))
    assert ledger.current_status("E1") is ClaimStatus.PENDING
    assert ledger.summary("E1").status is ClaimStatus.PENDING
    assert {s.claim_id: s.status for s in ledger.list_claims()}["E1"] is ClaimStatus.PENDING
    # A newer effective date does win, and an answer without one counts from when it was observed.
    ledger.record_status_check(
        _check("E1", ClaimStatus.PAID, T0 + timedelta(days=2), effective_at=T0 + timedelta(hours=1))
    )
    assert ledger.current_status("E1") is ClaimStatus.PAID
    ledger.record_status_check(_check("E2", ClaimStatus.PAID, T0, effective_at=T0 + timedelta(days=5)))
    ledger.record_status_check(_check("E2", ClaimStatus.DENIED, T0 + timedelta(days=4)))
    assert ledger.current_status("E2") is ClaimStatus.PAID
    # Same effective time: the later observation wins, then the later arrival.
    ledger.record_status_check(
        _check("E2", ClaimStatus.PENDING, T0 + timedelta(days=6), effective_at=T0 + timedelta(days=5))
    )
    assert ledger.current_status("E2") is ClaimStatus.PENDING
    history = ledger.history("E1")
    assert [c.effective_at for c in history] == [T0, last_month, T0 + timedelta(hours=1)]


def test_the_single_claim_look_up_walks_the_index(ledger: Ledger) -> None:
    """current_status orders by (status_at, checked_at, id) within one claim: the index's own order."""
    assert [
        c.name for c in next(i for i in status_checks.indexes if i.name == "ix_status_checks_claim_latest").columns
    ] == [
        "claim_pk",
        "status_at",
        "checked_at",
        "id",
    ]
    if ledger.engine.dialect.name != "sqlite":
        return
    with ledger.writer() as writer:
        writer.upsert_claims([make_claim("IX1")])
    with ledger.engine.connect() as conn:
        plan = conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT status FROM status_checks WHERE claim_pk = 1 AND status NOT IN ('unknown') "
            "ORDER BY status_at DESC, checked_at DESC, id DESC LIMIT 1"
        ).all()
    text = " ".join(str(row[-1]) for row in plan)
    assert "ix_status_checks_claim_latest" in text
    assert "TEMP B-TREE" not in text


def test_payer_text_longer_than_its_column_is_stored_cut_with_a_marker(ledger: Ledger) -> None:
    with ledger.writer() as writer:
        writer.upsert_claims([make_claim("LONG1")])
    words = "The claim was reviewed and the following applies. " * 12  # 600 characters
    assert len(words) == 600
    check = _check(
        "LONG1",
        ClaimStatus.DENIED,
        T0,
        payer_status_text=words,
        check_number="9" * 80,
        payer_claim_number="ICN" * 30,
        raw_segment="STC*F2:65*20261001*U*125~" * 100,
    )
    assert len(check.payer_status_text or "") == PAYER_TEXT_MAX
    assert (check.payer_status_text or "").endswith(TRUNCATED)
    assert ledger.record_status_check(check)
    [stored] = ledger.history("LONG1")
    assert stored.payer_status_text == check.payer_status_text
    assert stored.payer_status_text is not None and stored.payer_status_text.startswith("The claim was reviewed")
    assert (
        stored.check_number is not None and len(stored.check_number) == 50 and stored.check_number.endswith(TRUNCATED)
    )
    assert stored.payer_claim_number is not None and len(stored.payer_claim_number) == 50
    assert stored.raw_segment is not None and len(stored.raw_segment) == 2000
    # A stored text round-trips unchanged (cutting again leaves it as it is).
    assert StatusCheck.model_validate(stored.model_dump()).payer_status_text == stored.payer_status_text


def test_a_run_whose_lease_ran_out_is_interrupted_on_the_next_start(ledger: Ledger) -> None:
    with ledger.writer() as writer:
        dead = writer.start_bot_run(BotRun(kind="live_check", payer_id="SUNRISE", trigger="cli"), timedelta(seconds=30))
        alive = writer.start_bot_run(BotRun(kind="live_check", payer_id="MERIDIAN", trigger="cli"), timedelta(hours=1))
        unleased = writer.start_bot_run(BotRun(kind="sweep", trigger="schedule"))  # from before leases existed
        done = writer.start_bot_run(BotRun(kind="live_check", trigger="cli"), timedelta(seconds=30))
        writer.finish_bot_run(done, BotRunStatus.SUCCEEDED, 1, 0, None)
    with ledger.writer() as writer:
        assert writer.interrupt_stale_runs(utc_now() + timedelta(minutes=1)) == 2
    runs = ledger.bot_runs()
    assert runs[dead].status is BotRunStatus.INTERRUPTED
    assert runs[dead].finished_at is not None
    assert runs[unleased].status is BotRunStatus.INTERRUPTED
    assert runs[alive].status is BotRunStatus.RUNNING
    assert runs[done].status is BotRunStatus.SUCCEEDED
    # A heartbeat renews the lease: a renewed run is not taken for dead.
    with ledger.writer() as writer:
        writer.renew_bot_run(alive, timedelta(hours=2), claims_checked=3, errors=1)
        assert writer.interrupt_stale_runs(utc_now() + timedelta(minutes=90)) == 0
    assert (ledger.bot_runs()[alive].claims_checked, ledger.bot_runs()[alive].errors) == (3, 1)
    assert ledger.interrupt_stale_runs() == 0


def test_a_payer_hold_stays_until_cleared_and_one_is_open_at_a_time(ledger: Ledger) -> None:
    hold = PayerHold(payer_id="SUNRISE", kind="auth_failed", reason="sign_in_refused", since=T0, evidence_ref="ev1")
    assert ledger.open_hold("SUNRISE") is None
    assert ledger.hold_payer(hold)
    assert not ledger.hold_payer(hold.model_copy(update={"kind": "account_locked", "since": T0 + timedelta(hours=1)}))
    opened = ledger.open_hold("SUNRISE")
    assert opened is not None and (opened.kind, opened.since, opened.evidence_ref) == ("auth_failed", T0, "ev1")
    assert ledger.open_hold("MERIDIAN") is None
    with ledger.writer() as writer:
        cleared = writer.clear_hold("SUNRISE", "jdoe")
        assert writer.clear_hold("SUNRISE", "jdoe") is None
    assert cleared is not None and cleared.cleared_by == "jdoe" and cleared.cleared_at is not None
    assert ledger.open_hold("SUNRISE") is None
    assert ledger.hold_payer(hold)  # a new refusal holds it again
    assert [h.cleared_by for h in ledger.holds(include_cleared=True)] == ["jdoe", None]


def test_the_same_import_twice_audits_once(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    path = claims_csv(tmp_path / "export.csv", [make_claim("IMP1")])
    import_claims_csv(sqlite_ledger, path)
    with sqlite_ledger.writer() as writer:  # the claims changed since, so the same file updates them again
        writer.upsert_claims([make_claim("IMP1", payer_claim_number="ICN-9")])
    assert import_claims_csv(sqlite_ledger, path).updated == 1
    audits = [a for a in sqlite_ledger.actions_for() if a.action == "claims.import"]
    assert len(audits) == 1
    assert audits[0].idempotency_key == f"claims.import:{audits[0].detail['sha256']}"
    with sqlite_ledger.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(status_checks)).scalar_one() == 0
