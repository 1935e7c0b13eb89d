"""How the app meets Slack: HTTP (a Starlette app, uvicorn) or Socket Mode.

HTTP mode serves events, slash commands and interactivity on one `POST /slack/events` (Bolt's
Starlette adapter hands it the raw body, so the signature is checked over the bytes Slack signed),
and `GET /healthz` for a load balancer: 200 while the ledger answers, 503 otherwise. Socket Mode
opens a websocket with SLACK_APP_TOKEN and needs no public endpoint (Slack does not sign those
requests; the app token is the credential).
"""

from __future__ import annotations

import asyncio
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import uvicorn
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.app.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

START_TIMEOUT_S = 10.0

Health = Callable[[], bool]


def asgi_app(app: AsyncApp, healthy: Health = lambda: True) -> Starlette:
    handler = AsyncSlackRequestHandler(app)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    async def healthz(_: Request) -> Response:
        ok = await asyncio.to_thread(healthy)
        return JSONResponse({"ok": ok}, status_code=200 if ok else 503)

    return Starlette(
        routes=[Route("/slack/events", events, methods=["POST"]), Route("/healthz", healthz, methods=["GET"])]
    )


class _Server(uvicorn.Server):
    """uvicorn without its own signal capture: it re-raises SIGTERM after shutting down (the process
    then dies of the signal); serve_http handles the signals itself and exits 0."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _server(app: AsyncApp, healthy: Health) -> uvicorn.Server:
    return _Server(
        uvicorn.Config(
            asgi_app(app, healthy),
            log_level="warning",
            log_config=None,  # the process's logging (and its redactor) sees uvicorn's lines
            access_log=False,
            lifespan="off",
            loop="asyncio",
        )
    )


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP_NODELAY on accept
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def serve_http(app: AsyncApp, host: str, port: int, healthy: Health = lambda: True) -> None:
    """Serve until SIGTERM/SIGINT: requests in flight finish, then the process exits 0."""
    sock = _bind(host, port)
    server = _server(app, healthy)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for stop in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(stop, server.handle_exit, stop, None)
        await server.serve(sockets=[sock])

    try:
        asyncio.run(run())
    finally:
        sock.close()


@contextmanager
def serve_in_thread(app: AsyncApp, healthy: Health = lambda: True, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve from a background thread on a free port until the block ends; yields the base URL."""
    sock = _bind(host, 0)
    server = _server(app, healthy)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as err:  # reported to the starting thread below
            failure.append(err)

    thread = threading.Thread(target=run, name="claimbot-slack", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if failure or not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the Slack app server did not start: {failure or 'timed out'}")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(5.0)
        sock.close()


async def socket_mode_until(
    app: AsyncApp, app_token: str, stopped: asyncio.Event, on_connected: Callable[[], None] = lambda: None
) -> None:
    """Socket Mode on the running loop until `stopped` is set, then the websocket is closed."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    handler = AsyncSocketModeHandler(app, app_token)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    on_connected()
    try:
        await stopped.wait()
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]


def serve_socket_mode(app: AsyncApp, app_token: str) -> None:
    """Socket Mode until SIGTERM/SIGINT, then the websocket is closed and the process exits 0."""

    async def run() -> None:
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        for stop in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(stop, stopped.set)
        await socket_mode_until(app, app_token, stopped)

    asyncio.run(run())
