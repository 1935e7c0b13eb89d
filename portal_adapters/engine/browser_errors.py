"""The one place Playwright's errors become the taxonomy's. Nothing of Playwright's text survives.

Every browser call of the engine runs inside `playwright_errors(...)`: a timeout is a slow portal
(retry), a closed page or context is a lost page (retry), a selector Playwright cannot parse is a
broken playbook (stop the payer, never retry), and anything else is a page lost or a portal that
could not be reached. Playwright's message may quote a URL, a selector or a typed value, so it is
only read here to tell the cases apart and is never passed on (the original stays as `__cause__`
for a debugger, and log lines render only our own message).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum

from playwright._impl._errors import TargetClosedError
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from portal_adapters.errors import AdapterError, PlaybookBroken, PortalUnavailable, Reason


class Translation(Enum):
    """What the engine was doing, which decides what a timeout or a failure means."""

    LAUNCH = "launch"  # starting the browser
    NAVIGATION = "navigation"  # loading a page of the portal
    REQUEST = "request"  # a fetch_json request through the signed-in context
    STEP = "step"  # anything else on a page: wait, fill, click, read


#: Fragments of Playwright's messages for a selector it cannot parse (the text is never passed on).
_INVALID_SELECTOR = (
    "while parsing selector",
    "while parsing css selector",
    "unexpected token",
    "unknown engine",
    "malformed selector",
    "invalidselectorerror",
    "is not a valid selector",
)
_CLOSED = ("has been closed", "target closed", "browser has disconnected", "context closed")


def translate(err: PlaywrightError, payer_id: str, step: str | None, during: Translation) -> AdapterError:
    """The taxonomy's error for a Playwright error; its message says what failed, never Playwright's words."""
    text = (getattr(err, "message", None) or str(err)).lower()
    if during is Translation.LAUNCH:
        return PortalUnavailable(payer_id, Reason.BROWSER_DID_NOT_START)
    if any(fragment in text for fragment in _INVALID_SELECTOR):
        return PlaybookBroken(payer_id, Reason.INVALID_SELECTOR, step=step)
    if isinstance(err, TargetClosedError) or any(fragment in text for fragment in _CLOSED):
        return PortalUnavailable(payer_id, Reason.PAGE_LOST, step=step)
    timed_out = isinstance(err, PlaywrightTimeout)
    if during is Translation.NAVIGATION:
        return PortalUnavailable(payer_id, Reason.PORTAL_TIMEOUT if timed_out else Reason.PORTAL_UNREACHABLE, step=step)
    if during is Translation.REQUEST:
        reason = Reason.DATA_SERVICE_TIMEOUT if timed_out else Reason.DATA_SERVICE_FAILED
        return PortalUnavailable(payer_id, reason, step=step)
    return PortalUnavailable(payer_id, Reason.STEP_TIMEOUT if timed_out else Reason.PAGE_LOST, step=step)


@contextmanager
def playwright_errors(payer_id: str, step: str | None, during: Translation = Translation.STEP) -> Iterator[None]:
    """Run browser calls; a Playwright error leaves as the taxonomy's error (`translate`)."""
    try:
        yield
    except PlaywrightError as err:
        raise translate(err, payer_id, step, during) from err
