"""MERIDIAN's playbook over its saved API answers (playbooks/meridian/fixtures/), no browser.

The playbook signs in through the app but reads the JSON the app reads (`/api/claims?q=` for the
search, `/api/claims/{key}` for the claim, `/api/eligibility`); those answers are saved here and every
value read from them must be what the payer decided in the sandbox world.
"""

import json

import pytest

from portal_adapters.parsing import read_claim, walk_json
from portal_adapters.playbook import Playbook
from portal_adapters.playbook.schema import FetchJson
from sandbox.dataset import load_world
from tests.playbooks.capture_fixtures import (
    SavedPage,
    catalogue_problems,
    claim_facts,
    coverage_read,
    coverage_truth,
    facts_read,
    pages_of,
)
from tests.portals import expected_status

PAYER = "MERIDIAN"
PAGES = pages_of(PAYER)


@pytest.fixture(scope="module")
def playbook() -> Playbook:
    return PAGES.playbook()


def _search_step(playbook: Playbook) -> FetchJson:
    """The claim search call: the fetch whose empty answer means 'no such claim'."""
    steps = [s for s in playbook.claim_status.searches[0].steps if isinstance(s, FetchJson)]
    return next(s for s in steps if s.no_results_when_empty is not None)


def test_every_saved_page_is_there_and_about_the_world() -> None:
    assert catalogue_problems(PAYER) == []


def test_the_saved_answers_are_from_the_endpoints_the_playbook_reads(playbook: Playbook) -> None:
    claim_steps = [s for s in playbook.claim_status.searches[0].steps if isinstance(s, FetchJson)]
    assert [s.fetch_json.split("?")[0] for s in claim_steps] == ["/api/claims", "/api/claims/{json.items.0.key}"]
    assert playbook.claim_status.extract.source == "json"
    assert playbook.eligibility is not None and playbook.eligibility.extract.source == "json"
    assert [s.fetch_json.split("?")[0] for s in playbook.eligibility.steps if isinstance(s, FetchJson)] == [
        "/api/eligibility"
    ]


@pytest.mark.parametrize("page", PAGES.claims, ids=PAGES.page_id)
def test_claim_answer_reads_as_the_payer_decided(playbook: Playbook, page: SavedPage) -> None:
    claim = load_world().claims_by_id[page.subject]
    assert claim.payer is not None
    reading = read_claim(page.extract(playbook.claim_status.extract), playbook.claim_status)
    assert reading.status is expected_status(claim)
    assert (reading.category_code, reading.status_code) == (claim.payer.category_code, claim.payer.status_code)
    assert facts_read(reading) == claim_facts(claim)


@pytest.mark.parametrize("page", PAGES.eligibility, ids=PAGES.page_id)
def test_eligibility_answer_reads_coverage_plan_and_benefits(playbook: Playbook, page: SavedPage) -> None:
    assert playbook.eligibility is not None
    assert coverage_read(page, playbook.eligibility) == coverage_truth(page.subject)


@pytest.mark.parametrize("page", PAGES.no_results, ids=PAGES.page_id)
def test_empty_search_answer_means_no_such_claim(playbook: Playbook, page: SavedPage) -> None:
    """MERIDIAN has no no-results page: the playbook's `no_results_when_empty` path is what says so."""
    step = _search_step(playbook)
    assert step.no_results_when_empty is not None
    answer = json.loads(page.text())
    assert not walk_json(answer, step.no_results_when_empty)
    assert walk_json(answer, "items.0.key") is None  # the detail call could not even be made


@pytest.mark.parametrize("page", PAGES.redesigned, ids=PAGES.page_id)
def test_redesign_does_not_touch_the_api_the_playbook_reads(playbook: Playbook, page: SavedPage) -> None:
    """Layout 2 renames every id of the app, but the JSON is the same: reading it is why this playbook
    survives the redesign that breaks the HTML playbooks."""
    same_claim = next(p for p in PAGES.claims if p.subject == page.subject)
    assert page.text() == same_claim.text()
    claim = load_world().claims_by_id[page.subject]
    reading = read_claim(page.extract(playbook.claim_status.extract), playbook.claim_status)
    assert reading.status is expected_status(claim)
    assert facts_read(reading) == claim_facts(claim)
