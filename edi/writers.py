"""Writers for 270 (005010X279A1), 276 (005010X212) and 837P (005010X222A1), and corrected claims.

Owns serialising segments with configurable separators (refusing data that contains one),
the ISA/GS/ST envelopes with fresh control numbers from a :class:`ControlNumberSource` and
correct SE01/GE01/IEA01 counts, and the HL hierarchies of each transaction. Inquiries and claims
are grouped under shared payer/provider/subscriber levels in the order they were given.

Corrected (CLM05-3 = 7) and void (8) claims are built either from a claim model
(:func:`corrected_submission` + :func:`write_837p`) or losslessly from a claim read out of an
837P (:func:`write_corrected_837p`): its original segments are copied, CLM05-3 is set and REF*F8
(payer claim control number) replaced or inserted where loop 2300 expects it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TypeVar

from edi.outbound import (
    Address,
    ClaimStatusInquiry,
    ControlNumberCounter,
    ControlNumberSource,
    DependentDetails,
    EligibilityInquiry,
    InterchangeSettings,
    ProfessionalClaimSubmission,
    ProviderDetails,
    ReceiverDetails,
    SubmitterDetails,
    SubscriberDetails,
)
from edi.professional_claim import SUBSCRIBER_IS_PATIENT, ClaimSourceSegments, ProfessionalClaim
from edi.segments import Separators


@dataclass(frozen=True, slots=True)
class Repeated:
    """A repeating element: each repetition is a list of components."""

    repetitions: list[list[str]]


Element = str | Sequence[str] | Repeated | None
"""A simple element, a composite (its components), a repeating element or nothing."""

ItemT = TypeVar("ItemT")
KeyT = TypeVar("KeyT", bound=Hashable)

VERSION_270 = "005010X279A1"
VERSION_276 = "005010X212"
VERSION_837P = "005010X222A1"
REPLACEMENT_FREQUENCY = "7"
VOID_FREQUENCY = "8"
# Loop 2300 segments that come before REF*F8 in the TR3 order (REF qualifiers 4N, F5, EW, 9F, G1).
_BEFORE_F8_SEGMENTS = frozenset({"DTP", "PWK", "CN1", "AMT"})
_BEFORE_F8_REFERENCES = frozenset({"4N", "F5", "EW", "9F", "G1"})


class X12WriteError(ValueError):
    """Input a writer cannot turn into valid X12."""


class MissingPayerClaimControlNumber(X12WriteError):
    """A corrected or void claim needs the payer's claim control number (REF*F8)."""


class _SegmentWriter:
    def __init__(self, separators: Separators) -> None:
        self.separators = separators
        self._forbidden = {separators.element, separators.component, separators.segment, "\r", "\n"}
        if separators.repetition:
            self._forbidden.add(separators.repetition)

    def render(self, segment_id: str, elements: Sequence[Element]) -> str:
        parts = [segment_id]
        for position, element in enumerate(elements, start=1):
            if element is None:
                parts.append("")
            elif isinstance(element, str):
                parts.append(self.checked(element, segment_id, position))
            elif isinstance(element, Repeated):
                if self.separators.repetition is None:
                    raise X12WriteError(f"{segment_id}{position:02d} repeats but there is no repetition separator")
                parts.append(
                    self.separators.repetition.join(
                        self._composite(components, segment_id, position) for components in element.repetitions
                    )
                )
            else:
                parts.append(self._composite(element, segment_id, position))
        while len(parts) > 1 and not parts[-1]:
            parts.pop()
        return self.separators.element.join(parts)

    def _composite(self, components: Sequence[str], segment_id: str, position: int) -> str:
        checked = [self.checked(component, segment_id, position) for component in components]
        while checked and not checked[-1]:
            checked.pop()
        return self.separators.component.join(checked)

    def checked(self, value: str, segment_id: str, position: int) -> str:
        for character in self._forbidden:
            if character in value:
                raise X12WriteError(f"{segment_id}{position:02d} contains the separator {character!r}")
        return value


class _TransactionBuilder:
    """Segments of one ST..SE, with HL numbering."""

    def __init__(self, writer: _SegmentWriter, control_number: str, created_at: datetime) -> None:
        self.writer = writer
        self.control_number = control_number
        self.created_at = created_at
        self.segments: list[str] = []
        self._hl_count = 0

    def add(self, segment_id: str, *elements: Element) -> None:
        self.segments.append(self.writer.render(segment_id, elements))

    def hl(self, parent: str | None, level_code: str, has_children: bool) -> str:
        self._hl_count += 1
        hl_id = str(self._hl_count)
        self.add("HL", hl_id, parent, level_code, "1" if has_children else "0")
        return hl_id

    def beginning(self, structure: str, purpose: str, transaction_type: str | None = None) -> None:
        self.add(
            "BHT",
            structure,
            purpose,
            self.control_number,
            self.created_at.strftime("%Y%m%d"),
            self.created_at.strftime("%H%M"),
            transaction_type,
        )


class _InterchangeBuilder:
    """ISA/GS around one or more transaction sets of one functional group."""

    def __init__(
        self,
        settings: InterchangeSettings,
        control_numbers: ControlNumberSource | None,
        functional_identifier: str,
        version: str,
        transaction_set_id: str,
    ) -> None:
        self.settings = settings
        self.control_numbers = control_numbers or ControlNumberCounter()
        self.functional_identifier = functional_identifier
        self.version = version
        self.transaction_set_id = transaction_set_id
        self.writer = _SegmentWriter(settings.separators)
        self.created_at = settings.created_at or datetime.now()
        self.interchange_control = _control_number(self.control_numbers.next_interchange(), "interchange")
        self.group_control = str(_control_number(self.control_numbers.next_group(), "group"))
        self.transactions: list[_TransactionBuilder] = []

    def new_transaction(self) -> _TransactionBuilder:
        control_number = f"{_control_number(self.control_numbers.next_transaction(), 'transaction'):04d}"
        transaction = _TransactionBuilder(self.writer, control_number, self.created_at)
        self.transactions.append(transaction)
        return transaction

    def render(self) -> str:
        settings, writer = self.settings, self.writer
        segments = [self._isa()]
        segments.append(
            writer.render(
                "GS",
                [
                    self.functional_identifier,
                    settings.application_sender or settings.sender_id,
                    settings.application_receiver or settings.receiver_id,
                    self.created_at.strftime("%Y%m%d"),
                    self.created_at.strftime("%H%M"),
                    self.group_control,
                    "X",
                    self.version,
                ],
            )
        )
        for transaction in self.transactions:
            segments.append(writer.render("ST", [self.transaction_set_id, transaction.control_number, self.version]))
            segments.extend(transaction.segments)
            segments.append(writer.render("SE", [str(len(transaction.segments) + 2), transaction.control_number]))
        segments.append(writer.render("GE", [str(len(self.transactions)), self.group_control]))
        segments.append(writer.render("IEA", ["1", f"{self.interchange_control:09d}"]))
        terminator = settings.separators.segment
        if settings.line_break and terminator != "\n":
            terminator += "\n"
        return terminator.join(segments) + terminator

    def _isa(self) -> str:
        settings = self.settings
        separators = settings.separators
        for value, position in ((settings.sender_id, 6), (settings.receiver_id, 8)):
            self.writer.checked(value, "ISA", position)
        elements = [
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            settings.sender_qualifier,
            settings.sender_id.ljust(15),
            settings.receiver_qualifier,
            settings.receiver_id.ljust(15),
            self.created_at.strftime("%y%m%d"),
            self.created_at.strftime("%H%M"),
            separators.repetition or "^",
            "00501",
            f"{self.interchange_control:09d}",
            "1" if settings.acknowledgment_requested else "0",
            settings.usage_indicator,
            separators.component,
        ]
        return separators.element.join(elements)


def _control_number(value: int, level: str) -> int:
    if not 0 < value <= 999_999_999:
        raise X12WriteError(f"{level} control number {value} is outside 1..999999999")
    return value


def _grouped(items: Sequence[ItemT], key: Callable[[ItemT], KeyT]) -> list[tuple[KeyT, list[ItemT]]]:
    """Items grouped by key, groups and items in the order they first appear."""
    groups: dict[KeyT, list[ItemT]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return list(groups.items())


def _amount(value: Decimal) -> str:
    """X12 decimal text: no exponent, no superfluous trailing zeros."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def _date_elements(start: date, end: date | None) -> tuple[str, str]:
    if end is None or end == start:
        return "D8", start.strftime("%Y%m%d")
    if end < start:
        raise X12WriteError(f"service period ends ({end}) before it starts ({start})")
    return "RD8", f"{start:%Y%m%d}-{end:%Y%m%d}"


def _provider_name(transaction: _TransactionBuilder, entity_code: str, provider: ProviderDetails) -> None:
    if provider.is_organization:
        transaction.add("NM1", entity_code, "2", provider.name, "", "", "", "", "XX", provider.npi)
    else:
        transaction.add("NM1", entity_code, "1", provider.name, provider.first_name, "", "", "", "XX", provider.npi)


def _person_demographics(transaction: _TransactionBuilder, birth_date: date | None, gender: str) -> None:
    if birth_date is not None:
        transaction.add("DMG", "D8", birth_date.strftime("%Y%m%d"), gender)


def _address(transaction: _TransactionBuilder, address: Address | None) -> None:
    if address is not None:
        transaction.add("N3", address.line1, address.line2 or None)
        transaction.add("N4", address.city, address.state, address.postal_code)


def _subscriber_name(transaction: _TransactionBuilder, subscriber: SubscriberDetails) -> None:
    transaction.add(
        "NM1",
        "IL",
        "1",
        subscriber.last_name,
        subscriber.first_name,
        subscriber.middle_name,
        "",
        "",
        "MI",
        subscriber.member_id,
    )


def write_276(
    inquiries: Sequence[ClaimStatusInquiry],
    *,
    requester: SubmitterDetails,
    settings: InterchangeSettings,
    control_numbers: ControlNumberSource | None = None,
) -> str:
    """One interchange with one 276 asking about every inquiry (grouped payer > provider >
    subscriber > dependent). ``requester`` is the information receiver (NM1*41)."""
    if not inquiries:
        raise X12WriteError("a 276 needs at least one inquiry")
    interchange = _InterchangeBuilder(settings, control_numbers, "HR", VERSION_276, "276")
    transaction = interchange.new_transaction()
    transaction.beginning("0010", "13")
    for payer, payer_inquiries in _grouped(inquiries, lambda inquiry: inquiry.payer):
        payer_hl = transaction.hl(None, "20", True)
        transaction.add("NM1", "PR", "2", payer.name, "", "", "", "", "PI", payer.payer_id)
        receiver_hl = transaction.hl(payer_hl, "21", True)
        transaction.add("NM1", "41", "2", requester.name, "", "", "", "", "46", requester.identifier)
        for provider, provider_inquiries in _grouped(payer_inquiries, lambda inquiry: inquiry.provider):
            provider_hl = transaction.hl(receiver_hl, "19", True)
            _provider_name(transaction, "1P", provider)
            for (subscriber, dependent), group in _grouped(
                provider_inquiries, lambda inquiry: (inquiry.subscriber, inquiry.dependent)
            ):
                _claim_status_subscriber(transaction, provider_hl, subscriber, dependent, group)
    return interchange.render()


def _claim_status_subscriber(
    transaction: _TransactionBuilder,
    provider_hl: str,
    subscriber: SubscriberDetails,
    dependent: DependentDetails | None,
    inquiries: list[ClaimStatusInquiry],
) -> None:
    subscriber_hl = transaction.hl(provider_hl, "22", dependent is not None)
    if dependent is None:
        _person_demographics(transaction, subscriber.birth_date, subscriber.gender)
    _subscriber_name(transaction, subscriber)
    if dependent is not None:
        transaction.hl(subscriber_hl, "23", False)
        _person_demographics(transaction, dependent.birth_date, dependent.gender)
        transaction.add("NM1", "QC", "1", dependent.last_name, dependent.first_name)
    for inquiry in inquiries:
        transaction.add("TRN", "1", inquiry.effective_trace_number)
        if inquiry.payer_claim_control_number:
            transaction.add("REF", "1K", inquiry.payer_claim_control_number)
        transaction.add("REF", "EJ", inquiry.patient_control_number)
        transaction.add("AMT", "T3", _amount(inquiry.total_charge))
        transaction.add("DTP", "472", *_date_elements(inquiry.service_date, inquiry.service_end_date))


def write_270(
    inquiries: Sequence[EligibilityInquiry],
    *,
    settings: InterchangeSettings,
    control_numbers: ControlNumberSource | None = None,
) -> str:
    """One interchange with one 270 asking about every inquiry (grouped payer > provider)."""
    if not inquiries:
        raise X12WriteError("a 270 needs at least one inquiry")
    interchange = _InterchangeBuilder(settings, control_numbers, "HS", VERSION_270, "270")
    transaction = interchange.new_transaction()
    transaction.beginning("0022", "13")
    for payer, payer_inquiries in _grouped(inquiries, lambda inquiry: inquiry.payer):
        payer_hl = transaction.hl(None, "20", True)
        transaction.add("NM1", "PR", "2", payer.name, "", "", "", "", "PI", payer.payer_id)
        for provider, provider_inquiries in _grouped(payer_inquiries, lambda inquiry: inquiry.provider):
            provider_hl = transaction.hl(payer_hl, "21", True)
            _provider_name(transaction, "1P", provider)
            for inquiry in provider_inquiries:
                _eligibility_subject(transaction, provider_hl, inquiry)
    return interchange.render()


def _eligibility_subject(transaction: _TransactionBuilder, provider_hl: str, inquiry: EligibilityInquiry) -> None:
    subscriber, dependent = inquiry.subscriber, inquiry.dependent
    subscriber_hl = transaction.hl(provider_hl, "22", dependent is not None)
    if dependent is None:
        transaction.add("TRN", "1", inquiry.trace_number, inquiry.trace_originator_id)
    _subscriber_name(transaction, subscriber)
    if dependent is None:
        _person_demographics(transaction, subscriber.birth_date, subscriber.gender)
        _eligibility_request_details(transaction, inquiry)
        return
    transaction.hl(subscriber_hl, "23", False)
    transaction.add("TRN", "1", inquiry.trace_number, inquiry.trace_originator_id)
    transaction.add("NM1", "03", "1", dependent.last_name, dependent.first_name)
    _person_demographics(transaction, dependent.birth_date, dependent.gender)
    _eligibility_request_details(transaction, inquiry)


def _eligibility_request_details(transaction: _TransactionBuilder, inquiry: EligibilityInquiry) -> None:
    if inquiry.service_date is not None:
        transaction.add("DTP", "291", "D8", inquiry.service_date.strftime("%Y%m%d"))
    for service_type in inquiry.service_types:
        transaction.add("EQ", service_type)


def write_837p(
    claims: Sequence[ProfessionalClaimSubmission],
    *,
    submitter: SubmitterDetails,
    receiver: ReceiverDetails,
    settings: InterchangeSettings,
    control_numbers: ControlNumberSource | None = None,
) -> str:
    """One interchange with one 837P holding every claim (grouped billing provider >
    subscriber > dependent). Corrected (7) and void (8) claims must carry REF*F8."""
    if not claims:
        raise X12WriteError("an 837P needs at least one claim")
    for claim in claims:
        if claim.frequency_code in (REPLACEMENT_FREQUENCY, VOID_FREQUENCY) and not claim.payer_claim_control_number:
            raise MissingPayerClaimControlNumber(
                f"claim {claim.claim_id!r} has frequency {claim.frequency_code} but no payer claim control number"
            )
    interchange = _InterchangeBuilder(settings, control_numbers, "HC", VERSION_837P, "837")
    transaction = interchange.new_transaction()
    _claim_header(transaction, submitter, receiver)
    for provider, provider_claims in _grouped(claims, lambda claim: claim.billing_provider):
        provider_hl = transaction.hl(None, "20", True)
        if provider.taxonomy_code:
            transaction.add("PRV", "BI", "PXC", provider.taxonomy_code)
        if provider.is_organization:
            transaction.add("NM1", "85", "2", provider.name, "", "", "", "", "XX", provider.npi)
        else:
            transaction.add("NM1", "85", "1", provider.name, provider.first_name, "", "", "", "XX", provider.npi)
        _address(transaction, provider.address)
        transaction.add("REF", "EI", provider.tax_id)
        for _, subscriber_claims in _grouped(
            provider_claims,
            lambda claim: (
                claim.payer,
                claim.subscriber,
                claim.payer_responsibility,
                claim.claim_filing_indicator,
                claim.dependent is None,
            ),
        ):
            _claim_subscriber(transaction, provider_hl, subscriber_claims)
    return interchange.render()


def _claim_header(transaction: _TransactionBuilder, submitter: SubmitterDetails, receiver: ReceiverDetails) -> None:
    transaction.beginning("0019", "00", "CH")
    transaction.add("NM1", "41", "2", submitter.name, "", "", "", "", "46", submitter.identifier)
    transaction.add(
        "PER",
        "IC",
        submitter.contact_name or submitter.name,
        "TE" if submitter.contact_phone else None,
        submitter.contact_phone,
    )
    transaction.add("NM1", "40", "2", receiver.name, "", "", "", "", "46", receiver.identifier)


def _claim_subscriber(
    transaction: _TransactionBuilder, provider_hl: str, claims: list[ProfessionalClaimSubmission]
) -> None:
    first = claims[0]
    subscriber = first.subscriber
    subscriber_is_patient = first.dependent is None
    subscriber_hl = transaction.hl(provider_hl, "22", not subscriber_is_patient)
    transaction.add(
        "SBR",
        first.payer_responsibility,
        SUBSCRIBER_IS_PATIENT if subscriber_is_patient else None,
        subscriber.group_number or None,
        "",
        "",
        "",
        "",
        "",
        first.claim_filing_indicator,
    )
    _subscriber_name(transaction, subscriber)
    if subscriber_is_patient:
        _address(transaction, subscriber.address)
        _person_demographics(transaction, subscriber.birth_date, subscriber.gender)
    transaction.add("NM1", "PR", "2", first.payer.name, "", "", "", "", "PI", first.payer.payer_id)
    if subscriber_is_patient:
        for claim in claims:
            _claim_loop(transaction, claim)
        return
    for dependent, dependent_claims in _grouped(claims, lambda claim: claim.dependent):
        assert dependent is not None  # grouped under "subscriber is not the patient"
        transaction.hl(subscriber_hl, "23", False)
        transaction.add("PAT", dependent.relationship_code)
        transaction.add("NM1", "QC", "1", dependent.last_name, dependent.first_name)
        _address(transaction, dependent.address)
        _person_demographics(transaction, dependent.birth_date, dependent.gender)
        for claim in dependent_claims:
            _claim_loop(transaction, claim)


def _claim_loop(transaction: _TransactionBuilder, claim: ProfessionalClaimSubmission) -> None:
    transaction.add(
        "CLM",
        claim.claim_id,
        _amount(claim.total_charge),
        "",
        "",
        (claim.place_of_service, "B", claim.frequency_code),
        "Y",
        "A",
        "Y",
        "Y",
    )
    if claim.prior_authorization:
        transaction.add("REF", "G1", claim.prior_authorization)
    if claim.payer_claim_control_number:
        transaction.add("REF", "F8", claim.payer_claim_control_number)
    transaction.add(
        "HI",
        *[("ABK" if index == 0 else "ABF", code) for index, code in enumerate(claim.diagnosis_codes)],
    )
    rendering = claim.rendering_provider
    if rendering is not None:
        entity = "2" if rendering.is_organization else "1"
        transaction.add("NM1", "82", entity, rendering.name, rendering.first_name, "", "", "", "XX", rendering.npi)
    for number, line in enumerate(claim.service_lines, start=1):
        transaction.add("LX", str(number))
        transaction.add(
            "SV1",
            ("HC", line.procedure_code, *line.modifiers),
            _amount(line.charge),
            line.unit_basis,
            _amount(line.units),
            "",
            "",
            [str(pointer) for pointer in line.diagnosis_pointers],
        )
        transaction.add("DTP", "472", *_date_elements(line.service_date, line.service_end_date))
        if line.line_control_number:
            transaction.add("REF", "6R", line.line_control_number)


def corrected_submission(
    claim: ProfessionalClaimSubmission, payer_claim_control_number: str | None, *, void: bool = False
) -> ProfessionalClaimSubmission:
    """The claim as a replacement (CLM05-3 = 7) or void (8) of the payer's claim
    ``payer_claim_control_number`` (835 CLP07 or 277 REF*1K)."""
    control_number = _required_control_number(payer_claim_control_number, claim.claim_id)
    return claim.model_copy(
        update={
            "frequency_code": VOID_FREQUENCY if void else REPLACEMENT_FREQUENCY,
            "payer_claim_control_number": control_number,
        }
    )


def _required_control_number(value: str | None, claim_id: str) -> str:
    if value is None or not value.strip():
        raise MissingPayerClaimControlNumber(
            f"claim {claim_id!r}: a corrected or void claim needs the payer claim control number (REF*F8)"
        )
    return value.strip()


@dataclass(frozen=True, slots=True)
class ClaimCorrection:
    """A claim read from an 837P, to be sent again as replacement (7) or void (8)."""

    original: ProfessionalClaim
    payer_claim_control_number: str | None
    void: bool = False


def write_corrected_837p(
    corrections: Sequence[ClaimCorrection],
    *,
    settings: InterchangeSettings,
    control_numbers: ControlNumberSource | None = None,
) -> str:
    """One interchange re-sending claims read from 837P files as replacements or voids.

    Each claim's original segments are copied (submitter/receiver, billing provider, subscriber,
    patient and the whole claim loop); only BHT, HL numbers, CLM05-3 and REF*F8 change.
    """
    if not corrections:
        raise X12WriteError("no claims to correct")
    prepared = [(_source_of(correction), correction) for correction in corrections]
    interchange = _InterchangeBuilder(settings, control_numbers, "HC", VERSION_837P, "837")
    for _, group in _grouped(prepared, lambda pair: id(pair[0].header)):
        transaction = interchange.new_transaction()
        source_header = group[0][0].header
        transaction.beginning("0019", "00", "CH")
        for segment in source_header:
            if segment[0] != "BHT":
                _copy(transaction, segment, group[0][0].separators)
        _corrected_hierarchy(transaction, group)
    return interchange.render()


def _source_of(correction: ClaimCorrection) -> ClaimSourceSegments:
    source = correction.original.source
    if source is None or not source.billing_provider or not source.subscriber:
        raise X12WriteError(f"claim {correction.original.claim_id!r} has no source 837P segments to copy")
    return source


def _corrected_hierarchy(
    transaction: _TransactionBuilder, group: list[tuple[ClaimSourceSegments, ClaimCorrection]]
) -> None:
    for _, provider_group in _grouped(group, lambda pair: id(pair[0].billing_provider)):
        first_source = provider_group[0][0]
        provider_hl = transaction.hl(None, "20", True)
        _copy_loop_body(transaction, first_source.billing_provider, first_source.separators)
        for _, subscriber_group in _grouped(provider_group, lambda pair: id(pair[0].subscriber)):
            subscriber_source = subscriber_group[0][0]
            has_patients = any(source.patient for source, _ in subscriber_group)
            subscriber_hl = transaction.hl(provider_hl, "22", has_patients)
            _copy_loop_body(transaction, subscriber_source.subscriber, subscriber_source.separators)
            # the subscriber's own claims come before any patient (HL 23) level
            patient_groups = sorted(
                _grouped(subscriber_group, lambda pair: id(pair[0].patient)),
                key=lambda item: bool(item[1][0][0].patient),
            )
            for _, patient_group in patient_groups:
                patient_source = patient_group[0][0]
                if patient_source.patient:
                    transaction.hl(subscriber_hl, "23", False)
                    _copy_loop_body(transaction, patient_source.patient, patient_source.separators)
                for source, correction in patient_group:
                    for segment in _corrected_claim_segments(source, correction):
                        _copy(transaction, segment, source.separators)


def _copy_loop_body(transaction: _TransactionBuilder, segments: list[list[str]], separators: Separators) -> None:
    """A loop's segments after its HL (the HL is rewritten with new numbers)."""
    for segment in segments[1:]:
        _copy(transaction, segment, separators)


def _corrected_claim_segments(source: ClaimSourceSegments, correction: ClaimCorrection) -> list[list[str]]:
    claim = correction.original
    control_number = _required_control_number(correction.payer_claim_control_number, claim.claim_id)
    segments = [list(segment) for segment in source.claim]
    clm = segments[0]
    while len(clm) < 6:
        clm.append("")
    facility = [*clm[5].split(source.separators.component), "", "", ""][:3]
    facility[2] = VOID_FREQUENCY if correction.void else REPLACEMENT_FREQUENCY
    if not facility[1]:
        facility[1] = "B"
    clm[5] = source.separators.component.join(facility)
    reference = ["REF", "F8", control_number]
    for index, segment in enumerate(segments):
        if segment[0] == "REF" and len(segment) > 1 and segment[1] == "F8":
            segments[index] = reference
            return segments
        if segment[0] in ("LX", "SBR"):
            break
    segments.insert(_f8_position(segments), reference)
    return segments


def _f8_position(segments: list[list[str]]) -> int:
    """Index after CLM and the 2300 segments the TR3 orders before REF*F8."""
    position = 1
    while position < len(segments):
        segment = segments[position]
        qualifier = segment[1] if len(segment) > 1 else ""
        if segment[0] in _BEFORE_F8_SEGMENTS or (segment[0] == "REF" and qualifier in _BEFORE_F8_REFERENCES):
            position += 1
        else:
            break
    return position


def _copy(transaction: _TransactionBuilder, segment: list[str], source: Separators) -> None:
    """Re-serialise a read segment; composites and repetitions are re-split so that the output
    may use other separators than the file the claim was read from."""
    elements: list[Element] = []
    for text in segment[1:]:
        if source.repetition and source.repetition in text:
            elements.append(Repeated([part.split(source.component) for part in text.split(source.repetition)]))
        elif source.component in text:
            elements.append(text.split(source.component))
        else:
            elements.append(text)
    transaction.add(segment[0], *elements)
