"""The Playwright engine: runs a portal playbook behind the PayerAdapter contract.

One browser per adapter; one browser context per portal session, logged in once and reused for
many look-ups. When a required element does not show, the engine asks the playbook's outcome
recognisers what the page is instead (maintenance, rate limit, expired session, MFA again, locked,
no results). Only when none matches does it report a layout change, with evidence. A navigation
that times out is a slow portal (retry), never a layout change. Playwright's own errors never leave
this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from playwright.async_api import Browser, BrowserContext, Frame, Locator, Page, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from claims.status import ClaimStatus
from portal_adapters.browser import LAUNCH_ARGS, find_chromium
from portal_adapters.contract import (
    ClaimCheckFailed,
    ClaimOutcome,
    ClaimQuery,
    ClaimStatusResult,
    EligibilityQuery,
    EligibilityResult,
    Route,
)
from portal_adapters.credentials import PortalAccount
from portal_adapters.errors import (
    AccountLocked,
    AdapterError,
    AuthenticationFailed,
    BadClaimData,
    ErrorKind,
    LayoutChanged,
    PortalUnavailable,
    RateLimited,
)
from portal_adapters.evidence import EvidenceStore
from portal_adapters.parsing import (
    ExtractedPage,
    LayoutMismatch,
    extract_html,
    extract_json,
    read_claim,
    read_eligibility,
    walk_json,
)
from portal_adapters.playbook.schema import (
    Click,
    ClickIfPresent,
    Extraction,
    FetchJson,
    Fill,
    Goto,
    PickRow,
    Playbook,
    Recognizer,
    Search,
    SecurityQuestion,
    Select,
    Step,
    WaitFor,
    WaitForAny,
    WhenPresent,
)
from portal_adapters.templates import MissingTemplateValue, TemplateValue, names_in, render

Reading = TypeVar("Reading")


class _SessionExpired(Exception):
    """The portal sent us back to sign in (idle timeout, session killed, MFA demanded again)."""


class _NoResults(Exception):
    """The portal says it has no such claim."""


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


def template_values(query: ClaimQuery | EligibilityQuery | None, account: PortalAccount) -> dict[str, TemplateValue]:
    values: dict[str, TemplateValue] = {
        "account.username": account.username,
        "account.password": account.password.get_secret_value(),
        "account.totp": account.totp_now,
    }
    if query is not None:
        values |= {
            "patient.member_id": query.patient.member_id,
            "patient.last_name": query.patient.last_name,
            "patient.first_name": query.patient.first_name,
            "patient.dob": query.patient.date_of_birth,
        }
    if isinstance(query, ClaimQuery):
        values |= {
            "claim.claim_id": query.claim_id,
            "claim.payer_claim_number": query.payer_claim_number,
            "claim.billed_amount": query.billed_amount,
            "claim.rendering_npi": query.rendering_npi,
            "service_date": query.service_date_from,
            "service_date_to": query.service_date_to,
        }
    elif isinstance(query, EligibilityQuery):
        values |= {"service_date": query.service_date, "service_date_to": query.service_date}
    return values


class PlaybookPortalAdapter:
    """A payer portal driven by its playbook. Implements portal_adapters.contract.PayerAdapter."""

    route = Route.PORTAL

    def __init__(
        self,
        playbook: Playbook,
        accounts: Sequence[PortalAccount],
        evidence: EvidenceStore,
        base_url: str | None = None,
        browser: Browser | None = None,
        headless: bool = True,
        chromium_path: str | None = None,
    ) -> None:
        if not accounts:
            raise AuthenticationFailed(playbook.payer_id, "no portal account configured")
        self.playbook = playbook
        self.payer_id = playbook.payer_id
        self.accounts = list(accounts)
        self.evidence = evidence
        self.base_url = (
            base_url or os.environ.get(f"CLAIMBOT_PORTAL_{playbook.payer_id}_URL") or playbook.base_url
        ).rstrip("/")
        self._shared_browser = browser
        self._browser = browser
        self._headless = headless
        self._chromium_path = chromium_path
        self._playwright: Playwright | None = None
        self.sessions: list[PortalSession] = []
        self._idle: asyncio.Queue[PortalSession] = asyncio.Queue()
        self.evidence_refs: list[str] = []
        self.session_refusals: list[ErrorKind] = []

    # --- lifecycle -----------------------------------------------------------------------------
    async def open(self) -> None:
        """Start the browser (unless one was given) and log in the first session ("test before setup")."""
        if self._browser is None:
            try:
                self._playwright = await async_playwright().start()
                self._browser = await self._playwright.chromium.launch(
                    executable_path=find_chromium(self._chromium_path),
                    headless=self._headless,
                    args=list(LAUNCH_ARGS),
                )
            except PlaywrightError as err:
                raise PortalUnavailable(self.payer_id, f"the browser did not start ({_first_line(err)})") from err
        await self._add_session(self.accounts[0])

    async def close(self) -> None:
        for session in self.sessions:
            with contextlib.suppress(PlaywrightError):
                await session.context.close()
        self.sessions.clear()
        if self._browser is not None and self._shared_browser is None:
            with contextlib.suppress(PlaywrightError):
                await self._browser.close()
        if self._playwright is not None:
            await self._playwright.stop()
        self._browser = self._playwright = None

    def _session_limit(self) -> int:
        return self.playbook.session.max_concurrent * len(self.accounts)

    async def _add_session(self, account: PortalAccount) -> PortalSession:
        assert self._browser is not None
        context = await self._browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(self.playbook.session.element_timeout_ms)
        context.set_default_navigation_timeout(self.playbook.session.navigation_timeout_ms)
        page = await context.new_page()
        session = PortalSession(account=account, context=context, page=page)
        page.on("response", lambda response: _note_status(session, response))
        try:
            await self._login(session)
        except BaseException:
            with contextlib.suppress(PlaywrightError):
                await context.close()
            raise
        self.sessions.append(session)
        await self._idle.put(session)
        return session

    async def _grow_sessions(self, wanted: int) -> None:
        """Open more sessions, round-robin over accounts, never past the configured limit.

        A portal that refuses an extra session (its own concurrent-session limit, a second account
        that is locked) leaves us with the sessions we have: the batch goes on, slower.
        """
        while len(self.sessions) < min(wanted, self._session_limit()):
            account = self.accounts[len(self.sessions) % len(self.accounts)]
            try:
                await self._add_session(account)
            except AdapterError as err:
                if not self.sessions:
                    raise
                self.session_refusals.append(err.kind)
                return

    # --- logging in ----------------------------------------------------------------------------
    async def _login(self, session: PortalSession) -> None:
        login = self.playbook.login
        await session.context.clear_cookies()
        session.signing_in = True
        try:
            await self._goto(session, login.start)
            await self._run_steps(session, login.steps, template_values(None, session.account))
            await self._expect(session, login.done_when, login.frame)
        finally:
            session.signing_in = False
        session.logins += 1

    async def _relogin(self, session: PortalSession) -> None:
        await session.context.clear_cookies()
        await session.page.evaluate("() => { try { localStorage.clear(); sessionStorage.clear(); } catch (e) {} }")
        await self._login(session)

    # --- steps ---------------------------------------------------------------------------------
    async def _target(self, session: PortalSession, frame: str | None) -> Page | Frame:
        """The page, or a named frame once it is attached (frames load after their frameset)."""
        if frame is None:
            return session.page
        deadline = time.monotonic() + self.playbook.session.element_timeout_ms / 1000
        while (found := session.page.frame(name=frame)) is None:
            if time.monotonic() > deadline:
                raise _Missing(f"frame {frame!r}")
            await asyncio.sleep(0.05)
        return found

    async def _locator(self, session: PortalSession, selector: str, frame: str | None) -> Locator:
        return (await self._target(session, frame)).locator(selector).first

    async def _goto(self, session: PortalSession, path: str, frame: str | None = None) -> None:
        url = path if path.startswith("http") else f"{self.base_url}{path}"
        try:
            response = await (await self._target(session, frame)).goto(url, wait_until="domcontentloaded")
        except PlaywrightTimeout as err:
            raise PortalUnavailable(self.payer_id, "the portal did not answer in time") from err
        except PlaywrightError as err:
            raise PortalUnavailable(self.payer_id, f"the portal could not be reached ({_first_line(err)})") from err
        status = response.status if response else None
        if status is not None and (status >= 500 or status == 429):
            await self._classify(session, f"HTTP {status} from the portal")

    async def _expect(self, session: PortalSession, selector: str, frame: str | None) -> None:
        """Wait for a required element, or for a page an outcome recogniser knows, whichever comes first."""
        watched = ", ".join([selector, *self._outcome_selectors(frame)])
        try:
            target = await self._target(session, frame)
            await target.locator(watched).first.wait_for(state="visible")
            if await target.locator(selector).count() > 0:
                return
        except (PlaywrightTimeout, _Missing):
            pass
        await self._classify(session, f"expected element {selector!r} did not appear")

    def _outcome_selectors(self, frame: str | None) -> list[str]:
        outcomes = self.playbook.outcomes
        groups = (
            outcomes.locked,
            outcomes.invalid_login,
            outcomes.maintenance,
            outcomes.rate_limited,
            outcomes.no_results,
        )
        return [r.selector for group in groups for r in group if r.selector and r.frame == frame]

    async def _run_steps(self, session: PortalSession, steps: Sequence[Step], values: dict[str, TemplateValue]) -> None:
        for step in steps:
            await self._run_step(session, step, values)

    async def _run_step(self, session: PortalSession, step: Step, values: dict[str, TemplateValue]) -> None:
        page = session.page
        try:
            if isinstance(step, Goto):
                await self._goto(session, render(step.goto, values), step.frame)
            elif isinstance(step, Fill):
                await self._expect(session, step.fill, step.frame)
                await (await self._locator(session, step.fill, step.frame)).fill(render(step.value, values))
            elif isinstance(step, Select):
                await self._expect(session, step.select, step.frame)
                await (await self._locator(session, step.select, step.frame)).select_option(render(step.value, values))
            elif isinstance(step, Click):
                await self._expect(session, step.click, step.frame)
                await (await self._locator(session, step.click, step.frame)).click()
                await page.wait_for_load_state("domcontentloaded")
            elif isinstance(step, ClickIfPresent):
                target = await self._locator(session, step.click_if_present, step.frame)
                try:
                    await target.wait_for(state="visible", timeout=step.wait_ms)
                except PlaywrightTimeout:
                    return
                await target.click()
            elif isinstance(step, WaitFor):
                await self._expect(session, step.wait_for, step.frame)
            elif isinstance(step, WaitForAny):
                await self._expect(session, ", ".join(step.wait_for_any), step.frame)
            elif isinstance(step, WhenPresent):
                if await (await self._target(session, step.frame)).locator(step.when_present).count() > 0:
                    await self._run_steps(session, step.steps, values)
            elif isinstance(step, SecurityQuestion):
                await self._answer_question(session, step)
            elif isinstance(step, FetchJson):
                await self._fetch_json(session, step, values)
            elif isinstance(step, PickRow):
                await self._pick_row(session, step, values)
        except PlaywrightTimeout as err:
            await self._classify(session, f"the portal did not finish a step in time ({_first_line(err)})")
        except PlaywrightError as err:
            raise PortalUnavailable(self.payer_id, f"the browser lost the page ({_first_line(err)})") from err
        except _Missing as err:
            await self._classify(session, str(err))

    async def _answer_question(self, session: PortalSession, step: SecurityQuestion) -> None:
        await self._expect(session, step.security_question, step.frame)
        question = await (await self._locator(session, step.security_question, step.frame)).inner_text()
        answer = session.account.answer_for(question)
        if answer is None:
            raise AuthenticationFailed(self.payer_id, "no stored answer matches the portal's security question")
        await (await self._locator(session, step.answer_into, step.frame)).fill(answer)
        await (await self._locator(session, step.submit, step.frame)).click()
        await session.page.wait_for_load_state("domcontentloaded")

    async def _storage_values(self, session: PortalSession, templates: Sequence[str]) -> dict[str, TemplateValue]:
        keys = {name.split(".", 1)[1] for t in templates for name in names_in(t) if name.startswith("storage.")}
        found: dict[str, TemplateValue] = {}
        for key in keys:
            value = await session.page.evaluate(
                "(k) => window.localStorage.getItem(k) ?? window.sessionStorage.getItem(k)", key
            )
            if value is None:
                raise _SessionExpired()
            found[f"storage.{key}"] = str(value)
        return found

    async def _fetch_json(self, session: PortalSession, step: FetchJson, values: dict[str, TemplateValue]) -> None:
        templates = [step.fetch_json, *step.headers.values(), *(step.body or {}).values()]
        values = values | await self._storage_values(session, templates) | self._json_values(session, templates)
        url = render(step.fetch_json, values)
        url = url if url.startswith("http") else f"{self.base_url}{url}"
        headers = {k: render(v, values) for k, v in step.headers.items()}
        body = {k: render(v, values) for k, v in step.body.items()} if step.body is not None else None
        try:
            response = await session.context.request.fetch(url, method=step.method, headers=headers, data=body)
        except PlaywrightTimeout as err:
            raise PortalUnavailable(self.payer_id, "the portal's data service did not answer in time") from err
        session.last_status = response.status
        if response.status in (401, 403):
            raise _SessionExpired()
        if response.status == 429:
            raise RateLimited(
                self.payer_id, "the portal asked us to slow down (HTTP 429)", _retry_after(response.headers)
            )
        if response.status >= 500:
            raise PortalUnavailable(self.payer_id, f"the portal's data service failed (HTTP {response.status})")
        if self._matches_any(session, self.playbook.outcomes.no_results, page_text="", url=url):
            raise _NoResults()
        try:
            session.last_json = await response.json()
        except (PlaywrightError, ValueError) as err:
            raise LayoutChanged(self.payer_id, f"{url.removeprefix(self.base_url)} did not return JSON") from err
        if step.no_results_when_empty is not None and not walk_json(session.last_json, step.no_results_when_empty):
            raise _NoResults()

    @staticmethod
    def _json_values(session: PortalSession, templates: Sequence[str]) -> dict[str, TemplateValue]:
        """`{json.items.0.key}`: a value from the previous JSON answer (e.g. the key of a search hit)."""
        found: dict[str, TemplateValue] = {}
        for name in {n for t in templates for n in names_in(t) if n.startswith("json.")}:
            value = walk_json(session.last_json, name.removeprefix("json."))
            if value is None or isinstance(value, dict | list):
                raise _Missing(f"no value at {name} in the portal's previous answer")
            found[name] = str(value)
        return found

    async def _pick_row(self, session: PortalSession, step: PickRow, values: dict[str, TemplateValue]) -> None:
        wanted = {column: _norm(render(text, values)) for column, text in step.match.items()}
        target = await self._target(session, step.frame)
        for _ in range(step.max_pages):
            await self._expect(session, f"{step.pick_row}, {_no_results_selectors(self.playbook)}", step.frame)
            rows = target.locator(step.pick_row)
            for index in range(await rows.count()):
                row = rows.nth(index)
                cells = {column: _norm(await _text_or_empty(row.locator(column).first)) for column in wanted}
                if cells == wanted:
                    await row.locator(step.open).first.click()
                    await session.page.wait_for_load_state("domcontentloaded")
                    return
            if step.next_page is None or await target.locator(step.next_page).count() == 0:
                break
            await target.locator(step.next_page).first.click()
            await session.page.wait_for_load_state("domcontentloaded")
        raise _NoResults()

    # --- what is this page? --------------------------------------------------------------------
    def _matches(
        self, session: PortalSession, recognizer: Recognizer, page_text: str, url: str, elements: Mapping[str, str]
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

    def _matches_any(
        self,
        session: PortalSession,
        recognizers: Sequence[Recognizer],
        page_text: str,
        url: str,
        elements: Mapping[str, str] | None = None,
    ) -> bool:
        return any(self._matches(session, r, page_text, url, elements or {}) for r in recognizers)

    async def _page_facts(self, session: PortalSession) -> tuple[str, str, dict[str, str]]:
        """The page's text (frames included), its URL, and the text of every recogniser element present."""
        outcomes = self.playbook.outcomes
        recognizers = [r for name in type(outcomes).model_fields for r in getattr(outcomes, name)]
        try:
            text = (await session.page.content()).lower()
            for frame in session.page.frames[1:]:
                text += (await frame.content()).lower()
            elements: dict[str, str] = {}
            for spec in recognizers:
                selector, frame_name = spec.selector, spec.frame
                if selector and selector not in elements:
                    found = (await self._target(session, frame_name)).locator(selector)
                    if await found.count() > 0:
                        elements[selector] = (await found.first.inner_text()).lower()
        except (PlaywrightError, _Missing):
            return "", session.page.url, {}
        return text, session.page.url, elements

    async def _classify(self, session: PortalSession, problem: str) -> None:
        """Raise what the current page is. Always raises."""
        text, url, elements = await self._page_facts(session)
        outcomes = self.playbook.outcomes

        def seen(group: Sequence[Recognizer]) -> bool:
            return self._matches_any(session, group, text, url, elements)

        # Signing in, a message on the sign-in page is about our credentials; signed in, being sent
        # back to a sign-in page means the session ended (the same message box may say either).
        if session.signing_in:
            if seen(outcomes.locked):
                raise AccountLocked(
                    self.payer_id, "the portal account is locked", await self._evidence(session, "locked")
                )
            if seen(outcomes.invalid_login):
                raise AuthenticationFailed(
                    self.payer_id, "the portal refused the sign-in", await self._evidence(session, "auth-failed")
                )
        if seen(outcomes.maintenance):
            raise PortalUnavailable(self.payer_id, "the portal shows a maintenance page")
        if seen(outcomes.rate_limited):
            raise RateLimited(self.payer_id, "the portal asked us to slow down")
        if not session.signing_in:
            if seen(outcomes.mfa_again) or seen(outcomes.session_expired):
                raise _SessionExpired()
            if seen(outcomes.no_results):
                raise _NoResults()
        if session.last_status == 429:
            raise RateLimited(self.payer_id, "the portal asked us to slow down (HTTP 429)")
        if session.last_status is not None and session.last_status >= 500:
            raise PortalUnavailable(self.payer_id, f"the portal answered HTTP {session.last_status}")
        evidence = await self._evidence(session, "layout-changed")
        raise LayoutChanged(self.payer_id, f"{problem} (the page is not what the playbook describes)", evidence)

    async def _evidence(self, session: PortalSession, reason: str) -> str | None:
        ref = self.evidence.new_ref(self.payer_id, reason)
        try:
            shot = await session.page.screenshot(full_page=True)
            html = await session.page.content()
            for frame in session.page.frames[1:]:
                html += f"\n<!-- frame {frame.name!r} -->\n{await frame.content()}"
        except PlaywrightError:
            return None
        self.evidence.write(ref, shot, html)
        self.evidence_refs.append(ref)
        return ref

    # --- the contract --------------------------------------------------------------------------
    async def _extract(self, session: PortalSession, spec: Extraction) -> ExtractedPage:
        if spec.source == "json":
            return extract_json(session.last_json, spec)
        target = await self._target(session, spec.frame)
        return extract_html(await target.content(), spec)

    async def _read(
        self, session: PortalSession, what: str, spec: Extraction, read: Callable[[ExtractedPage], Reading]
    ) -> Reading:
        """Read the current page; one that does not match is classified (no results? layout change?)."""
        try:
            return read(await self._extract(session, spec))
        except LayoutMismatch as err:
            await self._classify(session, f"{what}: {err}")
            raise  # _classify always raises; this keeps the type checker informed

    def _search_for(self, query: ClaimQuery) -> Search | None:
        available = {
            "payer_claim_number": bool(query.payer_claim_number),
            "claim_id": True,
            "member_id": bool(query.patient.member_id),
        }
        return next((s for s in self.playbook.claim_status.searches if all(available[r] for r in s.requires)), None)

    async def _check_claim_once(self, session: PortalSession, query: ClaimQuery) -> ClaimStatusResult:
        started = time.perf_counter()
        search = self._search_for(query)
        if search is None:
            raise BadClaimData(self.payer_id, f"claim {query.claim_id} lacks what every search of this portal needs")
        values = template_values(query, session.account)
        task = self.playbook.claim_status
        try:
            await self._run_steps(session, search.steps, values)
            reading = await self._read(session, "claim page", task.extract, lambda page: read_claim(page, task))
        except _NoResults:
            return ClaimStatusResult(
                claim_id=query.claim_id,
                payer_id=self.payer_id,
                route=Route.PORTAL,
                elapsed_ms=_ms_since(started),
                status=ClaimStatus.NOT_FOUND,
                payer_status_text="no matching claim",
            )
        return ClaimStatusResult(
            claim_id=query.claim_id,
            payer_id=self.payer_id,
            route=Route.PORTAL,
            elapsed_ms=_ms_since(started),
            **reading.model_dump(exclude={"status_text"}),
            payer_status_text=reading.status_text,
        )

    async def _with_session(self, query: ClaimQuery | EligibilityQuery, work: Any) -> Any:
        """Run one look-up on an idle session; re-login once (or as configured) if the session expired."""
        session = await self._idle.get()
        try:
            for _ in range(self.playbook.session.relogin_attempts + 1):
                try:
                    result = await work(session, query)
                    session.checks += 1
                    return result
                except _SessionExpired:
                    await self._relogin(session)
            raise PortalUnavailable(self.payer_id, "the portal session kept expiring")
        except MissingTemplateValue as err:
            raise BadClaimData(self.payer_id, f"the look-up needs {err.name}, which this claim lacks") from err
        finally:
            self._idle.put_nowait(session)

    async def check_claims(self, queries: Sequence[ClaimQuery]) -> list[ClaimOutcome]:
        if not self.sessions:
            await self.open()
        await self._grow_sessions(len(queries))
        results: dict[str, ClaimOutcome] = {}

        async def one(query: ClaimQuery) -> None:
            try:
                results[query.claim_id] = await self._with_session(query, self._check_claim_once)
            except AdapterError as err:
                if err.stops_payer:
                    raise
                results[query.claim_id] = ClaimCheckFailed(
                    claim_id=query.claim_id,
                    payer_id=self.payer_id,
                    kind=err.kind,
                    message=err.message,
                    evidence_ref=err.evidence_ref,
                )

        try:
            async with asyncio.TaskGroup() as group:
                for query in queries:
                    group.create_task(one(query))
        except* AdapterError as errors:
            raise errors.exceptions[0] from None
        return [results[q.claim_id] for q in queries]

    async def _check_eligibility_once(self, session: PortalSession, query: EligibilityQuery) -> EligibilityResult:
        task = self.playbook.eligibility
        assert task is not None
        started = time.perf_counter()
        try:
            await self._run_steps(session, task.steps, template_values(query, session.account))
            reading = await self._read(
                session, "eligibility page", task.extract, lambda page: read_eligibility(page, task)
            )
        except _NoResults:
            return EligibilityResult(
                payer_id=self.payer_id,
                route=Route.PORTAL,
                elapsed_ms=_ms_since(started),
                found=False,
                active=False,
            )
        return EligibilityResult(
            payer_id=self.payer_id,
            route=Route.PORTAL,
            elapsed_ms=_ms_since(started),
            found=True,
            active=reading.active,
            plan_name=reading.plan_name,
            benefits=reading.benefits,
        )

    async def check_eligibility(self, query: EligibilityQuery) -> EligibilityResult:
        if self.playbook.eligibility is None:
            raise BadClaimData(self.payer_id, "this portal's playbook has no eligibility task")
        if not self.sessions:
            await self.open()
        result: EligibilityResult = await self._with_session(query, self._check_eligibility_once)
        return result

    async def capture(self, reason: str = "on-demand") -> str | None:
        """Evidence of the current page of the first session (for `playbook try --screenshot`)."""
        return await self._evidence(self.sessions[0], reason) if self.sessions else None


class _Missing(Exception):
    pass


def _note_status(session: PortalSession, response: Any) -> None:
    if response.request.resource_type == "document":
        session.last_status = response.status


def _retry_after(headers: dict[str, str]) -> float | None:
    value = headers.get("retry-after")
    return float(value) if value and value.isdigit() else None


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


async def _text_or_empty(locator: Locator) -> str:
    return await locator.inner_text() if await locator.count() else ""


def _no_results_selectors(playbook: Playbook) -> str:
    selectors = [r.selector for r in playbook.outcomes.no_results if r.selector]
    return ", ".join(selectors) if selectors else "body"


def _ms_since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _first_line(err: BaseException) -> str:
    return str(err).strip().splitlines()[0][:200] if str(err).strip() else err.__class__.__name__
