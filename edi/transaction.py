"""What every typed transaction view shares: the ST..SE header, findings and the raw segments.

The reader hands each view a :class:`TransactionText` (the segment texts of one ST..SE, as a list
or as a window on the file's text split on demand, plus where they sit in the file); the view
keeps it privately so callers can always go back to the exact segments (``segments()``) without
the JSON form of a view carrying them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, PrivateAttr

from edi.findings import Finding, FindingCode, Severity
from edi.segments import Segment, Separators
from edi.values import ElementReader


class TransactionHeader(BaseModel):
    """ST..SE identity and position, with the envelope around it."""

    model_config = ConfigDict(frozen=True)

    transaction_set_id: str
    control_number: str
    implementation_reference: str | None
    functional_identifier: str | None
    group_control_number: str | None
    interchange_control_number: str | None
    first_segment: int
    last_segment: int
    complete: bool


@dataclass(slots=True)
class TransactionText:
    """Segment texts of one transaction, ST first and SE last when present (``complete``)."""

    header: TransactionHeader
    segments: Sequence[str]
    separators: Separators
    source_name: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def body(self) -> Sequence[str]:
        """Segments between ST and SE."""
        return self.segments[1:-1] if self.header.complete else self.segments[1:]

    def split_body(self) -> Iterator[tuple[int, list[str]]]:
        """(segment number, elements) for every body segment."""
        element_separator = self.separators.element
        number = self.header.first_segment
        for text in self.body:
            number += 1
            yield number, text.split(element_separator)


class TransactionView(BaseModel):
    """Base of all typed transactions: header, transaction-level findings, raw segments."""

    header: TransactionHeader
    findings: list[Finding]
    _text: TransactionText | None = PrivateAttr(default=None)

    def attach_text(self, text: TransactionText) -> None:
        self._text = text

    def segment(self, number: int) -> Segment | None:
        """The segment numbered ``number`` in the file, if this transaction holds it. Direct: a
        caller keeping evidence for each of 20,000 claims must not walk the transaction each time."""
        if self._text is None:
            return None
        index = number - self._text.header.first_segment
        texts = self._text.segments
        if not 0 <= index < len(texts):
            return None
        separators = self._text.separators
        return Segment(number, tuple(texts[index].split(separators.element)), separators)

    def segment_text(self, number: int) -> str | None:
        """The text of the segment numbered ``number`` (``segment(number).raw``), without splitting it."""
        if self._text is None:
            return None
        index = number - self._text.header.first_segment
        texts = self._text.segments
        return texts[index] if 0 <= index < len(texts) else None

    def segments(self) -> list[Segment]:
        """The transaction's segments exactly as read, ST..SE."""
        if self._text is None:
            return []
        separators = self._text.separators
        element_separator = separators.element
        first = self._text.header.first_segment
        return [
            Segment(first + offset, tuple(text.split(element_separator)), separators)
            for offset, text in enumerate(self._text.segments)
        ]


class UnrecognizedTransaction(TransactionView):
    """A transaction set this layer has no view for; kept whole so nothing is lost silently."""

    kind: Literal["unrecognized"] = "unrecognized"


def read_unrecognized(text: TransactionText) -> UnrecognizedTransaction:
    reader = ElementReader(text.source_name)
    header = text.header
    finding = reader.finding(
        Severity.WARNING,
        FindingCode.UNKNOWN_TRANSACTION,
        f"no view for transaction set {header.transaction_set_id!r} "
        f"({header.implementation_reference or 'no version'}); kept as raw segments",
        header.first_segment,
        "ST",
        "ST01",
    )
    view = UnrecognizedTransaction(header=header, findings=[*text.findings, finding])
    view.attach_text(text)
    return view
