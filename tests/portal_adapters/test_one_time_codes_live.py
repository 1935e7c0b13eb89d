"""One-time codes the bot cannot make, in real headless Chromium against the sandbox SUNRISE portal (its
sign-in has a TOTP step): the account has no TOTP secret but `mfa: broker`, so the sign-in awaits a
OneTimeCodeSource. A source that answers signs in and the claim reads as the payer decided; one that
does not answer in time (or no source at all) ends the sign-in as AuthenticationFailed(mfa_code_not_given)
within its bound, and a sweep stops that payer with one bot-failure event, without holding the payer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pyotp
import pytest

from bots.planner import plan_from_ledger
from bots.sweep import plan_to_sweep, run_sweep
from claims.ledger import Ledger
from claims.models import EventKind, SweepItemState, utc_now
from claims.payer_config import load_payer_config
from portal_adapters.contract import ClaimStatusResult, PayerAdapter
from portal_adapters.credentials import PortalAccount
from portal_adapters.engine import PlaybookPortalAdapter
from portal_adapters.errors import AuthenticationFailed, Reason
from portal_adapters.evidence import EvidenceStore
from portal_adapters.playbook import load_playbook
from portal_adapters.retry import RetryPolicy
from sandbox.accounts import ACCOUNTS, ServerName
from sandbox.servers import SandboxEndpoints
from tests.assistant.test_alerts import FAST, no_sleep, swept, swept_file  # noqa: F401
from tests.conftest import REPO
from tests.portals import account, claims_of, expected_status, query

pytestmark = pytest.mark.browser

OWNER = "U0CODEOWNER"
SECRET = ACCOUNTS[ServerName.SUNRISE][0].totp_secret


def broker_account() -> PortalAccount:
    """The sandbox's SUNRISE demo account without its TOTP secret: its codes are asked of OWNER."""
    return account("SUNRISE").model_copy(update={"totp_secret": None, "mfa": "broker", "mfa_owner": OWNER})


class TypedCode:
    """The owner types the code the portal's authenticator shows (the test knows the sandbox's secret)."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str | None, float]] = []

    async def code_for(self, payer_id: str, account: PortalAccount, timeout_s: float) -> str | None:
        self.asked.append((payer_id, account.mfa_owner, timeout_s))
        await asyncio.sleep(0.2)  # a person takes a moment; the portal's page waits
        assert SECRET is not None
        return pyotp.TOTP(SECRET).now()


class NoAnswer:
    """The owner never answers: the source gives up after its bound, as the Slack broker does."""

    def __init__(self) -> None:
        self.asked = 0

    async def code_for(self, payer_id: str, account: PortalAccount, timeout_s: float) -> str | None:
        self.asked += 1
        await asyncio.sleep(timeout_s)
        return None


@asynccontextmanager
async def broker_adapter(
    sandbox: SandboxEndpoints, evidence: Path, codes: object, timeout_s: float = 5.0
) -> AsyncIterator[PlaybookPortalAdapter]:
    playbook = load_playbook(REPO / "playbooks" / "sunrise" / "playbook.yaml")
    playbook = playbook.model_copy(update={"session": playbook.session.model_copy(update={"element_timeout_ms": 2500})})
    adapter = PlaybookPortalAdapter(
        playbook,
        [broker_account()],
        EvidenceStore(evidence),
        base_url=sandbox[ServerName.SUNRISE].base_url,
        codes=codes,  # type: ignore[arg-type]  # the protocol, structurally
        code_timeout_s=timeout_s,
    )
    try:
        yield adapter
    finally:
        await adapter.close()


async def test_a_code_from_the_source_signs_in_once_per_account(sandbox: SandboxEndpoints, tmp_path: Path) -> None:
    claims = claims_of("SUNRISE")[:3]
    codes = TypedCode()
    async with broker_adapter(sandbox, tmp_path, codes) as adapter:
        results = await adapter.check_claims([query(c) for c in claims])
        assert len(adapter.sessions) == 1  # every sign-in is a message to a person: one session per such account
    for claim, result in zip(claims, results, strict=True):
        assert isinstance(result, ClaimStatusResult), result
        assert result.status is expected_status(claim)
    assert codes.asked == [("SUNRISE", OWNER, 5.0)]


async def test_no_code_in_time_fails_the_sign_in_cleanly_within_its_bound(
    sandbox: SandboxEndpoints, tmp_path: Path
) -> None:
    codes = NoAnswer()
    started = time.perf_counter()
    async with broker_adapter(sandbox, tmp_path, codes, timeout_s=0.5) as adapter:
        with pytest.raises(AuthenticationFailed) as raised:
            await adapter.check_claims([query(claims_of("SUNRISE")[0])])
        assert adapter.sessions == []
    assert time.perf_counter() - started < 20
    assert raised.value.reason is Reason.MFA_CODE_NOT_GIVEN and raised.value.field == "account.totp"
    assert raised.value.step == "login.steps.4.steps.0 (fill)" and codes.asked == 1
    assert "one-time code" in str(raised.value)


async def test_without_a_source_nothing_is_typed(sandbox: SandboxEndpoints, tmp_path: Path) -> None:
    async with broker_adapter(sandbox, tmp_path, None) as adapter:
        with pytest.raises(AuthenticationFailed) as raised:
            await adapter.check_claims([query(claims_of("SUNRISE")[0])])
        assert adapter.pool.browser is None  # refused before the browser started: no password typed
    assert raised.value.reason is Reason.MFA_CODE_NOT_GIVEN


def test_the_broker_setting_needs_its_owner() -> None:
    with pytest.raises(ValueError, match="mfa_owner"):
        PortalAccount.model_validate({"username": "u", "password": "p", "mfa": "broker"})
    with pytest.raises(ValueError, match="mfa_owner"):
        PortalAccount.model_validate({"username": "u", "password": "p", "mfa": "broker", "mfa_owner": "not an id"})
    assert broker_account().missing_for({"account.totp", "account.password"}) == []
    assert account("SUNRISE").model_copy(update={"totp_secret": None}).missing_for({"account.totp"}) == ["account.totp"]


def test_a_sweep_stops_the_payer_with_a_bot_failure_and_does_not_hold_it(
    swept: Ledger,  # noqa: F811
    sandbox: SandboxEndpoints,
    tmp_path: Path,
) -> None:
    rules = load_payer_config(REPO / "config" / "payers.yaml").rules()
    plan = plan_from_ledger(swept, rules, utc_now().date(), payer_id="SUNRISE", limit_per_payer=3)
    assert plan.due
    sweep_id = plan_to_sweep(swept, plan, {"SUNRISE": "portal"}, trigger="test")

    async def sweep() -> None:
        async with broker_adapter(sandbox, tmp_path, NoAnswer(), timeout_s=0.5) as adapter:
            adapters: dict[str, PayerAdapter | str] = {"SUNRISE": adapter}
            await run_sweep(swept, sweep_id, adapters, {"SUNRISE": FAST}, RetryPolicy(2, 0.0), no_sleep)

    asyncio.run(sweep())
    [failure] = [e for e in swept.events() if e.kind is EventKind.BOT_FAILURE and e.sweep_id == sweep_id]
    assert failure.payer_id == "SUNRISE" and failure.payload["reason"] == "mfa_code_not_given"
    assert swept.holds() == []  # the password was not refused: the next run asks again
    assert {item.state for item in swept.sweep_items(sweep_id)} == {SweepItemState.FAILED}
    patients = {c.patient.last_name for c in claims_of("SUNRISE")} | {c.patient.member_id for c in claims_of("SUNRISE")}
    said = " ".join(str(v) for v in failure.payload.values())
    assert not [p for p in patients if p and p in said]
