"""Tokenizer and envelope reader: layouts, separators, several interchanges, envelope findings."""

from __future__ import annotations

from decimal import Decimal

import pytest

from edi import FindingCode, Severity, X12Document, X12SyntaxError, read_x12
from edi.remittance import RemittanceAdvice
from edi.transaction import UnrecognizedTransaction
from tests.edi.edi_x12_builders import Layout, interchange, paid_claim, remittance, transaction


def _claims(document: X12Document) -> list[tuple[str, Decimal | None, Decimal | None, int]]:
    return [
        (claim.patient_control_number, claim.charge, claim.paid, len(claim.services))
        for remittance_advice in document.transactions_of(RemittanceAdvice)
        for claim in remittance_advice.claims
    ]


def _codes(document: X12Document) -> list[FindingCode]:
    return [finding.code for finding in document.all_findings()]


BASE_CLAIMS = [("PCN1", Decimal("200.00"), Decimal("150.00"), 2), ("PCN2", Decimal("200.00"), Decimal("150.00"), 2)]


def _two_claim_835(layout: Layout | None = None) -> str:
    return interchange([remittance([paid_claim("PCN1"), paid_claim("PCN2")])], layout=layout)


@pytest.mark.parametrize(
    "layout",
    [
        Layout(),
        Layout(line_break=""),
        Layout(line_break="\r\n"),
        Layout(terminator="\r", line_break=""),
        Layout(terminator="\r", line_break="\n"),
        Layout(terminator="\n", line_break=""),
        Layout(terminator="\x1d", line_break=""),
        Layout(element="+", component=">", line_break=""),
        Layout(element="|", component="\\", repetition="}", line_break="\r\n"),
        Layout(element="~", component="^", repetition="{", terminator="_"),
    ],
    ids=["lf", "single-line", "crlf", "cr-terminator", "cr-terminator-lf", "lf-terminator", "gs-0x1d", "plus", "pipe",
         "tilde-underscore"],
)  # fmt: skip
def test_layouts_read_the_same(layout: Layout) -> None:
    text = _two_claim_835(layout)
    document = read_x12(text, "layout.x12")
    assert _claims(document) == BASE_CLAIMS
    assert document.all_findings() == []
    (read_interchange,) = document.interchanges
    assert read_interchange.separators.element == layout.element
    assert read_interchange.separators.segment == layout.terminator
    assert read_interchange.separators.component == layout.component
    assert [str(s.procedure) for s in document.transactions_of(RemittanceAdvice)[0].claims[0].services] == [
        "HC:99213:25",
        "HC:85025",
    ]
    assert document.segment_count == 34  # ISA GS ST + 6 header + 2 x 11 claim segments + SE GE IEA


def test_segments_are_numbered_and_kept_losslessly() -> None:
    text = _two_claim_835(Layout(line_break="\r\n"))
    document = read_x12(text.encode(), "lossless.x12")
    (advice,) = document.transactions_of(RemittanceAdvice)
    segments = advice.segments()
    assert [segment.number for segment in segments] == list(range(3, 33))
    originals = text.split("~\r\n")
    assert [segment.raw for segment in segments] == originals[2:32]
    assert advice.claims[0].segment_number == 10  # ISA=1, GS=2, ST=3, BPR..LX=4..9
    assert segments[7].element(1) == "PCN1" and segments[7].element(99) == ""


def test_bom_and_leading_text_are_findings() -> None:
    data = b"\xef\xbb\xbf" + b"Remittance file exported 2024-03-15\r\n" + _two_claim_835().encode()
    document = read_x12(data, "bom.x12")
    assert _claims(document) == BASE_CLAIMS
    assert [(f.severity, f.code) for f in document.findings] == [
        (Severity.INFO, FindingCode.BYTE_ORDER_MARK),
        (Severity.WARNING, FindingCode.LEADING_TEXT),
    ]
    assert "35 characters" in document.findings[1].message  # counted, not quoted


def test_several_interchanges_with_their_own_separators_and_several_transactions() -> None:
    first = interchange(
        [remittance([paid_claim("A1")], control="0001"), remittance([paid_claim("A2")], control="0002")]
    )
    second = interchange(
        [remittance([paid_claim("B1")], control="0001")],
        control="000000002",
        layout=Layout(element="|", component="^", repetition="{", terminator="\x1d", line_break=""),
    )
    document = read_x12(first + second, "two.x12")
    assert [claim[0] for claim in _claims(document)] == ["A1", "A2", "B1"]
    assert [interchange.control_number for interchange in document.interchanges] == ["000000001", "000000002"]
    assert [len(interchange.groups[0].model_dump()) > 0 for interchange in document.interchanges] == [True, True]
    assert document.interchanges[0].groups[0].transaction_count == 2
    assert document.interchanges[1].first_segment == document.interchanges[0].last_segment + 1
    assert document.interchanges[1].separators.element == "|"
    assert [t.header.interchange_control_number for t in document.transactions] == [
        "000000001",
        "000000001",
        "000000002",
    ]
    assert document.all_findings() == []


def test_same_separators_in_a_second_interchange_need_no_resplit() -> None:
    text = _two_claim_835() + _two_claim_835().replace("000000001", "000000002")
    document = read_x12(text, "again.x12")
    assert len(document.interchanges) == 2 and len(_claims(document)) == 4
    assert document.all_findings() == []


@pytest.mark.parametrize("cut_after", ["SVC*HC:85025*80.00*6", "CAS*CO*45*30.00~\n", "LQ*HE*N130~\nCLP*PC"])
def test_truncated_file_keeps_what_was_read_and_says_so(cut_after: str) -> None:
    text = _two_claim_835()
    truncated = text[: text.rindex(cut_after) + len(cut_after)]
    document = read_x12(truncated, "truncated.x12")
    (advice,) = document.transactions_of(RemittanceAdvice)
    assert not advice.header.complete
    assert advice.claims and advice.claims[0].patient_control_number == "PCN1"
    errors = {f.code for f in document.all_findings() if f.severity is Severity.ERROR}
    assert {FindingCode.MISSING_SE, FindingCode.MISSING_GE, FindingCode.MISSING_IEA} <= errors
    if not cut_after.endswith("\n"):
        assert FindingCode.UNTERMINATED_SEGMENT in errors
    assert not document.interchanges[0].complete


def test_wrong_counts_and_control_numbers_are_findings_with_locations() -> None:
    text = _two_claim_835()
    text = text.replace("SE*30*0001", "SE*31*0002").replace("GE*1*1", "GE*3*7").replace("IEA*1*000000001", "IEA*2*9")
    document = read_x12(text, "counts.x12")
    assert _claims(document) == BASE_CLAIMS
    located = {
        (f.code, f.location.segment_number, f.location.segment_id, f.location.element) for f in document.all_findings()
    }
    assert located == {
        (FindingCode.SE_COUNT, 32, "SE", "SE01"),
        (FindingCode.SE_CONTROL_NUMBER, 32, "SE", "SE02"),
        (FindingCode.GE_COUNT, 33, "GE", "GE01"),
        (FindingCode.GE_CONTROL_NUMBER, 33, "GE", "GE02"),
        (FindingCode.IEA_COUNT, 34, "IEA", "IEA01"),
        (FindingCode.IEA_CONTROL_NUMBER, 34, "IEA", "IEA02"),
    }
    se_count = next(f for f in document.all_findings() if f.code is FindingCode.SE_COUNT)
    assert str(se_count.location) == "counts.x12 segment 32 SE01"
    assert "'31'" in se_count.message and "30" in se_count.message


def test_unterminated_final_iea_is_only_a_warning() -> None:
    text = _two_claim_835().rstrip("\n").rstrip("~")
    document = read_x12(text, "noterm.x12")
    assert [(f.severity, f.code) for f in document.all_findings()] == [
        (Severity.WARNING, FindingCode.UNTERMINATED_SEGMENT)
    ]
    assert document.interchanges[0].complete


def test_stray_segments_outside_transactions_and_unmatched_trailers() -> None:
    text = _two_claim_835().replace("GE*1*1~\n", "GE*1*1~\nCLP*STRAY*1*1*1~\nSE*2*0009~\n")
    document = read_x12(text + "trailing words", "stray.x12")
    codes = _codes(document)
    assert FindingCode.SEGMENT_OUTSIDE_TRANSACTION in codes
    assert FindingCode.UNMATCHED_TRAILER in codes
    assert FindingCode.TRAILING_TEXT in codes
    assert _claims(document) == BASE_CLAIMS


def test_transaction_without_group_and_empty_interchange() -> None:
    text = _two_claim_835()
    without_gs = "\n".join(line for line in text.splitlines() if not line.startswith(("GS*", "GE*")))
    document = read_x12(without_gs.replace("IEA*1*", "IEA*0*"), "nogs.x12")
    assert FindingCode.MISSING_GS in _codes(document)
    assert _claims(document) == BASE_CLAIMS
    empty = read_x12(text.split("GS*")[0] + "IEA*0*000000001~", "empty.x12")
    assert _codes(empty) == [FindingCode.EMPTY_INTERCHANGE]


def test_ta1_interchange_acknowledgment() -> None:
    text = interchange([]).split("GS*")[0] + "TA1*000000905*240315*1200*R*022~\nIEA*0*000000001~\n"
    document = read_x12(text, "ta1.x12")
    (ack,) = document.interchanges[0].acknowledgments
    assert (ack.interchange_control_number, ack.status_code, ack.note_code, ack.accepted) == (
        "000000905",
        "R",
        "022",
        False,
    )
    assert document.all_findings() == []


def test_unknown_transaction_type_is_kept_with_a_warning() -> None:
    text = interchange([transaction("810", "0001", "004010", ["BIG*20240101*INV1", "TDS*100"])], functional_id="IN")
    document = read_x12(text, "invoice.x12")
    (unknown,) = document.transactions
    assert isinstance(unknown, UnrecognizedTransaction)
    assert [segment.segment_id for segment in unknown.segments()] == ["ST", "BIG", "TDS", "SE"]
    assert _codes(document) == [FindingCode.UNKNOWN_TRANSACTION]


def test_isa_without_fixed_widths_is_read_with_an_error() -> None:
    text = _two_claim_835().replace("*SENDER         *", "*SENDER*", 1)
    document = read_x12(text, "short-isa06.x12")
    (finding,) = document.findings
    assert (finding.code, finding.location.element) == (FindingCode.ISA_LAYOUT, "ISA06")
    assert "ISA06 has length 6, expected 15" in finding.message
    assert _claims(document) == BASE_CLAIMS


def test_not_utf8_is_decoded_as_latin1_with_a_warning() -> None:
    data = _two_claim_835().replace("TEST PAYER", "TEST PAYÉR").encode("latin-1")
    document = read_x12(data, "latin1.x12")
    assert _codes(document) == [FindingCode.NOT_UTF8]
    assert document.transactions_of(RemittanceAdvice)[0].payer is not None


def test_bare_transaction_without_envelope() -> None:
    body = "~".join(remittance([paid_claim("BARE")])) + "~"
    document = read_x12(body, "bare.835")
    assert [claim[0] for claim in _claims(document)] == ["BARE"]
    assert _codes(document) == [FindingCode.NO_INTERCHANGE_ENVELOPE]


@pytest.mark.parametrize(
    ("data", "reason", "segment_id", "element"),
    [
        (b"", "input is empty", None, None),
        (b"  \r\n\t", "input is empty", None, None),
        (b"GS*HP*A*B*20240101*1200*1*X*005010X221A1~", "no ISA segment found", None, None),
        (b"ISA*00*          *00*   ~", "ISA segment is truncated", "ISA", None),
        (b"ISA*00*" + b"x" * 200, "ISA segment is truncated", "ISA", None),
    ],
    ids=["empty", "blank", "starts-at-gs", "short-isa", "no-separators"],
)
def test_unreadable_input_raises_one_typed_error(
    data: bytes, reason: str, segment_id: str | None, element: str | None
) -> None:
    with pytest.raises(X12SyntaxError) as raised:
        read_x12(data, "broken.x12")
    assert reason in str(raised.value)
    assert str(raised.value).startswith("broken.x12")
    assert (raised.value.location.segment_id, raised.value.location.element) == (segment_id, element)


def test_letter_as_component_separator_is_fatal_with_location() -> None:
    text = _two_claim_835()
    bad = text.replace("*T*:~", "*T*A~", 1)
    with pytest.raises(X12SyntaxError) as raised:
        read_x12(bad, "letters.x12")
    assert raised.value.location.model_dump() == {
        "source_name": "letters.x12",
        "segment_number": 1,
        "segment_id": "ISA",
        "element": "ISA16",
    }
    assert "segment 1 ISA16" in str(raised.value)


def test_several_functional_groups_in_one_interchange() -> None:
    first = interchange([remittance([paid_claim("G1")])], group_control="11")
    second = interchange(
        [transaction("999", "0001", "005010X231A1", ["AK1*HC*5*005010X222A1", "AK9*A*0*0*0"])],
        functional_id="FA",
        version="005010X231A1",
        group_control="12",
    )
    groups_of_second = second[second.index("GS*") : second.index("IEA*")]
    text = first.replace("IEA*1*", groups_of_second + "IEA*2*")
    document = read_x12(text, "groups.x12")
    (read_interchange,) = document.interchanges
    assert [(group.functional_identifier, group.control_number) for group in read_interchange.groups] == [
        ("HP", "11"),
        ("FA", "12"),
    ]
    assert [transaction.kind for transaction in document.transactions] == ["835", "999"]
    assert [t.header.group_control_number for t in document.transactions] == ["11", "12"]
    assert document.all_findings() == []
