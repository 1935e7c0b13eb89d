"""Start and stop the four sandbox servers (three portals + the clearinghouse) on loopback.

`run_sandbox()` runs them in this process: one background thread, one event loop, four uvicorn
servers on sockets bound before start, so the ports are known and free. `run_sandbox_in_subprocess()`
runs the same thing in a spawned child, for load tests where the servers must not share a GIL with
the client. Both hand back `SandboxEndpoints`; everything else goes through the admin endpoints.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from importlib.util import find_spec
from multiprocessing.connection import Connection
from typing import Any

import uvicorn
from pydantic import BaseModel, ConfigDict, Field
from starlette.applications import Starlette

from sandbox.accounts import SERVER_ORDER, ServerName
from sandbox.clearinghouse import create_app as create_clearinghouse
from sandbox.corrections import CorrectionsBook
from sandbox.dataset import load_world
from sandbox.faults import ClearinghouseFaults, FaultSpec
from sandbox.portals import keystone, meridian, sunrise
from sandbox.runtime import ADMIN_PREFIX, ServerRuntime

START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0
#: httptools parses HTTP several times faster than h11 when it is installed; both work.
HTTP_PROTOCOL = "httptools" if find_spec("httptools") else "h11"


class SandboxConfig(BaseModel):
    """How to start the sandbox: where to listen and the start-up faults of each server."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port_base: int | None = Field(None, description="sunrise, meridian, keystone, clearinghouse = base + 0..3")
    faults: dict[ServerName, dict[str, Any]] = Field(default_factory=dict, description="partial fault specs")
    claims_per_payer: int | None = Field(
        None, ge=1, description="a bigger or smaller world for benchmarks (None: the standard world)"
    )


class ServerEndpoint(BaseModel):
    name: ServerName
    base_url: str
    admin_url: str


class SandboxEndpoints(BaseModel):
    """Where each running server listens."""

    servers: dict[ServerName, ServerEndpoint]

    def __getitem__(self, name: ServerName) -> ServerEndpoint:
        return self.servers[name]

    def url(self, name: ServerName, path: str = "") -> str:
        return self.servers[name].base_url + path


def build_apps(config: SandboxConfig) -> dict[ServerName, Starlette]:
    """The four ASGI apps over the shared world, each with its own runtime and start-up faults."""
    world = load_world() if config.claims_per_payer is None else load_world(config.claims_per_payer)
    corrections = CorrectionsBook(world)  # one payer memory: a correction sent on one route is seen on all
    apps: dict[ServerName, Starlette] = {}
    for name in SERVER_ORDER:
        patch = config.faults.get(name, {})
        if name == ServerName.CLEARINGHOUSE:
            house_runtime = ServerRuntime(name, ClearinghouseFaults.model_validate(patch))
            apps[name] = create_clearinghouse(world, house_runtime, corrections)
            continue
        runtime = ServerRuntime(name, FaultSpec.model_validate(patch))
        module = {ServerName.SUNRISE: sunrise, ServerName.MERIDIAN: meridian, ServerName.KEYSTONE: keystone}[name]
        apps[name] = module.create_app(world, runtime, corrections)
    return apps


def _bind(host: str, port: int) -> socket.socket:
    # proto must be IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted sockets only then, and without
    # it every response (headers and body written apart) waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(512)
    sock.setblocking(False)
    return sock


@contextmanager
def run_sandbox(config: SandboxConfig | None = None) -> Iterator[SandboxEndpoints]:
    """Serve the sandbox from a background thread until the block ends."""
    config = config or SandboxConfig()
    apps = build_apps(config)
    sockets = {
        name: _bind(config.host, config.port_base + offset if config.port_base is not None else 0)
        for offset, name in enumerate(SERVER_ORDER)
    }
    servers = {
        name: uvicorn.Server(
            uvicorn.Config(
                apps[name],
                log_level="warning",
                log_config=None,  # leave logging to the process: its redactor sees uvicorn's lines too
                access_log=False,
                lifespan="off",
                http=HTTP_PROTOCOL,
                loop="asyncio",
                timeout_keep_alive=30,
            )
        )
        for name in SERVER_ORDER
    }
    failure: list[BaseException] = []

    def serve() -> None:
        async def serve_all() -> None:
            await asyncio.gather(*(servers[name].serve(sockets=[sockets[name]]) for name in SERVER_ORDER))

        try:
            asyncio.run(serve_all())
        except BaseException as err:  # reported to the starting thread below
            failure.append(err)

    thread = threading.Thread(target=serve, name="claimbot-sandbox", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not all(server.started for server in servers.values()):
        if failure or not thread.is_alive() or time.monotonic() > deadline:
            for server in servers.values():
                server.should_exit = True
            raise RuntimeError(f"the sandbox servers did not start: {failure or 'timed out'}")
        time.sleep(0.01)
    endpoints = SandboxEndpoints(
        servers={
            name: ServerEndpoint(
                name=name,
                base_url=f"http://{config.host}:{sockets[name].getsockname()[1]}",
                admin_url=f"http://{config.host}:{sockets[name].getsockname()[1]}{ADMIN_PREFIX}",
            )
            for name in SERVER_ORDER
        }
    )
    try:
        yield endpoints
    finally:
        for server in servers.values():
            server.should_exit = True
        thread.join(STOP_TIMEOUT_S)
        if thread.is_alive():
            for server in servers.values():
                server.force_exit = True
            thread.join(STOP_TIMEOUT_S)
        for sock in sockets.values():
            sock.close()


def _serve_in_child(config_json: str, connection: Connection) -> None:
    """Child process body: start, report the endpoints, serve until the parent says stop (or dies)."""
    with run_sandbox(SandboxConfig.model_validate_json(config_json)) as endpoints:
        connection.send(endpoints.model_dump_json())
        with suppress(EOFError):  # the parent died: stop all the same
            connection.recv()


@contextmanager
def run_sandbox_in_subprocess(config: SandboxConfig | None = None) -> Iterator[SandboxEndpoints]:
    """Serve the sandbox from a spawned child process until the block ends."""
    config = config or SandboxConfig()
    context = multiprocessing.get_context("spawn")
    parent_end, child_end = context.Pipe()
    child = context.Process(
        target=_serve_in_child,
        args=(config.model_dump_json(), child_end),
        name="claimbot-sandbox",
        daemon=True,
    )
    child.start()
    try:
        if not parent_end.poll(START_TIMEOUT_S + 30):
            raise RuntimeError("the sandbox child process did not report its endpoints")
        yield SandboxEndpoints.model_validate_json(parent_end.recv())
    finally:
        if child.is_alive():
            parent_end.send("stop")
        child.join(STOP_TIMEOUT_S)
        if child.is_alive():
            child.terminate()
            child.join(STOP_TIMEOUT_S)
        parent_end.close()
