"""Any legal layout of segments reads the same: one line, LF, CRLF, CR, indented with spaces or
tabs, blanks before or after terminators, blank lines. The fast path (text kept whole) and the
slow path (split and stripped) must give the same transaction sets, claims and findings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from edi import X12Document, read_x12
from edi.acknowledgment import ImplementationAcknowledgment
from edi.eligibility import EligibilityResponse
from edi.segments import TerminatedSegments
from edi.transaction import TransactionView
from tests.edi.edi_x12_builders import interchange, paid_claim, remittance
from tests.edi.x12_layouts import LAYOUTS, relayouts

SAMPLE_FILES = [
    "835_lfh_1.x12",
    "835_lfh_2.x12",
    "835_lfh_3.x12",
    "835_pyx12_1.x12",
    "835_edi835parser_1.x12",
    "835_edi835parser_2.x12",
    "835_edi835parser_3.x12",  # a bare ST..SE with "~"
    "277_lfh_1.x12",
    "277_lfh_2.x12",
    "277_imsweb_1.x12",
    "277CA_imsweb_1.x12",
    "277CA_imsweb_2.x12",
    "837P_lfh_1.x12",
    "837P_lfh_2.x12",
    "837P_imsweb_1.x12",
    "837P_imsweb_2.x12",
    "837P_imsweb_3.x12",
    "271_lfh_1.x12",
    "271_lfh_2.x12",
    "271_lfh_3.x12",
    "270_lfh_1.x12",
    "276_lfh_1.x12",
]

#: (file, transaction sets, claims) from SOURCES.md's independent counts (claims(CLP), claims(CLM),
#: claim-level TRN of a 277, HL 22/23 of a 271)
SOURCE_COUNTS = {
    "835_lfh_2.x12": (1, 2),
    "835_edi835parser_1.x12": (1, 3),
    "835_edi835parser_2.x12": (1, 2),
    "277_lfh_1.x12": (1, 3),
    "277_imsweb_1.x12": (1, 8),
    "837P_imsweb_1.x12": (1, 820),
    "837P_imsweb_2.x12": (1, 2),
    "837P_imsweb_3.x12": (2, 6),
}


Shape = tuple[int, tuple[tuple[str, str, int], ...], tuple[tuple[str, str, int | None, str | None], ...]]


def shape(document: X12Document) -> Shape:
    """What must not depend on the layout: sets, records per set, findings (not input-level ones)."""
    records: list[tuple[str, str, int]] = []
    for transaction in document.transactions:
        items: list[object]
        if isinstance(transaction, EligibilityResponse):
            items = list(transaction.results)
        elif isinstance(transaction, ImplementationAcknowledgment):
            items = list(transaction.transaction_acks)
        else:
            items = list(getattr(transaction, "claims", getattr(transaction, "queries", [])))
        records.append((transaction.kind, transaction.header.control_number, len(items)))
    findings = sorted(
        (f.code.value, f.severity.value, f.location.segment_number, f.location.element)
        for f in document.all_findings()
        if not f.code.value.startswith("input.")
    )
    return document.segment_count, tuple(records), tuple(findings)


def claims_in(document: X12Document) -> int:
    return sum(len(getattr(t, "claims", [])) for t in document.transactions)


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_public_samples_read_the_same_in_every_layout(samples_dir: Path, name: str) -> None:
    original = (samples_dir / name).read_bytes().decode("utf-8-sig", "replace")
    expected = shape(read_x12(original, name))
    assert expected[1], f"{name}: no transaction set read from the original"
    for layout, text in relayouts(original).items():
        assert shape(read_x12(text, name)) == expected, f"{name} {layout}"


@pytest.mark.parametrize("name", sorted(SOURCE_COUNTS))
def test_indented_samples_hold_the_independently_counted_claims(samples_dir: Path, name: str) -> None:
    sets, claims = SOURCE_COUNTS[name]
    original = (samples_dir / name).read_bytes().decode("utf-8-sig", "replace")
    for layout, text in relayouts(original).items():
        document = read_x12(text, name)
        assert (len(document.transactions), claims_in(document)) == (sets, claims), layout


def _own_era() -> str:
    return interchange(
        [
            remittance([paid_claim("A1"), paid_claim("A2")], control="0001"),
            remittance([paid_claim("B1")], control="0002"),
            remittance([paid_claim("C1"), paid_claim("C2"), paid_claim("C3")], control="0003"),
        ]
    )


def test_own_builders_read_the_same_in_every_layout() -> None:
    era = _own_era()
    expected = shape(read_x12(era, "own.835"))
    assert [count for _, _, count in expected[1]] == [2, 1, 3]
    assert expected[2] == ()
    for layout, text in relayouts(era).items():
        document = read_x12(text, "own.835")
        assert shape(document) == expected, layout
        assert claims_in(document) == 6, layout


@pytest.mark.parametrize("layout", ["one line", "LF", "CRLF", "CR"])
def test_regular_layouts_keep_the_fast_path(layout: str) -> None:
    text = relayouts(_own_era())[layout]
    segments = _segments(read_x12(text, "own.835").transactions[0])
    assert isinstance(segments, TerminatedSegments)


@pytest.mark.parametrize("layout", sorted(set(LAYOUTS) - {"one line", "LF", "CRLF", "CR"}))
def test_indented_or_padded_layouts_are_stripped(layout: str) -> None:
    document = read_x12(relayouts(_own_era())[layout], "own.835")
    for transaction in document.transactions:
        for segment in transaction.segments():
            assert segment.raw == segment.raw.strip(" \t\r\n"), layout
            assert segment.segment_id.isalnum(), layout


def test_a_blank_before_the_isa_terminator_is_layout_not_the_terminator() -> None:
    text = relayouts(_own_era())["blank before each terminator"]
    [interchange_read] = read_x12(text, "own.835").interchanges
    assert interchange_read.separators.segment == "~"


def _segments(transaction: TransactionView) -> object:
    text = transaction._text
    assert text is not None
    return text.segments


def test_blank_lines_after_the_last_segment_keep_the_fast_path() -> None:
    document = read_x12(_own_era() + "\n\n", "own.835")
    assert isinstance(_segments(document.transactions[0]), TerminatedSegments)
    assert shape(document) == shape(read_x12(_own_era(), "own.835"))


@pytest.mark.parametrize(
    ("where", "edit"),
    [
        ("a blank before the last terminator", lambda text: text.replace("IEA*1*000000001~", "IEA*1*000000001 ~")),
        ("one indented segment deep inside", lambda text: text.replace("\nCLP*C2", "\n  CLP*C2")),
        ("one tab before a terminator", lambda text: text.replace("LX*1~", "LX*1\t~")),
        ("one empty segment", lambda text: text.replace("LX*1~\n", "LX*1~\n~\n")),
        ("one blank line", lambda text: text.replace("LX*1~\n", "LX*1~\n\n")),
    ],
)
def test_a_single_irregular_place_is_found_and_read_like_the_rest(where: str, edit: Callable[[str], str]) -> None:
    era = _own_era()
    changed = edit(era)
    assert changed != era, where
    document = read_x12(changed, "own.835")
    assert not isinstance(_segments(document.transactions[0]), TerminatedSegments), where
    assert shape(document)[1] == shape(read_x12(era, "own.835"))[1], where
    assert claims_in(document) == 6, where
    assert all(s.segment_id.isalnum() for t in document.transactions for s in t.segments()), where
