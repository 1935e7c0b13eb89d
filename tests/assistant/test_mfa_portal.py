"""The MFA broker wired to a real portal sign-in: the Slack app's broker (assistant.mfa) is the engine's
OneTimeCodeSource. Real headless Chromium signs in to the sandbox SUNRISE portal with an account whose TOTP
secret the bot does not have (`mfa: broker`, owner SPECIALIST); the owner gets a DM from the real Bolt app
(fake Slack Web API), opens the modal with a signed click and types the code in a signed view_submission;
the sign-in goes on and the claim reads as the payer decided. Unanswered, the sign-in ends within its bound
as mfa_code_not_given and the DM says the bot gave up. Neither the code nor PHI reaches Slack.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyotp
import pytest

from claims.ledger import Ledger
from portal_adapters.contract import ClaimStatusResult
from portal_adapters.errors import AuthenticationFailed, Reason
from tests.assistant.conftest import SPECIALIST, assert_no_phi
from tests.assistant.fake_slack import FakeSlack
from tests.assistant.test_alerts import swept, swept_file  # noqa: F401
from tests.assistant.test_alerts_slack import BackgroundLoop, Started, alert_app  # noqa: F401
from tests.portal_adapters.test_one_time_codes_live import SECRET, broker_adapter
from tests.portals import claims_of, expected_status, query

pytestmark = pytest.mark.browser


def owned_by_specialist(monkeypatch: pytest.MonkeyPatch) -> None:
    """The broker account of the engine test, owned by the team's specialist."""
    import tests.portal_adapters.test_one_time_codes_live as live

    monkeypatch.setattr(live, "OWNER", SPECIALIST)


def test_the_owner_types_the_code_in_the_modal_and_the_sign_in_goes_on(
    swept: Ledger,  # noqa: F811
    fake_slack: FakeSlack,
    alert_app: Callable[..., Started],  # noqa: F811
    sandbox: object,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from assistant.mfa import CODE_BLOCK, CODE_INPUT, OPEN, SUBMIT

    owned_by_specialist(monkeypatch)
    slack, runtime = alert_app(swept)
    claim = claims_of("SUNRISE")[0]

    async def check() -> object:
        async with broker_adapter(sandbox, tmp_path, runtime.broker, timeout_s=30) as adapter:  # type: ignore[arg-type]
            [result] = await adapter.check_claims([query(claim)])
            return result

    bot = BackgroundLoop()
    try:
        waiting = bot.run(check())
        [dm] = fake_slack.wait_for("chat.postMessage", timeout=30)
        assert dm["channel"] == "D0SPECIAL" and "SUNRISE asks for a one-time code" in dm["text"]
        request_id = dm["blocks"][1]["elements"][0]["value"]
        slack.action(OPEN, request_id, user_id=SPECIALIST)
        fake_slack.wait_for("views.open", timeout=30)
        assert SECRET is not None
        code = pyotp.TOTP(SECRET).now()
        values = {CODE_BLOCK: {CODE_INPUT: {"type": "plain_text_input", "value": code}}}
        assert slack.submit(SUBMIT, request_id, values, user_id=SPECIALIST).status_code == 200
        result = waiting.result(timeout=60)
    finally:
        bot.close()
    assert isinstance(result, ClaimStatusResult) and result.status is expected_status(claim)
    [closed] = fake_slack.wait_for("chat.update")
    assert closed["text"] == "Code received: signing in to SUNRISE."
    assert code not in fake_slack.all_text() and runtime.broker.pending() == 0
    assert_no_phi(fake_slack, swept)


def test_unanswered_the_sign_in_gives_up_and_the_dm_says_so(
    swept: Ledger,  # noqa: F811
    fake_slack: FakeSlack,
    alert_app: Callable[..., Started],  # noqa: F811
    sandbox: object,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    owned_by_specialist(monkeypatch)
    _, runtime = alert_app(swept, mfa_timeout_s=0.5)

    async def check() -> None:
        async with broker_adapter(sandbox, tmp_path, runtime.broker, timeout_s=30) as adapter:  # type: ignore[arg-type]
            await adapter.check_claims([query(claims_of("SUNRISE")[0])])

    bot = BackgroundLoop()
    try:
        with pytest.raises(AuthenticationFailed) as raised:
            bot.run(check()).result(timeout=60)
    finally:
        bot.close()
    assert raised.value.reason is Reason.MFA_CODE_NOT_GIVEN
    [update] = fake_slack.calls_to("chat.update")
    assert "gave up signing in to SUNRISE" in update["text"] and runtime.broker.pending() == 0
    assert_no_phi(fake_slack, swept)
