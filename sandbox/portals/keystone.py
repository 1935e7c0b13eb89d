"""KEYSTONE: the old-style portal (Keystone Medicare Services).

A frameset (banner, menu, main), pages laid out with nested tables and upper-case markup, a security
question instead of TOTP, dates as MM/DD/YYYY, amounts as $1,234.56, statuses in words ("In Process",
"Finalized - Denied", "Additional Information Requested"), 15 claims a page behind "Next 15 >>".
Old habits included: a rate-limited request gets a 200 "too many requests" page, not a 429, and the
claim page lists remark codes (RARCs) apart from the adjustments they explain ("REMARK N290", by
service line, with no amount), as Medicare remittance pages print them.

Layout 2 renames ids to ASP.NET-style control ids and moves the status to the second column
under a new header.
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
from sandbox.codes import CARC_TEXTS, CATEGORY_WORDS, GROUP_TEXTS, RARC_TEXTS
from sandbox.corrections import CorrectionsBook, corrections_admin_route
from sandbox.faults import FaultSpec
from sandbox.models import Eligibility, Patient, SandboxClaim, SandboxWorld
from sandbox.payer_book import MemberMiss, PayerBook
from sandbox.portals.common import dollars, esc, int_param, note_account, parse_date, session_guard, us_date
from sandbox.runtime import FaultMiddleware, ServerRuntime, admin_routes
from sandbox.sessions import Access, LoginResult, PortalGate, PortalSession

SESSION_COOKIE = "KSSESSIONID"
PAGE_SIZE = 15

LAYOUTS: dict[int, dict[str, str]] = {
    1: {
        "userid": "userid",
        "passwd": "passwd",
        "signon": "btnSignOn",
        "message": "msg",
        "question": "question",
        "answer": "answer",
        "answer_button": "btnContinue",
        "inq_form": "frmInquiry",
        "icn": "icn",
        "patacct": "patacct",
        "mbrid": "mbrid",
        "fromdos": "fromdos",
        "todos": "todos",
        "inq_button": "btnInquire",
        "results": "ClaimList",
        "row": "row",
        "status": "clmstat",
        "link": "clmlink",
        "none": "NoClaims",
        "next": "lnkNext",
        "prev": "lnkPrev",
        "count": "recCount",
        "detail": "ClaimDetail",
        "reasons": "AdjReasons",
        "remarks": "RemarkCodes",
        "elig_form": "frmElig",
        "elig_mbrid": "eligmbrid",
        "elig_dob": "eligdob",
        "elig_date": "eligdate",
        "elig_button": "btnEligInquire",
        "elig_table": "EligResult",
        "elig_message": "eligmsg",
    },
    2: {
        "userid": "ctl00_Main_txtUserId",
        "passwd": "ctl00_Main_txtPassword",
        "signon": "ctl00_Main_btnLogin",
        "message": "ctl00_Main_lblMessage",
        "question": "ctl00_Main_lblQuestion",
        "answer": "ctl00_Main_txtAnswer",
        "answer_button": "ctl00_Main_btnSubmitAnswer",
        "inq_form": "aspnetForm",
        "icn": "ctl00_Main_txtIcn",
        "patacct": "ctl00_Main_txtPatAcct",
        "mbrid": "ctl00_Main_txtMbrId",
        "fromdos": "ctl00_Main_txtFromDos",
        "todos": "ctl00_Main_txtToDos",
        "inq_button": "ctl00_Main_btnSearch",
        "results": "ctl00_Main_gvClaims",
        "row": "gvRow",
        "status": "gvStatus",
        "link": "gvLink",
        "none": "ctl00_Main_lblNoRecords",
        "next": "ctl00_Main_lnkNextPage",
        "prev": "ctl00_Main_lnkPrevPage",
        "count": "ctl00_Main_lblRecordCount",
        "detail": "ctl00_Main_tblClaim",
        "reasons": "ctl00_Main_gvAdjustments",
        "remarks": "ctl00_Main_gvRemarks",
        "elig_form": "aspnetForm",
        "elig_mbrid": "ctl00_Main_txtBeneId",
        "elig_dob": "ctl00_Main_txtDob",
        "elig_date": "ctl00_Main_txtAsOf",
        "elig_button": "ctl00_Main_btnEligibility",
        "elig_table": "ctl00_Main_tblEligibility",
        "elig_message": "ctl00_Main_lblEligMessage",
    },
}

HEAD = (
    '<HTML><HEAD><META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=utf-8">'
    '<TITLE>{title}</TITLE></HEAD><BODY BGCOLOR="#FFFFFF" TEXT="#000000" LINK="#000099">'
    '<FONT FACE="Arial, Helvetica" SIZE="2">'
)
TAIL = "</FONT></BODY></HTML>"


def status_words(claim: SandboxClaim) -> str:
    record = claim.payer
    assert record is not None
    return CATEGORY_WORDS[record.category_code]


class KeystonePortal:
    """Pages and handlers of the KEYSTONE portal over one payer book."""

    def __init__(self, book: PayerBook, runtime: ServerRuntime[FaultSpec]) -> None:
        self.book = book
        self.runtime = runtime
        self.gate = PortalGate(ServerName.KEYSTONE, runtime)

    @property
    def ids(self) -> dict[str, str]:
        return LAYOUTS[self.runtime.spec.layout_version]

    @property
    def v2(self) -> bool:
        return self.runtime.spec.layout_version == 2

    def page(self, title: str, body: str, status: int = 200) -> HTMLResponse:
        """Every main-frame page: a title bar table, then the body in a nested table."""
        frame = (
            '<TABLE WIDTH="100%" BORDER="0" CELLSPACING="0" CELLPADDING="4"><TR><TD BGCOLOR="#003366">'
            f'<FONT COLOR="#FFFFFF"><B>{esc(title.upper())}</B></FONT></TD></TR><TR><TD>'
            '<TABLE WIDTH="100%" BORDER="0" CELLPADDING="2">'
            f"<TR><TD>{body}</TD></TR></TABLE></TD></TR></TABLE>"
        )
        return HTMLResponse(HEAD.format(title=esc(title)) + frame + TAIL, status_code=status)

    def fault_page(self, _: Scope, kind: str, status: int) -> Response:
        if kind == "maintenance":
            return self.page(
                "System unavailable",
                '<P ID="sysmsg"><B>THE SYSTEM IS UNAVAILABLE DUE TO SCHEDULED '
                "MAINTENANCE. PLEASE TRY AGAIN LATER.</B></P>",
                status=status,
            )
        return self.page(
            "Error", '<P ID="errmsg">AN ERROR HAS OCCURRED. PLEASE CONTACT THE HELP DESK.</P>', status=status
        )

    # --- the frameset -------------------------------------------------------------------------

    async def frameset(self, _: Request) -> Response:
        return HTMLResponse(
            "<HTML><HEAD><TITLE>Keystone Medicare Services - Provider Internet Portal</TITLE></HEAD>"
            '<FRAMESET ROWS="64,*" BORDER="0"><FRAME NAME="banner" SRC="/banner" SCROLLING="NO">'
            '<FRAMESET COLS="180,*"><FRAME NAME="menu" SRC="/menu">'
            '<FRAME NAME="main" SRC="/signon"></FRAMESET>'
            "</FRAMESET></HTML>"
        )

    async def banner(self, _: Request) -> Response:
        return HTMLResponse(
            '<HTML><BODY BGCOLOR="#003366"><FONT FACE="Arial" COLOR="#FFFFFF" SIZE="4"><B>KEYSTONE MEDICARE '
            'SERVICES</B></FONT><BR><FONT FACE="Arial" COLOR="#CCCCCC" SIZE="1">Provider Internet Portal'
            "</FONT></BODY></HTML>"
        )

    async def menu(self, _: Request) -> Response:
        links = [
            ("/welcome", "Main Menu"),
            ("/claim_inquiry", "Claim Inquiry"),
            ("/eligibility_inquiry", "Eligibility Inquiry"),
            ("/signoff", "Sign Off"),
        ]
        rows = "".join(
            f'<TR><TD><A HREF="{href}" TARGET="main" ID="menu_{href.strip("/")}">{text}</A></TD></TR>'
            for href, text in links
        )
        return HTMLResponse(
            f'<HTML><BODY BGCOLOR="#E8E8E8"><FONT FACE="Arial" SIZE="2"><TABLE BORDER="0">{rows}</TABLE>'
            "</FONT></BODY></HTML>"
        )

    # --- signing on ---------------------------------------------------------------------------

    def signon_form(self, message: str = "") -> HTMLResponse:
        ids = self.ids
        note = (
            f'<TR><TD COLSPAN="2"><FONT COLOR="red" ID="{ids["message"]}">{esc(message)}</FONT></TD></TR>'
            if message
            else ""
        )
        body = (
            f'<FORM NAME="SIGNON" METHOD="POST" ACTION="/signon"><TABLE BORDER="0">{note}'
            "<TR><TD>USER ID:</TD><TD>"
            f'<INPUT TYPE="TEXT" NAME="USERID" ID="{ids["userid"]}" SIZE="12"></TD></TR>'
            "<TR><TD>PASSWORD:</TD><TD>"
            f'<INPUT TYPE="PASSWORD" NAME="PASSWD" ID="{ids["passwd"]}" SIZE="12"></TD></TR>'
            f'<TR><TD></TD><TD><INPUT TYPE="SUBMIT" VALUE="Sign On" ID="{ids["signon"]}">'
            "</TD></TR></TABLE></FORM>"
        )
        return self.page("Provider sign on", body)

    async def get_signon(self, request: Request) -> Response:
        timed_out = request.query_params.get("timeout") == "1"
        return self.signon_form("SESSION TIMED OUT - PLEASE SIGN ON AGAIN" if timed_out else "")

    async def post_signon(self, request: Request) -> Response:
        form = await request.form()
        username = str(form.get("USERID", "")).strip().upper()
        note_account(request, username)
        result, session = self.gate.log_in(username, str(form.get("PASSWD", "")))
        if result == LoginResult.BAD_CREDENTIALS:
            return self.signon_form("INVALID USER ID OR PASSWORD")
        if result == LoginResult.LOCKED:
            return self.signon_form("USER ID REVOKED - CONTACT YOUR SECURITY ADMINISTRATOR")
        if result == LoginResult.TOO_MANY_SESSIONS:
            return self.signon_form("USER ID ALREADY SIGNED ON AT ANOTHER WORKSTATION")
        assert session is not None
        response = RedirectResponse("/challenge", status_code=302)
        response.set_cookie(SESSION_COOKIE, session.sid, httponly=True)
        return response

    def challenge_form(self, session: PortalSession, message: str = "") -> HTMLResponse:
        ids = self.ids
        note = f'<FONT COLOR="red" ID="{ids["message"]}">{esc(message)}</FONT><BR>' if message else ""
        body = (
            f'{note}<FORM NAME="CHALLENGE" METHOD="POST" ACTION="/challenge"><TABLE BORDER="0">'
            "<TR><TD>SECURITY QUESTION:</TD>"
            f'<TD ID="{ids["question"]}">{esc(self.gate.security_question(session))}</TD></TR>'
            "<TR><TD>ANSWER:</TD><TD>"
            f'<INPUT TYPE="PASSWORD" NAME="ANSWER" ID="{ids["answer"]}" SIZE="20"></TD></TR>'
            f'<TR><TD></TD><TD><INPUT TYPE="SUBMIT" VALUE="Continue" ID="{ids["answer_button"]}"></TD></TR>'
            "</TABLE></FORM>"
        )
        return self.page("Security verification", body)

    async def get_challenge(self, _: Request, session: PortalSession) -> Response:
        return self.challenge_form(session)

    async def post_challenge(self, request: Request, session: PortalSession) -> Response:
        form = await request.form()
        if not self.gate.pass_second_factor(session, str(form.get("ANSWER", ""))):
            return self.challenge_form(session, "ANSWER DOES NOT MATCH OUR RECORDS")
        return RedirectResponse("/welcome", status_code=302)

    @staticmethod
    def not_at_challenge(access: Access, _: str | None) -> Response:
        """The question page without a session waiting for it: sign on first, or go to the menu."""
        return RedirectResponse("/signon" if access == Access.LOGIN_REQUIRED else "/welcome", status_code=302)

    async def signoff(self, request: Request) -> Response:
        self.gate.log_out(request.cookies.get(SESSION_COOKIE))
        response = self.page(
            "Signed off", '<P ID="signedoff">YOU HAVE BEEN SIGNED OFF. <A HREF="/signon">SIGN ON</A></P>'
        )
        response.delete_cookie(SESSION_COOKIE)
        return response

    def refuse(self, access: Access, sid: str | None) -> Response:
        """Old-style answers: back to sign-on or the question, or a 200 'too many requests' page."""
        if access == Access.SECOND_FACTOR_REQUIRED:
            return RedirectResponse("/challenge", status_code=302)
        if access == Access.RATE_LIMITED:
            return self.page(
                "Too many requests",
                '<P ID="toomany"><B>TOO MANY REQUESTS.</B> YOUR USER ID HAS EXCEEDED THE ALLOWED NUMBER OF '
                "INQUIRIES. PLEASE WAIT AND TRY AGAIN.</P>",
            )
        return RedirectResponse("/signon?timeout=1" if sid else "/signon", status_code=302)

    async def welcome(self, _: Request, session: PortalSession) -> Response:
        return self.page(
            "Main menu",
            f'<P ID="welcome">WELCOME, {esc(session.account.username)}.</P>'
            '<P><A HREF="/claim_inquiry">CLAIM INQUIRY</A><BR>'
            '<A HREF="/eligibility_inquiry">ELIGIBILITY INQUIRY</A></P>',
        )

    # --- claims -------------------------------------------------------------------------------

    async def claim_inquiry(self, request: Request, _: PortalSession) -> Response:
        params = request.query_params
        icn, patacct, mbrid = (params.get(k, "") for k in ("ICN", "PATACCT", "MBRID"))
        from_dos, to_dos = parse_date(params.get("FROMDOS")), parse_date(params.get("TODOS"))
        body = self.inquiry_form(icn, patacct, mbrid, from_dos, to_dos)
        if any((icn, patacct, mbrid, from_dos, to_dos)):
            found = self.book.search(
                claim_number=icn or patacct, member_id=mbrid, date_from=from_dos, date_to=to_dos or from_dos
            )
            body += self.results(found, max(int_param(request, "START", 0), 0), request)
        return self.page("Claim inquiry", body)

    def inquiry_form(self, icn: str, patacct: str, mbrid: str, from_dos: date | None, to_dos: date | None) -> str:
        ids = self.ids

        def field(label: str, name: str, key: str, value: str, size: int) -> str:
            return (
                f'<TR><TD ALIGN="RIGHT">{label}</TD><TD><INPUT TYPE="TEXT" NAME="{name}" ID="{ids[key]}" '
                f'SIZE="{size}" VALUE="{esc(value)}"></TD></TR>'
            )

        return (
            f'<FORM NAME="INQUIRY" ID="{ids["inq_form"]}" '
            'METHOD="GET" ACTION="/claim_inquiry"><TABLE BORDER="0">'
            + field("ICN:", "ICN", "icn", icn, 15)
            + field("PATIENT ACCT NO:", "PATACCT", "patacct", patacct, 15)
            + '<TR><TD COLSPAN="2"><I>- OR -</I></TD></TR>'
            + field("BENEFICIARY ID:", "MBRID", "mbrid", mbrid, 14)
            + field("FROM DOS (MM/DD/YYYY):", "FROMDOS", "fromdos", us_date(from_dos), 10)
            + field("TO DOS (MM/DD/YYYY):", "TODOS", "todos", us_date(to_dos), 10)
            + f'<TR><TD></TD><TD><INPUT TYPE="SUBMIT" VALUE="Inquire" ID="{ids["inq_button"]}"></TD></TR>'
            "</TABLE></FORM>"
        )

    def results(self, found: Sequence[SandboxClaim], start: int, request: Request) -> str:
        ids = self.ids
        if not found:
            return f'<P><FONT COLOR="red" ID="{ids["none"]}">NO CLAIMS FOUND FOR THE CRITERIA ENTERED</FONT></P>'
        start = min(start, (len(found) - 1) // PAGE_SIZE * PAGE_SIZE)
        shown = found[start : start + PAGE_SIZE]
        if self.v2:
            head = ["STATUS DESC", "ICN", "PAT ACCT NO", "BENEFICIARY", "FROM DOS", "BILLED AMT", "PAID AMT"]
        else:
            head = ["ICN", "PAT ACCT NO", "BENEFICIARY", "FROM DOS", "CLAIM STATUS", "BILLED AMT", "PAID AMT"]
        header = "".join(f'<TD BGCOLOR="#CCCCCC"><B>{h}</B></TD>' for h in head)
        rows = "".join(self.result_row(claim, n) for n, claim in enumerate(shown))
        count = f'<SPAN ID="{ids["count"]}">RECORDS {start + 1} - {start + len(shown)} OF {len(found)}</SPAN>'
        links = []
        if start > 0:
            url = request.url.include_query_params(START=max(start - PAGE_SIZE, 0))
            links.append(
                f'<A HREF="{esc(url.path + "?" + url.query)}" ID="{ids["prev"]}">&lt;&lt; Prev {PAGE_SIZE}</A>'
            )
        if start + PAGE_SIZE < len(found):
            url = request.url.include_query_params(START=start + PAGE_SIZE)
            links.append(
                f'<A HREF="{esc(url.path + "?" + url.query)}" ID="{ids["next"]}">Next {PAGE_SIZE} &gt;&gt;</A>'
            )
        return (
            f'<TABLE WIDTH="100%" BORDER="0"><TR><TD>{count}</TD>'
            f'<TD ALIGN="RIGHT">{" | ".join(links)}</TD></TR>'
            f'<TR><TD COLSPAN="2"><TABLE ID="{ids["results"]}" BORDER="1" CELLSPACING="0" CELLPADDING="3" '
            f'WIDTH="100%"><TR>{header}</TR>{rows}</TABLE></TD></TR></TABLE>'
        )

    def result_row(self, claim: SandboxClaim, n: int) -> str:
        ids = self.ids
        record = claim.payer
        assert record is not None
        key = self.book.key_of(claim)
        icn = record.payer_claim_number or "N/A"
        cells = [
            f'<TD><A HREF="/claim_detail?KEY={key}" CLASS="{ids["link"]}">{esc(icn)}</A></TD>',
            f"<TD>{esc(claim.claim_id)}</TD>",
            f"<TD>{esc(claim.patient.last_name.upper())}, {esc(claim.patient.first_name.upper())}</TD>",
            f"<TD>{us_date(claim.service_date_from)}</TD>",
            f'<TD ALIGN="RIGHT">{dollars(claim.billed_amount)}</TD>',
            f'<TD ALIGN="RIGHT">{dollars(record.paid)}</TD>',
        ]
        status = f'<TD CLASS="{ids["status"]}">{status_words(claim)}</TD>'
        cells.insert(0 if self.v2 else 4, status)
        shade = "#FFFFFF" if n % 2 == 0 else "#EEEEEE"
        return f'<TR CLASS="{ids["row"]}" BGCOLOR="{shade}">{"".join(cells)}</TR>'

    async def claim_detail(self, request: Request, _: PortalSession) -> Response:
        claim = self.book.by_key(request.query_params.get("KEY", ""))
        if claim is None:
            return self.page("Claim detail", '<P ID="nodetail">CLAIM NOT ON FILE</P>')
        return self.page("Claim detail", self.detail_body(claim))

    def detail_body(self, claim: SandboxClaim) -> str:
        ids = self.ids
        record = claim.payer
        assert record is not None
        payment = record.payment
        facts = [
            ("icn", "ICN", record.payer_claim_number or "N/A"),
            ("patacct", "PATIENT ACCT NO", claim.claim_id),
            (
                "bene",
                "BENEFICIARY NAME",
                f"{claim.patient.last_name.upper()}, {claim.patient.first_name.upper()}",
            ),
            ("beneid", "BENEFICIARY ID", claim.patient.member_id),
            ("fromdos", "FROM DOS", us_date(claim.service_date_from)),
            ("todos", "TO DOS", us_date(claim.service_date_to)),
            ("status", "CLAIM STATUS", status_words(claim)),
            ("statusdate", "STATUS DATE", us_date(record.processed_date or record.received_date)),
            ("billed", "TOTAL CHARGES", dollars(claim.billed_amount)),
            ("allowed", "ALLOWED AMOUNT", dollars(record.allowed)),
            ("paid", "PROVIDER PAID", dollars(record.paid)),
            ("patresp", "PATIENT RESPONSIBILITY", dollars(record.patient_responsibility)),
            ("checkno", "CHECK/EFT NO", payment.trace_number if payment else ""),
            ("paiddate", "PAID DATE", us_date(payment.payment_date) if payment else ""),
        ]
        if record.rejection_reason:
            facts.append(("reject", "REASON", record.rejection_reason.upper()))
        prefix = "ctl00_Main_lbl" if self.v2 else "lbl"
        rows = "".join(
            f'<TR><TD BGCOLOR="#EEEEEE"><B>{label}:</B></TD><TD ID="{prefix}{key}">{esc(value)}</TD></TR>'
            for key, label, value in facts
        )
        # Adjustments are group + reason + amount; their remark codes come after, in a list of their own
        # (one "REMARK N290" a row, with the service line it is about, and no amount), as Medicare's
        # remittance pages print them.
        reasons = "".join(
            f"<TR><TD>{line.line_number}</TD><TD>{line.procedure_code}</TD><TD>{adj.group}</TD><TD>{adj.carc}</TD>"
            f"<TD>{esc(GROUP_TEXTS[adj.group].upper())} - {esc(CARC_TEXTS[adj.carc].upper())}"
            f'</TD><TD ALIGN="RIGHT">{dollars(adj.amount)}</TD></TR>'
            for line in claim.lines
            for adj in line.adjustments
        )
        remarks = "".join(
            f"<TR><TD>{line.line_number}</TD><TD>REMARK {adj.rarc}</TD>"
            f"<TD>{esc(RARC_TEXTS[adj.rarc].upper())}</TD></TR>"
            for line in claim.lines
            for adj in line.adjustments
            if adj.rarc
        )
        reason_table = ""
        if reasons:
            head = "".join(
                f'<TD BGCOLOR="#CCCCCC"><B>{h}</B></TD>'
                for h in ("LINE", "PROC", "GROUP", "REASON", "DESCRIPTION", "AMOUNT")
            )
            reason_table = (
                f'<P><B>ADJUSTMENT REASONS</B></P><TABLE ID="{ids["reasons"]}" BORDER="1" CELLSPACING="0" '
                f'CELLPADDING="3"><TR>{head}</TR>{reasons}</TABLE>'
            )
        if remarks:
            head = "".join(f'<TD BGCOLOR="#CCCCCC"><B>{h}</B></TD>' for h in ("LINE", "REMARK", "DESCRIPTION"))
            reason_table += (
                f'<P><B>REMARK CODES</B></P><TABLE ID="{ids["remarks"]}" BORDER="1" CELLSPACING="0" '
                f'CELLPADDING="3"><TR>{head}</TR>{remarks}</TABLE>'
            )
        return (
            f'<TABLE BORDER="0" WIDTH="100%"><TR><TD VALIGN="TOP"><TABLE ID="{ids["detail"]}" BORDER="1" '
            f'CELLSPACING="0" CELLPADDING="3">{rows}</TABLE></TD>'
            f"</TR><TR><TD>{reason_table}</TD></TR></TABLE>"
            '<P><A HREF="javascript:history.back()">&lt;&lt; BACK</A></P>'
        )

    # --- eligibility --------------------------------------------------------------------------

    async def eligibility_inquiry(self, request: Request, _: PortalSession) -> Response:
        ids = self.ids
        params = request.query_params
        mbrid = params.get("MBRID", "")
        dob = parse_date(params.get("DOB"))
        as_of = parse_date(params.get("ASOFDATE")) or self.book.reference_date
        body = (
            f'<FORM NAME="ELIG" ID="{ids["elig_form"]}" METHOD="GET" '
            'ACTION="/eligibility_inquiry"><TABLE BORDER="0">'
            '<TR><TD ALIGN="RIGHT">BENEFICIARY ID:</TD><TD>'
            f'<INPUT TYPE="TEXT" NAME="MBRID" ID="{ids["elig_mbrid"]}" '
            f'VALUE="{esc(mbrid)}"></TD></TR>'
            f'<TR><TD ALIGN="RIGHT">DATE OF BIRTH (MM/DD/YYYY):</TD><TD><INPUT TYPE="TEXT" NAME="DOB" '
            f'ID="{ids["elig_dob"]}" VALUE="{us_date(dob)}"></TD></TR>'
            f'<TR><TD ALIGN="RIGHT">AS OF DATE (MM/DD/YYYY):</TD><TD><INPUT TYPE="TEXT" NAME="ASOFDATE" '
            f'ID="{ids["elig_date"]}" VALUE="{us_date(as_of)}"></TD></TR>'
            f'<TR><TD></TD><TD><INPUT TYPE="SUBMIT" VALUE="Inquire" ID="{ids["elig_button"]}">'
            "</TD></TR></TABLE></FORM>"
        )
        if mbrid:
            found = self.book.find_member(mbrid, dob)
            if isinstance(found, MemberMiss):
                text = {
                    MemberMiss.NO_SUCH_MEMBER: "BENEFICIARY NOT FOUND",
                    MemberMiss.BIRTH_DATE_MISMATCH: "DATE OF BIRTH DOES NOT MATCH BENEFICIARY RECORD",
                }[found]
                body += f'<P><FONT COLOR="red" ID="{ids["elig_message"]}">{text}</FONT></P>'
            else:
                body += self.coverage(*found, as_of)
        return self.page("Eligibility inquiry", body)

    def coverage(self, patient: Patient, benefits: Eligibility, as_of: date) -> str:
        ids = self.ids
        oop = benefits.out_of_pocket_max
        oop_left = benefits.out_of_pocket_remaining
        facts = [
            ("name", "BENEFICIARY NAME", f"{patient.last_name.upper()}, {patient.first_name.upper()}"),
            ("elig", "ELIGIBILITY", "ELIGIBLE" if benefits.is_active_on(as_of) else "NOT ELIGIBLE"),
            ("plan", "PLAN", benefits.plan_name.upper()),
            ("effdate", "EFFECTIVE DATE", us_date(benefits.coverage_start)),
            ("termdate", "TERMINATION DATE", us_date(benefits.coverage_end)),
            ("copay", "COPAYMENT", dollars(benefits.copay)),
            ("coins", "COINSURANCE", f"{benefits.coinsurance_percent}%"),
            ("ded", "DEDUCTIBLE", dollars(benefits.deductible)),
            ("dedmet", "DEDUCTIBLE MET", dollars(benefits.deductible_met)),
            ("dedrem", "DEDUCTIBLE REMAINING", dollars(benefits.deductible_remaining)),
            ("oop", "OUT OF POCKET MAX", dollars(oop) if oop is not None else "N/A"),
            ("ooprem", "OUT OF POCKET REMAINING", dollars(oop_left) if oop_left is not None else "N/A"),
        ]
        prefix = "ctl00_Main_lblElig" if self.v2 else "elig_"
        rows = "".join(
            f'<TR><TD BGCOLOR="#EEEEEE"><B>{label}:</B></TD><TD ID="{prefix}{key}">{esc(value)}</TD></TR>'
            for key, label, value in facts
        )
        return f'<TABLE ID="{ids["elig_table"]}" BORDER="1" CELLSPACING="0" CELLPADDING="3">{rows}</TABLE>'


def session_cookie(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE)


def create_app(
    world: SandboxWorld, runtime: ServerRuntime[FaultSpec], corrections: CorrectionsBook | None = None
) -> Starlette:
    """The KEYSTONE portal as an ASGI app, with its admin endpoints and fault injection."""
    corrections = corrections or CorrectionsBook(world)
    runtime.on_reset(corrections.clear)
    portal = KeystonePortal(PayerBook(world, "KEYSTONE", corrections), runtime)
    signed_on = session_guard(portal.gate, session_cookie, portal.refuse)
    at_challenge = session_guard(
        portal.gate, session_cookie, portal.not_at_challenge, stage=Access.SECOND_FACTOR_REQUIRED
    )
    routes = [
        *admin_routes(runtime),
        corrections_admin_route(corrections),
        Route("/", portal.frameset),
        Route("/banner", portal.banner),
        Route("/menu", portal.menu),
        Route("/signon", portal.get_signon, methods=["GET"]),
        Route("/signon", portal.post_signon, methods=["POST"]),
        Route("/challenge", at_challenge(portal.get_challenge), methods=["GET"]),
        Route("/challenge", at_challenge(portal.post_challenge), methods=["POST"]),
        Route("/signoff", portal.signoff),
        Route("/welcome", signed_on(portal.welcome)),
        Route("/claim_inquiry", signed_on(portal.claim_inquiry)),
        Route("/claim_detail", signed_on(portal.claim_detail)),
        Route("/eligibility_inquiry", signed_on(portal.eligibility_inquiry)),
    ]
    app = Starlette(routes=routes)
    app.add_middleware(FaultMiddleware, runtime=runtime, fault_page=portal.fault_page)
    return app
