"""Every sandbox fault, on every portal, ends in the right typed outcome (real Chromium, real servers).

Slow portal → still answers; 5xx / maintenance / rate limit → retryable failures, never a layout
change; expired session / MFA again → transparent re-login; layout v2 → LayoutChanged with
evidence; wrong password → AuthenticationFailed; repeated failures → AccountLocked.
"""

import asyncio
import logging
import os
import stat
from pathlib import Path

import httpx
import pytest

from bots.live import check_with_retry
from portal_adapters.contract import ClaimCheckFailed, ClaimStatusResult
from portal_adapters.errors import (
    AccountLocked,
    AuthenticationFailed,
    ErrorKind,
    LayoutChanged,
    PortalUnavailable,
    Reason,
)
from portal_adapters.retry import RetryPolicy
from sandbox.servers import SandboxEndpoints
from sandbox.testing import SandboxAdmin, reset_all, sign_in_over_http
from tests.portals import PAYERS, account, claims_of, expected_status, open_adapter, query, server

pytestmark = pytest.mark.browser

KNOWN = {payer: claims_of(payer, lambda c: c.payer is not None)[:3] for payer in PAYERS}


@pytest.fixture(autouse=True)
def _clean(sandbox: SandboxEndpoints) -> None:
    reset_all(sandbox)


def admin(sandbox: SandboxEndpoints, payer: str) -> SandboxAdmin:
    return SandboxAdmin(sandbox[server(payer)])


def assert_correct(results: list[ClaimStatusResult | ClaimCheckFailed], payer: str) -> None:
    for claim, result in zip(KNOWN[payer], results, strict=False):
        assert isinstance(result, ClaimStatusResult), result
        assert result.status is expected_status(claim)


@pytest.mark.parametrize("payer", PAYERS)
async def test_latency_is_waited_out(sandbox: SandboxEndpoints, payer: str, tmp_path: Path) -> None:
    async with open_adapter(sandbox, payer, tmp_path) as adapter:
        await adapter.open()
        with admin(sandbox, payer) as a:
            a.set_faults(latency_ms=300, jitter_ms=100)
        results = await adapter.check_claims([query(c) for c in KNOWN[payer][:2]])
    assert_correct(results, payer)
    assert all(isinstance(r, ClaimStatusResult) and r.elapsed_ms >= 300 for r in results)


@pytest.mark.parametrize("payer", PAYERS)
async def test_server_errors_are_retryable_failures_not_layout_changes(
    sandbox: SandboxEndpoints, payer: str, tmp_path: Path
) -> None:
    async with open_adapter(sandbox, payer, tmp_path) as adapter:
        await adapter.open()
        with admin(sandbox, payer) as a:
            a.set_faults(error_rate=1.0, error_status=503)
            results = await adapter.check_claims([query(c) for c in KNOWN[payer][:2]])
            assert a.counters().faults_served
        assert [r.kind for r in results if isinstance(r, ClaimCheckFailed)] == [ErrorKind.PORTAL_UNAVAILABLE] * 2

        # The retry policy gets through once the portal recovers (here: before the second attempt).
        async def recover(_: float) -> None:
            with admin(sandbox, payer) as a:
                a.set_faults(error_rate=0.0)

        with admin(sandbox, payer) as a:
            a.set_faults(error_rate=1.0, error_status=500)
        retried = await check_with_retry(adapter, [query(c) for c in KNOWN[payer][:2]], RetryPolicy(), sleep=recover)
    assert_correct(retried, payer)


@pytest.mark.parametrize("payer", PAYERS)
async def test_maintenance_page(sandbox: SandboxEndpoints, payer: str, tmp_path: Path) -> None:
    with admin(sandbox, payer) as a:
        a.set_faults(maintenance=True)
    async with open_adapter(sandbox, payer, tmp_path) as adapter:
        with pytest.raises(PortalUnavailable) as caught:
            await adapter.open()
    assert caught.value.retryable
    assert not isinstance(caught.value, LayoutChanged)
    # KEYSTONE's frameset answers 503 before its frame shows the words: either way a retryable outage
    assert caught.value.reason in (Reason.MAINTENANCE, Reason.HTTP_ERROR)


@pytest.mark.parametrize("payer", PAYERS)
async def test_maintenance_mid_run(sandbox: SandboxEndpoints, payer: str, tmp_path: Path) -> None:
    async with open_adapter(sandbox, payer, tmp_path) as adapter:
        await adapter.open()
        with admin(sandbox, payer) as a:
            a.set_faults(maintenance=True)
        results = await adapter.check_claims([query(KNOWN[payer][0])])
    assert [r.kind for r in results if isinstance(r, ClaimCheckFailed)] == [ErrorKind.PORTAL_UNAVAILABLE]


@pytest.mark.parametrize("fault", ["kill_sessions", "mfa_again"])
@pytest.mark.parametrize("payer", PAYERS)
async def test_session_loss_mid_run_means_a_transparent_relogin(
    sandbox: SandboxEndpoints, payer: str, fault: str, tmp_path: Path
) -> None:
    async with open_adapter(sandbox, payer, tmp_path) as adapter:
        first = await adapter.check_claims([query(KNOWN[payer][0])])
        with admin(sandbox, payer) as a:
            a.set_faults(**{fault: True})
        second = await adapter.check_claims([query(KNOWN[payer][1])])
        logins = sum(s.logins for s in adapter.sessions)
    assert_correct(first + second, payer)
    assert logins == 2


@pytest.mark.parametrize("payer", PAYERS)
async def test_idle_timeout_means_a_transparent_relogin(sandbox: SandboxEndpoints, payer: str, tmp_path: Path) -> None:
    async with open_adapter(sandbox, payer, tmp_path) as adapter:
        await adapter.open()
        with admin(sandbox, payer) as a:
            a.set_faults(idle_timeout_s=1)
        await asyncio.sleep(1.3)
        results = await adapter.check_claims([query(KNOWN[payer][0])])
        assert adapter.sessions[0].logins == 2
    assert_correct(results, payer)


@pytest.mark.parametrize("payer", ["SUNRISE", "KEYSTONE"])
async def test_layout_v2_is_a_layout_change_with_evidence(
    sandbox: SandboxEndpoints, payer: str, tmp_path: Path
) -> None:
    async with open_adapter(sandbox, payer, tmp_path) as adapter:
        await adapter.open()
        with admin(sandbox, payer) as a:
            a.set_faults(layout_version=2)
        with pytest.raises(LayoutChanged) as caught:
            await adapter.check_claims([query(KNOWN[payer][0])])
    error = caught.value
    assert error.stops_payer
    assert error.evidence_ref is not None
    assert error.reason in (Reason.ELEMENT_MISSING, Reason.PAGE_UNREADABLE)
    assert error.step is not None and error.step.startswith("claim_status.")  # where in the playbook it broke
    shot, html = tmp_path / f"{error.evidence_ref}.png", tmp_path / f"{error.evidence_ref}.html"
    assert shot.read_bytes()[:4] == b"\x89PNG"
    assert stat.S_IMODE(os.stat(html).st_mode) == 0o600
    for phi in (KNOWN[payer][0].patient.last_name, KNOWN[payer][0].patient.member_id):
        assert phi not in error.evidence_ref and phi not in str(error)


async def test_a_redesign_does_not_touch_the_json_route(sandbox: SandboxEndpoints, tmp_path: Path) -> None:
    """MERIDIAN's playbook reads the app's JSON API: a UI redesign mid-run changes nothing it reads."""
    async with open_adapter(sandbox, "MERIDIAN", tmp_path) as adapter:
        await adapter.open()
        with admin(sandbox, "MERIDIAN") as a:
            a.set_faults(layout_version=2)
        results = await adapter.check_claims([query(c) for c in KNOWN["MERIDIAN"]])
    assert_correct(results, "MERIDIAN")


@pytest.mark.parametrize("payer", PAYERS)
async def test_layout_v2_at_sign_in_is_a_layout_change_not_a_failed_login(
    sandbox: SandboxEndpoints, payer: str, tmp_path: Path
) -> None:
    with admin(sandbox, payer) as a:
        a.set_faults(layout_version=2)
    async with open_adapter(sandbox, payer, tmp_path) as adapter:
        with pytest.raises(LayoutChanged):
            await adapter.open()


@pytest.mark.parametrize("payer", PAYERS)
async def test_wrong_password_then_lockout(sandbox: SandboxEndpoints, payer: str, tmp_path: Path) -> None:
    with admin(sandbox, payer) as a:
        a.set_faults(lockout_after_failures=2)
    wrong = [account(payer, password="not-the-password")]
    async with open_adapter(sandbox, payer, tmp_path, accounts=wrong) as adapter:
        with pytest.raises(AuthenticationFailed) as caught:
            await adapter.open()
    assert not isinstance(caught.value, AccountLocked)
    assert caught.value.reason is Reason.SIGN_IN_REFUSED
    assert caught.value.stops_payer
    assert "not-the-password" not in str(caught.value)
    async with open_adapter(sandbox, payer, tmp_path, accounts=wrong) as adapter:
        with pytest.raises(AccountLocked):  # the second failure locks the account
            await adapter.open()
    async with open_adapter(sandbox, payer, tmp_path) as adapter:  # now even the right password
        with pytest.raises(AccountLocked) as locked:
            await adapter.open()
    assert locked.value.stops_payer


@pytest.mark.parametrize("payer", PAYERS)
async def test_rate_limit_is_a_retryable_failure(sandbox: SandboxEndpoints, payer: str, tmp_path: Path) -> None:
    async with open_adapter(sandbox, payer, tmp_path) as adapter:
        await adapter.open()
        with admin(sandbox, payer) as a:
            a.set_faults(rate_limit_requests=1, rate_limit_window_s=60)
            results = await adapter.check_claims([query(KNOWN[payer][0])])
            assert a.counters().rate_limit_hits >= 1
    assert [(r.kind, r.reason) for r in results if isinstance(r, ClaimCheckFailed)] == [
        (ErrorKind.RATE_LIMITED, Reason.SLOW_DOWN)
    ]


@pytest.mark.parametrize("payer", PAYERS)
async def test_portal_session_limit_is_respected(sandbox: SandboxEndpoints, payer: str, tmp_path: Path) -> None:
    """The portal allows one session per account; the playbook asks for two: we carry on with one."""
    with admin(sandbox, payer) as a:
        a.set_faults(max_sessions_per_account=1)
    async with open_adapter(sandbox, payer, tmp_path) as adapter:
        results = await adapter.check_claims([query(c) for c in KNOWN[payer]])
        assert len(adapter.sessions) == 1
        assert adapter.session_refusals == [ErrorKind.TOO_MANY_SESSIONS]  # not a wrong password
    assert_correct(results, payer)
    with admin(sandbox, payer) as a:
        counters = a.counters()
    assert counters.peak_sessions == 1
    assert counters.live_sessions == 0  # signed out when the adapter closed


@pytest.mark.parametrize("payer", PAYERS)
async def test_every_session_is_signed_out_when_the_adapter_closes(
    sandbox: SandboxEndpoints, payer: str, tmp_path: Path
) -> None:
    async with open_adapter(sandbox, payer, tmp_path) as adapter:
        results = await adapter.check_claims([query(c) for c in KNOWN[payer][:2]])
        assert len(adapter.sessions) == 2
        with admin(sandbox, payer) as a:
            assert a.counters().live_sessions == 2
    assert_correct(results, payer)
    with admin(sandbox, payer) as a:
        assert a.counters().live_sessions == 0


@pytest.mark.parametrize("payer", PAYERS)
async def test_no_session_left_means_every_claim_waits_and_the_payer_goes_on(
    sandbox: SandboxEndpoints, payer: str, tmp_path: Path
) -> None:
    """Someone else holds the account's only session: too_many_sessions per claim, retryable, nothing raised."""
    with admin(sandbox, payer) as a:
        a.set_faults(max_sessions_per_account=1)
    with httpx.Client(base_url=sandbox[server(payer)].base_url, timeout=10) as person:
        sign_in_over_http(person, server(payer))
        async with open_adapter(sandbox, payer, tmp_path) as adapter:
            results = await adapter.check_claims([query(c) for c in KNOWN[payer][:2]])
    assert [(r.kind, r.reason) for r in results if isinstance(r, ClaimCheckFailed)] == [
        (ErrorKind.TOO_MANY_SESSIONS, Reason.TOO_MANY_SESSIONS)
    ] * 2
    assert all(isinstance(r, ClaimCheckFailed) and r.kind is not ErrorKind.AUTH_FAILED for r in results)
    with admin(sandbox, payer) as a:
        counters = a.counters()
    assert counters.sessions_refused >= 1
    assert counters.live_sessions == 1  # the other user's session, untouched
    assert counters.login_failures == 0


async def test_the_run_ends_with_its_own_error_and_still_signs_out(sandbox: SandboxEndpoints, tmp_path: Path) -> None:
    """A redesign breaks the claim page and the sign-out's done_when (#login-form is renamed): the
    run ends with the layout change, and the sign-in page it lands on counts as signed out."""
    adapters = []

    async def run() -> None:
        async with open_adapter(sandbox, "SUNRISE", tmp_path) as adapter:
            adapters.append(adapter)
            await adapter.open()
            with admin(sandbox, "SUNRISE") as a:
                a.set_faults(layout_version=2)
            await adapter.check_claims([query(KNOWN["SUNRISE"][0])])

    with pytest.raises(LayoutChanged):  # raised through the adapter's close, not replaced by it
        await run()
    assert adapters[0].sessions == []
    with admin(sandbox, "SUNRISE") as a:
        assert a.counters().live_sessions == 0


@pytest.mark.parametrize("payer", ["SUNRISE", "KEYSTONE"])  # MERIDIAN's app shows "signed out" whatever its API said
async def test_a_failing_sign_out_is_logged_swallowed_and_bounded(
    sandbox: SandboxEndpoints, payer: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The portal goes into maintenance before the run signs out: close() still returns, in time,
    having closed everything, and says why in a reason code (no address, no page text)."""
    async with open_adapter(sandbox, payer, tmp_path) as adapter:
        results = await adapter.check_claims([query(KNOWN[payer][0])])
        with admin(sandbox, payer) as a:
            a.set_faults(maintenance=True)
        started = asyncio.get_running_loop().time()
        with caplog.at_level(logging.WARNING, logger="portal_adapters.engine.steps"):
            await adapter.close()
        assert asyncio.get_running_loop().time() - started < 6.0  # logout.timeout_ms is 5000
        assert adapter.sessions == []
    assert_correct(results, payer)
    lines = [r.getMessage() for r in caplog.records if "sign-out" in r.getMessage()]
    assert lines and all(
        line
        in (f"sign-out did not finish: {why} (payer {payer})" for why in ("maintenance", "timed_out", "http_error"))
        for line in lines
    ), lines
