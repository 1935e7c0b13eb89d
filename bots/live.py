"""A live check: ask the payer now about some claims, retry what the policy allows, record everything.

Each answer is appended to the claim's history as soon as live_check has it, in its own short
transaction, so a run that is killed keeps every answer it got. Claims are asked in small batches
(`chunk_size`): the adapter works a batch with the concurrency it allows (browser sessions, the
clearinghouse's slots), and answers of a batch are recorded as the batch returns, while the
adapter is not asked from two places at once. A check that could not get an answer is recorded
too, as `unavailable` with the reason and the evidence reference, so the history shows every
claim the run asked about without changing the claim's status.

Each answer of a run carries the dedupe key `live:<run id>:<claim id>`: a run records each claim at
most once, and a second run asks and records again (a new observation).

The run renews a lease while it works (a heartbeat in `bot_runs`). A run whose process died keeps
status `running` only until the next live check starts: then its lease has run out and it is
marked `interrupted`. A payer whose sign-in was refused is held (`payer_holds`) and no live check
starts for it until a person clears the hold (`claimbot payers resume`).

Ledger calls run in a worker thread, so they never block the event loop the browser shares.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from pydantic import ValidationError

from claims.ledger import ClaimNotFoundError, Ledger, PayerHold
from claims.models import BotRun, BotRunStatus, CheckSource, StatusCheck, utc_now
from claims.status import ClaimStatus
from portal_adapters.contract import (
    ClaimCheckFailed,
    ClaimOutcome,
    ClaimQuery,
    ClaimStatusResult,
    EligibilityQuery,
    EligibilityResult,
    PayerAdapter,
)
from portal_adapters.errors import (
    AdapterError,
    AuthenticationFailed,
    LayoutChanged,
    Reason,
    error_for,
    suspends_payer,
)
from portal_adapters.retry import RetryPolicy

Sleep = Callable[[float], Awaitable[None]]
OnOutcome = Callable[[ClaimOutcome], Awaitable[None]]

#: Claims asked per adapter call: enough for the adapter's own concurrency (sandbox playbooks open
#: 2 sessions per account, the clearinghouse 4 requests), few enough that a kill loses little.
DEFAULT_CHUNK_SIZE = 4
#: A running run that has not renewed its lease for this long is taken for dead.
DEFAULT_LEASE = timedelta(seconds=60)


async def check_with_retry(
    adapter: PayerAdapter,
    queries: Sequence[ClaimQuery],
    policy: RetryPolicy,
    sleep: Sleep = asyncio.sleep,
    on_outcome: OnOutcome | None = None,
) -> list[ClaimOutcome]:
    """Check claims; re-check those that failed for a retryable reason, as the policy allows.

    `on_outcome` is awaited with each claim's final outcome as soon as it is final. Errors that stop
    the payer are raised at once; so is a retryable error that outlasts the policy.
    """
    outcomes: dict[str, ClaimOutcome] = {}
    pending = list(queries)
    attempt = 0
    while pending:
        attempt += 1
        try:
            batch = await adapter.check_claims(pending)
        except AdapterError as err:
            decision = policy.decide(err, attempt)
            if not decision.retry:
                raise
            await sleep(decision.delay_s)
            continue
        retry_later = []
        delay = 0.0
        for query, outcome in zip(pending, batch, strict=True):
            outcomes[query.claim_id] = outcome
            if isinstance(outcome, ClaimCheckFailed):
                decision = policy.decide(error_for(outcome.kind, outcome.payer_id, outcome.reason), attempt)
                if decision.retry:
                    retry_later.append(query)
                    delay = max(delay, decision.delay_s)
                    continue
            if on_outcome is not None:
                await on_outcome(outcome)
        pending = retry_later
        if pending:
            await sleep(delay)
    return [outcomes[q.claim_id] for q in queries]


def failure_check(outcome: ClaimCheckFailed, source: CheckSource, bot_run_id: int | None) -> StatusCheck:
    """An attempt without an answer, as history: kind and the catalogue's words (no PHI by construction)."""
    return StatusCheck(
        claim_id=outcome.claim_id,
        source=source,
        status=ClaimStatus.UNAVAILABLE,
        payer_status_text=f"check failed ({outcome.kind.value}): {outcome.message}",
        evidence_ref=outcome.evidence_ref,
        bot_run_id=bot_run_id,
    )


def as_check(
    outcome: ClaimOutcome, source: CheckSource, payer_id: str, bot_run_id: int | None
) -> tuple[ClaimOutcome, StatusCheck]:
    """The history entry of an outcome: the answer, or a failed attempt. An answer the ledger's models
    cannot hold becomes a failed attempt (unexpected_answer), never a lost one."""
    if isinstance(outcome, ClaimStatusResult):
        try:
            return outcome, outcome.to_status_check(bot_run_id=bot_run_id)
        except ValidationError:
            outcome = ClaimCheckFailed.from_error(
                outcome.claim_id,
                LayoutChanged(payer_id, Reason.UNEXPECTED_ANSWER, evidence_ref=outcome.evidence_ref),
            )
    return outcome, failure_check(outcome, source, bot_run_id)


def source_of(adapter: PayerAdapter) -> CheckSource:
    return CheckSource.PORTAL if adapter.route.value == "portal" else CheckSource.API


def live_dedupe_key(run_id: int, claim_id: str) -> str:
    return f"live:{run_id}:{claim_id}"


class _RunRecorder:
    """Writes one run's answers, each in its own transaction, off the event loop."""

    def __init__(self, ledger: Ledger, run_id: int, source: CheckSource, payer_id: str) -> None:
        self.ledger = ledger
        self.run_id = run_id
        self.source = source
        self.payer_id = payer_id
        self.outcomes: dict[str, ClaimOutcome] = {}
        self.errors = 0

    async def record(self, outcome: ClaimOutcome) -> None:
        outcome, check = as_check(outcome, self.source, self.payer_id, self.run_id)
        check = check.model_copy(update={"dedupe_key": live_dedupe_key(self.run_id, outcome.claim_id)})
        with contextlib.suppress(ClaimNotFoundError):  # the claim left the ledger while we asked
            await asyncio.to_thread(self.ledger.record_status_check, check)
        self.outcomes[outcome.claim_id] = outcome
        self.errors += isinstance(outcome, ClaimCheckFailed)

    async def record_unanswered(self, queries: Sequence[ClaimQuery], err: AdapterError) -> None:
        """Every claim of the run without an answer yet gets the error that stopped the run."""
        for query in queries:
            if query.claim_id not in self.outcomes:
                await self.record(ClaimCheckFailed.from_error(query.claim_id, err))

    def finish(self, status: BotRunStatus, note: str | None) -> None:
        with self.ledger.writer() as writer:
            writer.finish_bot_run(self.run_id, status, len(self.outcomes), self.errors, note)


def _queries(ledger: Ledger, claim_ids: Sequence[str]) -> list[ClaimQuery]:
    return [ClaimQuery.from_claim(ledger.get_claim(claim_id)) for claim_id in dict.fromkeys(claim_ids)]


def _refuse_if_held(ledger: Ledger, payer_id: str) -> None:
    """Runs that died are ended first; then a payer a person must clear stops the run before it signs in."""
    ledger.interrupt_stale_runs()
    hold = ledger.open_hold(payer_id)
    if hold is not None:
        raise AuthenticationFailed(payer_id, Reason.PAYER_SUSPENDED, evidence_ref=hold.evidence_ref)


def _start_run(ledger: Ledger, run: BotRun, lease: timedelta) -> int:
    with ledger.writer() as writer:
        return writer.start_bot_run(run, lease)


async def _keep_alive(recorder: _RunRecorder, lease: timedelta) -> None:
    def renew() -> None:
        with recorder.ledger.writer() as writer:
            writer.renew_bot_run(recorder.run_id, lease, len(recorder.outcomes), recorder.errors)

    while True:
        await asyncio.sleep(lease.total_seconds() / 3)
        await asyncio.to_thread(renew)


def hold_payer(ledger: Ledger, payer_id: str, err: AdapterError, run_id: int | None = None) -> None:
    """Suspend the payer after a refused sign-in or a locked account, until a person clears it."""
    ledger.hold_payer(
        PayerHold(
            payer_id=payer_id,
            kind=err.kind.value,
            reason=err.reason.value,
            since=utc_now(),
            evidence_ref=err.evidence_ref,
            bot_run_id=run_id,
        )
    )


async def live_check(
    ledger: Ledger,
    adapter: PayerAdapter,
    claim_ids: Sequence[str],
    policy: RetryPolicy,
    trigger: str = "cli",
    sleep: Sleep = asyncio.sleep,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    lease: timedelta = DEFAULT_LEASE,
) -> list[ClaimOutcome]:
    """Check the claims now through `adapter` and record every outcome against its claim as it comes.

    Raises AuthenticationFailed (reason payer_suspended) without asking anything when the payer is
    held, ClaimNotFoundError for a claim id the ledger lacks, and the AdapterError that stopped the
    payer (after recording it against every claim left, and holding the payer if it was a refused
    sign-in).
    """
    payer_id = adapter.payer_id
    await asyncio.to_thread(_refuse_if_held, ledger, payer_id)
    queries = await asyncio.to_thread(_queries, ledger, claim_ids)
    source = source_of(adapter)
    run_id = await asyncio.to_thread(
        _start_run, ledger, BotRun(kind="live_check", payer_id=payer_id, trigger=trigger), lease
    )
    recorder = _RunRecorder(ledger, run_id, source, payer_id)
    heartbeat = asyncio.create_task(_keep_alive(recorder, lease))
    try:
        for start in range(0, len(queries), chunk_size):
            await check_with_retry(adapter, queries[start : start + chunk_size], policy, sleep, recorder.record)
    except AdapterError as err:
        await recorder.record_unanswered(queries, err)
        if suspends_payer(err):
            await asyncio.to_thread(hold_payer, ledger, payer_id, err, run_id)
        await asyncio.to_thread(recorder.finish, BotRunStatus.FAILED, err.kind.value)
        raise
    except BaseException:  # cancelled or interrupted: say so now rather than when the lease runs out
        recorder.finish(BotRunStatus.INTERRUPTED, "stopped before it finished")
        raise
    finally:
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat
    status = BotRunStatus.PARTIAL if recorder.errors else BotRunStatus.SUCCEEDED
    await asyncio.to_thread(recorder.finish, status, None)
    return [recorder.outcomes[q.claim_id] for q in queries]


async def live_eligibility(ledger: Ledger, adapter: PayerAdapter, query: EligibilityQuery) -> EligibilityResult:
    """Ask about a member's coverage now and record the answer, under the same holds as claim checks:
    a held payer is refused before signing in, and a refused sign-in holds the payer."""
    payer_id = adapter.payer_id
    await asyncio.to_thread(_refuse_if_held, ledger, payer_id)
    try:
        result = await adapter.check_eligibility(query)
    except AdapterError as err:
        if suspends_payer(err):
            await asyncio.to_thread(hold_payer, ledger, payer_id, err, None)
        raise
    await asyncio.to_thread(ledger.record_eligibility, result.to_eligibility_check(query))
    return result
