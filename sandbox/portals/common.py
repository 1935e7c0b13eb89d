"""Small helpers the three portals share: formats, date parsing, paging and CSRF tokens.

Only presentation plumbing lives here. What each portal shows, and how, stays in its own module,
because the point of three portals is that they differ the way real ones do.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import secrets
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TypeVar

from starlette.requests import Request
from starlette.responses import Response

from sandbox.runtime import ACCOUNT_SCOPE_KEY
from sandbox.sessions import Access, PortalGate, PortalSession

T = TypeVar("T")

esc = html.escape


def iso_date(day: date | None) -> str:
    return day.isoformat() if day else ""


def us_date(day: date | None) -> str:
    return day.strftime("%m/%d/%Y") if day else ""


def plain_money(amount: Decimal) -> str:
    return f"{amount:.2f}"


def dollars(amount: Decimal) -> str:
    return f"${amount:,.2f}"


def parse_date(text: str | None) -> date | None:
    """Accept what a user types in any of the portals: YYYY-MM-DD or MM/DD/YYYY; None when blank or bad."""
    text = (text or "").strip()
    for layout in ("%Y-%m-%d", "%m/%d/%Y"):
        try:
            return datetime.strptime(text, layout).date()
        except ValueError:
            continue
    return None


def page_of(items: Sequence[T], page: int, size: int) -> tuple[Sequence[T], int, int]:
    """The items on a 1-based page, the page actually shown (clamped) and the number of pages."""
    pages = max(1, -(-len(items) // size))
    page = min(max(page, 1), pages)
    return items[(page - 1) * size : page * size], page, pages


def int_param(request: Request, name: str, default: int) -> int:
    try:
        return int(request.query_params.get(name, default))
    except ValueError:
        return default


def note_account(request: Request, username: str) -> None:
    """Tell the request log which account this request ran as."""
    request.scope[ACCOUNT_SCOPE_KEY] = username


SignedInPage = Callable[[Request, PortalSession], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def session_guard(
    gate: PortalGate,
    session_id: Callable[[Request], str | None],
    refuse: Callable[[Access, str | None], Response],
    stage: Access = Access.GRANTED,
) -> Callable[[SignedInPage], Endpoint]:
    """Decorator for pages a session may see only at one `stage`: fully signed in (the default), or
    still owing its second factor (the MFA / security-question pages).

    Every other case (no or expired session, second factor due or already passed, rate limit hit)
    gets the portal's own `refuse(access, session_id)` answer: that is where the three portals differ.
    """

    def wrap(page: SignedInPage) -> Endpoint:
        async def guarded(request: Request) -> Response:
            sid = session_id(request)
            access, session = gate.admit(sid)
            if session is not None:
                note_account(request, session.account.username)
            if access != stage or session is None:
                return refuse(access, sid)
            return await page(request, session)

        return guarded

    return wrap


class CsrfTokens:
    """Stateless CSRF tokens for log-in forms: an HMAC of a random pre-session cookie."""

    def __init__(self) -> None:
        self._secret = secrets.token_bytes(32)

    @staticmethod
    def new_cookie() -> str:
        return secrets.token_urlsafe(16)

    def token_for(self, cookie: str) -> str:
        return hmac.new(self._secret, cookie.encode(), hashlib.sha256).hexdigest()[:32]

    def valid(self, cookie: str | None, token: str | None) -> bool:
        return bool(cookie and token) and hmac.compare_digest(self.token_for(cookie or ""), token or "")
