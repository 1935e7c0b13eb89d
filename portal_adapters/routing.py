"""The `api_then_portal` route: ask the clearinghouse first, and the portal only where the API's
answer is not enough.

A 277 cannot say why a claim was denied (no CARC/RARC), says nothing useful for a claim it cannot
find, and fails per claim when the payer is down. For those claims the portal is asked too, and its
answer is kept: it carries the reasons a specialist needs. Claims the API answered in full never
touch the portal, which keeps portal traffic (and its rate limits) low.

Corrected claims go through the API alone (an 837P with its 999 / 277CA): which route a payer's
corrections take is decided once, by `portal_adapters.factory.correction_adapter`, not here.
"""

from __future__ import annotations

from collections.abc import Sequence

from claims.status import ClaimStatus
from portal_adapters.contract import (
    ClaimCheckFailed,
    ClaimOutcome,
    ClaimQuery,
    CorrectionReceipt,
    CorrectionRequest,
    EligibilityQuery,
    EligibilityResult,
    PayerAdapter,
    Route,
)
from portal_adapters.errors import ErrorKind

#: Statuses whose API answer needs the portal's detail (reasons) before anyone can act on it.
NEEDS_REASONS = frozenset({ClaimStatus.DENIED, ClaimStatus.PARTIALLY_PAID, ClaimStatus.REJECTED})


def needs_portal(outcome: ClaimOutcome) -> bool:
    if isinstance(outcome, ClaimCheckFailed):
        return outcome.kind is not ErrorKind.BAD_CLAIM_DATA
    if outcome.status in (ClaimStatus.NOT_FOUND, ClaimStatus.UNKNOWN):
        return True
    return outcome.status in NEEDS_REASONS and not outcome.denials


class ApiThenPortal:
    """Implements PayerAdapter over two adapters for the same payer."""

    route = Route.API

    def __init__(self, api: PayerAdapter, portal: PayerAdapter) -> None:
        self.payer_id = api.payer_id
        self.api = api
        self.portal = portal

    async def open(self) -> None:
        await self.api.open()

    async def close(self) -> None:
        await self.api.close()
        await self.portal.close()

    async def check_claims(self, queries: Sequence[ClaimQuery]) -> list[ClaimOutcome]:
        outcomes = dict(zip((q.claim_id for q in queries), await self.api.check_claims(queries), strict=True))
        second = [q for q in queries if needs_portal(outcomes[q.claim_id])]
        if second:
            outcomes.update(zip((q.claim_id for q in second), await self.portal.check_claims(second), strict=True))
        return [outcomes[q.claim_id] for q in queries]

    async def check_eligibility(self, query: EligibilityQuery) -> EligibilityResult:
        answer = await self.api.check_eligibility(query)
        return answer if answer.found else await self.portal.check_eligibility(query)

    async def submit_correction(self, request: CorrectionRequest, *, dry_run: bool = False) -> CorrectionReceipt:
        return await self.api.submit_correction(request, dry_run=dry_run)
