"""bots.live.live_check over the real sandbox clearinghouse (HTTP, no browser), on SQLite and PostgreSQL.

Answers are recorded one at a time as they come, each claim at most once per run; a run renews its
lease while it works and ends `interrupted` when it is stopped; a refused sign-in holds the payer,
and no live check starts for a held payer until a person clears it.

`Scripted` wraps the real adapter to do what the sandbox cannot be asked to do at a chosen moment:
note what the ledger holds when the next batch is asked, refuse the sign-in on the Nth batch, be slow.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

import pytest
from pydantic import SecretStr

from bots.live import live_check, live_dedupe_key
from claimbot.demo import sample_claims_csv
from claims.importing import import_claims_csv
from claims.ledger import Ledger
from claims.models import BotRun, BotRunStatus, CheckSource
from claims.status import ClaimStatus
from portal_adapters.clearinghouse import ClearinghouseAdapter
from portal_adapters.contract import (
    ClaimCheckFailed,
    ClaimOutcome,
    ClaimQuery,
    ClaimStatusResult,
    EligibilityQuery,
    EligibilityResult,
)
from portal_adapters.errors import AuthenticationFailed, ErrorKind, Reason
from portal_adapters.retry import RetryPolicy
from sandbox.accounts import CLEARINGHOUSE_API_KEY, ServerName
from sandbox.servers import SandboxEndpoints
from sandbox.testing import reset_all
from tests.portals import claims_of

POLICY = RetryPolicy(max_attempts=2, base_delay_s=0.0)
CLAIMS = [c for c in claims_of("SUNRISE") if c.payer is not None][:6]


async def no_sleep(_: float) -> None:
    return None


class Scripted:
    """A real adapter, with a hook before each batch (PayerAdapter)."""

    def __init__(self, inner: ClearinghouseAdapter, before: Callable[[int, Sequence[ClaimQuery]], Awaitable[None]]):
        self.inner = inner
        self.payer_id = inner.payer_id
        self.route = inner.route
        self.before = before
        self.calls = 0

    async def open(self) -> None:
        await self.inner.open()

    async def check_claims(self, queries: Sequence[ClaimQuery]) -> list[ClaimOutcome]:
        self.calls += 1
        await self.before(self.calls, queries)
        return await self.inner.check_claims(queries)

    async def check_eligibility(self, query: EligibilityQuery) -> EligibilityResult:
        return await self.inner.check_eligibility(query)

    async def close(self) -> None:
        await self.inner.close()


@pytest.fixture
def practice(ledger: Ledger, sandbox: SandboxEndpoints) -> Ledger:
    reset_all(sandbox)
    import_claims_csv(ledger, sample_claims_csv())
    return ledger


def clearinghouse(sandbox: SandboxEndpoints) -> ClearinghouseAdapter:
    return ClearinghouseAdapter("SUNRISE", sandbox.url(ServerName.CLEARINGHOUSE), SecretStr(CLEARINGHOUSE_API_KEY))


def recorded(ledger: Ledger, claim_ids: Sequence[str]) -> int:
    return sum(len(ledger.history(c)) for c in claim_ids)


async def test_answers_are_recorded_as_they_come_once_per_run(practice: Ledger, sandbox: SandboxEndpoints) -> None:
    ids = [c.claim_id for c in CLAIMS]
    seen_before_batch: list[int] = []

    async def note(_: int, __: Sequence[ClaimQuery]) -> None:
        seen_before_batch.append(await asyncio.to_thread(recorded, practice, ids))

    adapter = Scripted(clearinghouse(sandbox), note)
    try:
        outcomes = await live_check(practice, adapter, ids, POLICY, sleep=no_sleep, chunk_size=2)
    finally:
        await adapter.close()
    assert [o.claim_id for o in outcomes] == ids
    assert seen_before_batch == [0, 2, 4]  # each batch's answers were in the ledger before the next was asked
    [(run_id, run)] = practice.bot_runs(kind="live_check").items()
    assert (run.status, run.claims_checked, run.errors, run.lease_expires_at) == (BotRunStatus.SUCCEEDED, 6, 0, None)
    for claim in CLAIMS:
        [check] = practice.history(claim.claim_id)
        assert (check.source, check.bot_run_id) == (CheckSource.API, run_id)
        assert check.dedupe_key == live_dedupe_key(run_id, claim.claim_id)
        assert check.status is not ClaimStatus.UNAVAILABLE


async def test_a_refused_sign_in_holds_the_payer_until_a_person_clears_it(
    practice: Ledger, sandbox: SandboxEndpoints
) -> None:
    ids = [c.claim_id for c in CLAIMS[:5]]

    async def refuse_second(call: int, _: Sequence[ClaimQuery]) -> None:
        if call == 2:
            raise AuthenticationFailed("SUNRISE", Reason.SIGN_IN_REFUSED, evidence_ref="ev-login-1")

    adapter = Scripted(clearinghouse(sandbox), refuse_second)
    with pytest.raises(AuthenticationFailed):
        await live_check(practice, adapter, ids, POLICY, sleep=no_sleep, chunk_size=2)
    await adapter.close()
    first_run = next(iter(practice.bot_runs()))
    assert practice.bot_runs()[first_run].status is BotRunStatus.FAILED
    statuses = [[c.status for c in practice.history(i)] for i in ids]
    assert all(s != [ClaimStatus.UNAVAILABLE] for s in statuses[:2])  # the answers before the refusal are kept
    assert statuses[2:] == [[ClaimStatus.UNAVAILABLE]] * 3
    assert (practice.history(ids[4])[0].payer_status_text or "").startswith("check failed (auth_failed)")
    hold = practice.open_hold("SUNRISE")
    assert hold is not None and (hold.kind, hold.reason, hold.evidence_ref) == (
        "auth_failed",
        "sign_in_refused",
        "ev-login-1",
    )

    # The next run refuses to start: nothing asked, no run recorded, so no retry walks into a lockout.
    again = Scripted(clearinghouse(sandbox), refuse_second)
    with pytest.raises(AuthenticationFailed) as refused:
        await live_check(practice, again, ids, POLICY, sleep=no_sleep)
    assert refused.value.reason is Reason.PAYER_SUSPENDED
    assert again.calls == 0
    assert len(practice.bot_runs()) == 1

    with practice.writer() as writer:
        assert writer.clear_hold("SUNRISE", "jdoe") is not None
    resumed = Scripted(clearinghouse(sandbox), lambda *_: no_sleep(0))
    try:
        outcomes = await live_check(practice, resumed, ids[:1], POLICY, sleep=no_sleep)
    finally:
        await resumed.close()
    assert isinstance(outcomes[0], ClaimStatusResult)


async def test_a_stale_run_is_interrupted_when_a_live_check_starts(practice: Ledger, sandbox: SandboxEndpoints) -> None:
    with practice.writer() as writer:
        dead = writer.start_bot_run(BotRun(kind="live_check", payer_id="SUNRISE", trigger="cli"), timedelta(seconds=-1))
    adapter = clearinghouse(sandbox)
    try:
        await live_check(practice, adapter, [CLAIMS[0].claim_id], POLICY, sleep=no_sleep)
    finally:
        await adapter.close()
    runs = practice.bot_runs()
    assert runs[dead].status is BotRunStatus.INTERRUPTED and runs[dead].finished_at is not None
    assert [r.status for r in runs.values()] == [BotRunStatus.INTERRUPTED, BotRunStatus.SUCCEEDED]


async def test_a_live_run_keeps_its_lease_and_a_stopped_one_says_so(
    practice: Ledger, sandbox: SandboxEndpoints
) -> None:
    lease = timedelta(seconds=1.2)  # renewed every 0.4 s
    interrupted_meanwhile: list[int] = []

    async def slow(call: int, _: Sequence[ClaimQuery]) -> None:
        await asyncio.sleep(0.5)
        # Another process starting now must not take this run for dead: its heartbeat renews the lease.
        interrupted_meanwhile.append(await asyncio.to_thread(practice.interrupt_stale_runs))

    adapter = Scripted(clearinghouse(sandbox), slow)
    ids = [c.claim_id for c in CLAIMS]
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(live_check(practice, adapter, ids, POLICY, chunk_size=1, lease=lease), timeout=2.4)
    await adapter.close()
    assert interrupted_meanwhile and set(interrupted_meanwhile) == {0}
    [run] = practice.bot_runs().values()
    assert run.status is BotRunStatus.INTERRUPTED
    assert run.heartbeat_at is not None and run.heartbeat_at > run.started_at
    answered = [i for i in ids if practice.history(i)]
    assert 2 <= len(answered) < len(ids)
    assert run.claims_checked == len(answered)


async def test_an_answer_the_ledger_cannot_hold_is_kept_as_a_failed_attempt(
    practice: Ledger, sandbox: SandboxEndpoints
) -> None:
    class Odd(Scripted):
        async def check_claims(self, queries: Sequence[ClaimQuery]) -> list[ClaimOutcome]:
            answers = await super().check_claims(queries)
            return [
                a.model_copy(update={"category_code": "F2-TOO-LONG"}) if isinstance(a, ClaimStatusResult) else a
                for a in answers
            ]

    adapter = Odd(clearinghouse(sandbox), lambda *_: no_sleep(0))
    try:
        [outcome] = await live_check(practice, adapter, [CLAIMS[0].claim_id], POLICY, sleep=no_sleep)
    finally:
        await adapter.close()
    assert isinstance(outcome, ClaimCheckFailed) and outcome.kind is ErrorKind.LAYOUT_CHANGED
    [check] = practice.history(CLAIMS[0].claim_id)
    assert check.status is ClaimStatus.UNAVAILABLE
    assert "the answer is not what Claimbot expects" in (check.payer_status_text or "")
    assert next(iter(practice.bot_runs().values())).status is BotRunStatus.PARTIAL
