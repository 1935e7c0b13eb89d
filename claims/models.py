"""Typed domain models: what crosses every boundary between the ledger, the bots, the X12 layer and chat.

Money is `Decimal` (stored as integer cents), times are timezone-aware UTC, and PHI fields are
excluded from `repr` so a model that slips into a log line or a traceback does not leak them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from claims.status import ClaimStatus, is_denial


def utc_now() -> datetime:
    return datetime.now(UTC)


def _two_places(value: Decimal) -> Decimal:
    if value != value.quantize(Decimal("0.01")):
        raise ValueError("money has at most two decimal places")
    return value


Money = Annotated[Decimal, AfterValidator(_two_places)]

# Sizes the ledger's columns are declared with (claims.ledger.schema reads these), so a model and
# its column never disagree about how much text fits.
PAYER_TEXT_MAX = 500  # a payer's words about a claim (portal status text, 277 free text)
RAW_SEGMENT_MAX = 2000  # the payer's own X12 segment, kept as evidence
PAYER_NUMBER_MAX = 50  # numbers the payer assigns: claim control number (ICN), check/EFT trace number
PLAN_NAME_MAX = 200
DEDUPE_KEY_MAX = 200
EVIDENCE_REF_MAX = 300
BOT_RUN_NOTE_MAX = 500
CATEGORY_CODE_MAX = 3
STATUS_CODE_MAX = 10

#: Ends a payer's text that was cut to fit its column, so a reader knows there was more.
TRUNCATED = "…"


def truncate(limit: int) -> Callable[[object], object]:
    """A before-validator that cuts text longer than `limit` to `limit` characters, ending in TRUNCATED.

    Payer text is evidence we keep, not input we judge: an overlong answer is stored cut, never refused.
    """

    def cut(value: object) -> object:
        if isinstance(value, str):
            value = value.strip()
            if len(value) > limit:
                return value[: limit - len(TRUNCATED)].rstrip() + TRUNCATED
        return value

    return cut


#: Free text a payer gave (fits the status_checks column, cut with a marker if longer).
PayerText = Annotated[str, BeforeValidator(truncate(PAYER_TEXT_MAX)), Field(max_length=PAYER_TEXT_MAX)]
#: A payer's raw X12 segment.
RawSegment = Annotated[str, BeforeValidator(truncate(RAW_SEGMENT_MAX)), Field(max_length=RAW_SEGMENT_MAX)]
#: A number the payer assigned (claim control number, check or trace number).
PayerNumber = Annotated[str, BeforeValidator(truncate(PAYER_NUMBER_MAX)), Field(max_length=PAYER_NUMBER_MAX)]
#: A remittance advice remark code (RARC): one or two letters and up to four digits, e.g. N290, MA130.
RemarkCode = Annotated[str, Field(pattern=r"^[A-Z]{1,2}\d{1,4}$")]
#: A plan name from an eligibility answer.
PlanName = Annotated[str, BeforeValidator(truncate(PLAN_NAME_MAX)), Field(max_length=PLAN_NAME_MAX)]

_NPI = re.compile(r"^\d{10}$")
_PROCEDURE = re.compile(r"^[A-Z0-9]{5}$")
_MODIFIER = re.compile(r"^[A-Z0-9]{2}$")
_ICD10 = re.compile(r"^[A-TV-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$")


def npi_check_digit_ok(npi: str) -> bool:
    """NPI check digit: Luhn over the prefix 80840 + the first nine digits (CMS NPI standard)."""
    if not _NPI.match(npi):
        return False
    digits = [int(c) for c in "80840" + npi[:9]]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10 == int(npi[9])


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class PayerKind(StrEnum):
    MEDICARE = "medicare"
    MEDICAID = "medicaid"
    COMMERCIAL = "commercial"


class Payer(Model):
    id: str = Field(pattern=r"^[A-Z0-9_]{2,20}$")
    name: str = Field(min_length=1)
    kind: PayerKind
    timely_filing_days: int = Field(gt=0, le=730)


class Patient(Model):
    """A patient as the payer knows them. Every field but the id is PHI and stays out of reprs."""

    last_name: str = Field(min_length=1, repr=False)
    first_name: str = Field(min_length=1, repr=False)
    date_of_birth: date = Field(repr=False)
    member_id: str = Field(min_length=1, max_length=80, repr=False)

    @field_validator("last_name", "first_name")
    @classmethod
    def _one_spelling(cls, value: str) -> str:
        """Names are kept as X12 writes them, upper case with single spaces, so 'de la  Cruz' and
        'DE LA CRUZ' are one patient, not two."""
        return " ".join(value.split()).upper()

    @property
    def initials(self) -> str:
        """The most of a patient's identity that chat may carry."""
        return f"{self.first_name[0]}.{self.last_name[0]}.".upper()


class ServiceLine(Model):
    line_number: int = Field(ge=1)
    procedure_code: str
    modifiers: tuple[str, ...] = Field(default=(), max_length=4)
    units: Decimal = Field(default=Decimal(1), gt=0)
    charge: Money = Field(ge=0)
    service_date_from: date
    service_date_to: date
    diagnosis_pointers: tuple[int, ...] = Field(default=(1,), min_length=1, max_length=4)

    @field_validator("procedure_code")
    @classmethod
    def _procedure(cls, value: str) -> str:
        value = value.upper()
        if not _PROCEDURE.match(value):
            raise ValueError("a CPT/HCPCS code is 5 letters or digits")
        return value

    @field_validator("modifiers")
    @classmethod
    def _modifiers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        value = tuple(m.upper() for m in value)
        for modifier in value:
            if not _MODIFIER.match(modifier):
                raise ValueError(f"modifier {modifier!r} is not 2 letters or digits")
        return value

    @model_validator(mode="after")
    def _dates_in_order(self) -> ServiceLine:
        if self.service_date_to < self.service_date_from:
            raise ValueError("service date 'to' is before 'from'")
        return self


class FrequencyCode(StrEnum):
    """837 CLM05-3: how this claim relates to earlier ones."""

    ORIGINAL = "1"
    REPLACEMENT = "7"
    VOID = "8"


class Claim(Model):
    """A claim as the practice billed it. The payer's view of it lives in its status history."""

    claim_id: str = Field(min_length=1, max_length=38, pattern=r"^[A-Za-z0-9._\-]+$")
    payer_id: str
    patient: Patient
    rendering_npi: str
    diagnosis_codes: tuple[str, ...] = Field(min_length=1, max_length=12)
    lines: tuple[ServiceLine, ...] = Field(min_length=1, max_length=50)
    place_of_service: str = Field(default="11", pattern=r"^\d{2}$")
    submitted_date: date | None = None
    payer_claim_number: str | None = Field(default=None, max_length=50)
    frequency_code: FrequencyCode = FrequencyCode.ORIGINAL

    @field_validator("rendering_npi")
    @classmethod
    def _npi(cls, value: str) -> str:
        if not npi_check_digit_ok(value):
            raise ValueError("an NPI is 10 digits with a valid check digit")
        return value

    @field_validator("diagnosis_codes")
    @classmethod
    def _icd10(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        value = tuple(code.upper() for code in value)
        for code in value:
            if not _ICD10.match(code):
                raise ValueError(f"{code!r} is not an ICD-10-CM code")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Claim:
        numbers = [line.line_number for line in self.lines]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError("service lines are numbered 1, 2, 3, ...")
        for line in self.lines:
            if max(line.diagnosis_pointers) > len(self.diagnosis_codes):
                raise ValueError(f"line {line.line_number} points at a diagnosis the claim does not have")
        return self

    @property
    def billed_amount(self) -> Decimal:
        return sum((line.charge for line in self.lines), Decimal("0.00"))

    @property
    def service_date_from(self) -> date:
        return min(line.service_date_from for line in self.lines)

    @property
    def service_date_to(self) -> date:
        return max(line.service_date_to for line in self.lines)


class CheckSource(StrEnum):
    PORTAL = "portal"
    API = "api"
    EDI = "edi"
    MANUAL = "manual"


class AdjustmentGroup(StrEnum):
    CO = "CO"
    PR = "PR"
    OA = "OA"
    PI = "PI"


class Denial(Model):
    """One adjustment reason the payer gave: group + CARC (+ RARC remarks), at claim or line level."""

    group: AdjustmentGroup
    carc: str = Field(pattern=r"^[A-Z0-9]{1,5}$")
    rarcs: tuple[str, ...] = ()
    amount: Money | None = None
    line_number: int | None = Field(default=None, ge=1)

    @property
    def code(self) -> str:
        return f"{self.group}-{self.carc}"

    @property
    def needs_work(self) -> bool:
        """A denial someone must act on (see claims.status.is_denial), judged with its amount."""
        return is_denial(self.group, self.carc, self.amount)


class StatusCheck(Model):
    """One answer from a payer about a claim. Append-only: a claim's status is derived from these."""

    claim_id: str
    checked_at: datetime = Field(default_factory=utc_now, description="when Claimbot observed the answer")
    effective_at: datetime | None = Field(
        default=None, description="the payer's own date for it (an ERA's production date); None: when observed"
    )
    source: CheckSource
    status: ClaimStatus
    category_code: str | None = Field(default=None, max_length=CATEGORY_CODE_MAX)
    status_code: str | None = Field(default=None, max_length=STATUS_CODE_MAX)
    payer_status_text: PayerText | None = None
    billed_amount: Money | None = None
    paid_amount: Money | None = None
    patient_responsibility: Money | None = None
    payer_claim_number: PayerNumber | None = None
    check_number: PayerNumber | None = None
    payment_date: date | None = None
    denials: tuple[Denial, ...] = ()
    evidence_ref: str | None = Field(default=None, max_length=EVIDENCE_REF_MAX)
    bot_run_id: int | None = None
    dedupe_key: str | None = Field(default=None, max_length=DEDUPE_KEY_MAX)
    raw_segment: RawSegment | None = Field(default=None, description="the payer's own words (EDI)")
    remarks: tuple[RemarkCode, ...] = Field(
        default=(), max_length=20, description="remark codes (RARC) of the claim that belong to no adjustment"
    )
    elapsed_ms: int | None = Field(default=None, ge=0, description="how long the payer took to answer (bot checks)")

    @property
    def status_at(self) -> datetime:
        """When the answer was true: the payer's date if it gave one, else when it was observed.

        A claim's current status is its latest informative check by this time (then by observation).
        """
        return self.effective_at or self.checked_at

    @field_validator("checked_at", "effective_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("times must carry a timezone")
        return value.astimezone(UTC)


class PaymentMethod(StrEnum):
    CHECK = "CHK"
    EFT = "ACH"
    NONE = "NON"
    OTHER = "OTH"


class Payment(Model):
    claim_id: str
    amount: Money
    paid_date: date | None = None
    method: PaymentMethod = PaymentMethod.OTHER
    check_number: PayerNumber | None = None
    payer_claim_number: PayerNumber | None = None
    source: CheckSource = CheckSource.EDI
    dedupe_key: str | None = Field(default=None, max_length=DEDUPE_KEY_MAX)


class Benefit(Model):
    """One benefit line of an eligibility answer (271 EB or a portal's benefits table)."""

    kind: str = Field(description="copay, coinsurance, deductible, out_of_pocket, active, inactive, ...")
    service_type: str | None = None
    amount: Money | None = None
    percent: Decimal | None = Field(default=None, ge=0, le=100)
    remaining: Money | None = None
    in_network: bool | None = None


class EligibilityCheck(Model):
    payer_id: str
    patient: Patient
    checked_at: datetime = Field(default_factory=utc_now)
    source: CheckSource
    service_date: date
    active: bool
    plan_name: PlanName | None = None
    benefits: tuple[Benefit, ...] = ()
    rejection_code: str | None = Field(default=None, max_length=STATUS_CODE_MAX)
    evidence_ref: str | None = Field(default=None, max_length=EVIDENCE_REF_MAX)
    bot_run_id: int | None = None


class ActionOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUSED = "refused"


class Action(Model):
    """Audit record of something a person or a bot did. The idempotency key makes retries safe."""

    actor: str = Field(min_length=1)
    action: str = Field(min_length=1)
    idempotency_key: str = Field(min_length=1, max_length=DEDUPE_KEY_MAX)
    outcome: ActionOutcome
    claim_id: str | None = None
    at: datetime = Field(default_factory=utc_now)
    detail: dict[str, str | int | float | bool | None] = Field(default_factory=dict)


class BotRunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PARTIAL = "partial"
    INTERRUPTED = "interrupted"  # the process died (or was stopped) mid-run: its lease ran out


class BotRun(Model):
    kind: str
    payer_id: str | None = None
    trigger: str = "schedule"
    started_at: datetime = Field(default_factory=utc_now)
    finished_at: datetime | None = None
    status: BotRunStatus = BotRunStatus.RUNNING
    claims_checked: int = 0
    errors: int = 0
    note: str | None = Field(default=None, max_length=BOT_RUN_NOTE_MAX)
    heartbeat_at: datetime | None = Field(default=None, description="last sign of life of the process running it")
    lease_expires_at: datetime | None = Field(
        default=None, description="a running run whose lease is past this is dead: marked interrupted on the next start"
    )


# --- sweeps and events --------------------------------------------------------------------------

SWEEP_REASON_MAX = 300  # a sweep item's due reason, in plain words ("pending, last checked 6 days ago; ...")
SWEEP_ERROR_MAX = 40  # an ErrorKind / reason code
APPOINTMENT_KEY_MAX = 80  # an eligibility sweep item: "appt:<appointment id>", "line:<n>", "member:<n>"
EVENT_KIND_MAX = 40


class SweepKind(StrEnum):
    STATUS = "status"
    ELIGIBILITY = "eligibility"


class SweepState(StrEnum):
    PLANNED = "planned"
    RUNNING = "running"
    FINISHED = "finished"
    INTERRUPTED = "interrupted"  # its process died (lease ran out) or it was stopped: resumable
    FAILED = "failed"


class SweepItemState(StrEnum):
    PLANNED = "planned"  # still due in this sweep
    DONE = "done"  # an answer was recorded
    FAILED = "failed"  # asked and failed, or not asked because its payer stopped (last_error_kind says why)
    SKIPPED = "skipped"  # not asked: the payer is held, or has no adapter (last_error_kind says why)
    QUARANTINED = "quarantined"  # not asked: the payer failed its canary


class Sweep(Model):
    """One scheduled (or manual) pass over the due claims. PHI-free: ids, states, a short note."""

    id: int | None = None
    kind: SweepKind = SweepKind.STATUS
    trigger: str = Field(default="cli", min_length=1, max_length=40)
    created_at: datetime = Field(default_factory=utc_now)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    state: SweepState = SweepState.PLANNED
    heartbeat_at: datetime | None = None
    lease_expires_at: datetime | None = None
    note: str | None = Field(default=None, max_length=BOT_RUN_NOTE_MAX)


class SweepItem(Model):
    """One claim a sweep checks: why it is due, and what became of it."""

    id: int | None = None
    sweep_id: int | None = None
    claim_id: str
    payer_id: str
    route: str = Field(max_length=20)
    priority: int = Field(ge=0, description="1 = asked first")
    due_reason: str = Field(max_length=SWEEP_REASON_MAX)
    state: SweepItemState = SweepItemState.PLANNED
    attempts: int = 0
    last_error_kind: str | None = Field(default=None, max_length=SWEEP_ERROR_MAX)
    status_check_id: int | None = None
    updated_at: datetime = Field(default_factory=utc_now)


class EventKind(StrEnum):
    STATUS_CHANGED = "status_changed"
    PAID = "paid"
    DENIED = "denied"
    PARTIALLY_PAID = "partially_paid"
    REJECTED = "rejected"
    NOT_FOUND = "not_found"
    INFO_REQUESTED = "info_requested"
    ELIGIBILITY_INACTIVE = "eligibility_inactive"
    BOT_FAILURE = "bot_failure"
    CANARY_FAILED = "canary_failed"


#: A claim whose current status becomes one of these raises the event of that name; any other
#: change of status raises `status_changed`. One event per change, never two.
STATUS_EVENT_KINDS: dict[ClaimStatus, EventKind] = {
    ClaimStatus.PAID: EventKind.PAID,
    ClaimStatus.DENIED: EventKind.DENIED,
    ClaimStatus.PARTIALLY_PAID: EventKind.PARTIALLY_PAID,
    ClaimStatus.REJECTED: EventKind.REJECTED,
    ClaimStatus.NOT_FOUND: EventKind.NOT_FOUND,
    ClaimStatus.INFO_REQUESTED: EventKind.INFO_REQUESTED,
}

EventValue = str | int | float | bool | None | list[str]


class Event(Model):
    """Something that changed, for the assistant and the escalations to act on (the outbox).

    The payload is PHI-free by construction: ids, codes, amounts as decimal strings, statuses.
    """

    id: int | None = None
    kind: EventKind
    claim_id: str | None = None
    payer_id: str | None = None
    sweep_id: int | None = None
    payload: dict[str, EventValue] = Field(default_factory=dict)
    dedupe_key: str = Field(min_length=1, max_length=DEDUPE_KEY_MAX)
    created_at: datetime = Field(default_factory=utc_now)
    dispatched_at: datetime | None = None


# --- what was sent: claim versions and submissions ---------------------------------------------

SUBMISSION_REASON_MAX = 300  # the specialist's reason for a correction, PHI-free by the guard
CONTROL_NUMBER_MAX = 9  # ISA13 / GS06 / ST02


class ClaimVersion(Model):
    """A claim as it was at one version. The current claim is the highest version; an import or a
    correction that changes a claim keeps the one before, so a corrected claim is built from what
    the payer actually received."""

    claim: Claim
    version: int = Field(ge=1)
    content_hash: str
    recorded_at: datetime
    current: bool


class SubmissionRoute(StrEnum):
    API = "api"  # an 837P through the clearinghouse
    PORTAL = "portal"  # the payer portal's correction form, by playbook
    FILE = "file"  # an 837P file the practice's system sent, imported with `claimbot edi import`


class SubmissionState(StrEnum):
    AWAITING_APPROVAL = "awaiting_approval"  # above the team's threshold: a lead must approve first
    SENDING = "sending"  # handed to the route; a crash here leaves it for a person to check, never resent blindly
    SENT = "sent"  # the route took it; the acknowledgment (999 / 277CA / portal) is not back yet
    ACCEPTED = "accepted"
    REJECTED = "rejected"  # the clearinghouse or payer refused it (ack_codes say why)
    FAILED = "failed"  # could not be handed over (route down, form refused); nothing reached the payer
    CANCELLED = "cancelled"  # an approval refused or withdrawn


class Submission(Model):
    """One sending of one claim to its payer: the original (frequency 1), a replacement (7) or a void (8).

    PHI-free: ids, codes, control numbers, hashes, who asked and approved, the reason in their words
    (the guard refuses a reason naming the patient).
    """

    id: int | None = None
    claim_id: str
    claim_version: int = Field(ge=1)
    frequency_code: FrequencyCode
    original_payer_claim_number: PayerNumber | None = Field(default=None, description="REF*F8 of a 7 or 8")
    route: SubmissionRoute
    state: SubmissionState
    changes: dict[str, str] = Field(default_factory=dict, description="field path -> new value, as asked")
    reason: str | None = Field(default=None, max_length=SUBMISSION_REASON_MAX)
    requested_by: str = Field(min_length=1, max_length=100)
    approved_by: str | None = Field(default=None, max_length=100)
    idempotency_key: str = Field(min_length=1, max_length=DEDUPE_KEY_MAX)
    requested_at: datetime = Field(default_factory=utc_now)
    sent_at: datetime | None = None
    interchange_control_number: str | None = Field(default=None, max_length=CONTROL_NUMBER_MAX)
    group_control_number: str | None = Field(default=None, max_length=CONTROL_NUMBER_MAX)
    transaction_control_number: str | None = Field(default=None, max_length=CONTROL_NUMBER_MAX)
    x12_sha256: str | None = Field(default=None, max_length=64)
    confirmation_number: PayerNumber | None = Field(default=None, description="batch id or portal confirmation")
    ack_codes: tuple[str, ...] = Field(default=(), max_length=20, description='"999:A", "277CA:A2:20", ...')
    payer_claim_number: PayerNumber | None = Field(default=None, description="the number the payer gave it")
    evidence_ref: str | None = Field(default=None, max_length=EVIDENCE_REF_MAX)
    error: str | None = Field(default=None, max_length=SWEEP_ERROR_MAX, description="Reason code of a failure")
    updated_at: datetime = Field(default_factory=utc_now)
