"""835 view: adjustments at both levels, denials, reversals, per-claim findings, balancing, PHI."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from edi import FindingCode, Severity, read_x12
from edi.remittance import ClaimPayment, RemittanceAdvice
from tests.edi.edi_x12_builders import interchange, paid_claim, remittance


def _advice(
    claims: list[list[str]], *, payment: str | None = None, extra_header: list[str] | None = None
) -> RemittanceAdvice:
    segments = remittance(claims, payment=payment)
    if extra_header:
        segments[1:1] = extra_header
        segments[-1] = f"SE*{len(segments)}*0001"
    document = read_x12(interchange([segments]), "era.835")
    (advice,) = document.transactions_of(RemittanceAdvice)
    return advice


def _by_pcn(advice: RemittanceAdvice) -> dict[str, ClaimPayment]:
    return {claim.patient_control_number: claim for claim in advice.claims}


def test_claim_and_line_level_adjustments() -> None:
    claim_segments = [
        "CLP*INT1*1*200.00*152.50*10.00*12*ICN-INT1*11*1",
        "CAS*OA*225*-2.50",
        "MIA*0***152.50*MA01",
        "SVC*HC:99213:25:59*120.00*90.00*0450*1*HC:99212",
        "DTM*150*20240301",
        "DTM*151*20240305",
        "CAS*CO*45*30.00",
        "REF*6R*LINE-1",
        "AMT*B6*90.00",
        "SVC*HC:85025*80.00*60.00**2",
        "CAS*CO*45*10.00*1",
        "CAS*PR*1*6.00**2*4.00",
        "LQ*HE*N130",
        "LQ*HE*M15",
    ]
    advice = _advice([claim_segments])
    (claim,) = advice.claims
    assert claim.is_valid, claim.findings
    assert [str(adjustment) for adjustment in claim.adjustments] == ["OA-225 -2.50"]
    first, second = claim.services
    assert (first.procedure.code, first.procedure.modifiers, first.revenue_code) == ("99213", ("25", "59"), "0450")
    assert first.submitted_procedure is not None and first.submitted_procedure.code == "99212"
    assert (first.service_date, first.service_end_date) == (date(2024, 3, 1), date(2024, 3, 5))
    assert (first.line_control_number, first.allowed_amount) == ("LINE-1", Decimal("90.00"))
    assert [(a.group, a.reason, a.amount, a.quantity) for a in second.adjustments] == [
        ("CO", "45", Decimal("10.00"), Decimal(1)),
        ("PR", "1", Decimal("6.00"), None),
        ("PR", "2", Decimal("4.00"), None),
    ]
    assert second.remark_codes == ("N130", "M15")
    assert claim.remark_codes == ("MA01",)
    assert [str(a) for a in claim.all_adjustments()][:2] == ["OA-225 -2.50", "CO-45 30.00"]


def test_six_triplets_in_one_cas() -> None:
    claim_segments = [
        "CLP*SIX*1*100.00*79.00**12*ICN6",
        "CAS*CO*1*1.00**2*2.00**3*3.00**4*4.00**5*5.00**6*6.00",
    ]
    (claim,) = _advice([claim_segments]).claims
    assert [adjustment.reason for adjustment in claim.adjustments] == ["1", "2", "3", "4", "5", "6"]
    assert claim.is_valid


def test_denied_and_reversed_claims() -> None:
    denied = ["CLP*DEN1*4*300.00*0**12*ICN-DEN1", "CAS*CO*50*300.00", "MOA***N115*M127"]
    reversal = [
        "CLP*PCN1*22*-200.00*-150.00*-10.00*12*ICN-PCN1*11*1",
        "SVC*HC:99213*-120.00*-90.00**-1",
        "CAS*CO*45*-30.00",
        "SVC*HC:85025*-80.00*-60.00**-2",
        "CAS*CO*45*-10.00",
        "CAS*PR*1*-10.00",
    ]
    advice = _advice([paid_claim("PCN1"), denied, reversal])
    claims = advice.claims
    assert [claim.status_code for claim in claims] == ["1", "4", "22"]
    assert claims[1].is_denied and claims[1].paid == 0 and claims[1].remark_codes == ("N115", "M127")
    assert claims[2].is_reversal and claims[2].status_label == "reversal of previous payment"
    assert claims[2].paid == Decimal("-150.00") and claims[2].services[1].units == Decimal(-2)
    assert all(claim.is_valid for claim in claims), [claim.findings for claim in claims]
    assert advice.payment is not None and advice.payment.amount == 0  # 150 + 0 - 150
    assert advice.findings == []


def test_bad_amount_and_date_mark_only_their_claim() -> None:
    bad_amount = paid_claim("BADAMT")
    bad_amount[0] = bad_amount[0].replace("*200.00*", "*8O0.00*")
    bad_date = paid_claim("BADDATE")
    bad_date[4] = "DTM*472*20241345"
    advice = _advice([paid_claim("GOOD1"), bad_amount, bad_date, paid_claim("GOOD2")], payment="600.00")
    claims = _by_pcn(advice)
    assert claims["GOOD1"].is_valid and claims["GOOD2"].is_valid
    assert not claims["BADAMT"].is_valid and not claims["BADDATE"].is_valid
    (amount_finding,) = claims["BADAMT"].findings
    assert (amount_finding.code, amount_finding.severity) == (FindingCode.INVALID_AMOUNT, Severity.ERROR)
    assert str(amount_finding.location) == "era.835 segment 21 CLP03"
    assert amount_finding.message == "CLP03 is not a valid amount (6 characters: letters, digits, other characters)"
    assert claims["BADAMT"].charge is None and claims["BADAMT"].paid == Decimal("150.00")
    (date_finding,) = claims["BADDATE"].findings
    assert (date_finding.code, date_finding.location.element, date_finding.location.segment_number) == (
        FindingCode.INVALID_DATE,
        "DTM02",
        36,
    )
    assert claims["BADDATE"].services[0].service_date is None
    assert claims["BADDATE"].services[1].service_date == date(2024, 3, 1)


def test_invalid_cas_amount_and_missing_pieces() -> None:
    claim_segments = [
        "CLP*CAS*1*100.00*90.00**12*ICN",
        "CAS*CO*45*1O.00",
        "CAS**45*5.00",
        "CAS*PR*1",
    ]
    (claim,) = _advice([claim_segments]).claims
    assert {(f.code, f.location.element) for f in claim.findings} == {
        (FindingCode.INVALID_AMOUNT, "CAS03"),
        (FindingCode.MISSING_ELEMENT, "CAS01"),
        (FindingCode.MISSING_ELEMENT, "CAS03"),
        (FindingCode.CLAIM_BALANCE, "CLP04"),
    }


def test_balancing_findings() -> None:
    unbalanced_claim = paid_claim("CLAIMOFF")
    unbalanced_claim[0] = unbalanced_claim[0].replace("*150.00*", "*151.00*")
    unbalanced_line = paid_claim("LINEOFF")
    unbalanced_line[3] = "SVC*HC:99213:25*120.00*91.00**1"
    advice = _advice([paid_claim("OK"), unbalanced_claim, unbalanced_line], payment="999.99")
    claims = _by_pcn(advice)
    assert claims["OK"].findings == []
    assert {f.code for f in claims["CLAIMOFF"].findings} == {FindingCode.CLAIM_BALANCE, FindingCode.CLAIM_LINES_BALANCE}
    assert {(f.code, f.location.segment_id) for f in claims["LINEOFF"].findings} == {
        (FindingCode.SERVICE_LINE_BALANCE, "SVC"),
        (FindingCode.CLAIM_LINES_BALANCE, "CLP"),
    }
    (payment_finding,) = advice.findings
    assert (payment_finding.code, payment_finding.location.element) == (FindingCode.PAYMENT_BALANCE, "BPR02")


def test_rounding_within_half_a_cent_balances() -> None:
    claim_segments = ["CLP*ROUND*1*100.004*100.00**12*ICN"]
    (claim,) = _advice([claim_segments]).claims
    assert claim.findings == []


def test_header_parties_dates_and_unexpected_segments() -> None:
    advice = _advice(
        [["CAS*CO*45*1.00"], [*paid_claim("PCN1"), "ZZZ*1"]],
        payment="150.00",
        extra_header=["CUR*PR*USD"],
    )
    assert advice.trace_number == "EFT0001" and advice.trace_originator == "1512345678"
    assert advice.production_date == date(2024, 3, 14)
    assert advice.payer is not None and (advice.payer.name, advice.payer.identifier) == ("TEST PAYER", "99999")
    assert advice.payee is not None and advice.payee.id_qualifier == "XX"
    assert [(f.code, f.location.segment_id) for f in advice.findings] == [
        (FindingCode.UNEXPECTED_SEGMENT, "CAS"),
        (FindingCode.UNEXPECTED_SEGMENT, "ZZZ"),
    ]


def test_missing_payment_segment() -> None:
    segments = remittance([paid_claim()])
    del segments[1]
    segments[-1] = f"SE*{len(segments)}*0001"
    (advice,) = read_x12(interchange([segments]), "nobpr.835").transactions_of(RemittanceAdvice)
    assert [f.code for f in advice.findings] == [FindingCode.MISSING_SEGMENT]
    assert advice.payment is None


def test_patient_data_never_in_repr_or_str() -> None:
    advice = _advice([paid_claim("PCN1")])
    claim = advice.claims[0]
    assert claim.patient is not None
    assert (claim.patient.last_name, claim.patient.identifier, claim.patient.initials) == (
        "TESTPATIENT",
        "MEMBER123",
        "AT",
    )
    for text in (repr(claim), str(claim), repr(advice), str(claim.patient), repr(advice.model_dump())):
        if text.startswith("{"):
            continue  # model_dump is data for the ledger, not a log line
        assert "TESTPATIENT" not in text and "MEMBER123" not in text and "ALEX" not in text
