"""What is this page? The playbook's outcome recognisers turn a page into an outcome, with evidence.

When a required element does not show, or a page does not read as the playbook says, the page is
classified: signing in, a message box says the account has too many sessions open (a wait), or is
about our credentials (refused, locked); then maintenance,
rate limit; once signed in, a sign-in or MFA page means the session ended, and a no-results page
means the payer has no such claim. Only a page no outcome explains gets the caller's fallback
error (a layout change, with a screenshot and the HTML saved as evidence).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NoReturn

from playwright.async_api import Frame, Locator, Page

from portal_adapters.engine.browser_errors import Translation, playwright_errors
from portal_adapters.errors import (
    AccountLocked,
    AdapterError,
    AuthenticationFailed,
    LayoutChanged,
    PortalUnavailable,
    RateLimited,
    Reason,
    TooManySessions,
)
from portal_adapters.evidence import EvidenceStore
from portal_adapters.playbook.schema import Playbook, Recognizer

if TYPE_CHECKING:
    from portal_adapters.engine.sessions import PortalSession


class SessionExpired(Exception):
    """The portal sent us back to sign in (idle timeout, session killed, MFA demanded again)."""


class NoResults(Exception):
    """The portal says it has no such claim (or member)."""


class Unexplained(Exception):
    """The page is not what a step expected; classify it, and raise `fallback` if no outcome explains it."""

    def __init__(self, fallback: AdapterError) -> None:
        super().__init__(fallback.reason)
        self.fallback = fallback


class PageReader:
    """Classifies a session's current page against the playbook's outcomes, and saves evidence."""

    def __init__(self, playbook: Playbook, evidence: EvidenceStore) -> None:
        self.playbook = playbook
        self.payer_id = playbook.payer_id
        self.evidence_store = evidence
        self.evidence_refs: list[str] = []

    async def target(self, session: PortalSession, frame: str | None, step: str | None = None) -> Page | Frame:
        """The page, or a named frame once it is attached (frames load after their frameset)."""
        if frame is None:
            return session.page
        deadline = time.monotonic() + self.playbook.session.element_timeout_ms / 1000
        while (found := session.page.frame(name=frame)) is None:
            if time.monotonic() > deadline:
                raise Unexplained(LayoutChanged(self.payer_id, Reason.ELEMENT_MISSING, step=step))
            await asyncio.sleep(0.05)
        return found

    def outcome_selectors(self, frame: str | None) -> list[str]:
        """Selectors of the outcome pages worth watching for while waiting for an element in `frame`."""
        outcomes = self.playbook.outcomes
        groups = (
            outcomes.too_many_sessions,
            outcomes.locked,
            outcomes.invalid_login,
            outcomes.maintenance,
            outcomes.rate_limited,
            outcomes.no_results,
        )
        return [r.selector for group in groups for r in group if r.selector and r.frame == frame]

    def no_results_selectors(self, frame: str | None) -> list[str]:
        return [r.selector for r in self.playbook.outcomes.no_results if r.selector and r.frame == frame]

    # --- matching ------------------------------------------------------------------------------
    @staticmethod
    def matches(
        session: PortalSession, recognizer: Recognizer, page_text: str, url: str, elements: Mapping[str, str]
    ) -> bool:
        """All given conditions hold; text given with a selector must be inside that element."""
        if recognizer.http_status is not None and session.last_status != recognizer.http_status:
            return False
        if recognizer.url_contains is not None and recognizer.url_contains not in url:
            return False
        if recognizer.selector is not None:
            if recognizer.selector not in elements:
                return False
            page_text = elements[recognizer.selector]
        return recognizer.text is None or recognizer.text.lower() in page_text

    def matches_any(
        self,
        session: PortalSession,
        recognizers: Sequence[Recognizer],
        page_text: str,
        url: str,
        elements: Mapping[str, str] | None = None,
    ) -> bool:
        return any(self.matches(session, r, page_text, url, elements or {}) for r in recognizers)

    async def page_facts(self, session: PortalSession) -> tuple[str, str, dict[str, str]]:
        """The page's text (frames included), its URL, and the text of every recogniser element present."""
        outcomes = self.playbook.outcomes
        recognizers = [r for name in type(outcomes).model_fields for r in getattr(outcomes, name)]
        try:
            with playwright_errors(self.payer_id, None, Translation.STEP):
                text = (await session.page.content()).lower()
                for frame in session.page.frames[1:]:
                    text += (await frame.content()).lower()
                elements: dict[str, str] = {}
                for spec in recognizers:
                    if spec.selector and spec.selector not in elements:
                        found = (await self.target(session, spec.frame)).locator(spec.selector)
                        if await found.count() > 0:
                            elements[spec.selector] = (await found.first.inner_text()).lower()
        except (AdapterError, Unexplained):
            return "", session.page.url, {}
        return text, session.page.url, elements

    # --- classifying ---------------------------------------------------------------------------
    async def classify(self, session: PortalSession, fallback: AdapterError) -> NoReturn:
        """Raise what the current page is; `fallback` when no outcome explains it. Always raises."""
        text, url, elements = await self.page_facts(session)
        outcomes = self.playbook.outcomes
        step = fallback.step

        def seen(group: Sequence[Recognizer]) -> bool:
            return self.matches_any(session, group, text, url, elements)

        # Signing in, a message on the sign-in page is about our credentials, unless it says the
        # account has all the sessions it may have (the same box says both: that one is checked
        # first, and is a wait, never a wrong password); signed in, being sent back to a sign-in page
        # means the session ended (the same message box may say either).
        if session.signing_in:
            if seen(outcomes.too_many_sessions):
                raise TooManySessions(self.payer_id, step=step)
            if seen(outcomes.locked):
                raise AccountLocked(self.payer_id, step=step, evidence_ref=await self.evidence(session, "locked"))
            if seen(outcomes.invalid_login):
                evidence = await self.evidence(session, "auth-failed")
                raise AuthenticationFailed(self.payer_id, Reason.SIGN_IN_REFUSED, step=step, evidence_ref=evidence)
        if seen(outcomes.maintenance):
            raise PortalUnavailable(self.payer_id, Reason.MAINTENANCE, step=step)
        if seen(outcomes.rate_limited):
            raise RateLimited(self.payer_id, Reason.SLOW_DOWN, step=step, http_status=session.last_status)
        if not session.signing_in:
            if seen(outcomes.mfa_again) or seen(outcomes.session_expired):
                raise SessionExpired()
            if seen(outcomes.no_results):
                raise NoResults()
        if session.last_status == 429:
            raise RateLimited(self.payer_id, Reason.SLOW_DOWN, step=step, http_status=429)
        if session.last_status is not None and session.last_status >= 500:
            raise PortalUnavailable(self.payer_id, Reason.HTTP_ERROR, step=step, http_status=session.last_status)
        if isinstance(fallback, LayoutChanged) and fallback.evidence_ref is None:
            fallback.evidence_ref = await self.evidence(session, "layout-changed")
        raise fallback

    async def evidence(self, session: PortalSession, reason: str) -> str | None:
        """A screenshot and the HTML (frames included) of the page, saved under a PHI-free name."""
        ref = self.evidence_store.new_ref(self.payer_id, reason)
        try:
            with playwright_errors(self.payer_id, None, Translation.STEP):
                shot = await session.page.screenshot(full_page=True)
                html = await session.page.content()
                for frame in session.page.frames[1:]:
                    html += f"\n<!-- frame {frame.name!r} -->\n{await frame.content()}"
        except AdapterError:
            return None
        self.evidence_store.write(ref, shot, html)
        self.evidence_refs.append(ref)
        return ref


def any_of(target: Page | Frame, selectors: Sequence[str]) -> Locator:
    """One locator for the first element matching any of the selectors (Playwright selectors included)."""
    locator = target.locator(selectors[0])
    for selector in selectors[1:]:
        locator = locator.or_(target.locator(selector))
    return locator
