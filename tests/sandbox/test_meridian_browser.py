"""MERIDIAN in headless Chromium: consent overlay, TOTP, what's-new modal, lazy results, detail, eligibility.

The portal is a single-page app, so its behaviour under faults (expired session, MFA again, rate
limit, layout 2) is also shown here in the browser, where the script reacts to the JSON errors.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from sandbox.accounts import ServerName, demo_account
from sandbox.codes import Outcome
from sandbox.dataset import load_world
from sandbox.servers import SandboxEndpoints
from sandbox.testing import SandboxAdmin, totp_now
from tests.sandbox.conftest import pick_claim

pytestmark = pytest.mark.browser

V1 = {
    "consent": "#consent-accept",
    "user": "#login-email",
    "password": "#login-password",
    "login": "#login-button",
    "code": "#mfa-code",
    "verify": "#mfa-button",
    "whats_new": "#whats-new-close",
}
V2 = {
    "consent": "#privacy-accept-all",
    "user": "#signin-user",
    "password": "#signin-secret",
    "login": "#signin-go",
    "code": "#otp-input",
    "verify": "#otp-go",
    "whats_new": "#release-notes-dismiss",
}


def sign_in(page: Page, base_url: str, ids: dict[str, str] = V1) -> None:
    account = demo_account(ServerName.MERIDIAN)
    page.goto(base_url)
    with pytest.raises(PlaywrightTimeoutError):  # the consent overlay swallows every click until answered
        page.click(ids["login"], trial=True, timeout=500)
    page.click(ids["consent"])
    page.fill(ids["user"], account.username)
    page.fill(ids["password"], account.password)
    page.click(ids["login"])
    page.fill(ids["code"], totp_now(ServerName.MERIDIAN))
    page.click(ids["verify"])
    page.click(ids["whats_new"])
    assert page.evaluate("localStorage.getItem('meridian.token')")


def search_claim(page: Page, claim_number: str) -> None:
    page.fill("#search-claim", claim_number)
    page.click("#search-submit")
    expect(page.locator("#results .result-card")).to_have_count(1)


def test_sign_in_search_and_read_a_denied_claim(page: Page, sandbox: SandboxEndpoints) -> None:
    claim = pick_claim("MERIDIAN", Outcome.DENIED, with_rarc=True)
    record = claim.payer
    assert record is not None
    sign_in(page, sandbox.url(ServerName.MERIDIAN))
    expect(page.locator("#whats-new")).to_have_count(0)
    search_claim(page, claim.claim_id)
    card = page.locator("#results .result-card")
    expect(card.locator(".status-badge")).to_have_text("DENIED")
    expect(card.locator(".status-codes")).to_have_text(f"{record.category_code} · {record.status_code}")
    card.locator("a.card-open").click()
    expect(page.locator("#detail-claimNumber")).to_have_text(claim.claim_id)
    expect(page.locator("#detail-payerClaimNumber")).to_have_text(record.payer_claim_number or "")
    expect(page.locator("#detail-paid")).to_have_text("$0.00")
    expect(page.locator("#detail-billed")).to_have_text(f"${claim.billed_amount:,.2f}")
    expect(page.locator("#detail-status .status-badge")).to_have_text("DENIED")
    carcs = page.locator("#denial-reasons tr.reason-row td.carc").all_inner_texts()
    rarcs = page.locator("#denial-reasons tr.reason-row td.rarc").all_inner_texts()
    assert carcs == [a.carc for a in claim.adjustments]
    assert rarcs == [a.rarc or "" for a in claim.adjustments]


def test_member_search_paid_claim_dates_and_eligibility(page: Page, sandbox: SandboxEndpoints) -> None:
    claim = pick_claim("MERIDIAN", Outcome.PAID)
    record = claim.payer
    assert record is not None
    assert record.payment is not None
    sign_in(page, sandbox.url(ServerName.MERIDIAN))
    page.fill("#search-member", claim.patient.member_id)
    page.fill("#search-dos", claim.service_date_from.isoformat())
    page.click("#search-submit")
    page.locator("#results a.card-open", has_text=claim.claim_id).click()
    expect(page.locator("#detail-paid")).to_have_text(f"${record.paid:,.2f}")
    expect(page.locator("#detail-paymentNumber")).to_have_text(record.payment.trace_number)
    day = claim.service_date_from
    expect(page.locator("#detail-serviceDates")).to_have_text(f"{day:%b} {day.day}, {day.year}")

    benefits = load_world().eligibility_by_member[claim.patient.member_id]
    page.click("#nav-eligibility")
    page.fill("#elig-member", claim.patient.member_id)
    page.fill("#elig-dob", claim.patient.dob.isoformat())
    page.click("#elig-submit")
    expect(page.locator("#elig-plan")).to_have_text(benefits.plan_name)
    expect(page.locator("#elig-status")).to_have_text(
        "Active" if benefits.is_active_on(load_world().reference_date) else "Inactive"
    )
    expect(page.locator("#elig-deductibleRemaining")).to_have_text(f"${benefits.deductible_remaining:,.2f}")

    page.fill("#elig-dob", "1900-01-01")
    page.click("#elig-submit")
    expect(page.locator("#elig-error")).to_contain_text("date of birth")


def test_results_load_lazily_ten_at_a_time(page: Page, sandbox: SandboxEndpoints) -> None:
    sign_in(page, sandbox.url(ServerName.MERIDIAN))
    page.fill("#search-from", "2026-01-01")
    page.click("#search-submit")
    expect(page.locator("#results .loading")).to_be_visible()  # nothing is there at first
    expect(page.locator("#results .result-card")).to_have_count(10)
    expect(page.locator("#results-count")).to_have_text(f"{len(load_world().claims_by_payer['MERIDIAN'])} claims")
    page.click("#load-more")
    expect(page.locator("#results .result-card")).to_have_count(20)

    missing = next(c for c in load_world().claims if c.payer_id == "MERIDIAN" and c.payer is None)
    page.goto(sandbox.url(ServerName.MERIDIAN, f"/#/search?q={missing.claim_id}"))
    expect(page.locator("#results-empty")).to_be_visible()


def test_expired_session_and_mfa_again_in_the_app(page: Page, sandbox: SandboxEndpoints) -> None:
    claim = pick_claim("MERIDIAN", Outcome.PENDING)
    sign_in(page, sandbox.url(ServerName.MERIDIAN))
    with SandboxAdmin(sandbox[ServerName.MERIDIAN]) as admin:
        admin.set_faults(mfa_again=True)
        page.fill("#search-claim", claim.claim_id)
        page.click("#search-submit")
        expect(page.locator("#mfa-error")).to_contain_text("verify")
        page.fill("#mfa-code", totp_now(ServerName.MERIDIAN))
        page.click("#mfa-button")
        page.click("#whats-new-close")
        expect(page.locator("#results .status-badge")).to_have_text("PENDING")

        admin.set_faults(kill_sessions=True)
        page.fill("#search-claim", "C000000")  # a new search: the next API call
        page.click("#search-submit")
        expect(page.locator("#login-error")).to_contain_text("expired")
        assert page.evaluate("localStorage.getItem('meridian.token')") is None


def test_layout_v2_renames_and_moves_what_bots_select(page: Page, sandbox: SandboxEndpoints) -> None:
    claim = pick_claim("MERIDIAN", Outcome.PAID)
    with SandboxAdmin(sandbox[ServerName.MERIDIAN]) as admin:
        admin.set_faults(layout_version=2)
    sign_in(page, sandbox.url(ServerName.MERIDIAN), V2)
    expect(page.locator("#search-claim")).to_have_count(0)
    page.fill("#finder-number", claim.claim_id)
    page.click("#finder-go")
    item = page.locator("#finder-results ul.claim-list li.claim-item")
    expect(item).to_have_count(1)
    expect(page.locator(".result-card")).to_have_count(0)
    expect(item.locator("footer.claim-item__state .pill")).to_have_text("PAID")  # status moved to a footer
    item.locator("a.claim-item__open").click()
    expect(page.locator("#detail-paid")).to_have_count(0)
    expect(page.locator("[data-qa=claimNumber]")).to_have_text(claim.claim_id)
