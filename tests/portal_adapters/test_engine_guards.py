"""Guards the engine keeps at run time, in real Chromium against the sandbox: a selector the browser
refuses stops the payer as a broken playbook (never a retry, never a lockout), and an address off
the portal's origins is refused before the browser goes there."""

from pathlib import Path

import pytest

from portal_adapters.errors import PlaybookBroken, Reason
from portal_adapters.playbook.schema import FetchJson, Fill
from sandbox.servers import SandboxEndpoints
from sandbox.testing import SandboxAdmin, reset_all
from tests.portals import claims_of, open_adapter, query, server

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _clean(sandbox: SandboxEndpoints) -> None:
    reset_all(sandbox)


async def test_a_selector_the_browser_refuses_is_a_broken_playbook(sandbox: SandboxEndpoints, tmp_path: Path) -> None:
    async with open_adapter(sandbox, "SUNRISE", tmp_path) as adapter:
        # `playbook validate` refuses "#[" at load; a playbook built in code skips it, the browser does not
        bad = Fill.model_construct(fill="#[", value="{account.username}", frame=None)
        login = adapter.playbook.login
        adapter.playbook = adapter.playbook.model_copy(
            update={"login": login.model_copy(update={"steps": [bad, *login.steps[1:]]})}
        )
        adapter.steps.playbook = adapter.pages.playbook = adapter.playbook
        with pytest.raises(PlaybookBroken) as caught:
            await adapter.open()
    assert (caught.value.reason, caught.value.step) == (Reason.INVALID_SELECTOR, "login.steps.0 (fill)")
    assert caught.value.stops_payer and not caught.value.retryable
    assert "#[" not in str(caught.value)
    with SandboxAdmin(sandbox[server("SUNRISE")]) as admin:
        assert admin.counters().logins == 0


async def test_a_fetch_off_the_portals_origin_is_refused(sandbox: SandboxEndpoints, tmp_path: Path) -> None:
    claim = claims_of("MERIDIAN", lambda c: c.payer is not None)[0]
    async with open_adapter(sandbox, "MERIDIAN", tmp_path) as adapter:
        await adapter.open()
        search = adapter.playbook.claim_status.searches[0]
        first = search.steps[0]
        assert isinstance(first, FetchJson)
        elsewhere = first.model_copy(update={"fetch_json": "https://elsewhere.example/api/claims?q={claim.claim_id}"})
        task = adapter.playbook.claim_status.model_copy(
            update={"searches": [search.model_copy(update={"steps": [elsewhere, *search.steps[1:]]})]}
        )
        adapter.playbook = adapter.steps.playbook = adapter.playbook.model_copy(update={"claim_status": task})
        with pytest.raises(PlaybookBroken) as caught:
            await adapter.check_claims([query(claim)])
    assert (caught.value.reason, caught.value.step) == (
        Reason.OFF_ORIGIN,
        "claim_status.searches.0.steps.0 (fetch_json)",
    )
