"""Portal and clearinghouse credentials: from the environment or an encrypted file, never from config.

Environment (one account per payer): CLAIMBOT_PORTAL_<PAYER>_USERNAME, _PASSWORD, _TOTP_SECRET,
_SECURITY_ANSWERS (JSON: {"question words": "answer"}), _MFA_OWNER (a Slack user id: see below).
Encrypted file (several accounts per payer): <data dir>/credentials.fernet, a Fernet token over
JSON {"PAYER": [{"username": ..., "password": ..., ...}]}; the key comes from
CLAIMBOT_CREDENTIALS_KEY or the OS keyring (service "claimbot", name "credentials-key").
Loaded secrets are registered with the log redactor and are hidden from every repr.
`claimbot credentials set|list|remove|key` manages the file; it is rewritten whole and atomically,
owner-only (0600) from the moment it exists.

One-time codes: an account with a TOTP secret makes its own. One whose portal sends a code the bot
cannot make (SMS, e-mail, an authenticator whose secret the team does not hold) has `mfa: broker`
and `mfa_owner` (the Slack user id of the credential's owner): the sign-in awaits a
`OneTimeCodeSource` (the Slack assistant's MFA broker asks the owner), bounded in time.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from claims.phi import register_secret

if TYPE_CHECKING:  # cryptography, keyring and pyotp load when a secret is used, not on start-up
    from cryptography.fernet import Fernet

CREDENTIALS_FILE = "credentials.fernet"
KEY_ENV = "CLAIMBOT_CREDENTIALS_KEY"
KEYRING_SERVICE = "claimbot"
KEYRING_NAME = "credentials-key"
#: A Slack user id (U... or W...): who is asked for a portal's one-time code.
SLACK_USER_ID = r"^[UW][A-Z0-9]{2,}$"


class CredentialsError(RuntimeError):
    """Credentials are missing or unreadable. Messages name the payer and the source, never a value."""


class PortalAccount(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    username: str = Field(min_length=1)
    password: SecretStr
    totp_secret: SecretStr | None = None
    security_answers: dict[str, SecretStr] = Field(default_factory=dict)
    #: Where the sign-in's one-time code comes from: made from `totp_secret`, or asked of `mfa_owner`
    #: through a OneTimeCodeSource (the Slack assistant's MFA broker) when there is no secret.
    mfa: Literal["totp", "broker"] = "totp"
    mfa_owner: str | None = Field(default=None, pattern=SLACK_USER_ID)

    @model_validator(mode="after")
    def _broker_has_an_owner(self) -> PortalAccount:
        if self.mfa == "broker" and self.mfa_owner is None:
            raise ValueError("mfa broker needs mfa_owner: the Slack user id asked for the one-time code")
        return self

    @property
    def asks_for_code(self) -> bool:
        """The one-time code is asked of the owner (no TOTP secret, `mfa: broker`)."""
        return self.mfa == "broker" and not (self.totp_secret and self.totp_secret.get_secret_value())

    def totp_now(self) -> str:
        if self.totp_secret is None:
            raise CredentialsError(f"account {self.username} has no TOTP secret configured")
        import pyotp

        return pyotp.TOTP(self.totp_secret.get_secret_value()).now()

    def missing_for(self, needs: Iterable[str]) -> list[str]:
        """Which of a sign-in's needs this account cannot supply, sorted (names, never values).

        Needs are template names (`account.password`, `account.totp`) and `account.security_answers`.
        """
        has = {
            "account.username": bool(self.username),
            "account.password": bool(self.password.get_secret_value()),
            "account.totp": bool(self.totp_secret and self.totp_secret.get_secret_value()) or self.asks_for_code,
            "account.security_answers": bool(self.security_answers),
        }
        return sorted(need for need in set(needs) if not has.get(need, False))

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


class OneTimeCodeSource(Protocol):
    """Where a sign-in gets a one-time code the bot cannot make (an account with `mfa: broker`).

    `code_for` waits at most `timeout_s` and returns None when no code came: the sign-in then fails
    as AuthenticationFailed(mfa_code_not_given). It must never raise for "no answer"."""

    async def code_for(self, payer_id: str, account: PortalAccount, timeout_s: float) -> str | None: ...


def _key() -> bytes:
    import keyring
    import keyring.errors

    key = os.environ.get(KEY_ENV)
    if not key:
        try:
            key = keyring.get_password(KEYRING_SERVICE, KEYRING_NAME)
        except keyring.errors.KeyringError:
            key = None
    if not key:
        raise CredentialsError(
            f"the credentials file is encrypted: set {KEY_ENV} or store the key in the OS keyring "
            f'(service "{KEYRING_SERVICE}", name "{KEYRING_NAME}"); make a new key with `claimbot credentials key`'
        )
    return key.encode()


def _fernet() -> Fernet:
    from cryptography.fernet import Fernet

    try:
        return Fernet(_key())
    except ValueError as err:  # not 32 url-safe base64 bytes
        raise CredentialsError(
            f"the credentials key ({KEY_ENV} or the OS keyring) is not a Fernet key: "
            "make one with `claimbot credentials key`"
        ) from err


def new_key() -> str:
    """A fresh Fernet key, for `claimbot credentials key`."""
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


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
                **(
                    {"mfa": "broker", "mfa_owner": os.environ[prefix + "MFA_OWNER"]}
                    if os.environ.get(prefix + "MFA_OWNER")
                    else {}
                ),
            )
        except (json.JSONDecodeError, AttributeError, ValidationError) as err:
            raise CredentialsError(f"{prefix}*: the environment credentials for {payer_id} are malformed") from err

    def _from_file(self) -> dict[str, list[PortalAccount]]:
        from cryptography.fernet import InvalidToken

        if not self.path.exists():
            return {}
        try:
            plain = _fernet().decrypt(self.path.read_bytes())
            raw = json.loads(plain)
            return {
                payer.upper(): [PortalAccount.model_validate(a) for a in accounts] for payer, accounts in raw.items()
            }
        except InvalidToken as err:
            raise CredentialsError(
                f"{self.path}: cannot decrypt with the configured key ({KEY_ENV} or the OS keyring): "
                "is it the key the file was written with?"
            ) from err
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

    def check_key(self) -> None:
        """CredentialsError now, before anyone types a secret, if there is no usable key or the
        existing file does not decrypt with it."""
        _fernet()
        self._from_file()

    def stored(self) -> dict[str, list[PortalAccount]]:
        """Every payer's accounts in the encrypted file (not the environment's); empty with no file."""
        return self._from_file()

    def save(self, payer_id: str, accounts: list[PortalAccount]) -> None:
        """Replace a payer's accounts in the encrypted file; a payer with no accounts left is dropped."""
        with self._locked():
            self._replace(payer_id, accounts)

    def add(self, payer_id: str, account: PortalAccount) -> None:
        """Add an account to a payer's, replacing the one with the same username if there is one."""
        with self._locked():
            current = self._from_file().get(payer_id.upper(), [])
            self._replace(payer_id, [*(a for a in current if a.username != account.username), account])

    def remove(self, payer_id: str, username: str | None = None) -> int:
        """Remove a payer's accounts (or only `username`'s); returns how many went."""
        with self._locked():
            current = self._from_file().get(payer_id.upper(), [])
            kept = [a for a in current if username is not None and a.username != username]
            if len(kept) != len(current):
                self._replace(payer_id, kept)
            return len(current) - len(kept)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer at a time: each change reads the file, changes one payer and writes it whole."""
        self._make_folder()
        fd = os.open(self.path.with_name(f".{self.path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _make_folder(self) -> None:
        folder = self.path.parent
        if not folder.exists():
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(folder, 0o700)

    def _replace(self, payer_id: str, accounts: list[PortalAccount]) -> None:
        everything = self._from_file()
        everything[payer_id.upper()] = accounts
        self._write({payer: found for payer, found in everything.items() if found})

    def _write(self, everything: dict[str, list[PortalAccount]]) -> None:
        """Encrypt and write the whole file atomically. The new file is owner-only (0600) from the
        moment it exists: a fresh name in the same folder, created exclusively with mode 0600,
        written and synced, then renamed over the old file."""
        plain = json.dumps(
            {
                payer: [
                    {
                        "username": a.username,
                        "password": a.password.get_secret_value(),
                        "totp_secret": a.totp_secret.get_secret_value() if a.totp_secret else None,
                        "security_answers": {k: v.get_secret_value() for k, v in a.security_answers.items()},
                        "mfa": a.mfa,
                        "mfa_owner": a.mfa_owner,
                    }
                    for a in payer_accounts
                ]
                for payer, payer_accounts in everything.items()
            }
        ).encode()
        token = _fernet().encrypt(plain)
        self._make_folder()
        folder = self.path.parent
        staged = folder / f".{self.path.name}.{secrets.token_hex(8)}.tmp"
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                os.fchmod(f.fileno(), 0o600)  # the umask may have taken the owner's bits; it never adds others'
                f.write(token)
                f.flush()
                os.fsync(f.fileno())
            os.replace(staged, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                staged.unlink()
            raise
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the rename itself survives a crash
        finally:
            os.close(dir_fd)
