"""claimbot.metrics on a ledger built here: the circuit breaker opens for the payer its latest sweep
stopped (and only until a newer sweep runs it clean), holds, planned items of unfinished sweeps only,
the outbox and the Slack messages posted; the log tap counts checks and times at any log level."""

from __future__ import annotations

import io

import structlog
from prometheus_client.parser import text_string_to_metric_families

from claimbot.logs import configure_logging
from claimbot.metrics import ServeMetrics
from claimbot.settings import LogFormat
from claims.ledger import Ledger, PayerHold
from claims.ledger.alert_schema import alert_messages
from claims.models import Event, EventKind, Sweep, SweepItem, SweepItemState, SweepState, utc_now
from tests.factories import make_claim


def values(ledger: Ledger, name: str, metrics: ServeMetrics | None = None) -> dict[tuple[str, ...], float]:
    text = (metrics or ServeMetrics(ledger, ["scheduler"])).exposition().decode()
    return {
        tuple(v for _, v in sorted(sample.labels.items())): sample.value  # label values by label name
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def item(claim_id: str, payer_id: str) -> SweepItem:
    return SweepItem(claim_id=claim_id, payer_id=payer_id, route="api", priority=1, due_reason="due")


def test_ledger_figures(sqlite_ledger: Ledger) -> None:
    ledger = sqlite_ledger
    now = utc_now()
    with ledger.writer() as writer:
        writer.upsert_claims([make_claim("S1", "SUNRISE"), make_claim("M1", "MERIDIAN"), make_claim("K1", "KEYSTONE")])
        old = writer.create_sweep(Sweep(state=SweepState.FINISHED), [item("S1", "SUNRISE"), item("M1", "MERIDIAN")])
        writer.add_event(
            Event(kind=EventKind.BOT_FAILURE, payer_id="MERIDIAN", sweep_id=old, dedupe_key="event:x:old:MERIDIAN")
        )
        new = writer.create_sweep(
            Sweep(state=SweepState.RUNNING, lease_expires_at=now.replace(year=now.year + 1)),
            [item("S1", "SUNRISE"), item("K1", "KEYSTONE"), item("M1", "MERIDIAN")],
        )
        writer.add_event(
            Event(kind=EventKind.BOT_FAILURE, payer_id="SUNRISE", sweep_id=new, dedupe_key="event:x:new:SUNRISE")
        )
        writer.set_sweep_items(new, ["S1"], SweepItemState.FAILED, "circuit_open")
        writer.hold_payer(PayerHold(payer_id="KEYSTONE", kind="auth", reason="invalid_login", since=now))
        writer.add_event(Event(kind=EventKind.DENIED, payer_id="SUNRISE", claim_id="S1", dedupe_key="event:denied:1"))
        writer.add_event(Event(kind=EventKind.PAID, payer_id="SUNRISE", claim_id="S1", dedupe_key="event:paid:1"))
    denied = [e.id for e in ledger.events() if e.kind is EventKind.DENIED and e.id is not None]
    ledger.mark_dispatched(denied)
    with ledger.engine.begin() as conn:
        rows = [("a1", "denial", now), ("a2", "denial", now), ("e1", "escalation", now), ("d1", "digest", None)]
        conn.execute(
            alert_messages.insert(),
            [
                {"message_key": k, "kind": kind, "channel": "C1", "text": "t", "blocks": [], "created_at": now}
                | {"posted_at": at}
                for k, kind, at in rows
            ],
        )

    # MERIDIAN was stopped by an older sweep and is in the latest without a failure; SUNRISE was stopped by
    # the latest; KEYSTONE is held
    assert values(ledger, "claimbot_circuit_breaker_open") == {("KEYSTONE",): 1, ("MERIDIAN",): 0, ("SUNRISE",): 1}
    assert values(ledger, "claimbot_payer_held") == {("KEYSTONE",): 1, ("MERIDIAN",): 0, ("SUNRISE",): 0}
    assert values(ledger, "claimbot_sweeps_running") == {("status",): 1, ("eligibility",): 0}
    assert values(ledger, "claimbot_sweep_items_planned") == {
        ("KEYSTONE",): 1,
        ("MERIDIAN",): 1,
    }  # not the finished sweep's
    assert values(ledger, "claimbot_events_dispatched_total")[("denied",)] == 1
    assert values(ledger, "claimbot_events_pending")[("paid",)] >= 1
    assert values(ledger, "claimbot_alerts_sent_total") == {("denial",): 2, ("escalation",): 1}
    assert "claimbot_queue_jobs" not in ServeMetrics(ledger, []).exposition().decode()  # PostgreSQL only


def test_the_log_tap_counts_checks_at_any_level_and_prints_only_what_the_level_allows(sqlite_ledger: Ledger) -> None:
    stream = io.StringIO()
    configure_logging(LogFormat.JSON, "WARNING")
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=stream))
    metrics = ServeMetrics(sqlite_ledger, ["worker"])
    metrics.listen_to_logs("WARNING")
    log = structlog.get_logger("bots.sweep").bind(payer="SUNRISE")
    log.info("sweep claim", claim_id="S1", outcome="paid", duration_ms=1500)
    log.info("sweep claim", claim_id="S2", outcome="portal_timeout", duration_ms=None)
    log.warning("payer stopped", why="circuit_open")
    assert values(sqlite_ledger, "claimbot_checks_total", metrics) == {
        ("paid", "SUNRISE"): 1,
        ("portal_timeout", "SUNRISE"): 1,
    }
    assert values(sqlite_ledger, "claimbot_check_duration_seconds_count", metrics) == {("SUNRISE",): 1}
    assert values(sqlite_ledger, "claimbot_check_duration_seconds_sum", metrics) == {("SUNRISE",): 1.5}
    printed = stream.getvalue()
    assert "payer stopped" in printed and "sweep claim" not in printed
