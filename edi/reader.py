"""Lossless X12 tokenizer and envelope reader (ISA/GS/ST .. SE/GE/IEA).

Owns everything about getting from bytes to transaction sets: decoding, finding the ISA,
reading separators from its fixed positions (element = 4th character, repetition = ISA11 when
ISA12 >= 00402, component = ISA16, segment terminator = the character after ISA16), splitting
segments with or without line breaks, numbering segments (1-based, counted from the first ISA),
several interchanges per file (each with its own separators) and several GS/ST per interchange.

Control-number and count mismatches, truncation, stray segments, a BOM or text before the ISA
are findings; only input with no readable envelope raises :class:`X12SyntaxError`. A file that
holds one bare ST..SE (no ISA/GS, as some payers publish samples) is read with a finding, its
separators inferred from the ST segment.
"""

from __future__ import annotations

import functools
import mmap
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

from pydantic import BaseModel, ValidationError

from edi.acknowledgment import InterchangeAck, read_interchange_ack
from edi.findings import Finding, FindingCode, Severity, X12SyntaxError
from edi.segments import Separators, TerminatedSegments, is_usable_separator
from edi.transaction import TransactionHeader, TransactionText
from edi.values import ElementReader

_ISA_ELEMENT_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
_ISA_SEPARATOR_OFFSETS = tuple(3 + sum(_ISA_ELEMENT_WIDTHS[:index]) + index for index in range(16))
_ISA_LENGTH = 105  # "ISA" + 16 elements and separators; the segment terminator follows
_ISA_MAX_LENGTH = 200  # tolerated length of an ISA whose elements are not padded to width
_REPETITION_SINCE_VERSION = "00402"
_ENVELOPE_PREFIXES = frozenset({"IS", "IE", "GS", "GE", "ST", "SE", "TA"})
_ENVELOPE_IDS = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE", "TA1"})
_CLAIM_SEGMENT_IDS = frozenset({"CLP", "CLM"})  # named when segments outside any ST..SE are ignored
_BLANKS = " \t\r\n"
_INLINE_BLANKS = " \t"
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")

Buffer: TypeAlias = bytes | bytearray | memoryview | mmap.mmap
"""What X12 content can be read from besides text: bytes, or a memory-mapped file."""


class FunctionalGroup(BaseModel):
    """GS..GE: one batch of transaction sets of the same functional kind."""

    functional_identifier: str
    application_sender: str
    application_receiver: str
    date: str
    time: str
    control_number: str
    version: str
    first_segment: int
    last_segment: int
    complete: bool
    transaction_count: int


class Interchange(BaseModel):
    """ISA..IEA with its separators, groups and any TA1 interchange acknowledgments."""

    control_number: str
    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    date: str
    time: str
    version: str
    acknowledgment_requested: str
    usage_indicator: str
    separators: Separators
    first_segment: int
    last_segment: int
    complete: bool
    groups: list[FunctionalGroup]
    acknowledgments: list[InterchangeAck]


@dataclass(slots=True)
class EnvelopeScan:
    """Result of reading the envelopes of one file, before any transaction view is built."""

    interchanges: list[Interchange]
    transactions: list[TransactionText]
    findings: list[Finding]
    segment_count: int


def scan_envelopes(data: Buffer | str, source_name: str) -> EnvelopeScan:
    """Split ``data`` into interchanges, groups and transaction texts, with envelope findings."""
    findings: list[Finding] = []
    reader = ElementReader(source_name)
    text = _decode(data, reader, findings)
    if not text or text.isspace():  # not text.strip(): that would copy a large file once more
        raise X12SyntaxError("input is empty", source_name=source_name)
    walker = _EnvelopeWalker(reader, findings)
    start = _find_isa(text)
    if start < 0:
        start, separators = _bare_transaction_separators(text, reader, findings)
        walker.bare = True
    else:
        if text[:start].strip(_BLANKS):
            findings.append(
                reader.finding(
                    Severity.WARNING,
                    FindingCode.LEADING_TEXT,
                    f"{len(text[:start].strip(_BLANKS))} characters before the first ISA were ignored",
                    1,
                    "ISA",
                )
            )
        separators = _read_isa_separators(text, start, reader, 1, findings)
    _split_and_walk(text, start, separators, walker, reader, findings)
    return EnvelopeScan(walker.interchanges, walker.transactions, findings, walker.segment_count)


def _split_and_walk(
    text: str,
    start: int,
    separators: Separators,
    walker: _EnvelopeWalker,
    reader: ElementReader,
    findings: list[Finding],
) -> None:
    """Split from ``start`` on; re-detect separators where a later ISA uses different ones."""
    while True:
        chunk = text[start:]
        segments, tail, strip_chars = _split_segments(chunk, separators)
        found = _envelope_marks(segments, chunk, separators.element)
        if found is None:  # blanks around terminators after all: split and strip
            segments, tail, strip_chars = _split_segments(chunk, separators, regular=False)
            found = _envelope_marks(segments, chunk, separators.element)
            assert found is not None
        marks = found
        restart = _first_isa_with_other_separators(segments, marks, separators)
        if restart is not None:
            walker.walk(segments[:restart], separators, [mark for mark in marks if mark < restart])
            if isinstance(segments, TerminatedSegments):
                start += segments.offset(restart)
            else:
                start += _offset_of_segment(restart, chunk, separators.segment, strip_chars)
        else:
            walker.walk(segments, separators, marks)
            # an interchange with another terminator is not split at all: it sits in the tail
            tail_start = max(chunk.rfind(separators.segment) + len(separators.segment), 1)
            next_isa = _find_isa(chunk, tail_start)
            if next_isa < 0:
                walker.finish(tail)
                return
            walker.skip_text(chunk[tail_start:next_isa].strip(_BLANKS))
            start += next_isa
        separators = _read_isa_separators(text, start, reader, walker.segment_count + 1, findings)


def _split_segments(chunk: str, separators: Separators, *, regular: bool = True) -> tuple[Sequence[str], str, str]:
    """The segments of ``chunk``, the text after its final terminator (stripped), and the blank
    characters stripped from segments.

    Files are written either on one line or with the same line break after every terminator;
    then every segment ends with the same boundary (terminator + line break) and the chunk is
    kept as text, split only when read (:class:`TerminatedSegments`). Anything else (mixed line
    breaks, blanks around segments, empty segments) is split on the terminator now and stripped
    piece by piece; so is text found irregular later, when its envelope segments are looked for
    (``regular=False``: blanks around terminators, as pretty-printers write them).
    """
    terminator = separators.segment
    separator_characters = {separators.element, separators.component, separators.repetition, terminator}
    strip_chars = "".join(character for character in _BLANKS if character not in separator_characters)
    first_end = chunk.find(terminator)
    following = chunk[first_end + 1 : first_end + 3]
    line_break = following if following == "\r\n" else following[:1]
    if line_break not in ("\r\n", "\n", "\r") or line_break[0] in separator_characters:
        line_break = ""
    boundary = terminator + line_break
    if regular and (line_break or ("\n" not in chunk and "\r" not in chunk)):
        # a boundary cannot overlap itself, so equal counts mean every terminator starts one; empty
        # segments and blanks around terminators are found in the envelope pass (_envelope_marks)
        count = chunk.count(boundary)
        if count == chunk.count(terminator) and not chunk.startswith(boundary):
            tail_start = chunk.rfind(boundary) + len(boundary) if count else 0
            return TerminatedSegments(chunk, boundary, count), chunk[tail_start:].strip(strip_chars), strip_chars
    pieces = [piece.strip(strip_chars) for piece in chunk.split(terminator)]
    tail = pieces.pop()
    return [piece for piece in pieces if piece], tail, strip_chars


@functools.lru_cache(maxsize=16)
def _envelope_pattern(boundary_end: str, terminator: str, element_separator: str) -> re.Pattern[str]:
    """An envelope segment id after the last character of the boundary: a one-character prefix is
    scanned for much faster than the whole boundary (a line break is rarer than the terminator),
    and a look-ahead at the next character passes over most data segments at once.

    The same stops find what makes the text irregular, at no extra pass: a blank, a line break or
    the terminator right after a boundary (indented segments, blank lines, empty segments), in the
    group ``irregular``."""
    ids = sorted(_ENVELOPE_IDS)
    irregular = f" \t\r\n{re.escape(terminator)}"
    first_characters = "".join(sorted({segment_id[0] for segment_id in ids}))
    return re.compile(
        f"{re.escape(boundary_end)}(?=[{first_characters}{irregular}])"
        f"(?:(?:{'|'.join(ids)}){re.escape(element_separator)}|(?P<irregular>[{irregular}]))"
    )


def _blank_before_terminator(chunk: str, boundary: str) -> bool:
    """Whether a segment is padded with a space or tab before its terminator (one C-level search;
    tabs only looked for when the text holds one, a memchr)."""
    return " " + boundary in chunk or ("\t" in chunk and "\t" + boundary in chunk)


def _envelope_marks(segments: Sequence[str], chunk: str, element_separator: str) -> list[int] | None:
    """Indexes of the segments that may be envelope segments (ISA, GS, ST, SE, GE, IEA, TA1), or
    None when text kept whole turns out to have blanks around its terminators or empty segments.

    Text kept as :class:`TerminatedSegments` is searched directly (one C-level pass instead of a
    Python test per segment), and the offset of each candidate is remembered so that reading it
    later costs one search; the walker still confirms each candidate's segment id.
    """
    if not isinstance(segments, TerminatedSegments):
        return [index for index, segment in enumerate(segments) if segment[:2] in _ENVELOPE_PREFIXES]
    marks = [0] if segments and segments[0][:2] in _ENVELOPE_PREFIXES else []
    boundary = segments.boundary
    index = 0
    counted_until = 0
    boundary_length = len(boundary)
    # the chunk holds exactly len(segments) boundaries (one after each segment), so a segment's
    # index can also be counted back from the end: trailers (SE, GE, IEA) sit near the end, and
    # counting the shorter side avoids a second pass over the whole text
    segment_total = len(segments)
    chunk_length = len(chunk)
    tail_start = chunk.rfind(boundary) + boundary_length if segment_total else 0
    if _blank_before_terminator(chunk, boundary):
        return None
    for match in _envelope_pattern(boundary[-1], boundary[0], element_separator).finditer(chunk):
        position = match.start() + 1
        if boundary_length > 1 and not chunk.startswith(boundary, position - boundary_length):
            continue  # a line break inside a segment, not after its terminator
        if match.lastgroup == "irregular":
            if position >= tail_start:
                continue  # blank lines after the last segment are the tail, stripped as such
            return None
        if position - counted_until <= chunk_length - position:
            index += chunk.count(boundary, counted_until, position)
        else:
            index = segment_total - chunk.count(boundary, position)
        counted_until = position
        if index < segment_total:
            marks.append(index)
            segments.remember_offset(index, position)
    return marks


def _decode(data: Buffer | str, reader: ElementReader, findings: list[Finding]) -> str:
    if isinstance(data, str):
        if data.startswith("\ufeff"):
            findings.append(_bom_finding(reader))
            return data[1:]
        return data
    # through a memoryview, so a memory-mapped file is decoded without another copy of its bytes;
    # every view is released on the way out, or the map could not be closed
    with memoryview(data) as whole:
        skip = 0
        if whole[: len(_UTF8_BOM)] == _UTF8_BOM:
            findings.append(_bom_finding(reader))
            skip = len(_UTF8_BOM)
        elif bytes(whole[:2]) in _UTF16_BOMS:
            findings.append(_bom_finding(reader))
            return str(whole, "utf-16", "replace")
        with whole[skip:] as view:
            try:
                return str(view, "utf-8")
            except UnicodeDecodeError as error:
                findings.append(
                    reader.finding(
                        Severity.WARNING,
                        FindingCode.NOT_UTF8,
                        f"not valid UTF-8 (byte {error.start + skip}); decoded as Latin-1, "
                        "non-ASCII characters may be wrong",
                    )
                )
                return str(view, "latin-1")


def _bom_finding(reader: ElementReader) -> Finding:
    return reader.finding(Severity.INFO, FindingCode.BYTE_ORDER_MARK, "byte order mark before the ISA was skipped")


def _find_isa(text: str, start: int = 0) -> int:
    position = text.find("ISA", start)
    while position >= 0:
        following = text[position + 3 : position + 4]
        if following and is_usable_separator(following) and following not in "\r\n":
            return position
        position = text.find("ISA", position + 1)
    return -1


def _read_isa_separators(
    text: str, start: int, reader: ElementReader, number: int, findings: list[Finding]
) -> Separators:
    """Separators of the ISA at ``start``; raises X12SyntaxError when they cannot be read."""
    source_name = reader.source_name
    element_separator = text[start + 3]
    window = text[start : start + _ISA_LENGTH + 1]
    if len(window) == _ISA_LENGTH + 1 and all(window[offset] == element_separator for offset in _ISA_SEPARATOR_OFFSETS):
        isa_text, terminator = window[:_ISA_LENGTH], _terminator_after(text, start + _ISA_LENGTH)
    else:
        end = start
        for _ in range(16):
            end = text.find(element_separator, end + 1)
            if end < 0 or end - start > _ISA_MAX_LENGTH:
                raise X12SyntaxError(
                    "ISA segment is truncated or malformed: fewer than 16 elements",
                    source_name=source_name,
                    segment_number=number,
                    segment_id="ISA",
                )
        if end + 2 >= len(text):
            raise X12SyntaxError(
                "ISA segment is truncated: no segment terminator after ISA16",
                source_name=source_name,
                segment_number=number,
                segment_id="ISA",
                element="ISA16",
            )
        isa_text, terminator = text[start : end + 2], _terminator_after(text, end + 2)
        findings.append(_isa_layout_finding(isa_text.split(element_separator), reader, number))
    elements = isa_text.split(element_separator)
    return _separators_from_isa(element_separator, elements, terminator, reader, number, findings)


def _terminator_after(text: str, position: int) -> str:
    """The segment terminator: the character after ISA16, past any spaces or tabs a pretty-printer
    put before it (a space cannot be a separator, so a blank there is layout, not the terminator)."""
    character = text[position : position + 1]
    while character in _INLINE_BLANKS and character:
        position += 1
        character = text[position : position + 1]
    return character or text[position - 1 : position]


def _isa_layout_finding(elements: list[str], reader: ElementReader, number: int) -> Finding:
    wrong = [
        f"ISA{position:02d} has length {len(value)}, expected {width}"
        for position, (value, width) in enumerate(zip(elements[1:], _ISA_ELEMENT_WIDTHS, strict=False), start=1)
        if len(value) != width
    ]
    return reader.finding(
        Severity.WARNING,  # read all the same: the separators are found by counting elements
        FindingCode.ISA_LAYOUT,
        "ISA is not fixed-length: " + "; ".join(wrong),
        number,
        "ISA",
        wrong[0][:5] if wrong else None,
    )


def _separators_from_isa(
    element_separator: str,
    elements: list[str],
    terminator: str,
    reader: ElementReader,
    number: int,
    findings: list[Finding],
) -> Separators:
    component = elements[16] if len(elements) > 16 else ""
    checks = ((element_separator, "ISA01"), (component, "ISA16"), (terminator, "ISA16"))
    for character, element in checks:
        if not is_usable_separator(character):
            raise X12SyntaxError(
                f"{character!r} cannot be a separator (letters, digits and spaces are data)",
                source_name=reader.source_name,
                segment_number=number,
                segment_id="ISA",
                element=element,
            )
    repetition = _repetition_separator(elements, (element_separator, component, terminator), reader, number, findings)
    try:
        return Separators(element=element_separator, component=component, repetition=repetition, segment=terminator)
    except ValidationError as error:
        raise X12SyntaxError(
            f"unusable separators element={element_separator!r} component={component!r} "
            f"segment={terminator!r}: {error.errors()[0]['msg']}",
            source_name=reader.source_name,
            segment_number=number,
            segment_id="ISA",
            element="ISA16",
        ) from error


def _repetition_separator(
    elements: list[str],
    other_separators: tuple[str, str, str],
    reader: ElementReader,
    number: int,
    findings: list[Finding],
) -> str | None:
    version = elements[12] if len(elements) > 12 else ""
    candidate = elements[11] if len(elements) > 11 else ""
    if version < _REPETITION_SINCE_VERSION:
        return None
    if is_usable_separator(candidate) and candidate not in other_separators and candidate not in "\r\n":
        return candidate
    findings.append(
        reader.finding(
            Severity.WARNING,
            FindingCode.REPETITION_SEPARATOR,
            f"ISA11 {candidate!r} cannot be the repetition separator of version {version}; "
            "repeated elements are read as single values",
            number,
            "ISA",
            "ISA11",
        )
    )
    return None


def _bare_transaction_separators(text: str, reader: ElementReader, findings: list[Finding]) -> tuple[int, Separators]:
    """Separators of a file that starts with ST (no ISA/GS); raises when it does not."""
    start = len(text) - len(text.lstrip(_BLANKS))
    element_separator = text[start + 2 : start + 3]
    if text[start : start + 2] != "ST" or not is_usable_separator(element_separator):
        raise X12SyntaxError(
            "no ISA segment found (and the input does not start with ST)", source_name=reader.source_name
        )
    terminator = ""
    for character in text[start + 3 : start + 40]:
        if not character.isalnum() and character not in (element_separator, " "):
            terminator = character
            break
    component = next(candidate for candidate in (":", ">", "^") if candidate not in (element_separator, terminator))
    try:
        separators = Separators(element=element_separator, component=component, repetition=None, segment=terminator)
    except ValidationError as error:
        raise X12SyntaxError(
            f"no ISA segment found, and the ST segment gives no usable terminator ({terminator!r})",
            source_name=reader.source_name,
            segment_number=1,
            segment_id="ST",
        ) from error
    findings.append(
        reader.finding(
            Severity.WARNING,
            FindingCode.NO_INTERCHANGE_ENVELOPE,
            "no ISA/GS envelope: read as a bare transaction set with "
            f"element separator {element_separator!r} "
            f"and terminator {terminator!r}; component separator {component!r} assumed",
            1,
            "ST",
        )
    )
    return start, separators


def _first_isa_with_other_separators(segments: Sequence[str], marks: list[int], separators: Separators) -> int | None:
    """Index of the first later ISA whose element separator or terminator differs from ours.

    Such an ISA was not split off by our terminator, so it still holds an element separator
    count other than 16; an ISA with our separators and too few elements is left to the walker.
    """
    element_separator = separators.element
    for index in marks:
        segment = segments[index]
        if index == 0 or segment[:3] != "ISA":
            continue
        if segment[3:4] != element_separator or segment.count(element_separator) > 16:
            return index
    return None


def _offset_of_segment(target: int, chunk: str, terminator: str, strip_chars: str) -> int:
    """Character offset in ``chunk`` where the ``target``-th non-empty (stripped) piece starts."""
    raw_pieces = chunk.split(terminator)
    seen = -1
    offset = 0
    for raw in raw_pieces:
        stripped = raw.strip(strip_chars)
        if stripped:
            seen += 1
            if seen == target:
                return offset + len(raw) - len(raw.lstrip(strip_chars))
        offset += len(raw) + len(terminator)
    return offset


def _segment_id(segment: str, element_separator: str) -> str:
    end = segment.find(element_separator)
    return segment if end < 0 else segment[:end]


def _as_int(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() else None


def _same_control_number(declared: str, expected: str) -> bool:
    declared_number, expected_number = _as_int(declared.strip()), _as_int(expected.strip())
    if declared_number is not None and expected_number is not None:
        return declared_number == expected_number
    return declared.strip() == expected.strip()


@dataclass(slots=True)
class _OpenInterchange:
    elements: list[str]
    separators: Separators
    first_segment: int
    groups: list[FunctionalGroup] = field(default_factory=list)
    acknowledgments: list[InterchangeAck] = field(default_factory=list)


@dataclass(slots=True)
class _OpenGroup:
    elements: list[str]
    first_segment: int
    transaction_count: int = 0
    control_numbers: dict[str, int] = field(default_factory=dict)  # ST02 -> its ST's segment number


@dataclass(slots=True)
class _OpenTransaction:
    elements: list[str]
    segments: Sequence[str]
    start_index: int
    first_segment: int
    findings: list[Finding]


class _EnvelopeWalker:
    """State machine over segment texts: opens and closes ISA/GS/ST, checks trailers."""

    def __init__(self, reader: ElementReader, findings: list[Finding]) -> None:
        self.reader = reader
        self.findings = findings
        self.bare = False
        self.interchanges: list[Interchange] = []
        self.transactions: list[TransactionText] = []
        self.segment_count = 0
        self._interchange: _OpenInterchange | None = None
        self._group: _OpenGroup | None = None
        self._transaction: _OpenTransaction | None = None
        self._separators = Separators()

    def walk(self, segments: Sequence[str], separators: Separators, marks: list[int]) -> None:
        """Process ``segments`` (numbered on from the segments already walked); ``marks`` are the
        indexes of possible envelope segments, every other segment is data."""
        self._separators = separators
        element_separator = separators.element
        first_number = self.segment_count + 1
        previous = -1
        for index in marks:
            segment = segments[index]
            segment_id = _segment_id(segment, element_separator)
            if segment_id not in _ENVELOPE_IDS:
                continue
            if index - previous > 1:
                self._data_segments(segments, previous + 1, index, first_number)
            self._envelope_segment(segment_id, segments, index, first_number + index)
            previous = index
        if len(segments) - previous > 1:
            self._data_segments(segments, previous + 1, len(segments), first_number)
        self.segment_count += len(segments)

    def skip_text(self, text: str) -> None:
        """Text between the last terminator of one interchange and the next ISA."""
        if text:
            self._document_finding(
                Severity.WARNING,
                FindingCode.TRAILING_TEXT,
                f"{len(text)} characters before the next ISA were ignored",
                self.segment_count + 1,
                None,
            )

    def finish(self, tail: str) -> None:
        """End of input: report text after the last terminator and close what is still open."""
        number = self.segment_count + 1
        if tail:
            if self._interchange is None and not self.bare:
                self._document_finding(
                    Severity.WARNING,
                    FindingCode.TRAILING_TEXT,
                    f"{len(tail)} characters after the last IEA were ignored",
                    number,
                    None,
                )
            elif tail.startswith(("IEA", "SE", "GE")) and tail[2:4].strip("A") in (
                "",
                self._separators.element,
            ):
                self._document_finding(
                    Severity.WARNING,
                    FindingCode.UNTERMINATED_SEGMENT,
                    "the last segment has no segment terminator",
                    number,
                    _segment_id(tail, self._separators.element),
                )
                self.walk([tail], self._separators, [0])
                number += 1
            else:
                self._document_finding(
                    Severity.ERROR,
                    FindingCode.UNTERMINATED_SEGMENT,
                    f"input ends inside a segment ({len(tail)} characters without terminator were ignored; "
                    "truncated file?)",
                    number,
                    _segment_id(tail, self._separators.element)[:3],
                )
        self._close_transaction(None, number, "the input ends")
        self._close_group(None, number, "the input ends")
        self._close_interchange(None, number, "the input ends")

    def _data_segments(self, segments: Sequence[str], start: int, end: int, first_number: int) -> None:
        if self._transaction is not None:
            return
        element = self._separators.element
        segment_id = _segment_id(segments[start], element)[:3]
        where = "outside any interchange" if self._interchange is None and not self.bare else "outside any ST..SE"
        self._document_finding(
            Severity.ERROR,
            FindingCode.SEGMENT_OUTSIDE_TRANSACTION,
            f"{end - start} segment(s) {where} were ignored, starting with {segment_id}",
            first_number + start,
            segment_id,
        )
        # a claim among them is named on its own, so that it is not lost from the file's count
        for index in range(start, end):
            elements = segments[index].split(element, 2)
            if elements[0] in _CLAIM_SEGMENT_IDS:
                claim = elements[1] if len(elements) > 1 else ""
                finding = self.reader.finding(
                    Severity.ERROR,
                    FindingCode.CLAIM_OUTSIDE_TRANSACTION,
                    f"claim {claim!r} ({elements[0]}) lies {where}: it is not read",
                    first_number + index,
                    elements[0],
                    f"{elements[0]}01",
                )
                self.findings.append(finding.model_copy(update={"claim_ref": claim}))

    def _envelope_segment(self, segment_id: str, segments: Sequence[str], index: int, number: int) -> None:
        elements = segments[index].split(self._separators.element)
        if segment_id == "ST":
            self._open_transaction(elements, segments, index, number)
        elif segment_id == "SE":
            self._close_transaction(elements, number, "SE", segments=segments, se_index=index)
        elif segment_id == "GS":
            self._open_group(elements, number)
        elif segment_id == "GE":
            self._close_group(elements, number, "GE")
        elif segment_id == "ISA":
            self._open_interchange(elements, number)
        elif segment_id == "IEA":
            self._close_interchange(elements, number, "IEA")
        elif self._interchange is not None:
            self._close_transaction(None, number, "TA1")
            self._interchange.acknowledgments.append(read_interchange_ack(elements, number))
        else:
            self._document_finding(
                Severity.ERROR,
                FindingCode.SEGMENT_OUTSIDE_TRANSACTION,
                "TA1 outside any interchange was ignored",
                number,
                "TA1",
            )

    def _open_interchange(self, elements: list[str], number: int) -> None:
        self._close_transaction(None, number, "the next ISA")
        self._close_group(None, number, "the next ISA")
        self._close_interchange(None, number, "the next ISA")
        if len(elements) < 17:
            raise X12SyntaxError(
                f"ISA has {len(elements) - 1} elements, 16 are required",
                source_name=self.reader.source_name,
                segment_number=number,
                segment_id="ISA",
            )
        if number > 1:
            self._separators = _separators_from_isa(
                self._separators.element,
                elements,
                self._separators.segment,
                self.reader,
                number,
                self.findings,
            )
        self._interchange = _OpenInterchange(elements, self._separators, number)

    def _open_group(self, elements: list[str], number: int) -> None:
        self._close_transaction(None, number, "the next GS")
        self._close_group(None, number, "the next GS")
        if self._interchange is None:
            self._document_finding(
                Severity.ERROR,
                FindingCode.MISSING_IEA,
                "GS outside any interchange (no ISA before it); its transactions are still read",
                number,
                "GS",
            )
        self._group = _OpenGroup(elements, number)

    def _open_transaction(self, elements: list[str], segments: Sequence[str], index: int, number: int) -> None:
        self._close_transaction(None, number, "the next ST")
        findings: list[Finding] = []
        if self._group is None:
            if not self.bare:
                findings.append(
                    self.reader.finding(
                        Severity.WARNING,  # the set is whole; only its group's envelope is missing
                        FindingCode.MISSING_GS,
                        "ST outside any functional group (no GS before it)",
                        number,
                        "ST",
                    )
                )
        else:
            self._group.transaction_count += 1
            control_number = elements[2] if len(elements) > 2 else ""
            first = self._group.control_numbers.setdefault(control_number, number)
            if first != number:
                findings.append(
                    self.reader.finding(
                        Severity.ERROR,
                        FindingCode.DUPLICATE_CONTROL_NUMBER,
                        f"ST02 {control_number!r} is used again in this functional group (first at segment "
                        f"{first}): the two sets cannot be told apart, so this one is not recorded",
                        number,
                        "ST",
                        "ST02",
                    )
                )
        self._transaction = _OpenTransaction(elements, segments, index, number, findings)

    def _close_transaction(
        self,
        se_elements: list[str] | None,
        number: int,
        closed_by: str,
        *,
        segments: Sequence[str] | None = None,
        se_index: int = 0,
    ) -> None:
        transaction = self._transaction
        if transaction is None:
            if se_elements is not None:
                self._unmatched_trailer("SE", "ST", number)
            return
        self._transaction = None
        st_elements = transaction.elements
        control_number = st_elements[2] if len(st_elements) > 2 else ""
        if se_elements is None:
            last_index = transaction.start_index + (number - 1 - transaction.first_segment)
            text_segments = transaction.segments[transaction.start_index : last_index + 1]
            transaction.findings.append(
                self.reader.finding(
                    Severity.ERROR,
                    FindingCode.MISSING_SE,
                    f"transaction set {control_number!r} has no SE before {closed_by}: it is incomplete "
                    "(truncated?) and must not be posted as final",
                    number - 1,
                    _segment_id(text_segments[-1], self._separators.element),
                )
            )
        else:
            assert segments is not None
            text_segments = segments[transaction.start_index : se_index + 1]
            self._check_se(se_elements, len(text_segments), control_number, number, transaction.findings)
        self.transactions.append(
            TransactionText(
                header=self._transaction_header(st_elements, transaction.first_segment, number, se_elements),
                segments=text_segments,
                separators=self._separators,
                source_name=self.reader.source_name,
                findings=transaction.findings,
            )
        )

    def _transaction_header(
        self, st_elements: list[str], first_segment: int, number: int, se_elements: list[str] | None
    ) -> TransactionHeader:
        group_elements = self._group.elements if self._group is not None else []
        interchange_elements = self._interchange.elements if self._interchange is not None else []
        padded_st = [*st_elements, "", "", ""]
        padded_gs = [*group_elements, "", "", "", "", "", "", "", "", ""]
        return TransactionHeader(
            transaction_set_id=padded_st[1],
            control_number=padded_st[2],
            implementation_reference=padded_st[3] or padded_gs[8] or None,
            functional_identifier=padded_gs[1] or None,
            group_control_number=padded_gs[6] or None,
            interchange_control_number=interchange_elements[13] if len(interchange_elements) > 13 else None,
            first_segment=first_segment,
            last_segment=number if se_elements is not None else number - 1,
            complete=se_elements is not None,
        )

    def _check_se(
        self,
        elements: list[str],
        actual_count: int,
        control_number: str,
        number: int,
        findings: list[Finding],
    ) -> None:
        declared_count = elements[1] if len(elements) > 1 else ""
        if _as_int(declared_count) != actual_count:
            findings.append(
                self.reader.finding(
                    Severity.WARNING,
                    FindingCode.SE_COUNT,
                    f"SE01 declares {declared_count!r} segments but ST..SE holds {actual_count}",
                    number,
                    "SE",
                    "SE01",
                )
            )
        declared_control = elements[2] if len(elements) > 2 else ""
        if declared_control != control_number:
            findings.append(
                self.reader.finding(
                    Severity.WARNING,
                    FindingCode.SE_CONTROL_NUMBER,
                    f"SE02 {declared_control!r} does not match ST02 {control_number!r}",
                    number,
                    "SE",
                    "SE02",
                )
            )

    def _close_group(self, ge_elements: list[str] | None, number: int, closed_by: str) -> None:
        group = self._group
        if group is None:
            if ge_elements is not None:
                self._unmatched_trailer("GE", "GS", number)
            return
        self._close_transaction(None, number, closed_by)
        self._group = None
        padded = [*group.elements, "", "", "", "", "", "", "", "", ""]
        if ge_elements is None:
            self._document_finding(
                Severity.ERROR,
                FindingCode.MISSING_GE,
                f"functional group {padded[6]!r} has no GE before {closed_by}",
                number - 1,
                None,
            )
        else:
            self._check_trailer(
                ge_elements,
                (group.transaction_count, "transaction sets", FindingCode.GE_COUNT),
                (padded[6], "GS06", FindingCode.GE_CONTROL_NUMBER),
                number,
            )
        if group.transaction_count == 0:
            self._document_finding(
                Severity.WARNING,
                FindingCode.EMPTY_GROUP,
                f"functional group {padded[6]!r} holds no transaction set",
                group.first_segment,
                "GS",
            )
        completed = FunctionalGroup(
            functional_identifier=padded[1],
            application_sender=padded[2],
            application_receiver=padded[3],
            date=padded[4],
            time=padded[5],
            control_number=padded[6],
            version=padded[8],
            first_segment=group.first_segment,
            last_segment=number if ge_elements is not None else number - 1,
            complete=ge_elements is not None,
            transaction_count=group.transaction_count,
        )
        if self._interchange is not None:
            self._interchange.groups.append(completed)

    def _close_interchange(self, iea_elements: list[str] | None, number: int, closed_by: str) -> None:
        interchange = self._interchange
        if interchange is None:
            if iea_elements is not None:
                self._unmatched_trailer("IEA", "ISA", number)
            return
        self._close_group(None, number, closed_by)
        self._interchange = None
        isa = interchange.elements
        if iea_elements is None:
            self._document_finding(
                Severity.ERROR,
                FindingCode.MISSING_IEA,
                f"interchange {isa[13]!r} has no IEA before {closed_by}",
                number - 1,
                None,
            )
        else:
            self._check_trailer(
                iea_elements,
                (len(interchange.groups), "functional groups", FindingCode.IEA_COUNT),
                (isa[13], "ISA13", FindingCode.IEA_CONTROL_NUMBER),
                number,
            )
        if not interchange.groups and not interchange.acknowledgments:
            self._document_finding(
                Severity.WARNING,
                FindingCode.EMPTY_INTERCHANGE,
                f"interchange {isa[13]!r} holds no functional group and no TA1",
                interchange.first_segment,
                "ISA",
            )
        self.interchanges.append(
            Interchange(
                control_number=isa[13],
                sender_qualifier=isa[5],
                sender_id=isa[6].strip(),
                receiver_qualifier=isa[7],
                receiver_id=isa[8].strip(),
                date=isa[9],
                time=isa[10],
                version=isa[12],
                acknowledgment_requested=isa[14],
                usage_indicator=isa[15],
                separators=interchange.separators,
                first_segment=interchange.first_segment,
                last_segment=number if iea_elements is not None else number - 1,
                complete=iea_elements is not None,
                groups=interchange.groups,
                acknowledgments=interchange.acknowledgments,
            )
        )

    def _check_trailer(
        self,
        elements: list[str],
        count_check: tuple[int, str, FindingCode],
        control_check: tuple[str, str, FindingCode],
        number: int,
    ) -> None:
        segment_id = elements[0]
        actual_count, counted, count_code = count_check
        declared_count = elements[1] if len(elements) > 1 else ""
        if _as_int(declared_count) != actual_count:
            self._document_finding(
                Severity.WARNING,
                count_code,
                f"{segment_id}01 declares {declared_count!r} {counted} but there are {actual_count}",
                number,
                segment_id,
                f"{segment_id}01",
            )
        expected_control, header_element, control_code = control_check
        declared_control = elements[2] if len(elements) > 2 else ""
        if not _same_control_number(declared_control, expected_control):
            self._document_finding(
                Severity.WARNING,
                control_code,
                f"{segment_id}02 {declared_control!r} does not match {header_element} {expected_control!r}",
                number,
                segment_id,
                f"{segment_id}02",
            )

    def _unmatched_trailer(self, segment_id: str, header_id: str, number: int) -> None:
        self._document_finding(
            Severity.ERROR,
            FindingCode.UNMATCHED_TRAILER,
            f"{segment_id} without an open {header_id} was ignored",
            number,
            segment_id,
        )

    def _document_finding(
        self,
        severity: Severity,
        code: FindingCode,
        message: str,
        number: int,
        segment_id: str | None,
        element: str | None = None,
    ) -> None:
        self.findings.append(self.reader.finding(severity, code, message, number, segment_id, element))
