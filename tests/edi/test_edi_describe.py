"""describe(): a JSON-friendly, PHI-free summary, and its plain-text rendering."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from edi import read_x12, read_x12_file
from edi.describe import DocumentSummary, describe, render_lines
from tests.edi.edi_x12_builders import interchange, paid_claim, remittance

# patient names, member ids and birth dates present in the files below
PHI_BY_FILE = {
    "835_edi835parser_2.x12": ["COOL", "123456789", "234567890"],
    "271_lfh_2.x12": ["SMITH", "JOHN", "MARY", "123456789", "19630519", "1963-05-19", "19981014", "1998-10-14"],
    "277_lfh_1.x12": ["SMITH", "FRED", "MANN", "JOSEPH", "123456789A", "345678901"],
    "276_lfh_1.x12": ["SMITH", "JONES", "MARY", "19301210", "1930-12-10", "234567890A"],
    "837P_lfh_1.x12": ["SMITH", "JACK", "TED", "222334444", "19431022", "1943-10-22", "19730501", "1973-05-01"],
    "277CA_imsweb_1.x12": ["TPATIENT", "THEBE", "LL99999X"],
}


@pytest.mark.parametrize("name", sorted(PHI_BY_FILE))
def test_summary_has_no_patient_identity(samples_dir: Path, name: str) -> None:
    summary = describe(read_x12_file(samples_dir / name))
    as_json = summary.model_dump_json()
    as_text = "\n".join(render_lines(summary))
    for secret in PHI_BY_FILE[name]:
        token = re.compile(rf"(?<![0-9A-Za-z]){re.escape(secret)}(?![0-9A-Za-z])")
        assert not token.search(as_json), secret
        assert not token.search(as_text), secret
    assert DocumentSummary.model_validate_json(as_json) == summary


def test_remittance_summary_content(samples_dir: Path) -> None:
    summary = describe(read_x12_file(samples_dir / "835_edi835parser_2.x12"))
    (transaction,) = summary.transactions
    assert (transaction.kind, transaction.control_number, transaction.group_control_number) == (
        "835",
        "000000064",
        "444444444",
    )
    assert (transaction.payment_amount, transaction.payment_method, transaction.payment_date) == (
        Decimal("349.99"),
        "ACH",
        date(2021, 2, 4),
    )
    first = transaction.claims[0]
    assert (first.patient_control_number, first.payer_claim_control_number, first.patient_initials) == (
        "001-18573-358",
        "ATL2819897200",
        "CM",
    )
    assert (first.status_code, first.status, first.charge, first.paid, first.patient_responsibility) == (
        "1",
        "processed as primary",
        Decimal("341.28"),
        Decimal("88.92"),
        Decimal("105.26"),
    )
    assert [(a.group, a.carc, a.amount, a.quantity) for a in first.service_lines[1].adjustments] == [
        ("PR", "1", Decimal("105.26"), None),
        ("CO", "45", Decimal("79.6"), None),
    ]
    assert [str(a) for a in first.service_lines[1].adjustments] == ["PR-1 105.26", "CO-45 79.6"]
    data = json.loads(summary.model_dump_json())
    assert data["transactions"][0]["claims"][0]["charge"] == "341.28"


def test_findings_are_listed_with_locations_and_rendered_without_markup() -> None:
    bad = paid_claim("BAD")
    bad[0] = bad[0].replace("*200.00*", "*8O0.00*")
    text = interchange([remittance([paid_claim("OK"), bad], payment="300.00")])
    summary = describe(read_x12(text.replace("SE*30*0001", "SE*29*0001"), "[weird].835"))
    # the bad amount refuses its claim (error); the off SE01 count flags the set (warning)
    assert summary.error_count == 1 and summary.warning_count == 1
    assert [(f.code, f.location) for f in summary.findings] == [
        ("element.invalid_amount", "[weird].835 segment 21 CLP03"),
        ("envelope.se_segment_count", "[weird].835 segment 32 SE01"),
    ]
    assert [claim.valid for claim in summary.transactions[0].claims] == [True, False]
    lines = render_lines(summary)
    assert not any("[" in line or "]" in line for line in lines)
    assert "findings:" in lines
    assert any(line.startswith("  claim BAD payer# ICN-BAD patient AT status 1 processed as primary") for line in lines)


def test_eligibility_and_acknowledgment_summaries(samples_dir: Path) -> None:
    eligibility = describe(read_x12_file(samples_dir / "271_lfh_1.x12")).transactions[0].eligibility
    (subscriber,) = eligibility
    assert (subscriber.coverage_active, subscriber.plans, subscriber.patient_initials) == (
        True,
        ["GOLD 123 PLAN"],
        "JS",
    )
    assert [(b.kind, b.amount, b.in_network) for b in subscriber.benefits] == [
        ("copay", Decimal("10.00"), True),
        ("copay", Decimal("30.00"), False),
    ]
    rejected = describe(read_x12_file(samples_dir / "271_lfh_3.x12"))
    assert [(r.level_code, r.reason_code, r.follow_up_action) for r in rejected.transactions[0].rejections] == [
        ("21", "50", "N")
    ]
    lines = render_lines(describe(read_x12_file(samples_dir / "277CA_imsweb_2.x12")))
    assert "  status HL 21 TEST TEST (46 ETIN): A1:20" in lines
    assert any("status A7:562:85" in line for line in lines)
