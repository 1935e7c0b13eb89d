"""Console mode: the same answers as Slack's cards, as plain text (`claimbot ask "..."`, the demo, teams
without Slack). Same content, same order, no Slack markup."""

from __future__ import annotations

import re

from assistant.answers import Answer, DenialsAnswer, NotFoundAnswer, QueueAnswer, StatusAnswer
from assistant.cards import HELP_LINES, money
from assistant.intents import Window


def _plain(text: str) -> str:
    return re.sub(r"[`*]", "", text)


def _status(answer: StatusAnswer) -> list[str]:
    code = ":".join(c for c in (answer.category_code, answer.status_code) if c)
    official = " / ".join(t for t in (answer.category_text, answer.status_text) if t)
    checked = answer.last_checked_at.strftime("%Y-%m-%d %H:%M UTC") if answer.last_checked_at else "never"
    route = f" via {answer.last_checked_route.value}" if answer.last_checked_route else ""
    failed = " (that check got no answer)" if answer.last_check_failed else ""
    next_check = answer.next_check.isoformat() if answer.next_check else ("none: final" if answer.final else "-")
    lines = [
        f"Claim {answer.claim_id} · {answer.payer_name} ({answer.payer_id}) · patient {answer.patient_initials}",
        f"Status: {answer.status.value.replace('_', ' ')}" + (f" ({code} {official})".rstrip() if code else ""),
    ]
    if answer.payer_words:
        lines.append(f"Payer says: {answer.payer_words}")
    lines += [
        f"Billed {money(answer.billed)} · paid {money(answer.paid)}",
        f"Last checked: {checked}{route}{failed} · next check: {next_check}",
        f"Assigned to: {answer.assignee_name or 'nobody'}",
    ]
    for reason in answer.denials:
        lines.append(f"Denial: {reason.text}" + (f" ({money(reason.amount)})" if reason.amount is not None else ""))
        lines += [f"  Remark: {remark}" for remark in reason.remarks]
        if reason.next_step:
            lines.append(f"  Next step: {reason.next_step}")
    return lines


def render_text(answer: Answer) -> str:
    if isinstance(answer, StatusAnswer):
        lines = _status(answer)
    elif isinstance(answer, NotFoundAnswer):
        if answer.claim_id is None:
            lines = ["That looks like a member id, not a claim id. Ask by claim id, e.g. claimbot ask 'claim 1001'."]
        else:
            lines = [f"I have no claim {answer.claim_id} in the ledger."]
            if answer.similar:
                lines.append("Did you mean " + ", ".join(answer.similar) + "?")
    elif isinstance(answer, DenialsAnswer):
        where = f" from {answer.payer_id}" if answer.payer_id else ""
        period = "today" if answer.window is Window.TODAY else "in the last 7 days"
        lines = [f"{answer.total} denial{'s' if answer.total != 1 else ''}{where} {period}"]
        lines += [
            f"  {r.claim_id} {r.payer_id} · {money(r.billed)} · {r.status.value.replace('_', ' ')}"
            + (f" · {'; '.join(r.reasons)}" if r.reasons else "")
            for r in answer.rows
        ]
    elif isinstance(answer, QueueAnswer):
        lines = [f"Queue of {answer.actor_name}: {len(answer.rows)} claim{'s' if len(answer.rows) != 1 else ''}"]
        lines += [
            f"  {s.claim_id} {s.payer_id} · {money(s.billed_amount)} · {s.status.value.replace('_', ' ')}"
            for s in answer.rows
        ]
    else:
        lines = [f"I did not understand '{answer.unknown_word}'." if answer.unknown_word else "I can answer:"]
        lines += [f"  {_plain(line)}" for line in HELP_LINES]
    return "\n".join(lines)
