"""`claimbot denials`: (being written)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer


def register(app: typer.Typer, open_ledger: Callable[..., Any]) -> None:
    """Add the command to the app."""
