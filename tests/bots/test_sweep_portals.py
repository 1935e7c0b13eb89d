"""A real sweep over the three sandbox portals in headless Chromium, with faults injected.

SUNRISE answers one request in five with a 503 and has every session killed mid-run: retried, signed
in again, every claim recorded once with the payer's true status. MERIDIAN was redesigned (layout 2):
it fails its canary and is quarantined, its claims untouched, one canary_failed event. KEYSTONE goes
into maintenance after its first claims: the circuit opens, the rest fail with the reason, one
bot_failure event. The events match the status changes one for one. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from bots.planner import plan_from_ledger
from bots.sweep import CIRCUIT_OPEN, PayerLimits, plan_to_sweep, run_sweep, sweep_report
from claimbot.demo import sample_claims_csv
from claims.importing import import_claims_csv
from claims.ledger import Ledger, sweep_dedupe_key
from claims.models import EventKind, SweepItemState, utc_now
from claims.payer_config import load_payer_config
from claims.status import ClaimStatus
from portal_adapters.contract import PayerAdapter
from portal_adapters.retry import RetryPolicy
from sandbox.dataset import load_world
from sandbox.models import Outcome
from sandbox.servers import SandboxEndpoints
from sandbox.testing import SandboxAdmin, reset_all
from tests.conftest import REPO
from tests.portals import PAYERS, expected_status, open_adapter, server

pytestmark = pytest.mark.browser

PER_PAYER = 4


def paid_claim(payer: str) -> str:
    return next(
        c.claim_id for c in load_world().claims if c.payer_id == payer and c.payer and c.payer.outcome is Outcome.PAID
    )


async def test_a_sweep_over_three_faulty_portals_records_each_answer_once(
    ledger: Ledger, sandbox: SandboxEndpoints, chromium_path: str, tmp_path: Path
) -> None:
    reset_all(sandbox)
    import_claims_csv(ledger, sample_claims_csv())
    rules = load_payer_config(REPO / "config" / "payers.yaml").rules()
    plan = plan_from_ledger(ledger, rules, utc_now().date(), limit_per_payer=PER_PAYER)
    sweep_id = plan_to_sweep(ledger, plan, dict.fromkeys(PAYERS, "portal"), trigger="test")
    planned = {item.claim_id: item for item in ledger.sweep_items(sweep_id)}
    assert len(planned) == 3 * PER_PAYER

    with SandboxAdmin(sandbox[server("SUNRISE")]) as admin:
        admin.set_faults(error_rate=0.2)
    with SandboxAdmin(sandbox[server("MERIDIAN")]) as admin:
        admin.set_faults(layout_version=2)
    done: dict[str, int] = {}

    def on_progress(payer: str, what: str) -> None:
        """Faults mid-run: SUNRISE's sessions killed after its first answer, KEYSTONE down after its second."""
        done[payer] = done.get(payer, 0) + 1
        if payer == "SUNRISE" and done[payer] == 1:
            with SandboxAdmin(sandbox[server("SUNRISE")]) as admin:
                admin.set_faults(kill_sessions=True)
        if payer == "KEYSTONE" and done[payer] == 2:
            with SandboxAdmin(sandbox[server("KEYSTONE")]) as admin:
                admin.set_faults(maintenance=True)

    limits = {
        "SUNRISE": PayerLimits(
            requests_per_minute=6000, max_sessions=2, circuit_breaker_failures=5, canary_claim=paid_claim("SUNRISE")
        ),
        "MERIDIAN": PayerLimits(requests_per_minute=6000, max_sessions=2, canary_claim=paid_claim("MERIDIAN")),
        "KEYSTONE": PayerLimits(
            requests_per_minute=6000, max_sessions=1, circuit_breaker_failures=1, canary_claim=paid_claim("KEYSTONE")
        ),
    }
    async with contextlib.AsyncExitStack() as stack:
        adapters: dict[str, PayerAdapter | str] = {
            p: await stack.enter_async_context(open_adapter(sandbox, p, tmp_path / "evidence")) for p in PAYERS
        }
        await run_sweep(
            ledger,
            sweep_id,
            adapters,
            limits,
            RetryPolicy(max_attempts=8, base_delay_s=0.05, max_delay_s=0.5),
            on_progress=on_progress,
        )
    with SandboxAdmin(sandbox[server("SUNRISE")]) as admin:
        assert admin.counters().faults_served  # the faults really happened
    reset_all(sandbox)

    truth = {c.claim_id: c for c in load_world().claims}
    items = {item.claim_id: item for item in ledger.sweep_items(sweep_id)}
    report = sweep_report(ledger, sweep_id)
    for payer, r in report.items():
        assert r.planned == r.checked + sum(r.failed.values()) + r.quarantined + r.skipped == PER_PAYER, payer
    changed_claims: set[str] = set()
    for claim_id, item in items.items():
        history = ledger.history(claim_id)
        ours = [c for c in history if c.dedupe_key == sweep_dedupe_key(sweep_id, claim_id)]
        if item.state is SweepItemState.DONE:
            [answer] = ours
            assert answer.status is expected_status(truth[claim_id]), claim_id
            if ledger.current_status(claim_id) is not ClaimStatus.SUBMITTED:
                changed_claims.add(claim_id)
        elif item.state is SweepItemState.FAILED:
            assert item.last_error_kind, claim_id
            assert len(ours) <= 1 and all(c.status is ClaimStatus.UNAVAILABLE for c in ours)
        else:
            assert item.state is SweepItemState.QUARANTINED and item.payer_id == "MERIDIAN"
            assert history == []  # the quarantined payer's claims were not touched

    assert report["SUNRISE"].checked == PER_PAYER, dict(report["SUNRISE"].failed)
    assert report["MERIDIAN"].quarantined == PER_PAYER
    keystone = report["KEYSTONE"]
    assert keystone.checked >= 1 and keystone.failed[CIRCUIT_OPEN] >= 1
    assert keystone.checked + sum(keystone.failed.values()) == PER_PAYER

    [canary] = ledger.events(kind=EventKind.CANARY_FAILED)
    assert (canary.payer_id, canary.payload["kind"]) == ("MERIDIAN", "layout_changed")
    assert canary.payload["evidence_ref"] and (tmp_path / "evidence" / f"{canary.payload['evidence_ref']}.png").exists()
    [failure] = ledger.events(kind=EventKind.BOT_FAILURE)
    assert (failure.payer_id, failure.payload["kind"]) == ("KEYSTONE", "portal_unavailable")
    claim_events = [e for e in ledger.events(sweep_id=sweep_id) if e.claim_id is not None]
    assert sorted(e.claim_id or "" for e in claim_events) == sorted(changed_claims)  # one for one
    for event in claim_events:
        assert event.payload["status"] == ledger.current_status(event.claim_id or "").value
