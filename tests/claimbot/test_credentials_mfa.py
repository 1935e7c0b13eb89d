"""`claimbot credentials set PAYER --mfa-owner U...`: an account whose one-time codes the Slack assistant's
MFA broker asks of its owner (`mfa: broker`), stored encrypted, shown by `list`, read back by the engine;
the environment's CLAIMBOT_PORTAL_<PAYER>_MFA_OWNER does the same."""

import json
from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from portal_adapters.credentials import CredentialStore, PortalAccount
from tests.claimbot.test_credentials_cli import TOTP, account_json, invoke, key  # noqa: F401


@pytest.mark.usefixtures("key")
def test_mfa_owner_is_stored_listed_and_read_back(runner: CliRunner, data_dir: Path) -> None:
    code, printed = invoke(
        runner,
        "credentials",
        "set",
        "sunrise",
        "--from-json",
        "-",
        "--mfa-owner",
        "U0OWNER1",
        stdin=account_json("billing1", "correct-horse-42"),
    )
    assert code == 0, printed
    [account] = CredentialStore(data_dir).accounts("SUNRISE")
    assert account.mfa == "broker" and account.mfa_owner == "U0OWNER1" and account.asks_for_code
    code, listed = invoke(runner, "credentials", "list", "--json")
    assert code == 0 and json.loads(listed)[0]["mfa_owner"] == "U0OWNER1"
    code, table = invoke(runner, "credentials", "list")
    assert "asked of U0OWNER1" in table and "correct-horse-42" not in table + printed


@pytest.mark.usefixtures("key")
def test_mfa_owner_is_refused_when_not_a_slack_id_or_beside_a_totp_secret(runner: CliRunner, data_dir: Path) -> None:
    code, printed = invoke(
        runner,
        "credentials",
        "set",
        "sunrise",
        "--from-json",
        "-",
        "--mfa-owner",
        "bob@example.com",
        stdin=account_json("billing1", "correct-horse-42"),
    )
    assert code != 0 and "Slack user id" in printed and "bob@example.com" not in printed
    code, printed = invoke(
        runner,
        "credentials",
        "set",
        "sunrise",
        "--from-json",
        "-",
        "--mfa-owner",
        "U0OWNER1",
        stdin=account_json("billing1", "correct-horse-42", totp_secret=TOTP),
    )
    assert code != 0 and "has a TOTP secret" in printed and TOTP not in printed
    assert not CredentialStore(data_dir).path.exists()


@pytest.mark.usefixtures("key")
def test_the_environment_names_the_owner(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAIMBOT_PORTAL_SUNRISE_USERNAME", "billing1")
    monkeypatch.setenv("CLAIMBOT_PORTAL_SUNRISE_PASSWORD", "correct-horse-42")
    monkeypatch.setenv("CLAIMBOT_PORTAL_SUNRISE_MFA_OWNER", "U0OWNER1")
    [account] = CredentialStore(data_dir).accounts("SUNRISE")
    assert account == PortalAccount(
        username="billing1", password=SecretStr("correct-horse-42"), mfa="broker", mfa_owner="U0OWNER1"
    )
