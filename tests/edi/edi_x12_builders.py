"""Builders of small synthetic X12 interchanges for the edi tests (no real patient data)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Layout:
    element: str = "*"
    component: str = ":"
    repetition: str = "^"
    terminator: str = "~"
    line_break: str = "\n"


def isa(control: str = "000000001", layout: Layout | None = None, version: str = "00501") -> str:
    layout = layout or Layout()
    elements = [
        "ISA", "00", " " * 10, "00", " " * 10, "ZZ", "SENDER".ljust(15), "ZZ", "RECEIVER".ljust(15),
        "240315", "1200", layout.repetition, version, control, "0", "T", layout.component,
    ]  # fmt: skip
    return layout.element.join(elements)


def transaction(set_id: str, control: str, version: str, body: list[str]) -> list[str]:
    return [f"ST*{set_id}*{control}*{version}", *body, f"SE*{len(body) + 2}*{control}"]


def interchange(
    transactions: list[list[str]],
    *,
    functional_id: str = "HP",
    version: str = "005010X221A1",
    control: str = "000000001",
    group_control: str = "1",
    layout: Layout | None = None,
) -> str:
    """ISA..IEA around ST..SE lists written with '*' and ':' (converted to ``layout``)."""
    layout = layout or Layout()
    segments = [
        f"GS*{functional_id}*SENDER*RECEIVER*20240315*1200*{group_control}*X*{version}",
        *[segment for set_segments in transactions for segment in set_segments],
        f"GE*{len(transactions)}*{group_control}",
        f"IEA*1*{control}",
    ]
    converted = [
        segment.replace(":", "\0").replace("*", layout.element).replace("\0", layout.component) for segment in segments
    ]
    boundary = layout.terminator + layout.line_break
    return boundary.join([isa(control, layout), *converted]) + boundary


def remittance(claims: list[list[str]], *, payment: str | None = None, control: str = "0001") -> list[str]:
    """An 835 ST..SE; BPR02 is the sum of CLP04 unless ``payment`` is given."""
    if payment is None:
        total = sum(float(claim[0].split("*")[4]) for claim in claims)
        payment = f"{total:.2f}"
    body = [
        f"BPR*I*{payment}*C*ACH*CCP*01*999999999*DA*123456*1512345678**01*999988880*DA*98765*20240315",
        "TRN*1*EFT0001*1512345678",
        "DTM*405*20240314",
        "N1*PR*TEST PAYER*XV*99999",
        "N1*PE*TEST CLINIC*XX*1234567893",
        "LX*1",
        *[segment for claim in claims for segment in claim],
    ]
    return transaction("835", control, "005010X221A1", body)


def paid_claim(pcn: str = "PCN1", status: str = "1") -> list[str]:
    """A balanced claim: 200.00 billed, CO-45 40.00, PR-1 6.00 and PR-2 4.00 on the lines, 150.00 paid."""
    return [
        f"CLP*{pcn}*{status}*200.00*150.00*10.00*12*ICN-{pcn}*11*1",
        "NM1*QC*1*TESTPATIENT*ALEX****MI*MEMBER123",
        "DTM*232*20240301",
        "SVC*HC:99213:25*120.00*90.00**1",
        "DTM*472*20240301",
        "CAS*CO*45*30.00",
        "SVC*HC:85025*80.00*60.00**2",
        "DTM*472*20240301",
        "CAS*CO*45*10.00",
        "CAS*PR*1*6.00**2*4.00",
        "LQ*HE*N130",
    ]


def acknowledgment(accepted: list[str], rejected: list[str], *, control: str = "0001") -> list[str]:
    """A 999 ST..SE answering 837 sets: IK5*A for ``accepted`` ST02s, IK3/IK4 + IK5*R for ``rejected``."""
    body = ["AK1*HC*1*005010X222A1"]
    for set_control in accepted:
        body += [f"AK2*837*{set_control}*005010X222A1", "IK5*A"]
    for set_control in rejected:
        body += [f"AK2*837*{set_control}*005010X222A1", "IK3*CLM*22**8", "IK4*2*782*6*8O0", "IK5*R*5"]
    total = len(accepted) + len(rejected)
    body.append(f"AK9*{'A' if not rejected else 'P'}*{total}*{total}*{len(accepted)}")
    return transaction("999", control, "005010X231A1", body)


def claim_status(claims: list[list[str]], *, control: str = "0001") -> list[str]:
    """A 277 (005010X212) ST..SE: one payer, receiver and provider, then the ``claims`` loops."""
    body = [
        "BHT*0010*08*277BATCH1*20240315*1200*DG",
        "HL*1**20*1",
        "NM1*PR*2*TEST PAYER*****PI*99999",
        "HL*2*1*21*1",
        "NM1*41*2*TEST CLINIC*****46*TESTETIN",
        "HL*3*2*19*1",
        "NM1*1P*2*TEST CLINIC*****XX*1234567893",
        *[segment for claim in claims for segment in claim],
    ]
    return transaction("277", control, "005010X212", body)


def status_claim(
    hl: int, pcn: str, stc: str = "F1:65*20240310**200.00*150.00", *, message: str = "", more: tuple[str, ...] = ()
) -> list[str]:
    """A subscriber HL with one claim: TRN, the STC (``stc`` without 'STC*'; STC12 ``message``), REF*EJ."""
    stc_segment = f"STC*{stc}" + (f"{'*' * (11 - stc.count('*'))}{message}" if message else "")
    return [
        f"HL*{hl}*3*22*0",
        "NM1*IL*1*TESTPATIENT*ALEX****MI*MEMBER123",
        f"TRN*2*TRACE-{pcn}",
        stc_segment,
        *[f"STC*{extra}" for extra in more],
        f"REF*EJ*{pcn}",
        "DTP*472*D8*20240301",
    ]
