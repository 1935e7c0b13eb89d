"""Separators and the lossless segment view shared by the reader, the views and the writers.

A segment is kept as the element strings it was split into; joining them with the element
separator gives back the exact text read (minus the terminator and line breaks), so a claim can
be copied into a corrected claim without losing anything the typed views do not model.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, model_validator

_FORBIDDEN_SEPARATOR_CHARACTERS = " "


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
