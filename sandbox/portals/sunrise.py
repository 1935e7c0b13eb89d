"""SUNRISE: the server-rendered portal (Sunrise Health Plan).

Log-in form with a CSRF token, then a TOTP step (RFC 6238); claim search by claim number, or by
member id with a date of service or a date range; a paginated results table (10 a page); a claim
detail page that shows X12 status codes, amounts as plain decimals and ISO dates; an eligibility page.

Layout 2 is the "redesign": other ids and classes, the results table in another container with the
status moved to the first column under a new header, the status moved into the detail page's header.

From a claim's detail page, "Correct this claim" opens the corrected-claim form (form, review,
confirmation: sandbox/portals/sunrise_corrections.py); its ids are the same in both layouts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Scope

from sandbox.accounts import ServerName
from sandbox.codes import CARC_TEXTS, CATEGORY_TEXTS, GROUP_TEXTS, RARC_TEXTS, STATUS_CODE_TEXTS
from sandbox.corrections import CorrectionsBook, corrections_admin_route
from sandbox.faults import FaultSpec
from sandbox.models import Eligibility, Patient, SandboxClaim, SandboxWorld
from sandbox.payer_book import MemberMiss, PayerBook
from sandbox.portals.common import (
    CsrfTokens,
    esc,
    int_param,
    iso_date,
    note_account,
    page_of,
    parse_date,
    plain_money,
    session_guard,
)
from sandbox.portals.sunrise_corrections import CorrectionForm
from sandbox.runtime import FaultMiddleware, ServerRuntime, admin_routes
from sandbox.sessions import Access, LoginResult, PortalGate, PortalSession

SESSION_COOKIE = "SRSESSION"
PRE_LOGIN_COOKIE = "SRPRE"
PAGE_SIZE = 10

#: Element ids and classes per layout version; the keys are what the templates ask for.
LAYOUTS: dict[int, dict[str, str]] = {
    1: {
        "login_form": "login-form",
        "username": "username",
        "password": "password",
        "login_button": "login-submit",
        "login_error": "login-error",
        "otp_form": "mfa-form",
        "otp": "otp",
        "otp_button": "mfa-submit",
        "otp_error": "mfa-error",
        "nav": "main-nav",
        "nav_claims": "nav-claims",
        "nav_eligibility": "nav-eligibility",
        "nav_logout": "nav-logout",
        "search_form": "claim-search",
        "claim_number": "claim-number-input",
        "member_id": "member-id-input",
        "dos": "dos-input",
        "date_from": "date-from-input",
        "date_to": "date-to-input",
        "search_button": "search-btn",
        "results": "results",
        "result_row": "claim-row",
        "status_cell": "status",
        "claim_link": "claim-link",
        "empty": "no-results",
        "pager": "pagination",
        "next": "page-next",
        "prev": "page-prev",
        "page_info": "page-info",
        "elig_form": "eligibility-form",
        "elig_member": "elig-member-id",
        "elig_dob": "elig-dob",
        "elig_date": "elig-date",
        "elig_button": "elig-submit",
        "elig_error": "eligibility-error",
    },
    2: {
        "login_form": "signin",
        "username": "user-id",
        "password": "user-pass",
        "login_button": "signin-btn",
        "login_error": "signin-message",
        "otp_form": "verify-form",
        "otp": "verification-code",
        "otp_button": "verify-btn",
        "otp_error": "verify-message",
        "nav": "side-menu",
        "nav_claims": "menu-claims",
        "nav_eligibility": "menu-benefits",
        "nav_logout": "menu-signout",
        "search_form": "find-claims",
        "claim_number": "q-claim",
        "member_id": "q-member",
        "dos": "q-dos",
        "date_from": "q-from",
        "date_to": "q-to",
        "search_button": "find-btn",
        "results": "claimsGrid",
        "result_row": "sr-grid__row",
        "status_cell": "sr-grid__status",
        "claim_link": "sr-grid__link",
        "empty": "sr-empty",
        "pager": "pager",
        "next": "pager__next",
        "prev": "pager__prev",
        "page_info": "pager__info",
        "elig_form": "benefits-lookup",
        "elig_member": "b-member",
        "elig_dob": "b-dob",
        "elig_date": "b-date",
        "elig_button": "b-submit",
        "elig_error": "benefits-message",
    },
}

STYLE = """<style>
body{font-family:Arial,sans-serif;margin:0;color:#222}
header,.app-shell aside{background:#f6a623;padding:8px 16px}
main{padding:16px}
table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
.alert,.notice{padding:8px;margin:8px 0;border:1px solid #c33;background:#fee}
dt{font-weight:bold}
nav a,aside a{margin-right:12px}
.app-shell{display:flex}
.app-shell main{flex:1}
</style>"""


def status_label(claim: SandboxClaim) -> tuple[str, str]:
    """(`F1:65`, the words for it) as the portal prints a claim status."""
    record = claim.payer
    assert record is not None
    code = f"{record.category_code}:{record.status_code}"
    if record.entity_code:
        code += f":{record.entity_code}"
    words = f"{CATEGORY_TEXTS[record.category_code]} — {STATUS_CODE_TEXTS[record.status_code]}"
    return code, words


class SunrisePortal:
    """Pages and handlers of the SUNRISE portal over one payer book."""

    def __init__(self, book: PayerBook, runtime: ServerRuntime[FaultSpec]) -> None:
        self.book = book
        self.runtime = runtime
        self.gate = PortalGate(ServerName.SUNRISE, runtime)
        self.csrf = CsrfTokens()
        self.correction = CorrectionForm(self)

    @property
    def ids(self) -> dict[str, str]:
        return LAYOUTS[self.runtime.spec.layout_version]

    @property
    def v2(self) -> bool:
        return self.runtime.spec.layout_version == 2

    # --- page frame ---------------------------------------------------------------------------

    def page(self, title: str, body: str, *, signed_in: bool = False, status: int = 200) -> HTMLResponse:
        ids = self.ids
        nav = ""
        if signed_in:
            nav = (
                f'<nav id="{ids["nav"]}"><a id="{ids["nav_claims"]}" href="/claims">Claim status</a>'
                f'<a id="{ids["nav_eligibility"]}" href="/eligibility">Eligibility &amp; benefits</a>'
                f'<a id="{ids["nav_logout"]}" href="/logout">Sign out</a></nav>'
            )
        if self.v2:
            frame = (
                '<div class="app-shell"><aside>'
                f'<strong class="brand">Sunrise Provider Hub</strong>{nav}</aside>'
                f"<main><h1>{esc(title)}</h1>{body}</main></div>"
            )
        else:
            frame = (
                '<header class="topbar">'
                f'<span class="brand">Sunrise Health Plan · Provider Portal</span>{nav}'
                f"</header><main><h1>{esc(title)}</h1>{body}</main>"
            )
        document = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{esc(title)} · Sunrise</title>"
            f'{STYLE}</head><body data-layout="{self.runtime.spec.layout_version}">{frame}</body></html>'
        )
        return HTMLResponse(document, status_code=status)

    def fault_page(self, _: Scope, kind: str, status: int) -> Response:
        if kind == "maintenance":
            body = (
                '<div id="maintenance" class="alert">Sunrise '
                "Provider Portal is down for scheduled maintenance. "
                "Please try again later.</div>"
            )
            response = self.page("Scheduled maintenance", body, status=status)
            response.headers["Retry-After"] = "60"
            return response
        return self.page(
            "Something went wrong",
            '<div id="server-error" class="alert">Unexpected error.</div>',
            status=status,
        )

    # --- signing in ---------------------------------------------------------------------------

    def login_form(self, message: str = "", status: int = 200) -> HTMLResponse:
        ids = self.ids
        cookie = self.csrf.new_cookie()
        error = f'<div id="{ids["login_error"]}" class="alert notice">{esc(message)}</div>' if message else ""
        body = (
            f'{error}<form id="{ids["login_form"]}" method="post" action="/login">'
            f'<input type="hidden" name="csrf_token" value="{self.csrf.token_for(cookie)}">'
            f'<label>User ID <input id="{ids["username"]}" '
            'name="username" autocomplete="username"></label><br>'
            f'<label>Password <input id="{ids["password"]}" name="password" type="password"></label><br>'
            f'<button id="{ids["login_button"]}" type="submit">Sign in</button></form>'
        )
        response = self.page("Provider sign in", body, status=status)
        response.set_cookie(PRE_LOGIN_COOKIE, cookie, httponly=True, samesite="lax")
        return response

    async def get_login(self, request: Request) -> Response:
        reason = request.query_params.get("reason")
        return self.login_form("Your session has expired. Please sign in again." if reason == "expired" else "")

    async def post_login(self, request: Request) -> Response:
        form = await request.form()
        if not self.csrf.valid(request.cookies.get(PRE_LOGIN_COOKIE), str(form.get("csrf_token", ""))):
            return self.login_form("Your sign-in form expired. Please try again.", status=400)
        username = str(form.get("username", ""))
        note_account(request, username)
        result, session = self.gate.log_in(username, str(form.get("password", "")))
        if result == LoginResult.BAD_CREDENTIALS:
            return self.login_form("The user ID or password is incorrect.")
        if result == LoginResult.LOCKED:
            return self.login_form("This account is locked after too many failed sign-in attempts.")
        if result == LoginResult.TOO_MANY_SESSIONS:
            return self.login_form("This account already has the maximum number of active sessions.")
        assert session is not None
        response = RedirectResponse("/mfa", status_code=303)
        response.set_cookie(SESSION_COOKIE, session.sid, httponly=True, samesite="lax")
        response.delete_cookie(PRE_LOGIN_COOKIE)
        return response

    def mfa_form(self, session: PortalSession, message: str = "") -> HTMLResponse:
        ids = self.ids
        error = f'<div id="{ids["otp_error"]}" class="alert notice">{esc(message)}</div>' if message else ""
        body = (
            f"{error}<p>Enter the 6-digit code from your authenticator app.</p>"
            f'<form id="{ids["otp_form"]}" method="post" action="/mfa">'
            f'<input type="hidden" name="csrf_token" value="{session.csrf_token}">'
            f'<label>Verification code <input id="{ids["otp"]}" name="code" inputmode="numeric" '
            f'autocomplete="one-time-code" maxlength="6"></label>'
            f'<button id="{ids["otp_button"]}" type="submit">Verify</button></form>'
        )
        return self.page("Two-step verification", body)

    async def get_mfa(self, _: Request, session: PortalSession) -> Response:
        return self.mfa_form(session)

    async def post_mfa(self, request: Request, session: PortalSession) -> Response:
        form = await request.form()
        if str(form.get("csrf_token", "")) != session.csrf_token:
            return self.mfa_form(session, "Your verification form expired. Please try again.")
        if not self.gate.pass_second_factor(session, str(form.get("code", ""))):
            return self.mfa_form(session, "That code is not valid. Try the current code.")
        return RedirectResponse("/claims", status_code=303)

    @staticmethod
    def not_at_mfa(access: Access, _: str | None) -> Response:
        """The MFA page without a session waiting for it: sign in first, or go on to the claims."""
        target = "/login" if access == Access.LOGIN_REQUIRED else "/claims"
        return RedirectResponse(target, status_code=303)

    async def logout(self, request: Request) -> Response:
        self.gate.log_out(request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    def refuse(self, access: Access, sid: str | None) -> Response:
        """Where a request without a usable session goes: sign-in, MFA, or a 429 page."""
        if access == Access.SECOND_FACTOR_REQUIRED:
            return RedirectResponse("/mfa", status_code=303)
        if access == Access.RATE_LIMITED:
            body = '<div id="rate-limited" class="alert">Too many requests. Please slow down and retry shortly.</div>'
            response = self.page("Too many requests", body, signed_in=True, status=429)
            response.headers["Retry-After"] = str(int(self.runtime.spec.rate_limit_window_s))
            return response
        return RedirectResponse("/login?reason=expired" if sid else "/login", status_code=303)

    # --- claims -------------------------------------------------------------------------------

    async def claims(self, request: Request, _: PortalSession) -> Response:
        params = request.query_params
        claim_number = params.get("claim_number", "")
        member_id = params.get("member_id", "")
        dos, date_from, date_to = (parse_date(params.get(k)) for k in ("dos", "date_from", "date_to"))
        body = self.search_form(claim_number, member_id, dos, date_from, date_to)
        if any(params.get(k) for k in ("claim_number", "member_id", "dos", "date_from", "date_to")):
            found = self.book.search(
                claim_number=claim_number,
                member_id=member_id,
                service_date=dos,
                date_from=date_from,
                date_to=date_to,
            )
            body += self.results(found, int_param(request, "page", 1), request)
        return self.page("Claim status", body, signed_in=True)

    def search_form(
        self,
        claim_number: str,
        member_id: str,
        dos: date | None,
        date_from: date | None,
        date_to: date | None,
    ) -> str:
        ids = self.ids
        return (
            f'<form id="{ids["search_form"]}" method="get" action="/claims">'
            f"<fieldset><legend>By claim</legend><label>Claim number (payer or patient account) "
            f'<input id="{ids["claim_number"]}" name="claim_number" '
            f'value="{esc(claim_number)}"></label></fieldset>'
            "<fieldset><legend>By member</legend>"
            f'<label>Member ID <input id="{ids["member_id"]}" name="member_id" '
            f'value="{esc(member_id)}"></label> <label>Date of service <input id="{ids["dos"]}" name="dos" '
            f'type="date" value="{iso_date(dos)}"></label></fieldset>'
            f'<fieldset><legend>By service dates</legend><label>From <input id="{ids["date_from"]}" '
            f'name="date_from" type="date" value="{iso_date(date_from)}"></label> <label>To '
            f'<input id="{ids["date_to"]}" name="date_to" '
            f'type="date" value="{iso_date(date_to)}"></label></fieldset>'
            f'<button id="{ids["search_button"]}" type="submit">Search</button></form>'
        )

    def results(self, found: Sequence[SandboxClaim], page: int, request: Request) -> str:
        ids = self.ids
        if not found:
            if self.v2:
                return f'<div class="{ids["empty"]}" data-testid="empty-state">No matching claims found.</div>'
            return f'<p id="{ids["empty"]}" class="empty">No claims match your search.</p>'
        shown, page, pages = page_of(found, page, PAGE_SIZE)
        rows = "".join(self.result_row(claim) for claim in shown)
        if self.v2:
            head = "<th>Claim Status</th><th>Claim Number</th><th>Payer Ref</th><th>Patient</th>"
            head += "<th>Service Date</th><th>Billed</th><th>Paid</th>"
            table = (
                '<section id="claimResults"><div class="grid-wrap">'
                f'<table class="sr-grid" id="{ids["results"]}">'
                f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div></section>"
            )
        else:
            head = "<th>Claim #</th><th>Payer claim #</th><th>Patient</th><th>Date of service</th>"
            head += "<th>Status</th><th>Billed</th><th>Paid</th>"
            table = (
                f'<div class="results-panel"><table id="{ids["results"]}" class="results-table">'
                f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>"
            )
        return table + self.pager(page, pages, len(found), request)

    def result_row(self, claim: SandboxClaim) -> str:
        ids = self.ids
        record = claim.payer
        assert record is not None
        code, words = status_label(claim)
        href = f"/claims/{self.book.key_of(claim)}"
        link = f'<a class="{ids["claim_link"]}" href="{href}">{esc(claim.claim_id)}</a>'
        status = f'<td class="{ids["status_cell"]}" title="{esc(words)}">{code}</td>'
        cells = [
            f'<td class="claim-number">{link}</td>',
            f"<td>{esc(record.payer_claim_number or '')}</td>",
            f"<td>{esc(claim.patient.full_name)}</td>",
            f"<td>{iso_date(claim.service_date_from)}</td>",
            f"<td>{plain_money(claim.billed_amount)}</td>",
            f"<td>{plain_money(record.paid)}</td>",
        ]
        if self.v2:
            cells.insert(0, status)
        else:
            cells.insert(4, status)
        return f'<tr class="{ids["result_row"]}">{"".join(cells)}</tr>'

    def pager(self, page: int, pages: int, total: int, request: Request) -> str:
        ids = self.ids
        info = f"Page {page} of {pages} ({total} claims)"

        def link(target: int, key: str, text: str) -> str:
            url = request.url.include_query_params(page=target)
            query = f"{url.path}?{url.query}"
            return f'<a class="{ids[key]}" rel="{key}" href="{esc(query)}">{text}</a>'

        prev = link(page - 1, "prev", "« Previous") if page > 1 else ""
        nxt = link(page + 1, "next", "Next »") if page < pages else ""
        if self.v2:
            return (
                f'<ul class="{ids["pager"]}"><li>{prev}</li><li class="{ids["page_info"]}">{info}</li>'
                f"<li>{nxt}</li></ul>"
            )
        return f'<nav id="{ids["pager"]}">{prev} <span id="{ids["page_info"]}">{info}</span> {nxt}</nav>'

    async def claim_detail(self, request: Request, _: PortalSession) -> Response:
        claim = self.book.by_key(request.path_params["key"])
        if claim is None:
            return self.page(
                "Claim not found",
                '<div id="claim-not-found" class="alert">No such claim.</div>',
                signed_in=True,
                status=404,
            )
        body = self.detail_body(claim)
        if claim.payer is not None and claim.payer.payer_claim_number:  # the same link in both layouts
            key = self.book.key_of(claim)
            body += f'<p><a id="correct-claim" href="/claims/{key}/correct">Correct this claim</a></p>'
        return self.page(f"Claim {claim.claim_id}", body, signed_in=True)

    def detail_body(self, claim: SandboxClaim) -> str:
        record = claim.payer
        assert record is not None
        code, words = status_label(claim)
        payment = record.payment
        dates = iso_date(claim.service_date_from)
        if claim.service_date_to != claim.service_date_from:
            dates += f" – {iso_date(claim.service_date_to)}"
        facts = [
            ("claim-number", "Claim number", claim.claim_id),
            ("payer-claim-number", "Payer claim number", record.payer_claim_number or "Not assigned"),
            ("patient-name", "Patient", claim.patient.full_name),
            ("member-id", "Member ID", claim.patient.member_id),
            ("patient-dob", "Date of birth", iso_date(claim.patient.dob)),
            ("service-dates", "Dates of service", dates),
            ("received-date", "Received", iso_date(record.received_date)),
            ("processed-date", "Processed", iso_date(record.processed_date)),
            ("billed-amount", "Billed", plain_money(claim.billed_amount)),
            ("allowed-amount", "Allowed", plain_money(record.allowed)),
            ("paid-amount", "Paid", plain_money(record.paid)),
            ("patient-responsibility", "Patient responsibility", plain_money(record.patient_responsibility)),
            (
                "payment-method",
                "Payment method",
                {"ACH": "EFT", "CHK": "Check"}[payment.method] if payment else "",
            ),
            ("payment-number", "Check/EFT number", payment.trace_number if payment else ""),
            ("payment-date", "Payment date", iso_date(payment.payment_date) if payment else ""),
        ]
        if record.rejection_reason:
            facts.append(("rejection-reason", "Rejection reason", record.rejection_reason))
        lines = "".join(
            f'<tr class="line-row"><td>{line.line_number}</td>'
            f'<td class="procedure">{line.procedure_code}</td>'
            f"<td>{':'.join(line.modifiers)}</td><td>{line.units}</td><td>{plain_money(line.charge)}</td>"
            f"<td>{plain_money(line.allowed)}</td><td>{plain_money(line.paid)}</td></tr>"
            for line in claim.lines
        )
        lines_table = (
            '<h2>Service lines</h2><table id="service-lines" class="lines">'
            "<thead><tr><th>Line</th><th>Procedure</th>"
            "<th>Modifiers</th><th>Units</th><th>Billed</th><th>Allowed</th><th>Paid</th></tr></thead>"
            f"<tbody>{lines}</tbody></table>"
        )
        if self.v2:
            grid = "".join(
                f'<div class="kv"><label>{esc(label)}</label><output data-k="{key}">{esc(value)}</output></div>'
                for key, label, value in facts
            )
            return (
                f'<article class="claim-view"><header class="claim-view__head"><h2>Claim details</h2>'
                f'<div class="state-pill" data-role="claim-state"><b>{code}</b> {esc(words)}</div></header>'
                f'<div class="claim-view__grid">{grid}</div>'
                f"{self.reasons_table(claim)}{lines_table}</article>"
            )
        summary = "".join(f'<dt>{esc(label)}</dt><dd id="{key}">{esc(value)}</dd>' for key, label, value in facts)
        status = (
            f'<dt>Status</dt><dd id="claim-status"><span class="status-code">{code}</span> '
            f'<span class="status-text">{esc(words)}</span></dd>'
        )
        reasons = self.reasons_table(claim)
        return f'<dl id="claim-summary" class="summary">{status}{summary}</dl>{lines_table}{reasons}'

    def reasons_table(self, claim: SandboxClaim) -> str:
        """Adjustments and denial reasons: group, CARC, RARC, our text, amount (one row per adjustment)."""
        rows = []
        for line in claim.lines:
            for adj in line.adjustments:
                text = f"{GROUP_TEXTS[adj.group]}: {CARC_TEXTS[adj.carc]}"
                if adj.rarc:
                    text += f" ({RARC_TEXTS[adj.rarc]})"
                if self.v2:
                    rows.append(
                        f'<tr class="adj"><td class="adj__carc">{adj.carc}</td>'
                        f'<td class="adj__group">{adj.group}</td>'
                        f'<td class="adj__rarc">{adj.rarc or ""}</td><td>{plain_money(adj.amount)}</td>'
                        f"<td>{line.line_number}</td><td>{esc(text)}</td></tr>"
                    )
                else:
                    rows.append(
                        f'<tr class="reason-row"><td>{line.line_number}</td>'
                        f'<td class="group">{adj.group}</td>'
                        f'<td class="carc">{adj.carc}</td><td class="rarc">{adj.rarc or ""}</td>'
                        f'<td class="reason-text">{esc(text)}</td>'
                        f'<td class="amount">{plain_money(adj.amount)}</td></tr>'
                    )
        if not rows:
            return ""
        if self.v2:
            return (
                "<h3>Adjustment codes</h3>"
                '<table class="adj-table" id="adjustmentCodes"><thead><tr><th>CARC</th>'
                "<th>Group</th><th>RARC</th><th>Amount</th><th>Line</th><th>Description</th></tr></thead>"
                f"<tbody>{''.join(rows)}</tbody></table>"
            )
        return (
            '<h2>Adjustments and denial reasons</h2><table id="denial-reasons">'
            "<thead><tr><th>Line</th><th>Group</th>"
            "<th>CARC</th><th>RARC</th><th>Reason</th><th>Amount</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
        )

    # --- eligibility --------------------------------------------------------------------------

    async def eligibility(self, request: Request, _: PortalSession) -> Response:
        ids = self.ids
        params = request.query_params
        member_id = params.get("member_id", "")
        dob = parse_date(params.get("dob"))
        as_of = parse_date(params.get("as_of")) or self.book.reference_date
        body = (
            f'<form id="{ids["elig_form"]}" method="get" action="/eligibility">'
            f'<label>Member ID <input id="{ids["elig_member"]}" '
            f'name="member_id" value="{esc(member_id)}"></label> '
            f'<label>Date of birth <input id="{ids["elig_dob"]}" '
            f'name="dob" type="date" value="{iso_date(dob)}"></label> '
            f'<label>As of <input id="{ids["elig_date"]}" '
            f'name="as_of" type="date" value="{iso_date(as_of)}"></label> '
            f'<button id="{ids["elig_button"]}" type="submit">Check eligibility</button></form>'
        )
        if member_id:
            found = self.book.find_member(member_id, dob)
            if isinstance(found, MemberMiss):
                message = {
                    MemberMiss.NO_SUCH_MEMBER: "No member found with that member ID.",
                    MemberMiss.BIRTH_DATE_MISMATCH: "The date of birth does not match our records.",
                }[found]
                body += f'<div id="{ids["elig_error"]}" class="alert notice">{message}</div>'
            else:
                body += self.coverage(*found, as_of)
        return self.page("Eligibility & benefits", body, signed_in=True)

    def coverage(self, patient: Patient, benefits: Eligibility, as_of: date) -> str:
        active = benefits.is_active_on(as_of)
        oop_max = benefits.out_of_pocket_max
        oop_remaining = benefits.out_of_pocket_remaining
        facts = [
            ("member-name", "Member", patient.full_name),
            ("coverage-status", "Coverage", "Active" if active else "Inactive"),
            ("plan-name", "Plan", benefits.plan_name),
            ("group-number", "Group", benefits.group_number),
            ("coverage-start", "Coverage start", iso_date(benefits.coverage_start)),
            ("coverage-end", "Coverage end", iso_date(benefits.coverage_end)),
            ("copay", "Office visit copay", plain_money(benefits.copay)),
            ("coinsurance", "Coinsurance", f"{benefits.coinsurance_percent}%"),
            ("deductible", "Deductible", plain_money(benefits.deductible)),
            ("deductible-met", "Deductible met", plain_money(benefits.deductible_met)),
            ("deductible-remaining", "Deductible remaining", plain_money(benefits.deductible_remaining)),
            ("oop-max", "Out-of-pocket maximum", plain_money(oop_max) if oop_max is not None else "None"),
            (
                "oop-remaining",
                "Out-of-pocket remaining",
                plain_money(oop_remaining) if oop_remaining is not None else "None",
            ),
        ]
        if self.v2:
            cells = "".join(
                f'<tr><th>{esc(label)}</th><td data-benefit="{key}">{esc(value)}</td></tr>'
                for key, label, value in facts
            )
            return f'<section class="benefits-card"><table class="benefits">{cells}</table></section>'
        items = "".join(f'<dt>{esc(label)}</dt><dd id="{key}">{esc(value)}</dd>' for key, label, value in facts)
        return f'<section id="coverage"><dl>{items}</dl></section>'

    async def home(self, _: Request) -> Response:
        return RedirectResponse("/claims", status_code=303)


def session_cookie(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE)


def create_app(
    world: SandboxWorld, runtime: ServerRuntime[FaultSpec], corrections: CorrectionsBook | None = None
) -> Starlette:
    """The SUNRISE portal as an ASGI app, with its admin endpoints and fault injection."""
    corrections = corrections or CorrectionsBook(world)
    runtime.on_reset(corrections.clear)
    portal = SunrisePortal(PayerBook(world, "SUNRISE", corrections), runtime)
    signed_in = session_guard(portal.gate, session_cookie, portal.refuse)
    at_mfa = session_guard(portal.gate, session_cookie, portal.not_at_mfa, stage=Access.SECOND_FACTOR_REQUIRED)
    routes = [
        *admin_routes(runtime),
        corrections_admin_route(corrections),
        Route("/", portal.home),
        Route("/login", portal.get_login, methods=["GET"]),
        Route("/login", portal.post_login, methods=["POST"]),
        Route("/mfa", at_mfa(portal.get_mfa), methods=["GET"]),
        Route("/mfa", at_mfa(portal.post_mfa), methods=["POST"]),
        Route("/logout", portal.logout),
        Route("/claims", signed_in(portal.claims)),
        Route("/claims/{key}", signed_in(portal.claim_detail)),
        Route("/claims/{key}/correct", signed_in(portal.correction.show), methods=["GET"]),
        Route("/claims/{key}/correct", signed_in(portal.correction.post), methods=["POST"]),
        Route("/eligibility", signed_in(portal.eligibility)),
    ]
    app = Starlette(routes=routes)
    app.add_middleware(FaultMiddleware, runtime=runtime, fault_page=portal.fault_page)
    return app
