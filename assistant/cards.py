"""Block Kit for answers: the claim status card with its buttons, and the lists, help and notices.

Every message's `text` (what notifications and lock screens show) is generic: a claim id and a
status at most. Buttons carry only the claim id as their value.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from assistant.answers import Answer, DenialsAnswer, HelpAnswer, NotFoundAnswer, QueueAnswer, StatusAnswer
from assistant.intents import Window

CHECK_NOW = "claim_check_now"
RESUBMIT = "claim_resubmit"
ASSIGN = "claim_assign"
ESCALATE = "claim_escalate"
CLAIM_ACTIONS = (CHECK_NOW, RESUBMIT, ASSIGN, ESCALATE)

Block = dict[str, Any]

HELP_LINES = (
    "`/claim 1001` or `/claim status 1001`: the claim's status card",
    "`/claim denials [payer] [today|week]`: denials recorded today or this week",
    "`/claim queue`: the claims assigned to you",
    "`/claim help`: this list",
    "Or ask in plain words in a DM, by mentioning me, or in the assistant panel:"
    ' "what\'s the status of claim 1001?", "any new denials from Sunrise?"',
)


def money(amount: Decimal | None) -> str:
    return "-" if amount is None else f"${amount:,.2f}"


def when(at: datetime | None) -> str:
    """A time Slack shows in the reader's own time zone, with a UTC fallback."""
    if at is None:
        return "never"
    fallback = at.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _fields(*pairs: tuple[str, str]) -> Block:
    return {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{v}"[:2000]} for k, v in pairs]}


def _button(label: str, action_id: str, value: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:3000]}]}


def status_blocks(answer: StatusAnswer, note: str | None = None) -> list[Block]:
    code = ":".join(c for c in (answer.category_code, answer.status_code) if c)
    official = " / ".join(t for t in (answer.category_text, answer.status_text) if t)
    said = f"`{code}` {official}".strip() if code else "no payer code yet"
    route = f" via {answer.last_checked_route.value}" if answer.last_checked_route else ""
    failed = " (that check got no answer)" if answer.last_check_failed else ""
    next_check = answer.next_check.isoformat() if answer.next_check else ("none: final" if answer.final else "-")
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Claim {answer.claim_id}"[:150]}},
        _fields(
            ("Payer", f"{answer.payer_name} ({answer.payer_id})"),
            ("Status", f"*{answer.status.value.replace('_', ' ')}*"),
            ("Billed", money(answer.billed)),
            ("Paid", money(answer.paid)),
            ("Last checked", f"{when(answer.last_checked_at)}{route}{failed}"),
            ("Next check", next_check),
            ("Patient", answer.patient_initials),
            ("Assigned to", answer.assignee_name or "nobody"),
        ),
        _section(f"*Payer code:* {said}" + (f"\n>{answer.payer_words}" if answer.payer_words else "")),
    ]
    for reason in answer.denials:
        lines = [f"*Denial:* {reason.text}" + (f" ({money(reason.amount)})" if reason.amount is not None else "")]
        lines += [f"Remark: {remark}" for remark in reason.remarks]
        if reason.next_step:
            lines.append(f"*Next step:* {reason.next_step}")
        blocks.append(_section("\n".join(lines)))
    if note:
        blocks.append(_context(note))
    value = answer.claim_id
    blocks.append(
        {
            "type": "actions",
            "block_id": "claim_actions",
            "elements": [
                _button("Check now", CHECK_NOW, value, "primary"),
                _button("Resubmit", RESUBMIT, value),
                _button("Assign to me", ASSIGN, value),
                _button("Escalate", ESCALATE, value, "danger"),
            ],
        }
    )
    return blocks


def not_found_blocks(answer: NotFoundAnswer) -> list[Block]:
    if answer.claim_id is None:
        return [_section("That looks like a member id, not a claim id. Ask by claim id, e.g. `/claim 1001`.")]
    text = f"I have no claim `{answer.claim_id}` in the ledger."
    if answer.similar:
        text += " Did you mean " + ", ".join(f"`{c}`" for c in answer.similar) + "?"
    else:
        text += " Check the id on the claim (it is the practice's claim id, not the payer's claim number)."
    return [_section(text), _context("`/claim help` lists what I can answer.")]


def denials_blocks(answer: DenialsAnswer) -> list[Block]:
    where = f" from {answer.payer_id}" if answer.payer_id else ""
    period = "today" if answer.window is Window.TODAY else "in the last 7 days"
    if not answer.rows:
        return [_section(f"No denials{where} {period}.")]
    lines = [
        f"`{r.claim_id}` {r.payer_id} · {money(r.billed)} · {r.status.value.replace('_', ' ')}"
        + (f" · {'; '.join(r.reasons)}" if r.reasons else "")
        for r in answer.rows
    ]
    more = answer.total - len(answer.rows)
    blocks = [
        _section(f"*{answer.total} denial{'s' if answer.total != 1 else ''}{where} {period}*"),
        _section("\n".join(lines)),
    ]
    if more > 0:
        blocks.append(_context(f"and {more} more: `claimbot claims list --status denied` has them all"))
    return blocks


def queue_blocks(answer: QueueAnswer) -> list[Block]:
    if not answer.rows:
        return [_section("Nothing is assigned to you. *Assign to me* on a claim card puts it here.")]
    lines = [
        f"`{s.claim_id}` {s.payer_id} · {money(s.billed_amount)} · {s.status.value.replace('_', ' ')}"
        for s in answer.rows
    ]
    return [
        _section(f"*Your queue: {len(answer.rows)} claim{'s' if len(answer.rows) != 1 else ''}*"),
        _section("\n".join(lines)),
    ]


def help_blocks(answer: HelpAnswer) -> list[Block]:
    intro = (
        f"I did not understand `{answer.unknown_word}`. Here is what I can answer:"
        if answer.unknown_word
        else "Here is what I can answer:"
    )
    return [_section(intro), _section("\n".join(f"• {line}" for line in HELP_LINES))]


def answer_blocks(answer: Answer) -> list[Block]:
    if isinstance(answer, StatusAnswer):
        return status_blocks(answer)
    if isinstance(answer, NotFoundAnswer):
        return not_found_blocks(answer)
    if isinstance(answer, DenialsAnswer):
        return denials_blocks(answer)
    if isinstance(answer, QueueAnswer):
        return queue_blocks(answer)
    return help_blocks(answer)


def answer_text(answer: Answer) -> str:
    """The notification text: generic, never more than a claim id and a status."""
    if isinstance(answer, StatusAnswer):
        return f"Claim {answer.claim_id}: {answer.status.value.replace('_', ' ')}"
    if isinstance(answer, NotFoundAnswer):
        return "No such claim in the ledger"
    if isinstance(answer, DenialsAnswer):
        return f"{answer.total} denials"
    if isinstance(answer, QueueAnswer):
        return f"Your queue: {len(answer.rows)} claims"
    return "What I can answer"


def notice_blocks(text: str) -> list[Block]:
    return [_section(text)]
