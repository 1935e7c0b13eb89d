"""App Home: the daily digest as of now for whoever opens the tab, and their own queue (claims assigned to
them, assistant.assignments) with each claim's status and its open denial alert, if any. PHI-free like
every other surface: claim ids, payers, statuses, amounts. Slack allows 100 blocks: the queue shows 20.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from assistant.assignments import claims_of
from assistant.digest import build_digest, digest_blocks
from claims.ledger import ClaimNotFoundError, Ledger
from claims.team import Actor

QUEUE_SHOWN = 20
REFRESH = "home_refresh"


def home_view(ledger: Ledger, actor: Actor, now: datetime) -> dict[str, Any]:
    blocks = digest_blocks(build_digest(ledger, now), title="Claims today")
    blocks.append({"type": "divider"})
    queue = claims_of(ledger, actor, limit=QUEUE_SHOWN + 1)
    lines = []
    for claim_id in queue[:QUEUE_SHOWN]:
        try:
            summary = ledger.summary(claim_id)
        except ClaimNotFoundError:
            continue
        paid = f", paid ${summary.paid_amount:,.2f}" if summary.paid_amount is not None else ""
        billed = f"billed ${summary.billed_amount:,.2f}"
        lines.append(f"• claim {claim_id} · {summary.payer_id} · {summary.status.value}{paid} · {billed}")
    if len(queue) > QUEUE_SHOWN:
        lines.append("and more: `/claim queue` lists them all")
    blocks.append(
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "*Your queue*\n"
                + ("\n".join(lines) or "Nothing assigned to you. *Assign to me* on a card or an alert adds a claim."),
            },
        }
    )
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": REFRESH,
                    "text": {"type": "plain_text", "text": "Refresh"},
                    "value": "home",
                }
            ],
        }
    )
    return {"type": "home", "blocks": blocks}
