import json
import os
import stat
import time
from pathlib import Path

import pyotp
import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from claimbot.logs import configure_logging, get_logger
from claimbot.settings import LogFormat
from portal_adapters.browser import BrowserNotFound, find_chromium
from portal_adapters.credentials import CredentialsError, CredentialStore, PortalAccount
from portal_adapters.evidence import EvidenceStore


def test_environment_credentials_hide_their_values_and_mask_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = pyotp.random_base32()
    monkeypatch.setenv("CLAIMBOT_PORTAL_ACME_USERNAME", "billing1")
    monkeypatch.setenv("CLAIMBOT_PORTAL_ACME_PASSWORD", "correct-horse-42")
    monkeypatch.setenv("CLAIMBOT_PORTAL_ACME_TOTP_SECRET", secret)
    monkeypatch.setenv("CLAIMBOT_PORTAL_ACME_SECURITY_ANSWERS", json.dumps({"first pet": "Biscuit"}))
    [account] = CredentialStore(tmp_path).accounts("acme")
    assert "correct-horse-42" not in repr(account)
    assert account.totp_now() == pyotp.TOTP(secret).now()
    assert account.answer_for("What was the name of your FIRST PET?") == "Biscuit"
    assert account.answer_for("Which city were you born in?") is None
    configure_logging(LogFormat.JSON)
    get_logger("t").info("login failed", detail="tried correct-horse-42 for billing1")
    logged = capsys.readouterr().err
    assert "correct-horse-42" not in logged
    assert "billing1" in logged


def test_encrypted_file_round_trip_and_clear_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAIMBOT_CREDENTIALS_KEY", Fernet.generate_key().decode())
    store = CredentialStore(tmp_path)
    accounts = [
        PortalAccount(username="a1", password=SecretStr("p-one")),
        PortalAccount(username="a2", password=SecretStr("p-two")),
    ]
    store.save("SUNRISE", accounts)
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert b"p-one" not in store.path.read_bytes()
    assert [a.username for a in store.accounts("sunrise")] == ["a1", "a2"]
    with pytest.raises(CredentialsError, match="no credentials for payer KEYSTONE") as caught:
        store.accounts("KEYSTONE")
    assert "p-one" not in str(caught.value)
    monkeypatch.setenv("CLAIMBOT_CREDENTIALS_KEY", Fernet.generate_key().decode())
    with pytest.raises(CredentialsError, match="cannot decrypt"):
        store.accounts("SUNRISE")
    monkeypatch.delenv("CLAIMBOT_CREDENTIALS_KEY")
    monkeypatch.setattr("keyring.get_password", lambda *_: None)
    with pytest.raises(CredentialsError, match="set CLAIMBOT_CREDENTIALS_KEY"):
        store.accounts("SUNRISE")


def test_evidence_is_private_and_purged(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "evidence", retention_days=7)
    ref = store.new_ref("SUNRISE", "layout changed!")
    assert ref.startswith("sunrise-") and "layout-changed-" in ref
    files = store.write(ref, b"\x89PNG", "<html>Quillfeather</html>")
    assert stat.S_IMODE(os.stat(store.folder).st_mode) == 0o700
    assert files.screenshot is not None and stat.S_IMODE(os.stat(files.screenshot).st_mode) == 0o600
    old = time.time() - 8 * 86_400
    os.utime(files.screenshot, (old, old))
    assert store.purge() == 1
    assert files.html is not None and files.html.exists()


def test_the_credentials_file_is_never_readable_by_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAIMBOT_CREDENTIALS_KEY", Fernet.generate_key().decode())
    store = CredentialStore(tmp_path / "new-data")
    staged_modes: list[int] = []
    real_replace = os.replace

    def replace_watching(src: str | Path, dst: str | Path) -> None:
        staged_modes.append(stat.S_IMODE(os.stat(src).st_mode))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_watching)
    previous = os.umask(0o000)  # the worst case: everything the process creates is world-readable
    try:
        store.save("SUNRISE", [PortalAccount(username="a1", password=SecretStr("p-one"))])
        store.add("SUNRISE", PortalAccount(username="a2", password=SecretStr("p-two")))
        store.add("SUNRISE", PortalAccount(username="a1", password=SecretStr("p-new")))
        store.save("KEYSTONE", [PortalAccount(username="k1", password=SecretStr("p-k"))])
    finally:
        os.umask(previous)
    assert staged_modes == [0o600] * 4
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(store.path.parent).st_mode) == 0o700
    assert sorted(p.name for p in store.path.parent.iterdir()) == [".credentials.fernet.lock", "credentials.fernet"]
    assert [(a.username, a.password.get_secret_value()) for a in store.accounts("sunrise")] == [
        ("a2", "p-two"),
        ("a1", "p-new"),
    ]
    assert store.remove("SUNRISE", "a2") == 1
    assert store.remove("SUNRISE", "nobody") == 0
    assert store.remove("KEYSTONE") == 1
    assert list(store.stored()) == ["SUNRISE"]


def test_a_missing_or_malformed_key_says_how_to_make_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLAIMBOT_CREDENTIALS_KEY", raising=False)
    monkeypatch.setattr("keyring.get_password", lambda *_: None)
    store = CredentialStore(tmp_path)
    with pytest.raises(CredentialsError, match="claimbot credentials key"):
        store.check_key()
    monkeypatch.setenv("CLAIMBOT_CREDENTIALS_KEY", "not-a-fernet-key")
    with pytest.raises(CredentialsError, match=r"not a Fernet key.*claimbot credentials key"):
        store.save("SUNRISE", [PortalAccount(username="a1", password=SecretStr("p-one"))])
    assert not store.path.exists()


def test_opening_an_evidence_store_purges_old_files(tmp_path: Path) -> None:
    folder = tmp_path / "evidence"
    first = EvidenceStore(folder, retention_days=7)
    assert first.purged_on_open == 0
    assert not folder.exists()  # opening creates nothing; writing does
    files = first.write(first.new_ref("KEYSTONE", "layout"), b"\x89PNG", "<html></html>")
    trace = first.trace_path("keystone-old")
    trace.write_bytes(b"PK")
    old = time.time() - 8 * 86_400
    for path in (files.screenshot, trace):
        assert path is not None
        os.utime(path, (old, old))
    reopened = EvidenceStore(folder, retention_days=7)  # as every command that opens the store does
    assert reopened.purged_on_open == 2
    assert sorted(p.name for p in folder.iterdir()) == [files.html.name if files.html else ""]
    assert EvidenceStore(folder, retention_days=7, purge_on_open=False).purge() == 0


def test_browser_discovery(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "chrome"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert find_chromium(str(fake)) == str(fake)
    with pytest.raises(BrowserNotFound, match="apt-get install chromium-headless-shell"):
        find_chromium(str(tmp_path / "absent"))
    monkeypatch.setenv("CLAIMBOT_CHROMIUM", str(fake))
    assert find_chromium() == str(fake)
