"""SUNRISE in headless Chromium: sign in with TOTP, search, read a claim, page through, eligibility."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from sandbox.accounts import ServerName, demo_account
from sandbox.codes import Outcome
from sandbox.dataset import load_world
from sandbox.servers import SandboxEndpoints
from sandbox.testing import SandboxAdmin, totp_now
from tests.sandbox.conftest import pick_claim

pytestmark = pytest.mark.browser


def sign_in(page: Page, base_url: str) -> None:
    account = demo_account(ServerName.SUNRISE)
    page.goto(f"{base_url}/login")
    page.fill("#username", account.username)
    page.fill("#password", account.password)
    page.click("#login-submit")
    page.wait_for_url("**/mfa")
    page.fill("#otp", totp_now(ServerName.SUNRISE))
    page.click("#mfa-submit")
    page.wait_for_url("**/claims")


def test_sign_in_search_read_a_denied_claim(page: Page, sandbox: SandboxEndpoints) -> None:
    claim = pick_claim("SUNRISE", Outcome.DENIED, with_rarc=True)
    record = claim.payer
    assert record is not None
    sign_in(page, sandbox.url(ServerName.SUNRISE))
    page.fill("#claim-number-input", claim.claim_id)
    page.click("#search-btn")
    rows = page.locator("#results tr.claim-row")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td.status")).to_have_text(f"{record.category_code}:{record.status_code}")
    rows.first.locator("a.claim-link").click()
    expect(page.locator("#claim-number")).to_have_text(claim.claim_id)
    expect(page.locator("#payer-claim-number")).to_have_text(record.payer_claim_number or "")
    expect(page.locator("#patient-name")).to_have_text(claim.patient.full_name)
    expect(page.locator("#claim-status .status-code")).to_have_text(f"{record.category_code}:{record.status_code}")
    expect(page.locator("#paid-amount")).to_have_text("0.00")
    expect(page.locator("#billed-amount")).to_have_text(f"{claim.billed_amount:.2f}")
    assert record.payment is not None
    expect(page.locator("#payment-number")).to_have_text(record.payment.trace_number)
    shown = page.locator("#denial-reasons tr.reason-row").evaluate_all(
        "rows => rows.map(r => [r.querySelector('.group').innerText, r.querySelector('.carc').innerText,"
        " r.querySelector('.rarc').innerText])"
    )
    assert shown == [[a.group, a.carc, a.rarc or ""] for a in claim.adjustments]


def test_search_by_member_and_date_then_a_paid_claim_and_eligibility(page: Page, sandbox: SandboxEndpoints) -> None:
    claim = pick_claim("SUNRISE", Outcome.PAID)
    record = claim.payer
    assert record is not None
    sign_in(page, sandbox.url(ServerName.SUNRISE))
    page.fill("#member-id-input", claim.patient.member_id)
    page.fill("#dos-input", claim.service_date_from.isoformat())
    page.click("#search-btn")
    page.locator("#results a.claim-link", has_text=claim.claim_id).click()
    expect(page.locator("#paid-amount")).to_have_text(f"{record.paid:.2f}")
    expect(page.locator("#allowed-amount")).to_have_text(f"{record.allowed:.2f}")
    expect(page.locator("#patient-responsibility")).to_have_text(f"{record.patient_responsibility:.2f}")
    expect(page.locator("#claim-status .status-code")).to_have_text(f"{record.category_code}:{record.status_code}")

    benefits = load_world().eligibility_by_member[claim.patient.member_id]
    page.click("#nav-eligibility")
    page.fill("#elig-member-id", claim.patient.member_id)
    page.fill("#elig-dob", claim.patient.dob.isoformat())
    page.click("#elig-submit")
    expect(page.locator("#coverage-status")).to_have_text("Active")
    expect(page.locator("#plan-name")).to_have_text(benefits.plan_name)
    expect(page.locator("#deductible-remaining")).to_have_text(f"{benefits.deductible_remaining:.2f}")
    expect(page.locator("#copay")).to_have_text(f"{benefits.copay:.2f}")

    page.fill("#elig-member-id", "SUN000000000")
    page.click("#elig-submit")
    expect(page.locator("#eligibility-error")).to_contain_text("No member found")


def test_results_are_paginated_and_unknown_claims_show_no_results(page: Page, sandbox: SandboxEndpoints) -> None:
    sign_in(page, sandbox.url(ServerName.SUNRISE))
    page.fill("#date-from-input", "2026-01-01")
    page.click("#search-btn")
    total = len(load_world().claims_by_payer["SUNRISE"])
    expect(page.locator("#page-info")).to_have_text(f"Page 1 of {-(-total // 10)} ({total} claims)")
    expect(page.locator("#results tr.claim-row")).to_have_count(10)
    first_page = page.locator("#results a.claim-link").all_inner_texts()
    page.click("a.page-next")
    expect(page.locator("#page-info")).to_contain_text("Page 2 of")
    assert set(page.locator("#results a.claim-link").all_inner_texts()).isdisjoint(first_page)

    missing = next(c for c in load_world().claims if c.payer_id == "SUNRISE" and c.payer is None)
    page.fill("#claim-number-input", missing.claim_id)
    page.fill("#date-from-input", "")
    page.click("#search-btn")
    expect(page.locator("#no-results")).to_be_visible()


def test_layout_v2_breaks_v1_selectors_in_the_browser(page: Page, sandbox: SandboxEndpoints) -> None:
    claim = pick_claim("SUNRISE", Outcome.PARTIALLY_PAID)
    with SandboxAdmin(sandbox[ServerName.SUNRISE]) as admin:
        admin.set_faults(layout_version=2)
    account = demo_account(ServerName.SUNRISE)
    page.goto(sandbox.url(ServerName.SUNRISE, "/login"))
    expect(page.locator("#username")).to_have_count(0)
    page.fill("#user-id", account.username)
    page.fill("#user-pass", account.password)
    page.click("#signin-btn")
    page.fill("#verification-code", totp_now(ServerName.SUNRISE))
    page.click("#verify-btn")
    page.fill("#q-claim", claim.claim_id)
    page.click("#find-btn")
    expect(page.locator("#results")).to_have_count(0)
    row = page.locator("#claimResults #claimsGrid tr.sr-grid__row")
    expect(row.locator("td").first).to_have_class("sr-grid__status")  # status moved to the first column
    row.locator("a.sr-grid__link").click()
    expect(page.locator("#claim-status")).to_have_count(0)
    expect(page.locator("[data-role=claim-state] b")).to_have_text("F1:107")
