"""The step interpreter: runs a playbook's steps (sign-in, searches, eligibility) on one session.

Each step knows where it is in the playbook (`claim_status.searches.0.steps.2 (fill)`), and every
error it raises carries that key path as `step`. Browser calls go through `playwright_errors`
(browser_errors.py), so what leaves here is the taxonomy, an outcome (`SessionExpired`,
`NoResults`), or `MissingTemplateValue` / `UnsafeTemplateValue` for the adapter to judge.

Addresses are rendered with `render_url` (values URL-encoded) and checked against the playbook's
origins before the browser goes there, and a form is only filled on a page of those origins, so a
playbook (or a portal's answer) cannot send a password or a patient's values anywhere else.

A one-time code the bot cannot make (an account with `mfa: broker`) is awaited from the runner's
`OneTimeCodeSource` when a step is about to type `{account.totp}` (the portal has asked by then),
bounded by `code_timeout_s`; no source, no code in time, or a source that fails ends the sign-in as
AuthenticationFailed(mfa_code_not_given), never a hang.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from playwright.async_api import Frame, Locator, Page

from claims.phi import register_secret
from portal_adapters.contract import ClaimQuery, EligibilityQuery
from portal_adapters.credentials import OneTimeCodeSource, PortalAccount
from portal_adapters.engine.browser_errors import Translation, playwright_errors, translate
from portal_adapters.engine.pages import NoResults, PageReader, SessionExpired, Unexplained, any_of
from portal_adapters.errors import (
    AdapterError,
    AuthenticationFailed,
    LayoutChanged,
    PlaybookBroken,
    PortalUnavailable,
    RateLimited,
    Reason,
)
from portal_adapters.parsing import walk_json
from portal_adapters.playbook.schema import (
    Click,
    ClickIfPresent,
    FetchJson,
    Fill,
    Goto,
    PickRow,
    Playbook,
    SecurityQuestion,
    Select,
    Step,
    WaitFor,
    WaitForAny,
    WhenPresent,
    step_kind,
)
from portal_adapters.templates import MissingTemplateValue, TemplateValue, names_in, origin_of, render, render_url

if TYPE_CHECKING:
    from portal_adapters.engine.sessions import PortalSession

__all__ = ["StepRunner", "Translation", "playwright_errors", "template_values", "translate"]

Key = tuple[str | int, ...]
log = logging.getLogger(__name__)
#: Beyond its own bound, how long a code source may take before the sign-in stops waiting for it.
CODE_SOURCE_GRACE_S = 5.0


def template_values(query: ClaimQuery | EligibilityQuery | None, account: PortalAccount) -> dict[str, TemplateValue]:
    """The values a playbook's templates may use. Secrets are computed only when a template asks."""

    def totp() -> str | None:
        return account.totp_now() if account.totp_secret is not None else None

    password = account.password.get_secret_value()
    values: dict[str, TemplateValue] = {
        "account.username": account.username,
        "account.password": password or None,
        "account.totp": totp,  # None (no TOTP secret) means "missing", as for any value
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


def step_label(key: Key, step: Step | None = None) -> str:
    """`claim_status.searches.0.steps.2 (fill)`: where a step is, as an error's `step` field says it."""
    dotted = ".".join(str(part) for part in key)
    kind = step_kind(step) if step is not None else None
    return f"{dotted} ({kind})" if kind else dotted


class StepRunner:
    """Runs steps on a session; knows the playbook, the base URL in use and the allowed origins."""

    def __init__(
        self,
        playbook: Playbook,
        pages: PageReader,
        base_url: str,
        origins: frozenset[str],
        codes: OneTimeCodeSource | None = None,
        code_timeout_s: float = 120.0,
    ) -> None:
        self.playbook = playbook
        self.payer_id = playbook.payer_id
        self.pages = pages
        self.base_url = base_url
        self.origins = origins
        self.codes = codes
        self.code_timeout_s = code_timeout_s

    # --- addresses -----------------------------------------------------------------------------
    def resolve(self, rendered: str, step: str) -> str:
        """The absolute URL of a rendered address, refused unless it is on an allowed origin."""
        relative = rendered.startswith("/") and not rendered.startswith("//") and "\\" not in rendered
        url = f"{self.base_url}{rendered}" if relative else rendered
        if origin_of(url) not in self.origins:
            raise PlaybookBroken(self.payer_id, Reason.OFF_ORIGIN, step=step)
        return url

    def on_origin(self, target: Page | Frame, step: str) -> None:
        """Refuse to type into a page that is not on the portal's origins (a redirect elsewhere)."""
        if origin_of(target.url) not in self.origins:
            raise PlaybookBroken(self.payer_id, Reason.OFF_ORIGIN, step=step)

    # --- signing in ----------------------------------------------------------------------------
    async def sign_in(self, session: PortalSession) -> None:
        login = self.playbook.login
        values = template_values(None, session.account)
        with playwright_errors(self.payer_id, "login.start"):
            await session.context.clear_cookies()
        session.signing_in = True
        try:
            await self.goto(session, login.start, values, None, "login.start")
            await self.run(session, login.steps, values, ("login", "steps"))
            await self.expect(session, [login.done_when], login.frame, "login.done_when")
        except MissingTemplateValue as err:
            # open() checks the accounts first; this is the last guard against typing an empty secret
            field = err.name if err.name.startswith("account.") else None
            raise AuthenticationFailed(self.payer_id, Reason.CREDENTIALS_INCOMPLETE, field=field) from None
        finally:
            session.signing_in = False
        session.logins += 1

    async def sign_in_again(self, session: PortalSession) -> None:
        """The portal ended the session (or wants the second factor again): sign out, start clean, sign in.

        Signing out first frees a session the portal still counts (one that only wants its second
        factor again), so signing in again does not use up one more of the account's sessions.
        """
        await self.sign_out(session)
        with playwright_errors(self.payer_id, "login.start"):
            await session.context.clear_cookies()
            await session.page.evaluate("() => { try { localStorage.clear(); sessionStorage.clear(); } catch (e) {} }")
        await self.sign_in(session)

    async def sign_out(self, session: PortalSession) -> bool:
        """Run the playbook's logout on this session, within its time bound; True when it finished.

        Never raises (but for cancellation): a sign-out that fails or runs out of time is logged by
        its reason code alone (no page text, no address) and the caller goes on, so it can never hide
        the error a run ends with. Without a `logout` section the portal's idle timeout ends the session.
        """
        logout = self.playbook.logout
        if logout is None:
            return False
        session.signing_in = False
        values = template_values(None, session.account)
        try:
            async with asyncio.timeout(logout.timeout_ms / 1000):
                await self.run(session, logout.steps, values, ("logout", "steps"))
                if logout.done_when is not None:
                    await self.expect(session, [logout.done_when], logout.frame, "logout.done_when")
        except SessionExpired:  # the page is the portal's sign-in (or says the session ended): signed out
            return True
        except Exception as err:  # best effort by design: see the docstring
            log.warning("sign-out did not finish: %s (payer %s)", _sign_out_problem(err), self.payer_id)
            return False
        return True

    # --- steps ---------------------------------------------------------------------------------
    async def run(
        self, session: PortalSession, steps: Sequence[Step], values: dict[str, TemplateValue], key: Key
    ) -> None:
        for index, step in enumerate(steps):
            await self.run_step(session, step, values, (*key, index))

    async def run_step(self, session: PortalSession, step: Step, values: dict[str, TemplateValue], key: Key) -> None:
        label = step_label(key, step)
        try:
            with playwright_errors(self.payer_id, label):
                await self._dispatch(session, step, values, key, label)
        except Unexplained as err:
            await self.pages.classify(session, err.fallback)
        except PortalUnavailable as err:
            if err.reason is not Reason.STEP_TIMEOUT:
                raise
            await self.pages.classify(session, err)  # the page may say why: maintenance, a rate limit, signed out

    async def _dispatch(
        self, session: PortalSession, step: Step, values: dict[str, TemplateValue], key: Key, label: str
    ) -> None:
        if isinstance(step, Goto):
            await self.goto(session, step.goto, values, step.frame, label)
        elif isinstance(step, Fill | Select):
            selector = step.fill if isinstance(step, Fill) else step.select
            await self.expect(session, [selector], step.frame, label)
            target = await self.pages.target(session, step.frame, label)
            self.on_origin(target, label)
            values = await self._with_one_time_code(session, [step.value], values, label)
            if isinstance(step, Fill):
                await target.locator(selector).first.fill(render(step.value, values))
            else:
                await target.locator(selector).first.select_option(render(step.value, values))
        elif isinstance(step, Click):
            await self.expect(session, [step.click], step.frame, label)
            await (await self.pages.target(session, step.frame, label)).locator(step.click).first.click()
            await session.page.wait_for_load_state("domcontentloaded")
        elif isinstance(step, ClickIfPresent):
            await self._click_if_present(session, step, label)
        elif isinstance(step, WaitFor):
            await self.expect(session, [step.wait_for], step.frame, label)
        elif isinstance(step, WaitForAny):
            await self.expect(session, step.wait_for_any, step.frame, label)
        elif isinstance(step, WhenPresent):
            if await (await self.pages.target(session, step.frame, label)).locator(step.when_present).count() > 0:
                await self.run(session, step.steps, values, (*key, "steps"))
        elif isinstance(step, SecurityQuestion):
            await self._answer_question(session, step, label)
        elif isinstance(step, FetchJson):
            await self._fetch_json(session, step, values, label)
        elif isinstance(step, PickRow):
            await self._pick_row(session, step, values, label)

    async def goto(
        self, session: PortalSession, template: str, values: dict[str, TemplateValue], frame: str | None, step: str
    ) -> None:
        url = self.resolve(render_url(template, values), step)
        target = await self.pages.target(session, frame, step)
        with playwright_errors(self.payer_id, step, Translation.NAVIGATION):
            response = await target.goto(url, wait_until="domcontentloaded")
        status = response.status if response else None
        if status == 429:
            await self.pages.classify(session, RateLimited(self.payer_id, Reason.SLOW_DOWN, step=step, http_status=429))
        if status is not None and status >= 500:
            await self.pages.classify(
                session, PortalUnavailable(self.payer_id, Reason.HTTP_ERROR, step=step, http_status=status)
            )
        self.on_origin(target, step)

    async def expect(self, session: PortalSession, selectors: Sequence[str], frame: str | None, step: str) -> None:
        """Wait for a required element, or for a page an outcome recogniser knows, whichever comes first."""
        missing = LayoutChanged(self.payer_id, Reason.ELEMENT_MISSING, step=step)
        try:
            target = await self.pages.target(session, frame, step)
        except Unexplained:
            await self.pages.classify(session, missing)
        watched = [*selectors, *self.pages.outcome_selectors(frame)]
        try:
            with playwright_errors(self.payer_id, step):
                await any_of(target, watched).first.wait_for(state="visible")
                if await any_of(target, selectors).count() > 0:
                    return
        except PortalUnavailable as err:
            if err.reason is not Reason.STEP_TIMEOUT:
                raise
        await self.pages.classify(session, missing)

    async def _click_if_present(self, session: PortalSession, step: ClickIfPresent, label: str) -> None:
        """Dismiss a banner if it shows within `wait_ms`; its absence is fine."""
        target = (await self.pages.target(session, step.frame, label)).locator(step.click_if_present).first
        try:
            with playwright_errors(self.payer_id, label):
                await target.wait_for(state="visible", timeout=step.wait_ms)
        except PortalUnavailable as err:
            if err.reason is Reason.STEP_TIMEOUT:
                return
            raise
        await target.click()

    async def _answer_question(self, session: PortalSession, step: SecurityQuestion, label: str) -> None:
        await self.expect(session, [step.security_question], step.frame, label)
        target = await self.pages.target(session, step.frame, label)
        question = await target.locator(step.security_question).first.inner_text()
        answer = session.account.answer_for(question)
        if answer is None:
            raise AuthenticationFailed(self.payer_id, Reason.NO_SECURITY_ANSWER, step=label)
        self.on_origin(target, label)
        await target.locator(step.answer_into).first.fill(answer)
        await target.locator(step.submit).first.click()
        await session.page.wait_for_load_state("domcontentloaded")

    # --- one-time codes -------------------------------------------------------------------------
    async def _with_one_time_code(
        self, session: PortalSession, templates: Sequence[str], values: dict[str, TemplateValue], step: str
    ) -> dict[str, TemplateValue]:
        """The values with `{account.totp}` asked of the code source, when these templates type it for an
        account that cannot make its own code; the values as they are otherwise."""
        if not session.account.asks_for_code or not any("account.totp" in names_in(t) for t in templates):
            return values
        return values | {"account.totp": await self._one_time_code(session.account, step)}

    async def _one_time_code(self, account: PortalAccount, step: str) -> str:
        code: str | None = None
        if self.codes is not None:
            try:
                async with asyncio.timeout(self.code_timeout_s + CODE_SOURCE_GRACE_S):
                    code = await self.codes.code_for(self.payer_id, account, self.code_timeout_s)
            except TimeoutError:
                code = None
            except Exception as err:  # a broken source must end this sign-in, not the process; never its text
                log.warning("one-time code source failed: %s (payer %s)", type(err).__name__, self.payer_id)
        if not code:
            raise AuthenticationFailed(self.payer_id, Reason.MFA_CODE_NOT_GIVEN, step=step, field="account.totp")
        register_secret(code)
        return code

    # --- JSON ----------------------------------------------------------------------------------
    async def _storage_values(self, session: PortalSession, templates: Sequence[str]) -> dict[str, TemplateValue]:
        """`{storage.KEY}`: a value the portal's app keeps in local or session storage (a bearer token)."""
        keys = {name.split(".", 1)[1] for t in templates for name in names_in(t) if name.startswith("storage.")}
        found: dict[str, TemplateValue] = {}
        for key in keys:
            value = await session.page.evaluate(
                "(k) => window.localStorage.getItem(k) ?? window.sessionStorage.getItem(k)", key
            )
            if value is None:
                raise SessionExpired()
            found[f"storage.{key}"] = str(value)
        return found

    def _json_values(self, session: PortalSession, templates: Sequence[str], step: str) -> dict[str, TemplateValue]:
        """`{json.items.0.key}`: a value from the previous JSON answer (e.g. the key of a search hit)."""
        found: dict[str, TemplateValue] = {}
        for name in {n for t in templates for n in names_in(t) if n.startswith("json.")}:
            value = walk_json(session.last_json, name.removeprefix("json."))
            if value is None or isinstance(value, dict | list):
                raise Unexplained(LayoutChanged(self.payer_id, Reason.UNEXPECTED_ANSWER, step=step))
            found[name] = str(value)
        return found

    async def _fetch_json(
        self, session: PortalSession, step: FetchJson, values: dict[str, TemplateValue], label: str
    ) -> None:
        templates = [step.fetch_json, *step.headers.values(), *(step.body or {}).values()]
        values = values | await self._storage_values(session, templates) | self._json_values(session, templates, label)
        values = await self._with_one_time_code(session, templates, values, label)
        url = self.resolve(render_url(step.fetch_json, values), label)
        headers = {k: render(v, values) for k, v in step.headers.items()}
        body = {k: render(v, values) for k, v in step.body.items()} if step.body is not None else None
        with playwright_errors(self.payer_id, label, Translation.REQUEST):
            response = await session.context.request.fetch(url, method=step.method, headers=headers, data=body)
        status = response.status
        session.last_status = status
        if status in (401, 403):
            raise SessionExpired()
        if status == 429:
            retry_after = _retry_after(response.headers)
            raise RateLimited(self.payer_id, Reason.SLOW_DOWN, retry_after_s=retry_after, step=label, http_status=429)
        if status >= 500:
            raise PortalUnavailable(self.payer_id, Reason.DATA_SERVICE_FAILED, step=label, http_status=status)
        if self.pages.matches_any(session, self.playbook.outcomes.no_results, page_text="", url=url):
            raise NoResults()
        try:
            with playwright_errors(self.payer_id, label, Translation.REQUEST):
                session.last_json = await response.json()
        except ValueError as err:
            raise LayoutChanged(self.payer_id, Reason.NOT_JSON, step=label, http_status=status) from err
        if step.no_results_when_empty is not None and not walk_json(session.last_json, step.no_results_when_empty):
            raise NoResults()

    # --- result lists --------------------------------------------------------------------------
    async def _pick_row(
        self, session: PortalSession, step: PickRow, values: dict[str, TemplateValue], label: str
    ) -> None:
        """Open the row whose columns read as expected, paging on; no such row = no such claim."""
        wanted = {column: _norm(render(text, values)) for column, text in step.match.items()}
        target = await self.pages.target(session, step.frame, label)
        no_results = self.pages.no_results_selectors(step.frame) or ["body"]
        for _ in range(step.max_pages):
            await self.expect(session, [step.pick_row, *no_results], step.frame, label)
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
        raise NoResults()


def _sign_out_problem(err: Exception) -> str:
    """A PHI-free word for why a sign-out failed: a reason code or an exception type, never a message."""
    if isinstance(err, AdapterError):
        return err.reason.value
    if isinstance(err, TimeoutError):
        return "timed_out"
    return type(err).__name__


def elapsed_ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _retry_after(headers: dict[str, str]) -> float | None:
    value = headers.get("retry-after")
    return float(value) if value and value.isdigit() else None


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


async def _text_or_empty(locator: Locator) -> str:
    return await locator.inner_text() if await locator.count() else ""
