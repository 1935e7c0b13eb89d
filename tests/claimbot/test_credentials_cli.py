"""`claimbot credentials ...` and `claimbot evidence purge`: secrets go in, never come out."""

import json
import os
import stat
import time
from pathlib import Path

import pyotp
import pytest
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from claimbot.cli import app
from portal_adapters.credentials import CredentialStore

TOTP = pyotp.random_base32()
SECRETS = ("correct-horse-42", "battery-staple-7", TOTP, "Biscuit", "Springfield")


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    value = Fernet.generate_key().decode()
    monkeypatch.setenv("CLAIMBOT_CREDENTIALS_KEY", value)
    monkeypatch.setattr("keyring.get_password", lambda *_: None)
    for name in list(os.environ):
        if name.startswith("CLAIMBOT_PORTAL_"):
            monkeypatch.delenv(name)
    return value


def invoke(runner: CliRunner, *args: str, stdin: str | None = None) -> tuple[int, str]:
    """Exit code and everything the command wrote (stdout, stderr and logs), for secret scans."""
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout + result.stderr


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def account_json(username: str, password: str, **extra: object) -> str:
    return json.dumps({"username": username, "password": password, **extra})


@pytest.mark.usefixtures("key")
def test_set_from_stdin_round_trips_and_stays_private(runner: CliRunner, data_dir: Path) -> None:
    code, printed = invoke(
        runner,
        "credentials",
        "set",
        "sunrise",
        "--from-json",
        "-",
        stdin=account_json(
            "billing1",
            "correct-horse-42",
            totp_secret=" ".join(TOTP[i : i + 4] for i in range(0, len(TOTP), 4)).lower(),
            security_answers={"first pet": "Biscuit"},
        ),
    )
    assert code == 0, printed
    assert "SUNRISE: saved billing1" in printed
    assert_no_secret(printed)
    store = CredentialStore(data_dir)
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert b"correct-horse-42" not in store.path.read_bytes()
    [account] = store.accounts("SUNRISE")
    assert account.password.get_secret_value() == "correct-horse-42"
    assert account.totp_now() == pyotp.TOTP(TOTP).now()
    assert account.answer_for("What was your first pet's name?") == "Biscuit"

    second = account_json("b2", "battery-staple-7")
    code, printed = invoke(runner, "credentials", "set", "SUNRISE", "--add", "--from-json", "-", stdin=second)
    assert code == 0 and "(2 account(s) in all)" in printed
    assert [a.username for a in store.accounts("SUNRISE")] == ["billing1", "b2"]
    code, printed = invoke(runner, "credentials", "set", "SUNRISE", "--from-json", "-", stdin=account_json("b3", "x"))
    assert code == 0
    assert [a.username for a in store.accounts("SUNRISE")] == ["b3"]  # without --add: replaced

    code, printed = invoke(runner, "credentials", "list", "--json")
    assert code == 0
    assert json.loads(printed) == [
        {
            "payer": "SUNRISE",
            "username": "b3",
            "source": "file",
            "totp": False,
            "security_answers": 0,
            "mfa_owner": None,
        }
    ]
    assert invoke(runner, "credentials", "remove", "SUNRISE")[0] == 0
    assert store.stored() == {}
    code, printed = invoke(runner, "credentials", "remove", "SUNRISE")
    assert code == 4 and "no stored account of payer SUNRISE" in printed


@pytest.mark.usefixtures("key")
def test_prompts_hide_every_secret(runner: CliRunner, data_dir: Path) -> None:
    typed = "\n".join(
        [
            "billing1",
            "correct-horse-42",
            "correct-horse-42",  # confirmation
            TOTP,
            "first pet",
            "Biscuit",
            "city born",
            "Springfield",
            "",  # no more questions
        ]
    )
    code, printed = invoke(runner, "credentials", "set", "KEYSTONE", stdin=typed + "\n")
    assert code == 0, printed
    assert_no_secret(printed)
    assert "billing1" in printed and "first pet" in printed
    [account] = CredentialStore(data_dir).accounts("KEYSTONE")
    assert account.answer_for("In which city were you born?") == "Springfield"
    assert account.totp_secret is not None
    code, printed = invoke(runner, "credentials", "list")
    assert code == 0
    assert "billing1" in printed and "KEYSTONE" in printed
    assert_no_secret(printed)


@pytest.mark.usefixtures("key")
def test_bad_input_is_refused_without_echoing_it(runner: CliRunner, data_dir: Path) -> None:
    cases = [
        ("not json at all correct-horse-42", "not JSON"),
        (json.dumps({"username": "b1"}), "password"),
        (account_json("b1", "correct-horse-42", totp_secret="not base32 !!"), "not base32"),
        (account_json("b1", "correct-horse-42", pin="Biscuit"), "pin: Extra inputs are not permitted"),
        (json.dumps([json.loads(account_json("b1", "p")), json.loads(account_json("b1", "q"))]), "twice"),
    ]
    for stdin, expected in cases:
        code, printed = invoke(runner, "credentials", "set", "SUNRISE", "--from-json", "-", stdin=stdin)
        assert code == 3, printed
        assert expected in printed
        assert_no_secret(printed)
    assert not (data_dir / "credentials.fernet").exists()


def test_a_wrong_or_missing_key_is_a_clear_error(
    runner: CliRunner, data_dir: Path, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin = account_json("b1", "correct-horse-42")
    assert invoke(runner, "credentials", "set", "SUNRISE", "--from-json", "-", stdin=stdin)[0] == 0
    monkeypatch.setenv("CLAIMBOT_CREDENTIALS_KEY", Fernet.generate_key().decode())
    for args in (["list"], ["set", "SUNRISE", "--from-json", "-"], ["remove", "SUNRISE"]):
        code, printed = invoke(runner, "credentials", *args, stdin=stdin)
        assert code == 5
        assert "cannot decrypt with the configured key" in printed
        assert_no_secret(printed)
    monkeypatch.delenv("CLAIMBOT_CREDENTIALS_KEY")
    code, printed = invoke(runner, "credentials", "set", "SUNRISE", "--from-json", "-", stdin=stdin)
    assert code == 5
    assert "set CLAIMBOT_CREDENTIALS_KEY" in printed and "claimbot credentials key" in printed
    monkeypatch.setenv("CLAIMBOT_CREDENTIALS_KEY", key)
    assert [a.username for a in CredentialStore(data_dir).accounts("SUNRISE")] == ["b1"]  # untouched


def test_key_prints_a_usable_key_alone(runner: CliRunner, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = runner.invoke(app, ["credentials", "key"])
    assert result.exit_code == 0
    new_key = result.stdout.strip()
    Fernet(new_key.encode())  # a valid key, and nothing else on stdout
    assert "CLAIMBOT_CREDENTIALS_KEY" in result.stderr
    monkeypatch.setenv("CLAIMBOT_CREDENTIALS_KEY", new_key)
    monkeypatch.delenv("CLAIMBOT_PORTAL_SUNRISE_USERNAME", raising=False)
    code, _ = invoke(runner, "credentials", "set", "SUNRISE", "--from-json", "-", stdin=account_json("b1", "p"))
    assert code == 0


def test_evidence_purge_command(
    runner: CliRunner, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = data_dir / "evidence"
    folder.mkdir(parents=True)
    old, new = folder / "sunrise-old.png", folder / "sunrise-new.png"
    for path in (old, new):
        path.write_bytes(b"\x89PNG")
    long_ago = time.time() - 4 * 86_400
    os.utime(old, (long_ago, long_ago))
    code, printed = invoke(runner, "evidence", "purge")
    assert code == 0
    assert "0 evidence file(s) older than 30 days" in printed
    monkeypatch.setenv("CLAIMBOT_EVIDENCE_RETENTION_DAYS", "3")
    code, printed = invoke(runner, "evidence", "purge", "--json")
    assert code == 0
    assert json.loads(printed) == {"folder": str(folder), "retention_days": 3, "removed": 1}
    assert [p.name for p in folder.iterdir()] == ["sunrise-new.png"]
