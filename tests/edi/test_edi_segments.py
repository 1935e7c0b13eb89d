"""Segments kept as text and split on demand: the same answers as a list, in any access pattern."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edi import FindingCode, read_x12, read_x12_file
from edi.reader import scan_envelopes
from edi.remittance import RemittanceAdvice
from edi.segments import TerminatedSegments
from tests.edi.edi_x12_builders import Layout, interchange, paid_claim, remittance

SEGMENT_TEXTS = st.lists(st.text(alphabet="ABC*:0123456789", min_size=1, max_size=12), min_size=1, max_size=60)


@given(texts=SEGMENT_TEXTS, boundary=st.sampled_from(["~", "~\n", "~\r\n"]), tail=st.sampled_from(["", "IEA*1"]))
def test_indexing_slicing_and_iteration_equal_the_split_list(texts: list[str], boundary: str, tail: str) -> None:
    segments = TerminatedSegments(boundary.join(texts) + boundary + tail, boundary, len(texts))
    assert list(segments) == texts
    assert [segments[index] for index in range(len(texts))] == texts
    assert segments[-1] == texts[-1]
    assert list(segments[1:-1]) == texts[1:-1]
    assert list(segments[2:][1:3]) == texts[2:][1:3]
    assert list(segments[::2]) == texts[::2]
    assert segments.offset(len(texts)) == len(boundary.join(texts) + boundary)
    with pytest.raises(IndexError):
        segments[len(texts)]


def test_iteration_crosses_block_boundaries_without_losing_a_segment() -> None:
    texts = [f"REF*6R*{number:07d}" for number in range(30_000)]  # about 480 KB: several blocks
    segments = TerminatedSegments("~\n".join(texts) + "~\nSE*30002*0001", "~\n", len(texts))
    assert list(segments) == texts
    assert list(segments[12_345:12_350]) == texts[12_345:12_350]


def test_regular_files_are_kept_as_text_and_irregular_ones_as_stripped_pieces() -> None:
    regular = scan_envelopes(interchange([remittance([paid_claim("PCN1")])]), "regular.x12")
    assert isinstance(regular.transactions[0].segments, TerminatedSegments)
    mixed = interchange([remittance([paid_claim("PCN1")])]).replace("~\nCLP", "~\r\n  CLP")
    irregular = scan_envelopes(mixed, "mixed.x12")
    assert isinstance(irregular.transactions[0].segments, list)
    assert irregular.transactions[0].segments == [segment.strip() for segment in irregular.transactions[0].segments]
    for scan in (regular, irregular):
        (text,) = scan.transactions
        assert text.segments[0].startswith("ST*835*") and text.segments[-1].startswith("SE*")


@pytest.mark.parametrize("layout", [Layout(), Layout(line_break=""), Layout(line_break="\r\n")], ids=str)
def test_a_file_is_read_through_a_memory_map_with_the_same_result(tmp_path: Path, layout: Layout) -> None:
    text = interchange([remittance([paid_claim("PCN1"), paid_claim("PCN2")])], layout=layout)
    path = tmp_path / "era.835"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    from_file, from_text = read_x12_file(path), read_x12(text, "era.835")
    assert [finding.code for finding in from_file.findings] == [FindingCode.BYTE_ORDER_MARK]
    assert from_file.transactions_of(RemittanceAdvice) == from_text.transactions_of(RemittanceAdvice)
    assert [segment.raw for segment in from_file.transactions[0].segments()] == [
        segment.raw for segment in from_text.transactions[0].segments()
    ]


def test_an_empty_file_is_the_usual_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.835"
    path.write_bytes(b"")
    with pytest.raises(Exception, match="input is empty"):
        read_x12_file(path)


def test_equal_to_the_list_it_stands_for() -> None:
    segments = TerminatedSegments("A*1~B*2~C*3~", "~", 3)
    listed = ["A*1", "B*2", "C*3"]
    assert segments == listed and listed == segments  # both operand orders on purpose
    assert segments[1:] == TerminatedSegments("B*2~C*3~", "~", 2)
    assert segments != ["A*1", "B*2"] and segments != "A*1~B*2~C*3"


def test_a_segment_is_found_by_its_number_in_any_order() -> None:
    document = read_x12(interchange([remittance([paid_claim(f"PCN{n}") for n in range(1, 40)])]), "era.835")
    (advice,) = document.transactions_of(RemittanceAdvice)
    every = {segment.number: segment.raw for segment in advice.segments()}
    for number in [*reversed(every), *every, 57, 3]:
        found = advice.segment(number)
        assert found is not None and found.raw == every[number]
    assert advice.segment(1) is None and advice.segment(max(every) + 1) is None
    assert [advice.segment(claim.segment_number).raw.split("*")[1] for claim in advice.claims][:2] == ["PCN1", "PCN2"]
