"""SUNRISE's playbook over its saved pages (playbooks/sunrise/fixtures/), no browser and no portal.

Every value the playbook reads off a saved page must be what the payer decided in the sandbox world,
so a selector fix is checked in milliseconds; the live tests only have to prove the navigation.
"""

import pytest

from portal_adapters.parsing import LayoutMismatch, read_claim
from portal_adapters.playbook import Playbook
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

PAYER = "SUNRISE"
PAGES = pages_of(PAYER)


@pytest.fixture(scope="module")
def playbook() -> Playbook:
    return PAGES.playbook()


def test_every_saved_page_is_there_and_about_the_world() -> None:
    assert catalogue_problems(PAYER) == []


@pytest.mark.parametrize("page", PAGES.claims, ids=PAGES.page_id)
def test_claim_page_reads_as_the_payer_decided(playbook: Playbook, page: SavedPage) -> None:
    claim = load_world().claims_by_id[page.subject]
    assert claim.payer is not None
    reading = read_claim(page.extract(playbook.claim_status.extract), playbook.claim_status)
    assert reading.status is expected_status(claim)
    assert reading.category_code == claim.payer.category_code
    assert facts_read(reading) == claim_facts(claim)


@pytest.mark.parametrize("page", PAGES.claims, ids=PAGES.page_id)
def test_status_code_is_the_x12_status_code(playbook: Playbook, page: SavedPage) -> None:
    record = load_world().claims_by_id[page.subject].payer
    assert record is not None
    reading = read_claim(page.extract(playbook.claim_status.extract), playbook.claim_status)
    assert reading.status_code == record.status_code


@pytest.mark.parametrize("page", PAGES.eligibility, ids=PAGES.page_id)
def test_eligibility_page_reads_coverage_plan_and_benefits(playbook: Playbook, page: SavedPage) -> None:
    assert playbook.eligibility is not None
    assert coverage_read(page, playbook.eligibility) == coverage_truth(page.subject)


@pytest.mark.parametrize("page", PAGES.no_results, ids=PAGES.page_id)
def test_no_results_page_is_recognised_and_reads_as_no_claim(playbook: Playbook, page: SavedPage) -> None:
    """The engine asks the no_results recognisers only once the claim fields fail to read."""
    assert [r.selector for r in recognised(page.text(), playbook.outcomes.no_results)] == ["#no-results"]
    with pytest.raises(LayoutMismatch):
        page.extract(playbook.claim_status.extract)


@pytest.mark.parametrize("page", PAGES.redesigned, ids=PAGES.page_id)
def test_redesigned_claim_page_is_a_layout_mismatch(playbook: Playbook, page: SavedPage) -> None:
    """Layout 2 renames every id: the playbook must say so, not read a wrong or empty status."""
    record = load_world().claims_by_id[page.subject].payer
    assert record is not None and record.payer_claim_number is not None
    assert record.payer_claim_number in page.text()  # the claim is there, in new clothes
    with pytest.raises(LayoutMismatch) as raised:
        page.extract(playbook.claim_status.extract)
    assert raised.value.field == "category_code"
    assert not recognised(page.text(), playbook.outcomes.no_results)
