"""MERIDIAN: the single-page-app portal (Meridian Mutual Provider Connect).

The server sends one HTML shell and a script; the script renders everything from JSON calls.
Annoyances a bot must get through: a cookie-consent overlay that blocks clicks until answered, a
"what's new" modal after every sign-in, a TOTP step, results that arrive lazily (after a short delay,
10 at a time behind "Show more claims"), dates written "Feb 2, 2026" and a bearer token kept in
localStorage rather than a cookie.

JSON API (all but sign-in need `Authorization: Bearer <token>`):
    POST   /api/session          {"username", "password"} -> 201 {"token", "second_factor": "totp"}
    POST   /api/session/verify   {"code"} -> 200 {"verified": true}
    DELETE /api/session
    GET    /api/claims?q=&member_id=&dos=&from=&to=&offset=&limit=
    GET    /api/claims/{key}
    GET    /api/eligibility?member_id=&dob=&as_of=
Errors are `{"error": code, "message": text}`: 401 session_expired / invalid_credentials / invalid_code,
403 second_factor_required, 409 too_many_sessions, 423 account_locked, 429 rate_limited, 503 maintenance.

Layout 2 renames every id and class, turns the result cards into a list with the status moved to a
footer, and moves the claim status below the facts on the detail view.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import Scope

from sandbox.accounts import ServerName
from sandbox.codes import (
    CARC_TEXTS,
    CATEGORY_TEXTS,
    GROUP_TEXTS,
    OUTCOME_BADGES,
    RARC_TEXTS,
    STATUS_CODE_TEXTS,
)
from sandbox.corrections import CorrectionsBook, corrections_admin_route
from sandbox.faults import FaultSpec
from sandbox.models import SandboxClaim, SandboxWorld
from sandbox.payer_book import MemberMiss, PayerBook
from sandbox.portals.common import int_param, iso_date, note_account, parse_date, session_guard
from sandbox.runtime import FaultMiddleware, ServerRuntime, admin_routes
from sandbox.sessions import Access, LoginResult, PortalGate, PortalSession

APP_SCRIPT = Path(__file__).with_name("meridian_app.js")
MAX_PAGE = 50

LAYOUTS: dict[int, dict[str, str | int]] = {
    1: {
        "version": 1,
        "consent": "cookie-consent",
        "consentAccept": "consent-accept",
        "consentReject": "consent-reject",
        "whatsNew": "whats-new",
        "whatsNewClose": "whats-new-close",
        "loginForm": "login-form",
        "loginUser": "login-email",
        "loginPassword": "login-password",
        "loginButton": "login-button",
        "loginError": "login-error",
        "mfaForm": "mfa-form",
        "mfaCode": "mfa-code",
        "mfaButton": "mfa-button",
        "mfaError": "mfa-error",
        "navSearch": "nav-search",
        "navEligibility": "nav-eligibility",
        "navLogout": "nav-logout",
        "searchForm": "search-form",
        "searchClaim": "search-claim",
        "searchMember": "search-member",
        "searchDos": "search-dos",
        "searchFrom": "search-from",
        "searchTo": "search-to",
        "searchButton": "search-submit",
        "results": "results",
        "resultList": "result-cards",
        "resultsCount": "results-count",
        "resultsEmpty": "results-empty",
        "loadMore": "load-more",
        "card": "result-card",
        "cardStatus": "card-status",
        "badge": "status-badge",
        "statusCodes": "status-codes",
        "openClaim": "card-open",
        "cardPatient": "card-patient",
        "cardDos": "card-dos",
        "cardBilled": "card-billed",
        "cardPaid": "card-paid",
        "detail": "claim-detail",
        "detailStatus": "detail-status",
        "detailPrefix": "detail-",
        "reasons": "denial-reasons",
        "reasonRow": "reason-row",
        "eligForm": "elig-form",
        "eligMember": "elig-member",
        "eligDob": "elig-dob",
        "eligDate": "elig-date",
        "eligButton": "elig-submit",
        "eligResult": "elig-result",
        "eligError": "elig-error",
        "eligPrefix": "elig-",
        "rateLimited": "rate-limit-notice",
        "serverError": "server-error-notice",
        "maintenance": "maintenance",
    },
    2: {
        "version": 2,
        "consent": "privacy-prompt",
        "consentAccept": "privacy-accept-all",
        "consentReject": "privacy-essential",
        "whatsNew": "release-notes",
        "whatsNewClose": "release-notes-dismiss",
        "loginForm": "signin-form",
        "loginUser": "signin-user",
        "loginPassword": "signin-secret",
        "loginButton": "signin-go",
        "loginError": "signin-problem",
        "mfaForm": "otp-form",
        "mfaCode": "otp-input",
        "mfaButton": "otp-go",
        "mfaError": "otp-problem",
        "navSearch": "rail-claims",
        "navEligibility": "rail-benefits",
        "navLogout": "rail-exit",
        "searchForm": "claim-finder",
        "searchClaim": "finder-number",
        "searchMember": "finder-member",
        "searchDos": "finder-dos",
        "searchFrom": "finder-from",
        "searchTo": "finder-to",
        "searchButton": "finder-go",
        "results": "finder-results",
        "resultList": "claim-list",
        "resultsCount": "finder-total",
        "resultsEmpty": "finder-nothing",
        "loadMore": "finder-next",
        "card": "claim-item",
        "cardStatus": "claim-item__state",
        "badge": "pill",
        "statusCodes": "pill-codes",
        "openClaim": "claim-item__open",
        "cardPatient": "claim-item__who",
        "cardDos": "claim-item__when",
        "cardBilled": "claim-item__billed",
        "cardPaid": "claim-item__paid",
        "detail": "claim-sheet",
        "detailStatus": "claim-sheet-state",
        "detailPrefix": "sheet-",
        "reasons": "adjustment-codes",
        "reasonRow": "adjustment",
        "eligForm": "benefit-check",
        "eligMember": "bc-member",
        "eligDob": "bc-dob",
        "eligDate": "bc-date",
        "eligButton": "bc-go",
        "eligResult": "bc-result",
        "eligError": "bc-problem",
        "eligPrefix": "bc-",
        "rateLimited": "slow-down",
        "serverError": "oops",
        "maintenance": "down-for-maintenance",
    },
}

STYLE = """
body{font-family:system-ui,sans-serif;margin:0;background:#f4f6fb}
.bar,.topline{background:#1d3f8f;color:#fff;padding:10px 16px}
.bar nav a,.rail a{color:inherit;margin-right:12px}
.content,.panel{padding:16px}
.layout-v2 .body{display:flex}
.rail{display:flex;flex-direction:column;padding:16px;background:#dfe6f5}
.rail a{color:#1d3f8f}
.overlay{position:fixed;inset:0;background:rgba(0,0,0,.45);display:flex;align-items:flex-end;justify-content:center;z-index:10}
.modal{background:#fff;padding:24px;margin:auto;border-radius:8px}
.consent{background:#fff;width:100%;padding:16px}
.result-card,.claim-item{background:#fff;margin:8px 0;padding:8px 12px;border-radius:6px;list-style:none}
.error{color:#b00020}
.toast{position:fixed;top:8px;right:8px;background:#333;color:#fff;padding:8px}
table{border-collapse:collapse}
td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left}
"""


def _money(amount: Decimal) -> float:
    """JSON numbers, as SPA back ends send them (the page formats them as $1,234.56)."""
    return float(amount)


def status_json(claim: SandboxClaim) -> dict[str, str | None]:
    record = claim.payer
    assert record is not None
    return {
        "badge": OUTCOME_BADGES[record.outcome],
        "category": record.category_code,
        "code": record.status_code,
        "entity": record.entity_code,
        "label": f"{CATEGORY_TEXTS[record.category_code]} — {STATUS_CODE_TEXTS[record.status_code]}",
    }


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


class MeridianPortal:
    """The shell, the script and the JSON API of the MERIDIAN portal."""

    def __init__(self, book: PayerBook, runtime: ServerRuntime[FaultSpec]) -> None:
        self.book = book
        self.runtime = runtime
        self.gate = PortalGate(ServerName.MERIDIAN, runtime)
        template = APP_SCRIPT.read_text(encoding="utf-8")
        self.scripts = {v: template.replace("/*LAYOUT*/ {}", json.dumps(ids)) for v, ids in LAYOUTS.items()}

    def fault_page(self, scope: Scope, kind: str, status: int) -> Response:
        if scope["path"].startswith("/api/"):
            if kind == "maintenance":
                return error(status, "maintenance", "Provider Connect is down for maintenance.")
            return error(status, "server_error", "Something went wrong.")
        text = "Provider Connect is down for maintenance." if kind == "maintenance" else "Something went wrong."
        element = "maintenance" if kind == "maintenance" else "server-error"
        return HTMLResponse(
            f'<!doctype html><title>Meridian</title><div id="{element}">{text}</div>', status_code=status
        )

    # --- shell and script ---------------------------------------------------------------------

    async def shell(self, _: Request) -> Response:
        version = self.runtime.spec.layout_version
        return HTMLResponse(
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            "<title>Meridian Mutual · Provider Connect"
            f'</title><style>{STYLE}</style></head><body data-layout="{version}"><div id="app"></div>'
            f'<script src="/static/app-v{version}.js"></script></body></html>'
        )

    async def script(self, request: Request) -> Response:
        script = self.scripts.get(request.path_params["version"])
        if script is None:
            return Response("not found", status_code=404)
        return Response(script, media_type="text/javascript", headers={"Cache-Control": "max-age=3600"})

    # --- session API --------------------------------------------------------------------------

    async def create_session(self, request: Request) -> Response:
        body = await self.json_body(request)
        username = str(body.get("username", ""))
        note_account(request, username)
        result, session = self.gate.log_in(username, str(body.get("password", "")))
        if result == LoginResult.BAD_CREDENTIALS:
            return error(401, "invalid_credentials", "Email or password is incorrect.")
        if result == LoginResult.LOCKED:
            return error(423, "account_locked", "Your account is locked. Contact your administrator.")
        if result == LoginResult.TOO_MANY_SESSIONS:
            return error(409, "too_many_sessions", "You are signed in on too many devices. Sign out elsewhere first.")
        assert session is not None
        return JSONResponse({"token": session.sid, "second_factor": "totp"}, status_code=201)

    async def verify_session(self, request: Request, session: PortalSession) -> Response:
        body = await self.json_body(request)
        if not self.gate.pass_second_factor(session, str(body.get("code", ""))):
            return error(401, "invalid_code", "That code is not valid.")
        return JSONResponse({"verified": True})

    @staticmethod
    def not_verifying(access: Access, _: str | None) -> Response:
        """Verification without a session waiting for it: expired, or already verified."""
        if access == Access.LOGIN_REQUIRED:
            return error(401, "session_expired", "Your session has expired.")
        return JSONResponse({"verified": True})

    async def delete_session(self, request: Request) -> Response:
        self.gate.log_out(self.token(request))
        return Response(status_code=204)

    @staticmethod
    def token(request: Request) -> str | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return token if scheme.lower() == "bearer" and token else None

    @staticmethod
    async def json_body(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    def refuse(self, access: Access, _: str | None) -> Response:
        """JSON errors the script reacts to: sign in again, verify again, or slow down."""
        if access == Access.SECOND_FACTOR_REQUIRED:
            return error(403, "second_factor_required", "Verify it's you to continue.")
        if access == Access.RATE_LIMITED:
            response = error(429, "rate_limited", "Too many requests.")
            response.headers["Retry-After"] = str(int(self.runtime.spec.rate_limit_window_s))
            return response
        return error(401, "session_expired", "Your session has expired. Please sign in again.")

    # --- data API -----------------------------------------------------------------------------

    async def claims(self, request: Request, _: PortalSession) -> Response:
        params = request.query_params
        found = self.book.search(
            claim_number=params.get("q", ""),
            member_id=params.get("member_id", ""),
            service_date=parse_date(params.get("dos")),
            date_from=parse_date(params.get("from")),
            date_to=parse_date(params.get("to")),
        )
        offset = max(int_param(request, "offset", 0), 0)
        limit = min(max(int_param(request, "limit", 10), 1), MAX_PAGE)
        items = [
            {
                "key": self.book.key_of(claim),
                "claim_number": claim.claim_id,
                "payer_claim_number": record.payer_claim_number,
                "patient_name": claim.patient.full_name,
                "service_date": iso_date(claim.service_date_from),
                "billed": _money(claim.billed_amount),
                "paid": _money(record.paid),
                "status": status_json(claim),
            }
            for claim in found[offset : offset + limit]
            if (record := claim.payer) is not None
        ]
        return JSONResponse({"items": items, "total": len(found), "offset": offset})

    async def claim(self, request: Request, _: PortalSession) -> Response:
        claim = self.book.by_key(request.path_params["key"])
        if claim is None or claim.payer is None:
            return error(404, "not_found", "No such claim.")
        record = claim.payer
        payment = record.payment
        return JSONResponse(
            {
                "key": self.book.key_of(claim),
                "claim_number": claim.claim_id,
                "payer_claim_number": record.payer_claim_number,
                "patient_name": claim.patient.full_name,
                "member_id": claim.patient.member_id,
                "service_date_from": iso_date(claim.service_date_from),
                "service_date_to": iso_date(claim.service_date_to),
                "received_date": iso_date(record.received_date),
                "processed_date": iso_date(record.processed_date),
                "billed": _money(claim.billed_amount),
                "allowed": _money(record.allowed),
                "paid": _money(record.paid),
                "patient_responsibility": _money(record.patient_responsibility),
                "status": status_json(claim),
                "rejection_reason": record.rejection_reason,
                "payment": (
                    {
                        "method": payment.method,
                        "number": payment.trace_number,
                        "date": iso_date(payment.payment_date),
                    }
                    if payment
                    else None
                ),
                "adjustments": [
                    {
                        "line": line.line_number,
                        "group": adj.group,
                        "carc": adj.carc,
                        "rarc": adj.rarc,
                        "amount": _money(adj.amount),
                        "description": CARC_TEXTS[adj.carc]
                        + (f" ({RARC_TEXTS[adj.rarc]})" if adj.rarc else "")
                        + f" [{GROUP_TEXTS[adj.group]}]",
                    }
                    for line in claim.lines
                    for adj in line.adjustments
                ],
            }
        )

    async def eligibility(self, request: Request, _: PortalSession) -> Response:
        params = request.query_params
        as_of = parse_date(params.get("as_of")) or self.book.reference_date
        found = self.book.find_member(params.get("member_id", ""), parse_date(params.get("dob")))
        if isinstance(found, MemberMiss):
            message = {
                MemberMiss.NO_SUCH_MEMBER: "We couldn't find a member with that ID.",
                MemberMiss.BIRTH_DATE_MISMATCH: "The date of birth doesn't match this member.",
            }[found]
            return JSONResponse({"found": False, "reason": found.value, "message": message})
        patient, benefits = found
        oop_max, oop_left = benefits.out_of_pocket_max, benefits.out_of_pocket_remaining
        return JSONResponse(
            {
                "found": True,
                "member_name": patient.full_name,
                "benefits": {
                    "active": benefits.is_active_on(as_of),
                    "plan_name": benefits.plan_name,
                    "group_number": benefits.group_number,
                    "coverage_start": iso_date(benefits.coverage_start),
                    "coverage_end": iso_date(benefits.coverage_end) or None,
                    "copay": _money(benefits.copay),
                    "coinsurance_percent": benefits.coinsurance_percent,
                    "deductible": _money(benefits.deductible),
                    "deductible_met": _money(benefits.deductible_met),
                    "deductible_remaining": _money(benefits.deductible_remaining),
                    "out_of_pocket_max": _money(oop_max) if oop_max is not None else None,
                    "out_of_pocket_remaining": _money(oop_left) if oop_left is not None else None,
                },
            }
        )


def create_app(
    world: SandboxWorld, runtime: ServerRuntime[FaultSpec], corrections: CorrectionsBook | None = None
) -> Starlette:
    """The MERIDIAN portal as an ASGI app, with its admin endpoints and fault injection."""
    corrections = corrections or CorrectionsBook(world)
    runtime.on_reset(corrections.clear)
    portal = MeridianPortal(PayerBook(world, "MERIDIAN", corrections), runtime)
    api = session_guard(portal.gate, portal.token, portal.refuse)
    verifying = session_guard(portal.gate, portal.token, portal.not_verifying, stage=Access.SECOND_FACTOR_REQUIRED)
    routes = [
        *admin_routes(runtime),
        corrections_admin_route(corrections),
        Route("/", portal.shell),
        Route("/static/app-v{version:int}.js", portal.script),
        Route("/api/session", portal.create_session, methods=["POST"]),
        Route("/api/session", portal.delete_session, methods=["DELETE"]),
        Route("/api/session/verify", verifying(portal.verify_session), methods=["POST"]),
        Route("/api/claims", api(portal.claims)),
        Route("/api/claims/{key}", api(portal.claim)),
        Route("/api/eligibility", api(portal.eligibility)),
    ]
    app = Starlette(routes=routes)
    app.add_middleware(FaultMiddleware, runtime=runtime, fault_page=portal.fault_page)
    return app
