"""The portal adapter: a payer portal driven by its playbook, behind the PayerAdapter contract.

Thin by design: the session pool (sessions.py) opens and lends signed-in sessions, the step
interpreter (steps.py) runs the playbook's steps, page classification (pages.py) says what a page
is, and the pure parsers (parsing.py) read it. This module turns all of that into answers:
one `ClaimStatusResult` or `ClaimCheckFailed` per claim, or a raised error that stops the payer;
a `CorrectionReceipt` for a corrected claim sent through the portal's form (engine/corrections.py).
Nothing but the taxonomy leaves it: not Playwright's errors, not an ExceptionGroup, not a
ValidationError, and no payer text that still holds the patient's name, member id or birth date.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from playwright.async_api import Browser
from pydantic import ValidationError

from claims.phi import PhiScrubber
from claims.status import ClaimStatus
from portal_adapters.contract import (
    ClaimCheckFailed,
    ClaimOutcome,
    ClaimQuery,
    ClaimStatusResult,
    CorrectionReceipt,
    CorrectionRequest,
    EligibilityQuery,
    EligibilityResult,
    Route,
)
from portal_adapters.credentials import OneTimeCodeSource, PortalAccount
from portal_adapters.engine.browser_errors import Translation, playwright_errors
from portal_adapters.engine.corrections import send_correction
from portal_adapters.engine.pages import NoResults, PageReader, SessionExpired, Unexplained
from portal_adapters.engine.sessions import PortalSession, SessionPool
from portal_adapters.engine.steps import StepRunner, elapsed_ms, template_values
from portal_adapters.errors import (
    AdapterError,
    AuthenticationFailed,
    BadClaimData,
    ErrorKind,
    LayoutChanged,
    PlaybookBroken,
    PortalUnavailable,
    Reason,
    TooManySessions,
)
from portal_adapters.evidence import EvidenceStore
from portal_adapters.parsing import (
    ExtractedPage,
    LayoutMismatch,
    extract_html,
    extract_json,
    read_claim,
    read_eligibility,
)
from portal_adapters.playbook.schema import (
    Extraction,
    Playbook,
    Search,
    SecurityQuestion,
    all_steps,
    base_url_problem,
    playbook_problems,
)
from portal_adapters.templates import MissingTemplateValue, UnsafeTemplateValue, names_in, origin_of

Reading = TypeVar("Reading")
log = logging.getLogger(__name__)


def portal_base_url(playbook: Playbook, explicit: str | None = None) -> str:
    """The base URL in use: given, else CLAIMBOT_PORTAL_<PAYER>_URL, else the playbook's; checked, never echoed."""
    url = explicit or os.environ.get(f"CLAIMBOT_PORTAL_{playbook.payer_id}_URL") or playbook.base_url
    if base_url_problem(url) is not None:
        raise PlaybookBroken(playbook.payer_id, Reason.PORTAL_URL_INVALID)
    return url.rstrip("/")


def account_needs(playbook: Playbook) -> set[str]:
    """The `{account.*}` values the playbook's steps use, and `account.security_answers` for a question step."""
    needs: set[str] = set()
    for _, step in all_steps(playbook):
        if isinstance(step, SecurityQuestion):
            needs.add("account.security_answers")
        needs |= {
            name for text in _strings(step.model_dump()) for name in names_in(text) if name.startswith("account.")
        }
    return needs


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list | tuple):
        return [s for item in value for s in _strings(item)]
    return []


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
        codes: OneTimeCodeSource | None = None,
        code_timeout_s: float = 120.0,
    ) -> None:
        self.payer_id = playbook.payer_id
        if not accounts:
            raise AuthenticationFailed(self.payer_id, Reason.NO_ACCOUNT)
        problems = playbook_problems(playbook)  # the loader reports these; a playbook built in code is checked too
        if problems:
            raise PlaybookBroken(self.payer_id, problems[0].reason, step=problems[0].dotted)
        self.playbook = playbook
        self.accounts = list(accounts)
        self.evidence = evidence
        self.base_url = portal_base_url(playbook, base_url)
        origins = playbook.origins | {o for o in [origin_of(self.base_url)] if o is not None}
        self.pages = PageReader(playbook, evidence)
        self.steps = StepRunner(playbook, self.pages, self.base_url, frozenset(origins), codes, code_timeout_s)
        self.pool = SessionPool(
            self.payer_id,
            playbook.session,
            self.accounts,
            self.steps.sign_in,
            self.steps.sign_out,
            browser=browser,
            headless=headless,
            chromium_path=chromium_path,
        )

    @property
    def sessions(self) -> list[PortalSession]:
        return self.pool.sessions

    @property
    def session_refusals(self) -> list[ErrorKind]:
        return self.pool.refusals

    @property
    def evidence_refs(self) -> list[str]:
        return self.pages.evidence_refs

    # --- lifecycle -----------------------------------------------------------------------------
    def check_accounts(self) -> None:
        """Every account has what the sign-in types: never an empty password into a portal (lockouts)."""
        needs = account_needs(self.playbook)
        for account in self.accounts:
            missing = account.missing_for(needs)
            if missing:
                raise AuthenticationFailed(self.payer_id, Reason.CREDENTIALS_INCOMPLETE, field=missing[0])
            if "account.totp" in needs and account.asks_for_code and self.steps.codes is None:
                # no one to ask in this process (a CLI run, a scheduler without the Slack app): do not type a password
                raise AuthenticationFailed(self.payer_id, Reason.MFA_CODE_NOT_GIVEN, field="account.totp")

    async def open(self) -> None:
        """Check the accounts, start the browser (unless one was given), sign in the first session."""
        self.check_accounts()
        await self.pool.start_browser()
        await self.pool.add(self.accounts[0])

    async def close(self) -> None:
        """Sign every session out (the playbook's logout, bounded, errors logged), close the contexts."""
        await self.pool.close()

    # --- claims --------------------------------------------------------------------------------
    async def check_claims(self, queries: Sequence[ClaimQuery]) -> list[ClaimOutcome]:
        if not self.pool.sessions:
            try:
                await self.open()
            except TooManySessions as err:  # not even one session: every claim waits, the payer goes on
                return [ClaimCheckFailed.from_error(q.claim_id, err) for q in queries]
        await self.pool.grow(len(queries))
        results: dict[str, ClaimOutcome] = {}

        async def one(query: ClaimQuery) -> None:
            results[query.claim_id] = await self._claim_outcome(query)

        try:
            async with asyncio.TaskGroup() as group:
                for query in {q.claim_id: q for q in queries}.values():
                    group.create_task(one(query))
        except* AdapterError as errors:  # only errors that stop the payer get here; the others are outcomes
            raise errors.exceptions[0] from None
        return [results[q.claim_id] for q in queries]

    async def _claim_outcome(self, query: ClaimQuery) -> ClaimOutcome:
        """One claim's answer; an error about this claim alone becomes its ClaimCheckFailed."""
        try:
            outcome: ClaimOutcome = await self._with_session(query, self._check_claim_once)
            return outcome
        except AdapterError as err:
            err.claim_id = err.claim_id or query.claim_id
            if err.stops_payer:
                raise
            return ClaimCheckFailed.from_error(query.claim_id, err)
        except Exception as err:  # a bug must cost one claim, not the batch, and must not leak its text
            log.error(
                "portal check failed unexpectedly: %s (payer %s, claim %s)",
                type(err).__name__,
                self.payer_id,
                query.claim_id,
            )
            failure = PortalUnavailable(self.payer_id, Reason.ENGINE_FAILED, claim_id=query.claim_id)
            return ClaimCheckFailed.from_error(query.claim_id, failure)

    def _search_for(self, query: ClaimQuery) -> tuple[int, Search] | None:
        available = {
            "payer_claim_number": bool(query.payer_claim_number),
            "claim_id": True,
            "member_id": bool(query.patient.member_id),
        }
        searches = enumerate(self.playbook.claim_status.searches)
        return next(((i, s) for i, s in searches if all(available[r] for r in s.requires)), None)

    async def _check_claim_once(self, session: PortalSession, query: ClaimQuery) -> ClaimOutcome:
        started = time.perf_counter()
        found = self._search_for(query)
        if found is None:
            raise BadClaimData(self.payer_id, Reason.NO_USABLE_SEARCH, claim_id=query.claim_id)
        index, search = found
        task = self.playbook.claim_status
        where = "claim_status.extract"
        try:
            await self.steps.run(
                session,
                search.steps,
                template_values(query, session.account),
                ("claim_status", "searches", index, "steps"),
            )
            reading = await self._read(session, task.extract, where, lambda page: read_claim(page, task))
            scrub = PhiScrubber([query.patient]).scrub
            return ClaimStatusResult(
                claim_id=query.claim_id,
                payer_id=self.payer_id,
                route=Route.PORTAL,
                elapsed_ms=elapsed_ms(started),
                **reading.model_dump(exclude={"status_text"}),
                payer_status_text=scrub(reading.status_text) if reading.status_text else None,
            )
        except NoResults:
            return ClaimStatusResult(
                claim_id=query.claim_id,
                payer_id=self.payer_id,
                route=Route.PORTAL,
                elapsed_ms=elapsed_ms(started),
                status=ClaimStatus.NOT_FOUND,
                payer_status_text="no matching claim",
            )
        except ValidationError as err:  # the page read, but its values do not fit a result (one claim's problem)
            failure = LayoutChanged(
                self.payer_id, Reason.UNEXPECTED_ANSWER, claim_id=query.claim_id, step=where, field=_first_field(err)
            )
            return ClaimCheckFailed.from_error(query.claim_id, failure)

    # --- eligibility ---------------------------------------------------------------------------
    async def check_eligibility(self, query: EligibilityQuery) -> EligibilityResult:
        if self.playbook.eligibility is None:
            raise BadClaimData(self.payer_id, Reason.NO_ELIGIBILITY_TASK)
        if not self.pool.sessions:
            await self.open()
        try:
            result: EligibilityResult = await self._with_session(query, self._check_eligibility_once)
        except AdapterError:
            raise
        except Exception as err:
            log.error("eligibility check failed unexpectedly: %s (payer %s)", type(err).__name__, self.payer_id)
            raise PortalUnavailable(self.payer_id, Reason.ENGINE_FAILED) from None
        return result

    async def _check_eligibility_once(self, session: PortalSession, query: EligibilityQuery) -> EligibilityResult:
        task = self.playbook.eligibility
        assert task is not None
        started = time.perf_counter()
        where = "eligibility.extract"
        try:
            await self.steps.run(session, task.steps, template_values(query, session.account), ("eligibility", "steps"))
            reading = await self._read(session, task.extract, where, lambda page: read_eligibility(page, task))
            plan = PhiScrubber([query.patient]).scrub(reading.plan_name) if reading.plan_name else None
            return EligibilityResult(
                payer_id=self.payer_id,
                route=Route.PORTAL,
                elapsed_ms=elapsed_ms(started),
                found=True,
                active=reading.active,
                plan_name=plan,
                benefits=reading.benefits,
            )
        except NoResults:
            return EligibilityResult(
                payer_id=self.payer_id, route=Route.PORTAL, elapsed_ms=elapsed_ms(started), found=False, active=False
            )
        except ValidationError as err:
            raise LayoutChanged(self.payer_id, Reason.UNEXPECTED_ANSWER, step=where, field=_first_field(err)) from None

    # --- corrections ---------------------------------------------------------------------------
    async def submit_correction(self, request: CorrectionRequest, *, dry_run: bool = False) -> CorrectionReceipt:
        """Type a corrected or void claim into the portal's form (the playbook's corrected_claim).

        A dry run fills the form and stops before the final submit (evidence of the filled form);
        a refusal is BadClaimData with the kind as its Reason; see engine/corrections.py."""
        try:
            return await send_correction(self, request, dry_run=dry_run)
        except AdapterError:
            raise
        except Exception as err:  # a bug must not leak its text (the form holds the patient's claim)
            log.error("correction failed unexpectedly: %s (payer %s)", type(err).__name__, self.payer_id)
            raise PortalUnavailable(self.payer_id, Reason.ENGINE_FAILED, claim_id=request.query.claim_id) from None

    # --- shared --------------------------------------------------------------------------------
    async def _with_session(
        self, query: ClaimQuery | EligibilityQuery, work: Callable[[PortalSession, Any], Awaitable[Any]]
    ) -> Any:
        """Run one look-up on an idle session; sign in again (as often as configured) if the session ended."""
        async with self.pool.borrow() as session:
            try:
                for _ in range(self.playbook.session.relogin_attempts + 1):
                    try:
                        result = await work(session, query)
                        session.checks += 1
                        return result
                    except SessionExpired:
                        await self.steps.sign_in_again(session)
                raise PortalUnavailable(self.payer_id, Reason.SESSION_KEPT_EXPIRING)
            except MissingTemplateValue as err:
                raise BadClaimData(self.payer_id, Reason.MISSING_VALUE, field=err.name) from None
            except UnsafeTemplateValue as err:
                if err.name.startswith("json."):  # the portal's own answer would reshape its address
                    raise LayoutChanged(self.payer_id, Reason.UNEXPECTED_ANSWER) from None
                raise BadClaimData(self.payer_id, Reason.UNSAFE_URL_VALUE, field=err.name) from None

    async def _extract(self, session: PortalSession, spec: Extraction, where: str) -> ExtractedPage:
        if spec.source == "json":
            return extract_json(session.last_json, spec)
        target = await self.pages.target(session, spec.frame, where)
        with playwright_errors(self.payer_id, where, Translation.STEP):
            html = await target.content()
        return extract_html(html, spec)

    async def _read(
        self, session: PortalSession, spec: Extraction, where: str, read: Callable[[ExtractedPage], Reading]
    ) -> Reading:
        """Read the current page; one that does not match is classified (no results? layout change?)."""
        try:
            return read(await self._extract(session, spec, where))
        except LayoutMismatch as err:
            await self.pages.classify(
                session, LayoutChanged(self.payer_id, Reason.PAGE_UNREADABLE, step=where, field=err.field)
            )
        except Unexplained as err:
            await self.pages.classify(session, err.fallback)

    async def capture(self, reason: str = "on-demand") -> str | None:
        """Evidence of the current page of the first session (for `playbook try --screenshot`)."""
        return await self.pages.evidence(self.pool.sessions[0], reason) if self.pool.sessions else None


def _first_field(err: ValidationError) -> str | None:
    """The name of the first field that failed (never its value)."""
    for problem in err.errors():
        names = [str(part) for part in problem["loc"] if isinstance(part, str)]
        if names:
            return names[0]
    return None
