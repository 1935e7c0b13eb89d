"""The resubmission dialog: Resubmit button -> modal (what to correct, why) -> confirmation -> the guard
service (bots.resubmission), whose rules are never copied here. This module only builds the views,
reads what was typed, and carries it from one step to the next in `private_metadata` (claim id,
field paths and values, the reason: no PHI; the guard refuses a reason naming the patient).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from assistant.answers import StatusAnswer
from assistant.cards import Block, money

RESUBMIT_MODAL = "resubmit_claim"
RESUBMIT_CONFIRM = "resubmit_confirm"
APPROVE = "resubmit_approve"
CANCEL = "resubmit_cancel"

KIND_BLOCK, CHANGES_BLOCK, REASON_BLOCK = "kind", "changes", "reason"
EXAMPLE_CHANGES = "lines.1.modifiers=25,59\nlines.1.units=2"


class Draft(BaseModel):
    """What the person asked for, between the modal and the confirmation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    claim_id: str
    changes: dict[str, str] = {}
    reason: str = ""
    void: bool = False

    def metadata(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_metadata(cls, text: str) -> Draft | None:
        try:
            return cls.model_validate_json(text)
        except ValidationError:
            return None


def claim_of(private_metadata: str) -> str | None:
    try:
        found = json.loads(private_metadata or "{}").get("claim_id")
    except (ValueError, AttributeError):
        return None
    return found if isinstance(found, str) else None


def _plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text[:150]}


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _modal(callback_id: str, title: str, blocks: list[Block], metadata: str, submit: str | None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "title": _plain(title[:24]),
        "close": _plain("Close" if submit is None else "Cancel"),
        "private_metadata": metadata,
        "blocks": blocks,
    }
    if submit is not None:
        view["submit"] = _plain(submit)
    return view


def request_modal(answer: StatusAnswer, field_help: dict[str, str]) -> dict[str, Any]:
    """Step 1: what to correct (one FIELD=VALUE a line) or a void, and the reason."""
    fields = "\n".join(f"`{path}`: {what}" for path, what in field_help.items())
    blocks: list[Block] = [
        _section(
            f"*Claim {answer.claim_id}* · {answer.payer_name} · {answer.status.value.replace('_', ' ')} · "
            f"billed {money(answer.billed)}\nA corrected claim (frequency 7) replaces what the payer has; a void (8) "
            "cancels it. The payer's status is checked again before anything is sent."
        ),
        {
            "type": "input",
            "block_id": KIND_BLOCK,
            "label": _plain("Send"),
            "element": {
                "type": "radio_buttons",
                "action_id": KIND_BLOCK,
                "initial_option": {"text": _plain("A corrected claim"), "value": "corrected"},
                "options": [
                    {"text": _plain("A corrected claim"), "value": "corrected"},
                    {"text": _plain("A void"), "value": "void"},
                ],
            },
        },
        {
            "type": "input",
            "block_id": CHANGES_BLOCK,
            "optional": True,
            "label": _plain("What to correct (one FIELD=VALUE a line)"),
            "element": {
                "type": "plain_text_input",
                "action_id": CHANGES_BLOCK,
                "multiline": True,
                "placeholder": _plain(EXAMPLE_CHANGES),
            },
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": fields[:3000]}]},
        {
            "type": "input",
            "block_id": REASON_BLOCK,
            "label": _plain("Reason (no patient details)"),
            "element": {"type": "plain_text_input", "action_id": REASON_BLOCK, "max_length": 300},
        },
    ]
    return _modal(RESUBMIT_MODAL, "Resubmit a claim", blocks, json.dumps({"claim_id": answer.claim_id}), "Review")


def _value(values: dict[str, Any], block: str) -> Any:
    element = (values.get(block) or {}).get(block) or {}
    if element.get("type") == "radio_buttons":
        return (element.get("selected_option") or {}).get("value")
    return element.get("value")


def read_request(claim_id: str, values: dict[str, Any]) -> tuple[Draft | None, dict[str, str]]:
    """The draft from the modal's state, or the errors to show by block (never quoting what was typed)."""
    errors: dict[str, str] = {}
    changes: dict[str, str] = {}
    for number, line in enumerate(str(_value(values, CHANGES_BLOCK) or "").splitlines(), start=1):
        if not line.strip():
            continue
        path, equals, value = line.partition("=")
        if not equals or not path.strip():
            errors[CHANGES_BLOCK] = f"line {number}: write FIELD=VALUE, e.g. lines.1.modifiers=25,59"
            break
        changes[path.strip()] = value.strip()
    void = _value(values, KIND_BLOCK) == "void"
    if void and changes:
        errors[CHANGES_BLOCK] = "a void takes no changes: leave this empty, or choose a corrected claim"
    if not void and not changes and CHANGES_BLOCK not in errors:
        errors[CHANGES_BLOCK] = "say what to correct (one FIELD=VALUE a line), or choose a void"
    reason = str(_value(values, REASON_BLOCK) or "").strip()
    if not reason:
        errors[REASON_BLOCK] = "say why, in a few words (no patient details)"
    if errors:
        return None, errors
    return Draft(claim_id=claim_id, changes=changes, reason=reason, void=void), {}


def confirmation_modal(draft: Draft, answer: StatusAnswer, approval_above: Decimal | None) -> dict[str, Any]:
    """Step 2: what will happen, and who else must agree."""
    what = "a void (frequency 8)" if draft.void else "a corrected claim (frequency 7)"
    lines = [f"Send {what} for *claim {draft.claim_id}* to {answer.payer_name}?"]
    lines += [f"• `{path}` → `{value}`" for path, value in draft.changes.items()]
    lines.append(f"Reason: {draft.reason}")
    lines.append("The payer's status is checked first: a paid or in-process claim is not resubmitted.")
    if approval_above is not None and answer.billed > approval_above:
        lines.append(
            f"Billed {money(answer.billed)}, above {money(approval_above)}: a lead other than you must approve "
            "before anything is sent."
        )
    return _modal(RESUBMIT_CONFIRM, "Confirm resubmission", [_section("\n".join(lines))], draft.metadata(), "Send")


def working_modal(claim_id: str) -> dict[str, Any]:
    return _modal(
        RESUBMIT_CONFIRM,
        "Resubmitting",
        [_section(f"Checking claim {claim_id} with the payer, then sending. The result comes here and by DM.")],
        json.dumps({"claim_id": claim_id}),
        None,
    )


def outcome_modal(claim_id: str, message: str) -> dict[str, Any]:
    return _modal(RESUBMIT_CONFIRM, "Resubmission", [_section(message)], json.dumps({"claim_id": claim_id}), None)


def approval_blocks(claim_id: str, submission_id: int, requester: str, message: str) -> list[Block]:
    """A lead's DM: approve or cancel a waiting submission (the guard checks again on the click)."""
    value = str(submission_id)
    return [
        _section(f"<@{requester}> asks to resubmit *claim {claim_id}* (submission {submission_id}): {message}"),
        {
            "type": "actions",
            "block_id": "resubmit_approval",
            "elements": [
                {
                    "type": "button",
                    "text": _plain("Approve and send"),
                    "action_id": APPROVE,
                    "value": value,
                    "style": "primary",
                    "confirm": {
                        "title": _plain("Send the corrected claim?"),
                        "text": {"type": "plain_text", "text": "The payer's status is checked again first."},
                        "confirm": _plain("Send"),
                        "deny": _plain("Not yet"),
                    },
                },
                {"type": "button", "text": _plain("Cancel it"), "action_id": CANCEL, "value": value},
            ],
        },
    ]
