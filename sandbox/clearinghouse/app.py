"""HTTP side of the sandbox clearinghouse: authentication, the envelope, and the batch mailbox."""

from __future__ import annotations

import itertools
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Scope

from sandbox.accounts import CLEARINGHOUSE_API_KEY
from sandbox.clearinghouse.batch import (
    acknowledge_claims,
    claim_acknowledgment,
    implementation_ack,
    remittances,
)
from sandbox.clearinghouse.realtime import claim_status_response, eligibility_response
from sandbox.corrections import CorrectionsBook, corrections_admin_route
from sandbox.faults import ClearinghouseFaults
from sandbox.models import PAYER_IDS, SandboxWorld
from sandbox.payer_book import PayerBook
from sandbox.portals.common import note_account
from sandbox.runtime import FaultMiddleware, RateLimiter, ServerRuntime, admin_routes
from sandbox.x12 import (
    EnvelopeBuilder,
    TransactionSet,
    X12Error,
    read_eligibility_inquiries,
    read_status_inquiries,
    read_submitted_claims,
    tokenize,
)

CLEARINGHOUSE_ID = "SANDBOXCH"
#: Request payload type -> (transaction set read, response payload type, functional group id).
REALTIME_TYPES = {
    "X12_276_Request_005010X212": ("276", "X12_277_Response_005010X212", "HN"),
    "X12_270_Request_005010X279A1": ("270", "X12_271_Response_005010X279A1", "HB"),
}
BATCH_TYPE = "X12_837_Request_005010X222A1"
BATCH_FILE_TYPES = {
    "999": ("X12_999_Response_005010X231A1", "FA"),
    "277CA": ("X12_277CA_Response_005010X214", "HN"),
    "835": ("X12_835_Response_005010X221A1", "HP"),
}
KEPT_SUBMISSIONS = 500


class CoreRequest(BaseModel):
    """The request envelope (CAQH CORE field names, snake_case JSON)."""

    model_config = ConfigDict(extra="ignore")

    payload_type: str
    processing_mode: Literal["RealTime", "Batch"] = "RealTime"
    payload_id: str
    timestamp: str | None = None
    sender_id: str
    receiver_id: str
    core_rule_version: str = "2.2.0"
    payload: str


class CoreResponse(BaseModel):
    """The response envelope; `error_code` is "Success" when the payload holds the answer."""

    payload_type: str
    processing_mode: str
    payload_id: str
    timestamp: str
    sender_id: str
    receiver_id: str
    core_rule_version: str = "2.2.0"
    payload: str | None = None
    error_code: str
    error_message: str | None = None


class BatchFile(BaseModel):
    kind: str
    payload_type: str
    url: str


class BatchStatus(BaseModel):
    """What `GET /core/batch/{id}` shows: the files ready now and those still to come."""

    submission_id: str
    received_at: str
    files: list[BatchFile]
    pending: list[str]
    claims: int
    accepted: int
    rejected: int


@dataclass
class _Submission:
    submission_id: str
    received_at: datetime
    ready_at: float
    files: dict[str, str]
    claims: int
    accepted: int


def _now() -> datetime:
    return datetime.now(UTC)


class Clearinghouse:
    """Routes envelopes to the payers' books and keeps the batch mailbox."""

    def __init__(
        self, world: SandboxWorld, runtime: ServerRuntime[ClearinghouseFaults], corrections: CorrectionsBook
    ) -> None:
        self.world = world
        self.runtime = runtime
        self.corrections = corrections
        self.books: dict[str, PayerBook] = {payer: PayerBook(world, payer, corrections) for payer in PAYER_IDS}
        self.envelopes = EnvelopeBuilder(CLEARINGHOUSE_ID)
        self.rate = RateLimiter(runtime)
        self.submissions: OrderedDict[str, _Submission] = OrderedDict()
        self._batch_numbers = itertools.count(1)
        runtime.on_reset(self._clear)

    def _clear(self) -> None:
        self.rate.clear()
        self.submissions.clear()
        self.corrections.clear()

    @staticmethod
    def fault_page(_: Scope, kind: str, status: int) -> Response:
        code = "ServiceUnavailable" if kind == "maintenance" else "InternalError"
        return JSONResponse({"error_code": code, "error_message": f"clearinghouse {kind}"}, status_code=status)

    def refuse(self, request: Request) -> Response | None:
        """The 401 or 429 a call gets before anything else is read."""
        key = request.headers.get("x-api-key", "")
        if not secrets.compare_digest(key, CLEARINGHOUSE_API_KEY):
            return JSONResponse(
                {"error_code": "Unauthorized", "error_message": "missing or wrong X-API-Key"}, status_code=401
            )
        note_account(request, "api-key")
        if not self.rate.allow(key, time.monotonic()):
            response = JSONResponse(
                {"error_code": "RateLimited", "error_message": "too many requests"}, status_code=429
            )
            response.headers["Retry-After"] = str(int(self.runtime.spec.rate_limit_window_s))
            return response
        return None

    @staticmethod
    def answer(
        envelope: CoreRequest,
        payload_type: str,
        status: int,
        error_code: str = "Success",
        payload: str | None = None,
        message: str | None = None,
    ) -> JSONResponse:
        response = CoreResponse(
            payload_type=payload_type,
            processing_mode=envelope.processing_mode,
            payload_id=envelope.payload_id,
            timestamp=_now().isoformat(timespec="seconds"),
            sender_id=CLEARINGHOUSE_ID,
            receiver_id=envelope.sender_id,
            payload=payload,
            error_code=error_code,
            error_message=message,
        )
        return JSONResponse(response.model_dump(mode="json"), status_code=status)

    @staticmethod
    async def envelope(request: Request) -> CoreRequest | Response:
        try:
            return CoreRequest.model_validate_json(await request.body())
        except ValidationError as err:
            message = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
            return JSONResponse({"error_code": "InvalidEnvelope", "error_message": message}, status_code=400)

    # --- real time ----------------------------------------------------------------------------

    async def realtime(self, request: Request) -> Response:
        if (refusal := self.refuse(request)) is not None:
            return refusal
        envelope = await self.envelope(request)
        if isinstance(envelope, Response):
            return envelope
        if envelope.payload_type not in REALTIME_TYPES or envelope.processing_mode != "RealTime":
            return self.answer(
                envelope,
                envelope.payload_type,
                400,
                "PayloadTypeNotSupported",
                message="real time takes 276 and 270 payloads",
            )
        set_id, response_type, functional_id = REALTIME_TYPES[envelope.payload_type]
        try:
            interchange = tokenize(envelope.payload)
        except X12Error as err:
            return self.answer(envelope, response_type, 400, "InvalidPayload", message=str(err))
        transactions = [t for t in interchange.transactions() if t[0][1] == set_id]
        if not transactions:
            return self.answer(envelope, response_type, 400, "InvalidPayload", message=f"no {set_id} transaction set")
        self.runtime.counters.transactions[set_id] += len(transactions)
        now = _now()
        down = {payer.upper() for payer in self.runtime.spec.payers_down}
        answers: list[TransactionSet] = []
        for transaction in transactions:
            reference = next((s[3] for s in transaction if s[0] == "BHT" and len(s) > 3), envelope.payload_id)
            if set_id == "276":
                inquiries = read_status_inquiries(transaction)
                answers.append(
                    claim_status_response(inquiries, self.books, down, reference, interchange.sender_id, now)
                )
            else:
                eligibility = read_eligibility_inquiries(transaction)
                answers.append(
                    eligibility_response(eligibility, self.books, down, reference, interchange.sender_id, now)
                )
        payload = self.envelopes.interchange(interchange.sender_id, functional_id, answers, now)
        return self.answer(envelope, response_type, 200, payload=payload)

    # --- batch --------------------------------------------------------------------------------

    async def submit_batch(self, request: Request) -> Response:
        if (refusal := self.refuse(request)) is not None:
            return refusal
        envelope = await self.envelope(request)
        if isinstance(envelope, Response):
            return envelope
        if envelope.payload_type != BATCH_TYPE or envelope.processing_mode != "Batch":
            return self.answer(
                envelope,
                envelope.payload_type,
                400,
                "PayloadTypeNotSupported",
                message=f"batch takes {BATCH_TYPE} with processing_mode Batch",
            )
        try:
            interchange = tokenize(envelope.payload)
        except X12Error as err:
            return self.answer(envelope, envelope.payload_type, 400, "InvalidPayload", message=str(err))
        self.runtime.counters.transactions["837"] += 1
        now = _now()
        submission_id = f"B{now:%Y%m%d}{next(self._batch_numbers):05d}"
        claims = [
            c
            for t in interchange.transactions()
            if t[0][1] == "837"
            for c in read_submitted_claims(t, interchange.separators)
        ]
        verdicts = acknowledge_claims(
            claims, self.world, self.books, self.corrections, self.runtime.spec.correction_delay_s
        )
        sender = interchange.sender_id
        files = {"999": self.envelopes.interchange(sender, "FA", [implementation_ack(interchange)], now)}
        files["277CA"] = self.envelopes.interchange(
            sender, "HN", [claim_acknowledgment(verdicts, self.world, submission_id, sender, now.date())], now
        )
        payments = remittances(verdicts, self.world, self.books, now, self.corrections)
        if payments:
            files["835"] = self.envelopes.interchange(sender, "HP", payments, now)
        submission = _Submission(
            submission_id=submission_id,
            received_at=now,
            files=files,
            claims=len(verdicts),
            accepted=sum(v.accepted for v in verdicts),
            ready_at=time.monotonic() + self.runtime.spec.batch_delay_s,
        )
        self.submissions[submission_id] = submission
        while len(self.submissions) > KEPT_SUBMISSIONS:
            self.submissions.popitem(last=False)
        return JSONResponse(self.status(submission).model_dump(mode="json"), status_code=202)

    def status(self, submission: _Submission) -> BatchStatus:
        ready = time.monotonic() >= submission.ready_at
        available = [kind for kind in submission.files if kind == "999" or ready]
        return BatchStatus(
            submission_id=submission.submission_id,
            received_at=submission.received_at.isoformat(timespec="seconds"),
            files=[
                BatchFile(
                    kind=kind,
                    payload_type=BATCH_FILE_TYPES[kind][0],
                    url=f"/core/batch/{submission.submission_id}/{kind}",
                )
                for kind in available
            ],
            pending=[kind for kind in submission.files if kind not in available],
            claims=submission.claims,
            accepted=submission.accepted,
            rejected=submission.claims - submission.accepted,
        )

    async def batch_status(self, request: Request) -> Response:
        if (refusal := self.refuse(request)) is not None:
            return refusal
        submission = self.submissions.get(request.path_params["submission_id"])
        if submission is None:
            return JSONResponse({"error_code": "NotFound", "error_message": "no such submission"}, status_code=404)
        return JSONResponse(self.status(submission).model_dump(mode="json"))

    async def batch_file(self, request: Request) -> Response:
        if (refusal := self.refuse(request)) is not None:
            return refusal
        submission = self.submissions.get(request.path_params["submission_id"])
        kind = request.path_params["kind"]
        if submission is None or kind not in submission.files:
            return JSONResponse({"error_code": "NotFound", "error_message": "no such file"}, status_code=404)
        if kind not in {f.kind for f in self.status(submission).files}:
            return JSONResponse(
                {"error_code": "NotReady", "error_message": f"{kind} is not ready yet"}, status_code=404
            )
        return PlainTextResponse(submission.files[kind], media_type="application/edi-x12")


def create_app(
    world: SandboxWorld, runtime: ServerRuntime[ClearinghouseFaults], corrections: CorrectionsBook | None = None
) -> Starlette:
    """The clearinghouse as an ASGI app, with its admin endpoints and fault injection."""
    house = Clearinghouse(world, runtime, corrections or CorrectionsBook(world))
    routes = [
        *admin_routes(runtime),
        corrections_admin_route(house.corrections),
        Route("/core/realtime", house.realtime, methods=["POST"]),
        Route("/core/batch", house.submit_batch, methods=["POST"]),
        Route("/core/batch/{submission_id}", house.batch_status, methods=["GET"]),
        Route("/core/batch/{submission_id}/{kind}", house.batch_file, methods=["GET"]),
    ]
    app = Starlette(routes=routes)
    app.add_middleware(FaultMiddleware, runtime=runtime, fault_page=house.fault_page)
    return app
