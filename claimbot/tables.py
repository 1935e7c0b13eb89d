"""Tables a person can read: the terminal's width, and ids, codes and amounts never cut.

Each column says what it holds. KEY columns (claim ids, payer ids, codes, dates) and AMOUNT columns
never wrap and are never shortened: they are sized to their longest value. TEXT columns (payer
words, descriptions, evidence names) take what is left and wrap, folding long words rather than
cutting them off with an ellipsis.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import Enum

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text


class Col(Enum):
    KEY = "key"
    AMOUNT = "amount"
    TEXT = "text"


def make_table(*columns: tuple[str, Col], title: str | None = None) -> Table:
    table = Table(title=title)
    for header, kind in columns:
        if kind is Col.TEXT:
            table.add_column(header, overflow="fold")
        else:
            table.add_column(header, no_wrap=True, justify="right" if kind is Col.AMOUNT else "left")
    return table


def _width(cell: object) -> int:
    if isinstance(cell, Text):
        return cell.cell_len
    return cell_len(cell) if isinstance(cell, str) else 0


def add_rows(table: Table, rows: Iterable[Sequence[str]]) -> Table:
    """Add plain-text rows (brackets in payer words are text, not markup), then fit the columns."""
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    for column in table.columns:
        if column.no_wrap:
            column.min_width = max([_width(column.header), *(_width(c) for c in column.cells)])
    return table
