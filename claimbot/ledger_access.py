"""Opening the ledger from a command: checked against this code's schema, with plain-words failures."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from claimbot.console import Exit, fail
from claimbot.settings import Settings

if TYPE_CHECKING:
    from claims.ledger import Ledger


def open_ledger(settings: Settings) -> Ledger:
    """Open the ledger, refusing one whose schema is behind this code (the fix is one command)."""
    from claims.ledger import Ledger, is_current

    url = settings.ledger_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        fail(Exit.LEDGER, f"no ledger in {settings.data_dir} yet: run `claimbot db upgrade`")
    ledger = Ledger.connect(url)
    try:
        current = is_current(ledger.engine)
    except Exception as error:
        fail(Exit.LEDGER, f"cannot open the ledger ({error.__class__.__name__}); check CLAIMBOT_DATABASE_URL")
    if not current:
        fail(Exit.LEDGER, "the ledger is not up to date: run `claimbot db upgrade`")
    return ledger


def prepare_ledger(settings: Settings) -> Ledger:
    """Migrate the ledger and load the team's payer list into it."""
    from claims.ledger import Ledger, upgrade
    from claims.payer_config import PayerConfigError, load_payers

    try:
        payer_list = load_payers(settings.payers_file)
    except PayerConfigError as error:
        fail(Exit.LEDGER, str(error))
    upgrade(settings.ledger_url)
    ledger = Ledger.connect(settings.ledger_url)
    ledger.sync_payers(payer_list)
    return ledger
