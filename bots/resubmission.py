"""The resubmission guard and pipeline: from a denied claim to a corrected claim sent on the payer's
route, every step recorded. One service (`ResubmissionService`) that the CLI and the Slack assistant
both call, so the rules cannot differ between them.

A request (`ResubmissionRequest`: claim, field changes, reason, void or not, dry run or not, who asks)
goes through the guards in this order, and the first that fails refuses it with a plain-words message
and a stable code (`Refusal`), recorded in the audit log like every other attempt:

1. **Who.** A specialist or a lead may ask (claims.team). Above the team's `resubmit_approval_above`
   (the larger of the billed amounts before and after the change), a lead who is not the requester must
   approve (`approve`) before anything is sent: the submission waits in `awaiting_approval`.
2. **What.** The changes (`FIELD_PATHS`) are applied to what the payer received: the claim as the last
   submission the route took sent it (re-built from that submission's version and changes), else the
   current claim. The result must be a valid claim that differs from what the payer has (an identical
   replacement earns a duplicate denial, CO-18); a void takes no changes. A bad field or value is named,
   its value never repeated. A reason that names the patient is refused.
3. **Not twice.** An idempotency key (given, or a hash of the claim id, the version, the changes and the
   frequency) makes the same request one submission: asked again it is refused as a duplicate, unless
   the first one failed before anything reached the payer (then that same submission is tried again).
   Another correction of the claim waiting for approval, or one whose sending was never confirmed
   (state `sending`), stops a new one.
4. **The payer now.** A fresh status check on the payer's own route (bots.live.live_check, recorded as
   any live check). Refused when it cannot be had, or the claim is paid, in process (submitted,
   acknowledged, pending, information requested), rejected or not found (unknown to the payer), or
   already corrected (a 7/8 submission sent or accepted after the claim's last denial), or there is no
   payer claim number to quote in REF*F8, or the corrected-claim deadline has passed (claims.deadlines).
5. **Sent.** The corrected claim goes as frequency 7 (void: 8) with REF*F8, as an 837P built here,
   through the payer's portal when its playbook has a `corrected_claim` task, else the clearinghouse
   (portal_adapters.factory.correction_adapter). Its ISA13/GS06/ST02 are the submission's id, so an
   acknowledgment file is matched to its submission by ISA13. The submission row moves
   `sending` → `sent` / `accepted` / `rejected` / `failed` with the receipt's control numbers, 837P
   hash, ack codes, confirmation and evidence. Unless rejected, the corrected claim becomes the claim's
   new version (the ledger keeps the one before) and a status check is recorded (acknowledged when the
   277CA accepted it, else submitted) so the claim is swept again.

**Crash safety.** The row says `sending` before the route is called. A failure before the claim left
(connection refused, credentials, a form that does not fit) makes it `failed`, and the same request may
be tried again on the same row; the payer's own refusal makes it `rejected`. A crash, a timeout after
the POST, a portal that never confirmed the final submit (`UNCONFIRMED_REASONS`) leave it `sending`:
it is never resent blindly, and no new correction of the claim is taken until a lead, having checked
with the payer, closes it (`cancel`).

PHI: messages, logs and audit details carry claim ids, field paths, codes and submission ids only; the
837P (which names the patient by nature) is returned for a dry run and never logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bots.live import live_check
from claims.deadlines import DeadlineKind, current_check, deadlines_of
from claims.denials import DenialPlaybook, load_denial_playbook
from claims.ledger import ClaimNotFoundError, Ledger
from claims.models import (
    SUBMISSION_REASON_MAX,
    Action,
    ActionOutcome,
    CheckSource,
    Claim,
    Denial,
    FrequencyCode,
    PayerKind,
    StatusCheck,
    Submission,
    SubmissionRoute,
    SubmissionState,
    utc_now,
)
from claims.payer_config import DeadlineRules, PayerConfig, PayerEntry
from claims.phi import PhiScrubber
from claims.status import ClaimStatus, status_from_277
from claims.team import Actor, Role, TeamConfig
from edi.outbound import (
    ControlNumberCounter,
    PayerDetails,
    ProfessionalClaimSubmission,
    ProviderDetails,
    ReceiverDetails,
    ServiceLineSubmission,
    SubmitterDetails,
    SubscriberDetails,
)
from edi.writers import write_837p
from portal_adapters.clearinghouse import ClearinghouseIdentity
from portal_adapters.contract import (
    AcknowledgmentState,
    ClaimCheckFailed,
    ClaimQuery,
    CorrectionReceipt,
    CorrectionRequest,
    PayerAdapter,
    Route,
)
from portal_adapters.errors import AdapterError, Reason
from portal_adapters.retry import RetryPolicy

log = logging.getLogger(__name__)

#: What `--set FIELD=VALUE` may change, and the value each takes. N is a line number (1, 2, ...).
FIELD_PATHS: dict[str, str] = {
    "diagnosis_codes": "ICD-10-CM codes separated by commas, in order (E11.9,I10)",
    "rendering_npi": "an NPI: 10 digits with a valid check digit",
    "place_of_service": "a place-of-service code of 2 digits (11)",
    "lines.N.procedure_code": "a CPT/HCPCS code of 5 letters or digits (99214)",
    "lines.N.modifiers": "up to 4 modifiers of 2 letters or digits, separated by commas (25,59); empty clears them",
    "lines.N.units": "a number above 0 (2)",
    "lines.N.charge": "an amount of 0 or more (125.00)",
    "lines.N.diagnosis_pointers": "1 to 4 positions in diagnosis_codes, separated by commas (1,2)",
    "lines.N.service_date_from": "a date, YYYY-MM-DD",
    "lines.N.service_date_to": "a date, YYYY-MM-DD",
}
_LINE_FIELDS = {path.removeprefix("lines.N.") for path in FIELD_PATHS if path.startswith("lines.N.")}
_SAFE_PATH = re.compile(r"^[a-z0-9_.]{1,60}$")

#: Statuses a corrected claim may follow: the payer decided and did not pay in full.
CORRECTABLE_STATUSES = frozenset(
    {ClaimStatus.DENIED, ClaimStatus.PARTIALLY_PAID, ClaimStatus.FINALIZED, ClaimStatus.REVERSED}
)
IN_PROCESS_STATUSES = frozenset(
    {ClaimStatus.SUBMITTED, ClaimStatus.ACKNOWLEDGED, ClaimStatus.PENDING, ClaimStatus.INFO_REQUESTED}
)
#: Submission states in which the route took the claim: what it sent is what the payer has.
RECEIVED_STATES = frozenset({SubmissionState.SENT, SubmissionState.ACCEPTED})
#: Route failures after which the claim may have reached the payer (a timeout after the POST, a portal
#: that never confirmed the final submit, a bug mid-way): the submission stays `sending`, never resent.
UNCONFIRMED_REASONS = frozenset({Reason.CLEARINGHOUSE_TIMEOUT, Reason.CORRECTION_UNCONFIRMED, Reason.ENGINE_FAILED})
#: The payer saw the correction and refused it (the portal said so): the submission is `rejected`.
PAYER_REFUSED_REASONS = frozenset(
    {Reason.CORRECTION_ORIGINAL_UNKNOWN, Reason.CORRECTION_DUPLICATE, Reason.CORRECTION_REFUSED}
)
#: X12 claim filing indicator (SBR09) by payer kind.
CLAIM_FILING_INDICATOR = {PayerKind.MEDICARE: "MB", PayerKind.MEDICAID: "MC", PayerKind.COMMERCIAL: "CI"}
#: How often the fresh status check is tried before the guard gives up.
DEFAULT_STATUS_RETRY = RetryPolicy(max_attempts=3, base_delay_s=1.0)


class ResubmissionState(StrEnum):
    SENT = "sent"  # handed to the payer's route (the submission's own state says what came back)
    AWAITING_APPROVAL = "awaiting_approval"
    REFUSED = "refused"  # a guard said no; nothing was sent
    DRY_RUN = "dry_run"  # every guard passed; the 837P (and a portal's filled form) shown, nothing sent
    FAILED = "failed"  # the route failed; the message says whether anything may have reached the payer
    CANCELLED = "cancelled"


class Refusal(StrEnum):
    """Why a guard refused: stable codes for chat buttons, tests and the audit log."""

    NOT_ALLOWED = "not_allowed"
    CLAIM_NOT_FOUND = "claim_not_found"
    BAD_CHANGE = "bad_change"
    BAD_REASON = "bad_reason"
    NO_CHANGE = "no_change"
    DUPLICATE = "duplicate"
    AWAITING_APPROVAL = "awaiting_approval"
    UNCONFIRMED = "unconfirmed"
    NO_ROUTE = "no_route"
    STATUS_UNAVAILABLE = "status_unavailable"
    PAID = "paid"
    IN_PROCESS = "in_process"
    NOT_ADJUDICATED = "not_adjudicated"
    UNKNOWN_TO_PAYER = "unknown_to_payer"
    ALREADY_CORRECTED = "already_corrected"
    DEADLINE_PASSED = "deadline_passed"
    NOT_WAITING = "not_waiting"
    SUBMISSION_NOT_FOUND = "submission_not_found"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ResubmissionRequest(_Frozen):
    """A person asks for a corrected (or void) claim. `changes` maps field paths (FIELD_PATHS) to values."""

    claim_id: str = Field(min_length=1, max_length=38)
    changes: dict[str, str] = Field(default_factory=dict)
    reason: str | None = Field(default=None, max_length=SUBMISSION_REASON_MAX)
    void: bool = False
    dry_run: bool = False
    actor: Actor
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=120)


class ResubmissionOutcome(_Frozen):
    """What happened, in plain words (`message`, PHI-free) and as data for buttons and scripts."""

    state: ResubmissionState
    message: str
    claim_id: str | None = None
    refusal: Refusal | None = None
    submission_id: int | None = None
    submission_state: SubmissionState | None = None
    route: SubmissionRoute | None = None
    acknowledgment: AcknowledgmentState | None = None
    ack_codes: tuple[str, ...] = ()
    confirmation_number: str | None = None
    payer_claim_number: str | None = None
    x12: str | None = Field(default=None, repr=False, exclude=True, description="dry run only: holds PHI")


class ChangeError(ValueError):
    """A --set the guard cannot apply; the message names the field path, never the value."""


# --- changes -----------------------------------------------------------------------------------------


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _line_path(path: str) -> tuple[int, str] | None:
    parts = path.split(".")
    if len(parts) != 3 or parts[0] != "lines" or parts[2] not in _LINE_FIELDS:
        return None
    if not parts[1].isdigit() or int(parts[1]) < 1:
        raise ChangeError(f"{path}: the line number must be 1, 2, 3, ...")
    return int(parts[1]), parts[2]


def _typed(field: str, path: str, value: str) -> Any:
    """The value as the claim model holds it; a value of the wrong shape is named by path only."""
    try:
        if field in ("diagnosis_codes", "modifiers"):
            return [v.upper() for v in _split(value)]
        if field == "diagnosis_pointers":
            return [int(v) for v in _split(value)]
        if field in ("units", "charge"):
            return str(Decimal(value.strip()))
        if field.startswith("service_date"):
            return date.fromisoformat(value.strip()).isoformat()
    except (ValueError, InvalidOperation):
        raise ChangeError(f"{path}: expected {_describe(path)}") from None
    return value.strip()


def _describe(path: str) -> str:
    line = _line_path(path)
    return FIELD_PATHS["lines.N." + line[1]] if line else FIELD_PATHS.get(path, "a known field")


def apply_changes(claim: Claim, changes: dict[str, str]) -> Claim:
    """The claim with the changes applied, validated as a claim; ChangeError names the first bad field."""
    data = claim.model_dump(mode="json")
    for path, value in changes.items():
        line = _line_path(path)
        if line is not None:
            number, field = line
            if number > len(data["lines"]):
                raise ChangeError(f"{path}: the claim has {len(data['lines'])} line(s)")
            data["lines"][number - 1][field] = _typed(field, path, value)
        elif path in FIELD_PATHS:
            data[path] = _typed(path, path, value)
        else:
            # a typo may hold anything: it is repeated only when it has the shape of a path
            named = f"'{path}'" if _SAFE_PATH.match(path) else "that field"
            raise ChangeError(f"{named} is not a field that can be changed (known: {', '.join(FIELD_PATHS)})")
    try:
        return Claim.model_validate(data)
    except ValidationError as err:
        raise ChangeError(_change_problem(err, changes)) from None


def _change_problem(err: ValidationError, changes: dict[str, str]) -> str:
    """The first problem as `path: expected ...`, from the error's location (its input is never used)."""
    problem = err.errors()[0]
    loc = list(problem["loc"])
    if len(loc) >= 3 and loc[0] == "lines" and isinstance(loc[1], int) and isinstance(loc[2], str):
        path = f"lines.{loc[1] + 1}.{loc[2]}"
    elif loc and isinstance(loc[0], str) and loc[0] in FIELD_PATHS:
        path = loc[0]
    elif len(loc) == 2 and loc[0] == "lines" and isinstance(loc[1], int):
        path = f"lines.{loc[1] + 1}"  # a line's own rule: dates in order
    else:  # a rule across fields (a pointer beyond the diagnoses): our own words, which quote no value
        return "the changed claim is not valid: " + str(problem["msg"]).removeprefix("Value error, ")
    if path.count(".") == 1:
        return f"{path}: service date 'to' is before 'from'"
    if path in changes:
        return f"{path}: expected {_describe(path)}"
    return f"{path}: no longer valid after the changes: expected {_describe(path)}"


def default_idempotency_key(claim_id: str, version: int, changes: dict[str, str], frequency: FrequencyCode) -> str:
    """The same request (claim, version it is built from, changes, frequency) gives the same key."""
    canonical = json.dumps(
        {"claim": claim_id, "version": version, "changes": sorted(changes.items()), "frequency": frequency.value},
        separators=(",", ":"),
    )
    return "resubmit:" + hashlib.sha256(canonical.encode()).hexdigest()[:40]


# --- the 837P ----------------------------------------------------------------------------------------


def build_837p(
    claim: Claim,
    payer: PayerEntry,
    identity: ClearinghouseIdentity,
    control_number: int,
) -> str:
    """The corrected (or void) claim as one 837P interchange (ISA13 = GS06 = ST02 = `control_number`)."""
    patient = claim.patient
    provider = identity.billing_provider()
    submission = ProfessionalClaimSubmission(
        claim_id=claim.claim_id,
        billing_provider=provider,
        payer=PayerDetails(name=payer.name.upper(), payer_id=payer.clearinghouse_payer_id or payer.id),
        subscriber=SubscriberDetails(
            last_name=patient.last_name,
            first_name=patient.first_name,
            member_id=patient.member_id,
            birth_date=patient.date_of_birth,
        ),
        claim_filing_indicator=CLAIM_FILING_INDICATOR[payer.kind],
        place_of_service=claim.place_of_service,
        frequency_code=claim.frequency_code.value,
        payer_claim_control_number=claim.payer_claim_number or "",
        diagnosis_codes=[code.replace(".", "") for code in claim.diagnosis_codes],  # X12 drops the dot
        service_lines=[
            ServiceLineSubmission(
                procedure_code=line.procedure_code,
                modifiers=list(line.modifiers),
                charge=line.charge,
                units=line.units,
                service_date=line.service_date_from,
                service_end_date=line.service_date_to if line.service_date_to != line.service_date_from else None,
                diagnosis_pointers=list(line.diagnosis_pointers),
            )
            for line in claim.lines
        ],
        rendering_provider=(
            None
            if claim.rendering_npi == provider.npi
            else ProviderDetails(name=provider.name, npi=claim.rendering_npi)  # the claim carries no rendering name
        ),
    )
    return write_837p(
        [submission],
        submitter=SubmitterDetails(name=identity.submitter_name, identifier=identity.submitter_id),
        receiver=ReceiverDetails(name=identity.receiver_id, identifier=identity.receiver_id),
        settings=identity.interchange(),
        control_numbers=ControlNumberCounter(start=control_number),
    )


def _control_numbers(control_number: int) -> dict[str, str]:
    return {
        "interchange_control_number": f"{control_number:09d}",
        "group_control_number": str(control_number),
        "transaction_control_number": f"{control_number:04d}",
    }


# --- routes ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PayerRoutes:
    """A payer's two adapters for one resubmission: where its status is asked, where corrections go
    (the same object when both are its portal, so one sign-in serves both)."""

    status: PayerAdapter
    correction: PayerAdapter


class RouteSource(Protocol):
    def open(self, payer_id: str) -> AbstractAsyncContextManager[PayerRoutes]: ...


class RouteUnavailable(Exception):
    """No adapter can be built for the payer (missing playbook, credentials, clearinghouse settings);
    the message is built from names, never values."""


class ConfiguredRoutes:
    """The routes from the team's configuration: payers.yaml's route for the status check, and
    portal_adapters.factory.correction_adapter for the correction."""

    def __init__(
        self,
        payers: Sequence[PayerEntry],
        data_dir: Path,
        playbooks_dir: Path,
        evidence_retention_days: int = 30,
        headless: bool = True,
    ) -> None:
        self.payers = {p.id: p for p in payers}
        self.data_dir = data_dir
        self.playbooks_dir = playbooks_dir
        self.evidence_retention_days = evidence_retention_days
        self.headless = headless

    @asynccontextmanager
    async def open(self, payer_id: str) -> AsyncIterator[PayerRoutes]:
        from claims.payer_config import PayerRoute
        from portal_adapters.credentials import CredentialsError
        from portal_adapters.factory import correction_adapter, corrects_by_portal, route_adapter
        from portal_adapters.playbook import PlaybookError
        from portal_adapters.routing import ApiThenPortal

        entry = self.payers.get(payer_id)
        if entry is None:
            raise RouteUnavailable(f"payer {payer_id} is not in the payers file")
        built: list[PayerAdapter] = []
        try:
            status = route_adapter(
                payer_id,
                entry.route,
                entry.clearinghouse_payer_id,
                self.data_dir,
                self.playbooks_dir,
                self.evidence_retention_days,
                headless=self.headless,
            )
            built.append(status)
            by_portal = corrects_by_portal(payer_id, self.playbooks_dir)
            if by_portal and entry.route is PayerRoute.PORTAL:
                correction = status
            elif by_portal and isinstance(status, ApiThenPortal):
                correction = status.portal
            else:
                correction = correction_adapter(
                    payer_id,
                    entry.clearinghouse_payer_id,
                    self.data_dir,
                    self.playbooks_dir,
                    self.evidence_retention_days,
                    headless=self.headless,
                )
                built.append(correction)
        except (PlaybookError, CredentialsError, AdapterError) as error:
            for adapter in built:
                await adapter.close()
            raise RouteUnavailable(str(error)) from error
        try:
            yield PayerRoutes(status=status, correction=correction)
        finally:
            for adapter in built:
                await adapter.close()


# --- the service -------------------------------------------------------------------------------------


class _Refused(Exception):
    def __init__(self, refusal: Refusal, message: str) -> None:
        super().__init__(message)
        self.refusal = refusal
        self.message = message

    def outcome(self, submission: Submission | None = None) -> ResubmissionOutcome:
        """The refusal as an outcome, naming the submission it was about (approve, cancel)."""
        return ResubmissionOutcome(
            state=ResubmissionState.REFUSED,
            message=self.message,
            claim_id=submission.claim_id if submission else None,
            refusal=self.refusal,
            submission_id=submission.id if submission else None,
            submission_state=submission.state if submission else None,
        )


@dataclass(frozen=True)
class _Prepared:
    """A request that passed the checks that need no payer: what would be sent, and from what."""

    base: Claim
    base_version: int
    corrected: Claim  # changes applied; frequency and REF*F8 are set once the payer's number is known
    frequency: FrequencyCode
    changes: dict[str, str]
    key: str


@dataclass(frozen=True)
class _PayerState:
    """What the fresh status check (and the history) say: the number to quote and the status."""

    status: ClaimStatus
    payer_claim_number: str


class ResubmissionService:
    """The guards and the pipeline (see the module docstring). `today` is a function so a long-lived
    service (the chat assistant) reads the date of each request."""

    def __init__(
        self,
        ledger: Ledger,
        team: TeamConfig,
        routes: RouteSource,
        payers: Sequence[PayerEntry],
        *,
        deadline_rules: DeadlineRules | None = None,
        denial_playbook: DenialPlaybook | None = None,
        identity: ClearinghouseIdentity | None = None,
        status_retry: RetryPolicy = DEFAULT_STATUS_RETRY,
        today: Callable[[], date] = lambda: utc_now().date(),
    ) -> None:
        self.ledger = ledger
        self.team = team
        self.routes = routes
        self.payers = {p.id: p for p in payers}
        self.deadline_rules = deadline_rules
        self.denial_playbook = denial_playbook or load_denial_playbook()
        self.identity = identity or ClearinghouseIdentity()
        self.status_retry = status_retry
        self.today = today

    @classmethod
    def configured(
        cls,
        ledger: Ledger,
        team: TeamConfig,
        config: PayerConfig,
        data_dir: Path,
        playbooks_dir: Path,
        evidence_retention_days: int = 30,
    ) -> ResubmissionService:
        """The service on an install's own routes and deadlines (payers.yaml): what the CLI and chat use."""
        routes = ConfiguredRoutes(config.payers, data_dir, playbooks_dir, evidence_retention_days)
        return cls(ledger, team, routes, config.payers, deadline_rules=config.deadline_rules())

    # --- the public API ---------------------------------------------------------------------------

    async def request_resubmission(self, request: ResubmissionRequest) -> ResubmissionOutcome:
        """Check and (unless a lead must approve first, or it is a dry run) send a corrected claim."""
        try:
            outcome = await self._request(request)
        except _Refused as refused:
            outcome = refused.outcome().model_copy(update={"claim_id": request.claim_id})
        except Exception as err:
            await self._audit_crash("resubmit.request", request.actor, request.claim_id, err, request)
            raise
        await asyncio.to_thread(self._audit, "resubmit.request", request.actor, outcome, request)
        return outcome

    async def approve(self, submission_id: int, actor: Actor) -> ResubmissionOutcome:
        """A lead other than the requester approves a waiting submission: the guards run again, then it is sent."""
        try:
            outcome = await self._approve(submission_id, actor)
        except _Refused as refused:
            found = await asyncio.to_thread(self.ledger.submission, submission_id)
            outcome = refused.outcome(found)
        except Exception as err:
            await self._audit_crash("resubmit.approve", actor, None, err, None)
            raise
        await asyncio.to_thread(self._audit, "resubmit.approve", actor, outcome, None)
        return outcome

    def cancel(self, submission_id: int, actor: Actor) -> ResubmissionOutcome:
        """Withdraw a submission waiting for approval (its requester or a lead), or, for a lead who has
        checked with the payer that it never arrived, close one whose sending was never confirmed."""
        found = self.ledger.submission(submission_id)
        try:
            if found is None:
                raise _Refused(Refusal.SUBMISSION_NOT_FOUND, f"there is no submission {submission_id}")
            if found.state is SubmissionState.AWAITING_APPROVAL:
                if not (actor.has(Role.LEAD) or actor.id == found.requested_by):
                    raise _Refused(Refusal.NOT_ALLOWED, "only its requester or a lead may cancel a submission")
                new_state = SubmissionState.CANCELLED
                self.ledger.update_submission(submission_id, state=new_state)
                message = f"submission {submission_id} (claim {found.claim_id}) is cancelled; nothing was sent"
            elif found.state is SubmissionState.SENDING:
                if not actor.has(Role.LEAD):
                    raise _Refused(
                        Refusal.NOT_ALLOWED, "only a lead may close a submission whose sending is unconfirmed"
                    )
                new_state = SubmissionState.FAILED
                self.ledger.update_submission(submission_id, state=new_state, error="closed_by_lead")
                message = (
                    f"submission {submission_id} (claim {found.claim_id}) is closed as not received by the payer; "
                    "the claim may be corrected again"
                )
            else:
                raise _Refused(
                    Refusal.NOT_WAITING,
                    f"submission {submission_id} is {found.state.value}: only one waiting for approval "
                    "(or one whose sending was never confirmed) can be cancelled",
                )
            outcome = ResubmissionOutcome(
                state=ResubmissionState.CANCELLED,
                message=message,
                claim_id=found.claim_id,
                submission_id=submission_id,
                submission_state=new_state,
            )
        except _Refused as refused:
            outcome = refused.outcome(found)
        self._audit("resubmit.cancel", actor, outcome, None)
        return outcome

    # --- request ----------------------------------------------------------------------------------

    async def _request(self, request: ResubmissionRequest) -> ResubmissionOutcome:
        actor = request.actor
        if not (actor.has(Role.SPECIALIST) or actor.has(Role.LEAD)):
            raise _Refused(Refusal.NOT_ALLOWED, "only a specialist or a lead may ask for a corrected claim")
        prepared = await asyncio.to_thread(self._prepare, request)
        existing = await asyncio.to_thread(self.ledger.submission, None, prepared.key)
        retry_of: Submission | None = None
        if existing is not None:
            if existing.state is not SubmissionState.FAILED:
                raise _Refused(
                    Refusal.DUPLICATE,
                    f"this correction was asked for before: submission {existing.id} ({existing.state.value}); "
                    "the same request sends one claim",
                )
            retry_of = None if request.dry_run else existing  # nothing reached the payer: the same row tries again
        await asyncio.to_thread(self._refuse_open_submissions, request.claim_id, retry_of)
        payer = self._payer(prepared.base.payer_id)

        async def work(routes: PayerRoutes) -> ResubmissionOutcome:
            state = await self._payer_state(prepared.base, routes.status)
            corrected = prepared.corrected.model_copy(
                update={"frequency_code": prepared.frequency, "payer_claim_number": state.payer_claim_number}
            )
            route = _route_of(routes.correction)
            needs_approval = self._needs_approval(prepared.base, corrected)
            if request.dry_run:
                return await self._dry_run(request, prepared, corrected, payer, routes.correction, needs_approval)
            if retry_of is not None and retry_of.id is not None:
                submission_id = retry_of.id
                next_state = SubmissionState.AWAITING_APPROVAL if needs_approval else SubmissionState.SENDING
                await asyncio.to_thread(self.ledger.update_submission, submission_id, state=next_state, error=None)
            else:
                submission_id = await self._add(request, prepared, state, route, needs_approval)
            if needs_approval:
                return ResubmissionOutcome(
                    state=ResubmissionState.AWAITING_APPROVAL,
                    message=(
                        f"claim {request.claim_id} bills more than {self.team.resubmit_approval_above:,.2f}: "
                        f"submission {submission_id} waits for a lead other than you to approve it "
                        f"(claimbot submissions approve {submission_id})"
                    ),
                    claim_id=request.claim_id,
                    submission_id=submission_id,
                    submission_state=SubmissionState.AWAITING_APPROVAL,
                    route=route,
                )
            return await self._send(submission_id, corrected, payer, routes.correction, route, request.reason)

        return await self._on_routes(payer.id, work)

    def _prepare(self, request: ResubmissionRequest) -> _Prepared:
        try:
            current = self.ledger.get_claim(request.claim_id)
        except ClaimNotFoundError:
            raise _Refused(Refusal.CLAIM_NOT_FOUND, f"claim {request.claim_id} is not in the ledger") from None
        if request.reason and PhiScrubber([current.patient]).scrub(request.reason) != request.reason:
            raise _Refused(Refusal.BAD_REASON, "the reason names the patient: say why in words without PHI")
        frequency = FrequencyCode.VOID if request.void else FrequencyCode.REPLACEMENT
        if request.void and request.changes:
            raise _Refused(Refusal.BAD_CHANGE, "a void (frequency 8) cancels the claim as sent: it takes no changes")
        if not request.void and not request.changes:
            raise _Refused(Refusal.NO_CHANGE, "name at least one change (--set FIELD=VALUE) for a corrected claim")
        submissions = self.ledger.submissions(claim_id=request.claim_id)
        for earlier in submissions:  # after it was sent, its version is the base: its key would differ
            same = earlier.changes == request.changes and earlier.frequency_code is frequency
            if same and earlier.state not in (SubmissionState.FAILED, SubmissionState.CANCELLED):
                raise _Refused(
                    Refusal.DUPLICATE,
                    f"this correction was asked for before: submission {earlier.id} ({earlier.state.value}); "
                    "the same request sends one claim",
                )
        base, base_version = self._as_received(current, submissions)
        try:
            corrected = apply_changes(base, request.changes)
        except ChangeError as err:
            raise _Refused(Refusal.BAD_CHANGE, str(err)) from None
        if not request.void and _content(corrected) == _content(base):
            raise _Refused(
                Refusal.NO_CHANGE,
                "the changes leave the claim as the payer received it: an identical replacement is denied as a "
                "duplicate (CO-18)",
            )
        key = request.idempotency_key or default_idempotency_key(
            request.claim_id, base_version, request.changes, frequency
        )
        return _Prepared(base, base_version, corrected, frequency, dict(request.changes), key)

    def _as_received(self, current: Claim, submissions: Sequence[Submission]) -> tuple[Claim, int]:
        """What the payer has, and the ledger version that holds it: the claim as the last submission the
        route took sent it (a sent correction is kept as a version of its own), else the current claim."""
        claim_id = current.claim_id
        versions = self.ledger.claim_versions(claim_id)
        received = [s for s in submissions if s.state in RECEIVED_STATES]
        if not received:
            return current, versions[-1].version
        last = max(received, key=lambda s: (s.sent_at or s.requested_at, s.id or 0))
        sent = _as_sent(self.ledger.claim_version(claim_id, last.claim_version), last)
        held = next((v for v in reversed(versions) if _content(v.claim) == _content(sent)), None)
        if held is None:  # sent, but not kept as a version (a crash came in between): keep it now
            with self.ledger.writer() as writer:
                writer.upsert_claims([sent])
            return sent, self.ledger.claim_versions(claim_id)[-1].version
        return held.claim, held.version

    def _refuse_open_submissions(self, claim_id: str, retry_of: Submission | None) -> None:
        for other in self.ledger.submissions(claim_id=claim_id):
            if retry_of is not None and other.id == retry_of.id:
                continue
            if other.state is SubmissionState.AWAITING_APPROVAL:
                raise _Refused(
                    Refusal.AWAITING_APPROVAL,
                    f"submission {other.id} of claim {claim_id} waits for approval: approve or cancel it first",
                )
            if other.state is SubmissionState.SENDING:
                raise _Refused(
                    Refusal.UNCONFIRMED,
                    f"submission {other.id} of claim {claim_id} was handed to the payer's route but never "
                    "confirmed; it is not resent blindly: check with the payer, then a lead closes it "
                    f"(claimbot submissions cancel {other.id}) or its acknowledgment is imported",
                )

    def _payer(self, payer_id: str) -> PayerEntry:
        payer = self.payers.get(payer_id)
        if payer is None:
            raise _Refused(Refusal.NO_ROUTE, f"payer {payer_id} is not in the payers file")
        return payer

    async def _on_routes(
        self, payer_id: str, work: Callable[[PayerRoutes], Awaitable[ResubmissionOutcome]]
    ) -> ResubmissionOutcome:
        """Run `work` with the payer's adapters open (closed after); no adapter to be had is a refusal."""
        try:
            async with self.routes.open(payer_id) as routes:
                return await work(routes)
        except RouteUnavailable as err:
            raise _Refused(Refusal.NO_ROUTE, f"payer {payer_id} cannot be reached: {err}") from None

    async def _payer_state(self, claim: Claim, adapter: PayerAdapter) -> _PayerState:
        """The fresh status check, then the status guards (module docstring, step 4)."""
        claim_id = claim.claim_id
        history_before = await asyncio.to_thread(self.ledger.history, claim_id)
        try:
            [outcome] = await live_check(self.ledger, adapter, [claim_id], self.status_retry, trigger="resubmit")
        except AdapterError as err:
            raise _Refused(
                Refusal.STATUS_UNAVAILABLE,
                f"the payer's status of claim {claim_id} could not be checked first ({err.message}); nothing was sent",
            ) from None
        if isinstance(outcome, ClaimCheckFailed):
            raise _Refused(
                Refusal.STATUS_UNAVAILABLE,
                f"the payer's status of claim {claim_id} could not be checked first ({outcome.message}); "
                "nothing was sent",
            )
        status = outcome.status
        if status is ClaimStatus.PAID:
            raise _Refused(Refusal.PAID, f"claim {claim_id} is paid in full: there is nothing to correct")
        if status in IN_PROCESS_STATUSES:
            raise _Refused(
                Refusal.IN_PROCESS,
                f"claim {claim_id} is in process with the payer ({status.value}): wait for its decision",
            )
        if status is ClaimStatus.NOT_FOUND:
            raise _Refused(
                Refusal.UNKNOWN_TO_PAYER,
                f"the payer has no record of claim {claim_id}: send it as a new claim, not a correction",
            )
        if status not in CORRECTABLE_STATUSES:
            raise _Refused(
                Refusal.NOT_ADJUDICATED,
                f"claim {claim_id} is {status.value} with the payer, not decided: fix and send it as a new claim",
            )
        submissions = await asyncio.to_thread(self.ledger.submissions, claim_id)
        self._refuse_if_corrected(claim_id, history_before, submissions)
        number = outcome.payer_claim_number or _known_payer_number(claim, history_before, submissions)
        if not number:
            raise _Refused(
                Refusal.UNKNOWN_TO_PAYER,
                f"no payer claim number is known for claim {claim_id}: a corrected claim must quote it (REF*F8)",
            )
        await asyncio.to_thread(self._refuse_if_too_late, claim, history_before, outcome.status, outcome.denials)
        return _PayerState(status=status, payer_claim_number=number)

    @staticmethod
    def _refuse_if_corrected(claim_id: str, history: Sequence[StatusCheck], submissions: Sequence[Submission]) -> None:
        denials = [c.checked_at for c in history if c.status in (ClaimStatus.DENIED, ClaimStatus.PARTIALLY_PAID)]
        last_denial = max(denials, default=None)
        for submission in submissions:
            if submission.frequency_code is FrequencyCode.ORIGINAL or submission.state not in RECEIVED_STATES:
                continue
            sent_at = submission.sent_at or submission.requested_at
            if last_denial is None or sent_at > last_denial:
                raise _Refused(
                    Refusal.ALREADY_CORRECTED,
                    f"claim {claim_id} was already corrected after its last denial (submission {submission.id}, "
                    f"{submission.state.value}): wait for the payer's answer to it",
                )

    def _refuse_if_too_late(
        self, claim: Claim, history_before: Sequence[StatusCheck], status: ClaimStatus, denials: Sequence[Denial]
    ) -> None:
        """The corrected-claim window, counted from the decision as the ledger first knew it: the fresh
        check re-observes a decision already on record (a 277 carries no remittance date, so counting
        from it would restart the clock at every look); a decision seen only now counts from today."""
        claim_id = claim.claim_id
        before = current_check(history_before)
        history = history_before if before is not None and before.status is status else self.ledger.history(claim_id)
        current = current_check(history)
        recommendation = self.denial_playbook.recommend_claim(
            (current.denials if current is not None else ()) or denials, claim.payer_id
        )
        today = self.today()
        rules = self.deadline_rules or DeadlineRules.shipped(self.ledger.payers())
        deadlines = deadlines_of(
            claim_id,
            rules.for_payer(claim.payer_id),
            claim.service_date_from,
            claim.billed_amount,
            history,
            recommendation,
        )
        if deadlines.passed(DeadlineKind.CORRECTED_CLAIM, today):
            deadline = next(d for d in deadlines.deadlines if d.kind is DeadlineKind.CORRECTED_CLAIM)
            raise _Refused(
                Refusal.DEADLINE_PASSED,
                f"the corrected-claim deadline of claim {claim_id} passed on {deadline.due.isoformat()} "
                f"({deadline.basis}): appeal instead",
            )

    def _needs_approval(self, base: Claim, corrected: Claim) -> bool:
        threshold = self.team.resubmit_approval_above
        return threshold is not None and max(base.billed_amount, corrected.billed_amount) > threshold

    async def _add(
        self,
        request: ResubmissionRequest,
        prepared: _Prepared,
        state: _PayerState,
        route: SubmissionRoute,
        needs_approval: bool,
    ) -> int:
        submission = Submission(
            claim_id=request.claim_id,
            claim_version=prepared.base_version,
            frequency_code=prepared.frequency,
            original_payer_claim_number=state.payer_claim_number,
            route=route,
            state=SubmissionState.AWAITING_APPROVAL if needs_approval else SubmissionState.SENDING,
            changes=prepared.changes,
            reason=request.reason,
            requested_by=request.actor.id,
            idempotency_key=prepared.key,
        )
        submission_id, new = await asyncio.to_thread(self.ledger.add_submission, submission)
        if not new:  # another request with the same key won the race
            raise _Refused(
                Refusal.DUPLICATE,
                f"this correction was asked for at the same time: submission {submission_id}; "
                "the same request sends one claim",
            )
        return submission_id

    async def _dry_run(
        self,
        request: ResubmissionRequest,
        prepared: _Prepared,
        corrected: Claim,
        payer: PayerEntry,
        adapter: PayerAdapter,
        needs_approval: bool,
    ) -> ResubmissionOutcome:
        """Every guard passed: the 837P that would go, and the route's own dry run (a portal fills its form)."""
        x12 = build_837p(corrected, payer, self.identity, control_number=1)
        receipt = await self._hand_over(adapter, corrected, x12, request.reason, dry_run=True)
        route = _route_of(adapter)
        where = "the payer's portal" if route is SubmissionRoute.PORTAL else "the clearinghouse"
        return ResubmissionOutcome(
            state=ResubmissionState.DRY_RUN,
            message=(
                f"dry run: claim {request.claim_id} passes every check; frequency {prepared.frequency.value} "
                f"quoting the payer's claim number would go to {where}"
                + ("; a lead other than you must approve it first" if needs_approval else "")
                + "; nothing was sent"
                + (f" (evidence {receipt.evidence_ref})" if receipt.evidence_ref else "")
            ),
            claim_id=request.claim_id,
            route=route,
            x12=x12,
        )

    # --- approve ----------------------------------------------------------------------------------

    async def _approve(self, submission_id: int, actor: Actor) -> ResubmissionOutcome:
        found = await asyncio.to_thread(self.ledger.submission, submission_id)
        if found is None:
            raise _Refused(Refusal.SUBMISSION_NOT_FOUND, f"there is no submission {submission_id}")
        if found.state is not SubmissionState.AWAITING_APPROVAL:
            raise _Refused(
                Refusal.NOT_WAITING, f"submission {submission_id} is {found.state.value}, not waiting for approval"
            )
        if not actor.has(Role.LEAD):
            raise _Refused(Refusal.NOT_ALLOWED, "only a lead may approve a corrected claim")
        if actor.id == found.requested_by:
            raise _Refused(Refusal.NOT_ALLOWED, "a second person must approve: the requester cannot approve their own")
        base = await asyncio.to_thread(self.ledger.claim_version, found.claim_id, found.claim_version)
        corrected = apply_changes(base, found.changes)
        payer = self._payer(base.payer_id)

        async def work(routes: PayerRoutes) -> ResubmissionOutcome:
            try:
                state = await self._payer_state(base, routes.status)
            except _Refused as refused:  # for good, unless the payer may still decide or could not be asked
                if refused.refusal not in (Refusal.IN_PROCESS, Refusal.STATUS_UNAVAILABLE):
                    await asyncio.to_thread(
                        self.ledger.update_submission,
                        submission_id,
                        state=SubmissionState.CANCELLED,
                        error=refused.refusal.value,
                    )
                raise
            sent = corrected.model_copy(
                update={
                    "frequency_code": found.frequency_code,
                    "payer_claim_number": found.original_payer_claim_number or state.payer_claim_number,
                }
            )
            await asyncio.to_thread(
                self.ledger.update_submission, submission_id, state=SubmissionState.SENDING, approved_by=actor.id
            )
            return await self._send(submission_id, sent, payer, routes.correction, found.route, found.reason)

        return await self._on_routes(payer.id, work)

    # --- send -------------------------------------------------------------------------------------

    async def _send(
        self,
        submission_id: int,
        corrected: Claim,
        payer: PayerEntry,
        adapter: PayerAdapter,
        route: SubmissionRoute,
        reason: str | None,
    ) -> ResubmissionOutcome:
        """The submission is `sending`; hand it over and record what came back (module docstring, step 5)."""
        claim_id = corrected.claim_id
        x12 = build_837p(corrected, payer, self.identity, control_number=submission_id)
        await asyncio.to_thread(
            self.ledger.update_submission,
            submission_id,
            x12_sha256=hashlib.sha256(x12.encode()).hexdigest(),
            **_control_numbers(submission_id),
        )
        try:
            receipt = await self._hand_over(adapter, corrected, x12, reason, dry_run=False)
        except AdapterError as err:
            return await self._failed(submission_id, claim_id, route, err)
        state = {
            AcknowledgmentState.ACCEPTED: SubmissionState.ACCEPTED,
            AcknowledgmentState.REJECTED: SubmissionState.REJECTED,
            AcknowledgmentState.PENDING: SubmissionState.SENT,
        }[receipt.acknowledgment]
        new_number = receipt.payer_claim_number
        await asyncio.to_thread(
            self.ledger.update_submission,
            submission_id,
            state=state,
            sent_at=receipt.at,
            confirmation_number=receipt.confirmation_number,
            ack_codes=receipt.ack_codes,
            payer_claim_number=new_number,
            evidence_ref=receipt.evidence_ref,
        )
        if state is not SubmissionState.REJECTED:
            await asyncio.to_thread(self._record_sent, submission_id, corrected, receipt, route)
        log.info(
            "resubmission %s of claim %s %s (%s)", submission_id, claim_id, state.value, ",".join(receipt.ack_codes)
        )
        return ResubmissionOutcome(
            state=ResubmissionState.SENT,
            message=_sent_message(submission_id, corrected, state, receipt, route),
            claim_id=claim_id,
            submission_id=submission_id,
            submission_state=state,
            route=route,
            acknowledgment=receipt.acknowledgment,
            ack_codes=receipt.ack_codes,
            confirmation_number=receipt.confirmation_number,
            payer_claim_number=new_number,
        )

    async def _failed(
        self, submission_id: int, claim_id: str, route: SubmissionRoute, err: AdapterError
    ) -> ResubmissionOutcome:
        """Record a route failure: refused by the payer, nothing sent (may be tried again), or unconfirmed."""
        if err.reason in PAYER_REFUSED_REASONS:
            state, said = SubmissionState.REJECTED, "the payer refused it"
        elif err.reason in UNCONFIRMED_REASONS:
            state, said = (
                SubmissionState.SENDING,
                "it may have reached the payer, so it is not resent: check with the payer",
            )
        else:
            state, said = SubmissionState.FAILED, "nothing reached the payer; the same request may be tried again"
        await asyncio.to_thread(
            self.ledger.update_submission,
            submission_id,
            state=state,
            error=err.reason.value,
            evidence_ref=err.evidence_ref,
        )
        log.warning("resubmission %s of claim %s: %s (%s)", submission_id, claim_id, state.value, err.reason.value)
        evidence = f" (evidence {err.evidence_ref})" if err.evidence_ref else ""
        return ResubmissionOutcome(
            state=ResubmissionState.FAILED,
            message=f"submission {submission_id} of claim {claim_id} failed: {err.message}; {said}{evidence}",
            claim_id=claim_id,
            submission_id=submission_id,
            submission_state=state,
            route=route,
        )

    async def _hand_over(
        self, adapter: PayerAdapter, corrected: Claim, x12: str, reason: str | None, *, dry_run: bool
    ) -> CorrectionReceipt:
        request = CorrectionRequest(
            query=ClaimQuery.from_claim(corrected),
            claim=corrected,
            frequency_code=corrected.frequency_code,
            payer_claim_number=corrected.payer_claim_number or "",
            x12=x12,
            reason=reason,
        )
        return await adapter.submit_correction(request, dry_run=dry_run)

    def _record_sent(
        self, submission_id: int, corrected: Claim, receipt: CorrectionReceipt, route: SubmissionRoute
    ) -> None:
        """The corrected claim as the claim's new version, and a status check that puts it back in the sweeps."""
        stored = corrected.model_copy(
            update={"payer_claim_number": receipt.payer_claim_number or corrected.payer_claim_number}
        )
        category, status_code = _acknowledged_codes(receipt.ack_codes)
        status = ClaimStatus.SUBMITTED
        if category and receipt.acknowledgment is AcknowledgmentState.ACCEPTED:
            acknowledged = status_from_277(category, status_code)
            status = acknowledged if acknowledged in (ClaimStatus.ACKNOWLEDGED, ClaimStatus.PENDING) else status
        with self.ledger.writer() as writer:
            writer.upsert_claims([stored])
            writer.record_status_check(
                StatusCheck(
                    claim_id=corrected.claim_id,
                    checked_at=receipt.at,
                    source=CheckSource.PORTAL if route is SubmissionRoute.PORTAL else CheckSource.API,
                    status=status,
                    category_code=category,
                    status_code=status_code,
                    payer_status_text=f"frequency {corrected.frequency_code.value} sent as submission {submission_id}",
                    billed_amount=corrected.billed_amount,
                    payer_claim_number=stored.payer_claim_number,
                    evidence_ref=receipt.evidence_ref,
                    dedupe_key=f"resubmit:{submission_id}",
                )
            )

    # --- audit ------------------------------------------------------------------------------------

    async def _audit_crash(
        self, action: str, actor: Actor, claim_id: str | None, err: Exception, request: ResubmissionRequest | None
    ) -> None:
        """An attempt that ended in an unexpected error is audited too (by the error's type, never its text);
        a submission it left `sending` stays so (module docstring, crash safety)."""
        log.error("%s failed unexpectedly: %s", action, type(err).__name__)
        outcome = ResubmissionOutcome(
            state=ResubmissionState.FAILED,
            message=f"failed unexpectedly ({type(err).__name__})",
            claim_id=claim_id,
        )
        try:
            await asyncio.to_thread(self._audit, action, actor, outcome, request)
        except Exception as audit_err:  # the ledger itself may be what failed: the first error is what matters
            log.error("%s could not be audited: %s", action, type(audit_err).__name__)

    def _audit(
        self, action: str, actor: Actor, outcome: ResubmissionOutcome, request: ResubmissionRequest | None
    ) -> None:
        """One audit entry per attempt, refused ones included (a fresh key each: attempts are not deduplicated)."""
        detail: dict[str, str | int | float | bool | None] = {
            "state": outcome.state.value,
            "refusal": outcome.refusal.value if outcome.refusal else None,
            "submission_id": outcome.submission_id,
            "submission_state": outcome.submission_state.value if outcome.submission_state else None,
        }
        if request is not None:
            detail |= {
                "fields": ",".join(sorted(request.changes)),
                "void": request.void,
                "dry_run": request.dry_run,
                "claim": request.claim_id,
            }
        claim_id = outcome.claim_id
        known = claim_id is not None and outcome.refusal is not Refusal.CLAIM_NOT_FOUND
        self.ledger.record_action(
            Action(
                actor=actor.id,
                action=action,
                idempotency_key=f"{action}:{uuid.uuid4().hex}",
                outcome=(
                    ActionOutcome.REFUSED
                    if outcome.state is ResubmissionState.REFUSED
                    else ActionOutcome.FAILED
                    if outcome.state is ResubmissionState.FAILED
                    else ActionOutcome.SUCCEEDED
                ),
                claim_id=claim_id if known else None,
                detail=detail,
            )
        )


# --- helpers -----------------------------------------------------------------------------------------


def _content(claim: Claim) -> dict[str, Any]:
    """What a replacement changes: everything but how it relates to earlier claims."""
    return claim.model_dump(mode="json", exclude={"frequency_code", "payer_claim_number", "submitted_date"})


def _as_sent(version: Claim, submission: Submission) -> Claim:
    """A submission's claim as it went out: its version with its changes, its frequency and REF*F8."""
    if submission.frequency_code is FrequencyCode.ORIGINAL:
        return version
    return apply_changes(version, submission.changes).model_copy(
        update={
            "frequency_code": submission.frequency_code,
            "payer_claim_number": submission.payer_claim_number or submission.original_payer_claim_number,
        }
    )


def _known_payer_number(claim: Claim, history: Sequence[StatusCheck], submissions: Sequence[Submission]) -> str | None:
    """The newest payer claim number known: an accepted correction's, else the latest answer's, else the claim's."""
    accepted = [s for s in submissions if s.state is SubmissionState.ACCEPTED and s.payer_claim_number]
    if accepted:
        return max(accepted, key=lambda s: s.sent_at or s.requested_at).payer_claim_number
    answered = [c for c in history if c.payer_claim_number]
    if answered:
        return max(answered, key=lambda c: c.checked_at).payer_claim_number
    return claim.payer_claim_number


def _acknowledged_codes(ack_codes: Sequence[str]) -> tuple[str | None, str | None]:
    """STC01 category and status of a "277CA:A2:20" ack code, if one came back."""
    for code in ack_codes:
        parts = code.split(":")
        if parts[0] == "277CA" and len(parts) >= 2:
            return parts[1], parts[2] if len(parts) > 2 else None
    return None, None


def _route_of(adapter: PayerAdapter) -> SubmissionRoute:
    return SubmissionRoute.PORTAL if adapter.route is Route.PORTAL else SubmissionRoute.API


def _sent_message(
    submission_id: int, corrected: Claim, state: SubmissionState, receipt: CorrectionReceipt, route: SubmissionRoute
) -> str:
    what = "void" if corrected.frequency_code is FrequencyCode.VOID else "corrected claim"
    where = "the payer's portal" if route is SubmissionRoute.PORTAL else "the clearinghouse"
    said = {
        SubmissionState.ACCEPTED: "accepted",
        SubmissionState.REJECTED: "rejected",
        SubmissionState.SENT: "taken; its acknowledgment is not back yet",
    }[state]
    codes = f" ({', '.join(receipt.ack_codes)})" if receipt.ack_codes else ""
    number = f"; the payer's new claim number is {receipt.payer_claim_number}" if receipt.payer_claim_number else ""
    confirmation = f"; confirmation {receipt.confirmation_number}" if receipt.confirmation_number else ""
    sent = f"{what} of claim {corrected.claim_id} sent to {where} as submission {submission_id}"
    return f"{sent}: {said}{codes}{confirmation}{number}"


__all__ = [
    "FIELD_PATHS",
    "ConfiguredRoutes",
    "PayerRoutes",
    "Refusal",
    "ResubmissionOutcome",
    "ResubmissionRequest",
    "ResubmissionService",
    "ResubmissionState",
    "RouteSource",
    "RouteUnavailable",
    "apply_changes",
    "build_837p",
]
