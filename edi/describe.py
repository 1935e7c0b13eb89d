"""A PHI-free summary of an X12 document, for ``claimbot edi show FILE [--json]``.

Owns what a billing person needs to see about a file (per transaction: control numbers; per
claim: identifiers, status, money, adjustments, remark codes, lines; eligibility benefits;
acknowledgments; every finding with its location) and nothing that identifies a patient: names,
member ids and birth dates never enter the summary, only the patient's initials.
:func:`describe` returns a pydantic model (``model_dump_json()`` for ``--json``) of typed fields:
an adjustment is ``{group, carc, amount, quantity}`` (as ``claims.models.Denial`` names them), a
status ``{category_code, status_code, entity_code}`` under its STC's date and amounts, dates are
ISO dates and amounts decimal strings; :func:`render_lines` turns it into plain text lines (``CO-45
30.00``) without rich markup characters. Payer free text (``message``) is the payer's own words: a
caller that shows it masks PHI in it (``claimbot edi show`` does).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel

from edi.acknowledgment import ImplementationAcknowledgment, InterchangeAck, TransactionSetAck
from edi.claim_status import (
    ClaimStatusQuery,
    ClaimStatusRequestSet,
    ClaimStatusResponse,
    ServiceLineStatus,
    StatusReport,
)
from edi.document import Transaction, X12Document
from edi.eligibility import (
    EligibilityQuery,
    EligibilityRequestSet,
    EligibilityResponse,
    EligibilityResult,
    RequestRejection,
)
from edi.findings import Finding, Severity
from edi.parties import Party, PersonIdentity, ProcedureCode
from edi.professional_claim import ProfessionalClaim, ProfessionalClaimSet
from edi.reader import Interchange
from edi.remittance import Adjustment, ClaimPayment, RemittanceAdvice
from edi.values import parse_date


class FindingSummary(BaseModel):
    severity: Severity
    code: str
    location: str  # the fields below as one line: "era.835 segment 12 CLP03"
    segment_number: int | None
    segment_id: str | None = None
    element: str | None = None
    message: str


class PartySummary(BaseModel):
    """An organisation or provider (NM1/N1): entity code, name, id qualifier and id."""

    entity_code: str
    name: str
    id_qualifier: str = ""
    identifier: str = ""

    def __str__(self) -> str:
        identifier = f" ({self.id_qualifier} {self.identifier})" if self.identifier else ""
        return f"{self.name}{identifier}"


class ProcedureSummary(BaseModel):
    """A procedure composite: qualifier (HC, NU, N4 ...), code, modifiers."""

    qualifier: str
    code: str
    modifiers: list[str] = []

    def __str__(self) -> str:
        return ":".join([self.qualifier, self.code, *self.modifiers])


class DiagnosisSummary(BaseModel):
    """One HI composite: qualifier (ABK principal, ABF other ICD-10) and code."""

    qualifier: str
    code: str


class InterchangeAckSummary(BaseModel):
    """TA1: the answer to one interchange."""

    interchange_control_number: str
    date: date | None
    time: str
    status_code: str
    note_code: str = ""
    accepted: bool


class AdjustmentSummary(BaseModel):
    """One CAS triplet: group (CO, PR, OA, PI, CR), CARC, amount, quantity."""

    group: str
    carc: str
    amount: Decimal
    quantity: Decimal | None = None

    def __str__(self) -> str:
        return f"{self.group}-{self.carc} {self.amount}"


class StatusCodeSummary(BaseModel):
    """One STC01 / STC10 / STC11 composite."""

    category_code: str
    status_code: str = ""
    entity_code: str = ""

    def __str__(self) -> str:
        return ":".join(part for part in (self.category_code, self.status_code, self.entity_code) if part)


class StatusSummary(BaseModel):
    """One STC segment: its codes, its effective date (STC02), amounts and the payer's words (STC12)."""

    segment_number: int
    codes: list[StatusCodeSummary] = []
    effective_date: date | None = None
    total_charge: Decimal | None = None
    paid_amount: Decimal | None = None
    check_date: date | None = None
    check_number: str = ""
    message: str = ""

    def __str__(self) -> str:
        return f"{'/'.join(str(code) for code in self.codes)} {self.message}".strip()


class ProviderAdjustmentSummary(BaseModel):
    segment_number: int
    reason_code: str
    reference: str = ""
    amount: Decimal
    fiscal_period_date: date | None = None


class RejectionSummary(BaseModel):
    """AAA: why the payer could not answer (reason) and what to do (follow-up action)."""

    segment_number: int
    level_code: str
    reason_code: str
    follow_up_action: str = ""


class ReportingStatusSummary(BaseModel):
    """Statuses above claim level (HL 20 payer, 21 receiver or batch, 19 provider)."""

    level_code: str
    entity: PartySummary | None = None
    statuses: list[StatusSummary] = []


class ServiceLineSummary(BaseModel):
    procedure: ProcedureSummary
    charge: Decimal | None = None
    paid: Decimal | None = None
    units: Decimal | None = None
    service_date: date | None = None
    service_end_date: date | None = None
    adjustments: list[AdjustmentSummary] = []
    remark_codes: list[str] = []
    statuses: list[StatusSummary] = []


class ClaimSummary(BaseModel):
    segment_number: int
    patient_control_number: str = ""
    payer_claim_control_number: str = ""
    trace_number: str = ""
    patient_initials: str = ""
    category_code: str = ""  # 277: STC01-1 of the claim's first status
    status_code: str = ""  # 835: CLP02; 277: STC01-2 of the claim's first status
    status: str = ""  # 835: what CLP02 means
    statuses: list[StatusSummary] = []  # 277: every claim-level STC
    frequency_code: str = ""
    charge: Decimal | None = None
    paid: Decimal | None = None
    patient_responsibility: Decimal | None = None
    adjustments: list[AdjustmentSummary] = []
    remark_codes: list[str] = []
    diagnoses: list[DiagnosisSummary] = []
    service_date: date | None = None
    service_end_date: date | None = None
    service_lines: list[ServiceLineSummary] = []
    valid: bool = True
    finding_count: int = 0


class BenefitSummary(BaseModel):
    kind: str
    amount: Decimal | None = None
    percent: Decimal | None = None
    in_network: bool | None = None
    time_period: str = ""
    remaining: bool = False
    coverage_level: str = ""
    service_types: list[str] = []


class EligibilitySummary(BaseModel):
    segment_number: int
    level: str
    trace_number: str = ""
    patient_initials: str = ""
    requested_service_types: list[str] = []
    coverage_active: bool | None = None
    active_service_types: list[str] = []
    inactive_service_types: list[str] = []
    plans: list[str] = []
    benefits: list[BenefitSummary] = []
    rejections: list[RejectionSummary] = []
    messages: list[str] = []


class ElementErrorSummary(BaseModel):
    position: int | None
    component_position: int | None = None
    data_element_reference: str = ""
    error_code: str


class SegmentErrorSummary(BaseModel):
    """IK3/AK3 with its IK4/AK4 element errors (the bad value is left out: it may be PHI)."""

    segment_id: str
    position_in_transaction: int | None
    loop_id: str = ""
    error_code: str
    element_errors: list[ElementErrorSummary] = []


class AcknowledgmentSummary(BaseModel):
    transaction_set_id: str
    control_number: str
    status_code: str
    accepted: bool
    error_codes: list[str] = []
    errors: list[SegmentErrorSummary] = []


class TransactionSummary(BaseModel):
    kind: str
    transaction_set_id: str
    control_number: str
    implementation_reference: str | None
    group_control_number: str | None
    interchange_control_number: str | None
    complete: bool
    first_segment: int
    last_segment: int
    payer: PartySummary | None = None
    payee: PartySummary | None = None
    payment_amount: Decimal | None = None
    payment_method: str = ""
    payment_date: date | None = None
    production_date: date | None = None
    trace_number: str = ""
    provider_adjustments: list[ProviderAdjustmentSummary] = []
    reporting_statuses: list[ReportingStatusSummary] = []
    rejections: list[RejectionSummary] = []
    claims: list[ClaimSummary] = []
    eligibility: list[EligibilitySummary] = []
    acknowledgments: list[AcknowledgmentSummary] = []
    group_status: str = ""


class InterchangeSummary(BaseModel):
    control_number: str
    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    date: date | None  # ISA09 (YYMMDD), as an ISO date
    time: str  # ISA10 as HH:MM
    usage_indicator: str
    complete: bool
    group_count: int
    acknowledgments: list[InterchangeAckSummary] = []


class DocumentSummary(BaseModel):
    source_name: str
    segment_count: int
    interchanges: list[InterchangeSummary]
    transactions: list[TransactionSummary]
    error_count: int
    warning_count: int
    findings: list[FindingSummary]


def describe(document: X12Document) -> DocumentSummary:
    findings = document.all_findings()
    return DocumentSummary(
        source_name=document.source_name,
        segment_count=document.segment_count,
        interchanges=[_interchange(interchange) for interchange in document.interchanges],
        transactions=[_transaction(transaction) for transaction in document.transactions],
        error_count=sum(1 for finding in findings if finding.severity is Severity.ERROR),
        warning_count=sum(1 for finding in findings if finding.severity is Severity.WARNING),
        findings=[_finding(finding) for finding in findings],
    )


def _finding(finding: Finding) -> FindingSummary:
    return FindingSummary(
        severity=finding.severity,
        code=finding.code.value,
        location=str(finding.location),
        segment_number=finding.location.segment_number,
        segment_id=finding.location.segment_id,
        element=finding.location.element,
        message=finding.message,
    )


def _interchange(interchange: Interchange) -> InterchangeSummary:
    return InterchangeSummary(
        control_number=interchange.control_number,
        sender_qualifier=interchange.sender_qualifier,
        sender_id=interchange.sender_id,
        receiver_qualifier=interchange.receiver_qualifier,
        receiver_id=interchange.receiver_id,
        date=_isa_date(interchange.date),
        time=_hhmm(interchange.time),
        usage_indicator=interchange.usage_indicator,
        complete=interchange.complete,
        group_count=len(interchange.groups),
        acknowledgments=[_interchange_ack(ack) for ack in interchange.acknowledgments],
    )


def _isa_date(text: str) -> date | None:
    return parse_date(f"20{text}") if len(text) == 6 else None


def _hhmm(text: str) -> str:
    return f"{text[:2]}:{text[2:4]}" if len(text) == 4 and text.isdigit() else text


def _interchange_ack(ack: InterchangeAck) -> InterchangeAckSummary:
    return InterchangeAckSummary(
        interchange_control_number=ack.interchange_control_number,
        date=_isa_date(ack.date),
        time=_hhmm(ack.time),
        status_code=ack.status_code,
        note_code=ack.note_code,
        accepted=ack.accepted,
    )


def _transaction(transaction: Transaction) -> TransactionSummary:
    header = transaction.header
    summary = TransactionSummary(
        kind=transaction.kind,
        transaction_set_id=header.transaction_set_id,
        control_number=header.control_number,
        implementation_reference=header.implementation_reference,
        group_control_number=header.group_control_number,
        interchange_control_number=header.interchange_control_number,
        complete=header.complete,
        first_segment=header.first_segment,
        last_segment=header.last_segment,
    )
    if isinstance(transaction, RemittanceAdvice):
        _remittance(summary, transaction)
    elif isinstance(transaction, ClaimStatusResponse | ClaimStatusRequestSet):
        _claim_statuses(summary, transaction)
    elif isinstance(transaction, EligibilityResponse | EligibilityRequestSet):
        _eligibility(summary, transaction)
    elif isinstance(transaction, ProfessionalClaimSet):
        summary.claims = [_professional_claim(claim) for claim in transaction.claims]
        if transaction.claims:
            summary.payer = _party(transaction.claims[0].payer)
    elif isinstance(transaction, ImplementationAcknowledgment):
        summary.acknowledgments = [_transaction_ack(ack) for ack in transaction.transaction_acks]
        summary.group_status = transaction.group_status_code
    return summary


def _party(party: Party | None) -> PartySummary | None:
    if party is None:
        return None
    return PartySummary(
        entity_code=party.entity_code, name=party.name, id_qualifier=party.id_qualifier, identifier=party.identifier
    )


def _procedure(procedure: ProcedureCode) -> ProcedureSummary:
    return ProcedureSummary(qualifier=procedure.qualifier, code=procedure.code, modifiers=list(procedure.modifiers))


def _initials(person: PersonIdentity | None) -> str:
    return person.initials if person is not None else ""


def _remittance(summary: TransactionSummary, remittance: RemittanceAdvice) -> None:
    summary.payer = _party(remittance.payer)
    summary.payee = _party(remittance.payee)
    summary.trace_number = remittance.trace_number
    if remittance.payment is not None:
        summary.payment_amount = remittance.payment.amount
        summary.payment_method = remittance.payment.method
        summary.payment_date = remittance.payment.payment_date
    summary.production_date = remittance.production_date
    summary.provider_adjustments = [
        ProviderAdjustmentSummary(
            segment_number=adjustment.segment_number,
            reason_code=adjustment.reason_code,
            reference=adjustment.reference,
            amount=adjustment.amount,
            fiscal_period_date=adjustment.fiscal_period_date,
        )
        for adjustment in remittance.provider_adjustments
    ]
    summary.claims = [_claim_payment(claim) for claim in remittance.claims]


def _claim_payment(claim: ClaimPayment) -> ClaimSummary:
    return ClaimSummary(
        segment_number=claim.segment_number,
        patient_control_number=claim.patient_control_number,
        payer_claim_control_number=claim.payer_claim_control_number,
        patient_initials=_initials(claim.patient),
        status_code=claim.status_code,
        status=claim.status_label,
        frequency_code=claim.frequency_code,
        charge=claim.charge,
        paid=claim.paid,
        patient_responsibility=claim.patient_responsibility,
        adjustments=_adjustments(claim.adjustments),
        remark_codes=list(claim.remark_codes),
        service_date=claim.statement_period_start,
        service_end_date=claim.statement_period_end,
        service_lines=[
            ServiceLineSummary(
                procedure=_procedure(service.procedure),
                charge=service.charge,
                paid=service.paid,
                units=service.units,
                service_date=service.service_date,
                service_end_date=service.service_end_date,
                adjustments=_adjustments(service.adjustments),
                remark_codes=list(service.remark_codes),
            )
            for service in claim.services
        ],
        valid=claim.is_valid,
        finding_count=len(claim.findings),
    )


def _adjustments(adjustments: tuple[Adjustment, ...]) -> list[AdjustmentSummary]:
    return [AdjustmentSummary(group=a.group, carc=a.reason, amount=a.amount, quantity=a.quantity) for a in adjustments]


def _statuses(reports: list[StatusReport]) -> list[StatusSummary]:
    return [
        StatusSummary(
            segment_number=report.segment_number,
            codes=[
                StatusCodeSummary(category_code=code.category, status_code=code.status, entity_code=code.entity)
                for code in report.statuses
            ],
            effective_date=report.effective_date,
            total_charge=report.total_charge,
            paid_amount=report.paid_amount,
            check_date=report.check_date,
            check_number=report.check_number,
            message=report.message,
        )
        for report in reports
    ]


def _rejection(rejection: RequestRejection) -> RejectionSummary:
    return RejectionSummary(
        segment_number=rejection.segment_number,
        level_code=rejection.level_code,
        reason_code=rejection.reason_code,
        follow_up_action=rejection.follow_up_action,
    )


def _claim_statuses(summary: TransactionSummary, transaction: ClaimStatusResponse | ClaimStatusRequestSet) -> None:
    if isinstance(transaction, ClaimStatusResponse):
        claims: list[ClaimStatusQuery] = list(transaction.claims)
        summary.reporting_statuses = [
            ReportingStatusSummary(
                level_code=level.level_code, entity=_party(level.entity), statuses=_statuses(level.statuses)
            )
            for level in transaction.reporting_levels
            if level.statuses
        ]
    else:
        claims = transaction.queries
    summary.claims = [_claim_status(claim) for claim in claims]
    if claims:
        summary.payer = _party(claims[0].payer)


def _claim_status(claim: ClaimStatusQuery) -> ClaimSummary:
    statuses = getattr(claim, "statuses", [])
    first = statuses[0] if statuses else None
    first_code = first.statuses[0] if first is not None and first.statuses else None
    return ClaimSummary(
        segment_number=claim.segment_number,
        patient_control_number=claim.patient_control_number,
        payer_claim_control_number=claim.payer_claim_control_number,
        trace_number=claim.trace_number,
        patient_initials=_initials(claim.patient),
        category_code=first_code.category if first_code is not None else "",
        status_code=first_code.status if first_code is not None else "",
        statuses=_statuses(statuses),
        charge=claim.total_charge if claim.total_charge is not None else (first.total_charge if first else None),
        paid=first.paid_amount if first else None,
        service_date=claim.service_date,
        service_end_date=claim.service_end_date,
        service_lines=[_status_line(line) for line in claim.services],
        valid=claim.is_valid,
        finding_count=len(claim.findings),
    )


def _status_line(line: ServiceLineStatus) -> ServiceLineSummary:
    return ServiceLineSummary(
        procedure=_procedure(line.procedure),
        charge=line.charge,
        paid=line.paid,
        units=line.units,
        service_date=line.service_date,
        service_end_date=line.service_end_date,
        statuses=_statuses(line.statuses),
    )


def _eligibility(summary: TransactionSummary, transaction: EligibilityResponse | EligibilityRequestSet) -> None:
    people: list[EligibilityQuery]
    if isinstance(transaction, EligibilityResponse):
        summary.rejections = [_rejection(rejection) for rejection in transaction.rejections]
        people = list(transaction.results)
    else:
        people = transaction.queries
    summary.eligibility = [_eligibility_person(person) for person in people]
    if people:
        summary.payer = _party(people[0].payer)


def _eligibility_person(person: EligibilityQuery) -> EligibilitySummary:
    entry = EligibilitySummary(
        segment_number=person.segment_number,
        level="dependent" if person.level_code == "23" else "subscriber",
        trace_number=person.trace_number,
        patient_initials=_initials(person.person),
        requested_service_types=list(person.service_types),
    )
    if isinstance(person, EligibilityResult):
        coverage = person.coverage
        entry.coverage_active = coverage.active
        entry.active_service_types = list(coverage.active_service_types)
        entry.inactive_service_types = list(coverage.inactive_service_types)
        entry.plans = list(coverage.plans)
        entry.messages = list(coverage.messages)
        entry.benefits = [
            BenefitSummary(
                kind=amount.kind,
                amount=amount.amount,
                percent=amount.percent,
                in_network=amount.in_network,
                time_period=amount.time_period,
                remaining=amount.remaining,
                coverage_level=amount.coverage_level,
                service_types=list(amount.service_types),
            )
            for amount in coverage.amounts
        ]
        rejections = [*person.rejections, *(r for benefit in person.benefits for r in benefit.rejections)]
        entry.rejections = [_rejection(rejection) for rejection in rejections]
    return entry


def _professional_claim(claim: ProfessionalClaim) -> ClaimSummary:
    return ClaimSummary(
        segment_number=claim.segment_number,
        patient_control_number=claim.claim_id,
        payer_claim_control_number=claim.payer_claim_control_number,
        patient_initials=_initials(claim.patient),
        frequency_code=claim.frequency_code,
        charge=claim.charge,
        diagnoses=[DiagnosisSummary(qualifier=d.qualifier, code=d.code) for d in claim.diagnoses],
        service_lines=[
            ServiceLineSummary(
                procedure=_procedure(line.procedure),
                charge=line.charge,
                units=line.units,
                service_date=line.service_date,
                service_end_date=line.service_end_date,
            )
            for line in claim.services
        ],
        valid=claim.is_valid,
        finding_count=len(claim.findings),
    )


def _transaction_ack(ack: TransactionSetAck) -> AcknowledgmentSummary:
    errors = [
        SegmentErrorSummary(
            segment_id=segment_error.segment_id,
            position_in_transaction=segment_error.position_in_transaction,
            loop_id=segment_error.loop_id,
            error_code=segment_error.error_code,
            element_errors=[
                ElementErrorSummary(
                    position=error.position,
                    component_position=error.component_position,
                    data_element_reference=error.data_element_reference,
                    error_code=error.error_code,
                )
                for error in segment_error.element_errors
            ],
        )
        for segment_error in ack.segment_errors
    ]
    return AcknowledgmentSummary(
        transaction_set_id=ack.transaction_set_id,
        control_number=ack.control_number,
        status_code=ack.status_code,
        accepted=ack.accepted,
        error_codes=list(ack.error_codes),
        errors=errors,
    )


def render_lines(summary: DocumentSummary) -> list[str]:
    """Plain text lines (no ``[`` markup), indented by two spaces per level."""
    lines = [
        f"{summary.source_name}: {summary.segment_count} segments, {len(summary.transactions)} transaction set(s), "
        f"{summary.error_count} error(s), {summary.warning_count} warning(s)"
    ]
    for interchange in summary.interchanges:
        state = "" if interchange.complete else ", INCOMPLETE"
        lines.append(
            f"interchange {interchange.control_number} {interchange.sender_qualifier}:{interchange.sender_id} -> "
            f"{interchange.receiver_qualifier}:{interchange.receiver_id} "
            f"{interchange.date or '-'} {interchange.time} usage {interchange.usage_indicator}{state}"
        )
        lines.extend(f"  {_interchange_ack_text(ack)}" for ack in interchange.acknowledgments)
    for transaction in summary.transactions:
        lines.extend(_transaction_lines(transaction))
    if summary.findings:
        lines.append("findings:")
        lines.extend(
            f"  {finding.severity.value.upper()} {finding.code} at {finding.location}: {finding.message}"
            for finding in summary.findings
        )
    return [line.replace("[", "(").replace("]", ")") for line in lines]


def _transaction_lines(transaction: TransactionSummary) -> list[str]:
    state = "complete" if transaction.complete else "INCOMPLETE"
    lines = [
        f"{transaction.kind} control {transaction.control_number} ({transaction.implementation_reference or '-'}), "
        f"group {transaction.group_control_number or '-'}, segments {transaction.first_segment}-"
        f"{transaction.last_segment}, {state}"
    ]
    if transaction.kind == "835":
        lines.append(
            f"  payer {transaction.payer or '-'}; payee {transaction.payee or '-'}; payment "
            f"{_money(transaction.payment_amount)} {transaction.payment_method} {transaction.payment_date or '-'} "
            f"trace {transaction.trace_number or '-'}"
        )
    elif transaction.payer is not None:
        lines.append(f"  payer {transaction.payer}")
    lines.extend(
        f"  provider adjustment {plb.reason_code} {plb.amount}" + (f" ref {plb.reference}" if plb.reference else "")
        for plb in transaction.provider_adjustments
    )
    lines.extend(
        "  "
        + f"status HL {level.level_code} {level.entity or ''}: {', '.join(str(s) for s in level.statuses)}".replace(
            "  ", " "
        )
        for level in transaction.reporting_statuses
    )
    lines.extend(f"  rejected HL {r.level_code}: {_rejection_text(r)}" for r in transaction.rejections)
    for claim in transaction.claims:
        lines.extend(_claim_lines(claim))
    for person in transaction.eligibility:
        lines.extend(_eligibility_lines(person))
    for ack in transaction.acknowledgments:
        verdict = "accepted" if ack.accepted else "REJECTED"
        codes = f" codes {', '.join(ack.error_codes)}" if ack.error_codes else ""
        lines.append(f"  {ack.transaction_set_id} {ack.control_number} {verdict} ({ack.status_code}){codes}")
        lines.extend(f"    {_segment_error_text(error)}" for error in ack.errors)
    return lines


def _interchange_ack_text(ack: InterchangeAckSummary) -> str:
    verdict = "accepted" if ack.accepted else "rejected"
    note = f", note {ack.note_code}" if ack.note_code else ""
    return f"TA1 interchange {ack.interchange_control_number} {verdict} ({ack.status_code}{note})"


def _rejection_text(rejection: RejectionSummary) -> str:
    return f"AAA {rejection.reason_code} (follow-up {rejection.follow_up_action})"


def _segment_error_text(error: SegmentErrorSummary) -> str:
    elements = "; ".join(f"element {e.position} code {e.error_code}" for e in error.element_errors)
    return f"{error.segment_id} at position {error.position_in_transaction}: code {error.error_code}" + (
        f" ({elements})" if elements else ""
    )


def _money(value: Decimal | None) -> str:
    return "-" if value is None else f"{value}"


def _claim_lines(claim: ClaimSummary) -> list[str]:
    identifiers = claim.patient_control_number or claim.trace_number or "-"
    payer_number = f" payer# {claim.payer_claim_control_number}" if claim.payer_claim_control_number else ""
    initials = f" patient {claim.patient_initials}" if claim.patient_initials else ""
    if claim.statuses:
        status_text = "; ".join(str(status) for status in claim.statuses)
    else:
        status_text = f"{claim.status_code} {claim.status}"
    status = f" status {status_text.strip()}" if status_text.strip() else ""
    frequency = f" frequency {claim.frequency_code}" if claim.frequency_code else ""
    validity = "" if claim.valid else f" INVALID ({claim.finding_count} finding(s))"
    lines = [
        f"  claim {identifiers}{payer_number}{initials}{status}{frequency}: charge {_money(claim.charge)} "
        f"paid {_money(claim.paid)} patient {_money(claim.patient_responsibility)}{validity}"
    ]
    if claim.adjustments:
        lines.append(f"    adjustments {', '.join(str(a) for a in claim.adjustments)}")
    if claim.remark_codes:
        lines.append(f"    remarks {', '.join(claim.remark_codes)}")
    if claim.diagnoses:
        lines.append(f"    diagnoses {', '.join(f'{d.qualifier}:{d.code}' for d in claim.diagnoses)}")
    for line in claim.service_lines:
        when = f" {line.service_date}" if line.service_date else ""
        details = [f"    line {line.procedure}{when} charge {_money(line.charge)} paid {_money(line.paid)}"]
        if line.units is not None:
            details.append(f"units {line.units}")
        if line.adjustments:
            details.append(f"adjustments {', '.join(str(a) for a in line.adjustments)}")
        if line.remark_codes:
            details.append(f"remarks {', '.join(line.remark_codes)}")
        if line.statuses:
            details.append(f"status {'; '.join(str(s) for s in line.statuses)}")
        lines.append(" ".join(details))
    return lines


def _eligibility_lines(person: EligibilitySummary) -> list[str]:
    initials = f" {person.patient_initials}" if person.patient_initials else ""
    coverage = {True: "coverage active", False: "coverage inactive", None: "coverage not stated"}[
        person.coverage_active
    ]
    lines = [f"  {person.level}{initials} trace {person.trace_number or '-'}: {coverage}"]
    if person.requested_service_types:
        lines.append(f"    asked for service types {', '.join(person.requested_service_types)}")
    if person.active_service_types:
        lines.append(f"    active for {', '.join(person.active_service_types)}")
    if person.inactive_service_types:
        lines.append(f"    inactive for {', '.join(person.inactive_service_types)}")
    if person.plans:
        lines.append(f"    plans {', '.join(person.plans)}")
    for benefit in person.benefits:
        value = f"{benefit.percent * 100:.0f}%" if benefit.percent is not None else _money(benefit.amount)
        network = {True: " in network", False: " out of network", None: ""}[benefit.in_network]
        remaining = " remaining" if benefit.remaining else ""
        period = f" period {benefit.time_period}" if benefit.time_period else ""
        lines.append(f"    {benefit.kind} {value}{remaining}{network}{period}")
    lines.extend(f"    rejected {_rejection_text(r)}" for r in person.rejections)
    lines.extend(f"    message {text}" for text in person.messages)
    return lines
