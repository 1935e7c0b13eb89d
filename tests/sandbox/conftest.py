"""Sandbox test fixtures: the four servers once per session, reset before every test.

Also small httpx sign-in helpers per portal: the fault tests drive the portals over plain HTTP
(fast), while the journeys in test_*_browser.py go through real headless Chromium.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from sandbox.accounts import PORTALS, ServerName
from sandbox.codes import Outcome
from sandbox.dataset import load_world
from sandbox.models import PayerId, SandboxClaim
from sandbox.servers import SandboxEndpoints
from sandbox.testing import CHROMIUM_ARGS, SandboxAdmin, reset_all, sign_in_over_http

#: A page of each portal that needs a signed-in session.
PROTECTED_PATH = {
    ServerName.SUNRISE: "/claims",
    ServerName.MERIDIAN: "/api/claims?q=C100000",
    ServerName.KEYSTONE: "/welcome",
}


@pytest.fixture(autouse=True)
def _clean_sandbox(sandbox: SandboxEndpoints) -> None:
    reset_all(sandbox)


@pytest.fixture(params=PORTALS, ids=[p.value for p in PORTALS])
def portal(request: pytest.FixtureRequest) -> ServerName:
    name: ServerName = request.param
    return name


@pytest.fixture
def admin(sandbox: SandboxEndpoints, portal: ServerName) -> Iterator[SandboxAdmin]:
    with SandboxAdmin(sandbox[portal]) as client:
        yield client


class PortalClients:
    """httpx clients for a test, closed when it ends."""

    def __init__(self, sandbox: SandboxEndpoints) -> None:
        self.sandbox = sandbox
        self._open: list[httpx.Client] = []

    def new(self, portal: ServerName) -> httpx.Client:
        client = httpx.Client(base_url=self.sandbox.url(portal), timeout=10, follow_redirects=False)
        self._open.append(client)
        return client

    def signed_in(self, portal: ServerName, account_index: int = 0) -> httpx.Client:
        """A client with a fully signed-in session on `portal`."""
        client = self.new(portal)
        sign_in_over_http(client, portal, account_index)
        assert client.get(PROTECTED_PATH[portal]).status_code == 200
        return client

    def close(self) -> None:
        for client in self._open:
            client.close()


@pytest.fixture
def clients(sandbox: SandboxEndpoints) -> Iterator[PortalClients]:
    pool = PortalClients(sandbox)
    yield pool
    pool.close()


def sent_to_sign_in(response: httpx.Response, portal: ServerName) -> bool:
    """Did the portal send this request back to its sign-in step?"""
    if portal == ServerName.MERIDIAN:
        return response.status_code == 401 and response.json()["error"] == "session_expired"
    target = "/login" if portal == ServerName.SUNRISE else "/signon"
    return response.is_redirect and response.headers["location"].startswith(target)


def sent_to_second_factor(response: httpx.Response, portal: ServerName) -> bool:
    if portal == ServerName.MERIDIAN:
        return response.status_code == 403 and response.json()["error"] == "second_factor_required"
    target = "/mfa" if portal == ServerName.SUNRISE else "/challenge"
    return response.is_redirect and response.headers["location"] == target


# --- browser ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Browser]:
    """Debian's headless Chromium, once per module (Playwright's sync API, like every test here).
    No Chromium: skipped locally, failed in CI (tests/conftest.py: chromium_path)."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies, no storage) and page per test."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def pick_claim(payer_id: PayerId, outcome: Outcome, *, with_rarc: bool = False) -> SandboxClaim:
    """The first claim of a payer with this outcome (and a RARC on some adjustment, if asked)."""
    return next(
        claim
        for claim in load_world().claims
        if claim.payer_id == payer_id
        and claim.payer is not None
        and claim.payer.outcome == outcome
        and (not with_rarc or any(adj.rarc for adj in claim.adjustments))
    )
