"""Validation errors in plain words, without the value that failed.

pydantic's own text says "Input should be a valid date [type=date_from_datetime_parsing,
input_value='Quillfeather', input_type=str]" and links to its docs: jargon to a biller, and the
input may be a patient's name or birth date. Every place that shows a validation problem to a
person (CSV import, playbooks, config, adapters) goes through `plain_problems`, which keeps the key
path and says what was expected, in words, never quoting the input.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import ErrorDetails


class Problem(BaseModel):
    """One failed rule: where (the key path as written in the input) and what was expected."""

    model_config = ConfigDict(frozen=True)

    loc: tuple[int | str, ...]
    message: str

    @property
    def key(self) -> str:
        return ".".join(str(part) for part in self.loc) or "(top level)"


def _ctx(error: ErrorDetails, name: str) -> Any:
    return (error.get("ctx") or {}).get(name)


def _plural(count: Any, one: str) -> str:
    return f"{count} {one}" + ("" if count == 1 else "s")


_PLAIN: dict[str, Callable[[ErrorDetails], str]] = {
    "missing": lambda e: "is required",
    "extra_forbidden": lambda e: "is not a known key",
    "string_type": lambda e: "expected text",
    "string_too_short": lambda e: (
        "must not be empty" if _ctx(e, "min_length") == 1 else f"needs at least {_ctx(e, 'min_length')} characters"
    ),
    "string_too_long": lambda e: f"is longer than {_plural(_ctx(e, 'max_length'), 'character')}",
    "string_pattern_mismatch": lambda e: "is not in the expected format",
    "too_short": lambda e: f"needs at least {_plural(_ctx(e, 'min_length'), 'item')}",
    "too_long": lambda e: f"allows at most {_plural(_ctx(e, 'max_length'), 'item')}",
    "int_type": lambda e: "expected a whole number",
    "int_parsing": lambda e: "expected a whole number",
    "int_from_float": lambda e: "expected a whole number",
    "float_type": lambda e: "expected a number",
    "float_parsing": lambda e: "expected a number",
    "decimal_type": lambda e: "expected an amount",
    "decimal_parsing": lambda e: "expected an amount",
    "decimal_max_places": lambda e: f"allows at most {_plural(_ctx(e, 'decimal_places'), 'decimal place')}",
    "bool_type": lambda e: "expected true or false",
    "bool_parsing": lambda e: "expected true or false",
    "date_type": lambda e: "expected a date",
    "date_parsing": lambda e: "expected a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": lambda e: "expected a date (YYYY-MM-DD)",
    "datetime_type": lambda e: "expected a date and time",
    "datetime_parsing": lambda e: "expected a date and time",
    "dict_type": lambda e: "expected a mapping (key: value)",
    "list_type": lambda e: "expected a list",
    "tuple_type": lambda e: "expected a list",
    "greater_than": lambda e: f"must be more than {_ctx(e, 'gt')}",
    "greater_than_equal": lambda e: f"must be at least {_ctx(e, 'ge')}",
    "less_than": lambda e: f"must be less than {_ctx(e, 'lt')}",
    "less_than_equal": lambda e: f"must be at most {_ctx(e, 'le')}",
    "enum": lambda e: f"must be one of: {_ctx(e, 'expected')}",
    "literal_error": lambda e: f"must be {_ctx(e, 'expected')}",
    "union_tag_invalid": lambda e: "is not one of the known kinds",
    "model_type": lambda e: "expected a mapping (key: value)",
    "model_attributes_type": lambda e: "expected a mapping (key: value)",
}

# Rules of our own (ValueError in a validator) are written in plain words already and name no input.
_OWN_PREFIX = re.compile(r"^(Value|Assertion) error, ")


def plain_message(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind in ("value_error", "assertion_error"):
        return _OWN_PREFIX.sub("", error["msg"])
    if kind in _PLAIN:
        return _PLAIN[kind](error)
    custom = error.get("msg", "")
    # A custom error type (e.g. a discriminator's) carries our own words; pydantic's generic ones do not.
    return custom if not custom.startswith("Input should") else "is not valid here"


def _strip_union_tags(loc: tuple[int | str, ...], tags: frozenset[str]) -> tuple[int | str, ...]:
    return tuple(part for part in loc if not (isinstance(part, str) and part in tags))


def plain_problems(err: ValidationError, union_tags: frozenset[str] = frozenset()) -> list[Problem]:
    """Each problem of a validation error, in words, with its key path (union tags dropped), never its input."""
    return [
        Problem(loc=_strip_union_tags(tuple(e["loc"]), union_tags), message=plain_message(e))
        for e in err.errors(include_url=False, include_input=False)
    ]


def fields_of(err: ValidationError) -> str:
    """Which fields failed, for a one-line message: names only, never values."""
    return ", ".join(sorted({p.key for p in plain_problems(err)}))
