"""Conversion of X12 element text into Python values, reporting bad values as findings.

Every typed view goes through these helpers so that an amount like ``8O0.00`` or a date like
``20241345`` becomes a finding with its exact location instead of an exception, and so that the
rules (which characters an amount may hold, what a CCYYMMDD date is) live in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from edi.findings import Finding, FindingCode, Location, Severity


def is_decimal_text(text: str) -> bool:
    """An X12 "R" (decimal) value: optional minus sign, ASCII digits with at most one decimal
    point, at least one digit. Decimal() alone would also accept "1_000", " 12", "1E5", "NaN" and
    non-ASCII digits. String methods, not a regex: every new amount of a large ERA comes here."""
    digits = (text[1:] if text[:1] == "-" else text).replace(".", "", 1)
    return digits.isdigit() and digits.isascii()


def parse_date(text: str) -> date | None:
    """A CCYYMMDD date, or None when the text is not a real calendar date."""
    if len(text) != 8 or not text.isascii() or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class DatePeriod:
    """A single date (D8) or a from-through period (RD8); ``end`` equals ``start`` for D8."""

    start: date
    end: date


def parse_period(qualifier: str, text: str) -> DatePeriod | None:
    """A DTP/DTM value by its format qualifier (D8 or RD8); None when malformed."""
    if qualifier == "RD8":
        start_text, dash, end_text = text.partition("-")
        start, end = parse_date(start_text), parse_date(end_text)
        if not dash or start is None or end is None or end < start:
            return None
        return DatePeriod(start, end)
    single = parse_date(text)
    return DatePeriod(single, single) if single is not None else None


def element_name(segment_id: str, position: int) -> str:
    """The X12 reference of an element, e.g. ``CLP03``."""
    return f"{segment_id}{position:02d}"


class ElementReader:
    """Reads typed values out of split segments of one file, appending findings on problems.

    ``findings`` is the list of the thing that owns the value (a claim, a transaction), so a
    bad amount marks that claim and nothing else.
    """

    __slots__ = ("source_name",)

    def __init__(self, source_name: str) -> None:
        self.source_name = source_name

    def finding(
        self,
        severity: Severity,
        code: FindingCode,
        message: str,
        number: int | None = None,
        segment_id: str | None = None,
        element: str | None = None,
    ) -> Finding:
        return Finding(
            severity=severity,
            code=code,
            message=message,
            location=Location(
                source_name=self.source_name, segment_number=number, segment_id=segment_id, element=element
            ),
        )

    def missing(self, segment_id: str, position: int, number: int, findings: list[Finding]) -> None:
        name = element_name(segment_id, position)
        findings.append(
            self.finding(
                Severity.ERROR,
                FindingCode.MISSING_ELEMENT,
                f"required element {name} is missing or empty",
                number,
                segment_id,
                name,
            )
        )

    def amount(
        self,
        elements: list[str],
        position: int,
        number: int,
        findings: list[Finding],
        *,
        required: bool = False,
        code: FindingCode = FindingCode.INVALID_AMOUNT,
    ) -> Decimal | None:
        text = elements[position] if position < len(elements) else ""
        if not text:
            if required:
                self.missing(elements[0], position, number, findings)
            return None
        if not is_decimal_text(text):
            self.invalid(elements[0], position, number, findings, text, code)
            return None
        return Decimal(text)

    def quantity(
        self,
        elements: list[str],
        position: int,
        number: int,
        findings: list[Finding],
        *,
        required: bool = False,
    ) -> Decimal | None:
        return self.amount(elements, position, number, findings, required=required, code=FindingCode.INVALID_NUMBER)

    def integer(self, elements: list[str], position: int, number: int, findings: list[Finding]) -> int | None:
        text = elements[position] if position < len(elements) else ""
        if not text:
            return None
        if not (text.isascii() and text.isdigit()):
            self.invalid(elements[0], position, number, findings, text, FindingCode.INVALID_NUMBER)
            return None
        return int(text)

    def date(
        self,
        elements: list[str],
        position: int,
        number: int,
        findings: list[Finding],
        *,
        required: bool = False,
        sensitive: bool = False,
    ) -> date | None:
        text = elements[position] if position < len(elements) else ""
        if not text:
            if required:
                self.missing(elements[0], position, number, findings)
            return None
        value = parse_date(text)
        if value is None:
            self.invalid(elements[0], position, number, findings, text, FindingCode.INVALID_DATE, sensitive=sensitive)
        return value

    def period(
        self,
        elements: list[str],
        qualifier_position: int,
        number: int,
        findings: list[Finding],
    ) -> DatePeriod | None:
        """A DTP-style date: format qualifier at ``qualifier_position``, value right after it."""
        qualifier = elements[qualifier_position] if qualifier_position < len(elements) else ""
        value_position = qualifier_position + 1
        text = elements[value_position] if value_position < len(elements) else ""
        if not text:
            self.missing(elements[0], value_position, number, findings)
            return None
        value = parse_period(qualifier, text)
        if value is None:
            self.invalid(elements[0], value_position, number, findings, text, FindingCode.INVALID_DATE)
        return value

    def invalid(
        self,
        segment_id: str,
        position: int,
        number: int,
        findings: list[Finding],
        text: str,
        code: FindingCode,
        *,
        sensitive: bool = False,
    ) -> None:
        name = element_name(segment_id, position)
        kind = {
            FindingCode.INVALID_AMOUNT: "a valid amount",
            FindingCode.INVALID_NUMBER: "a valid number",
            FindingCode.INVALID_DATE: "a valid date",
        }.get(code, "valid")
        shown = "(withheld: patient data)" if sensitive else f"({describe_shape(text)})"
        findings.append(self.finding(Severity.ERROR, code, f"{name} is not {kind} {shown}", number, segment_id, name))


def describe_shape(text: str) -> str:
    """What a refused value looks like, never the value itself: a misaligned element may hold a
    patient's name, birth date or member id, and findings reach screens, logs and the ledger."""
    kinds = [
        kind
        for kind, present in (
            ("letters", any(c.isalpha() for c in text)),
            ("digits", any(c.isdigit() for c in text)),
            ("spaces", any(c.isspace() for c in text)),
            ("other characters", any(not (c.isalnum() or c.isspace()) for c in text)),
        )
        if present
    ]
    return f"{len(text)} characters: {', '.join(kinds) or 'none'}"
