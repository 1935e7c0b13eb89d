"""Typed inputs of the writers: 270 and 276 inquiries, 837P claims, envelope settings.

These are validated pydantic models (user and ledger data enters here), so a writer only ever
sees well-formed values; checks that depend on the chosen separators happen in the writers.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from edi.segments import Separators

Text = Annotated[str, Field(min_length=1, max_length=60)]
Npi = Annotated[str, Field(pattern=r"^\d{10}$")]
Money = Annotated[Decimal, Field(max_digits=18, decimal_places=2, ge=0)]


class _Input(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class InterchangeSettings(_Input):
    """ISA/GS envelope values and the separators to write with."""

    sender_qualifier: Annotated[str, Field(min_length=2, max_length=2)] = "ZZ"
    sender_id: Annotated[str, Field(min_length=1, max_length=15)]
    receiver_qualifier: Annotated[str, Field(min_length=2, max_length=2)] = "ZZ"
    receiver_id: Annotated[str, Field(min_length=1, max_length=15)]
    application_sender: Annotated[str, Field(min_length=2, max_length=15)] | None = None
    application_receiver: Annotated[str, Field(min_length=2, max_length=15)] | None = None
    usage_indicator: Literal["P", "T"] = "P"
    acknowledgment_requested: bool = False
    separators: Separators = Separators()
    line_break: bool = True
    created_at: datetime | None = None

    @model_validator(mode="after")
    def _repetition_separator_required(self) -> InterchangeSettings:
        if self.separators.repetition is None:
            raise ValueError("a 00501 interchange needs a repetition separator (ISA11)")
        return self


class ControlNumberSource(Protocol):
    """Hands out fresh control numbers (the ledger persists them; tests use a counter)."""

    def next_interchange(self) -> int: ...

    def next_group(self) -> int: ...

    def next_transaction(self) -> int: ...


class ControlNumberCounter:
    """In-memory control numbers, one sequence per envelope level."""

    def __init__(self, start: int = 1) -> None:
        self._next = {"interchange": start, "group": start, "transaction": start}

    def _take(self, level: str) -> int:
        value = self._next[level]
        self._next[level] = value + 1
        return value

    def next_interchange(self) -> int:
        return self._take("interchange")

    def next_group(self) -> int:
        return self._take("group")

    def next_transaction(self) -> int:
        return self._take("transaction")


class Address(_Input):
    line1: Annotated[str, Field(min_length=1, max_length=55)]
    line2: Annotated[str, Field(max_length=55)] = ""
    city: Annotated[str, Field(min_length=2, max_length=30)]
    state: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    postal_code: Annotated[str, Field(pattern=r"^\d{5}(\d{4})?$")]


class PayerDetails(_Input):
    name: Text
    payer_id: Annotated[str, Field(min_length=2, max_length=80)]


class ProviderDetails(_Input):
    """A provider identified by NPI: an organisation (name) or a person (last and first name)."""

    name: Text
    npi: Npi
    first_name: str = ""
    is_organization: bool = True


class SubmitterDetails(_Input):
    """Who sends the file (NM1*41): name, ETIN (NM109, qualifier 46) and contact (837P PER)."""

    name: Text
    identifier: Annotated[str, Field(min_length=2, max_length=80)]
    contact_name: str = ""
    contact_phone: Annotated[str, Field(pattern=r"^\d{10}$")] | None = None


class ReceiverDetails(_Input):
    name: Text
    identifier: Annotated[str, Field(min_length=2, max_length=80)]


class SubscriberDetails(_Input):
    """The insured member (PHI)."""

    last_name: Text
    first_name: str = ""
    middle_name: str = ""
    member_id: Annotated[str, Field(min_length=2, max_length=80)]
    birth_date: date | None = None
    gender: Literal["M", "F", "U"] = "U"
    address: Address | None = None
    group_number: str = ""


class DependentDetails(_Input):
    """A patient who is not the subscriber (PHI); ``relationship_code`` is PAT01 (19 = child)."""

    last_name: Text
    first_name: str = ""
    birth_date: date | None = None
    gender: Literal["M", "F", "U"] = "U"
    address: Address | None = None
    relationship_code: Annotated[str, Field(pattern=r"^\d{2}$")] = "19"


class ClaimStatusInquiry(_Input):
    """One claim to ask about in a 276."""

    payer: PayerDetails
    provider: ProviderDetails
    subscriber: SubscriberDetails
    dependent: DependentDetails | None = None
    patient_control_number: Annotated[str, Field(min_length=1, max_length=50)]
    trace_number: Annotated[str, Field(min_length=1, max_length=50)] | None = None
    payer_claim_control_number: str = ""
    total_charge: Money
    service_date: date
    service_end_date: date | None = None

    @property
    def effective_trace_number(self) -> str:
        return self.trace_number or self.patient_control_number


class EligibilityInquiry(_Input):
    """One person to ask about in a 270; ``trace_originator_id`` is TRN03 (1 + EIN, or 9 + id)."""

    payer: PayerDetails
    provider: ProviderDetails
    subscriber: SubscriberDetails
    dependent: DependentDetails | None = None
    trace_number: Annotated[str, Field(min_length=1, max_length=50)]
    trace_originator_id: Annotated[str, Field(pattern=r"^[0-9A-Z]{10}$")]
    service_types: Annotated[list[Annotated[str, Field(pattern=r"^[0-9A-Z]{1,2}$")]], Field(min_length=1)] = ["30"]
    service_date: date | None = None


class BillingProviderDetails(ProviderDetails):
    tax_id: Annotated[str, Field(pattern=r"^\d{9}$")]
    address: Address
    taxonomy_code: Annotated[str, Field(pattern=r"^[0-9A-Z]{9}X$")] | None = None


class ServiceLineSubmission(_Input):
    """One SV1 line; ``diagnosis_pointers`` are 1-based positions in the claim's diagnoses."""

    procedure_code: Annotated[str, Field(pattern=r"^[A-Z0-9]{5}$")]
    modifiers: Annotated[list[Annotated[str, Field(pattern=r"^[A-Z0-9]{2}$")]], Field(max_length=4)] = []
    charge: Money
    units: Annotated[Decimal, Field(gt=0, max_digits=15)] = Decimal(1)
    unit_basis: Literal["UN", "MJ"] = "UN"
    service_date: date
    service_end_date: date | None = None
    diagnosis_pointers: Annotated[list[Annotated[int, Field(ge=1, le=12)]], Field(min_length=1, max_length=4)]
    line_control_number: Annotated[str, Field(max_length=50)] = ""


FrequencyCode = Literal["1", "7", "8"]
"""CLM05-3: 1 original, 7 replacement (corrected claim), 8 void."""


class ProfessionalClaimSubmission(_Input):
    """One 837P claim to send."""

    claim_id: Annotated[str, Field(min_length=1, max_length=38)]
    billing_provider: BillingProviderDetails
    payer: PayerDetails
    subscriber: SubscriberDetails
    dependent: DependentDetails | None = None
    payer_responsibility: Literal["P", "S", "T"] = "P"
    claim_filing_indicator: Annotated[str, Field(pattern=r"^[0-9A-Z]{2}$")] = "CI"
    place_of_service: Annotated[str, Field(pattern=r"^\d{2}$")] = "11"
    frequency_code: FrequencyCode = "1"
    payer_claim_control_number: str = ""
    prior_authorization: str = ""
    rendering_provider: ProviderDetails | None = None  # 2310B NM1*82: only when not the billing provider
    diagnosis_codes: Annotated[
        list[Annotated[str, Field(pattern=r"^[A-Z][0-9A-Z]{2,6}$")]], Field(min_length=1, max_length=12)
    ]
    service_lines: Annotated[list[ServiceLineSubmission], Field(min_length=1, max_length=50)]

    @property
    def total_charge(self) -> Decimal:
        return sum((line.charge for line in self.service_lines), Decimal(0))

    @model_validator(mode="after")
    def _pointers_within_diagnoses(self) -> ProfessionalClaimSubmission:
        for line in self.service_lines:
            if max(line.diagnosis_pointers) > len(self.diagnosis_codes):
                raise ValueError(f"diagnosis pointer beyond the {len(self.diagnosis_codes)} diagnosis codes")
        return self
