"""The MFA broker: a portal wants a one-time code the bot cannot make itself (an SMS or e-mailed code,
an authenticator with no stored secret), so the credential's owner is asked in Slack.

`MfaBroker.request_code(payer_id, owner)` DMs the owner a button; the button opens a modal where they
type the code; `submit` hands it to the waiting sign-in. The wait is bounded (`timeout_s`): after it the
request is given up cleanly (the DM says so, a late code is refused) and `request_code` returns None, so
the sign-in ends as a failed sign-in of that payer, never a hang. Only the owner may answer, once; the
code is registered with the log redactor the moment it arrives and is never put in a message.

It is a `portal_adapters.credentials.OneTimeCodeSource` (`code_for`): a portal sign-in of an account with
`mfa: broker` awaits it for `{account.totp}`, and the owner asked is the account's `mfa_owner`. The app
hands it to the bots it runs (Check now; `claimbot serve`'s scheduler through BotContext.codes).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

import structlog

from assistant.alerts import SlackPoster, SlackUnavailable
from claims.phi import register_secret
from portal_adapters.credentials import PortalAccount

log = structlog.get_logger("assistant.mfa")

OPEN, SUBMIT = "mfa_open", "mfa_code"  # the DM's button action_id, the modal's callback_id
CODE_BLOCK, CODE_INPUT = "mfa_code_block", "mfa_code_input"
CODE = re.compile(r"^[0-9A-Za-z]{4,10}$")


@dataclass
class _Request:
    payer_id: str
    owner: str
    answer: asyncio.Future[str]
    loop: asyncio.AbstractEventLoop
    channel: str | None = None
    ts: str | None = None


@dataclass
class MfaBroker:
    """One per app process; requests live in memory only (a code is useless after a minute or two)."""

    poster: SlackPoster
    timeout_s: float = 120.0
    _waiting: dict[str, _Request] = field(default_factory=dict)

    async def code_for(self, payer_id: str, account: PortalAccount, timeout_s: float) -> str | None:
        """The OneTimeCodeSource for a portal sign-in: ask the account's owner, within the shorter bound."""
        if account.mfa_owner is None:
            return None
        return await self.request_code(payer_id, account.mfa_owner, min(timeout_s, self.timeout_s))

    async def request_code(self, payer_id: str, owner: str, timeout_s: float | None = None) -> str | None:
        """Ask `owner` (a Slack user id) for `payer_id`'s one-time code; None when none came in time."""
        timeout_s = self.timeout_s if timeout_s is None else timeout_s
        request_id = secrets.token_hex(8)
        loop = asyncio.get_running_loop()
        request = _Request(payer_id, owner, loop.create_future(), loop)
        self._waiting[request_id] = request
        text = f"{payer_id} asks for a one-time code to sign in. Enter it within {timeout_s:.0f} seconds."
        try:
            request.channel = await self.poster.open_dm(owner)
            request.ts = await self.poster.post(request.channel, text, _ask_blocks(text, request_id), None)
            code = await asyncio.wait_for(asyncio.shield(request.answer), timeout=timeout_s)
        except SlackUnavailable as err:
            log.warning("mfa code not asked: slack unavailable", payer=payer_id, error=str(err))
            return None
        except TimeoutError:
            log.info("mfa code not given in time: sign-in given up", payer=payer_id, timeout_s=timeout_s)
            await self._close(
                request, f"No code came within {timeout_s:.0f} seconds: the bot gave up signing in to {payer_id}."
            )
            return None
        finally:
            self._waiting.pop(request_id, None)
        await self._close(request, f"Code received: signing in to {payer_id}.")
        return code

    def submit(self, request_id: str, user_id: str, code: str) -> str | None:
        """Hand a typed code to the waiting sign-in. None when taken, else why not (plain words, no code)."""
        request = self._waiting.get(request_id)
        if request is None or request.answer.done():
            return "This code request has ended (it was answered, or the bot gave up waiting)."
        if user_id != request.owner:
            return "Only the owner of this portal credential can enter its code."
        cleaned = code.strip().replace(" ", "")
        if not CODE.match(cleaned):
            return "A one-time code is 4 to 10 letters or digits."
        register_secret(cleaned)
        # the sign-in waits on its own loop (a bot's), the modal arrives on the app's: hand it over safely
        request.loop.call_soon_threadsafe(_give, request.answer, cleaned)
        return None

    async def _close(self, request: _Request, text: str) -> None:
        if request.channel and request.ts:
            try:
                await self.poster.update(request.channel, request.ts, text, [_section(text)])
            except SlackUnavailable:
                log.warning("mfa request message not updated: slack unavailable", payer=request.payer_id)

    def pending(self) -> int:
        return sum(1 for r in self._waiting.values() if not r.answer.done())

    def payer_for(self, request_id: str) -> str | None:
        """The payer a live request is for (the modal's label), or None once it ended."""
        request = self._waiting.get(request_id)
        return None if request is None else request.payer_id


def _give(answer: asyncio.Future[str], code: str) -> None:
    if not answer.done():
        answer.set_result(code)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _ask_blocks(text: str, request_id: str) -> list[dict[str, Any]]:
    return [
        _section(text),
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": OPEN,
                    "style": "primary",
                    "text": {"type": "plain_text", "text": "Enter the code"},
                    "value": request_id,
                }
            ],
        },
    ]


def code_modal(request_id: str, payer_id: str) -> dict[str, Any]:
    """The modal: one input; `private_metadata` is the opaque request id only."""
    return {
        "type": "modal",
        "callback_id": SUBMIT,
        "private_metadata": request_id,
        "title": {"type": "plain_text", "text": "One-time code"},
        "submit": {"type": "plain_text", "text": "Sign in"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": CODE_BLOCK,
                "label": {"type": "plain_text", "text": f"Code for {payer_id}"},
                "element": {"type": "plain_text_input", "action_id": CODE_INPUT, "max_length": 10},
            }
        ],
    }
