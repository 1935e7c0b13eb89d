"""270 eligibility inquiries and 271 (005010X279A1) eligibility responses.

Owns the HL tree (20 payer, 21 information receiver, 22 subscriber, 23 dependent), AAA request
rejections at any level (with the reason and follow-up action codes), EQ service types of an
inquiry, and the EB benefit loops of a response with their MSG texts, DTP dates and LS/LE
related entities. Each subscriber or dependent also gets a plain-language reading of its EB
segments: coverage active/inactive per service type, plans, copays, coinsurance, deductibles
and out-of-pocket amounts, flagged "remaining" for time period 29 (or 33, lifetime remaining).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

from edi.findings import Finding, FindingCode, Severity, has_errors
from edi.hierarchy import HierarchyNode, HierarchyTracker
from edi.parties import Party, PersonIdentity, party_from_nm1, person_from_nm1
from edi.transaction import TransactionText, TransactionView
from edi.values import ElementReader

ACTIVE_COVERAGE_CODES = frozenset({"1", "2", "3", "4", "5"})
INACTIVE_COVERAGE_CODES = frozenset({"6", "7", "8"})
REMAINING_TIME_PERIODS = frozenset({"29", "33"})
BENEFIT_KINDS = {"A": "coinsurance", "B": "copay", "C": "deductible", "G": "out_of_pocket"}
_LEVEL_ORDER = ("20", "21", "22", "23")
_PERSON_LEVELS = frozenset({"22", "23"})
_NETWORK_FLAGS = {"Y": True, "N": False}


@dataclass(slots=True)
class RequestRejection:
    """AAA: the payer could not answer (AAA03 reason, AAA04 follow-up action)."""

    segment_number: int
    level_code: str
    valid_request: str
    reason_code: str
    follow_up_action: str
    in_benefit_loop: bool = False


@dataclass(slots=True)
class BenefitDate:
    """A DTP date or period (e.g. 346 plan begin, 291 plan, 356/357 eligibility begin/end)."""

    qualifier: str
    start: date
    end: date


@dataclass(slots=True)
class EligibilityBenefit:
    """One EB segment with what belongs to its loop."""

    segment_number: int
    code: str
    coverage_level: str = ""
    service_types: list[str] = field(default_factory=list)
    insurance_type: str = ""
    plan_description: str = ""
    time_period: str = ""
    amount: Decimal | None = None
    percent: Decimal | None = None
    quantity_qualifier: str = ""
    quantity: Decimal | None = None
    authorization_required: str = ""
    network_indicator: str = ""
    procedure: str = ""
    messages: list[str] = field(default_factory=list)
    dates: list[BenefitDate] = field(default_factory=list)
    rejections: list[RequestRejection] = field(default_factory=list)
    related_entities: list[Party] = field(default_factory=list)

    @property
    def in_network(self) -> bool | None:
        """EB12: True in network, False out of network, None when not stated or not applicable."""
        return _NETWORK_FLAGS.get(self.network_indicator)


@dataclass(slots=True)
class CoverageAmount:
    """A copay, coinsurance, deductible or out-of-pocket figure read from an EB segment."""

    kind: str
    service_types: list[str]
    coverage_level: str
    in_network: bool | None
    time_period: str
    remaining: bool
    amount: Decimal | None
    percent: Decimal | None
    plan_description: str
    segment_number: int


@dataclass(slots=True)
class CoverageSummary:
    """Plain reading of a person's EB segments."""

    active: bool | None = None
    active_service_types: list[str] = field(default_factory=list)
    inactive_service_types: list[str] = field(default_factory=list)
    plans: list[str] = field(default_factory=list)
    amounts: list[CoverageAmount] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[CoverageAmount]:
        return [amount for amount in self.amounts if amount.kind == kind]


@dataclass(slots=True)
class EligibilityQuery:
    """A subscriber or dependent asked about in a 270 (or answered for in a 271)."""

    segment_number: int
    level_code: str
    trace_number: str = ""
    person: PersonIdentity | None = None
    subscriber: PersonIdentity | None = None
    payer: Party | None = None
    provider: Party | None = None
    service_types: list[str] = field(default_factory=list)
    dates: list[BenefitDate] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not has_errors(self.findings)


@dataclass(slots=True)
class EligibilityResult(EligibilityQuery):
    """A subscriber or dependent in a 271 with benefits, rejections and the coverage reading."""

    benefits: list[EligibilityBenefit] = field(default_factory=list)
    rejections: list[RequestRejection] = field(default_factory=list)
    coverage: CoverageSummary = field(default_factory=CoverageSummary)


class EligibilityResponse(TransactionView):
    """One 271 transaction set; ``rejections`` are AAA segments above subscriber level."""

    kind: Literal["271"] = "271"
    rejections: list[RequestRejection]
    results: list[EligibilityResult]


class EligibilityRequestSet(TransactionView):
    """One 270 transaction set."""

    kind: Literal["270"] = "270"
    queries: list[EligibilityQuery]


class _EligibilityBuilder:
    def __init__(self, text: TransactionText, *, is_response: bool) -> None:
        self.reader = ElementReader(text.source_name)
        self.separators = text.separators
        self.findings: list[Finding] = list(text.findings)
        self.is_response = is_response
        self.tree = HierarchyTracker(self.reader, self.findings, _LEVEL_ORDER)
        self.people: list[EligibilityQuery] = []
        self.rejections: list[RequestRejection] = []

    def build(self, text: TransactionText) -> None:
        node: HierarchyNode | None = None
        person: EligibilityQuery | None = None
        benefit: EligibilityBenefit | None = None
        in_related_entity = False
        for number, elements in text.split_body():
            segment_id = elements[0]
            findings = person.findings if person is not None else self.findings
            if segment_id == "HL":
                node = self.tree.add(elements, number)
                person, benefit, in_related_entity = None, None, False
                if node.level_code in _PERSON_LEVELS:
                    person = self._open_person(node, number)
            elif node is None:
                continue
            elif segment_id == "NM1":
                if in_related_entity and benefit is not None:
                    benefit.related_entities.append(party_from_nm1(elements))
                elif person is not None:
                    person.person = person_from_nm1(elements)
                    person.person.birth_date, person.person.gender = node.birth_date, node.gender
                    node.person = person.person
                else:
                    node.party = party_from_nm1(elements)
            elif segment_id == "DMG":
                node.birth_date = self.reader.date(elements, 2, number, findings, sensitive=True)
                node.gender = _at(elements, 3)
                if person is not None and person.person is not None:
                    person.person.birth_date, person.person.gender = node.birth_date, node.gender
            elif segment_id == "TRN" and person is not None and not person.trace_number:
                person.trace_number = _at(elements, 2)
            elif segment_id == "AAA":
                rejection = RequestRejection(
                    number,
                    node.level_code,
                    _at(elements, 1),
                    _at(elements, 3),
                    _at(elements, 4),
                    benefit is not None,
                )
                self._place_rejection(rejection, person, benefit)
            elif segment_id == "EQ" and person is not None:
                person.service_types.extend(self._repeated(_at(elements, 1)))
            elif segment_id == "EB":
                if isinstance(person, EligibilityResult):
                    benefit = self._benefit(elements, number, person.findings)
                    person.benefits.append(benefit)
                    in_related_entity = False
                else:
                    self._unexpected(segment_id, number)
            elif segment_id == "MSG" and benefit is not None:
                benefit.messages.append(_at(elements, 1))
            elif segment_id == "DTP" and person is not None:
                self._date(elements, number, person, benefit)
            elif segment_id == "LS":
                in_related_entity = True
            elif segment_id == "LE":
                in_related_entity = False

    def _open_person(self, node: HierarchyNode, number: int) -> EligibilityQuery:
        kind = EligibilityResult if self.is_response else EligibilityQuery
        person = kind(number, node.level_code)
        payer, receiver = node.ancestor("20"), node.ancestor("21")
        person.payer = payer.party if payer else None
        person.provider = receiver.party if receiver else None
        subscriber = node.ancestor("22")
        if subscriber is not None and subscriber is not node:
            person.subscriber = subscriber.person
        self.people.append(person)
        return person

    def _place_rejection(
        self,
        rejection: RequestRejection,
        person: EligibilityQuery | None,
        benefit: EligibilityBenefit | None,
    ) -> None:
        if benefit is not None:
            benefit.rejections.append(rejection)
        elif isinstance(person, EligibilityResult):
            person.rejections.append(rejection)
        else:
            self.rejections.append(rejection)

    def _benefit(self, elements: list[str], number: int, findings: list[Finding]) -> EligibilityBenefit:
        reader = self.reader
        code = _at(elements, 1)
        if not code:
            reader.missing("EB", 1, number, findings)
        return EligibilityBenefit(
            segment_number=number,
            code=code,
            coverage_level=_at(elements, 2),
            service_types=self._repeated(_at(elements, 3)),
            insurance_type=_at(elements, 4),
            plan_description=_at(elements, 5),
            time_period=_at(elements, 6),
            amount=reader.amount(elements, 7, number, findings),
            percent=reader.quantity(elements, 8, number, findings),
            quantity_qualifier=_at(elements, 9),
            quantity=reader.quantity(elements, 10, number, findings),
            authorization_required=_at(elements, 11),
            network_indicator=_at(elements, 12),
            procedure=_at(elements, 13),
        )

    def _repeated(self, text: str) -> list[str]:
        if not text:
            return []
        repetition = self.separators.repetition
        return [value for value in text.split(repetition) if value] if repetition else [text]

    def _date(
        self, elements: list[str], number: int, person: EligibilityQuery, benefit: EligibilityBenefit | None
    ) -> None:
        period = self.reader.period(elements, 2, number, person.findings)
        if period is None:
            return
        value = BenefitDate(_at(elements, 1), period.start, period.end)
        (benefit.dates if benefit is not None else person.dates).append(value)

    def _unexpected(self, segment_id: str, number: int) -> None:
        self.findings.append(
            self.reader.finding(
                Severity.WARNING,
                FindingCode.UNEXPECTED_SEGMENT,
                f"{segment_id} outside a subscriber or dependent of a 271; ignored",
                number,
                segment_id,
            )
        )


def summarize_coverage(benefits: list[EligibilityBenefit]) -> CoverageSummary:
    """Read EB segments the way a billing person would: what is covered and what it costs."""
    summary = CoverageSummary()
    for benefit in benefits:
        if benefit.code in ACTIVE_COVERAGE_CODES:
            summary.active = True
            _add_unique(summary.active_service_types, benefit.service_types)
        elif benefit.code in INACTIVE_COVERAGE_CODES:
            summary.active = summary.active or False
            _add_unique(summary.inactive_service_types, benefit.service_types)
        if benefit.plan_description:
            _add_unique(summary.plans, [benefit.plan_description])
        kind = BENEFIT_KINDS.get(benefit.code)
        if kind is not None:
            summary.amounts.append(
                CoverageAmount(
                    kind=kind,
                    service_types=benefit.service_types,
                    coverage_level=benefit.coverage_level,
                    in_network=benefit.in_network,
                    time_period=benefit.time_period,
                    remaining=benefit.time_period in REMAINING_TIME_PERIODS,
                    amount=benefit.amount,
                    percent=benefit.percent,
                    plan_description=benefit.plan_description,
                    segment_number=benefit.segment_number,
                )
            )
        _add_unique(summary.messages, benefit.messages)
    return summary


def _add_unique(target: list[str], values: list[str]) -> None:
    for value in values:
        if value not in target:
            target.append(value)


def _at(elements: list[str], position: int) -> str:
    return elements[position] if position < len(elements) else ""


def read_eligibility_response(text: TransactionText) -> EligibilityResponse:
    builder = _EligibilityBuilder(text, is_response=True)
    builder.build(text)
    results = [person for person in builder.people if isinstance(person, EligibilityResult)]
    for result in results:
        result.coverage = summarize_coverage(result.benefits)
    view = EligibilityResponse(
        header=text.header, findings=builder.findings, rejections=builder.rejections, results=results
    )
    view.attach_text(text)
    return view


def read_eligibility_request(text: TransactionText) -> EligibilityRequestSet:
    builder = _EligibilityBuilder(text, is_response=False)
    builder.build(text)
    view = EligibilityRequestSet(header=text.header, findings=builder.findings, queries=builder.people)
    view.attach_text(text)
    return view
