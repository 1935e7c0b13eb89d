"""The engine's parts alone, without a browser: error translation, the browser's environment, the
credentials check before any sign-in, the portal address, address rendering, and what check_claims
does with an error it did not expect."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright._impl._errors import TargetClosedError
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout
from pydantic import BaseModel, SecretStr, ValidationError

from claims.models import Patient
from claims.status import ClaimStatus
from portal_adapters.browser import browser_env
from portal_adapters.contract import ClaimCheckFailed, ClaimQuery, ClaimStatusResult, Route
from portal_adapters.credentials import PortalAccount
from portal_adapters.engine import PlaybookPortalAdapter, PortalSession, account_needs, portal_base_url, template_values
from portal_adapters.engine.browser_errors import Translation, playwright_errors, translate
from portal_adapters.errors import (
    AuthenticationFailed,
    BadClaimData,
    ErrorKind,
    LayoutChanged,
    PlaybookBroken,
    PortalUnavailable,
    Reason,
)
from portal_adapters.evidence import EvidenceStore
from portal_adapters.parsing import ClaimReading
from portal_adapters.playbook import load_playbook
from portal_adapters.playbook.schema import Playbook
from portal_adapters.templates import UnsafeTemplateValue, render_url

REPO = Path(__file__).resolve().parents[2]
MEMBER = "SUN123456789"
PATIENT = Patient(last_name="Quixote", first_name="Alonso", date_of_birth=date(1961, 3, 4), member_id=MEMBER)


def playbook(payer: str) -> Playbook:
    return load_playbook(REPO / "playbooks" / payer.lower() / "playbook.yaml")


def account(**changes: Any) -> PortalAccount:
    fields: dict[str, Any] = {
        "username": "biller",
        "password": SecretStr("pw-123"),
        "totp_secret": SecretStr("JBSWY3DPEHPK3PXP"),
        "security_answers": {"pet": SecretStr("Rocinante")},
    }
    return PortalAccount(**(fields | changes))


def claim_query(claim_id: str = "C-1") -> ClaimQuery:
    return ClaimQuery(
        claim_id=claim_id,
        payer_id="SUNRISE",
        patient=PATIENT,
        service_date_from=date(2026, 9, 1),
        service_date_to=date(2026, 9, 1),
        billed_amount=Decimal("120.00"),
        rendering_npi="1234567893",
    )


def adapter(tmp_path: Path, payer: str = "SUNRISE", **changes: Any) -> PlaybookPortalAdapter:
    return PlaybookPortalAdapter(playbook(payer), [account(**changes)], EvidenceStore(tmp_path), base_url=None)


# --- translating Playwright's errors -------------------------------------------------------------
LEAKY = f"page.goto: net::ERR_CONNECTION_REFUSED at https://portal.example/eligibility?member_id={MEMBER}"


@pytest.mark.parametrize(
    ("error", "during", "kind", "reason"),
    [
        (
            PlaywrightTimeout(f"Timeout 5000ms exceeded. {LEAKY}"),
            Translation.STEP,
            PortalUnavailable,
            Reason.STEP_TIMEOUT,
        ),
        (PlaywrightTimeout(LEAKY), Translation.NAVIGATION, PortalUnavailable, Reason.PORTAL_TIMEOUT),
        (PlaywrightTimeout(LEAKY), Translation.REQUEST, PortalUnavailable, Reason.DATA_SERVICE_TIMEOUT),
        (PlaywrightError(LEAKY), Translation.NAVIGATION, PortalUnavailable, Reason.PORTAL_UNREACHABLE),
        (PlaywrightError(LEAKY), Translation.REQUEST, PortalUnavailable, Reason.DATA_SERVICE_FAILED),
        (TargetClosedError(), Translation.STEP, PortalUnavailable, Reason.PAGE_LOST),
        (
            PlaywrightError("Target page, context or browser has been closed"),
            Translation.STEP,
            PortalUnavailable,
            Reason.PAGE_LOST,
        ),
        (
            PlaywrightError(
                'Locator.fill: Unexpected token "[" while parsing css selector "#[". Did you mean to CSS.escape it?'
            ),
            Translation.STEP,
            PlaybookBroken,
            Reason.INVALID_SELECTOR,
        ),
        (
            PlaywrightError('Unknown engine "txt" while parsing selector txt=Go'),
            Translation.STEP,
            PlaybookBroken,
            Reason.INVALID_SELECTOR,
        ),
        (
            PlaywrightError("Executable doesn't exist at /nowhere"),
            Translation.LAUNCH,
            PortalUnavailable,
            Reason.BROWSER_DID_NOT_START,
        ),
    ],
)
def test_playwright_errors_become_the_taxonomy_without_their_text(
    error: PlaywrightError, during: Translation, kind: type[Exception], reason: Reason
) -> None:
    translated = translate(error, "SUNRISE", "claim_status.searches.0.steps.2 (fill)", during)
    assert type(translated) is kind
    assert translated.reason is reason
    for leaked in (MEMBER, "portal.example", "ERR_CONNECTION", "#["):
        assert leaked not in str(translated)
    if reason is not Reason.BROWSER_DID_NOT_START:
        assert translated.step == "claim_status.searches.0.steps.2 (fill)"
    assert not (isinstance(translated, PlaybookBroken) and translated.retryable)  # a bad selector is never retried


def test_the_translation_point_keeps_the_cause_for_a_debugger_only() -> None:
    with pytest.raises(PortalUnavailable) as caught, playwright_errors("SUNRISE", "login.steps.1 (fill)"):
        raise PlaywrightTimeout(LEAKY)
    assert caught.value.reason is Reason.STEP_TIMEOUT
    assert isinstance(caught.value.__cause__, PlaywrightTimeout)
    assert MEMBER not in str(caught.value) and MEMBER not in caught.value.message


# --- the browser's environment -------------------------------------------------------------------
def test_the_browser_gets_no_secrets_in_its_environment() -> None:
    environ = {
        "PATH": "/usr/bin",
        "HOME": "/home/bot",
        "LANG": "C.UTF-8",
        "CLAIMBOT_DATA_DIR": "/data",
        "CLAIMBOT_CHROMIUM": "/usr/lib/chromium/chromium-headless-shell",
        "CLAIMBOT_PORTAL_SUNRISE_PASSWORD": "x",
        "CLAIMBOT_PORTAL_SUNRISE_USERNAME": "x",
        "CLAIMBOT_PORTAL_SUNRISE_URL": "x",
        "CLAIMBOT_CLEARINGHOUSE_API_KEY": "x",
        "CLAIMBOT_CLEARINGHOUSE_URL": "x",
        "CLAIMBOT_CREDENTIALS_KEY": "x",
        "SLACK_BOT_TOKEN": "x",
        "SLACK_CHANNEL": "x",
        "PGPASSWORD": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "GITHUB_TOKEN": "x",
        "OPENAI_API_KEY": "x",
        "db_password": "x",
    }
    assert browser_env(environ) == {
        "PATH": "/usr/bin",
        "HOME": "/home/bot",
        "LANG": "C.UTF-8",
        "CLAIMBOT_DATA_DIR": "/data",
        "CLAIMBOT_CHROMIUM": "/usr/lib/chromium/chromium-headless-shell",
    }


# --- credentials before any sign-in --------------------------------------------------------------
@pytest.mark.parametrize(
    ("payer", "changes", "field"),
    [
        ("SUNRISE", {"password": SecretStr("")}, "account.password"),
        ("SUNRISE", {"totp_secret": None}, "account.totp"),
        ("MERIDIAN", {"totp_secret": None}, "account.totp"),
        ("KEYSTONE", {"security_answers": {}}, "account.security_answers"),
        ("KEYSTONE", {"password": SecretStr("")}, "account.password"),
    ],
)
async def test_incomplete_credentials_stop_before_the_browser_starts(
    tmp_path: Path, payer: str, changes: dict[str, Any], field: str
) -> None:
    portal = adapter(tmp_path, payer, **changes)
    with pytest.raises(AuthenticationFailed) as caught:
        await portal.open()
    assert (caught.value.reason, caught.value.field) == (Reason.CREDENTIALS_INCOMPLETE, field)
    assert caught.value.stops_payer
    assert portal.pool.browser is None and not portal.sessions  # nothing launched, nothing typed


def test_the_engine_knows_what_each_sign_in_needs() -> None:
    assert account_needs(playbook("SUNRISE")) == {"account.username", "account.password", "account.totp"}
    assert account_needs(playbook("KEYSTONE")) == {"account.username", "account.password", "account.security_answers"}


def test_an_account_without_totp_never_renders_an_empty_code() -> None:
    values = template_values(None, account(totp_secret=None, password=SecretStr("")))
    with pytest.raises(KeyError):
        render_url("/login?code={account.totp}", values)
    with pytest.raises(KeyError):
        render_url("/x?p={account.password}", values)


# --- the portal address --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    [
        "javascript:alert(1)",
        "file:///etc/passwd",
        "https://biller:hunter2@portal.example",
        "https://portal.example/../admin",
        "https://portal.example/a//b",
        "https://portal.example/?next=https://elsewhere.example",
        "https://portal.example#frag",
        "https://",
        "portal.example",
        "https://portal.example\\@evil.example",
        "https://portal.example:99999",
    ],
)
def test_a_bad_portal_address_in_the_environment_is_a_config_error_without_its_value(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("CLAIMBOT_PORTAL_SUNRISE_URL", value)
    with pytest.raises(PlaybookBroken) as caught:
        portal_base_url(playbook("SUNRISE"))
    assert caught.value.reason is Reason.PORTAL_URL_INVALID
    assert "CLAIMBOT_PORTAL_<PAYER>_URL" in caught.value.message
    assert value not in str(caught.value)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize("value", ["http://127.0.0.1:8123", "https://portal.example/providers/", "http://localhost"])
def test_a_plain_portal_address_is_used(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CLAIMBOT_PORTAL_SUNRISE_URL", value)
    assert portal_base_url(playbook("SUNRISE")) == value.rstrip("/")


def test_addresses_only_go_to_the_allowed_origins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAIMBOT_PORTAL_SUNRISE_URL", "http://127.0.0.1:8123")
    steps = adapter(tmp_path).steps
    assert steps.resolve("/claims?q=C%201", "x") == "http://127.0.0.1:8123/claims?q=C%201"
    assert steps.resolve("https://provider.sunrisehealthplan.example/x", "x")  # the playbook's own origin
    for elsewhere in (
        "//evil.example/x",
        "https://evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "data:,x",
    ):
        with pytest.raises(PlaybookBroken) as caught:
            steps.resolve(elsewhere, "claim_status.searches.0.steps.0 (goto)")
        assert (caught.value.reason, caught.value.step) == (Reason.OFF_ORIGIN, "claim_status.searches.0.steps.0 (goto)")


def test_values_in_addresses_are_url_encoded_and_cannot_reshape_them() -> None:
    values = {"claim.claim_id": "C 1/../admin?x=1&y#z", "json.items.0.key": "..", "patient.member_id": "A&B=C"}
    assert render_url("/claims/{claim.claim_id}", values) == "/claims/C%201%2F..%2Fadmin%3Fx%3D1%26y%23z"
    assert render_url("/e?member={patient.member_id}", values) == "/e?member=A%26B%3DC"
    with pytest.raises(UnsafeTemplateValue):
        render_url("/api/claims/{json.items.0.key}", values)


# --- what check_claims lets out -------------------------------------------------------------------
class _Strict(BaseModel):
    n: int


def _validation_error() -> ValidationError:
    try:
        _Strict.model_validate({"n": f"not a number {MEMBER}"})
    except ValidationError as err:
        return err
    raise AssertionError


async def test_unexpected_errors_cost_one_claim_and_never_leak(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    portal = adapter(tmp_path)
    portal.pool.sessions.append(object())  # type: ignore[arg-type]  # a session is "open": no browser needed

    async def no_growth(wanted: int) -> None:
        return None

    async def look_up(query: ClaimQuery, work: Any) -> Any:
        if query.claim_id == "C-BUG":
            raise RuntimeError(f"bug while reading {MEMBER}")
        if query.claim_id == "C-INVALID":
            raise _validation_error()
        if query.claim_id == "C-DATA":
            raise BadClaimData("SUNRISE", Reason.MISSING_VALUE, field="claim.payer_claim_number")
        return ClaimStatusResult(
            claim_id=query.claim_id, payer_id="SUNRISE", route=Route.PORTAL, elapsed_ms=1, status="paid"
        )

    monkeypatch.setattr(portal.pool, "grow", no_growth)
    monkeypatch.setattr(portal, "_with_session", look_up)
    outcomes = await portal.check_claims([claim_query(c) for c in ("C-OK", "C-BUG", "C-INVALID", "C-DATA")])
    ok, bug, invalid, data = outcomes
    assert isinstance(ok, ClaimStatusResult)
    for failed in (bug, invalid):
        assert isinstance(failed, ClaimCheckFailed)
        assert (failed.kind, failed.reason) == (ErrorKind.PORTAL_UNAVAILABLE, Reason.ENGINE_FAILED)
        assert MEMBER not in failed.message
    assert isinstance(data, ClaimCheckFailed)
    assert (data.kind, data.reason) == (ErrorKind.BAD_CLAIM_DATA, Reason.MISSING_VALUE)
    assert "claim.payer_claim_number" in data.message


async def test_an_error_that_stops_the_payer_comes_out_alone_not_in_a_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    portal = adapter(tmp_path)
    portal.pool.sessions.append(object())  # type: ignore[arg-type]

    async def no_growth(wanted: int) -> None:
        return None

    async def look_up(query: ClaimQuery, work: Any) -> Any:
        if query.claim_id == "C-2":
            raise LayoutChanged("SUNRISE", Reason.ELEMENT_MISSING, step="claim_status.searches.0.steps.4 (wait_for)")
        raise RuntimeError("another bug")

    monkeypatch.setattr(portal.pool, "grow", no_growth)
    monkeypatch.setattr(portal, "_with_session", look_up)
    with pytest.raises(LayoutChanged) as caught:
        await portal.check_claims([claim_query(c) for c in ("C-1", "C-2", "C-3")])
    assert caught.value.claim_id == "C-2"
    assert caught.value.step == "claim_status.searches.0.steps.4 (wait_for)"


async def test_payer_words_come_back_without_the_patients_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    portal = adapter(tmp_path)

    async def no_steps(*args: Any) -> None:
        return None

    async def reading(*args: Any) -> ClaimReading:
        return ClaimReading(
            status=ClaimStatus.DENIED, status_text=f"Denied: member {MEMBER} (QUIXOTE, Alonso) not covered"
        )

    monkeypatch.setattr(portal.steps, "run", no_steps)
    monkeypatch.setattr(portal, "_read", reading)
    session = PortalSession(account=account(), context=None, page=None)  # type: ignore[arg-type]
    result = await portal._check_claim_once(session, claim_query())
    assert isinstance(result, ClaimStatusResult)
    assert result.payer_status_text is not None and result.payer_status_text.startswith("Denied: member ")
    for value in (MEMBER, "QUIXOTE", "Alonso"):
        assert value not in result.payer_status_text
