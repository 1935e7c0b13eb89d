"""277/276, 271/270, 999/997 and 837P views on synthetic transactions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from edi import FindingCode, read_x12
from edi.acknowledgment import ImplementationAcknowledgment
from edi.claim_status import ClaimStatusResponse
from edi.eligibility import EligibilityResponse
from edi.professional_claim import ProfessionalClaimSet
from tests.edi.edi_x12_builders import interchange, transaction

STATUS_277 = [
    "BHT*0010*08*277X212*20240310*0810*DG",
    "HL*1**20*1",
    "NM1*PR*2*TEST PAYER*****PI*12345",
    "HL*2*1*21*1",
    "NM1*41*2*TEST CLEARINGHOUSE*****46*ETIN1",
    "HL*3*2*19*1",
    "NM1*1P*2*TEST CLINIC*****XX*1234567893",
    "HL*4*3*22*0",
    "NM1*IL*1*TESTSUB*SAM****MI*MEMBER9",
    "TRN*2*TRACE-A",
    "STC*F2:88:QC*20240310*WQ*150.00*0.00*20240309*NON*20240310*CHK123*F2:101*F1:65:QC*NOT COVERED",
    "REF*1K*ICN-A",
    "REF*EJ*PCN-A",
    "REF*D9*CH-TRACE",
    "DTP*472*D8*20240301",
    "SVC*HC:99213:25*150.00*0.00****1",
    "STC*F2:88*20240310",
    "REF*FJ*LINE-1",
    "DTP*472*D8*20240301",
    "TRN*2*TRACE-B",
    "STC*A7:21*20240310",
    "DTP*472*D8*20241345",
]


def test_277_statuses_extra_codes_text_and_line_items() -> None:
    document = read_x12(
        interchange([transaction("277", "0001", "005010X212", STATUS_277)], functional_id="HN", version="005010X212"),
        "status.277",
    )
    (response,) = document.transactions_of(ClaimStatusResponse)
    first, second = response.claims
    (report,) = first.statuses
    assert [str(code) for code in report.statuses] == ["F2:88:QC", "F2:101", "F1:65:QC"]
    assert (report.effective_date, report.action_code, report.total_charge, report.paid_amount) == (
        date(2024, 3, 10),
        "WQ",
        Decimal("150.00"),
        Decimal("0.00"),
    )
    assert (report.adjudication_date, report.payment_method, report.check_date, report.check_number) == (
        date(2024, 3, 9),
        "NON",
        date(2024, 3, 10),
        "CHK123",
    )
    assert report.message == "NOT COVERED"
    assert (first.payer_claim_control_number, first.patient_control_number, first.clearinghouse_trace_number) == (
        "ICN-A",
        "PCN-A",
        "CH-TRACE",
    )
    (line,) = first.services
    assert (line.line_control_number, line.service_date, line.units) == ("LINE-1", date(2024, 3, 1), Decimal(1))
    assert [str(r.statuses[0]) for r in line.statuses] == ["F2:88"]
    assert first.is_valid and first.patient is not None and first.patient.entity_code == "IL"
    assert first.information_receiver is not None and first.information_receiver.identifier == "ETIN1"
    assert not second.is_valid
    assert [(f.code, f.location.segment_number) for f in second.findings] == [(FindingCode.INVALID_DATE, 25)]
    assert str(second.primary_status) == "A7:21"


ELIGIBILITY_271 = [
    "BHT*0022*11*REF1*20240310*1200",
    "HL*1**20*1",
    "NM1*PR*2*TEST PAYER*****PI*12345",
    "HL*2*1*21*1",
    "NM1*1P*2*TEST CLINIC*****XX*1234567893",
    "HL*3*2*22*0",
    "TRN*2*TRACE1*9877281234",
    "NM1*IL*1*TESTSUB*SAM****MI*MEMBER9",
    "AAA*Y**72*C",
    "DMG*D8*19800102*F",
    "DTP*346*D8*20240101",
    "EB*1*IND*30**GOLD PLAN",
    "EB*6**48^50",
    "EB*C*IND*30***23*1500.00*****Y",
    "EB*C*IND*30***29*600.00*****Y",
    "MSG*DEDUCTIBLE APPLIES TO OFFICE VISITS",
    "DTP*292*RD8*20240101-20241231",
    "EB*A*IND*30*****.20****Y",
    "EB*G*FAM*30***29*4000.00*****N",
    "EB*B*IND*98***27*25.00",
    "AAA*N**75*C",
]


def test_271_coverage_reading() -> None:
    document = read_x12(
        interchange(
            [transaction("271", "0001", "005010X279A1", ELIGIBILITY_271)], functional_id="HB", version="005010X279A1"
        ),
        "benefits.271",
    )
    (response,) = document.transactions_of(EligibilityResponse)
    (result,) = response.results
    coverage = result.coverage
    assert coverage.active is True
    assert (coverage.active_service_types, coverage.inactive_service_types) == (["30"], ["48", "50"])
    assert coverage.plans == ["GOLD PLAN"]
    deductibles = [(a.amount, a.time_period, a.remaining, a.in_network) for a in coverage.of_kind("deductible")]
    assert deductibles == [(Decimal("1500.00"), "23", False, True), (Decimal("600.00"), "29", True, True)]
    (coinsurance,) = coverage.of_kind("coinsurance")
    assert (coinsurance.percent, coinsurance.in_network) == (Decimal(".20"), True)
    (out_of_pocket,) = coverage.of_kind("out_of_pocket")
    assert (out_of_pocket.amount, out_of_pocket.remaining, out_of_pocket.coverage_level) == (
        Decimal("4000.00"),
        True,
        "FAM",
    )
    (copay,) = coverage.of_kind("copay")
    assert (copay.service_types, copay.amount, copay.in_network) == (["98"], Decimal("25.00"), None)
    assert coverage.messages == ["DEDUCTIBLE APPLIES TO OFFICE VISITS"]
    remaining_benefit = result.benefits[3]
    assert [(d.qualifier, d.start, d.end) for d in remaining_benefit.dates] == [
        ("292", date(2024, 1, 1), date(2024, 12, 31))
    ]
    assert [(r.reason_code, r.follow_up_action, r.in_benefit_loop) for r in result.rejections] == [("72", "C", False)]
    assert [(r.reason_code, r.in_benefit_loop) for r in result.benefits[-1].rejections] == [("75", True)]
    assert result.person is not None and result.person.birth_date == date(1980, 1, 2)
    assert result.trace_number == "TRACE1"
    assert document.all_findings() == []


def test_271_bad_birth_date_finding_withholds_the_value() -> None:
    segments = [segment.replace("DMG*D8*19800102*F", "DMG*D8*19801302*F") for segment in ELIGIBILITY_271]
    document = read_x12(interchange([transaction("271", "0001", "005010X279A1", segments)]), "dob.271")
    (finding,) = document.all_findings()
    assert finding.code is FindingCode.INVALID_DATE
    assert "19801302" not in finding.message and "withheld" in finding.message


ACK_999 = [
    "AK1*HC*17456*005010X222A1",
    "AK2*837*0001*005010X222A1",
    "IK3*CLM*22**8",
    "CTX*CLM01:A37YH556",
    "IK4*2*782*7*8O0.00",
    "IK4*5:3**2",
    "IK5*R*5",
    "AK2*837*0002*005010X222A1",
    "IK5*A",
    "AK9*P*2*2*1",
]


def test_999_rejection_details() -> None:
    document = read_x12(
        interchange([transaction("999", "0001", "005010X231A1", ACK_999)], functional_id="FA", version="005010X231A1"),
        "ack.999",
    )
    (ack,) = document.transactions_of(ImplementationAcknowledgment)
    assert (ack.kind, ack.functional_identifier, ack.group_control_number, ack.version) == (
        "999",
        "HC",
        "17456",
        "005010X222A1",
    )
    rejected, accepted = ack.transaction_acks
    assert (rejected.control_number, rejected.accepted, rejected.error_codes) == ("0001", False, ["5"])
    (segment_error,) = rejected.segment_errors
    assert (segment_error.segment_id, segment_error.position_in_transaction, segment_error.error_code) == (
        "CLM",
        22,
        "8",
    )
    assert segment_error.context == ["CLM01:A37YH556"]
    element_errors = [
        (e.position, e.component_position, e.data_element_reference, e.error_code, e.bad_value)
        for e in segment_error.element_errors
    ]
    assert element_errors == [(2, None, "782", "7", "8O0.00"), (5, 3, "", "2", "")]
    assert accepted.accepted and accepted.status_code == "A"
    assert (ack.group_status_code, ack.group_accepted) == ("P", False)
    assert (ack.transactions_included, ack.transactions_received, ack.transactions_accepted) == (2, 2, 1)
    assert document.all_findings() == []


def test_997_is_read_the_same_way() -> None:
    body = ["AK1*HC*17456", "AK2*837*0001", "AK3*NM1*8**8", "AK4*3**7*XYZ", "AK5*R*5", "AK9*R*1*1*0"]
    document = read_x12(interchange([transaction("997", "0001", "", body)], functional_id="FA"), "ack.997")
    (ack,) = document.transactions_of(ImplementationAcknowledgment)
    assert ack.kind == "997"
    (transaction_ack,) = ack.transaction_acks
    assert transaction_ack.status_code == "R" and not transaction_ack.accepted
    assert transaction_ack.segment_errors[0].element_errors[0].bad_value == "XYZ"
    assert ack.transactions_accepted == 0


CLAIMS_837P = [
    "BHT*0019*00*REF1*20240310*1200*CH",
    "NM1*41*2*TEST BILLING*****46*ETIN1",
    "NM1*40*2*TEST PAYER*****46*PAYER1",
    "HL*1**20*1",
    "NM1*85*2*TEST CLINIC*****XX*1234567893",
    "HL*2*1*22*0",
    "SBR*P*18*GRP1******CI",
    "NM1*IL*1*TESTSUB*SAM****MI*MEMBER9",
    "DMG*D8*19800102*F",
    "NM1*PR*2*TEST PAYER*****PI*PAYER1",
    "CLM*CORR1*150***11:B:7*Y*A*Y*Y",
    "REF*G1*AUTH1",
    "REF*F8*ICN-OLD",
    "REF*D9*CH-1",
    "HI*ABK:J449*ABF:E119",
    "SBR*S*01*******MB",
    "NM1*IL*1*OTHER*SUB****MI*OTHER1",
    "NM1*PR*2*OTHER PAYER*****PI*OTHER",
    "LX*1",
    "SV1*HC:99213:25*150*UN*1*11**1:2",
    "DTP*472*RD8*20240301-20240302",
    "REF*6R*LINE-1",
    "CLM*BAD1*8O0***11:B*Y*A*Y*Y",
    "HI*ABK:R05",
    "LX*1",
    "SV1*HC:99213*800*UN*1***1:X",
]


def test_837p_claim_details_and_per_claim_findings() -> None:
    document = read_x12(
        interchange(
            [transaction("837", "0001", "005010X222A1", CLAIMS_837P)], functional_id="HC", version="005010X222A1"
        ),
        "claims.837",
    )
    (batch,) = document.transactions_of(ProfessionalClaimSet)
    corrected, bad = batch.claims
    assert (corrected.frequency_code, corrected.payer_claim_control_number) == ("7", "ICN-OLD")
    assert (corrected.prior_authorization, corrected.clearinghouse_claim_number) == ("AUTH1", "CH-1")
    assert corrected.payer is not None and corrected.payer.name == "TEST PAYER"
    assert (corrected.payer_responsibility, corrected.claim_filing_indicator, corrected.relationship_code) == (
        "P",
        "CI",
        "18",
    )
    assert corrected.subscriber is corrected.patient
    (line,) = corrected.services
    assert (line.procedure.modifiers, line.place_of_service, line.diagnosis_pointers) == (("25",), "11", [1, 2])
    assert (line.service_date, line.service_end_date, line.line_control_number) == (
        date(2024, 3, 1),
        date(2024, 3, 2),
        "LINE-1",
    )
    assert corrected.is_valid
    assert not bad.is_valid and bad.charge is None
    assert {(f.code, f.location.element) for f in bad.findings} == {
        (FindingCode.INVALID_AMOUNT, "CLM02"),
        (FindingCode.MALFORMED_COMPOSITE, "CLM05"),
        (FindingCode.INVALID_NUMBER, "SV107"),
    }
    assert bad.services[0].diagnosis_pointers == [1]
