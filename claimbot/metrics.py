"""Prometheus metrics of a `claimbot serve` process (`GET /metrics`, prometheus_client's text format).

Two sources, so the figures hold whichever process did the work:
- **in this process**, from the bots' own structured log events (no hook in the bots): every
  `sweep claim` line a sweep or a worker job logs counts one check (`claimbot_checks_total{payer,outcome}`)
  and, for an answer, its time (`claimbot_check_duration_seconds{payer}`). Each worker process serves
  its own; Prometheus adds them up (`sum by (payer)`);
- **from the ledger at scrape time**, the same from any process: circuit breakers, payer holds, sweeps
  running, items still planned, procrastinate's queue (PostgreSQL), the outbox, and alerts sent to Slack.
Labels are payer ids, outcomes, kinds and states: never a claim or a person.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, MutableMapping
from typing import Any

import sqlalchemy as sa
import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from claims.ledger import Ledger
from claims.ledger.alert_schema import alert_messages
from claims.ledger.schema import events, payer_holds, sweep_items, sweeps
from claims.models import EventKind, SweepItemState, SweepKind, SweepState, utc_now

#: Seconds; 20 is the CAQH CORE limit for a real-time claim status answer.
CHECK_BUCKETS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0)
#: The log line the sweep writes for every claim it ends (bots.sweep.check_payer_items).
SWEEP_CLAIM_EVENT = "sweep claim"
#: A payer whose latest status sweep raised one of these for it has its circuit open.
_BREAKER_EVENTS = (EventKind.BOT_FAILURE.value, EventKind.CANARY_FAILED.value)
#: How many recent status sweeps are read for each payer's latest.
_RECENT_SWEEPS = 20
_OPEN_SWEEPS = (SweepState.PLANNED.value, SweepState.RUNNING.value, SweepState.INTERRUPTED.value)


class LedgerCollector(Collector):
    """Reads the ledger on each scrape (a few grouped queries over indexed columns)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def collect(self) -> Iterator[Metric]:
        with self.ledger.engine.connect() as conn:
            yield from self._sweeps(conn)
            yield from self._payers(conn)
            yield from self._outbox(conn)
            if conn.dialect.name == "postgresql":
                yield self._queue(conn)

    def _sweeps(self, conn: sa.Connection) -> Iterator[Metric]:
        running = GaugeMetricFamily(
            "claimbot_sweeps_running", "Sweeps running now with a live lease, by kind.", labels=["kind"]
        )
        live: dict[str, int] = dict(
            conn.execute(
                sa.select(sweeps.c.kind, sa.func.count())
                .where(sweeps.c.state == SweepState.RUNNING.value, sweeps.c.lease_expires_at >= utc_now())
                .group_by(sweeps.c.kind)
            ).all()
        )
        for kind in SweepKind:
            running.add_metric([kind.value], live.get(kind.value, 0))
        yield running
        planned = GaugeMetricFamily(
            "claimbot_sweep_items_planned",
            "Claims still to check in status sweeps not finished (the in-process queue), by payer.",
            labels=["payer"],
        )
        for payer, count in conn.execute(
            sa.select(sweep_items.c.payer_id, sa.func.count())
            .join(sweeps, sweeps.c.id == sweep_items.c.sweep_id)
            .where(sweeps.c.state.in_(_OPEN_SWEEPS), sweep_items.c.state == SweepItemState.PLANNED.value)
            .group_by(sweep_items.c.payer_id)
        ):
            planned.add_metric([payer], count)
        yield planned

    def _payers(self, conn: sa.Connection) -> Iterator[Metric]:
        payer_ids = [p.id for p in self.ledger.payers()]
        recent = (
            sa.select(sweeps.c.id)
            .where(sweeps.c.kind == SweepKind.STATUS.value)
            .order_by(sweeps.c.id.desc())
            .limit(_RECENT_SWEEPS)
            .subquery()
        )
        latest = dict(
            conn.execute(
                sa.select(sweep_items.c.payer_id, sa.func.max(sweep_items.c.sweep_id))
                .where(sweep_items.c.sweep_id.in_(sa.select(recent.c.id)))
                .group_by(sweep_items.c.payer_id)
            ).all()
        )
        tripped = set(
            conn.execute(
                sa.select(events.c.payer_id, events.c.sweep_id).where(
                    events.c.kind.in_(_BREAKER_EVENTS), events.c.sweep_id.in_(list(latest.values()) or [-1])
                )
            ).all()
        )
        held = set(conn.execute(sa.select(payer_holds.c.payer_id).where(payer_holds.c.cleared_at.is_(None))).scalars())
        breaker = GaugeMetricFamily(
            "claimbot_circuit_breaker_open",
            "1 when the payer's latest status sweep stopped it (circuit open, a stop-the-payer error, a failed "
            "canary) or the payer is held; else 0.",
            labels=["payer"],
        )
        holds = GaugeMetricFamily(
            "claimbot_payer_held",
            "1 while the payer is held (a refused sign-in; claimbot payers resume).",
            labels=["payer"],
        )
        for payer in payer_ids:
            stopped = (payer, latest.get(payer)) in tripped
            breaker.add_metric([payer], 1 if stopped or payer in held else 0)
            holds.add_metric([payer], 1 if payer in held else 0)
        yield breaker
        yield holds

    def _outbox(self, conn: sa.Connection) -> Iterator[Metric]:
        dispatched = CounterMetricFamily(
            "claimbot_events_dispatched", "Outbox events a consumer marked dispatched, by kind.", labels=["kind"]
        )
        pending = GaugeMetricFamily(
            "claimbot_events_pending", "Outbox events not yet dispatched, by kind.", labels=["kind"]
        )
        for kind, sent, count in conn.execute(
            sa.select(events.c.kind, events.c.dispatched_at.is_not(None), sa.func.count()).group_by(
                events.c.kind, events.c.dispatched_at.is_not(None)
            )
        ):
            (dispatched if sent else pending).add_metric([kind], count)
        yield dispatched
        yield pending
        alerts = CounterMetricFamily(
            "claimbot_alerts_sent",
            "Slack messages posted (denial alerts, escalations, digests), by kind.",
            labels=["kind"],
        )
        for kind, count in conn.execute(
            sa.select(alert_messages.c.kind, sa.func.count())
            .where(alert_messages.c.posted_at.is_not(None))
            .group_by(alert_messages.c.kind)
        ):
            alerts.add_metric([kind], count)
        yield alerts

    def _queue(self, conn: sa.Connection) -> Metric:
        jobs = GaugeMetricFamily(
            "claimbot_queue_jobs",
            "procrastinate jobs waiting or running (team mode), by queue and status.",
            labels=["queue", "status"],
        )
        for queue, status, count in conn.execute(
            sa.text(
                "SELECT queue_name, status::text, count(*) FROM procrastinate_jobs "
                "WHERE status IN ('todo', 'doing') GROUP BY queue_name, status"
            )
        ):
            jobs.add_metric([queue, status], count)
        return jobs


class ServeMetrics:
    """The registry of one serve process: its own counters and the ledger's figures."""

    def __init__(self, ledger: Ledger, roles: list[str]) -> None:
        self.registry = CollectorRegistry()
        self.checks = Counter(
            "claimbot_checks",
            "Claims this process checked, by payer and outcome (a status, or the error kind of a failed attempt).",
            ["payer", "outcome"],
            registry=self.registry,
        )
        self.check_seconds = Histogram(
            "claimbot_check_duration_seconds",
            "How long the payer took to answer a check, by payer (CAQH CORE: within 20 s).",
            ["payer"],
            buckets=CHECK_BUCKETS,
            registry=self.registry,
        )
        info = Gauge("claimbot_serve_role", "1 for each role this process serves.", ["role"], registry=self.registry)
        for role in roles:
            info.labels(role).set(1)
        self.registry.register(LedgerCollector(ledger))

    def observe(self, event: MutableMapping[str, Any]) -> None:
        """Count a bots' log event, if it is one that says a claim was checked."""
        if event.get("event") != SWEEP_CLAIM_EVENT:
            return
        payer = str(event.get("payer") or "unknown")
        self.checks.labels(payer, str(event.get("outcome") or "unknown")).inc()
        elapsed = event.get("duration_ms")
        if isinstance(elapsed, int | float):
            self.check_seconds.labels(payer).observe(elapsed / 1000)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def listen_to_logs(self, level: str) -> None:
        """Put `observe` first in structlog's chain, before the level filter: the checks are counted at
        any CLAIMBOT_LOG_LEVEL, and only the lines at or above it are still printed."""
        numeric = logging.getLevelNamesMapping()[level.upper()]

        def tap(_: Any, method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
            self.observe(event)
            if logging.getLevelNamesMapping().get(_level_name(method), logging.INFO) < numeric:
                raise structlog.DropEvent
            return event

        processors = list(structlog.get_config()["processors"])
        structlog.configure(processors=[tap, *processors], wrapper_class=structlog.make_filtering_bound_logger(0))


def _level_name(method: str) -> str:
    return {"warn": "WARNING", "exception": "ERROR", "critical": "CRITICAL", "msg": "INFO"}.get(method, method.upper())
