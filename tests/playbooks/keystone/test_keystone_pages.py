"""KEYSTONE's playbook over its saved `main` frame documents (playbooks/keystone/fixtures/), no browser.

KEYSTONE shows no X12 codes, only words, dates as MM/DD/YYYY and amounts as $1,234.56: the status
comes from the playbook's `status_words`, refined by the amounts and adjustments it reads. Every value
must be what the payer decided in the sandbox world.
"""

import pytest

from portal_adapters.parsing import LayoutMismatch, read_claim
from portal_adapters.playbook import Playbook
from sandbox.codes import CATEGORY_WORDS
from sandbox.dataset import load_world
from tests.playbooks.capture_fixtures import (
    SavedPage,
    catalogue_problems,
    claim_facts,
    coverage_read,
    coverage_truth,
    facts_read,
    pages_of,
    recognised,
)
from tests.portals import expected_status

PAYER = "KEYSTONE"
FRAME = "main"  # every saved page is the document of this frame, so only its recognisers apply
PAGES = pages_of(PAYER)


@pytest.fixture(scope="module")
def playbook() -> Playbook:
    return PAGES.playbook()


def test_every_saved_page_is_there_and_about_the_world() -> None:
    assert catalogue_problems(PAYER) == []


def test_extraction_reads_the_main_frame(playbook: Playbook) -> None:
    """The saved pages stand for the `main` frame only because that is the frame the playbook reads."""
    assert playbook.claim_status.extract.frame == FRAME
    assert playbook.eligibility is not None and playbook.eligibility.extract.frame == FRAME


@pytest.mark.parametrize("page", PAGES.claims, ids=PAGES.page_id)
def test_claim_page_reads_as_the_payer_decided(playbook: Playbook, page: SavedPage) -> None:
    claim = load_world().claims_by_id[page.subject]
    assert claim.payer is not None
    reading = read_claim(page.extract(playbook.claim_status.extract), playbook.claim_status)
    assert reading.status is expected_status(claim)
    assert reading.status_text == CATEGORY_WORDS[claim.payer.category_code]
    assert reading.category_code is None  # words only: the status came from status_words
    assert facts_read(reading) == claim_facts(claim)


@pytest.mark.parametrize("page", PAGES.eligibility, ids=PAGES.page_id)
def test_eligibility_page_reads_coverage_plan_and_benefits(playbook: Playbook, page: SavedPage) -> None:
    assert playbook.eligibility is not None
    # the portal prints the plan in capitals; Medicare Part B has no out-of-pocket maximum (shown "N/A")
    assert coverage_read(page, playbook.eligibility) == coverage_truth(page.subject, str.upper)


@pytest.mark.parametrize("page", PAGES.no_results, ids=PAGES.page_id)
def test_no_results_page_is_recognised_and_reads_as_no_claim(playbook: Playbook, page: SavedPage) -> None:
    """The engine asks the no_results recognisers only once the claim fields fail to read."""
    assert [r.selector for r in recognised(page.text(), playbook.outcomes.no_results, FRAME)] == ["#NoClaims"]
    with pytest.raises(LayoutMismatch):
        page.extract(playbook.claim_status.extract)


@pytest.mark.parametrize("page", PAGES.redesigned, ids=PAGES.page_id)
def test_redesigned_claim_page_is_a_layout_mismatch(playbook: Playbook, page: SavedPage) -> None:
    """Layout 2 uses ASP.NET-style ids: the playbook must say so, not read a wrong or empty status."""
    record = load_world().claims_by_id[page.subject].payer
    assert record is not None and record.payer_claim_number is not None
    assert record.payer_claim_number in page.text()  # the claim is there, in new clothes
    with pytest.raises(LayoutMismatch) as raised:
        page.extract(playbook.claim_status.extract)
    assert raised.value.field == "status_text"
    assert not recognised(page.text(), playbook.outcomes.no_results, FRAME)
