"""Public sample files: our extracted values against the independent counts in SOURCES.md.

SOURCES.md is parsed (separators, GS08, interchanges, envelope errors, content facts), so every
fact it states about a file is asserted; a fact key this test does not know fails the test.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from edi import FindingCode, Severity, X12Document, read_x12_file
from edi.claim_status import ClaimStatusRequestSet, ClaimStatusResponse
from edi.eligibility import EligibilityRequestSet, EligibilityResponse
from edi.professional_claim import ProfessionalClaimSet
from edi.remittance import RemittanceAdvice

SAMPLE_FILES = [
    "270_lfh_1.x12", "270_lfh_2.x12", "270_lfh_3.x12", "271_lfh_1.x12", "271_lfh_2.x12", "271_lfh_3.x12",
    "276_lfh_1.x12", "276_lfh_2.x12", "277CA_imsweb_1.x12", "277CA_imsweb_2.x12", "277_imsweb_1.x12",
    "277_lfh_1.x12", "277_lfh_2.x12", "835_edi835parser_1.x12", "835_edi835parser_2.x12",
    "835_edi835parser_3.x12", "835_lfh_1.x12", "835_lfh_2.x12", "835_lfh_3.x12", "835_pyx12_1.x12",
    "837P_imsweb_1.x12", "837P_imsweb_2.x12", "837P_imsweb_3.x12", "837P_lfh_1.x12", "837P_lfh_2.x12",
]  # fmt: skip

# SOURCES.md reports no envelope error for this bare ST..SE file, but SE01 says 33 where ST..SE
# holds 32 segments (32 '~' in the file); its checker evidently skipped files without an ISA.
ENVELOPE_ERRORS_NOT_IN_SOURCES = {"835_edi835parser_3.x12": ["SE01=33 actual=32"]}
ENVELOPE_CODES = {
    FindingCode.SE_COUNT,
    FindingCode.SE_CONTROL_NUMBER,
    FindingCode.GE_COUNT,
    FindingCode.GE_CONTROL_NUMBER,
    FindingCode.IEA_COUNT,
    FindingCode.IEA_CONTROL_NUMBER,
}
_ENVELOPE_ERROR_CODES = {
    "SE01": FindingCode.SE_COUNT,
    "SE02": FindingCode.SE_CONTROL_NUMBER,
    "GE01": FindingCode.GE_COUNT,
    "GE02": FindingCode.GE_CONTROL_NUMBER,
    "IEA01": FindingCode.IEA_COUNT,
    "IEA02": FindingCode.IEA_CONTROL_NUMBER,
}


def _first_group(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match is not None, pattern
    return match.group(1)


def _sources(samples_dir: Path) -> dict[str, dict[str, Any]]:
    entries: dict[str, dict[str, Any]] = {}
    for block in (samples_dir / "SOURCES.md").read_text().split("\n### ")[1:]:
        name, _, body = block.partition("\n")
        entry: dict[str, Any] = {"envelope_errors": []}
        separators = re.search(r"element `(.)` component `(.)` repetition `(.)` segment '(.)'", body)
        if separators:
            entry["separators"] = separators.groups()
            entry["gs08"] = _first_group(r"GS08 (\S+);", body)
            entry["interchanges"] = int(_first_group(r"interchanges: (\d+)", body))
        errors = re.search(r"Envelope errors: (.*)", body)
        if errors and errors.group(1) != "none found":
            entry["envelope_errors"] = errors.group(1).split("; ")
        facts = re.search(r"Content facts \(independent count\): `(\{.*\})`", body)
        entry["facts"] = json.loads(facts.group(1)) if facts else {}
        entries[name.strip()] = entry
    return entries


def _counter(values: list[str]) -> dict[str, int]:
    return dict(Counter(values))


def _raw_count(document: X12Document, segment_id: str) -> int:
    return sum(
        1
        for transaction in document.transactions
        for segment in transaction.segments()
        if segment.segment_id == segment_id
    )


def _facts(document: X12Document) -> dict[str, Any]:
    """Our values under the keys SOURCES.md uses."""
    remittances = document.transactions_of(RemittanceAdvice)
    claims_835 = [claim for remittance in remittances for claim in remittance.claims]
    statuses = document.transactions_of(ClaimStatusResponse)
    status_claims = [claim for response in statuses for claim in response.claims]
    reports = [report for claim in status_claims for report in claim.statuses]
    reports += [report for claim in status_claims for line in claim.services for report in line.statuses]
    reports += [report for response in statuses for level in response.reporting_levels for report in level.statuses]
    eligibility_responses = document.transactions_of(EligibilityResponse)
    results = [result for response in eligibility_responses for result in response.results]
    requests = [query for request in document.transactions_of(EligibilityRequestSet) for query in request.queries]
    professional = [claim for batch in document.transactions_of(ProfessionalClaimSet) for claim in batch.claims]
    rejections = [rejection for response in eligibility_responses for rejection in response.rejections]
    rejections += [rejection for result in results for rejection in result.rejections]
    return {
        "transactions": len(document.transactions),
        "claims(CLP)": len(claims_835),
        "CLP02 status": _counter([claim.status_code for claim in claims_835]),
        "CAS segs": _raw_count(document, "CAS"),
        "CARC (group-reason)": _counter(
            [
                f"{adjustment.group}-{adjustment.reason}"
                for claim in claims_835
                for adjustment in claim.all_adjustments()
            ]
        ),
        "RARC": _counter([code for claim in claims_835 for code in claim.all_remark_codes()]),
        "PLB segs": len({adjustment.segment_number for r in remittances for adjustment in r.provider_adjustments}),
        "claims(CLM)": len(professional),
        "CLM05-3 freq": _counter([claim.frequency_code for claim in professional]),
        "service lines(SV1)": sum(len(claim.services) for claim in professional),
        "EB01": _counter([benefit.code for result in results for benefit in result.benefits]),
        "AAA (reject reason)": [rejection.reason_code for rejection in rejections],
        "EQ": [service_type for query in requests for service_type in query.service_types],
        "HL22/23": len(results) + len(requests),
        "TRN*1 (claim trace)": sum(len(request.queries) for request in document.transactions_of(ClaimStatusRequestSet)),
        "STC segs": len(reports),
        "STC01 category:status": _counter(
            [f"{report.statuses[0].category}:{report.statuses[0].status}" for report in reports]
        ),
        "TRN*2 (claim trace)": len(status_claims)
        + sum(1 for response in statuses for level in response.reporting_levels if level.level_code == "21"),
    }


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_content_facts_match_sources(samples_dir: Path, name: str) -> None:
    expected = _sources(samples_dir)[name]["facts"]
    ours = _facts(read_x12_file(samples_dir / name))
    assert expected, f"SOURCES.md states no content facts for {name}"
    for key, value in expected.items():
        assert key in ours, f"unknown SOURCES.md fact {key!r}"
        assert ours[key] == value, f"{name}: {key}"


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_envelope_matches_sources(samples_dir: Path, name: str) -> None:
    entry = _sources(samples_dir)[name]
    document = read_x12_file(samples_dir / name)
    envelope_findings = [finding for finding in document.all_findings() if finding.code in ENVELOPE_CODES]
    expected_errors = entry["envelope_errors"] + ENVELOPE_ERRORS_NOT_IN_SOURCES.get(name, [])
    assert len(envelope_findings) == len(expected_errors)
    for error in expected_errors:
        parsed = re.match(r"(\w+)=(\w+) (?:actual=|!= \w+=)(\w+)", error)
        assert parsed is not None, error
        element, declared, other = parsed.groups()
        assert any(
            finding.code is _ENVELOPE_ERROR_CODES[element]
            and finding.location.element == element
            and declared in finding.message
            and other in finding.message
            for finding in envelope_findings
        ), error
    if "separators" in entry:
        element, component, repetition, terminator = entry["separators"]
        (interchange,) = document.interchanges
        assert len(document.interchanges) == entry["interchanges"]
        assert interchange.separators.element == element
        assert interchange.separators.component == component
        assert interchange.separators.segment == terminator
        assert interchange.groups[0].version == entry["gs08"]
        # ISA11 "U" (the pre-00402 standards id) cannot separate repetitions in 00501: a warning
        assert interchange.separators.repetition == (None if repetition == "U" else repetition)
        repetition_warnings = [f for f in document.findings if f.code is FindingCode.REPETITION_SEPARATOR]
        assert len(repetition_warnings) == (1 if repetition == "U" else 0)
    else:
        assert document.interchanges == []
        assert [finding.code for finding in document.findings] == [FindingCode.NO_INTERCHANGE_ENVELOPE]
    assert all(transaction.header.complete for transaction in document.transactions)


def _read(samples_dir: Path, name: str) -> X12Document:
    return read_x12_file(samples_dir / name)


def test_835_claim_values(samples_dir: Path) -> None:
    (remittance,) = _read(samples_dir, "835_edi835parser_2.x12").transactions_of(RemittanceAdvice)
    assert remittance.payment is not None
    assert (remittance.payment.handling_code, remittance.payment.amount, remittance.payment.method) == (
        "I",
        Decimal("349.99"),
        "ACH",
    )
    assert str(remittance.payment.payment_date) == "2021-02-04"
    assert remittance.trace_number == "1234567890"
    assert remittance.payer is not None and remittance.payer.name == "UNITED HEALTHCARE INSURANCE COMPANY"
    assert remittance.payee is not None and remittance.payee.identifier == "1922164458"
    first, second = remittance.claims
    assert (first.patient_control_number, first.charge, first.paid, first.patient_responsibility) == (
        "001-18573-358",
        Decimal("341.28"),
        Decimal("88.92"),
        Decimal("105.26"),
    )
    assert (first.filing_indicator, first.payer_claim_control_number) == ("16", "ATL2819897200")
    line = second.services[2]
    assert (str(line.procedure), line.charge, line.paid, line.units) == (
        "HC:B4154",
        Decimal("328.5"),
        Decimal("29.05"),
        Decimal("178"),
    )
    assert [str(adjustment) for adjustment in line.adjustments] == ["PR-2 5.13", "PR-1 110", "CO-45 184.32"]
    assert line.line_control_number == "123456789014"
    assert line.allowed_amount == Decimal("144.18")
    assert all(claim.is_valid for claim in remittance.claims)
    assert remittance.findings == []


def test_835_denied_claim_and_remarks(samples_dir: Path) -> None:
    (remittance,) = _read(samples_dir, "835_pyx12_1.x12").transactions_of(RemittanceAdvice)
    (claim,) = remittance.claims
    assert claim.is_denied and claim.status_label == "denied"
    assert (claim.charge, claim.paid) == (Decimal("915.39"), Decimal(0))
    assert [service.remark_codes for service in claim.services] == [("N14",), ("N14",), ("N14",)]
    assert [service.units for service in claim.services] == [Decimal(68), Decimal(16), Decimal(36)]
    assert claim.services[0].service_date == date(2003, 11, 29)
    assert remittance.payment is not None and remittance.payment.handling_code == "H"
    assert claim.is_valid


def test_835_provider_adjustment_and_institutional_remarks(samples_dir: Path) -> None:
    (remittance,) = _read(samples_dir, "835_lfh_3.x12").transactions_of(RemittanceAdvice)
    (plb,) = remittance.provider_adjustments
    assert (plb.provider_identifier, plb.reason_code, plb.reference, plb.amount) == (
        "6543210903",
        "CV",
        "CP",
        Decimal("-1.27"),
    )
    assert remittance.claims[1].remark_codes == ("MA02",)
    assert remittance.findings == []  # BPR02 150000.00 = claims 149998.73 - PLB (-1.27)


def test_835_sample_quirks_are_findings(samples_dir: Path) -> None:
    bad_payment_date = _read(samples_dir, "835_lfh_1.x12").all_findings()
    assert [(f.code, f.location.element, f.location.segment_number) for f in bad_payment_date] == [
        (FindingCode.INVALID_DATE, "BPR16", 4)
    ]
    bare = _read(samples_dir, "835_edi835parser_3.x12")
    (claim,) = bare.transactions_of(RemittanceAdvice)[0].claims
    assert not claim.is_valid  # its third SVC has no charge or payment (SVC02/SVC03 empty)
    assert {(f.code, f.location.element) for f in claim.findings if f.severity is Severity.ERROR} == {
        (FindingCode.MISSING_ELEMENT, "SVC02"),
        (FindingCode.MISSING_ELEMENT, "SVC03"),
    }
    wrong_component = _read(samples_dir, "835_lfh_2.x12").transactions_of(RemittanceAdvice)[0]
    assert all(claim.is_valid for claim in wrong_component.claims)  # ">" inside SVC01 is only a warning
    assert [f.code for f in wrong_component.claims[1].findings] == [FindingCode.MALFORMED_COMPOSITE] * 2


def test_277_claim_statuses(samples_dir: Path) -> None:
    (response,) = _read(samples_dir, "277_lfh_1.x12").transactions_of(ClaimStatusResponse)
    assert response.kind == "277"
    pending, finalized, denied = response.claims
    assert (pending.trace_number, pending.payer_claim_control_number, pending.patient_control_number) == (
        "ABCXYZ1",
        "05347006051",
        "SM123456",
    )
    assert pending.billing_type == "111"
    assert (pending.service_date, pending.service_end_date) == (date(2005, 8, 31), date(2005, 9, 6))
    assert str(pending.primary_status) == "P3:317"
    assert pending.statuses[0].total_charge == Decimal("8513.88")
    assert (finalized.statuses[0].paid_amount, str(finalized.primary_status)) == (Decimal("7599.00"), "F0:3")
    assert denied.level_code == "23" and str(denied.primary_status) == "F2:88:QC"
    (line,) = denied.services
    assert (str(line.procedure), line.charge, line.paid, line.units) == (
        "HC:99203",
        Decimal("150.00"),
        Decimal("0.00"),
        Decimal("1.00"),
    )
    assert [str(report.statuses[0]) for report in line.statuses] == ["F2:88:QC"]
    assert denied.provider is not None and denied.provider.identifier == "166666666"
    assert denied.payer is not None and denied.payer.name == "ABC INSURANCE"


def test_277ca_rejection_with_pipe_component_separator(samples_dir: Path) -> None:
    (response,) = _read(samples_dir, "277CA_imsweb_2.x12").transactions_of(ClaimStatusResponse)
    assert response.kind == "277CA"
    (batch,) = [level for level in response.reporting_levels if level.statuses]
    assert (batch.level_code, str(batch.statuses[0].statuses[0])) == ("21", "A1:20")
    assert (batch.accepted_quantity, batch.accepted_amount) == (Decimal(1), Decimal("199.14"))
    (claim,) = response.claims
    assert claim.level_code == "PT"
    assert claim.patient_control_number == "3920394930203"  # 277CA TRN02 is the claim's CLM01
    assert claim.payer_claim_control_number == "1107000000001120"
    status = claim.primary_status
    assert status is not None
    assert (status.category, status.status, status.entity) == ("A7", "562", "85")


def test_277_free_text_and_provider_level_status(samples_dir: Path) -> None:
    (response,) = _read(samples_dir, "277_imsweb_1.x12").transactions_of(ClaimStatusResponse)
    assert {claim.statuses[0].message for claim in response.claims} == {"PAYER ACKNOWLEDGED RECEIPT OF THE CLAIM"}
    assert [claim.statuses[0].total_charge for claim in response.claims][:2] == [Decimal(600), Decimal(400)]
    (provider_level,) = _read(samples_dir, "277_lfh_2.x12").transactions_of(ClaimStatusResponse)
    not_found = [level for level in provider_level.reporting_levels if level.statuses]
    assert [(level.level_code, str(level.statuses[0].statuses[0])) for level in not_found] == [("19", "E0:24:85")]


def test_271_benefits(samples_dir: Path) -> None:
    (response,) = _read(samples_dir, "271_lfh_2.x12").transactions_of(EligibilityResponse)
    subscriber, dependent = response.results
    assert subscriber.benefits == [] and dependent.level_code == "23"
    coverage = dependent.coverage
    assert coverage.active is True
    assert coverage.plans == ["GOLD 123 PLAN"]
    assert coverage.active_service_types[:3] == ["30", "1", "33"]
    copays = coverage.of_kind("copay")
    assert [(copay.amount, copay.in_network, copay.time_period) for copay in copays] == [
        (Decimal("10.00"), True, "27"),
        (Decimal("30.00"), False, "27"),
    ]
    primary_care = [benefit for benefit in dependent.benefits if benefit.code == "L"]
    assert [entity.identifier for entity in primary_care[0].related_entities] == ["0202034"]
    assert dependent.subscriber is not None and dependent.trace_number == "93175-012547"
    assert [(date.qualifier, str(date.start)) for date in dependent.dates] == [("346", "2006-01-01")]


def test_271_rejection_at_receiver_level(samples_dir: Path) -> None:
    (response,) = _read(samples_dir, "271_lfh_3.x12").transactions_of(EligibilityResponse)
    (rejection,) = response.rejections
    assert (rejection.level_code, rejection.valid_request, rejection.reason_code, rejection.follow_up_action) == (
        "21",
        "Y",
        "50",
        "N",
    )
    assert response.results == []


def test_837p_claim_values(samples_dir: Path) -> None:
    (batch,) = _read(samples_dir, "837P_lfh_1.x12").transactions_of(ProfessionalClaimSet)
    (claim,) = batch.claims
    assert (claim.claim_id, claim.charge, claim.place_of_service, claim.frequency_code) == (
        "26407789",
        Decimal("79.04"),
        "11",
        "1",
    )
    assert [f"{d.qualifier}:{d.code}" for d in claim.diagnoses] == ["BK:4779", "BF:2724", "BF:2780", "BF:53081"]
    assert [
        (line.line_number, str(line.procedure), line.charge, line.diagnosis_pointers) for line in claim.services
    ] == [
        ("1", "HC:99213", Decimal("43.00"), [1, 2, 3, 4]),
        ("2", "HC:90782", Decimal("15.00"), [1, 2]),
        ("3", "HC:J3301", Decimal("21.04"), [1, 2]),
    ]
    assert claim.billing_provider is not None and claim.billing_provider.identifier == "1999996666"
    assert claim.payer is not None and claim.payer.name == "GREAT PRAIRIES HEALTH"  # not the 2330B other payer
    assert claim.patient is not None and claim.patient.entity_code == "QC"
    assert (claim.payer_responsibility, claim.relationship_code) == ("S", "19")
    assert batch.submitter is not None and batch.submitter.name == "PREMIER BILLING SERVICE"


def test_837p_unusual_separators_and_broken_hierarchy(samples_dir: Path) -> None:
    document = _read(samples_dir, "837P_imsweb_2.x12")
    (batch,) = document.transactions_of(ProfessionalClaimSet)
    assert [claim.claim_id for claim in batch.claims] == ["A37YH556", "A37YH667"]
    assert [str(claim.services[0].procedure) for claim in batch.claims] == ["HC:99211:25", "HC:478331:25"]
    assert batch.claims[1].services[0].diagnosis_pointers == [1, 2, 3]
    codes = Counter(finding.code for finding in document.all_findings())
    assert codes[FindingCode.HL_UNKNOWN_PARENT] == 1 and codes[FindingCode.HL_DUPLICATE_ID] == 1
    assert codes[FindingCode.MALFORMED_COMPOSITE] == 2  # "HI~BK~8901~..." uses element separators
    many = _read(samples_dir, "837P_imsweb_1.x12").transactions_of(ProfessionalClaimSet)[0]
    assert sum(claim.charge or 0 for claim in many.claims) == 820 * 500


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_document_serialises_to_json_and_back(samples_dir: Path, name: str) -> None:
    document = read_x12_file(samples_dir / name)
    as_json = document.model_dump_json()
    assert X12Document.model_validate_json(as_json).model_dump_json() == as_json
    assert "source" not in json.loads(as_json)["transactions"][0].get("claims", [{}])[0]  # 837P segments excluded
