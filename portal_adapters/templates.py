"""Rendering playbook value templates: `{patient.member_id}`, `{service_date:%m/%d/%Y}`, ...

Only the names in playbook.schema.TEMPLATE_NAMES resolve (no attribute access on objects), and
secrets such as `{account.totp}` are computed only when a template asks for them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal

TemplateValue = str | date | Decimal | None | Callable[[], str]
_FIELD = re.compile(r"\{([a-z_]+(?:\.[a-zA-Z0-9_.\-]+)?)(?::([^}]*))?\}")


class MissingTemplateValue(KeyError):
    """The claim lacks a value the playbook needs (e.g. no payer claim number)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def names_in(template: str) -> list[str]:
    return [match.group(1) for match in _FIELD.finditer(template)]


def render(template: str, values: Mapping[str, TemplateValue]) -> str:
    def substitute(match: re.Match[str]) -> str:
        name, fmt = match.group(1), match.group(2)
        if name not in values:
            raise MissingTemplateValue(name)
        value = values[name]
        if callable(value):
            value = value()
        if value is None:
            raise MissingTemplateValue(name)
        if isinstance(value, date):
            return value.strftime(fmt or "%Y-%m-%d")
        if isinstance(value, Decimal):
            return format(value, fmt or "f")
        return value

    return _FIELD.sub(substitute, template)
