"""Separators and the lossless segment view shared by the reader, the views and the writers.

A segment is kept as the element strings it was split into; joining them with the element
separator gives back the exact text read (minus the terminator and line breaks), so a claim can
be copied into a corrected claim without losing anything the typed views do not model.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import overload

from pydantic import BaseModel, ConfigDict, model_validator

_FORBIDDEN_SEPARATOR_CHARACTERS = " "
_BLOCK_CHARACTERS = 1 << 16  # text split per step when iterating: a few thousand segments


def is_usable_separator(character: str) -> bool:
    """X12 delimiters must be one character that cannot occur in data (no letters/digits/space)."""
    return len(character) == 1 and not character.isalnum() and character not in _FORBIDDEN_SEPARATOR_CHARACTERS


class Separators(BaseModel):
    """Delimiters of one interchange: element, component, repetition (5010, ISA11) and segment."""

    model_config = ConfigDict(frozen=True)

    element: str = "*"
    component: str = ":"
    repetition: str | None = "^"
    segment: str = "~"

    @model_validator(mode="after")
    def _distinct_usable_characters(self) -> Separators:
        used = [self.element, self.component, self.segment]
        if self.repetition is not None:
            used.append(self.repetition)
        for character in used:
            if not is_usable_separator(character):
                raise ValueError(f"{character!r} cannot be an X12 separator")
        if len(set(used)) != len(used):
            raise ValueError(f"X12 separators must differ from each other, got {used!r}")
        if self.element in "\r\n" or self.component in "\r\n":
            raise ValueError("line breaks can only be segment terminators")
        return self


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment: its 1-based number in the file and its elements (``elements[0]`` is the id)."""

    number: int
    elements: tuple[str, ...]
    separators: Separators

    @property
    def segment_id(self) -> str:
        return self.elements[0]

    @property
    def raw(self) -> str:
        return self.separators.element.join(self.elements)

    def element(self, position: int) -> str:
        """Element text at X12 position ``position`` (1-based), empty when absent."""
        return self.elements[position] if 0 < position < len(self.elements) else ""

    def components(self, position: int) -> list[str]:
        return self.element(position).split(self.separators.component)


class TerminatedSegments(Sequence[str]):
    """The segments of a text in which every segment ends with the same boundary (the terminator,
    plus the line break when the file has one after every segment), split only when read.

    A transaction is then held as a window on the file's text rather than as one string per
    segment: a 20,000-claim ERA keeps no 466,000 segment strings alive, and iterating splits the
    text a block at a time, so a view reading it never holds them all at once. Offsets of the
    segments the reader looked at (the envelope segments) are shared by every window on the text,
    so indexing near them costs one search.
    """

    __slots__ = ("_boundary", "_first", "_known", "_length", "_offsets", "_text")

    def __init__(
        self,
        text: str,
        boundary: str,
        length: int,
        *,
        first: int = 0,
        offsets: tuple[dict[int, int], list[int]] | None = None,
    ) -> None:
        self._text = text
        self._boundary = boundary
        self._first = first
        self._length = length
        # index -> character offset, and the same indexes sorted (to find the nearest one below)
        self._offsets, self._known = offsets if offsets is not None else ({0: 0}, [0])

    @property
    def boundary(self) -> str:
        return self._boundary

    def remember_offset(self, index: int, offset: int) -> None:
        """Record where segment ``index`` (counted from the start of the text) starts."""
        if index not in self._offsets:
            bisect.insort(self._known, index)
        self._offsets[index] = offset

    def offset(self, index: int) -> int:
        """Character offset of segment ``index`` of this window (``len(self)``: just past the last)."""
        absolute = self._first + index
        offsets = self._offsets
        known = offsets.get(absolute)
        if known is not None:
            return known
        base = self._known[bisect.bisect_left(self._known, absolute) - 1]  # the nearest known below
        position = offsets[base]
        text, boundary = self._text, self._boundary
        for _ in range(absolute - base):
            position = text.find(boundary, position) + len(boundary)
        self.remember_offset(absolute, position)
        return position

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, key: int) -> str: ...

    @overload
    def __getitem__(self, key: slice) -> Sequence[str]: ...

    def __getitem__(self, key: int | slice) -> str | Sequence[str]:
        if isinstance(key, slice):
            window = range(self._length)[key]
            if window.step != 1:
                return list(self)[key]
            return TerminatedSegments(
                self._text,
                self._boundary,
                len(window),
                first=self._first + window.start,
                offsets=(self._offsets, self._known),
            )
        start = self.offset(range(self._length)[key])
        return self._text[start : self._text.find(self._boundary, start)]

    def __iter__(self) -> Iterator[str]:
        # chain iterates each block's list in C: a generator yielding segment by segment would
        # cost more per segment than the split itself
        return itertools.chain.from_iterable(self._blocks())

    def _blocks(self) -> Iterator[list[str]]:
        text, boundary = self._text, self._boundary
        position = self.offset(0)
        remaining = self._length
        while remaining > 0:
            block_end = text.find(boundary, position + _BLOCK_CHARACTERS)
            pieces = text[position : block_end if block_end >= 0 else len(text)].split(boundary)
            del pieces[remaining:]
            remaining -= len(pieces)
            yield pieces
            if block_end < 0:
                return
            position = block_end + len(boundary)

    def __eq__(self, other: object) -> bool:
        """Equal to any sequence of the same segment texts, as the list it stands for would be."""
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(mine == theirs for mine, theirs in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # equal to lists, which are unhashable

    def __repr__(self) -> str:
        return f"TerminatedSegments({self._length} segments from {self.offset(0)})"
