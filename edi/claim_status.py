"""276 claim status requests and 277 (005010X212) / 277CA (005010X214) claim status responses.

Owns the HL tree of these transactions (20 payer, 21 information receiver, 19 provider,
22 subscriber, 23 dependent, PT patient in the 277CA), the claim-level loop that starts at each
TRN under a subscriber/dependent/patient HL, its STC statuses (STC01 plus the STC10/STC11 extra
statuses and STC12 free text), identifiers (REF 1K payer claim control number, EJ patient
account, BLT bill type, D9 clearinghouse trace), service dates (DTP*472) and service lines (SVC).
Statuses reported above claim level (a 277CA batch acknowledgement at HL 21, a 277 "provider
not found" at HL 19) are kept as :class:`ReportingLevelStatus`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

from edi.findings import Finding, FindingCode, Severity, has_errors
from edi.hierarchy import HierarchyNode, HierarchyTracker
from edi.parties import (
    Party,
    PersonIdentity,
    ProcedureCode,
    party_from_nm1,
    person_from_nm1,
    procedure_from_composite,
)
from edi.transaction import TransactionText, TransactionView
from edi.values import ElementReader

CLAIM_LEVELS = frozenset({"22", "23", "PT"})
_LEVEL_ORDER = ("20", "21", "19", "22", "23", "PT")
_PERSON_ENTITY_CODES = frozenset({"IL", "QC"})


@dataclass(slots=True)
class StatusCode:
    """STC01/STC10/STC11 composite: category (A1, P3, F2 ...), status (20, 88 ...), entity."""

    category: str
    status: str
    entity: str = ""
    code_list_qualifier: str = ""

    def __str__(self) -> str:
        return ":".join(part for part in (self.category, self.status, self.entity) if part)


@dataclass(slots=True)
class StatusReport:
    """One STC segment."""

    segment_number: int
    statuses: list[StatusCode]
    effective_date: date | None = None
    action_code: str = ""
    total_charge: Decimal | None = None
    paid_amount: Decimal | None = None
    adjudication_date: date | None = None
    payment_method: str = ""
    check_date: date | None = None
    check_number: str = ""
    message: str = ""


@dataclass(slots=True)
class ServiceLineStatus:
    """SVC loop under a claim: the line asked about (276) or reported on (277)."""

    segment_number: int
    procedure: ProcedureCode
    charge: Decimal | None
    paid: Decimal | None
    revenue_code: str = ""
    units: Decimal | None = None
    line_control_number: str = ""
    service_date: date | None = None
    service_end_date: date | None = None
    statuses: list[StatusReport] = field(default_factory=list)


@dataclass(slots=True)
class ClaimStatusQuery:
    """A claim in a 276 (asked about) or 277/277CA (reported on): the 2200D/E loop.

    ``trace_number`` is TRN02. ``patient_control_number`` is REF*EJ, or in a 277CA (where TRN02
    carries the claim's patient control number) TRN02 when no REF*EJ is present.
    """

    segment_number: int
    level_code: str
    trace_number: str
    patient_control_number: str = ""
    payer_claim_control_number: str = ""
    billing_type: str = ""
    clearinghouse_trace_number: str = ""
    total_charge: Decimal | None = None
    service_date: date | None = None
    service_end_date: date | None = None
    payer: Party | None = None
    information_receiver: Party | None = None
    provider: Party | None = None
    patient: PersonIdentity | None = None
    subscriber: PersonIdentity | None = None
    services: list[ServiceLineStatus] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not has_errors(self.findings)


@dataclass(slots=True)
class ClaimStatus(ClaimStatusQuery):
    """A claim in a 277/277CA with the payer's claim-level statuses."""

    statuses: list[StatusReport] = field(default_factory=list)

    @property
    def primary_status(self) -> StatusCode | None:
        for report in self.statuses:
            if report.statuses:
                return report.statuses[0]
        return None


@dataclass(slots=True)
class ReportingLevelStatus:
    """Statuses above claim level: payer (20), receiver/batch (21) or provider (19)."""

    segment_number: int
    level_code: str
    trace_number: str
    entity: Party | None = None
    statuses: list[StatusReport] = field(default_factory=list)
    accepted_quantity: Decimal | None = None
    accepted_amount: Decimal | None = None
    rejected_quantity: Decimal | None = None
    rejected_amount: Decimal | None = None


class ClaimStatusResponse(TransactionView):
    """One 277 (X212) or 277CA (X214) transaction set."""

    kind: Literal["277", "277CA"]
    reporting_levels: list[ReportingLevelStatus]
    claims: list[ClaimStatus]


class ClaimStatusRequestSet(TransactionView):
    """One 276 transaction set."""

    kind: Literal["276"] = "276"
    queries: list[ClaimStatusQuery]


class _ClaimStatusBuilder:
    def __init__(self, text: TransactionText, *, is_response: bool, is_acknowledgment: bool) -> None:
        self.reader = ElementReader(text.source_name)
        self.component = text.separators.component
        self.findings: list[Finding] = list(text.findings)
        self.is_response = is_response
        self.is_acknowledgment = is_acknowledgment
        self.tree = HierarchyTracker(self.reader, self.findings, _LEVEL_ORDER)
        self.claims: list[ClaimStatusQuery] = []
        self.reporting_levels: list[ReportingLevelStatus] = []

    def build(self, text: TransactionText) -> None:
        node: HierarchyNode | None = None
        claim: ClaimStatusQuery | None = None
        reporting: ReportingLevelStatus | None = None
        service: ServiceLineStatus | None = None
        for number, elements in text.split_body():
            segment_id = elements[0]
            findings = claim.findings if claim is not None else self.findings
            if segment_id == "HL":
                node = self.tree.add(elements, number)
                claim, reporting, service = None, None, None
            elif node is None:
                if segment_id != "BHT":
                    self._unexpected(segment_id, number, "before the first HL")
            elif segment_id == "NM1":
                self._name(node, elements)
            elif segment_id == "DMG":
                node.birth_date = self.reader.date(elements, 2, number, findings, sensitive=True)
                node.gender = elements[3] if len(elements) > 3 else ""
                if node.person is not None:
                    node.person.birth_date, node.person.gender = node.birth_date, node.gender
            elif segment_id == "TRN":
                claim, reporting, service = None, None, None
                if node.level_code in CLAIM_LEVELS:
                    claim = self._open_claim(node, elements, number)
                else:
                    reporting = ReportingLevelStatus(number, node.level_code, _at(elements, 2), node.party)
                    self.reporting_levels.append(reporting)
            elif segment_id == "STC":
                report = self._status(elements, number, findings)
                owner = service or claim or reporting
                if owner is None:
                    self._unexpected(segment_id, number, "outside a TRN loop")
                elif isinstance(owner, ClaimStatusQuery) and not isinstance(owner, ClaimStatus):
                    self._unexpected(segment_id, number, "in a status request")
                else:
                    owner.statuses.append(report)
            elif segment_id == "SVC":
                if claim is None:
                    self._unexpected(segment_id, number, "outside a claim")
                else:
                    service = self._service(elements, number, claim.findings)
                    claim.services.append(service)
            elif segment_id == "REF":
                self._reference(elements, claim, service)
            elif segment_id == "DTP":
                self._date(elements, number, claim, service)
            elif segment_id == "AMT":
                self._amount(elements, number, claim, reporting)
            elif segment_id == "QTY" and reporting is not None:
                self._quantity(elements, number, reporting)

    def _open_claim(self, node: HierarchyNode, elements: list[str], number: int) -> ClaimStatusQuery:
        kind = ClaimStatus if self.is_response else ClaimStatusQuery
        claim = kind(number, node.level_code, _at(elements, 2))
        if self.is_acknowledgment:
            claim.patient_control_number = claim.trace_number
        payer, receiver, provider = node.ancestor("20"), node.ancestor("21"), node.ancestor("19")
        claim.payer = payer.party if payer else None
        claim.information_receiver = receiver.party if receiver else None
        claim.provider = provider.party if provider else None
        claim.patient = node.person
        subscriber = node.ancestor("22")
        if subscriber is not None and subscriber is not node:
            claim.subscriber = subscriber.person
        if node.person is None and subscriber is not None:
            claim.patient = subscriber.person
        self.claims.append(claim)
        return claim

    def _name(self, node: HierarchyNode, elements: list[str]) -> None:
        entity = _at(elements, 1)
        if node.level_code in CLAIM_LEVELS and entity in _PERSON_ENTITY_CODES:
            node.person = person_from_nm1(elements)
            node.person.birth_date, node.person.gender = node.birth_date, node.gender
        elif node.party is None:
            node.party = party_from_nm1(elements)

    def _status(self, elements: list[str], number: int, findings: list[Finding]) -> StatusReport:
        reader = self.reader
        statuses = [self._status_code(elements[position]) for position in (1, 10, 11) if _at(elements, position)]
        if not statuses:
            reader.missing("STC", 1, number, findings)
        return StatusReport(
            segment_number=number,
            statuses=statuses,
            effective_date=reader.date(elements, 2, number, findings),
            action_code=_at(elements, 3),
            total_charge=reader.amount(elements, 4, number, findings),
            paid_amount=reader.amount(elements, 5, number, findings),
            adjudication_date=reader.date(elements, 6, number, findings),
            payment_method=_at(elements, 7),
            check_date=reader.date(elements, 8, number, findings),
            check_number=_at(elements, 9),
            message=_at(elements, 12),
        )

    def _status_code(self, text: str) -> StatusCode:
        parts = [*text.split(self.component), "", "", ""]
        return StatusCode(parts[0], parts[1], parts[2], parts[3])

    def _service(self, elements: list[str], number: int, findings: list[Finding]) -> ServiceLineStatus:
        reader = self.reader
        if not _at(elements, 1):
            reader.missing("SVC", 1, number, findings)
        return ServiceLineStatus(
            segment_number=number,
            procedure=procedure_from_composite(_at(elements, 1), self.component),
            charge=reader.amount(elements, 2, number, findings, required=True),
            paid=reader.amount(elements, 3, number, findings),
            revenue_code=_at(elements, 4),
            units=reader.quantity(elements, 7, number, findings),
        )

    def _reference(
        self, elements: list[str], claim: ClaimStatusQuery | None, service: ServiceLineStatus | None
    ) -> None:
        qualifier, value = _at(elements, 1), _at(elements, 2)
        if service is not None:
            if qualifier == "FJ":
                service.line_control_number = value
            return
        if claim is None:
            return
        if qualifier == "1K":
            claim.payer_claim_control_number = value
        elif qualifier == "EJ":
            claim.patient_control_number = value
        elif qualifier == "BLT":
            claim.billing_type = value
        elif qualifier == "D9":
            claim.clearinghouse_trace_number = value

    def _date(
        self,
        elements: list[str],
        number: int,
        claim: ClaimStatusQuery | None,
        service: ServiceLineStatus | None,
    ) -> None:
        if _at(elements, 1) != "472" or claim is None:
            return
        period = self.reader.period(elements, 2, number, claim.findings)
        if period is None:
            return
        if service is not None:
            service.service_date, service.service_end_date = period.start, period.end
        else:
            claim.service_date, claim.service_end_date = period.start, period.end

    def _amount(
        self,
        elements: list[str],
        number: int,
        claim: ClaimStatusQuery | None,
        reporting: ReportingLevelStatus | None,
    ) -> None:
        qualifier = _at(elements, 1)
        if claim is not None and qualifier == "T3":
            claim.total_charge = self.reader.amount(elements, 2, number, claim.findings, required=True)
        elif reporting is not None and qualifier in ("YU", "YY"):
            amount = self.reader.amount(elements, 2, number, self.findings, required=True)
            if qualifier == "YU":
                reporting.accepted_amount = amount
            else:
                reporting.rejected_amount = amount

    def _quantity(self, elements: list[str], number: int, reporting: ReportingLevelStatus) -> None:
        qualifier = _at(elements, 1)
        quantity = self.reader.quantity(elements, 2, number, self.findings, required=True)
        if qualifier == "90":
            reporting.accepted_quantity = quantity
        elif qualifier == "AA":
            reporting.rejected_quantity = quantity

    def _unexpected(self, segment_id: str, number: int, where: str) -> None:
        self.findings.append(
            self.reader.finding(
                Severity.WARNING,
                FindingCode.UNEXPECTED_SEGMENT,
                f"{segment_id[:3]} {where}; ignored",
                number,
                segment_id[:3],
            )
        )


def _at(elements: list[str], position: int) -> str:
    return elements[position] if position < len(elements) else ""


def read_claim_status_response(text: TransactionText) -> ClaimStatusResponse:
    is_acknowledgment = "X214" in (text.header.implementation_reference or "")
    builder = _ClaimStatusBuilder(text, is_response=True, is_acknowledgment=is_acknowledgment)
    builder.build(text)
    view = ClaimStatusResponse(
        header=text.header,
        findings=builder.findings,
        kind="277CA" if is_acknowledgment else "277",
        reporting_levels=builder.reporting_levels,
        claims=[claim for claim in builder.claims if isinstance(claim, ClaimStatus)],
    )
    view.attach_text(text)
    return view


def read_claim_status_request(text: TransactionText) -> ClaimStatusRequestSet:
    builder = _ClaimStatusBuilder(text, is_response=False, is_acknowledgment=False)
    builder.build(text)
    view = ClaimStatusRequestSet(header=text.header, findings=builder.findings, queries=builder.claims)
    view.attach_text(text)
    return view
