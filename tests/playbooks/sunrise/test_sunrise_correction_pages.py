"""SUNRISE's corrected_claim task over its saved pages (playbooks/sunrise/fixtures/corrections/), no browser.

Each page must carry what the task's selectors look for: the form's line rows and fields, the review's
submit button (the click a dry run never makes), the confirmation's numbers, and the refusals told
apart by kind, so a portal change shows up here in milliseconds.
"""

import pytest
from selectolax.lexbor import LexborHTMLParser

from portal_adapters.engine.corrections import read_confirmation
from portal_adapters.parsing import LayoutMismatch, extract_html
from portal_adapters.playbook import Playbook
from portal_adapters.playbook.schema import CorrectedClaimTask, Fill, ForEachLine, Select
from tests.playbooks.capture_fixtures import pages_of, recognised
from tests.playbooks.sunrise.correction_pages import FOLDER, corrected_claim, page_names, saved


@pytest.fixture(scope="module")
def task() -> CorrectedClaimTask:
    playbook: Playbook = pages_of("SUNRISE").playbook()
    assert playbook.corrected_claim is not None
    return playbook.corrected_claim


def test_every_correction_page_is_saved() -> None:
    present = {path.name for path in FOLDER.iterdir()}
    assert set(page_names(corrected_claim().claim_id).values()) <= present


def test_form_has_a_row_per_line_and_every_field_the_steps_fill(task: CorrectedClaimTask) -> None:
    tree = LexborHTMLParser(saved("form"))
    each_line = next(step for step in task.steps if isinstance(step, ForEachLine))
    rows = tree.css(each_line.for_each_line)
    assert len(rows) == len(corrected_claim().lines)
    for row in rows:
        for step in each_line.steps:
            assert isinstance(step, Fill)
            assert row.css_first(step.fill) is not None, step.fill
    claim_fields = [s.fill if isinstance(s, Fill) else s.select for s in task.steps if isinstance(s, Fill | Select)]
    for selector in claim_fields:
        if selector != "#claim-number-input":  # the search form, on the page before
            assert tree.css_first(selector) is not None, selector
    assert tree.css_first("#correction-error") is None


def test_form_is_prefilled_with_the_claim_as_the_payer_holds_it() -> None:
    tree = LexborHTMLParser(saved("form"))
    claim = corrected_claim()
    procedures = [node.attributes.get("value") for node in tree.css("#correction-lines input.procedure")]
    assert procedures == [line.procedure_code for line in claim.lines]
    npi = tree.css_first("#rendering_npi")
    assert npi is not None and npi.attributes.get("value") == claim.rendering_npi
    original = tree.css_first("#original_claim_number")
    assert original is not None and original.attributes.get("value") == ""  # typed from the request, never guessed


def test_review_shows_the_submit_the_dry_run_stops_at(task: CorrectedClaimTask) -> None:
    tree = LexborHTMLParser(saved("review"))
    assert tree.css_first("#correction-review-summary") is not None
    assert tree.css_first(task.submit) is not None
    assert tree.css_first(task.done_when) is None
    assert recognised(saved("review"), [r for group in task.refused.values() for r in group]) == []


def test_confirmation_reads_the_confirmation_and_the_new_payer_claim_number(task: CorrectedClaimTask) -> None:
    html = saved("confirmation")
    assert LexborHTMLParser(html).css_first(task.done_when) is not None
    reading = read_confirmation(extract_html(html, task.extract))
    assert reading.confirmation_number == "SUC2611200001"
    assert reading.payer_claim_number == "SR26324900001"
    original = corrected_claim().payer
    assert original is not None and reading.payer_claim_number != original.payer_claim_number


def test_a_page_without_a_confirmation_number_does_not_read_as_confirmed(task: CorrectedClaimTask) -> None:
    with pytest.raises(LayoutMismatch):
        read_confirmation(extract_html(saved("review"), task.extract))


@pytest.mark.parametrize(
    ("page", "kind"), [("refused-original-unknown", "original_unknown"), ("refused-duplicate", "duplicate")]
)
def test_refusals_are_told_apart_by_kind(task: CorrectedClaimTask, page: str, kind: str) -> None:
    html = saved(page)
    matched = [name for name, group in task.refused.items() if recognised(html, group)]
    assert matched[0] == kind  # the engine checks original_unknown, duplicate, refused in this order
    assert "refused" in matched  # the catch-all sees every refusal too
