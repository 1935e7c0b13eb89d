"""Portal and clearinghouse credentials: from the environment or an encrypted file, never from config.

Environment (one account per payer): CLAIMBOT_PORTAL_<PAYER>_USERNAME, _PASSWORD, _TOTP_SECRET,
_SECURITY_ANSWERS (JSON: {"question words": "answer"}).
Encrypted file (several accounts per payer): <data dir>/credentials.fernet, a Fernet token over
JSON {"PAYER": [{"username": ..., "password": ..., ...}]}; the key comes from
CLAIMBOT_CREDENTIALS_KEY or the OS keyring (service "claimbot", name "credentials-key").
Loaded secrets are registered with the log redactor and are hidden from every repr.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import keyring
import keyring.errors
import pyotp
from cryptography.fernet import Fernet, InvalidToken
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from claims.phi import register_secret

CREDENTIALS_FILE = "credentials.fernet"
KEY_ENV = "CLAIMBOT_CREDENTIALS_KEY"


class CredentialsError(RuntimeError):
    """Credentials are missing or unreadable. Messages name the payer and the source, never a value."""


class PortalAccount(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    username: str = Field(min_length=1)
    password: SecretStr
    totp_secret: SecretStr | None = None
    security_answers: dict[str, SecretStr] = Field(default_factory=dict)

    def totp_now(self) -> str:
        if self.totp_secret is None:
            raise CredentialsError(f"account {self.username} has no TOTP secret configured")
        return pyotp.TOTP(self.totp_secret.get_secret_value()).now()

    def answer_for(self, question: str) -> str | None:
        """The stored answer whose key words all appear in the portal's question (case-insensitive)."""
        asked = question.lower()
        for words, answer in self.security_answers.items():
            if all(word in asked for word in words.lower().split()):
                return answer.get_secret_value()
        return None

    def register_with_redactor(self) -> None:
        register_secret(self.password.get_secret_value())
        if self.totp_secret:
            register_secret(self.totp_secret.get_secret_value())
        for answer in self.security_answers.values():
            register_secret(answer.get_secret_value())


def _key() -> bytes:
    key = os.environ.get(KEY_ENV)
    if not key:
        try:
            key = keyring.get_password("claimbot", "credentials-key")
        except keyring.errors.KeyringError:
            key = None
    if not key:
        raise CredentialsError(f"the credentials file is encrypted: set {KEY_ENV} or store the key in the OS keyring")
    return key.encode()


class CredentialStore:
    """Accounts per payer. Environment variables win over the encrypted file."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / CREDENTIALS_FILE

    def _from_env(self, payer_id: str) -> PortalAccount | None:
        prefix = f"CLAIMBOT_PORTAL_{payer_id.upper()}_"
        username = os.environ.get(prefix + "USERNAME")
        if not username:
            return None
        answers_text = os.environ.get(prefix + "SECURITY_ANSWERS", "{}")
        try:
            answers = json.loads(answers_text)
            return PortalAccount(
                username=username,
                password=SecretStr(os.environ.get(prefix + "PASSWORD", "")),
                totp_secret=SecretStr(os.environ[prefix + "TOTP_SECRET"])
                if os.environ.get(prefix + "TOTP_SECRET")
                else None,
                security_answers={k: SecretStr(v) for k, v in answers.items()},
            )
        except (json.JSONDecodeError, AttributeError, ValidationError) as err:
            raise CredentialsError(f"{prefix}*: the environment credentials for {payer_id} are malformed") from err

    def _from_file(self) -> dict[str, list[PortalAccount]]:
        if not self.path.exists():
            return {}
        try:
            plain = Fernet(_key()).decrypt(self.path.read_bytes())
            raw = json.loads(plain)
            return {
                payer.upper(): [PortalAccount.model_validate(a) for a in accounts] for payer, accounts in raw.items()
            }
        except InvalidToken as err:
            raise CredentialsError(f"{self.path}: cannot decrypt with the configured key") from err
        except (json.JSONDecodeError, AttributeError, ValidationError) as err:
            raise CredentialsError(f"{self.path}: decrypted, but not a payer -> accounts mapping") from err

    def accounts(self, payer_id: str) -> list[PortalAccount]:
        env_account = self._from_env(payer_id)
        found = [env_account] if env_account else self._from_file().get(payer_id.upper(), [])
        if not found:
            raise CredentialsError(
                f"no credentials for payer {payer_id}: set CLAIMBOT_PORTAL_{payer_id.upper()}_USERNAME and "
                f"_PASSWORD, or add them with `claimbot credentials set {payer_id}`"
            )
        for account in found:
            account.register_with_redactor()
        return found

    def save(self, payer_id: str, accounts: list[PortalAccount]) -> None:
        """Replace a payer's accounts in the encrypted file (written whole, then renamed, mode 600)."""
        everything = self._from_file()
        everything[payer_id.upper()] = accounts
        plain = json.dumps(
            {
                payer: [
                    {
                        "username": a.username,
                        "password": a.password.get_secret_value(),
                        "totp_secret": a.totp_secret.get_secret_value() if a.totp_secret else None,
                        "security_answers": {k: v.get_secret_value() for k, v in a.security_answers.items()},
                    }
                    for a in payer_accounts
                ]
                for payer, payer_accounts in everything.items()
            }
        ).encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        staged = self.path.with_suffix(".tmp")
        staged.write_bytes(Fernet(_key()).encrypt(plain))
        staged.chmod(0o600)
        staged.replace(self.path)
