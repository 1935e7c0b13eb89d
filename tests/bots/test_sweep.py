"""bots.sweep over the real sandbox clearinghouse (HTTP, no browser), on SQLite and PostgreSQL.

Every planned claim ends recorded exactly once (or failed / quarantined with its reason); a broken
payer raises exactly one bot_failure or canary_failed event; a stopped sweep is continued by the
next run without recording anything twice. The browser version, with faults injected into the
portals, is tests/bots/test_sweep_portals.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

import pytest
from pydantic import SecretStr

from bots.planner import plan_from_ledger
from bots.sweep import CIRCUIT_OPEN, PayerLimits, RateLimiter, plan_to_sweep, run_sweep, sweep_report
from claimbot.demo import sample_claims_csv
from claims.importing import import_claims_csv
from claims.ledger import Ledger, sweep_dedupe_key
from claims.models import EventKind, SweepItemState, SweepState, utc_now
from claims.payer_config import load_payer_config
from claims.status import ClaimStatus
from portal_adapters.clearinghouse import ClearinghouseAdapter
from portal_adapters.contract import (
    ClaimCheckFailed,
    ClaimOutcome,
    ClaimQuery,
    EligibilityQuery,
    EligibilityResult,
    PayerAdapter,
)
from portal_adapters.errors import AuthenticationFailed, BadClaimData, LayoutChanged, PortalUnavailable, Reason
from portal_adapters.retry import RetryPolicy
from sandbox.accounts import CLEARINGHOUSE_API_KEY, ServerName
from sandbox.servers import SandboxEndpoints
from sandbox.testing import reset_all
from tests.conftest import REPO

POLICY = RetryPolicy(max_attempts=2, base_delay_s=0.0)
PAYERS = ("SUNRISE", "MERIDIAN", "KEYSTONE")
FAST = PayerLimits(requests_per_minute=6000, max_sessions=2, circuit_breaker_failures=3, canary=False)


async def no_sleep(_: float) -> None:
    return None


class Broken:
    """A payer adapter that fails as told (PayerAdapter)."""

    def __init__(self, payer_id: str, fail: str) -> None:
        self.payer_id = payer_id
        self.route = ClearinghouseAdapter.route
        self.fail = fail
        self.asked: list[str] = []

    async def open(self) -> None:
        return None

    async def check_claims(self, queries: Sequence[ClaimQuery]) -> list[ClaimOutcome]:
        self.asked += [q.claim_id for q in queries]
        if self.fail == "layout":
            raise LayoutChanged(self.payer_id, Reason.ELEMENT_MISSING, evidence_ref="ev-layout-1")
        if self.fail == "auth" and len(self.asked) > 2:
            raise AuthenticationFailed(self.payer_id, Reason.SIGN_IN_REFUSED, evidence_ref="ev-login-1")
        if self.fail == "auth":
            return [ClaimCheckFailed.from_error(q.claim_id, BadClaimData(self.payer_id)) for q in queries]
        return [
            ClaimCheckFailed.from_error(
                q.claim_id, PortalUnavailable(self.payer_id, Reason.HTTP_ERROR, http_status=503)
            )
            for q in queries
        ]

    async def check_eligibility(self, query: EligibilityQuery) -> EligibilityResult:
        raise NotImplementedError

    async def close(self) -> None:
        return None


@pytest.fixture
def practice(ledger: Ledger, sandbox: SandboxEndpoints) -> Ledger:
    reset_all(sandbox)
    import_claims_csv(ledger, sample_claims_csv())
    return ledger


def clearinghouse(sandbox: SandboxEndpoints, payer_id: str) -> ClearinghouseAdapter:
    return ClearinghouseAdapter(payer_id, sandbox.url(ServerName.CLEARINGHOUSE), SecretStr(CLEARINGHOUSE_API_KEY))


def new_sweep(ledger: Ledger, per_payer: int) -> int:
    rules = load_payer_config(REPO / "config" / "payers.yaml").rules()
    plan = plan_from_ledger(ledger, rules, utc_now().date(), limit_per_payer=per_payer)
    return plan_to_sweep(ledger, plan, dict.fromkeys(rules, "api"), trigger="test")


def sweep_checks(ledger: Ledger, sweep_id: int, claim_id: str) -> int:
    return sum(1 for c in ledger.history(claim_id) if c.dedupe_key == sweep_dedupe_key(sweep_id, claim_id))


async def test_a_sweep_records_each_claim_once_and_raises_the_events_of_its_changes(
    practice: Ledger, sandbox: SandboxEndpoints
) -> None:
    sweep_id = new_sweep(practice, per_payer=3)
    adapters: dict[str, PayerAdapter | str] = {p: clearinghouse(sandbox, p) for p in PAYERS}
    try:
        outcomes = await run_sweep(practice, sweep_id, adapters, dict.fromkeys(PAYERS, FAST), POLICY, no_sleep)
        again = await run_sweep(practice, sweep_id, adapters, dict.fromkeys(PAYERS, FAST), POLICY, no_sleep)
    finally:
        for adapter in adapters.values():
            assert not isinstance(adapter, str)
            await adapter.close()
    assert [o.done for o in outcomes.values()] == [3, 3, 3]
    assert all(o.asked == 0 for o in again.values())  # nothing planned is left: nothing asked twice
    items = practice.sweep_items(sweep_id)
    assert len(items) == 9 and {i.state for i in items} == {SweepItemState.DONE}
    changes = 0
    for item in items:
        assert sweep_checks(practice, sweep_id, item.claim_id) == 1
        changes += practice.current_status(item.claim_id) is not ClaimStatus.SUBMITTED
    events = [e for e in practice.events(sweep_id=sweep_id) if e.claim_id]
    assert len(events) == changes and len({e.claim_id for e in events}) == changes  # one for one
    report = sweep_report(practice, sweep_id)
    assert [(r.planned, r.checked, r.changed) for r in report.values()] == [
        (3, 3, sum(e.payer_id == p for e in events)) for p in sorted(PAYERS)
    ]
    sweep = practice.sweep(sweep_id)
    assert sweep is not None and sweep.state is SweepState.FINISHED


async def test_a_failing_payer_opens_its_circuit_once_and_a_broken_one_fails_its_canary(
    practice: Ledger, sandbox: SandboxEndpoints
) -> None:
    sweep_id = new_sweep(practice, per_payer=8)
    flaky, changed = Broken("MERIDIAN", "503"), Broken("KEYSTONE", "layout")
    keystone_claims = [i.claim_id for i in practice.sweep_items(sweep_id) if i.payer_id == "KEYSTONE"]
    canary_keystone = PayerLimits(**{**FAST.__dict__, "canary": True, "canary_claim": keystone_claims[0]})
    sunrise = clearinghouse(sandbox, "SUNRISE")
    try:
        await run_sweep(
            practice,
            sweep_id,
            {"SUNRISE": sunrise, "MERIDIAN": flaky, "KEYSTONE": changed},
            {"SUNRISE": FAST, "MERIDIAN": FAST, "KEYSTONE": canary_keystone},
            POLICY,
            no_sleep,
        )
    finally:
        await sunrise.close()
    report = sweep_report(practice, sweep_id)
    assert report["SUNRISE"].checked == 8
    meridian = report["MERIDIAN"]
    # 3 in a row failed (asked, so each has its failed check); the 5 left were never asked.
    assert (meridian.checked, dict(meridian.failed)) == (0, {"portal_unavailable": 4, CIRCUIT_OPEN: 4})
    assert len(flaky.asked) == 4 * POLICY.max_attempts  # two batches of two, each tried twice
    asked = set(flaky.asked)
    for item in practice.sweep_items(sweep_id):
        if item.payer_id == "MERIDIAN":
            history = practice.history(item.claim_id)
            assert [c.status for c in history] == ([ClaimStatus.UNAVAILABLE] if item.claim_id in asked else [])
    assert report["KEYSTONE"].quarantined == 8
    assert changed.asked == [keystone_claims[0]]  # only the canary was tried
    assert all(practice.history(c) == [] for c in keystone_claims)  # untouched
    failures = practice.events(kind=EventKind.BOT_FAILURE)
    assert [(e.payer_id, e.payload["why"]) for e in failures] == [
        ("MERIDIAN", "too many failures in a row: circuit open")
    ]
    assert failures[0].payload["kind"] == "portal_unavailable"
    [canary] = practice.events(kind=EventKind.CANARY_FAILED)
    assert (canary.payer_id, canary.payload["kind"], canary.payload["evidence_ref"]) == (
        "KEYSTONE",
        "layout_changed",
        "ev-layout-1",
    )
    assert practice.open_hold("KEYSTONE") is None  # a changed layout stops, but does not hold


async def test_a_stopped_sweep_is_continued_without_asking_or_recording_twice(
    practice: Ledger, sandbox: SandboxEndpoints
) -> None:
    sweep_id = new_sweep(practice, per_payer=6)
    adapter = clearinghouse(sandbox, "SUNRISE")
    slow = PayerLimits(requests_per_minute=120, max_sessions=1, canary=False)  # one claim every 0.5 s
    try:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(
                run_sweep(
                    practice, sweep_id, {"SUNRISE": adapter}, {"SUNRISE": slow}, POLICY, lease=timedelta(seconds=5)
                ),
                timeout=1.2,
            )
        stopped = practice.sweep(sweep_id)
        assert stopped is not None and stopped.state is SweepState.INTERRUPTED
        resumable = practice.resumable_sweep()
        assert resumable is not None and resumable.id == sweep_id
        done_before = {i.claim_id for i in practice.sweep_items(sweep_id, SweepItemState.DONE)}
        assert 1 <= len(done_before) < 6
        await run_sweep(practice, sweep_id, {"SUNRISE": adapter}, {"SUNRISE": FAST}, POLICY, no_sleep)
    finally:
        await adapter.close()
    sunrise = [i for i in practice.sweep_items(sweep_id) if i.payer_id == "SUNRISE"]
    assert {i.state for i in sunrise} == {SweepItemState.DONE}
    assert all(sweep_checks(practice, sweep_id, i.claim_id) == 1 for i in sunrise)
    assert all(i.attempts == 1 for i in sunrise)
    others = [i for i in practice.sweep_items(sweep_id) if i.payer_id != "SUNRISE"]
    assert {i.state for i in others} == {SweepItemState.SKIPPED}  # no adapter given: skipped, with one event each
    assert sorted(e.payer_id or "" for e in practice.events(kind=EventKind.BOT_FAILURE)) == ["KEYSTONE", "MERIDIAN"]


async def test_a_refused_sign_in_mid_sweep_holds_the_payer_and_raises_one_bot_failure(practice: Ledger) -> None:
    sweep_id = new_sweep(practice, per_payer=6)
    refused = Broken("SUNRISE", "auth")  # the first batch answers (bad claim data), the second is refused
    await run_sweep(practice, sweep_id, {"SUNRISE": refused}, {"SUNRISE": FAST}, POLICY, no_sleep)
    report = sweep_report(practice, sweep_id)["SUNRISE"]
    assert dict(report.failed) == {"bad_claim_data": 2, "auth_failed": 4}
    items = [i for i in practice.sweep_items(sweep_id) if i.payer_id == "SUNRISE"]
    asked = set(refused.asked)
    for item in items:  # asked: a failed check each; never asked: none
        assert len(practice.history(item.claim_id)) == (1 if item.claim_id in asked else 0)
    hold = practice.open_hold("SUNRISE")
    assert hold is not None and (hold.kind, hold.evidence_ref) == ("auth_failed", "ev-login-1")
    [failure] = [e for e in practice.events(kind=EventKind.BOT_FAILURE) if e.payer_id == "SUNRISE"]
    assert (failure.payload["kind"], failure.payload["claims_not_asked"]) == ("auth_failed", 2)

    # The next sweep does not sign in to a held payer: its claims are skipped, nothing asked.
    again = Broken("SUNRISE", "auth")
    second = new_sweep(practice, per_payer=2)
    await run_sweep(practice, second, {"SUNRISE": again}, {"SUNRISE": FAST}, POLICY, no_sleep)
    assert again.asked == []
    assert sweep_report(practice, second)["SUNRISE"].skipped == 2


async def test_the_rate_limiter_spaces_claims() -> None:
    slept: list[float] = []
    now = [0.0]

    async def sleep(seconds: float) -> None:
        slept.append(round(seconds, 3))

    limiter = RateLimiter(60, sleep=sleep, clock=lambda: now[0])
    await limiter.acquire(2)
    await limiter.acquire(1)
    now[0] = 10.0
    await limiter.acquire(1)
    assert slept == [2.0]


async def test_a_bug_for_one_payer_fails_its_claims_and_the_others_go_on(
    practice: Ledger, sandbox: SandboxEndpoints
) -> None:
    class Buggy(Broken):
        async def check_claims(self, queries: Sequence[ClaimQuery]) -> list[ClaimOutcome]:
            raise RuntimeError("a bug")

    sweep_id = new_sweep(practice, per_payer=2)
    sunrise = clearinghouse(sandbox, "SUNRISE")
    try:
        await run_sweep(
            practice,
            sweep_id,
            {"SUNRISE": sunrise, "MERIDIAN": Buggy("MERIDIAN", ""), "KEYSTONE": "no playbook for payer KEYSTONE"},
            dict.fromkeys(PAYERS, FAST),
            POLICY,
            no_sleep,
        )
    finally:
        await sunrise.close()
    report = sweep_report(practice, sweep_id)
    assert report["SUNRISE"].checked == 2
    assert dict(report["MERIDIAN"].failed) == {"engine_failed": 2}
    assert report["KEYSTONE"].skipped == 2
    failures = {e.payer_id: e.payload["why"] for e in practice.events(kind=EventKind.BOT_FAILURE)}
    assert failures == {"MERIDIAN": "Claimbot failed (RuntimeError)", "KEYSTONE": "no playbook for payer KEYSTONE"}
    sweep = practice.sweep(sweep_id)
    assert sweep is not None and sweep.state is SweepState.FINISHED
