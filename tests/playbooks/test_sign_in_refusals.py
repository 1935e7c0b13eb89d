"""The saved page of each portal refusing one more session (playbooks/<payer>/fixtures/signin-*.html), no browser.

Portals say "too many sessions" in the same message box as "wrong password": the playbook's
`too_many_sessions` recognisers must know the page, and the engine checks them before
`invalid_login` and `locked`, so the refusal is a wait (retry later), never a refused sign-in that
suspends the payer.
"""

import pytest

from portal_adapters.playbook.schema import Playbook
from tests.playbooks.capture_fixtures import SIGNIN_REFUSALS, pages_of, recognised
from tests.portals import PAYERS


@pytest.mark.parametrize("payer", PAYERS)
def test_each_portal_has_its_refusal_saved(payer: str) -> None:
    assert [page.label for page in pages_of(payer).sign_in_refusals] == list(SIGNIN_REFUSALS)


@pytest.mark.parametrize("payer", PAYERS)
def test_the_refusal_is_too_many_sessions_and_only_the_order_keeps_it_from_a_wrong_password(payer: str) -> None:
    pages = pages_of(payer)
    playbook: Playbook = pages.playbook()
    [page] = pages.sign_in_refusals
    outcomes = playbook.outcomes
    frame = outcomes.too_many_sessions[0].frame  # KEYSTONE's is the document of its `main` frame
    html = page.text()
    assert recognised(html, outcomes.too_many_sessions, frame)
    assert recognised(html, outcomes.invalid_login, frame)  # the same box: checked after too_many_sessions
    assert not recognised(html, outcomes.locked, frame)


@pytest.mark.parametrize("payer", PAYERS)
def test_a_wrong_password_page_is_not_taken_for_too_many_sessions(payer: str) -> None:
    """The recogniser names the words, not just the box: the box alone would hide wrong passwords."""
    playbook = pages_of(payer).playbook()
    assert all(r.text for r in playbook.outcomes.too_many_sessions)


@pytest.mark.parametrize("payer", PAYERS)
def test_every_playbook_signs_out(payer: str) -> None:
    logout = pages_of(payer).playbook().logout
    assert logout is not None
    assert logout.done_when is not None
