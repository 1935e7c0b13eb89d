"""Decimal dollars <-> integer cents, the ledger's storage form for money."""

from __future__ import annotations

from decimal import Decimal


def to_cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_exact())


def to_cents_or_none(amount: Decimal | None) -> int | None:
    return None if amount is None else to_cents(amount)


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def from_cents_or_none(cents: int | None) -> Decimal | None:
    return None if cents is None else from_cents(cents)
