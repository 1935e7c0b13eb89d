"""Which faults refuse (error) and which only flag (warning): the envelope and payment header flag a
set, a duplicate ST02 or a truncated set refuses it, a claim whose own values are wrong is refused."""

from __future__ import annotations

from pathlib import Path

from edi import FindingCode, RemittanceAdvice, Severity, read_x12, read_x12_file
from edi.professional_claim import ProfessionalClaimSet
from tests.edi.edi_x12_builders import interchange, paid_claim, remittance


def severities(text: str) -> dict[str, str]:
    return {f.code.value: f.severity.value for f in read_x12(text, "t.835").all_findings()}


def test_a_repeated_st02_in_a_group_refuses_the_second_set() -> None:
    text = interchange([remittance([paid_claim("A1")], control="0007"), remittance([paid_claim("B1")], control="0007")])
    first, second = read_x12(text, "t.835").transactions
    assert [f.severity for f in first.findings] == []
    [duplicate] = second.findings
    assert (duplicate.severity, duplicate.code, duplicate.location.element) == (
        Severity.ERROR,
        FindingCode.DUPLICATE_CONTROL_NUMBER,
        "ST02",
    )
    assert duplicate.location.segment_number == second.header.first_segment


def test_the_same_st02_in_another_group_is_fine() -> None:
    one = interchange([remittance([paid_claim("A1")], control="0007")], group_control="1")
    two = interchange([remittance([paid_claim("B1")], control="0007")], group_control="2", control="000000002")
    assert severities(one + two) == {}


def test_envelope_counts_and_control_numbers_only_flag() -> None:
    text = interchange([remittance([paid_claim("A1")])])
    broken = text.replace("SE*19*0001", "SE*18*0002").replace("GE*1*1", "GE*2*9").replace("IEA*1*", "IEA*3*")
    assert severities(broken) == {
        "envelope.se_segment_count": "warning",
        "envelope.se_control_number": "warning",
        "envelope.ge_transaction_count": "warning",
        "envelope.ge_control_number": "warning",
        "envelope.iea_group_count": "warning",
    }


def test_payment_header_faults_flag_the_set_but_keep_its_claims_valid() -> None:
    text = interchange([remittance([paid_claim("A1")], payment="999.00")]).replace("*20240315~", "*20241399~", 1)
    document = read_x12(text, "t.835")
    [era] = document.transactions_of(RemittanceAdvice)
    assert {(f.code.value, f.severity.value) for f in era.findings} == {
        ("element.invalid_date", "warning"),
        ("balance.payment", "warning"),
    }
    assert [claim.is_valid for claim in era.claims] == [True]


def test_an_837p_claim_charge_must_be_the_sum_of_its_lines(samples_dir: Path) -> None:
    # the imsweb samples bill CLM02 500 over lines of 12.25: each such claim is refused, located
    [claims] = read_x12_file(samples_dir / "837P_imsweb_2.x12").transactions_of(ProfessionalClaimSet)
    for claim in claims.claims:
        errors = [(f.code, f.location.element) for f in claim.findings if f.severity is Severity.ERROR]
        assert errors == [(FindingCode.CLAIM_CHARGE_LINES, "CLM02")]
    [good] = read_x12_file(samples_dir / "837P_lfh_1.x12").transactions_of(ProfessionalClaimSet)
    assert all(claim.is_valid for claim in good.claims)


def test_an_unpadded_isa_or_a_missing_gs_only_flag() -> None:
    text = interchange([remittance([paid_claim("A1")])])
    unpadded = text.replace("SENDER         ", "SENDER", 1)
    assert severities(unpadded) == {"isa.nonstandard_layout": "warning"}
    no_group = "\n".join(line for line in text.splitlines() if not line.startswith(("GS*", "GE*")))
    assert severities(no_group) == {
        "envelope.missing_gs": "warning",
        "envelope.iea_group_count": "warning",  # IEA01 still says 1 group
        "envelope.empty_interchange": "warning",
    }
    [era] = read_x12(no_group, "t.835").transactions_of(RemittanceAdvice)
    assert [claim.is_valid for claim in era.claims] == [True]
