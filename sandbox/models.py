"""Typed models of the sandbox world: patients, claims as the practice billed them, and the payers' truth.

The practice's view (what goes into the CSV and the 837P) and the payer's view (`PayerRecord`, what
the portals and the clearinghouse answer from) live side by side on `SandboxClaim`, so tests can
compare what a bot read against what the payer really holds.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sandbox.codes import Outcome

PayerId = Literal["SUNRISE", "MERIDIAN", "KEYSTONE"]
PAYER_IDS: tuple[PayerId, ...] = ("SUNRISE", "MERIDIAN", "KEYSTONE")
AdjustmentGroup = Literal["CO", "PR", "OA", "PI"]
PaymentMethod = Literal["ACH", "CHK"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Patient(_Frozen):
    """A synthetic member of one payer."""

    payer_id: PayerId
    member_id: str
    first_name: str
    last_name: str
    dob: date
    sex: Literal["F", "M"]

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Provider(_Frozen):
    """A synthetic rendering clinician of the practice (NPI with a valid check digit)."""

    npi: str
    first_name: str
    last_name: str


class Adjustment(_Frozen):
    """One CAS-style adjustment on a service line: group + CARC (+ RARC), and the amount."""

    group: AdjustmentGroup
    carc: str
    rarc: str | None = None
    amount: Decimal


class ServiceLine(_Frozen):
    """One billed service line with the payer's adjudication of it (zeros while pending)."""

    line_number: int
    procedure_code: str
    modifiers: tuple[str, ...] = ()
    units: int = 1
    charge: Decimal
    diagnosis_pointers: tuple[int, ...] = (1,)
    service_date_from: date
    service_date_to: date
    allowed: Decimal = Decimal("0.00")
    paid: Decimal = Decimal("0.00")
    adjustments: tuple[Adjustment, ...] = ()


class PaymentRun(_Frozen):
    """A weekly payment (one check or EFT) that settles every claim finalized that week."""

    trace_number: str
    method: PaymentMethod
    payment_date: date


class PayerRecord(_Frozen):
    """What the payer holds about a claim. Absent (None on the claim) when the payer never got it."""

    outcome: Outcome
    category_code: str
    status_code: str
    entity_code: str | None = None
    payer_claim_number: str | None
    received_date: date
    processed_date: date | None = None
    allowed: Decimal = Decimal("0.00")
    paid: Decimal = Decimal("0.00")
    patient_responsibility: Decimal = Decimal("0.00")
    payment: PaymentRun | None = None
    rejection_reason: str | None = None


class SandboxClaim(_Frozen):
    """A claim as the practice billed it, plus the payer's record of it."""

    claim_id: str
    payer_id: PayerId
    patient: Patient
    rendering_npi: str
    diagnosis_codes: tuple[str, ...]
    place_of_service: str
    submitted_date: date
    lines: tuple[ServiceLine, ...]
    payer: PayerRecord | None

    @property
    def billed_amount(self) -> Decimal:
        return sum((line.charge for line in self.lines), Decimal("0.00"))

    @property
    def service_date_from(self) -> date:
        return min(line.service_date_from for line in self.lines)

    @property
    def service_date_to(self) -> date:
        return max(line.service_date_to for line in self.lines)

    @property
    def adjustments(self) -> tuple[Adjustment, ...]:
        return tuple(adj for line in self.lines for adj in line.adjustments)


class Eligibility(_Frozen):
    """A member's coverage and benefits, as an eligibility page or a 271 shows them."""

    payer_id: PayerId
    member_id: str
    plan_name: str
    group_number: str
    coverage_start: date
    coverage_end: date | None
    copay: Decimal
    coinsurance_percent: int
    deductible: Decimal
    deductible_met: Decimal
    out_of_pocket_max: Decimal | None
    out_of_pocket_met: Decimal

    @property
    def deductible_remaining(self) -> Decimal:
        return self.deductible - self.deductible_met

    @property
    def out_of_pocket_remaining(self) -> Decimal | None:
        if self.out_of_pocket_max is None:
            return None
        return self.out_of_pocket_max - self.out_of_pocket_met

    def is_active_on(self, day: date) -> bool:
        return self.coverage_start <= day and (self.coverage_end is None or day <= self.coverage_end)


class Practice(_Frozen):
    """The synthetic billing practice that submitted every claim (837P billing provider)."""

    name: str
    npi: str
    tax_id: str
    address: str
    city: str
    state: str
    zip_code: str


class SandboxWorld(_Frozen):
    """Everything the sandbox serves, with the look-up indexes the servers need per request."""

    reference_date: date
    practice: Practice
    providers: tuple[Provider, ...]
    patients: tuple[Patient, ...]
    claims: tuple[SandboxClaim, ...]
    eligibility: tuple[Eligibility, ...]
    payer_names: dict[PayerId, str] = Field(default_factory=dict)

    @cached_property
    def claims_by_id(self) -> dict[str, SandboxClaim]:
        return {claim.claim_id: claim for claim in self.claims}

    @cached_property
    def claims_by_payer(self) -> dict[PayerId, tuple[SandboxClaim, ...]]:
        """The claims each payer knows, newest date of service first (how portals list them)."""
        known: dict[PayerId, list[SandboxClaim]] = defaultdict(list)
        for claim in self.claims:
            if claim.payer is not None:
                known[claim.payer_id].append(claim)
        return {
            payer: tuple(sorted(known[payer], key=lambda c: (c.service_date_from, c.claim_id), reverse=True))
            for payer in PAYER_IDS
        }

    @cached_property
    def eligibility_by_member(self) -> dict[str, Eligibility]:
        return {record.member_id: record for record in self.eligibility}
