import json
import os
import stat
import time
from pathlib import Path

import pyotp
import pytest
from cryptography.fernet import Fernet

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
    accounts = [PortalAccount(username="a1", password="p-one"), PortalAccount(username="a2", password="p-two")]  # type: ignore[arg-type]
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


def test_browser_discovery(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "chrome"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert find_chromium(str(fake)) == str(fake)
    with pytest.raises(BrowserNotFound, match="apt-get install chromium-headless-shell"):
        find_chromium(str(tmp_path / "absent"))
    monkeypatch.setenv("CLAIMBOT_CHROMIUM", str(fake))
    assert find_chromium() == str(fake)
