"""SUNRISE's corrected-claim form: correct or void a claim from its detail page, in three steps.

`GET /claims/{key}/correct` shows the form prefilled with the claim as the payer holds it (per
service line: procedure code, modifiers, units, charge; for the claim: diagnosis codes, rendering
NPI, a frequency code select, 7 replacement / 8 void, the original claim number, to be typed, and a
reason). "Review and submit" (`POST`, `step=review`) checks the form and what the payer would say
(`CorrectionsBook.check`, nothing recorded) and shows the summary; "Submit correction"
(`step=submit`) records it and shows the confirmation number and the new payer claim number.
Problems come back on the form in `#correction-error`, the payer's code first (`A7:464 ...`).

Every post carries the session's CSRF token. The ids are the same in both layouts (the redesign
left this newer form alone); only the page frame around it changes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Literal

from starlette.requests import Request
from starlette.responses import Response

from sandbox.corrections import CorrectedLine, CorrectionSubmission, CorrectionVerdict
from sandbox.dataset import npi_with_check_digit
from sandbox.models import SandboxClaim
from sandbox.portals.common import esc, plain_money
from sandbox.sessions import PortalSession

if TYPE_CHECKING:
    from sandbox.portals.sunrise import SunrisePortal

_PROCEDURE = re.compile(r"^[A-Z0-9]{5}$")
_MODIFIER = re.compile(r"^[A-Z0-9]{2}$")
_ICD10 = re.compile(r"^[A-TV-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$")
_LIST = re.compile(r"[\s,;:]+")
LINE_FIELDS = ("procedure", "modifiers", "units", "charge")
FREQUENCIES = {"7": "7 – Replacement of prior claim", "8": "8 – Void/cancel of prior claim"}


def _split(text: str) -> list[str]:
    return [part for part in _LIST.split(text.strip().upper()) if part]


def prefilled(claim: SandboxClaim) -> dict[str, str]:
    """The form's values for a claim as the payer holds it (the original claim number left to type)."""
    values = {
        "diagnosis_codes": ", ".join(claim.diagnosis_codes),
        "rendering_npi": claim.rendering_npi,
        "frequency_code": "7",
        "original_claim_number": "",
        "reason": "",
    }
    for line in claim.lines:
        n = line.line_number
        values |= {
            f"line-{n}-procedure": line.procedure_code,
            f"line-{n}-modifiers": " ".join(line.modifiers),
            f"line-{n}-units": str(line.units),
            f"line-{n}-charge": plain_money(line.charge),
        }
    return values


def read_form(claim: SandboxClaim, values: Mapping[str, str]) -> tuple[CorrectionSubmission | None, list[str]]:
    """The submission the form describes, or what is wrong with it in plain words (one problem each)."""
    problems: list[str] = []
    lines: list[CorrectedLine] = []
    for line in claim.lines:
        n = line.line_number
        procedure = values.get(f"line-{n}-procedure", "").strip().upper()
        modifiers = _split(values.get(f"line-{n}-modifiers", ""))
        units_text = values.get(f"line-{n}-units", "").strip()
        charge_text = values.get(f"line-{n}-charge", "").strip()
        if not _PROCEDURE.match(procedure):
            problems.append(f"Line {n}: the procedure code must be 5 letters or digits.")
        if len(modifiers) > 4 or not all(_MODIFIER.match(m) for m in modifiers):
            problems.append(f"Line {n}: modifiers are up to four codes of 2 letters or digits.")
        if not units_text.isdigit() or int(units_text) < 1:
            problems.append(f"Line {n}: units must be a whole number of at least 1.")
        try:
            charge = Decimal(charge_text)
        except InvalidOperation:
            charge = Decimal(0)
        if charge <= 0 or charge != charge.quantize(Decimal("0.01")):
            problems.append(f"Line {n}: the charge must be an amount above 0.00.")
        if not problems:
            lines.append(
                CorrectedLine(
                    procedure_code=procedure, modifiers=tuple(modifiers), units=int(units_text), charge=charge
                )
            )
    diagnoses = _split(values.get("diagnosis_codes", ""))
    if not 1 <= len(diagnoses) <= 12 or not all(_ICD10.match(code) for code in diagnoses):
        problems.append("Diagnosis codes: one to twelve ICD-10-CM codes, separated by commas.")
    npi = values.get("rendering_npi", "").strip()
    if not (len(npi) == 10 and npi.isdigit() and npi_with_check_digit(npi[:9]) == npi):
        problems.append("Rendering NPI: 10 digits with a valid check digit.")
    frequency = values.get("frequency_code", "")
    if frequency not in FREQUENCIES:
        problems.append("Choose the claim frequency: 7 (replacement) or 8 (void).")
    original = values.get("original_claim_number", "").strip()
    if not original:
        problems.append("Enter the original claim number: the payer claim number of the claim you are correcting.")
    reason = values.get("reason", "").strip()
    if len(reason) > 300:
        problems.append("The reason may be at most 300 characters.")
    if problems:
        return None, problems
    frequency_code: Literal["7", "8"] = "8" if frequency == "8" else "7"
    return (
        CorrectionSubmission(
            payer_id="SUNRISE",
            claim_id=claim.claim_id,
            frequency_code=frequency_code,
            original_claim_number=original,
            lines=tuple(lines),
            diagnosis_codes=tuple(diagnoses),
            rendering_npi=npi,
            reason=reason,
        ),
        [],
    )


class CorrectionForm:
    """The form's pages and handlers, inside the SUNRISE portal's frame."""

    def __init__(self, portal: SunrisePortal) -> None:
        self.portal = portal

    def _claim(self, request: Request) -> SandboxClaim | None:
        claim = self.portal.book.by_key(request.path_params["key"])
        if claim is None or claim.payer is None or not claim.payer.payer_claim_number:
            return None  # only a claim the payer numbered can be corrected
        return claim

    def _not_found(self) -> Response:
        body = '<div id="claim-not-found" class="alert">No such claim, or it cannot be corrected.</div>'
        return self.portal.page("Claim not found", body, signed_in=True, status=404)

    async def show(self, request: Request, session: PortalSession) -> Response:
        claim = self._claim(request)
        if claim is None:
            return self._not_found()
        return self.form_page(claim, session, prefilled(claim))

    async def post(self, request: Request, session: PortalSession) -> Response:
        claim = self._claim(request)
        if claim is None:
            return self._not_found()
        values = {key: str(value) for key, value in (await request.form()).items()}
        if values.get("csrf_token") != session.csrf_token:
            return self.form_page(claim, session, values, ["Your form expired. Please try again."], status=400)
        step = values.get("step", "review")
        if step == "edit":
            return self.form_page(claim, session, values)
        submission, problems = read_form(claim, values)
        if submission is None:
            return self.form_page(claim, session, values, problems)
        book = self.portal.book.corrections
        if step == "submit":
            verdict = book.submit(submission, delay_s=self.portal.runtime.spec.correction_delay_s)
            if verdict.accepted:
                return self.confirmation_page(request, verdict)
        else:
            verdict = book.check(submission)
            if verdict.accepted:
                return self.review_page(claim, session, values, submission)
        return self.form_page(claim, session, values, [_refusal_words(verdict)])

    # --- pages -----------------------------------------------------------------------------------
    def form_page(
        self,
        claim: SandboxClaim,
        session: PortalSession,
        values: Mapping[str, str],
        problems: list[str] | None = None,
        status: int = 200,
    ) -> Response:
        def field(name: str, css: str) -> str:
            return f'<input id="{name}" name="{name}" class="{css}" value="{esc(values.get(name, ""))}">'

        error = ""
        if problems:
            items = "".join(f"<li>{esc(p)}</li>" for p in problems)
            error = f'<div id="correction-error" class="alert" role="alert"><ul>{items}</ul></div>'
        rows = "".join(
            f'<tr class="correction-line" data-line="{line.line_number}"><td>{line.line_number}</td>'
            + "".join(f"<td>{field(f'line-{line.line_number}-{name}', name)}</td>" for name in LINE_FIELDS)
            + "</tr>"
            for line in claim.lines
        )
        options = "".join(
            f'<option value="{code}"{" selected" if values.get("frequency_code", "7") == code else ""}>{esc(label)}'
            "</option>"
            for code, label in FREQUENCIES.items()
        )
        body = (
            f'{error}<p>Correct or void claim <strong id="correction-claim-id">{esc(claim.claim_id)}</strong>. '
            "Change what was billed wrong, then review before you submit.</p>"
            f'<form id="correction-form" method="post" action="/claims/{self.portal.book.key_of(claim)}/correct">'
            f'<input type="hidden" name="csrf_token" value="{session.csrf_token}">'
            '<h2>Service lines</h2><table id="correction-lines"><thead><tr><th>Line</th><th>Procedure</th>'
            f"<th>Modifiers</th><th>Units</th><th>Charge</th></tr></thead><tbody>{rows}</tbody></table>"
            "<h2>Claim</h2>"
            f"<label>Diagnosis codes (ICD-10) {field('diagnosis_codes', 'diagnoses')}</label><br>"
            f"<label>Rendering provider NPI {field('rendering_npi', 'npi')}</label><br>"
            f'<label>Claim frequency <select id="frequency_code" name="frequency_code">{options}</select></label><br>'
            f"<label>Original claim number {field('original_claim_number', 'original')}</label><br>"
            '<label>Reason for the correction <textarea id="reason" name="reason" maxlength="300">'
            f"{esc(values.get('reason', ''))}</textarea></label><br>"
            '<button id="correction-review" type="submit" name="step" value="review">Review and submit</button>'
            "</form>"
        )
        return self.portal.page("Correct a claim", body, signed_in=True, status=status)

    def review_page(
        self, claim: SandboxClaim, session: PortalSession, values: Mapping[str, str], submission: CorrectionSubmission
    ) -> Response:
        hidden = "".join(
            f'<input type="hidden" name="{esc(name)}" value="{esc(value)}">'
            for name, value in values.items()
            if name not in ("csrf_token", "step")
        )
        lines = "".join(
            f'<tr class="review-line"><td>{number}</td><td>{line.procedure_code}</td>'
            f"<td>{' '.join(line.modifiers)}</td><td>{line.units}</td><td>{plain_money(line.charge)}</td></tr>"
            for number, line in enumerate(submission.lines, start=1)
        )
        body = (
            '<div id="correction-review-summary"><p>Check the correction before you submit it. '
            "Once submitted it replaces (or voids) the original claim.</p>"
            f"<dl><dt>Claim</dt><dd>{esc(claim.claim_id)}</dd>"
            f'<dt>Frequency</dt><dd id="review-frequency">{esc(FREQUENCIES[submission.frequency_code])}</dd>'
            f'<dt>Original claim number</dt><dd id="review-original">{esc(submission.original_claim_number)}</dd>'
            f'<dt>Diagnosis codes</dt><dd id="review-diagnoses">{esc(", ".join(submission.diagnosis_codes))}</dd>'
            f'<dt>Rendering NPI</dt><dd id="review-npi">{esc(submission.rendering_npi)}</dd>'
            f'<dt>Reason</dt><dd id="review-reason">{esc(submission.reason)}</dd></dl>'
            '<table id="review-lines"><thead><tr><th>Line</th><th>Procedure</th><th>Modifiers</th><th>Units</th>'
            f"<th>Charge</th></tr></thead><tbody>{lines}</tbody></table></div>"
            f'<form id="correction-confirm" method="post" action="/claims/{self.portal.book.key_of(claim)}/correct">'
            f'<input type="hidden" name="csrf_token" value="{session.csrf_token}">{hidden}'
            '<button id="correction-edit" type="submit" name="step" value="edit">Back and edit</button> '
            '<button id="correction-submit" type="submit" name="step" value="submit">Submit correction</button>'
            "</form>"
        )
        return self.portal.page("Review your correction", body, signed_in=True)

    def confirmation_page(self, request: Request, verdict: CorrectionVerdict) -> Response:
        body = (
            '<div id="correction-confirmation" class="notice-ok"><p>Your correction was received and is in '
            "process.</p><dl>"
            f'<dt>Confirmation number</dt><dd id="confirmation-number">{esc(verdict.confirmation_number or "")}</dd>'
            f'<dt>New payer claim number</dt><dd id="correction-claim-number">'
            f"{esc(verdict.payer_claim_number or '')}</dd>"
            '<dt>Status</dt><dd id="correction-status">P1:20 Pending: in process</dd></dl>'
            f'<a id="back-to-claim" href="/claims/{esc(request.path_params["key"])}">Back to the claim</a></div>'
        )
        return self.portal.page("Correction received", body, signed_in=True)


def _refusal_words(verdict: CorrectionVerdict) -> str:
    return f"{verdict.category_code}:{verdict.status_code} {verdict.message}"
