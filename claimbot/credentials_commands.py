"""`claimbot credentials ...`: payer portal accounts in the encrypted file `<data dir>/credentials.fernet`.

    claimbot credentials key                  a new key (for CLAIMBOT_CREDENTIALS_KEY), or --keyring
    claimbot credentials set PAYER [--add]    prompts for username, password, TOTP secret, answers
    claimbot credentials set PAYER --from-json -   the same from JSON on stdin, for scripts
    claimbot credentials set PAYER --mfa-owner U0123   one-time codes asked of that Slack user (no TOTP secret)
    claimbot credentials list                 payers and usernames, never a secret
    claimbot credentials remove PAYER [--username U]

Secrets are read with hidden prompts or from JSON, and never printed or logged. The only value
printed is the key `credentials key` was asked to make.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import SecretStr, ValidationError

from claimbot.console import Exit, JsonOption, err, fail, out, print_json
from claimbot.logs import get_logger
from claimbot.settings import Settings
from claimbot.tables import Col, add_rows, make_table
from portal_adapters.credentials import (
    KEY_ENV,
    KEYRING_NAME,
    KEYRING_SERVICE,
    CredentialsError,
    CredentialStore,
    PortalAccount,
    new_key,
)

credentials_app = typer.Typer(
    help="Payer portal accounts, kept encrypted in <data dir>/credentials.fernet.", no_args_is_help=True
)
log = get_logger("claimbot.credentials")

PAYER_ID = re.compile(r"^[A-Za-z0-9_]+$")
ENV_USERNAME = re.compile(r"^CLAIMBOT_PORTAL_([A-Z0-9_]+)_USERNAME$")
JSON_SHAPE = (
    '{"username": "...", "password": "...", "totp_secret": "... or null", '
    '"security_answers": {"question words": "answer"}, "mfa": "totp or broker", "mfa_owner": "Slack user id"}, '
    "or a list of them"
)


def register(app: typer.Typer) -> None:
    app.add_typer(credentials_app, name="credentials")


def _store() -> CredentialStore:
    return CredentialStore(Settings().data_dir)


def _payer(payer: str) -> str:
    if not PAYER_ID.match(payer):
        fail(Exit.USAGE, f"payer id {payer!r}: letters, digits and _ only (as in config/payers.yaml)")
    from claims.payer_config import PayerConfigError, load_payer_entries

    payer_id = payer.upper()
    try:
        known = {entry.id.upper() for entry in load_payer_entries(Settings().payers_file)}
    except PayerConfigError:
        return payer_id
    if payer_id not in known:
        err.print(f"note: {payer_id} is not in config/payers.yaml (yet)", markup=False)
    return payer_id


def _totp(secret: str) -> SecretStr | None:
    """Authenticator apps show the base32 secret in groups; any spacing and case is accepted."""
    compact = "".join(secret.split()).upper()
    if not compact:
        return None
    try:
        import pyotp

        pyotp.TOTP(compact).now()
    except ValueError as error:  # binascii.Error: not base32
        raise CredentialsError("the TOTP secret is not base32 (the letters A-Z and digits 2-7)") from error
    return SecretStr(compact)


def _account(raw: Any, where: str) -> PortalAccount:
    """One account from JSON. Errors name the field, never its value."""
    if not isinstance(raw, dict):
        raise CredentialsError(f"{where}: expected an object like {JSON_SHAPE}")
    fields = dict(raw)
    if not fields.get("password"):
        raise CredentialsError(f"{where}: password: a non-empty string is needed")
    totp = fields.pop("totp_secret", None)
    if totp is not None and not isinstance(totp, str):
        raise CredentialsError(f"{where}: totp_secret: expected a string or null")
    try:
        account = PortalAccount.model_validate(fields)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in issue['loc']) or 'account'}: {issue['msg']}"
            for issue in error.errors(include_input=False, include_url=False)
        )
        raise CredentialsError(f"{where}: {problems}") from None
    return account.model_copy(update={"totp_secret": _totp(totp or "")})


def _accounts_from_json(source: str) -> list[PortalAccount]:
    where = "stdin" if source == "-" else source
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text("utf-8")
    except OSError as error:
        raise CredentialsError(f"{where}: cannot read ({error.strerror})") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise CredentialsError(f"{where}: not JSON ({error.msg} at line {error.lineno})") from None
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise CredentialsError(f"{where}: no account in the list")
    accounts = [_account(item, f"{where}: account {i}" if len(items) > 1 else where) for i, item in enumerate(items, 1)]
    usernames = [a.username for a in accounts]
    if len(set(usernames)) != len(usernames):
        raise CredentialsError(f"{where}: the same username appears twice")
    return accounts


def _prompt_account() -> PortalAccount:
    """Hidden prompts for everything secret; the question words are not secret and are shown."""
    username = typer.prompt("Username").strip()
    password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    while True:
        try:
            totp = _totp(
                typer.prompt("TOTP secret (base32; empty for none)", default="", show_default=False, hide_input=True)
            )
            break
        except CredentialsError as error:
            err.print(f"{error}; try again", markup=False)
    answers: dict[str, SecretStr] = {}
    while words := typer.prompt(
        "Security question words, e.g. `first pet` (empty when done)", default="", show_default=False
    ).strip():
        answers[words] = SecretStr(typer.prompt(f"Answer for '{words}'", hide_input=True))
    try:
        return PortalAccount(
            username=username, password=SecretStr(password), totp_secret=totp, security_answers=answers
        )
    except ValidationError:
        fail(Exit.BAD_INPUT, "a username and a password are needed")


def _with_mfa_owner(account: PortalAccount, owner: str) -> PortalAccount:
    """The account with its one-time codes asked of `owner` (the MFA broker): `mfa: broker`."""
    if account.totp_secret is not None:
        raise CredentialsError(
            f"account {account.username}: has a TOTP secret (the bot makes its codes); "
            "--mfa-owner is for accounts without one"
        )
    try:
        return PortalAccount.model_validate(account.model_dump() | {"mfa": "broker", "mfa_owner": owner.strip()})
    except ValidationError:
        raise CredentialsError(
            "--mfa-owner: a Slack user id, like U0123ABCD (the person's profile, 'Copy member ID')"
        ) from None


@credentials_app.command("set")
def credentials_set(
    payer: Annotated[str, typer.Argument(help="The payer id, as in config/payers.yaml (e.g. SUNRISE).")],
    add: Annotated[
        bool,
        typer.Option(
            "--add", help="Add to the payer's accounts (same username: replaced) instead of replacing them all."
        ),
    ] = False,
    from_json: Annotated[
        str | None,
        typer.Option(
            "--from-json",
            metavar="FILE|-",
            help=f"Read the account from a JSON file, or '-' for stdin, instead of prompting: {JSON_SHAPE}.",
        ),
    ] = None,
    mfa_owner: Annotated[
        str | None,
        typer.Option(
            "--mfa-owner",
            metavar="SLACK_USER_ID",
            help="The portal's one-time codes come from this person (SMS, e-mail, an authenticator whose secret "
            "the team does not hold): the Slack assistant's MFA broker asks them in a DM when a sign-in needs one. "
            "For accounts with no TOTP secret (mfa: broker).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Store a payer's portal account(s) in the encrypted credentials file (prompts hide every secret)."""
    payer_id = _payer(payer)
    store = _store()
    try:
        store.check_key()  # before anyone types a password
    except CredentialsError as error:
        fail(Exit.LEDGER, str(error))
    try:
        accounts = _accounts_from_json(from_json) if from_json is not None else [_prompt_account()]
        if mfa_owner is not None:
            accounts = [_with_mfa_owner(account, mfa_owner) for account in accounts]
    except CredentialsError as error:
        fail(Exit.BAD_INPUT, str(error))
    for account in accounts:
        account.register_with_redactor()  # masked in any log line from here on
    try:
        if add:
            for account in accounts:
                store.add(payer_id, account)
        else:
            store.save(payer_id, accounts)
        total = len(store.stored().get(payer_id, []))
    except CredentialsError as error:
        fail(Exit.LEDGER, str(error))
    log.info("credentials saved", payer=payer_id, accounts=total)
    usernames = [a.username for a in accounts]
    if as_json:
        print_json({"payer": payer_id, "saved": usernames, "accounts": total, "file": str(store.path)})
    else:
        out.print(
            f"{payer_id}: saved {', '.join(usernames)} ({total} account(s) in all) in {store.path}",
            markup=False,
        )


@credentials_app.command("list")
def credentials_list(as_json: JsonOption = False) -> None:
    """Payers and usernames, from the credentials file and the environment (never a secret)."""
    store = _store()
    try:
        stored = store.stored()
    except CredentialsError as error:
        fail(Exit.LEDGER, str(error))
    rows: list[dict[str, object]] = [
        {
            "payer": payer,
            "username": account.username,
            "source": "file",
            "totp": account.totp_secret is not None,
            "security_answers": len(account.security_answers),
            "mfa_owner": account.mfa_owner if account.asks_for_code else None,
        }
        for payer, accounts in sorted(stored.items())
        for account in accounts
    ]
    for name, value in sorted(os.environ.items()):
        match = ENV_USERNAME.match(name)
        if match and value:
            payer_id = match.group(1)
            rows.append(
                {
                    "payer": payer_id,
                    "username": value,
                    "source": "environment (used instead of the file)",
                    "totp": bool(os.environ.get(f"CLAIMBOT_PORTAL_{payer_id}_TOTP_SECRET")),
                    "security_answers": None,
                    "mfa_owner": os.environ.get(f"CLAIMBOT_PORTAL_{payer_id}_MFA_OWNER") or None,
                }
            )
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print(f"no credentials: add some with `claimbot credentials set PAYER` (file: {store.path})", markup=False)
        return
    table = make_table(
        ("payer", Col.KEY),
        ("username", Col.KEY),
        ("source", Col.TEXT),
        ("TOTP", Col.KEY),
        ("security answers", Col.KEY),
    )
    shown = [
        [
            str(row["payer"]),
            str(row["username"]),
            str(row["source"]),
            "yes" if row["totp"] else f"asked of {row['mfa_owner']}" if row["mfa_owner"] else "no",
            "" if row["security_answers"] is None else str(row["security_answers"]),
        ]
        for row in rows
    ]
    out.print(add_rows(table, shown))


@credentials_app.command("remove")
def credentials_remove(
    payer: Annotated[str, typer.Argument(help="The payer id.")],
    username: Annotated[str | None, typer.Option(help="Remove only this account.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Remove a payer's accounts (or one of them) from the credentials file."""
    if not PAYER_ID.match(payer):
        fail(Exit.USAGE, f"payer id {payer!r}: letters, digits and _ only")
    payer_id = payer.upper()
    try:
        removed = _store().remove(payer_id, username)
    except CredentialsError as error:
        fail(Exit.LEDGER, str(error))
    if not removed:
        fail(Exit.NOT_FOUND, f"no stored account {'for ' + username + ' ' if username else ''}of payer {payer_id}")
    log.info("credentials removed", payer=payer_id, accounts=removed)
    if as_json:
        print_json({"payer": payer_id, "removed": removed})
    else:
        out.print(f"{payer_id}: removed {removed} account(s)", markup=False)
    if os.environ.get(f"CLAIMBOT_PORTAL_{payer_id}_USERNAME"):
        err.print(f"note: CLAIMBOT_PORTAL_{payer_id}_USERNAME in the environment still gives an account", markup=False)


@credentials_app.command("key")
def credentials_key(
    to_keyring: Annotated[
        bool,
        typer.Option(
            "--keyring", help=f'Store it in the OS keyring (service "{KEYRING_SERVICE}") instead of printing it.'
        ),
    ] = False,
) -> None:
    """Make a new encryption key for the credentials file: printed alone, for CLAIMBOT_CREDENTIALS_KEY."""
    store = _store()
    if store.path.exists():
        err.print(
            f"note: {store.path} exists and a new key cannot read it; "
            "remove the file (and set the accounts again) to start over with a new key",
            markup=False,
        )
    import keyring
    import keyring.errors

    key = new_key()
    if not to_keyring:
        out.file.write(key + "\n")
        err.print(
            f"keep it secret: export {KEY_ENV}=<the key>, or run `claimbot credentials key --keyring`", markup=False
        )
        return
    try:
        if keyring.get_password(KEYRING_SERVICE, KEYRING_NAME):
            fail(Exit.LEDGER, "the OS keyring already holds a credentials key; replacing it would lose the file's")
        keyring.set_password(KEYRING_SERVICE, KEYRING_NAME, key)
    except keyring.errors.KeyringError as error:
        fail(Exit.LEDGER, f"no usable OS keyring ({error.__class__.__name__}): set {KEY_ENV} instead")
    out.print(f'new credentials key stored in the OS keyring (service "{KEYRING_SERVICE}", name "{KEYRING_NAME}")')
