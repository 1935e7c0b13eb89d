"""835 (005010X221A1) health care claim payment/advice: the remittance view.

Owns turning one 835 transaction into payment, payer/payee, claims (CLP) with claim- and
service-level adjustments (CAS), remark codes (MOA/MIA/LQ), service lines (SVC), dates and
provider-level adjustments (PLB), and the balancing rules of the TR3:

* claim: CLP03 - all CAS amounts (claim and lines) = CLP04;
* lines: sum(SVC03) - claim-level CAS = CLP04 when service lines are present;
* line: SVC02 - line CAS = SVC03 (together these make sum(SVC02) = CLP03: a claim charge that is not
  its lines' charges breaks one of them);
* transaction: BPR02 = sum(CLP04) - sum(PLB amounts) (a warning, as are BPR faults: each claim is
  still the payer's own answer).

Problems are findings on the claim they concern (the claim is then not ``is_valid``); other
claims in the file are unaffected. Large ERAs are the hot path of the layer (see
bench/x12_835_bench.py): records are slotted dataclasses built in one pass, and collections
that are usually empty or short (adjustments, remark codes, services) are tuples, which keeps
the number of objects the garbage collector has to scan low.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

from edi.findings import Finding, FindingCode, Severity, as_warnings, has_errors
from edi.parties import Party, PersonIdentity, ProcedureCode, party_from_nm1
from edi.transaction import TransactionText, TransactionView
from edi.values import ElementReader, element_name, is_decimal_text, parse_date

BALANCE_TOLERANCE = Decimal("0.005")
_ZERO = Decimal(0)
_CACHE_LIMIT = 4_096  # distinct values remembered per transaction: a fee schedule fits, memory stays small

CLAIM_STATUS_LABELS = {
    "1": "processed as primary",
    "2": "processed as secondary",
    "3": "processed as tertiary",
    "4": "denied",
    "19": "processed as primary, forwarded to additional payer(s)",
    "20": "processed as secondary, forwarded to additional payer(s)",
    "21": "processed as tertiary, forwarded to additional payer(s)",
    "22": "reversal of previous payment",
    "23": "not our claim, forwarded to additional payer(s)",
    "25": "predetermination pricing only - no payment",
}
DENIED_STATUS = "4"
REVERSAL_STATUS = "22"

_CAS_TRIPLET_STARTS = (2, 5, 8, 11, 14, 17)
_PLB_PAIR_STARTS = (3, 5, 7, 9, 11, 13)
_KNOWN_SEGMENTS = frozenset(
    {"BPR", "TRN", "CUR", "REF", "DTM", "N1", "N2", "N3", "N4", "PER", "RDM", "LX", "TS3", "TS2"}
    | {"CLP", "CAS", "NM1", "MIA", "MOA", "AMT", "QTY", "SVC", "LQ", "PLB"}
)
_MIA_REMARK_POSITIONS = (5, 20, 21, 22, 23)
_MOA_REMARK_POSITIONS = (3, 4, 5, 6, 7)


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One CAS triplet: group (CO, PR, OA, PI, CR), CARC reason code, amount, quantity."""

    group: str
    reason: str
    amount: Decimal
    quantity: Decimal | None = None

    def __str__(self) -> str:
        return f"{self.group}-{self.reason} {self.amount}"


@dataclass(slots=True)
class ServiceLinePayment:
    """SVC loop (2110): what was billed and paid for one procedure, with its adjustments.

    ``service_date`` is DTM*472 or the period start DTM*150; ``service_end_date`` the end of the
    period (DTM*151), equal to ``service_date`` for a single day.
    """

    segment_number: int
    procedure: ProcedureCode
    charge: Decimal | None
    paid: Decimal | None
    revenue_code: str = ""
    units: Decimal | None = None
    submitted_procedure: ProcedureCode | None = None
    service_date: date | None = None
    service_end_date: date | None = None
    adjustments: tuple[Adjustment, ...] = ()
    remark_codes: tuple[str, ...] = ()
    line_control_number: str = ""
    allowed_amount: Decimal | None = None


@dataclass(slots=True)
class ClaimPayment:
    """CLP loop (2100): the payer's decision on one claim."""

    segment_number: int
    patient_control_number: str
    status_code: str
    charge: Decimal | None
    paid: Decimal | None
    patient_responsibility: Decimal | None
    filing_indicator: str
    payer_claim_control_number: str
    facility_type_code: str = ""
    frequency_code: str = ""
    patient: PersonIdentity | None = None
    insured: PersonIdentity | None = None
    rendering_provider: Party | None = None
    adjustments: tuple[Adjustment, ...] = ()
    services: tuple[ServiceLinePayment, ...] = ()
    remark_codes: tuple[str, ...] = ()
    statement_period_start: date | None = None
    statement_period_end: date | None = None
    received_date: date | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not has_errors(self.findings)

    @property
    def is_denied(self) -> bool:
        return self.status_code == DENIED_STATUS

    @property
    def is_reversal(self) -> bool:
        return self.status_code == REVERSAL_STATUS

    @property
    def status_label(self) -> str:
        return CLAIM_STATUS_LABELS.get(self.status_code, "unknown status")

    def all_adjustments(self) -> list[Adjustment]:
        """Claim-level adjustments followed by every service line's."""
        combined = list(self.adjustments)
        for service in self.services:
            combined.extend(service.adjustments)
        return combined

    def all_remark_codes(self) -> list[str]:
        combined = list(self.remark_codes)
        for service in self.services:
            combined.extend(service.remark_codes)
        return combined


@dataclass(slots=True)
class PaymentInstruction:
    """BPR: how much was paid, how, and when."""

    handling_code: str
    amount: Decimal | None
    credit_debit: str
    method: str
    payment_date: date | None


@dataclass(slots=True)
class ProviderAdjustment:
    """One PLB reason/amount pair: a provider-level adjustment not tied to a claim."""

    provider_identifier: str
    fiscal_period_date: date | None
    reason_code: str
    reference: str
    amount: Decimal
    segment_number: int


class RemittanceAdvice(TransactionView):
    """One 835 transaction set."""

    kind: Literal["835"] = "835"
    payment: PaymentInstruction | None
    trace_number: str
    trace_originator: str
    production_date: date | None
    payer: Party | None
    payee: Party | None
    claims: list[ClaimPayment]
    provider_adjustments: list[ProviderAdjustment]


# ServiceLinePayment's fields after segment_number: procedure, charge, paid, revenue code, units,
# submitted procedure
_ServiceValues = tuple[ProcedureCode, Decimal | None, Decimal | None, str, Decimal | None, ProcedureCode | None]


class _RemittanceBuilder:
    """One pass over an 835 body, keeping the open claim and service line.

    The frequent segments (DTM, CAS, SVC, REF, AMT, CLP) are handled inline, common valid case
    first; anything unusual goes to a slow-path method that records the finding. Values an ERA
    repeats (fee-schedule amounts, dates, procedure codes, whole CAS segments) are converted once
    per transaction and shared afterwards; the shared records are immutable.
    """

    def __init__(self, text: TransactionText) -> None:
        self.reader = ElementReader(text.source_name)
        self.component = text.separators.component
        self.element_separator = text.separators.element
        self.findings: list[Finding] = list(text.findings)
        self.payment: PaymentInstruction | None = None
        self.payment_number = 0
        self.trace_number = ""
        self.trace_originator = ""
        self.production_date: date | None = None
        self.payer: Party | None = None
        self.payee: Party | None = None
        self.claims: list[ClaimPayment] = []
        self.provider_adjustments: list[ProviderAdjustment] = []
        self.dates: dict[str, date] = {}
        self.amounts: dict[str, Decimal] = {}
        self.procedures: dict[str, ProcedureCode] = {}
        self.adjustment_segments: dict[str, tuple[Adjustment, ...]] = {}
        self.date_segments: dict[str, tuple[str, date | None]] = {}
        self.service_segments: dict[str, _ServiceValues] = {}
        self.allowed_segments: dict[str, Decimal] = {}

    def build(self, text: TransactionText) -> None:
        element_separator = text.separators.element
        # Segments an ERA repeats verbatim (DTM, CAS, SVC, AMT with fee-schedule amounts) are
        # looked up by their whole text before splitting: a hit skips str.split and every
        # conversion. Only segments read without findings are remembered, so a hit behaves
        # exactly like the general path below, which handles misses and everything else.
        dtm_head, cas_head, svc_head = (name + element_separator for name in ("DTM", "CAS", "SVC"))
        line_control_head = f"REF{element_separator}6R{element_separator}"
        line_control_start = len(line_control_head)
        date_segments = self.date_segments
        adjustment_segments = self.adjustment_segments
        service_segments = self.service_segments
        allowed_segments = self.allowed_segments
        amounts = self.amounts
        claims = self.claims
        claim: ClaimPayment | None = None
        service: ServiceLinePayment | None = None
        # each claim's service lines, stored on the claims as tuples once the body is read
        services_of_claims: list[list[ServiceLinePayment]] = []
        services: list[ServiceLinePayment] = []
        service_period_qualifiers = _SERVICE_PERIOD_QUALIFIERS
        number = text.header.first_segment
        # a large ERA's body is a window on the file's text, split a block at a time as it is read
        for segment_text in text.body:
            number += 1
            # dispatch on the first character (the reader never yields empty segments; indexing
            # allocates nothing, a slice would); a hit in one of the caches of segment texts
            # proves the segment id, a miss checks the prefix
            first = segment_text[0]
            if first == "D":
                dated = date_segments.get(segment_text)
                if dated is None and segment_text.startswith(dtm_head):
                    dated = self._date_segment(segment_text, number, claim)
                if dated is not None:
                    qualifier, value = dated
                    if claim is None:
                        if qualifier == "405":
                            self.production_date = value
                    elif service is not None and qualifier == "472":
                        service.service_date = service.service_end_date = value
                    elif service is not None and qualifier in service_period_qualifiers:
                        if qualifier == "150":
                            service.service_date = value
                        else:
                            service.service_end_date = value
                    elif qualifier == "232":
                        claim.statement_period_start = value
                    elif qualifier == "233":
                        claim.statement_period_end = value
                    elif qualifier == "050":
                        claim.received_date = value
                    continue
            elif first == "C":
                if claim is not None:
                    adjustments = adjustment_segments.get(segment_text)
                    if adjustments is None and segment_text.startswith(cas_head):
                        elements = segment_text.split(element_separator)
                        adjustments = self._adjustments(segment_text, elements, len(elements), number, claim.findings)
                    if adjustments is not None:
                        if service is not None:
                            service.adjustments += adjustments
                        else:
                            claim.adjustments += adjustments
                        continue
            elif first == "S":
                if claim is not None:
                    values = service_segments.get(segment_text)
                    if values is None and (segment_text.startswith(svc_head) or segment_text == "SVC"):
                        values = self._service_values(
                            segment_text, segment_text.split(element_separator), number, claim.findings
                        )
                    if values is not None:
                        # positional and unpacked (no argument tuple): this runs for every service line
                        procedure, charge, paid, revenue_code, units, submitted = values
                        service = ServiceLinePayment(number, procedure, charge, paid, revenue_code, units, submitted)
                        services.append(service)
                        continue
            elif first == "A":
                if service is not None:
                    allowed = allowed_segments.get(segment_text)
                    if allowed is not None:
                        service.allowed_amount = allowed
                        continue
            elif first == "R" and service is not None and segment_text.startswith(line_control_head):
                # REF*6R (line item control number) follows every service line: REF02 is sliced off
                # the text (one string) instead of splitting the segment (a list and four strings)
                line_control_number = segment_text[line_control_start:]
                if element_separator in line_control_number:
                    line_control_number = line_control_number.partition(element_separator)[0]
                service.line_control_number = line_control_number
                continue
            elements = segment_text.split(element_separator)
            segment_id = elements[0]
            count = len(elements)
            if segment_id == "CLP":
                claim = self._claim(elements, count, number)
                claims.append(claim)
                services = []
                services_of_claims.append(services)
                service = None
            elif segment_id == "NM1":
                if claim is not None and count > 1:
                    _claim_person(claim, elements)
            elif segment_id == "AMT":
                if service is not None and claim is not None and count > 2 and elements[1] == "B6":
                    allowed = amounts.get(elements[2])
                    if allowed is None:
                        allowed = self._amount(elements, 2, number, claim.findings)
                    service.allowed_amount = allowed
                    if allowed is not None and len(allowed_segments) < _CACHE_LIMIT:
                        allowed_segments[segment_text] = allowed
            elif segment_id == "LQ":
                if service is not None and count > 2 and elements[1] == "HE" and elements[2]:
                    service.remark_codes += (elements[2],)
            elif segment_id == "MOA" or segment_id == "MIA":
                if claim is not None:
                    positions = _MOA_REMARK_POSITIONS if segment_id == "MOA" else _MIA_REMARK_POSITIONS
                    claim.remark_codes += tuple(elements[p] for p in positions if p < count and elements[p])
            elif segment_id == "LX" or segment_id == "PLB":
                claim = None
                service = None
                if segment_id == "PLB":
                    self._provider_adjustments(elements, number)
            elif segment_id == "CAS" or segment_id == "SVC":
                # only reached without a claim, or as a bare "CAS" without elements (no adjustment)
                if claim is None:
                    self._outside_claim(number, segment_id)
                else:
                    self._adjustments(segment_text, elements, count, number, claim.findings)
            elif segment_id == "DTM":  # a bare "DTM" without elements: only its finding
                self._date_segment(segment_text, number, claim)
            else:
                self._header_segment(elements, number)
        for read_claim, lines in zip(claims, services_of_claims, strict=True):
            read_claim.services = tuple(lines)

    def _header_segment(self, elements: list[str], number: int) -> None:
        segment_id = elements[0]
        padded = [*elements, *[""] * 17]
        if segment_id == "BPR":
            # a fault in the payment header flags the set; each claim is still the payer's answer
            header_findings: list[Finding] = []
            self.payment_number = number
            self.payment = PaymentInstruction(
                handling_code=padded[1],
                amount=self.reader.amount(elements, 2, number, header_findings, required=True),
                credit_debit=padded[3],
                method=padded[4],
                payment_date=self.reader.date(elements, 16, number, header_findings),
            )
            self.findings.extend(as_warnings(header_findings))
        elif segment_id == "TRN":
            self.trace_number = padded[2]
            self.trace_originator = padded[3]
        elif segment_id == "N1":
            party = Party(entity_code=padded[1], name=padded[2], id_qualifier=padded[3], identifier=padded[4])
            if party.entity_code == "PR":
                self.payer = party
            elif party.entity_code == "PE":
                self.payee = party
        elif segment_id not in _KNOWN_SEGMENTS:
            self.findings.append(
                self.reader.finding(
                    Severity.WARNING,
                    FindingCode.UNEXPECTED_SEGMENT,
                    f"segment {segment_id[:3]!r} is not part of an 835; ignored",
                    number,
                    segment_id[:3],
                )
            )

    def _date_segment(self, segment_text: str, number: int, claim: ClaimPayment | None) -> tuple[str, date | None]:
        """Slow path of DTM: (qualifier, DTM02 date) of a segment not seen yet in this transaction."""
        elements = segment_text.split(self.element_separator)
        count = len(elements)
        date_text = elements[2] if count > 2 else ""
        value = self.dates.get(date_text)
        if value is None:
            findings = claim.findings if claim is not None else self.findings
            value = self.reader.date(elements, 2, number, findings, required=True)
            if value is None:
                return (elements[1] if count > 1 else ""), None
            self.dates[date_text] = value
        dated = (elements[1] if count > 1 else ""), value
        if len(self.date_segments) < _CACHE_LIMIT:
            self.date_segments[segment_text] = dated
        return dated

    def _amount(
        self,
        elements: list[str],
        position: int,
        number: int,
        findings: list[Finding],
        *,
        required: bool = False,
        code: FindingCode = FindingCode.INVALID_AMOUNT,
    ) -> Decimal | None:
        """Slow path of an amount: validate and convert a value not seen yet, then remember it."""
        text = elements[position] if position < len(elements) else ""
        if not is_decimal_text(text):  # empty or invalid: the reporting reader says why
            return self.reader.amount(elements, position, number, findings, required=required, code=code)
        value = Decimal(text)
        if len(self.amounts) < _CACHE_LIMIT:
            self.amounts[text] = value
        return value

    def _claim(self, elements: list[str], count: int, number: int) -> ClaimPayment:
        findings: list[Finding] = []
        padded = elements if count > 9 else [*elements, "", "", "", "", "", "", "", "", ""]
        amounts = self.amounts
        charge = amounts.get(padded[3])
        if charge is None:
            charge = self._amount(elements, 3, number, findings, required=True)
        paid = amounts.get(padded[4])
        if paid is None:
            paid = self._amount(elements, 4, number, findings, required=True)
        responsibility = amounts.get(padded[5])
        if responsibility is None and padded[5]:
            responsibility = self._amount(elements, 5, number, findings)
        if not padded[1] or not padded[2]:
            self.reader.missing("CLP", 1 if not padded[1] else 2, number, findings)
        # positional up to frequency_code (once per claim; keywords cost twice as much): number,
        # CLP01 patient control number, CLP02 status, charge, paid, patient responsibility,
        # CLP06 filing indicator, CLP07 payer claim control number, CLP08 facility, CLP09 frequency
        return ClaimPayment(
            number,
            padded[1],
            padded[2],
            charge,
            paid,
            responsibility,
            padded[6],
            padded[7],
            padded[8],
            padded[9],
            findings=findings,
        )

    def _service_values(
        self, segment_text: str, elements: list[str], number: int, findings: list[Finding]
    ) -> _ServiceValues:
        """Slow path of SVC: the line's values after the segment number; remembered when clean."""
        count = len(elements)
        findings_before = len(findings)
        procedure_text = elements[1] if count > 1 else ""
        charge_text = elements[2] if count > 2 else ""
        paid_text = elements[3] if count > 3 else ""
        units_text = elements[5] if count > 5 else ""
        procedure = self.procedures.get(procedure_text) or self._procedure(procedure_text, number, findings)
        amounts = self.amounts
        charge = amounts.get(charge_text)
        if charge is None:
            charge = self._amount(elements, 2, number, findings, required=True)
        paid = amounts.get(paid_text)
        if paid is None:
            paid = self._amount(elements, 3, number, findings, required=True)
        units = amounts.get(units_text)
        if units is None and units_text:
            units = self._amount(elements, 5, number, findings, code=FindingCode.INVALID_NUMBER)
        submitted = None
        if count > 6 and elements[6]:
            submitted = self.procedures.get(elements[6]) or self._procedure(elements[6], number, findings)
        if count > 8:
            self._extra_elements(count, number, findings)
        revenue_code = elements[4] if count > 4 else ""
        values = (procedure, charge, paid, revenue_code, units, submitted)
        if len(findings) == findings_before and len(self.service_segments) < _CACHE_LIMIT:
            self.service_segments[segment_text] = values
        return values

    def _procedure(self, text: str, number: int, findings: list[Finding]) -> ProcedureCode:
        """Slow path of a procedure composite: parse it once, or report it as malformed."""
        component = self.component
        if component in text:
            parts = text.split(component)
            procedure = ProcedureCode(parts[0], parts[1], tuple(part for part in parts[2:6] if part))
            if len(self.procedures) < _CACHE_LIMIT:
                self.procedures[text] = procedure
            return procedure
        if not text:
            self.reader.missing("SVC", 1, number, findings)
        else:
            findings.append(
                self.reader.finding(
                    Severity.WARNING,
                    FindingCode.MALFORMED_COMPOSITE,
                    f"SVC01 {text!r} has no component separator {component!r}; "
                    "procedure qualifier and code cannot be told apart",
                    number,
                    "SVC",
                    "SVC01",
                )
            )
        return ProcedureCode(text, "")

    def _extra_elements(self, count: int, number: int, findings: list[Finding]) -> None:
        findings.append(
            self.reader.finding(
                Severity.WARNING,
                FindingCode.UNEXPECTED_SEGMENT,
                f"SVC has {count - 1} elements, at most 7 are defined; the extra ones are ignored",
                number,
                "SVC",
                element_name("SVC", 8),
            )
        )

    def _adjustments(
        self, segment_text: str, elements: list[str], count: int, number: int, findings: list[Finding]
    ) -> tuple[Adjustment, ...]:
        """Slow path of CAS: read up to six triplets; a segment without problems is remembered."""
        if count == 4 and elements[1] and elements[2]:  # the usual single triplet without quantity
            amount = self.amounts.get(elements[3]) or self._amount(elements, 3, number, findings, required=True)
            single = (Adjustment(elements[1], elements[2], amount, None),) if amount is not None else ()
            if single and len(self.adjustment_segments) < _CACHE_LIMIT:
                self.adjustment_segments[segment_text] = single
            return single
        findings_before = len(findings)
        group = elements[1] if count > 1 else ""
        if not group:
            self.reader.missing("CAS", 1, number, findings)
        adjustments: list[Adjustment] = []
        for start in _CAS_TRIPLET_STARTS:
            if start >= count:
                break
            reason = elements[start]
            amount_text = elements[start + 1] if start + 1 < count else ""
            if not reason and not amount_text:
                continue
            if not reason or not amount_text:
                self.reader.missing("CAS", start if not reason else start + 1, number, findings)
                continue
            amount = self.amounts.get(amount_text)
            if amount is None:
                amount = self._amount(elements, start + 1, number, findings)
            if amount is None:
                continue
            quantity_text = elements[start + 2] if start + 2 < count else ""
            quantity = None if not quantity_text else self.reader.quantity(elements, start + 2, number, findings)
            adjustments.append(Adjustment(group, reason, amount, quantity))
        result = tuple(adjustments)
        if len(findings) == findings_before and len(self.adjustment_segments) < _CACHE_LIMIT:
            self.adjustment_segments[segment_text] = result
        return result

    def _provider_adjustments(self, elements: list[str], number: int) -> None:
        padded = [*elements, *[""] * 15]
        fiscal_date = parse_date(padded[2]) if padded[2] else None
        if padded[2] and fiscal_date is None:
            self.reader.invalid("PLB", 2, number, self.findings, padded[2], FindingCode.INVALID_DATE)
        for start in _PLB_PAIR_STARTS:
            if not padded[start]:
                continue
            reason, _, reference = padded[start].partition(self.component)
            amount = self.reader.amount(elements, start + 1, number, self.findings, required=True)
            if amount is not None:
                self.provider_adjustments.append(
                    ProviderAdjustment(padded[1], fiscal_date, reason, reference, amount, number)
                )

    def _outside_claim(self, number: int, segment_id: str) -> None:
        self.findings.append(
            self.reader.finding(
                Severity.WARNING,
                FindingCode.UNEXPECTED_SEGMENT,
                f"{segment_id} before any CLP claim; ignored",
                number,
                segment_id,
            )
        )

    def check_balances(self) -> None:
        _check_claim_balances(self.reader, self.claims)
        self._check_payment_balance()

    def _check_payment_balance(self) -> None:
        if self.payment is None:
            self.findings.append(
                self.reader.finding(Severity.WARNING, FindingCode.MISSING_SEGMENT, "835 has no BPR payment segment")
            )
            return
        if self.payment.amount is None or any(claim.paid is None for claim in self.claims):
            return
        claims_paid = _ZERO
        for claim in self.claims:
            claims_paid += claim.paid or _ZERO
        provider_adjusted = sum((adjustment.amount for adjustment in self.provider_adjustments), _ZERO)
        expected = claims_paid - provider_adjusted
        if abs(expected - self.payment.amount) > BALANCE_TOLERANCE:
            self.findings.append(
                self.reader.finding(
                    Severity.WARNING,
                    FindingCode.PAYMENT_BALANCE,
                    f"BPR02 {self.payment.amount} differs from claim payments {claims_paid} "
                    f"minus provider adjustments {provider_adjusted} = {expected}",
                    self.payment_number,
                    "BPR",
                    "BPR02",
                )
            )


_SERVICE_PERIOD_QUALIFIERS = frozenset({"150", "151"})  # DTM*472 (one day) is tested first


def _claim_person(claim: ClaimPayment, elements: list[str]) -> None:
    entity = elements[1]
    if entity == "QC":
        claim.patient = _person(elements)
    elif entity == "IL":
        claim.insured = _person(elements)
    elif entity == "82":
        claim.rendering_provider = party_from_nm1(elements)


def _check_claim_balances(reader: ElementReader, claims: list[ClaimPayment]) -> None:
    """The claim and line balancing rules for every claim, in one loop (the 835's second hot path:
    Decimal arithmetic on every line of a large ERA). Exact balance is the usual case, so each rule
    is one subtraction and comparison; the tolerance and the finding come only on a mismatch."""
    for claim in claims:
        charge, paid = claim.charge, claim.paid
        if charge is None or paid is None:
            continue
        claim_adjusted = _ZERO
        for adjustment in claim.adjustments:
            claim_adjusted += adjustment.amount
        lines_adjusted = _ZERO
        lines_paid = _ZERO
        lines_complete = True
        for service in claim.services:
            adjustments = service.adjustments
            if len(adjustments) == 1:  # the usual line: one CAS triplet, nothing to add up
                line_adjusted = adjustments[0].amount
            else:
                line_adjusted = _ZERO
                for adjustment in adjustments:
                    line_adjusted += adjustment.amount
            lines_adjusted += line_adjusted
            line_charge, line_paid = service.charge, service.paid
            if line_charge is None or line_paid is None:
                lines_complete = False
                continue
            lines_paid += line_paid
            line_expected = line_charge - line_adjusted
            if line_expected != line_paid and abs(line_expected - line_paid) > BALANCE_TOLERANCE:
                claim.findings.append(
                    reader.finding(
                        Severity.ERROR,
                        FindingCode.SERVICE_LINE_BALANCE,
                        f"service line charge {line_charge} - adjustments {line_adjusted} != paid {line_paid}",
                        service.segment_number,
                        "SVC",
                        "SVC03",
                    )
                )
        expected_paid = charge - claim_adjusted - lines_adjusted
        if expected_paid != paid and abs(expected_paid - paid) > BALANCE_TOLERANCE:
            claim.findings.append(
                reader.finding(
                    Severity.ERROR,
                    FindingCode.CLAIM_BALANCE,
                    f"claim charge {charge} - adjustments {claim_adjusted + lines_adjusted} = {expected_paid} "
                    f"!= paid {paid}",
                    claim.segment_number,
                    "CLP",
                    "CLP04",
                )
            )
        if not claim.services or not lines_complete:
            continue
        lines_expected = lines_paid - claim_adjusted
        if lines_expected != paid and abs(lines_expected - paid) > BALANCE_TOLERANCE:
            claim.findings.append(
                reader.finding(
                    Severity.ERROR,
                    FindingCode.CLAIM_LINES_BALANCE,
                    f"service lines paid {lines_paid} - claim-level adjustments {claim_adjusted} != claim paid {paid}",
                    claim.segment_number,
                    "CLP",
                    "CLP04",
                )
            )


def read_remittance(text: TransactionText) -> RemittanceAdvice:
    builder = _RemittanceBuilder(text)
    builder.build(text)
    builder.check_balances()
    view = RemittanceAdvice(
        header=text.header,
        findings=builder.findings,
        payment=builder.payment,
        trace_number=builder.trace_number,
        trace_originator=builder.trace_originator,
        production_date=builder.production_date,
        payer=builder.payer,
        payee=builder.payee,
        claims=builder.claims,
        provider_adjustments=builder.provider_adjustments,
    )
    view.attach_text(text)
    return view


_NM1_PADDING = ("",) * 10


def _person(elements: list[str]) -> PersonIdentity:
    """parties.person_from_nm1 for the one NM1*QC of every claim: positional, padding only short
    segments (entity, last, first, middle name, NM108 id qualifier, NM109 id)."""
    padded = elements if len(elements) > 9 else [*elements, *_NM1_PADDING]
    return PersonIdentity(padded[1], padded[3], padded[4], padded[5], padded[8], padded[9])
