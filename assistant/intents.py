"""What a person asked, as a typed Intent: from `/claim ...` (a small grammar) or from plain phrasing in a
mention, a DM or the Assistant panel ("what's the status of claim 1001?", "any new denials from Acme?").

Parsing is pure and knows only the payers' ids and names (to find "Acme" in a sentence); it never
looks anything up, so Slack and `claimbot ask` read a question the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class IntentKind(StrEnum):
    STATUS = "status"
    DENIALS = "denials"
    QUEUE = "queue"
    HELP = "help"
    UNKNOWN = "unknown"


class Window(StrEnum):
    TODAY = "today"
    WEEK = "week"


class Intent(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: IntentKind
    claim_id: str | None = None
    payer_id: str | None = None
    window: Window = Window.WEEK
    #: UNKNOWN only: the first word we did not understand (a command word, never the whole text)
    unknown_word: str | None = None


class PayerName(BaseModel):
    """A payer as a sentence may name it: its id ("SUNRISE") or a word of its name ("Sunrise")."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str


_MENTION = re.compile(r"<[@#!][^>]*>")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]*")
#: A claim id as practices write them: letters, digits, dashes, with at least one digit ("1001", "C-2044").
_CLAIM_ID = re.compile(r"^(?=[A-Za-z0-9._\-]*\d)[A-Za-z0-9][A-Za-z0-9._\-]{0,49}$")
_FILLER = frozenset({"the", "of", "for", "a", "an", "is", "s", "what", "whats", "what's", "me", "show", "please"})
_GENERIC_PAYER_WORDS = frozenset({"health", "plan", "mutual", "services", "insurance", "medicare", "medicaid", "care"})


def _words(text: str) -> list[str]:
    return [w.strip(".-_") for w in _WORD.findall(_MENTION.sub(" ", text)) if w.strip(".-_")]


def _is_claim_id(word: str) -> bool:
    return bool(_CLAIM_ID.match(word))


def _window(words: list[str], default: Window) -> Window:
    lowered = {w.lower() for w in words}
    if lowered & {"today", "new", "overnight", "tonight"}:
        return Window.TODAY
    if lowered & {"week", "weekly", "recent"}:
        return Window.WEEK
    return default


def _payer(words: list[str], payers: Iterable[PayerName]) -> str | None:
    lowered = [w.lower() for w in words]
    for payer in payers:
        name_words = {w.lower() for w in _words(payer.name)} - _GENERIC_PAYER_WORDS
        if payer.id.lower() in lowered or name_words.intersection(lowered):
            return payer.id
    return None


def parse_command(text: str, payers: Iterable[PayerName] = ()) -> Intent:
    """`/claim 1001`, `/claim status 1001`, `/claim denials [payer] [today|week]`, `/claim queue`, `/claim help`."""
    words = _words(text)
    if not words or words[0].lower() in ("help", "?"):
        return Intent(kind=IntentKind.HELP)
    first = words[0].lower()
    if first == "status":
        if len(words) > 1 and _is_claim_id(words[1]):
            return Intent(kind=IntentKind.STATUS, claim_id=words[1])
        return Intent(kind=IntentKind.UNKNOWN, unknown_word="status")
    if first in ("denials", "denial", "denied"):
        rest = words[1:]
        return Intent(kind=IntentKind.DENIALS, payer_id=_payer(rest, payers), window=_window(rest, Window.WEEK))
    if first in ("queue", "mine", "my"):
        return Intent(kind=IntentKind.QUEUE)
    if len(words) == 1 and _is_claim_id(words[0]):
        return Intent(kind=IntentKind.STATUS, claim_id=words[0])
    return Intent(kind=IntentKind.UNKNOWN, unknown_word=words[0][:30])


def parse_phrase(text: str, payers: Iterable[PayerName] = ()) -> Intent:
    """Plain words from a mention or a DM. A `/claim`-style text is read with the command grammar first."""
    words = _words(text)
    if not words:
        return Intent(kind=IntentKind.HELP)
    command = parse_command(text, payers)
    if command.kind is not IntentKind.UNKNOWN:
        return command
    lowered = [w.lower() for w in words]
    if any(w.startswith("denial") or w == "denied" for w in lowered):
        return Intent(kind=IntentKind.DENIALS, payer_id=_payer(words, payers), window=_window(words, Window.WEEK))
    if {"queue", "assigned"} & set(lowered) or ("my" in lowered and "claims" in lowered):
        return Intent(kind=IntentKind.QUEUE)
    if {"help", "can", "how"} & set(lowered) and not any(_is_claim_id(w) for w in words):
        return Intent(kind=IntentKind.HELP)
    for index, word in enumerate(lowered):
        if word in ("claim", "claims", "#") and index + 1 < len(words) and _is_claim_id(words[index + 1]):
            return Intent(kind=IntentKind.STATUS, claim_id=words[index + 1])
    candidates = [w for w in words if _is_claim_id(w) and w.lower() not in _FILLER]
    if len(candidates) == 1:
        return Intent(kind=IntentKind.STATUS, claim_id=candidates[0])
    return Intent(kind=IntentKind.UNKNOWN)
