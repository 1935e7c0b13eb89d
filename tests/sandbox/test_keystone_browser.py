"""KEYSTONE in headless Chromium: frames, a security question, MM/DD/YYYY, $1,234.56 and statuses in words."""

from __future__ import annotations

import pytest
from playwright.sync_api import Frame, Page, expect

from sandbox.accounts import ServerName, demo_account
from sandbox.codes import Outcome
from sandbox.dataset import load_world
from sandbox.models import Adjustment, SandboxClaim, ServiceLine
from sandbox.servers import SandboxEndpoints
from sandbox.testing import SandboxAdmin
from tests.sandbox.conftest import pick_claim

pytestmark = pytest.mark.browser


def main_frame(page: Page) -> Frame:
    frame = page.frame(name="main")
    assert frame is not None
    return frame


def sign_on(
    page: Page,
    base_url: str,
    ids: tuple[str, str, str, str, str] = ("userid", "passwd", "btnSignOn", "question", "answer"),
) -> Frame:
    """Sign on in the main frame and answer whichever security question the portal asks."""
    account = demo_account(ServerName.KEYSTONE)
    user, password, button, question, answer = ids
    page.goto(base_url)
    main = main_frame(page)
    main.fill(f"#{user}", account.username)
    main.fill(f"#{password}", account.password)
    main.click(f"#{button}")
    asked = main.locator(f"#{question}").inner_text()
    main.fill(f"#{answer}", account.answer_to(asked))
    main.locator(f"#{answer}").press("Enter")
    main.wait_for_url("**/welcome")
    return main


def adjustments(claim: SandboxClaim) -> list[tuple[ServiceLine, Adjustment]]:
    return [(line, adj) for line in claim.lines for adj in line.adjustments]


def test_sign_on_search_by_icn_and_read_a_denied_claim(page: Page, sandbox: SandboxEndpoints) -> None:
    claim = pick_claim("KEYSTONE", Outcome.DENIED, with_rarc=True)
    record = claim.payer
    assert record is not None
    assert record.payer_claim_number is not None
    main = sign_on(page, sandbox.url(ServerName.KEYSTONE))
    menu = page.frame(name="menu")
    assert menu is not None
    menu.click("#menu_claim_inquiry")  # the menu frame targets the main frame
    main.fill("#icn", record.payer_claim_number)
    main.click("#btnInquire")
    row = main.locator("#ClaimList tr.row")
    expect(row).to_have_count(1)
    expect(row.locator("td.clmstat")).to_have_text("Finalized - Denied")
    row.locator("a.clmlink").click()
    expect(main.locator("#lblpatacct")).to_have_text(claim.claim_id)
    expect(main.locator("#lblstatus")).to_have_text("Finalized - Denied")
    expect(main.locator("#lblfromdos")).to_have_text(claim.service_date_from.strftime("%m/%d/%Y"))
    expect(main.locator("#lblbilled")).to_have_text(f"${claim.billed_amount:,.2f}")
    expect(main.locator("#lblpaid")).to_have_text("$0.00")
    reasons = main.locator("#AdjReasons tr").evaluate_all(
        "rows => rows.slice(1).map(r => [...r.cells].slice(0, 4).map(c => c.innerText))"
    )
    assert reasons == [[str(line.line_number), line.procedure_code, a.group, a.carc] for line, a in adjustments(claim)]
    # remark codes are not in the adjustment rows: they are listed apart, one "REMARK N290" a row, by line
    remarks = main.locator("#RemarkCodes tr").evaluate_all(
        "rows => rows.slice(1).map(r => [...r.cells].slice(0, 2).map(c => c.innerText))"
    )
    assert remarks == [[str(line.line_number), f"REMARK {a.rarc}"] for line, a in adjustments(claim) if a.rarc]
    assert remarks


def test_member_and_date_search_pages_and_eligibility(page: Page, sandbox: SandboxEndpoints) -> None:
    claim = pick_claim("KEYSTONE", Outcome.INFO_REQUESTED)
    main = sign_on(page, sandbox.url(ServerName.KEYSTONE))
    main.goto(sandbox.url(ServerName.KEYSTONE, "/claim_inquiry"))
    main.fill("#mbrid", claim.patient.member_id)
    main.fill("#fromdos", claim.service_date_from.strftime("%m/%d/%Y"))
    main.click("#btnInquire")
    row = main.locator("#ClaimList tr.row", has_text=claim.claim_id)
    expect(row.locator("td.clmstat")).to_have_text("Additional Information Requested")

    main.fill("#mbrid", "")
    main.fill("#fromdos", "01/01/2026")
    main.fill("#todos", "11/30/2026")
    main.click("#btnInquire")
    total = len(load_world().claims_by_payer["KEYSTONE"])
    expect(main.locator("#recCount")).to_have_text(f"RECORDS 1 - 15 OF {total}")
    main.click("#lnkNext")
    expect(main.locator("#recCount")).to_have_text(f"RECORDS 16 - 30 OF {total}")

    benefits = load_world().eligibility_by_member[claim.patient.member_id]
    main.goto(sandbox.url(ServerName.KEYSTONE, "/eligibility_inquiry"))
    main.fill("#eligmbrid", claim.patient.member_id)
    main.fill("#eligdob", claim.patient.dob.strftime("%m/%d/%Y"))
    main.click("#btnEligInquire")
    expect(main.locator("#elig_elig")).to_have_text("ELIGIBLE")
    expect(main.locator("#elig_plan")).to_have_text(benefits.plan_name.upper())
    expect(main.locator("#elig_dedrem")).to_have_text(f"${benefits.deductible_remaining:,.2f}")
    expect(main.locator("#elig_ooprem")).to_have_text("N/A")  # Original Medicare has no out-of-pocket cap


def test_layout_v2_uses_other_ids_and_moves_the_status(page: Page, sandbox: SandboxEndpoints) -> None:
    claim = pick_claim("KEYSTONE", Outcome.PAID)
    with SandboxAdmin(sandbox[ServerName.KEYSTONE]) as admin:
        admin.set_faults(layout_version=2)
    main = sign_on(
        page,
        sandbox.url(ServerName.KEYSTONE),
        (
            "ctl00_Main_txtUserId",
            "ctl00_Main_txtPassword",
            "ctl00_Main_btnLogin",
            "ctl00_Main_lblQuestion",
            "ctl00_Main_txtAnswer",
        ),
    )
    main.goto(sandbox.url(ServerName.KEYSTONE, "/claim_inquiry"))
    expect(main.locator("#icn")).to_have_count(0)
    main.fill("#ctl00_Main_txtPatAcct", claim.claim_id)
    main.click("#ctl00_Main_btnSearch")
    expect(main.locator("#ClaimList")).to_have_count(0)
    row = main.locator("#ctl00_Main_gvClaims tr.gvRow")
    expect(row.locator("td").first).to_have_text("Finalized - Paid")
