"""Sending a corrected (7) or void (8) claim through a portal's form: the playbook's `corrected_claim`.

The one task that writes to a portal, so it is careful in ways a look-up need not be:
- `steps` open the claim's form and fill it (`for_each_line` fills each service line's row);
  before the final `submit` the engine waits for the submit button, so a dry run has seen the
  whole filled form: it saves evidence of it and stops there, having sent nothing;
- the portal's refusals (`refused:` recognisers, by kind) are watched for at every step and after
  the submit, and become `BadClaimData` with a Reason saying what kind (original unknown, duplicate,
  refused), with evidence of the page;
- after the submit click nothing is retried: a session that ends, a page that never confirms, a
  timeout, are `LayoutChanged(correction_unconfirmed)`, which stops the payer until a person has
  looked at the portal, because sending it again could send it twice;
- evidence is saved on success (the confirmation page) as well as on every failure.

Playwright's errors go through `browser_errors.playwright_errors` like every engine call.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NoReturn

from playwright.async_api import Locator
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from claims.models import ServiceLine
from portal_adapters.contract import AcknowledgmentState, CorrectionReceipt, CorrectionRequest, Route
from portal_adapters.engine.browser_errors import Translation, playwright_errors
from portal_adapters.engine.pages import PageReader, SessionExpired
from portal_adapters.engine.steps import StepRunner, elapsed_ms, step_label, template_values
from portal_adapters.errors import (
    AdapterError,
    BadClaimData,
    LayoutChanged,
    PortalUnavailable,
    Reason,
)
from portal_adapters.parsing import ExtractedPage, LayoutMismatch, extract_html
from portal_adapters.playbook.schema import (
    REFUSAL_KINDS,
    Click,
    CorrectedClaimTask,
    Fill,
    ForEachLine,
    Playbook,
    Select,
    Step,
    WaitFor,
)
from portal_adapters.templates import MissingTemplateValue, TemplateValue, render

if TYPE_CHECKING:
    from portal_adapters.engine.adapter import PlaybookPortalAdapter
    from portal_adapters.engine.sessions import PortalSession

Key = tuple[str | int, ...]
#: The most rows `add_line` may add (an 837P claim has at most 50 lines).
MAX_LINES = 50


class ConfirmationReading(BaseModel):
    """What a portal's confirmation page says about a correction it took."""

    model_config = ConfigDict(frozen=True)

    confirmation_number: str = Field(min_length=1, max_length=50)
    payer_claim_number: str | None = Field(default=None, max_length=50)
    status_text: str | None = None


def read_confirmation(page: ExtractedPage) -> ConfirmationReading:
    """Type the confirmation page's fields (pure: the fixture tests run it on saved pages)."""
    fields = {name: value for name, value in page.fields.items() if value}
    if "confirmation_number" not in fields:
        raise LayoutMismatch("confirmation_number", "the confirmation page shows no confirmation number")
    return ConfirmationReading.model_validate(fields)


def _units(value: Decimal) -> str:
    return str(int(value)) if value == value.to_integral_value() else format(value.normalize(), "f")


def correction_values(request: CorrectionRequest) -> dict[str, TemplateValue]:
    """`{correction.*}` and the corrected claim's own values (they override the look-up's)."""
    claim = request.claim
    return {
        "correction.frequency_code": request.frequency_code.value,
        "correction.payer_claim_number": request.payer_claim_number,
        "correction.reason": request.reason or "",
        "claim.diagnosis_codes": ", ".join(claim.diagnosis_codes),
        "claim.rendering_npi": claim.rendering_npi,
        "claim.billed_amount": sum((line.charge for line in claim.lines), Decimal("0.00")),
    }


def line_values(line: ServiceLine) -> dict[str, TemplateValue]:
    """`{line.*}`: one service line of the correction, for the steps of `for_each_line`."""
    modifiers = list(line.modifiers) + [""] * (4 - len(line.modifiers))
    return {
        "line.number": str(line.line_number),
        "line.procedure_code": line.procedure_code,
        "line.modifiers": ",".join(line.modifiers),
        **{f"line.modifier_{n}": modifiers[n - 1] for n in range(1, 5)},
        "line.units": _units(line.units),
        "line.charge": line.charge,
        "line.service_date": line.service_date_from,
        "line.diagnosis_pointers": ",".join(str(p) for p in line.diagnosis_pointers),
    }


class RefusalPages(PageReader):
    """Page classification that knows the correction's refusals: watched while waiting, checked first."""

    def __init__(self, base: PageReader, task: CorrectedClaimTask) -> None:
        super().__init__(base.playbook, base.evidence_store)
        self.evidence_refs = base.evidence_refs  # one list: the adapter reports every piece of evidence
        self.task = task

    def outcome_selectors(self, frame: str | None) -> list[str]:
        groups = self.task.refused.values()
        refusals = [r.selector for group in groups for r in group if r.selector and r.frame == frame]
        return [*super().outcome_selectors(frame), *refusals]

    async def refusal(self, session: PortalSession) -> Reason | None:
        """The kind of refusal the current page shows, if any (in the order of REFUSAL_KINDS)."""
        elements: dict[str, str] = {}
        with playwright_errors(self.payer_id, None, Translation.STEP):
            text = (await session.page.content()).lower()
            for group in self.task.refused.values():
                for recognizer in group:
                    if recognizer.selector and recognizer.selector not in elements:
                        found = (await self.target(session, recognizer.frame)).locator(recognizer.selector)
                        if await found.count() > 0:
                            elements[recognizer.selector] = (await found.first.inner_text()).lower()
        for kind, reason in REFUSAL_KINDS.items():
            if self.matches_any(session, self.task.refused.get(kind, []), text, session.page.url, elements):
                return reason
        return None

    async def classify(self, session: PortalSession, fallback: AdapterError) -> NoReturn:
        reason = await self.refusal(session)
        if reason is not None:
            evidence = await self.evidence(session, "correction-refused")
            raise BadClaimData(self.payer_id, reason, step=fallback.step, evidence_ref=evidence)
        await super().classify(session, fallback)


class CorrectionSteps(StepRunner):
    """The step interpreter with `for_each_line` (rows of service lines) and the refusals watched."""

    def __init__(self, base: StepRunner, task: CorrectedClaimTask, request: CorrectionRequest) -> None:
        super().__init__(base.playbook, RefusalPages(base.pages, task), base.base_url, base.origins)
        self.task = task
        self.request = request

    async def _dispatch(
        self, session: PortalSession, step: Step, values: dict[str, TemplateValue], key: Key, label: str
    ) -> None:
        if isinstance(step, ForEachLine):
            await self._fill_lines(session, step, values, key, label)
        else:
            await super()._dispatch(session, step, values, key, label)

    async def _fill_lines(
        self, session: PortalSession, step: ForEachLine, values: dict[str, TemplateValue], key: Key, label: str
    ) -> None:
        lines = self.request.claim.lines
        await self.expect(session, [step.for_each_line], step.frame, label)
        target = await self.pages.target(session, step.frame, label)
        rows = target.locator(step.for_each_line)
        if step.add_line is not None:
            for _ in range(MAX_LINES):
                if await rows.count() >= len(lines) or await target.locator(step.add_line).count() == 0:
                    break
                await target.locator(step.add_line).first.click()
        if await rows.count() != len(lines):
            raise BadClaimData(self.payer_id, Reason.CORRECTION_FORM_MISMATCH, step=label)
        self.on_origin(target, label)
        for index, line in enumerate(lines):
            row_values = values | line_values(line)
            for number, row_step in enumerate(step.steps):
                row_label = step_label((*key, "steps", number), row_step)
                try:
                    with playwright_errors(self.payer_id, row_label):
                        await self._row_step(session, rows.nth(index), row_step, row_values)
                except PortalUnavailable as err:
                    if err.reason is not Reason.STEP_TIMEOUT:
                        raise
                    missing = LayoutChanged(self.payer_id, Reason.ELEMENT_MISSING, step=row_label)
                    await self.pages.classify(session, missing)

    async def _row_step(
        self, session: PortalSession, row: Locator, step: Step, values: dict[str, TemplateValue]
    ) -> None:
        """One step inside a line's row; its element must show within the playbook's element timeout."""
        found = row.locator(_selector_of(step)).first
        await found.wait_for(state="visible", timeout=self.playbook.session.element_timeout_ms)
        if isinstance(step, Fill):
            await found.fill(render(step.value, values))
        elif isinstance(step, Select):
            await found.select_option(render(step.value, values))
        elif isinstance(step, Click):
            await found.click()
            await session.page.wait_for_load_state("domcontentloaded")


def _selector_of(step: Step) -> str:
    """The element a row step acts on (the schema allows only these four kinds inside for_each_line)."""
    if isinstance(step, Fill):
        return step.fill
    if isinstance(step, Select):
        return step.select
    if isinstance(step, Click):
        return step.click
    assert isinstance(step, WaitFor)
    return step.wait_for


async def send_correction(
    adapter: PlaybookPortalAdapter, request: CorrectionRequest, *, dry_run: bool
) -> CorrectionReceipt:
    """Run the playbook's corrected_claim task on one session; see the module docstring."""
    playbook: Playbook = adapter.playbook
    claim_id = request.query.claim_id
    task = playbook.corrected_claim
    if task is None:
        raise BadClaimData(adapter.payer_id, Reason.NO_CORRECTION_TASK, claim_id=claim_id)
    if not adapter.pool.sessions:
        await adapter.open()
    started = time.perf_counter()
    runner = CorrectionSteps(adapter.steps, task, request)
    pages = runner.pages

    def receipt(**fields: Any) -> CorrectionReceipt:
        return CorrectionReceipt(
            claim_id=claim_id, payer_id=adapter.payer_id, route=Route.PORTAL, elapsed_ms=elapsed_ms(started), **fields
        )

    async with adapter.pool.borrow() as session:
        try:
            await _fill(adapter, runner, session, task, request)
            if dry_run:
                return receipt(submitted=False, evidence_ref=await pages.evidence(session, "correction-dry-run"))
            reading = await _submit(runner, session, task)
            session.checks += 1
            return receipt(
                submitted=True,
                confirmation_number=reading.confirmation_number,
                acknowledgment=AcknowledgmentState.ACCEPTED,  # the portal confirmed it took the claim
                payer_claim_number=reading.payer_claim_number,
                evidence_ref=await pages.evidence(session, "correction-confirmed"),
            )
        except AdapterError as err:
            err.claim_id = err.claim_id or claim_id
            if err.evidence_ref is None:
                err.evidence_ref = await pages.evidence(session, "correction-failed")
            raise
        except MissingTemplateValue as err:
            raise BadClaimData(adapter.payer_id, Reason.MISSING_VALUE, claim_id=claim_id, field=err.name) from None


async def _fill(
    adapter: PlaybookPortalAdapter,
    runner: CorrectionSteps,
    session: PortalSession,
    task: CorrectedClaimTask,
    request: CorrectionRequest,
) -> None:
    """Open and fill the form up to the submit button, signing in again if the session ended meanwhile."""
    for _ in range(adapter.playbook.session.relogin_attempts + 1):
        values = template_values(request.query, session.account) | correction_values(request)
        try:
            await runner.run(session, task.steps, values, ("corrected_claim", "steps"))
            await runner.expect(session, [task.submit], task.frame, "corrected_claim.submit")
            return
        except SessionExpired:
            await adapter.steps.sign_in_again(session)
    raise PortalUnavailable(adapter.payer_id, Reason.SESSION_KEPT_EXPIRING, step="corrected_claim.steps")


async def _submit(runner: CorrectionSteps, session: PortalSession, task: CorrectedClaimTask) -> ConfirmationReading:
    """The one click a dry run never makes, then the confirmation; anything but a confirmation or a
    refusal after it is `correction_unconfirmed` (it may have been sent: never sent again by itself)."""
    payer_id = runner.payer_id
    pages = runner.pages
    assert isinstance(pages, RefusalPages)
    where = "corrected_claim.submit"
    try:
        target = await pages.target(session, task.frame, where)
        with playwright_errors(payer_id, where):
            await target.locator(task.submit).first.click()
            await session.page.wait_for_load_state("domcontentloaded")
        await runner.expect(session, [task.done_when], task.frame, "corrected_claim.done_when")
        with playwright_errors(payer_id, "corrected_claim.extract"):
            html = await (await pages.target(session, task.frame, where)).content()
        return read_confirmation(extract_html(html, task.extract))
    except BadClaimData:
        raise  # the portal said no: nothing was taken
    except (AdapterError, SessionExpired, LayoutMismatch, ValidationError) as err:
        evidence = await pages.evidence(session, "correction-unconfirmed")
        raise LayoutChanged(
            payer_id, Reason.CORRECTION_UNCONFIRMED, step="corrected_claim.done_when", evidence_ref=evidence
        ) from err
