"""A live check: ask the payer now about some claims, retry what the policy allows, record everything.

Each answer is appended to the claim's history. A check that could not get an answer is recorded
too, as `unavailable` with the reason and the evidence reference, so the history shows every
attempt without changing the claim's status.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from claims.ledger import Ledger
from claims.models import BotRun, BotRunStatus, CheckSource, StatusCheck
from claims.status import ClaimStatus
from portal_adapters.contract import ClaimCheckFailed, ClaimOutcome, ClaimQuery, ClaimStatusResult, PayerAdapter
from portal_adapters.errors import AdapterError, error_for
from portal_adapters.retry import RetryPolicy

Sleep = Callable[[float], Awaitable[None]]


async def check_with_retry(
    adapter: PayerAdapter, queries: Sequence[ClaimQuery], policy: RetryPolicy, sleep: Sleep = asyncio.sleep
) -> list[ClaimOutcome]:
    """Check claims; re-check those that failed for a retryable reason, as the policy allows.

    Errors that stop the payer are raised at once; so is a retryable error that outlasts the policy.
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
                decision = policy.decide(error_for(outcome.kind, outcome.payer_id, outcome.message), attempt)
                if decision.retry:
                    retry_later.append(query)
                    delay = max(delay, decision.delay_s)
        pending = retry_later
        if pending:
            await sleep(delay)
    return [outcomes[q.claim_id] for q in queries]


def failure_check(outcome: ClaimCheckFailed, source: CheckSource, bot_run_id: int | None) -> StatusCheck:
    return StatusCheck(
        claim_id=outcome.claim_id,
        source=source,
        status=ClaimStatus.UNAVAILABLE,
        payer_status_text=f"check failed ({outcome.kind.value}): {outcome.message}"[:500],
        evidence_ref=outcome.evidence_ref,
        bot_run_id=bot_run_id,
    )


async def live_check(
    ledger: Ledger,
    adapter: PayerAdapter,
    claim_ids: Sequence[str],
    policy: RetryPolicy,
    trigger: str = "cli",
    sleep: Sleep = asyncio.sleep,
) -> list[ClaimOutcome]:
    """Check the claims now through `adapter` and record every outcome against its claim."""
    queries = [ClaimQuery.from_claim(ledger.get_claim(claim_id)) for claim_id in claim_ids]
    with ledger.writer() as writer:
        run_id = writer.start_bot_run(BotRun(kind="live_check", payer_id=adapter.payer_id, trigger=trigger))
    source = CheckSource.PORTAL if adapter.route.value == "portal" else CheckSource.API
    try:
        outcomes = await check_with_retry(adapter, queries, policy, sleep)
    except AdapterError as err:
        with ledger.writer() as writer:
            for query in queries:
                failed = ClaimCheckFailed(
                    claim_id=query.claim_id,
                    payer_id=adapter.payer_id,
                    kind=err.kind,
                    message=err.message,
                    evidence_ref=err.evidence_ref,
                )
                writer.record_status_check(failure_check(failed, source, run_id))
            writer.finish_bot_run(run_id, BotRunStatus.FAILED, len(queries), len(queries), f"{err.kind.value}")
        raise
    errors = 0
    with ledger.writer() as writer:
        for outcome in outcomes:
            if isinstance(outcome, ClaimStatusResult):
                writer.record_status_check(outcome.to_status_check(bot_run_id=run_id))
            else:
                errors += 1
                writer.record_status_check(failure_check(outcome, source, run_id))
        status = BotRunStatus.SUCCEEDED if not errors else BotRunStatus.PARTIAL
        writer.finish_bot_run(run_id, status, len(outcomes), errors, None)
    return outcomes
