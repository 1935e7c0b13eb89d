"""The session pool: one browser, one browser context per portal session, each signed in once.

Sessions grow round-robin over the accounts up to `max_concurrent` per account, but one for an account
whose sign-in asks a person for a one-time code (`mfa: broker`): each sign-in is one more message to them.
A portal that refuses an extra session leaves the pool with the sessions it has. Look-ups borrow an
idle session and give it back, so one session serves one look-up at a time. Signing in and out is
not done here: the pool is given both as functions (the step interpreter runs the playbook's login
and logout).

Every session is given back to the portal: `close()` signs each one out (bounded, errors swallowed)
before closing its browser context, and so does a sign-in that fails half-way (the portal may
already count the session). Portals allow a few sessions per user, and one that is never signed out
holds a place until the portal's idle timeout, so a few runs in a row would be refused.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, Playwright, async_playwright

from portal_adapters.browser import LAUNCH_ARGS, browser_env, find_chromium
from portal_adapters.credentials import PortalAccount
from portal_adapters.engine.browser_errors import Translation, playwright_errors
from portal_adapters.errors import AdapterError, ErrorKind, PortalUnavailable, Reason
from portal_adapters.playbook.schema import SessionPolicy


@dataclass
class PortalSession:
    """One logged-in browser context, used by one worker at a time."""

    account: PortalAccount
    context: BrowserContext
    page: Page
    last_status: int | None = None
    last_json: Any = None
    signing_in: bool = False
    logins: int = 0
    checks: int = 0
    history: list[str] = field(default_factory=list)


SignIn = Callable[[PortalSession], Awaitable[None]]
#: Signs a session out; never raises (but for cancellation), says whether it finished.
SignOut = Callable[[PortalSession], Awaitable[bool]]


class SessionPool:
    """Browser, contexts and the idle queue of one payer's sessions."""

    def __init__(
        self,
        payer_id: str,
        policy: SessionPolicy,
        accounts: Sequence[PortalAccount],
        sign_in: SignIn,
        sign_out: SignOut | None = None,
        *,
        browser: Browser | None = None,
        headless: bool = True,
        chromium_path: str | None = None,
    ) -> None:
        self.payer_id = payer_id
        self.policy = policy
        self.accounts = list(accounts)
        self._sign_in = sign_in
        self._sign_out = sign_out
        self._shared_browser = browser
        self.browser = browser
        self._headless = headless
        self._chromium_path = chromium_path
        self._playwright: Playwright | None = None
        self.sessions: list[PortalSession] = []
        self._idle: asyncio.Queue[PortalSession] = asyncio.Queue()
        self.refusals: list[ErrorKind] = []

    def _cap(self, account: PortalAccount) -> int:
        return 1 if account.asks_for_code else self.policy.max_concurrent

    @property
    def limit(self) -> int:
        return sum(self._cap(account) for account in self.accounts)

    def _next_account(self) -> PortalAccount:
        """The account with the fewest sessions that may have one more (the first of those on a tie)."""
        counts = [sum(1 for s in self.sessions if s.account is account) for account in self.accounts]
        free = [i for i, account in enumerate(self.accounts) if counts[i] < self._cap(account)]
        return self.accounts[min(free, key=lambda i: counts[i])]

    async def start_browser(self) -> None:
        """Launch Chromium (unless one was given), without the secrets of this process's environment."""
        if self.browser is not None:
            return
        executable = find_chromium(self._chromium_path)
        try:
            with playwright_errors(self.payer_id, None, Translation.LAUNCH):
                self._playwright = await async_playwright().start()
                self.browser = await self._playwright.chromium.launch(
                    executable_path=executable,
                    headless=self._headless,
                    args=list(LAUNCH_ARGS),
                    env=dict[str, str | float | bool](browser_env()),
                )
        except AdapterError:
            await self.close()
            raise

    async def add(self, account: PortalAccount) -> PortalSession:
        """A new context, signed in with `account`, put on the idle queue."""
        if self.browser is None:
            raise PortalUnavailable(self.payer_id, Reason.BROWSER_DID_NOT_START)
        with playwright_errors(self.payer_id, None, Translation.STEP):
            context = await self.browser.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(self.policy.element_timeout_ms)
            context.set_default_navigation_timeout(self.policy.navigation_timeout_ms)
            page = await context.new_page()
        session = PortalSession(account=account, context=context, page=page)
        page.on("response", lambda response: _note_status(session, response))
        try:
            await self._sign_in(session)
        except BaseException:
            await self._end(session)
            raise
        self.sessions.append(session)
        await self._idle.put(session)
        return session

    async def grow(self, wanted: int) -> None:
        """Open more sessions, round-robin over accounts, never past the limit.

        A portal that refuses an extra session (its own concurrent-session limit, a second account
        that is locked) leaves us with the sessions we have: the batch goes on, slower.
        """
        while len(self.sessions) < min(wanted, self.limit):
            account = self._next_account()
            try:
                await self.add(account)
            except AdapterError as err:
                if not self.sessions:
                    raise
                self.refusals.append(err.kind)
                return

    @contextlib.asynccontextmanager
    async def borrow(self) -> AsyncIterator[PortalSession]:
        """An idle session for one look-up; it goes back to the queue whatever happens."""
        session = await self._idle.get()
        try:
            yield session
        finally:
            self._idle.put_nowait(session)

    async def _end(self, session: PortalSession) -> None:
        """Sign the session out (best effort, bounded by the playbook), then close its context."""
        try:
            if self._sign_out is not None:
                await self._sign_out(session)
        finally:
            await _close_quietly(session.context)

    async def close(self) -> None:
        """Sign every session out and close it (all at once), then the browser unless it was given."""
        sessions, self.sessions = self.sessions, []
        self._idle = asyncio.Queue()
        ended = await asyncio.gather(*(self._end(session) for session in sessions), return_exceptions=True)
        cancelled = next((e for e in ended if isinstance(e, BaseException) and not isinstance(e, Exception)), None)
        if self.browser is not None and self._shared_browser is None:
            await _close_quietly(self.browser)
        if self._playwright is not None:
            with contextlib.suppress(Exception):
                await self._playwright.stop()
        self.browser = self._shared_browser
        self._playwright = None
        if cancelled is not None:
            raise cancelled


async def _close_quietly(closable: BrowserContext | Browser) -> None:
    """Closing is best effort: a context whose browser already went away has nothing left to close."""
    with contextlib.suppress(AdapterError), playwright_errors("", None, Translation.STEP):
        await closable.close()


def _note_status(session: PortalSession, response: Any) -> None:
    if response.request.resource_type == "document":
        session.last_status = response.status
