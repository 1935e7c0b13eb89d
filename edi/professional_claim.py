"""837P (005010X222A1, also read for X222A2) professional claims: the read view.

Owns billing provider (HL 20), subscriber and payer (HL 22, SBR), patient (HL 23, PAT) and each
CLM loop: claim id, charge, place of service and frequency code (CLM05), REF F8/D9/G1, HI
diagnosis codes, and LX/SV1 service lines with modifiers, units, diagnosis pointers and
DTP*472 dates. Claims are attributed to the billing provider, subscriber and patient by
position, so files with broken HL parent numbers are still read (the HL problems are findings).

Every claim keeps the segments of the loops it was read from (:class:`ClaimSourceSegments`,
not serialised): :mod:`edi.writers` builds corrected and void claims from them without losing
anything this view does not model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from edi.findings import Finding, FindingCode, Severity, has_errors
from edi.hierarchy import HierarchyTracker
from edi.parties import (
    Party,
    PersonIdentity,
    ProcedureCode,
    party_from_nm1,
    person_from_nm1,
    procedure_from_composite,
)
from edi.segments import Separators
from edi.transaction import TransactionText, TransactionView
from edi.values import ElementReader

_LEVEL_ORDER = ("20", "22", "23")
SUBSCRIBER_IS_PATIENT = "18"  # SBR02 / PAT01 individual relationship code "self"


@dataclass(slots=True)
class DiagnosisCode:
    """One HI composite: qualifier (ABK principal / ABF other ICD-10; BK/BF ICD-9) and code."""

    qualifier: str
    code: str


@dataclass(slots=True)
class ProfessionalServiceLine:
    """LX/SV1 (loop 2400)."""

    segment_number: int
    line_number: str
    procedure: ProcedureCode
    charge: Decimal | None
    unit_basis: str = ""
    units: Decimal | None = None
    place_of_service: str = ""
    diagnosis_pointers: list[int] = field(default_factory=list)
    service_date: date | None = None
    service_end_date: date | None = None
    line_control_number: str = ""


@dataclass(slots=True, repr=False)
class ClaimSourceSegments:
    """The split segments of the loops one claim was read from, for lossless re-writing."""

    separators: Separators
    header: list[list[str]]
    billing_provider: list[list[str]]
    subscriber: list[list[str]]
    patient: list[list[str]]
    claim: list[list[str]]

    def __repr__(self) -> str:
        return f"ClaimSourceSegments({len(self.claim)} claim segments)"


@dataclass(slots=True)
class ProfessionalClaim:
    """One CLM loop (2300) with the parties above it."""

    segment_number: int
    claim_id: str
    charge: Decimal | None
    place_of_service: str
    facility_code_qualifier: str
    frequency_code: str
    provider_signature: str = ""
    assignment_code: str = ""
    benefits_assigned: str = ""
    release_of_information: str = ""
    payer_claim_control_number: str = ""
    clearinghouse_claim_number: str = ""
    prior_authorization: str = ""
    diagnoses: list[DiagnosisCode] = field(default_factory=list)
    services: list[ProfessionalServiceLine] = field(default_factory=list)
    billing_provider: Party | None = None
    payer: Party | None = None
    payer_responsibility: str = ""
    claim_filing_indicator: str = ""
    relationship_code: str = ""
    subscriber: PersonIdentity | None = None
    patient: PersonIdentity | None = None
    findings: list[Finding] = field(default_factory=list)
    source: Annotated[ClaimSourceSegments | None, Field(exclude=True)] = field(default=None, repr=False)

    @property
    def is_valid(self) -> bool:
        return not has_errors(self.findings)


class ProfessionalClaimSet(TransactionView):
    """One 837P transaction set."""

    kind: Literal["837P"] = "837P"
    submitter: Party | None
    receiver: Party | None
    claims: list[ProfessionalClaim]


@dataclass(slots=True)
class _Loop:
    segments: list[list[str]] = field(default_factory=list)
    party: Party | None = None
    person: PersonIdentity | None = None
    payer: Party | None = None
    sbr: list[str] = field(default_factory=list)
    relationship_code: str = ""


class _ProfessionalClaimBuilder:
    def __init__(self, text: TransactionText) -> None:
        self.reader = ElementReader(text.source_name)
        self.separators = text.separators
        self.component = text.separators.component
        self.findings: list[Finding] = list(text.findings)
        self.tree = HierarchyTracker(self.reader, self.findings, _LEVEL_ORDER)
        self.header: list[list[str]] = []
        self.submitter: Party | None = None
        self.receiver: Party | None = None
        self.claims: list[ProfessionalClaim] = []

    def build(self, text: TransactionText) -> None:
        billing: _Loop | None = None
        subscriber: _Loop | None = None
        patient: _Loop | None = None
        claim: ProfessionalClaim | None = None
        line: ProfessionalServiceLine | None = None
        line_number = ""
        in_other_payer = False
        for number, elements in text.split_body():
            segment_id = elements[0]
            if segment_id == "HL":
                claim, line, in_other_payer = None, None, False
                node = self.tree.add(elements, number)
                loop = _Loop(segments=[elements])
                if node.level_code == "20":
                    billing, subscriber, patient = loop, None, None
                elif node.level_code == "22":
                    subscriber, patient = loop, None
                else:
                    patient = loop
                continue
            if segment_id == "CLM":
                claim = self._open_claim(elements, number, billing, subscriber, patient)
                line, line_number, in_other_payer = None, "", False
                self.claims.append(claim)
                continue
            if claim is not None:
                if claim.source is not None:
                    claim.source.claim.append(elements)
                if segment_id == "SBR":
                    in_other_payer = True  # loops 2320/2330: other payers, not this claim's data
                elif segment_id == "LX":
                    line, line_number, in_other_payer = None, _at(elements, 1), False
                elif not in_other_payer:
                    line = self._claim_segment(claim, line, elements, number, line_number)
                continue
            current = patient or subscriber or billing
            if current is None:
                self._header_segment(elements)
            else:
                current.segments.append(elements)
                self._hl_segment(current, elements, number)

    def _header_segment(self, elements: list[str]) -> None:
        self.header.append(elements)
        if elements[0] == "NM1":
            party = party_from_nm1(elements)
            if party.entity_code == "41":
                self.submitter = party
            elif party.entity_code == "40":
                self.receiver = party

    def _hl_segment(self, loop: _Loop, elements: list[str], number: int) -> None:
        segment_id = elements[0]
        if segment_id == "NM1":
            entity = _at(elements, 1)
            if entity == "85":
                loop.party = party_from_nm1(elements)
            elif entity in ("IL", "QC"):
                loop.person = person_from_nm1(elements)
            elif entity == "PR":
                loop.payer = party_from_nm1(elements)
        elif segment_id == "DMG" and loop.person is not None:
            loop.person.birth_date = self.reader.date(elements, 2, number, self.findings, sensitive=True)
            loop.person.gender = _at(elements, 3)
        elif segment_id == "SBR":
            loop.sbr = elements
            loop.relationship_code = _at(elements, 2)
        elif segment_id == "PAT":
            loop.relationship_code = _at(elements, 1)

    def _open_claim(
        self,
        elements: list[str],
        number: int,
        billing: _Loop | None,
        subscriber: _Loop | None,
        patient: _Loop | None,
    ) -> ProfessionalClaim:
        findings: list[Finding] = []
        reader = self.reader
        if not _at(elements, 1):
            reader.missing("CLM", 1, number, findings)
        facility = [*_at(elements, 5).split(self.component), "", "", ""]
        if not facility[0] or not facility[2]:
            findings.append(
                reader.finding(
                    Severity.ERROR,
                    FindingCode.MALFORMED_COMPOSITE,
                    f"CLM05 {_at(elements, 5)!r} must hold place of service and frequency code "
                    f"separated by {self.component!r}",
                    number,
                    "CLM",
                    "CLM05",
                )
            )
        if billing is None or subscriber is None:
            findings.append(
                reader.finding(
                    Severity.ERROR,
                    FindingCode.MISSING_SEGMENT,
                    "CLM without a billing provider (HL 20) and subscriber (HL 22) before it",
                    number,
                    "CLM",
                )
            )
        sbr = subscriber.sbr if subscriber is not None else []
        person_loop = patient or subscriber
        return ProfessionalClaim(
            segment_number=number,
            claim_id=_at(elements, 1),
            charge=reader.amount(elements, 2, number, findings, required=True),
            place_of_service=facility[0],
            facility_code_qualifier=facility[1],
            frequency_code=facility[2],
            provider_signature=_at(elements, 6),
            assignment_code=_at(elements, 7),
            benefits_assigned=_at(elements, 8),
            release_of_information=_at(elements, 9),
            billing_provider=billing.party if billing else None,
            payer=subscriber.payer if subscriber else None,
            payer_responsibility=_at(sbr, 1),
            claim_filing_indicator=_at(sbr, 9),
            relationship_code=person_loop.relationship_code if person_loop is not None else "",
            subscriber=subscriber.person if subscriber else None,
            patient=patient.person if patient is not None else (subscriber.person if subscriber else None),
            findings=findings,
            source=ClaimSourceSegments(
                separators=self.separators,
                header=self.header,
                billing_provider=billing.segments if billing else [],
                subscriber=subscriber.segments if subscriber else [],
                patient=patient.segments if patient else [],
                claim=[elements],
            ),
        )

    def _claim_segment(
        self,
        claim: ProfessionalClaim,
        line: ProfessionalServiceLine | None,
        elements: list[str],
        number: int,
        line_number: str,
    ) -> ProfessionalServiceLine | None:
        segment_id = elements[0]
        if segment_id == "SV1":
            line = self._service_line(elements, number, line_number, claim.findings)
            claim.services.append(line)
        elif segment_id == "REF":
            self._reference(claim, line, elements)
        elif segment_id == "HI" and line is None:
            self._diagnoses(claim, elements, number)
        elif segment_id == "DTP" and _at(elements, 1) == "472":
            period = self.reader.period(elements, 2, number, claim.findings)
            if period is not None and line is not None:
                line.service_date, line.service_end_date = period.start, period.end
        return line

    def _reference(self, claim: ProfessionalClaim, line: ProfessionalServiceLine | None, elements: list[str]) -> None:
        qualifier, value = _at(elements, 1), _at(elements, 2)
        if line is not None:
            if qualifier == "6R":
                line.line_control_number = value
        elif qualifier == "F8":
            claim.payer_claim_control_number = value
        elif qualifier == "D9":
            claim.clearinghouse_claim_number = value
        elif qualifier == "G1":
            claim.prior_authorization = value

    def _diagnoses(self, claim: ProfessionalClaim, elements: list[str], number: int) -> None:
        malformed = []
        for position in range(1, min(len(elements), 13)):
            composite = elements[position]
            if not composite:
                continue
            qualifier, _, code = composite.partition(self.component)
            if not qualifier or not code:
                malformed.append(f"HI{position:02d}")
                continue
            claim.diagnoses.append(DiagnosisCode(qualifier, code.split(self.component)[0]))
        if malformed:
            claim.findings.append(
                self.reader.finding(
                    Severity.WARNING,
                    FindingCode.MALFORMED_COMPOSITE,
                    "diagnosis composites without both qualifier and code were skipped: " + ", ".join(malformed),
                    number,
                    "HI",
                    malformed[0][:4],
                )
            )

    def _service_line(
        self, elements: list[str], number: int, line_number: str, findings: list[Finding]
    ) -> ProfessionalServiceLine:
        reader = self.reader
        if not _at(elements, 1):
            reader.missing("SV1", 1, number, findings)
        pointers: list[int] = []
        for pointer in _at(elements, 7).split(self.component):
            if pointer.isascii() and pointer.isdigit():
                pointers.append(int(pointer))
            elif pointer:
                reader.invalid("SV1", 7, number, findings, pointer, FindingCode.INVALID_NUMBER)
        return ProfessionalServiceLine(
            segment_number=number,
            line_number=line_number,
            procedure=procedure_from_composite(_at(elements, 1), self.component),
            charge=reader.amount(elements, 2, number, findings, required=True),
            unit_basis=_at(elements, 3),
            units=reader.quantity(elements, 4, number, findings),
            place_of_service=_at(elements, 5),
            diagnosis_pointers=pointers,
        )


def _at(elements: list[str], position: int) -> str:
    return elements[position] if position < len(elements) else ""


def _check_charges(reader: ElementReader, claims: list[ProfessionalClaim]) -> None:
    """CLM02 is the sum of the claim's SV102 line charges (837P TR3)."""
    for claim in claims:
        charges = [line.charge for line in claim.services]
        if claim.charge is None or not charges or None in charges:
            continue
        lines_charged = sum((charge for charge in charges if charge is not None), Decimal("0.00"))
        if lines_charged != claim.charge:
            claim.findings.append(
                reader.finding(
                    Severity.ERROR,
                    FindingCode.CLAIM_CHARGE_LINES,
                    f"CLM02 {claim.charge} is not the sum of its service line charges (SV102) {lines_charged}",
                    claim.segment_number,
                    "CLM",
                    "CLM02",
                )
            )


def read_professional_claims(text: TransactionText) -> ProfessionalClaimSet:
    builder = _ProfessionalClaimBuilder(text)
    builder.build(text)
    _check_charges(builder.reader, builder.claims)
    view = ProfessionalClaimSet(
        header=text.header,
        findings=builder.findings,
        submitter=builder.submitter,
        receiver=builder.receiver,
        claims=builder.claims,
    )
    view.attach_text(text)
    return view
