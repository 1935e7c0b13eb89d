"""claims.reports on a ledger built here, with every figure known: A/R aging (the bucket edges too),
denials that need work by category / code / payer, runs with their counts and timings, payer reliability
with the p90 answer time against the CAQH 20-second rule."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from claims.ledger import Ledger
from claims.models import (
    AdjustmentGroup,
    BotRun,
    BotRunStatus,
    CheckSource,
    Claim,
    Denial,
    ServiceLine,
    StatusCheck,
    Sweep,
    SweepItem,
    SweepItemState,
    SweepKind,
    SweepState,
    utc_now,
)
from claims.reports import (
    aging_report,
    bucket_of,
    denials_report,
    payers_report,
    percentile,
    read_check_tallies,
    read_runs,
)
from claims.status import ClaimStatus
from tests.factories import make_claim

AS_OF = date(2026, 12, 1)
NOW = utc_now()
CATEGORIES = {"CO-16": "missing_information", "CO-97": "bundling", "CO-50": "medical_necessity"}


def claim(claim_id: str, payer_id: str, service: date, charge: str) -> Claim:
    line = ServiceLine(
        line_number=1,
        procedure_code="99213",
        charge=Decimal(charge),
        service_date_from=service,
        service_date_to=service,
    )
    return make_claim(claim_id, payer_id, lines=(line,), submitted_date=service + timedelta(days=3))


#: claim id, payer, date of service, billed (days before AS_OF in the comment)
CLAIMS = [
    claim("A1", "SUNRISE", date(2026, 11, 20), "100.00"),  # 11: 0-30
    claim("A2", "SUNRISE", date(2026, 10, 15), "200.00"),  # 47: 31-60, 150.00 paid
    claim("A3", "SUNRISE", date(2026, 9, 1), "300.00"),  # paid: out of A/R
    claim("A9", "SUNRISE", date(2026, 10, 2), "60.00"),  # 60: the last day of 31-60
    claim("A4", "MERIDIAN", date(2026, 9, 15), "400.00"),  # 77: 61-90, denied
    claim("A5", "MERIDIAN", date(2026, 8, 10), "500.00"),  # 113: 91-120, pending (was denied)
    claim("A6", "KEYSTONE", date(2026, 7, 1), "600.00"),  # finalized: out of A/R
    claim("A7", "KEYSTONE", date(2026, 6, 1), "700.00"),  # 183: 120+, rejected
    claim("A8", "KEYSTONE", date(2026, 8, 2), "80.00"),  # 121: the first day of 120+, denied
]


def check(claim_id: str, status: ClaimStatus, source: CheckSource = CheckSource.API, **fields: object) -> StatusCheck:
    return StatusCheck(claim_id=claim_id, source=source, status=status, **fields)  # type: ignore[arg-type]


def denial(group: AdjustmentGroup, carc: str, amount: str, *rarcs: str) -> Denial:
    return Denial(group=group, carc=carc, amount=Decimal(amount), rarcs=rarcs)


def fill_known(ledger: Ledger) -> None:
    """The claims and answers every figure of these tests comes from (the CLI tests use them too)."""
    with ledger.writer() as writer:
        writer.upsert_claims(CLAIMS)
    earlier = NOW - timedelta(hours=1)
    checks = [
        # SUNRISE, on its portal: 2 answers, 1 not found, 1 failed attempt; one old attempt out of the window
        check("A1", ClaimStatus.NOT_FOUND, CheckSource.PORTAL, elapsed_ms=400),
        check(
            "A2",
            ClaimStatus.PARTIALLY_PAID,
            CheckSource.PORTAL,
            paid_amount=Decimal("150.00"),
            denials=(denial(AdjustmentGroup.CO, "97", "50.00"), denial(AdjustmentGroup.CO, "45", "12.00")),
            elapsed_ms=1200,
        ),
        check("A3", ClaimStatus.PAID, CheckSource.PORTAL, paid_amount=Decimal("300.00"), elapsed_ms=800),
        check("A9", ClaimStatus.UNAVAILABLE, CheckSource.PORTAL),
        check("A9", ClaimStatus.UNAVAILABLE, CheckSource.PORTAL, checked_at=NOW - timedelta(days=60)),
        # MERIDIAN over the API: three answers, one of them slower than 20 s
        check(
            "A4",
            ClaimStatus.DENIED,
            paid_amount=Decimal("0.00"),
            denials=(denial(AdjustmentGroup.CO, "16", "400.00", "N290"), denial(AdjustmentGroup.PR, "1", "20.00")),
            elapsed_ms=25000,
        ),
        check(
            "A5",
            ClaimStatus.DENIED,
            checked_at=earlier,
            denials=(denial(AdjustmentGroup.CO, "50", "500.00"),),
            elapsed_ms=21000,
        ),
        check("A5", ClaimStatus.PENDING, elapsed_ms=3000),
        # KEYSTONE: an ERA (EDI: not a bot check) and one API answer
        check("A6", ClaimStatus.FINALIZED, CheckSource.EDI, paid_amount=Decimal("0.00")),
        check("A7", ClaimStatus.REJECTED, elapsed_ms=500),
        check("A8", ClaimStatus.DENIED, CheckSource.EDI, denials=(denial(AdjustmentGroup.CO, "16", "80.00"),)),
    ]
    for one in checks:
        assert ledger.record_status_check(one)


@pytest.fixture
def known(sqlite_ledger: Ledger) -> Ledger:
    fill_known(sqlite_ledger)
    return sqlite_ledger


def test_aging_buckets_by_days_since_the_date_of_service(known: Ledger) -> None:
    report = aging_report(known.list_claims(limit=None), AS_OF)
    rows = {row.payer_id: row for row in report.payers}
    assert list(rows) == ["KEYSTONE", "MERIDIAN", "SUNRISE"]
    money = Decimal
    assert rows["SUNRISE"].counts == {"0-30": 1, "31-60": 2, "61-90": 0, "91-120": 0, "120+": 0}
    assert rows["SUNRISE"].amounts["31-60"] == money("110.00")  # A2's 50.00 left + A9's 60.00
    assert (rows["SUNRISE"].count, rows["SUNRISE"].amount) == (3, money("210.00"))
    assert rows["MERIDIAN"].counts == {"0-30": 0, "31-60": 0, "61-90": 1, "91-120": 1, "120+": 0}
    assert (rows["MERIDIAN"].count, rows["MERIDIAN"].amount) == (2, money("900.00"))
    assert rows["KEYSTONE"].counts["120+"] == 2 and rows["KEYSTONE"].amounts["120+"] == money("780.00")
    total = report.total
    assert total.counts == {"0-30": 1, "31-60": 2, "61-90": 1, "91-120": 1, "120+": 2}
    assert total.amounts == {
        "0-30": money("100.00"),
        "31-60": money("110.00"),
        "61-90": money("400.00"),
        "91-120": money("500.00"),
        "120+": money("780.00"),
    }
    assert (total.count, total.amount) == (7, money("1890.00"))
    assert [bucket_of(d) for d in (-2, 0, 30, 31, 60, 61, 90, 91, 120, 121, 999)] == [
        "0-30",
        "0-30",
        "0-30",
        "31-60",
        "31-60",
        "61-90",
        "61-90",
        "91-120",
        "91-120",
        "120+",
        "120+",
    ]


def test_denials_that_need_work_by_category_code_and_payer(known: Ledger) -> None:
    report = denials_report(known.current_denials(), lambda d, _: CATEGORIES[d.code])
    # CO-45 (write-off) and PR-1 (patient share) are not work; A5's CO-50 is no longer its current answer
    assert [(r.category, r.code, r.payer_id, r.claims, r.denials, r.amount) for r in report.rows] == [
        ("bundling", "CO-97", "SUNRISE", 1, 1, Decimal("50.00")),
        ("missing_information", "CO-16", "KEYSTONE", 1, 1, Decimal("80.00")),
        ("missing_information", "CO-16", "MERIDIAN", 1, 1, Decimal("400.00")),
    ]
    assert [(c.category, c.claims, c.denials, c.amount) for c in report.categories] == [
        ("missing_information", 2, 2, Decimal("480.00")),
        ("bundling", 1, 1, Decimal("50.00")),
    ]
    assert (report.claims, report.denials, report.amount) == (3, 3, Decimal("530.00"))


def test_payer_reliability_and_the_p90_against_20_seconds(known: Ledger) -> None:
    since = NOW - timedelta(days=30)
    report = payers_report(read_check_tallies(known, since), since.date())
    rows = {p.payer_id: p for p in report.payers}
    sunrise, meridian, keystone = rows["SUNRISE"], rows["MERIDIAN"], rows["KEYSTONE"]
    assert (sunrise.checks, sunrise.success, sunrise.not_found, sunrise.errors) == (4, 2, 1, 1)
    assert (sunrise.success_rate, sunrise.not_found_rate, sunrise.error_rate) == (0.5, 0.25, 0.25)
    assert (sunrise.timed, sunrise.p90_seconds, sunrise.within_caqh) == (3, 1.2, True)
    assert (meridian.checks, meridian.success, meridian.error_rate) == (3, 3, 0.0)
    assert (meridian.p90_seconds, meridian.within_caqh) == (25.0, False)  # of 3 s, 21 s, 25 s
    assert (keystone.checks, keystone.timed, keystone.p90_seconds) == (1, 1, 0.5)  # the ERAs are not bot checks
    assert percentile([float(v) for v in range(1, 11)], 0.9) == 9.0 and percentile([], 0.9) is None


def test_runs_count_items_by_state_with_their_timings(known: Ledger) -> None:
    started = NOW - timedelta(minutes=10)
    items = [
        SweepItem(claim_id=c, payer_id="SUNRISE", route="portal", priority=1, due_reason="due")
        for c in ["A1", "A2", "A3", "A9"]
    ]
    with known.writer() as writer:
        finished = writer.create_sweep(
            Sweep(
                trigger="schedule",
                started_at=started,
                finished_at=started + timedelta(seconds=90),
                state=SweepState.FINISHED,
            ),
            items,
        )
        writer.set_sweep_items(finished, ["A1", "A2"], SweepItemState.DONE, None)
        writer.set_sweep_items(finished, ["A3"], SweepItemState.FAILED, "portal_timeout")
        writer.set_sweep_items(finished, ["A9"], SweepItemState.QUARANTINED, "layout_changed")
        stopped = writer.create_sweep(
            Sweep(trigger="cli", started_at=NOW - timedelta(minutes=2), state=SweepState.INTERRUPTED), items[:2]
        )
        writer.set_sweep_items(stopped, ["A1"], SweepItemState.DONE, None)
        writer.create_sweep(
            Sweep(kind=SweepKind.STATUS, trigger="cli", created_at=NOW - timedelta(days=40), state=SweepState.FINISHED),
            items[:1],
        )
        run = writer.start_bot_run(BotRun(kind="live_check", payer_id="MERIDIAN", trigger="cli", started_at=started))
        writer.finish_bot_run(run, BotRunStatus.PARTIAL, claims_checked=3, errors=1, note=None)
    report = read_runs(known, (NOW - timedelta(days=30)).date())
    by_id = {(r.what, r.id): r for r in report.rows}
    assert set(by_id) == {("status sweep", finished), ("status sweep", stopped), ("live_check", run)}
    done = by_id[("status sweep", finished)]
    assert (done.planned, done.done, done.failed, done.not_asked, done.left) == (4, 2, 1, 1, 0)
    assert (done.seconds, done.per_minute, done.state) == (90.0, 2.0, "finished")
    interrupted = by_id[("status sweep", stopped)]
    assert (interrupted.planned, interrupted.done, interrupted.left, interrupted.seconds) == (2, 1, 1, None)
    live = by_id[("live_check", run)]
    assert (live.payer_id, live.planned, live.done, live.failed, live.state) == ("MERIDIAN", 4, 3, 1, "partial")
    assert report.rows[0].id == stopped  # newest first
    assert (report.planned, report.done, report.failed, report.not_asked, report.left) == (10, 6, 2, 1, 1)
