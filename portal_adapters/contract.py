"""The adapter contract: typed questions in, typed answers out, whatever the route to the payer.

Every adapter (a portal driven by a playbook, the clearinghouse) implements `PayerAdapter`.
Answers convert straight into ledger records (`StatusCheck`, `EligibilityCheck`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from claims.models import (
    Benefit,
    CheckSource,
    Claim,
    Denial,
    EligibilityCheck,
    FrequencyCode,
    Patient,
    StatusCheck,
    utc_now,
)
from claims.phi import register_patient
from claims.status import ClaimStatus
from portal_adapters.errors import AdapterError, ErrorKind, Reason


class Route(StrEnum):
    PORTAL = "portal"
    API = "api"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ClaimQuery(_Model):
    """What an adapter may use to find a claim. PHI fields stay out of reprs."""

    claim_id: str
    payer_id: str
    payer_claim_number: str | None = None
    patient: Patient
    service_date_from: date
    service_date_to: date
    billed_amount: Decimal
    rendering_npi: str

    def model_post_init(self, _: object) -> None:
        register_patient(self.patient)  # whatever this look-up logs, its patient is masked

    @classmethod
    def from_claim(cls, claim: Claim) -> ClaimQuery:
        return cls(
            claim_id=claim.claim_id,
            payer_id=claim.payer_id,
            payer_claim_number=claim.payer_claim_number,
            patient=claim.patient,
            service_date_from=claim.service_date_from,
            service_date_to=claim.service_date_to,
            billed_amount=claim.billed_amount,
            rendering_npi=claim.rendering_npi,
        )


class ClaimStatusResult(_Model):
    """One payer answer about one claim. A claim the payer does not have is status not_found."""

    claim_id: str
    payer_id: str
    route: Route
    checked_at: datetime = Field(default_factory=utc_now)
    elapsed_ms: int = Field(ge=0)
    status: ClaimStatus
    category_code: str | None = None
    status_code: str | None = None
    payer_status_text: str | None = None
    billed_amount: Decimal | None = None
    allowed_amount: Decimal | None = None
    paid_amount: Decimal | None = None
    patient_responsibility: Decimal | None = None
    payer_claim_number: str | None = None
    check_number: str | None = None
    payment_date: date | None = None
    denials: tuple[Denial, ...] = ()
    remarks: tuple[str, ...] = ()
    evidence_ref: str | None = None

    def to_status_check(self, bot_run_id: int | None = None) -> StatusCheck:
        return StatusCheck(
            claim_id=self.claim_id,
            checked_at=self.checked_at,
            source=CheckSource.PORTAL if self.route is Route.PORTAL else CheckSource.API,
            status=self.status,
            category_code=self.category_code,
            status_code=self.status_code,
            payer_status_text=self.payer_status_text,
            billed_amount=self.billed_amount,
            paid_amount=self.paid_amount,
            patient_responsibility=self.patient_responsibility,
            payer_claim_number=self.payer_claim_number,
            check_number=self.check_number,
            payment_date=self.payment_date,
            denials=self.denials,
            remarks=self.remarks,
            evidence_ref=self.evidence_ref,
            bot_run_id=bot_run_id,
            elapsed_ms=self.elapsed_ms,
        )


class ClaimCheckFailed(_Model):
    """One claim could not be checked, but the payer is still usable (bad claim data, a flaky page).

    Built from the error's structured fields only (`from_error`), so its message holds no PHI.
    """

    claim_id: str
    payer_id: str
    kind: ErrorKind
    reason: Reason
    message: str
    step: str | None = None
    evidence_ref: str | None = None

    @classmethod
    def from_error(cls, claim_id: str, error: AdapterError) -> ClaimCheckFailed:
        return cls(
            claim_id=claim_id,
            payer_id=error.payer_id,
            kind=error.kind,
            reason=error.reason,
            message=error.message,
            step=error.step,
            evidence_ref=error.evidence_ref,
        )


ClaimOutcome = ClaimStatusResult | ClaimCheckFailed


class EligibilityQuery(_Model):
    payer_id: str
    patient: Patient
    service_date: date

    def model_post_init(self, _: object) -> None:
        register_patient(self.patient)


class EligibilityResult(_Model):
    payer_id: str
    route: Route
    checked_at: datetime = Field(default_factory=utc_now)
    elapsed_ms: int = Field(ge=0)
    found: bool
    active: bool
    plan_name: str | None = None
    benefits: tuple[Benefit, ...] = ()
    rejection_code: str | None = None
    evidence_ref: str | None = None

    def to_eligibility_check(self, query: EligibilityQuery, bot_run_id: int | None = None) -> EligibilityCheck:
        return EligibilityCheck(
            payer_id=self.payer_id,
            patient=query.patient,
            checked_at=self.checked_at,
            source=CheckSource.PORTAL if self.route is Route.PORTAL else CheckSource.API,
            service_date=query.service_date,
            active=self.active,
            plan_name=self.plan_name,
            benefits=self.benefits,
            rejection_code=self.rejection_code,
            evidence_ref=self.evidence_ref,
            bot_run_id=bot_run_id,
        )


class CorrectionRequest(_Model):
    """A corrected (frequency 7) or void (8) claim to send to the payer, on whatever route.

    `claim` is the claim as it will be sent (the specialist's changes applied); `x12` is the 837P
    interchange built from it (bots.resubmission), kept as the record of what was sent: the
    clearinghouse route sends it as is, a portal route types `claim`'s values into the payer's form.
    """

    query: ClaimQuery
    claim: Claim
    frequency_code: FrequencyCode
    payer_claim_number: str = Field(min_length=1, max_length=50, description="REF*F8: the payer's claim number")
    x12: str = Field(repr=False)
    reason: str | None = Field(default=None, max_length=300, description="PHI-free note for the payer's form")


class AcknowledgmentState(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    PENDING = "pending"  # sent; the 999 / 277CA (or the portal's answer) is not back yet


class CorrectionReceipt(_Model):
    """What the payer said when a correction was handed over. A dry run stops before the final
    submit: `submitted` False, no confirmation, evidence of the filled form."""

    claim_id: str
    payer_id: str
    route: Route
    submitted: bool
    at: datetime = Field(default_factory=utc_now)
    elapsed_ms: int = Field(ge=0)
    confirmation_number: str | None = Field(default=None, max_length=50, description="portal confirmation / batch id")
    acknowledgment: AcknowledgmentState = AcknowledgmentState.PENDING
    ack_codes: tuple[str, ...] = Field(default=(), description='e.g. "999:A", "277CA:A2:20" or "277CA:A7:562:82"')
    payer_claim_number: str | None = Field(default=None, max_length=50, description="a new number the payer gave")
    evidence_ref: str | None = None


class PayerAdapter(Protocol):
    """Open once, ask many times, close. Raises only portal_adapters.errors.AdapterError subclasses.

    Errors that stop the payer (auth failed, locked, layout changed) are raised; errors about one
    claim come back as ClaimCheckFailed so the rest of the batch goes on.
    """

    payer_id: str
    route: Route

    async def open(self) -> None: ...

    async def check_claims(self, queries: Sequence[ClaimQuery]) -> list[ClaimOutcome]: ...

    async def check_eligibility(self, query: EligibilityQuery) -> EligibilityResult: ...

    async def submit_correction(self, request: CorrectionRequest, *, dry_run: bool = False) -> CorrectionReceipt:
        """Send a corrected or void claim. Raises AdapterError (Reason says why) when the payer
        refused it or the route cannot take corrections; a dry run never presses the final submit."""
        ...

    async def close(self) -> None: ...
