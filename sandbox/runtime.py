"""What every sandbox server shares: its live fault settings, counters, request log and admin API.

`ServerRuntime` is the state; `FaultMiddleware` applies latency, errors and maintenance before a
request reaches the app and records it afterwards; `admin_routes` exposes it all under `/__admin/`.
The middleware is plain ASGI (not Starlette's BaseHTTPMiddleware) because it sits on every request
and the portals must stay far above 300 requests/s.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.faults import ONE_SHOT_FIELDS, FaultSpec

SpecT = TypeVar("SpecT", bound=FaultSpec)

ADMIN_PREFIX = "/__admin"
REQUEST_LOG_SIZE = 2000
#: Where a handler notes the account a request ran as, for the request log.
ACCOUNT_SCOPE_KEY = "sandbox.account"


class RequestLogEntry(BaseModel):
    """One served request, as `/__admin/requests` lists it."""

    at: float
    method: str
    path: str
    query: str
    status: int
    duration_ms: float
    account: str | None
    fault: str | None


class CountersSnapshot(BaseModel):
    """The counters of one server at one moment (`GET /__admin/counters`)."""

    server: str
    requests: int
    responses_by_status: dict[str, int]
    live_sessions: int
    peak_sessions: int
    logins: int
    login_failures: int
    second_factor_failures: int
    lockouts: int
    sessions_refused: int
    sessions_expired: int
    rate_limit_hits: int
    faults_served: dict[str, int]
    transactions: dict[str, int]


class Counters:
    """Plain mutable counters: cheap on the request path, turned into a snapshot on demand."""

    def __init__(self) -> None:
        self.requests = 0
        self.responses_by_status: Counter[int] = Counter()
        self.peak_sessions = 0
        self.logins = 0
        self.login_failures = 0
        self.second_factor_failures = 0
        self.lockouts = 0
        self.sessions_refused = 0
        self.sessions_expired = 0
        self.rate_limit_hits = 0
        self.faults_served: Counter[str] = Counter()
        self.transactions: Counter[str] = Counter()


class ServerRuntime(Generic[SpecT]):
    """Live settings and observations of one server; reset returns it to how it started."""

    def __init__(self, name: str, initial_spec: SpecT) -> None:
        self.name = name
        self.initial_spec = initial_spec
        self.spec = initial_spec.model_copy()
        self.counters = Counters()
        self.request_log: deque[RequestLogEntry] = deque(maxlen=REQUEST_LOG_SIZE)
        self.live_sessions: Callable[[], int] = lambda: 0
        self._reset_hooks: list[Callable[[], None]] = []
        self._one_shot_hooks: dict[str, Callable[[], None]] = {}
        self._reseed()

    def _reseed(self) -> None:
        # Two generators, so the count of injected errors does not depend on whether jitter is on.
        self.error_rng = random.Random(self.spec.seed)  # noqa: S311 - seeded for repeatable tests
        self.jitter_rng = random.Random(self.spec.seed + 1)  # noqa: S311

    def on_reset(self, hook: Callable[[], None]) -> None:
        self._reset_hooks.append(hook)

    def on_one_shot(self, field: str, hook: Callable[[], None]) -> None:
        self._one_shot_hooks[field] = hook

    def apply(self, patch: dict[str, Any]) -> SpecT:
        """Merge a partial spec (validated whole); one-shot fields fire their hook and read false again."""
        merged = type(self.spec).model_validate({**self.spec.model_dump(), **patch})
        for field in ONE_SHOT_FIELDS:
            if getattr(merged, field):
                self.counters.faults_served[field] += 1
                if field in self._one_shot_hooks:
                    self._one_shot_hooks[field]()
                setattr(merged, field, False)
        self.spec = merged
        self._reseed()
        return merged

    def reset(self) -> None:
        """Back to the start-up spec, with empty counters, log, sessions and account state."""
        self.spec = self.initial_spec.model_copy()
        self.counters = Counters()
        self.request_log.clear()
        for hook in self._reset_hooks:
            hook()
        self._reseed()

    def note_sessions(self, live: int) -> None:
        self.counters.peak_sessions = max(self.counters.peak_sessions, live)

    def snapshot(self) -> CountersSnapshot:
        c = self.counters
        return CountersSnapshot(
            server=self.name,
            requests=c.requests,
            responses_by_status={str(status): n for status, n in sorted(c.responses_by_status.items())},
            live_sessions=self.live_sessions(),
            peak_sessions=c.peak_sessions,
            logins=c.logins,
            login_failures=c.login_failures,
            second_factor_failures=c.second_factor_failures,
            lockouts=c.lockouts,
            sessions_refused=c.sessions_refused,
            sessions_expired=c.sessions_expired,
            rate_limit_hits=c.rate_limit_hits,
            faults_served=dict(c.faults_served),
            transactions=dict(c.transactions),
        )


class RateLimiter:
    """Per-key fixed windows: a window opens with the key's first request after the last one closed,
    so "N requests, then a 429" holds whatever the wall clock says."""

    def __init__(self, runtime: ServerRuntime[Any]) -> None:
        self.runtime = runtime
        self._windows: dict[str, list[float]] = {}  # key -> [window start, requests in it]
        self._settings: tuple[int, float] | None = None

    def allow(self, key: str, now: float) -> bool:
        spec = self.runtime.spec
        if not spec.rate_limit_requests:
            return True
        if self._settings != (spec.rate_limit_requests, spec.rate_limit_window_s):
            self._settings = (spec.rate_limit_requests, spec.rate_limit_window_s)
            self._windows.clear()  # new limits start with fresh windows
        window = self._windows.get(key)
        if window is None or now - window[0] >= spec.rate_limit_window_s:
            window = self._windows[key] = [now, 0]
        window[1] += 1
        if window[1] <= spec.rate_limit_requests:
            return True
        self.runtime.counters.rate_limit_hits += 1
        return False

    def clear(self) -> None:
        self._windows.clear()


#: Builds the page a fault is answered with: (scope, "maintenance" or "error", HTTP status).
FaultPage = Callable[[Scope, str, int], Response]


class FaultMiddleware:
    """Injects the configured faults before the app runs and records every non-admin request."""

    def __init__(self, app: ASGIApp, runtime: ServerRuntime[Any], fault_page: FaultPage) -> None:
        self.app = app
        self.runtime = runtime
        self.fault_page = fault_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        runtime = self.runtime
        spec = runtime.spec
        started = time.perf_counter()
        fault: str | None = None
        if spec.latency_ms or spec.jitter_ms:
            delay_ms = spec.latency_ms + runtime.jitter_rng.uniform(0, spec.jitter_ms)
            runtime.counters.faults_served["latency"] += 1
            await asyncio.sleep(delay_ms / 1000)
        status_seen = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status_seen
            if message["type"] == "http.response.start":
                status_seen = message["status"]
            await send(message)

        if spec.maintenance:
            fault = "maintenance"
            await self.fault_page(scope, "maintenance", 503)(scope, receive, send_and_note)
        elif spec.error_rate and runtime.error_rng.random() < spec.error_rate:
            fault = f"error_{spec.error_status}"
            await self.fault_page(scope, "error", spec.error_status)(scope, receive, send_and_note)
        else:
            await self.app(scope, receive, send_and_note)
        if fault is not None:
            runtime.counters.faults_served[fault] += 1
        counters = runtime.counters
        counters.requests += 1
        counters.responses_by_status[status_seen] += 1
        runtime.request_log.append(
            RequestLogEntry(
                at=time.time(),
                method=scope["method"],
                path=scope["path"],
                query=scope["query_string"].decode("latin-1"),
                status=status_seen,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
                account=scope.get(ACCOUNT_SCOPE_KEY),
                fault=fault,
            )
        )


def admin_routes(runtime: ServerRuntime[Any]) -> list[Route]:
    """`/__admin/faults` (GET, POST), `/__admin/counters`, `/__admin/requests`, `/__admin/reset`."""

    async def get_faults(_: Request) -> Response:
        return JSONResponse(runtime.spec.model_dump(mode="json"))

    async def post_faults(request: Request) -> Response:
        try:
            patch = await request.json()
            if not isinstance(patch, dict):
                raise TypeError("expected a JSON object")
            spec = runtime.apply(patch)
        except (ValueError, TypeError) as err:  # ValidationError and JSONDecodeError are ValueErrors
            detail = err.errors(include_url=False) if isinstance(err, ValidationError) else str(err)
            return JSONResponse({"error": "invalid fault spec", "detail": detail}, status_code=422)
        return JSONResponse(spec.model_dump(mode="json"))

    async def get_counters(_: Request) -> Response:
        return JSONResponse(runtime.snapshot().model_dump(mode="json"))

    async def get_requests(request: Request) -> Response:
        limit = int(request.query_params.get("limit", REQUEST_LOG_SIZE))
        entries = list(runtime.request_log)[-limit:] if limit > 0 else []
        return JSONResponse([entry.model_dump(mode="json") for entry in entries])

    async def post_reset(_: Request) -> Response:
        runtime.reset()
        return JSONResponse({"reset": runtime.name})

    return [
        Route(f"{ADMIN_PREFIX}/faults", get_faults, methods=["GET"]),
        Route(f"{ADMIN_PREFIX}/faults", post_faults, methods=["POST"]),
        Route(f"{ADMIN_PREFIX}/counters", get_counters, methods=["GET"]),
        Route(f"{ADMIN_PREFIX}/requests", get_requests, methods=["GET"]),
        Route(f"{ADMIN_PREFIX}/reset", post_reset, methods=["POST"]),
    ]
