"""Re-layouts of one X12 text: the same segments pretty-printed the ways senders write them.

Used by the layout tests of the reader and of the intake: every layout must read as the same
transaction sets, claims and findings as the original.
"""

from __future__ import annotations

from collections.abc import Callable

from edi import read_x12


def segments_of(text: str) -> tuple[list[str], str]:
    """The stripped segments of ``text`` from its first ISA on, and its segment terminator."""
    start = max(text.find("ISA"), 0)
    interchanges = read_x12(text, "probe").interchanges
    terminator = interchanges[0].separators.segment if interchanges else "~"  # a bare ST..SE sample
    pieces = [piece.strip(" \t\r\n") for piece in text[start:].split(terminator)]
    return [piece for piece in pieces if piece], terminator


def _indent(depth_of: Callable[[str], int], unit: str, line_break: str) -> Callable[[list[str], str], str]:
    def layout(segments: list[str], terminator: str) -> str:
        return "".join(unit * depth_of(segment) + segment + terminator + line_break for segment in segments)

    return layout


_DEPTH = {"ISA": 0, "IEA": 0, "GS": 1, "GE": 1, "ST": 2, "SE": 2}


def _envelope_depth(segment: str) -> int:
    segment_id = segment[: next((i for i, c in enumerate(segment) if not c.isalnum()), len(segment))]
    return _DEPTH.get(segment_id, 3)


LAYOUTS: dict[str, Callable[[list[str], str], str]] = {
    "one line": lambda segments, t: "".join(s + t for s in segments),
    "LF": lambda segments, t: "".join(s + t + "\n" for s in segments),
    "CRLF": lambda segments, t: "".join(s + t + "\r\n" for s in segments),
    "CR": lambda segments, t: "".join(s + t + "\r" for s in segments),
    "indented with spaces": _indent(_envelope_depth, "  ", "\n"),
    "indented with tabs, CRLF": _indent(_envelope_depth, "\t", "\r\n"),
    "only the body indented": _indent(lambda s: 0 if _envelope_depth(s) < 3 else 4, " ", "\n"),
    "blank before each terminator": lambda segments, t: "".join(s + " " + t + "\n" for s in segments),
    "blank after each terminator, one line": lambda segments, t: "".join(s + t + " " for s in segments),
    "blank lines between segments": lambda segments, t: "".join(s + t + "\n\n" for s in segments),
}


def relayouts(text: str) -> dict[str, str]:
    """Every layout of ``text``'s segments, by name."""
    segments, terminator = segments_of(text)
    return {name: layout(segments, terminator) for name, layout in LAYOUTS.items()}
