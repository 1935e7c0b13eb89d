"""The clearinghouse adapter: claim status (276 → 277) and eligibility (270 → 271) in CAQH CORE real time.

It implements the same `PayerAdapter` contract as the portal engine, over HTTP instead of a browser:
each question is written as X12 with `edi`, posted in the CORE envelope (JSON, snake_case CORE field
names, `X-API-Key`), and the answer is read back with `edi.read_x12`.

One claim per 276: CORE real time is built around one inquiry per request and a 20 s answer budget,
a failed request (timeout, 5xx) then costs only its own claim, and a claim whose data cannot be
written as X12 fails alone. Requests run concurrently, bounded per adapter.

How failures surface (the retry policy reads only the type):
- the API key refused (401/403) or an answer we cannot read (not JSON, not X12, no 277/271, errors in
  the envelope or transaction) → raised `AuthenticationFailed` / `LayoutChanged`: stop the payer;
- 429 → raised `RateLimited` with Retry-After: the limit is per API key, so every other request of
  the batch would be refused too, and only a raised error carries Retry-After to the retry policy;
- 5xx, timeouts, dropped connections, a 277 STC in category E ("response not possible", e.g. the
  payer is down) → `ClaimCheckFailed(portal_unavailable)` for that claim; a 271 AAA 42/80 → raised
  `PortalUnavailable` (an eligibility answer has no per-claim slot);
- the clearinghouse cannot read the X12 written for one claim (`InvalidPayload`) → bad_claim_data;
- a 277 that says nothing about the claim asked, or whose loop for it has errors → that claim fails
  as layout_changed: the fault is in the answer, not in our claim data (bad_claim_data would send a
  specialist to fix a claim that is fine), and asking again gets the same answer.

Corrected claims (`submit_correction`) go the batch way: the 837P the resubmission pipeline built is
posted to `/core/batch` (processing mode Batch), and the 999 and the 277CA are fetched from the batch
mailbox, polling with backoff for at most `BatchPolling.ack_wait_s`. Once the POST was taken nothing
is raised any more: the receipt says what came back (`pending` when the wait ran out). A POST whose
answer never came (a read timeout) raises `clearinghouse_timeout`: it may have arrived, so the caller
must not send it again blindly; a connection refused raises `clearinghouse_unreachable` (nothing sent).

Messages name codes, never the patient, the member id, a birth date or the API key; httpx errors
never leave this module.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import ClassVar, Literal, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import PydanticBaseSettingsSource, SettingsConfigDict

from claimbot.settings import TomlSection, TomlSettings
from claims.codesets import CodeKind, CodeSets
from claims.models import Benefit, Patient, npi_check_digit_ok
from claims.phi import PhiScrubber, register_secret
from claims.status import ClaimStatus, refine_with_amounts, status_from_277
from edi import (
    ClaimStatusInquiry,
    ClaimStatusResponse,
    ControlNumberCounter,
    ControlNumberSource,
    EligibilityInquiry,
    EligibilityResponse,
    ImplementationAcknowledgment,
    InterchangeSettings,
    Severity,
    X12SyntaxError,
    X12WriteError,
    read_x12,
    write_270,
    write_276,
)
from edi.claim_status import ClaimStatus as X12ClaimStatus
from edi.claim_status import StatusCode
from edi.eligibility import CoverageAmount
from edi.outbound import (
    Address,
    BillingProviderDetails,
    PayerDetails,
    ProviderDetails,
    SubmitterDetails,
    SubscriberDetails,
)
from edi.transaction import TransactionView
from portal_adapters.contract import (
    AcknowledgmentState,
    ClaimCheckFailed,
    ClaimOutcome,
    ClaimQuery,
    ClaimStatusResult,
    CorrectionReceipt,
    CorrectionRequest,
    EligibilityQuery,
    EligibilityResult,
    Route,
)
from portal_adapters.errors import (
    AdapterError,
    AuthenticationFailed,
    BadClaimData,
    LayoutChanged,
    PortalUnavailable,
    RateLimited,
    Reason,
)

STATUS_REQUEST = "X12_276_Request_005010X212"
STATUS_RESPONSE = "X12_277_Response_005010X212"
ELIGIBILITY_REQUEST = "X12_270_Request_005010X279A1"
ELIGIBILITY_RESPONSE = "X12_271_Response_005010X279A1"
CORRECTION_REQUEST = "X12_837_Request_005010X222A1"
#: CORE real-time answer budget; also the default client timeout.
CORE_REALTIME_TIMEOUT_S = 20.0
#: Envelope error codes that mean "the clearinghouse failed, try later" whatever the HTTP status.
UNAVAILABLE_ERROR_CODES = frozenset({"InternalError", "ServiceUnavailable"})
#: AAA03 reasons that say "not now" (42 unable to respond, 80 no response received), not "no such member".
UNABLE_TO_RESPOND = frozenset({"42", "80"})
#: CORE envelope error codes we name in an error (`code`); any other text the server sends is not repeated.
KNOWN_ERROR_CODES = frozenset(
    {
        "Success",
        "Unauthorized",
        "RateLimited",
        "InternalError",
        "ServiceUnavailable",
        "InvalidPayload",
        "InvalidEnvelope",
        "PayloadTypeNotSupported",
        "NotFound",
        "Forbidden",
    }
)
#: EB06 "year to date": the amount already met; `Benefit` keeps the total and what remains.
YEAR_TO_DATE = "24"
#: EB02 coverage levels that describe the patient; family totals are not the patient's own figures.
INDIVIDUAL_LEVELS = frozenset({"", "IND"})

ViewT = TypeVar("ViewT", bound=TransactionView)
log = logging.getLogger(__name__)


class _ClearinghouseSection(TomlSettings):
    """Reads the `[clearinghouse]` section of config/claimbot.toml under the environment (CLAIMBOT_CLEARINGHOUSE_*),
    which ClearinghouseIdentity and BatchPolling share. The API key is never read from the file."""

    toml_section: ClassVar[str | None] = "clearinghouse"

    @classmethod
    def toml_sources(cls) -> tuple[PydanticBaseSettingsSource, ...]:
        shared = frozenset(ClearinghouseIdentity.model_fields) | frozenset(BatchPolling.model_fields)
        return (TomlSection(cls, cls.toml_section, shared=shared),)


class ClearinghouseIdentity(_ClearinghouseSection):
    """Who we are to the clearinghouse (env CLAIMBOT_CLEARINGHOUSE_*, TOML [clearinghouse]); defaults are the
    sandbox's practice."""

    model_config = SettingsConfigDict(env_prefix="CLAIMBOT_CLEARINGHOUSE_", frozen=True, extra="ignore")

    sender_id: str = Field(default="WILLOWBEND", description="ISA06/GS02 and the envelope's sender_id")
    receiver_id: str = Field(default="SANDBOXCH", description="ISA08/GS03 and the envelope's receiver_id")
    submitter_name: str = Field(default="WILLOWBEND FAMILY MEDICINE", description="276 NM1*41 submitter")
    submitter_id: str = Field(default="WILLOWBEND", description="276 NM1*41 NM109 (ETIN)")
    provider_name: str = Field(
        default="WILLOWBEND FAMILY MEDICINE", description="NM1*1P: the billing provider payers match on"
    )
    provider_npi: str = Field(default="1577764651", description="the billing provider's NPI (check digit checked)")
    provider_tax_id: str = Field(default="990970841", description="837P billing provider REF*EI")
    provider_address: str = Field(default="100 SANDBOX WAY", description="837P billing provider N3")
    provider_city: str = Field(default="SPRINGFIELD", description="837P billing provider N4 city")
    provider_state: str = Field(default="IL", description="837P billing provider N4 state")
    provider_postal_code: str = Field(default="62701", description="837P billing provider N4 postal code")
    trace_originator_id: str = Field(default="9WILLOWBND", description='270 TRN03: "9" + our own id')
    usage_indicator: Literal["P", "T"] = Field(
        default="T", description="ISA15: P (production) only once a real clearinghouse is set"
    )

    @field_validator("provider_npi")
    @classmethod
    def _npi(cls, value: str) -> str:
        if not npi_check_digit_ok(value):
            raise ValueError("an NPI is 10 digits with a valid check digit")
        return value

    def interchange(self) -> InterchangeSettings:
        return InterchangeSettings(
            sender_id=self.sender_id, receiver_id=self.receiver_id, usage_indicator=self.usage_indicator
        )

    def provider(self) -> ProviderDetails:
        return ProviderDetails(name=self.provider_name, npi=self.provider_npi)

    def billing_provider(self) -> BillingProviderDetails:
        """The 837P billing provider (2010AA): the provider with its tax id and address."""
        return BillingProviderDetails(
            name=self.provider_name,
            npi=self.provider_npi,
            tax_id=self.provider_tax_id,
            address=Address(
                line1=self.provider_address,
                city=self.provider_city,
                state=self.provider_state,
                postal_code=self.provider_postal_code,
            ),
        )


class BatchPolling(_ClearinghouseSection):
    """How long a corrected claim waits for its 999 and 277CA (env CLAIMBOT_CLEARINGHOUSE_ACK_*, TOML [clearinghouse]).

    The mailbox is asked after `ack_poll_first_s`, then at doubling intervals up to `ack_poll_max_s`,
    until both files are there or `ack_wait_s` has passed; what is still missing then comes later
    (a file dropped into `claimbot edi import`, or the next status sweep)."""

    model_config = SettingsConfigDict(env_prefix="CLAIMBOT_CLEARINGHOUSE_", frozen=True, extra="ignore")

    ack_wait_s: float = Field(
        default=60.0, ge=0, le=3600, description="a corrected claim waits this long for its 999 and 277CA"
    )
    ack_poll_first_s: float = Field(default=0.25, gt=0, le=60, description="first look at the batch mailbox")
    ack_poll_max_s: float = Field(default=5.0, gt=0, le=300, description="the longest pause between looks")


class CoreRequest(BaseModel):
    """The CORE request envelope (real time, or batch for an 837P)."""

    model_config = ConfigDict(frozen=True)

    payload_type: str
    processing_mode: Literal["RealTime", "Batch"] = "RealTime"
    payload_id: str
    timestamp: str
    sender_id: str
    receiver_id: str
    core_rule_version: str = "2.2.0"
    payload: str


class CoreResponse(BaseModel):
    """The CORE answer envelope; refusals (401, 429, 5xx) carry only the error fields."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    error_code: str
    error_message: str | None = None
    payload_type: str | None = None
    payload: str | None = None


class BatchFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: str
    url: str


class BatchStatus(BaseModel):
    """The batch mailbox's answer (`POST /core/batch` → 202, `GET /core/batch/{id}`): files ready so far."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    submission_id: str = Field(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9._\-]+$")
    files: list[BatchFile] = []
    pending: list[str] = []

    def url(self, kind: str) -> str | None:
        return next((f.url for f in self.files if f.kind == kind), None)


class ClearinghouseAdapter:
    """A payer reached through the clearinghouse. Implements portal_adapters.contract.PayerAdapter."""

    route = Route.API

    def __init__(
        self,
        payer_id: str,
        base_url: str,
        api_key: SecretStr,
        *,
        clearinghouse_payer_id: str | None = None,
        identity: ClearinghouseIdentity | None = None,
        timeout_s: float = CORE_REALTIME_TIMEOUT_S,
        client: httpx.AsyncClient | None = None,
        control_numbers: ControlNumberSource | None = None,
        max_concurrent: int = 4,
        code_sets: CodeSets | None = None,
        polling: BatchPolling | None = None,
    ) -> None:
        self.payer_id = payer_id
        self.base_url = base_url.rstrip("/")
        self.url = self.base_url + "/core/realtime"
        self.polling = polling or BatchPolling()
        self._api_key = api_key
        register_secret(api_key.get_secret_value())
        self.payer = PayerDetails(name=clearinghouse_payer_id or payer_id, payer_id=clearinghouse_payer_id or payer_id)
        self.identity = identity or ClearinghouseIdentity()
        self.timeout_s = timeout_s
        self._client = client
        self._owns_client = False
        self._control_numbers = control_numbers or ControlNumberCounter()
        self._slots = asyncio.Semaphore(max_concurrent)
        self._code_sets = code_sets or CodeSets()

    # --- lifecycle -----------------------------------------------------------------------------
    async def open(self) -> None:
        """Create the HTTP client, unless one was given or is already open."""
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout_s)
            self._owns_client = True

    async def close(self) -> None:
        """Close the client we created; a shared client belongs to whoever gave it."""
        if self._client is not None and self._owns_client:
            await self._client.aclose()
            self._client = None
            self._owns_client = False

    # --- claim status --------------------------------------------------------------------------
    async def check_claims(self, queries: Sequence[ClaimQuery]) -> list[ClaimOutcome]:
        await self.open()
        outcomes: dict[str, ClaimOutcome] = {}

        async def one(query: ClaimQuery) -> None:
            try:
                outcomes[query.claim_id] = await self._check_claim(query)
            except AdapterError:
                raise
            except Exception as err:  # a bug costs this claim only, and its text (maybe PHI) is not kept
                log.error("clearinghouse check failed unexpectedly: %s (payer %s)", type(err).__name__, self.payer_id)
                failure = PortalUnavailable(self.payer_id, Reason.ENGINE_FAILED, claim_id=query.claim_id)
                outcomes[query.claim_id] = ClaimCheckFailed.from_error(query.claim_id, failure)

        try:
            async with asyncio.TaskGroup() as group:
                for query in {q.claim_id: q for q in queries}.values():
                    group.create_task(one(query))
        except* AdapterError as errors:  # stops the payer (or a 429 for the whole key): the rest are cancelled
            raise errors.exceptions[0] from None
        return [outcomes[q.claim_id] for q in queries]

    async def _check_claim(self, query: ClaimQuery) -> ClaimOutcome:
        """One 276 → 277; failures about this claim come back as ClaimCheckFailed, the rest are raised."""
        try:
            payload = self._write_276(query)
            answer, elapsed_ms = await self._exchange(STATUS_REQUEST, STATUS_RESPONSE, payload)
            responses = self._read(answer, ClaimStatusResponse, "277")
        except AdapterError as err:
            err.claim_id = err.claim_id or query.claim_id
            if err.stops_payer or isinstance(err, RateLimited):
                raise
            return ClaimCheckFailed.from_error(query.claim_id, err)
        # TRN02 of the 276 is the claim id (`effective_trace_number`), echoed in the 277's TRN02.
        claim = next((c for r in responses for c in r.claims if c.trace_number == query.claim_id), None)
        if claim is None:
            return self._failed(query, LayoutChanged(self.payer_id, Reason.ANSWER_MISSING_CLAIM))
        try:
            return self._claim_outcome(query, claim, elapsed_ms)
        except ValidationError as err:  # the answer does not fit a result: this claim's problem, not the batch's
            return self._failed(query, LayoutChanged(self.payer_id, Reason.UNEXPECTED_ANSWER, field=_first_field(err)))

    def _write_276(self, query: ClaimQuery) -> str:
        with self._writing():
            inquiry = ClaimStatusInquiry(
                payer=self.payer,
                provider=self.identity.provider(),
                subscriber=_subscriber(query.patient),
                patient_control_number=query.claim_id,
                payer_claim_control_number=query.payer_claim_number or "",
                total_charge=query.billed_amount,
                service_date=query.service_date_from,
                service_end_date=query.service_date_to,
            )
            return write_276(
                [inquiry],
                requester=SubmitterDetails(name=self.identity.submitter_name, identifier=self.identity.submitter_id),
                settings=self.identity.interchange(),
                control_numbers=self._control_numbers,
            )

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Data the X12 models or writers refuse is ours to fix: BadClaimData, naming fields, not values."""
        try:
            yield
        except ValidationError as err:
            raise BadClaimData(self.payer_id, Reason.CANNOT_WRITE_X12, field=_first_field(err)) from None
        except X12WriteError as err:
            raise BadClaimData(self.payer_id, Reason.CANNOT_WRITE_X12) from err

    def _claim_outcome(self, query: ClaimQuery, claim: X12ClaimStatus, elapsed_ms: int) -> ClaimOutcome:
        if not claim.is_valid:
            return self._failed(query, LayoutChanged(self.payer_id, Reason.ANSWER_MALFORMED))
        report = next((r for r in claim.statuses if r.statuses), None)
        if report is None:
            return self._failed(query, LayoutChanged(self.payer_id, Reason.ANSWER_MISSING_CLAIM))
        code = report.statuses[0]
        if code.category.upper().startswith("E"):
            stc = f"{code.category}:{code.status}" if code.status else code.category
            return self._failed(query, PortalUnavailable(self.payer_id, Reason.PAYER_COULD_NOT_ANSWER, code=stc))
        # A 277 carries no CARC; a line finalized as denied (F2) is its only sign of a partial payment.
        line_denied = any(
            status.category.upper() == "F2" for line in claim.services for r in line.statuses for status in r.statuses
        )
        return ClaimStatusResult(
            claim_id=query.claim_id,
            payer_id=self.payer_id,
            route=Route.API,
            elapsed_ms=elapsed_ms,
            status=refine_with_amounts(status_from_277(code.category, code.status), report.paid_amount, line_denied),
            category_code=code.category,
            status_code=code.status or None,
            payer_status_text=PhiScrubber([query.patient]).scrub(report.message or self._describe(code))[:500],
            billed_amount=report.total_charge if report.total_charge is not None else claim.total_charge,
            paid_amount=report.paid_amount,
            payer_claim_number=claim.payer_claim_control_number or None,
            check_number=report.check_number or None,
            payment_date=report.check_date,
        )

    def _describe(self, code: StatusCode) -> str:
        """Our code-set texts for STC01 (category; status), for when the payer sends no STC12 words."""
        found = (
            self._code_sets.describe(kind, value)
            for kind, value in ((CodeKind.CATEGORY, code.category), (CodeKind.STATUS, code.status))
            if value
        )
        return "; ".join(described.description for described in found if described is not None) or str(code)

    @staticmethod
    def _failed(query: ClaimQuery, error: AdapterError) -> ClaimCheckFailed:
        error.claim_id = query.claim_id
        return ClaimCheckFailed.from_error(query.claim_id, error)

    # --- eligibility ---------------------------------------------------------------------------
    async def check_eligibility(self, query: EligibilityQuery) -> EligibilityResult:
        await self.open()
        trace = uuid.uuid4().hex
        with self._writing():
            inquiry = EligibilityInquiry(
                payer=self.payer,
                provider=self.identity.provider(),
                subscriber=_subscriber(query.patient),
                trace_number=trace,
                trace_originator_id=self.identity.trace_originator_id,
                service_types=["30"],
                service_date=query.service_date,
            )
            payload = write_270([inquiry], settings=self.identity.interchange(), control_numbers=self._control_numbers)
        answer, elapsed_ms = await self._exchange(ELIGIBILITY_REQUEST, ELIGIBILITY_RESPONSE, payload)
        responses = self._read(answer, EligibilityResponse, "271")
        person = next((p for r in responses for p in r.results if p.trace_number == trace), None)
        if person is None:
            raise LayoutChanged(self.payer_id, Reason.ANSWER_MISSING_MEMBER)
        if not person.is_valid:
            raise LayoutChanged(self.payer_id, Reason.ANSWER_MALFORMED)
        # AAA above the member (payer or provider level) answers for everyone asked, so it comes first.
        rejections = [*(a for r in responses for a in r.rejections), *person.rejections]
        rejection = rejections[0] if rejections else None
        if rejection is not None and rejection.reason_code in UNABLE_TO_RESPOND:
            raise PortalUnavailable(self.payer_id, Reason.PAYER_COULD_NOT_ANSWER, code=rejection.reason_code)
        if rejection is not None:
            return EligibilityResult(
                payer_id=self.payer_id,
                route=Route.API,
                elapsed_ms=elapsed_ms,
                found=False,
                active=False,
                rejection_code=rejection.reason_code,
            )
        coverage = person.coverage
        try:
            return EligibilityResult(
                payer_id=self.payer_id,
                route=Route.API,
                elapsed_ms=elapsed_ms,
                found=True,
                active=bool(coverage.active),
                plan_name=PhiScrubber([query.patient]).scrub(coverage.plans[0]) if coverage.plans else None,
                benefits=_benefits(coverage.amounts),
            )
        except ValidationError as err:
            raise LayoutChanged(self.payer_id, Reason.UNEXPECTED_ANSWER, field=_first_field(err)) from None

    # --- corrected claims ----------------------------------------------------------------------
    async def submit_correction(self, request: CorrectionRequest, *, dry_run: bool = False) -> CorrectionReceipt:
        """Post the request's 837P as a batch and wait (bounded) for its 999 and 277CA; a dry run posts nothing."""
        claim_id = request.claim.claim_id
        if dry_run:
            return CorrectionReceipt(
                claim_id=claim_id, payer_id=self.payer_id, route=Route.API, submitted=False, elapsed_ms=0
            )
        await self.open()
        started = time.perf_counter()
        batch = await self._post_batch(request.x12, claim_id)
        codes: list[str] = []
        state = AcknowledgmentState.PENDING
        payer_claim_number: str | None = None
        try:
            async with asyncio.timeout(self.polling.ack_wait_s):
                batch = await self._wait_for(batch, "999")
                ack = self._implementation_ack(await self._batch_file(batch, "999"))
                codes.append(f"999:{ack}")
                if ack not in ("A", "E"):
                    state = AcknowledgmentState.REJECTED
                else:
                    batch = await self._wait_for(batch, "277CA")
                    state, code, payer_claim_number = self._claim_ack(await self._batch_file(batch, "277CA"), claim_id)
                    codes.append(f"277CA:{code}")
        except TimeoutError:
            log.info("clearinghouse acknowledgment not back in %ss (payer %s)", self.polling.ack_wait_s, self.payer_id)
        except AdapterError as err:  # the claim was taken; what came back is unreadable or the mailbox failed
            log.warning("clearinghouse acknowledgment unreadable: %s (payer %s)", err.reason.value, self.payer_id)
        return CorrectionReceipt(
            claim_id=claim_id,
            payer_id=self.payer_id,
            route=Route.API,
            submitted=True,
            elapsed_ms=int((time.perf_counter() - started) * 1000),
            confirmation_number=batch.submission_id,
            acknowledgment=state,
            ack_codes=tuple(codes),
            payer_claim_number=payer_claim_number,
        )

    async def _post_batch(self, x12: str, claim_id: str) -> BatchStatus:
        """The POST; raises when the clearinghouse did not take the batch (see the module docstring)."""
        assert self._client is not None
        envelope = CoreRequest(
            payload_type=CORRECTION_REQUEST,
            processing_mode="Batch",
            payload_id=uuid.uuid4().hex,
            timestamp=datetime.now(UTC).isoformat(timespec="seconds"),
            sender_id=self.identity.sender_id,
            receiver_id=self.identity.receiver_id,
            payload=x12,
        )
        try:
            response = await self._client.post(
                self.base_url + "/core/batch",
                json=envelope.model_dump(),
                headers=self._headers(),
                timeout=self.timeout_s,
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as err:  # never reached it: nothing was sent
            raise PortalUnavailable(self.payer_id, Reason.CLEARINGHOUSE_UNREACHABLE, claim_id=claim_id) from err
        except httpx.HTTPError as err:  # sent, no answer: it may have arrived
            raise PortalUnavailable(self.payer_id, Reason.CLEARINGHOUSE_TIMEOUT, claim_id=claim_id) from err
        if response.status_code == 202:
            try:
                return BatchStatus.model_validate_json(response.content)
            except ValidationError:
                pass
            raise LayoutChanged(self.payer_id, Reason.UNEXPECTED_ANSWER, claim_id=claim_id, http_status=202)
        try:
            self._accepted(response)
        except AdapterError as err:
            err.claim_id = claim_id
            raise
        raise LayoutChanged(
            self.payer_id, Reason.UNEXPECTED_ANSWER, claim_id=claim_id, http_status=response.status_code
        )

    async def _wait_for(self, batch: BatchStatus, kind: str) -> BatchStatus:
        """Ask the mailbox, with doubling pauses, until `kind` is ready (the caller bounds the time)."""
        pause = self.polling.ack_poll_first_s
        while batch.url(kind) is None:
            await asyncio.sleep(pause)
            pause = min(pause * 2, self.polling.ack_poll_max_s)
            response = await self._get(f"/core/batch/{batch.submission_id}")
            if response.status_code >= 500 or response.status_code == 429:
                continue  # the mailbox is busy; the batch is safe there
            if response.status_code != 200:
                raise LayoutChanged(self.payer_id, Reason.UNEXPECTED_ANSWER, http_status=response.status_code)
            try:
                batch = BatchStatus.model_validate_json(response.content)
            except ValidationError:
                raise LayoutChanged(self.payer_id, Reason.UNEXPECTED_ANSWER) from None
        return batch

    async def _batch_file(self, batch: BatchStatus, kind: str) -> str:
        url = batch.url(kind)
        if url is None or not url.startswith("/core/batch/"):  # only the mailbox's own paths, never another host
            raise LayoutChanged(self.payer_id, Reason.UNEXPECTED_ANSWER)
        response = await self._get(url)
        if response.status_code != 200:
            raise PortalUnavailable(self.payer_id, Reason.CLEARINGHOUSE_FAILED, http_status=response.status_code)
        return response.text

    async def _get(self, path: str) -> httpx.Response:
        assert self._client is not None
        try:
            return await self._client.get(self.base_url + path, headers=self._headers(), timeout=self.timeout_s)
        except httpx.TimeoutException as err:
            raise PortalUnavailable(self.payer_id, Reason.CLEARINGHOUSE_TIMEOUT) from err
        except httpx.HTTPError as err:
            raise PortalUnavailable(self.payer_id, Reason.CLEARINGHOUSE_UNREACHABLE) from err

    def _implementation_ack(self, payload: str) -> str:
        """The 999's verdict on our group (AK901: A, E, P or R)."""
        [ack, *_] = self._read(payload, ImplementationAcknowledgment, "999")
        return ack.group_status_code or ("A" if all(t.accepted for t in ack.transaction_acks) else "R")

    def _claim_ack(self, payload: str, claim_id: str) -> tuple[AcknowledgmentState, str, str | None]:
        """The 277CA's verdict on the claim: state, its STC01 ("A2:20", "A7:562:82"), the payer's REF*1K."""
        responses = self._read(payload, ClaimStatusResponse, "277CA")
        claim = next(
            (c for r in responses for c in r.claims if claim_id in (c.patient_control_number, c.trace_number)), None
        )
        code = claim.primary_status if claim is not None else None
        if claim is None or code is None:
            raise LayoutChanged(self.payer_id, Reason.ANSWER_MISSING_CLAIM, claim_id=claim_id)
        status = status_from_277(code.category, code.status)
        state = (
            AcknowledgmentState.REJECTED
            if status in (ClaimStatus.REJECTED, ClaimStatus.NOT_FOUND)
            else AcknowledgmentState.ACCEPTED
        )
        return state, str(code), claim.payer_claim_control_number or None

    # --- HTTP and X12 --------------------------------------------------------------------------
    async def _exchange(self, request_type: str, response_type: str, payload: str) -> tuple[str, int]:
        """POST one CORE envelope; the answer's X12 text and how long the clearinghouse took."""
        assert self._client is not None
        envelope = CoreRequest(
            payload_type=request_type,
            payload_id=uuid.uuid4().hex,
            timestamp=datetime.now(UTC).isoformat(timespec="seconds"),
            sender_id=self.identity.sender_id,
            receiver_id=self.identity.receiver_id,
            payload=payload,
        )
        async with self._slots:
            started = time.perf_counter()
            try:
                response = await self._client.post(
                    self.url,
                    json=envelope.model_dump(),
                    headers=self._headers(),
                    timeout=self.timeout_s,
                )
            except httpx.TimeoutException as err:
                raise PortalUnavailable(self.payer_id, Reason.CLEARINGHOUSE_TIMEOUT) from err
            except httpx.HTTPError as err:
                raise PortalUnavailable(self.payer_id, Reason.CLEARINGHOUSE_UNREACHABLE) from err
            elapsed_ms = int((time.perf_counter() - started) * 1000)
        answer = self._accepted(response)
        if answer.payload_type != response_type or not answer.payload:
            raise LayoutChanged(self.payer_id, Reason.UNEXPECTED_ANSWER, http_status=response.status_code)
        return answer.payload, elapsed_ms

    def _headers(self) -> dict[str, str]:
        return {"X-API-Key": self._api_key.get_secret_value()}

    def _accepted(self, response: httpx.Response) -> CoreResponse:
        """The answer envelope when the clearinghouse answered; otherwise its refusal in the taxonomy."""
        try:
            answer: CoreResponse | None = CoreResponse.model_validate_json(response.content)
        except ValidationError:
            answer = None  # a proxy's HTML error page, or not the clearinghouse at all
        status = response.status_code
        code = answer.error_code if answer is not None else None
        named = code if code in KNOWN_ERROR_CODES else None  # the server's own words are never repeated
        if status in (401, 403) or code == "Unauthorized":
            raise AuthenticationFailed(self.payer_id, Reason.API_KEY_REFUSED, http_status=status, code=named)
        if status == 429 or code == "RateLimited":
            raise RateLimited(
                self.payer_id,
                Reason.SLOW_DOWN,
                retry_after_s=_retry_after(response.headers),
                http_status=status,
                code=named,
            )
        if status >= 500 or code in UNAVAILABLE_ERROR_CODES:
            raise PortalUnavailable(self.payer_id, Reason.CLEARINGHOUSE_FAILED, http_status=status, code=named)
        if code == "InvalidPayload":
            raise BadClaimData(self.payer_id, Reason.REQUEST_REFUSED, http_status=status, code=named)
        if answer is None or status != 200 or code != "Success":
            # InvalidEnvelope, PayloadTypeNotSupported, a 404, not JSON: our integration is out of step with it.
            raise LayoutChanged(self.payer_id, Reason.UNEXPECTED_ANSWER, http_status=status, code=named)
        return answer

    def _read(self, payload: str, view: type[ViewT], name: str) -> list[ViewT]:
        """The answer's transactions of one kind; raises LayoutChanged when the answer as a whole is broken."""
        try:
            document = read_x12(payload, f"clearinghouse {name}")
        except X12SyntaxError as err:
            raise LayoutChanged(self.payer_id, Reason.ANSWER_NOT_X12) from err
        views = document.transactions_of(view)
        broken = sorted(
            {
                f.code.value
                for f in [*document.findings, *(f for v in views for f in v.findings)]
                if f.severity is Severity.ERROR
            }
        )
        if broken:
            raise LayoutChanged(self.payer_id, Reason.ANSWER_MALFORMED)
        if not views:
            raise LayoutChanged(self.payer_id, Reason.UNEXPECTED_ANSWER)
        return views


def _subscriber(patient: Patient) -> SubscriberDetails:
    """The patient as the 276/270 subscriber (ClaimQuery carries no separate insured person)."""
    return SubscriberDetails(
        last_name=patient.last_name.upper(),
        first_name=patient.first_name.upper(),
        member_id=patient.member_id,
        birth_date=patient.date_of_birth,
    )


def _benefits(amounts: list[CoverageAmount]) -> tuple[Benefit, ...]:
    """One Benefit per kind, service type and network from the patient's own EB figures.

    EB segments split one benefit over time periods (deductible: 23 the year's total, 24 met so
    far, 29 remaining); a Benefit holds the total and what remains. Coinsurance EB08 is a fraction.
    """
    merged: dict[tuple[str, str | None, bool | None], dict[str, Decimal]] = {}
    for amount in amounts:
        if amount.coverage_level not in INDIVIDUAL_LEVELS:
            continue
        service_types: list[str | None] = list(amount.service_types) or [None]
        for service_type in service_types:
            parts = merged.setdefault((amount.kind, service_type, amount.in_network), {})
            if amount.percent is not None:
                parts["percent"] = amount.percent * 100
            if amount.amount is None or amount.time_period == YEAR_TO_DATE:
                continue
            parts["remaining" if amount.remaining else "amount"] = amount.amount
    return tuple(
        Benefit(kind=kind, service_type=service_type, in_network=in_network, **parts)
        for (kind, service_type, in_network), parts in merged.items()
    )


def _first_field(err: ValidationError) -> str | None:
    """The first field that failed (dotted, at most two names), never its value (it may be PHI)."""
    for problem in err.errors():
        names = [str(part) for part in problem["loc"] if isinstance(part, str)]
        if names:
            return ".".join(names[-2:])
    return None


def _retry_after(headers: httpx.Headers) -> float | None:
    """Retry-After in seconds; the HTTP-date form is left to the retry policy's own backoff."""
    try:
        return float(headers.get("retry-after", ""))
    except ValueError:
        return None
