"""What every command shares: the consoles, exit codes scripts rely on, failing, JSON output."""

from __future__ import annotations

import json
import os
import sys
from enum import IntEnum
from typing import Annotated, NoReturn

import typer
from pydantic import BaseModel
from rich.console import Console

#: When output is piped (to less, grep, a file) rich would assume 80 columns and cut tables there.
UNBOUNDED_WIDTH = 240


def _width() -> int | None:
    """None on a terminal (rich reads it); piped, the width of the terminal we run in, else COLUMNS, else wide."""
    if sys.stdout.isatty():
        return None
    for stream in (sys.stderr, sys.stdin):
        try:
            return os.get_terminal_size(stream.fileno()).columns
        except (OSError, ValueError, AttributeError):
            continue
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() else UNBOUNDED_WIDTH


out = Console(highlight=False, soft_wrap=True, width=_width())
err = Console(stderr=True, highlight=False, soft_wrap=True, width=_width())

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]


class Exit(IntEnum):
    OK = 0
    USAGE = 2
    BAD_INPUT = 3
    NOT_FOUND = 4
    LEDGER = 5
    PAYER = 6  # the payer could not be asked (portal down, sign-in refused, layout changed)


def fail(code: Exit, message: str) -> NoReturn:
    err.print(f"error: {message}", markup=False)
    raise typer.Exit(code)


def print_json(data: object) -> None:
    if isinstance(data, BaseModel):
        write_json_text(data.model_dump_json(indent=2))
    else:
        write_json_text(json.dumps(data, indent=2, default=str))


def write_json_text(text: str) -> None:
    """JSON goes to stdout as it is: scripts parse it, and rich's line wrapping would spend half a
    minute on the 40 MB a 20,000-claim remittance describes to."""
    out.file.write(text + "\n")
