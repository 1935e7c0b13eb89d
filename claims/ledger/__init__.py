"""The claims ledger: one store of claims and of every answer payers gave about them.

Embedded SQLite (WAL) by default, PostgreSQL for teams, the same code for both. Callers get and
give pydantic models only (claims.models, and the views below); no rows or dicts leave this package.
"""

from claims.ledger.migrate import is_current, upgrade
from claims.ledger.repository import (
    ClaimNotFoundError,
    ClaimSnapshot,
    ClaimSummary,
    ClaimUpsertCounts,
    EligibilityItem,
    Ledger,
    LedgerWriter,
    PayerHold,
    UnmatchedItem,
    UnmatchedKind,
    sweep_dedupe_key,
)

__all__ = [
    "ClaimNotFoundError",
    "ClaimSnapshot",
    "ClaimSummary",
    "ClaimUpsertCounts",
    "EligibilityItem",
    "Ledger",
    "LedgerWriter",
    "PayerHold",
    "UnmatchedItem",
    "UnmatchedKind",
    "is_current",
    "sweep_dedupe_key",
    "upgrade",
]
