"""Helpers for tests that run against the sandbox (this folder's tests and, e.g., the portal adapters').

    @pytest.fixture(scope="session")
    def sandbox() -> Iterator[SandboxEndpoints]:
        with run_sandbox() as endpoints:
            yield endpoints

    @pytest.fixture(autouse=True)
    def clean_sandbox(sandbox):
        reset_all(sandbox)

    SandboxAdmin(sandbox[ServerName.SUNRISE]).set_faults(latency_ms=200)

The admin client is synchronous; from async tests call it with `asyncio.to_thread`. Browser tests
launch Debian's Chromium with `CHROMIUM_PATH` and `CHROMIUM_ARGS` (Playwright cannot download its own).
"""

from __future__ import annotations

import html
import os
import random
import re
from typing import Any

import httpx
import pyotp

from sandbox.accounts import ACCOUNTS, SERVER_ORDER, ServerName
from sandbox.faults import ClearinghouseFaults, FaultSpec
from sandbox.runtime import CountersSnapshot, RequestLogEntry
from sandbox.servers import SandboxEndpoints, ServerEndpoint

CHROMIUM_PATH = os.environ.get("CLAIMBOT_CHROMIUM", "/usr/lib/chromium/chromium-headless-shell")
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    # everything is on loopback: refuse every other name, so the browser never waits on DNS
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1, EXCLUDE localhost",
]


class SandboxAdmin:
    """The `/__admin` API of one server."""

    def __init__(self, endpoint: ServerEndpoint, timeout_s: float = 10.0) -> None:
        self.endpoint = endpoint
        self._client = httpx.Client(base_url=endpoint.admin_url, timeout=timeout_s)

    def __enter__(self) -> SandboxAdmin:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def faults(self) -> FaultSpec:
        data = self._client.get("/faults").raise_for_status().json()
        if self.endpoint.name == ServerName.CLEARINGHOUSE:
            return ClearinghouseFaults.model_validate(data)
        return FaultSpec.model_validate(data)

    def set_faults(self, **fields: Any) -> dict[str, Any]:
        """Change some fault fields; the server validates the whole spec and answers it."""
        response = self._client.post("/faults", json=fields)
        if response.status_code == 422:
            raise ValueError(f"{self.endpoint.name}: invalid faults {fields}: {response.json()['detail']}")
        result: dict[str, Any] = response.raise_for_status().json()
        return result

    def counters(self) -> CountersSnapshot:
        return CountersSnapshot.model_validate(self._client.get("/counters").raise_for_status().json())

    def requests(self, limit: int | None = None) -> list[RequestLogEntry]:
        params = {"limit": limit} if limit is not None else {}
        entries = self._client.get("/requests", params=params).raise_for_status().json()
        return [RequestLogEntry.model_validate(entry) for entry in entries]

    def reset(self) -> None:
        self._client.post("/reset").raise_for_status()


def reset_all(endpoints: SandboxEndpoints) -> None:
    """Start-up faults, empty counters and logs, no sessions, no lockouts: on every server."""
    for name in SERVER_ORDER:
        with SandboxAdmin(endpoints[name]) as admin:
            admin.reset()


def totp_now(portal: ServerName, account_index: int = 0) -> str:
    """The current TOTP code of a portal account (0 = the demo account)."""
    secret = ACCOUNTS[portal][account_index].totp_secret
    if secret is None:
        raise ValueError(f"{portal} accounts answer a security question, not a TOTP code")
    return pyotp.TOTP(secret).now()


def expected_error_count(seed: int, error_rate: float, requests: int) -> int:
    """How many of the next `requests` requests a server fails after `error_rate` is set with `seed`."""
    rng = random.Random(seed)  # noqa: S311 - mirrors the server's seeded draw
    return sum(rng.random() < error_rate for _ in range(requests))


# --- signing in over plain HTTP (fast; for fault tests and load, not for testing bots) -------------


def submit_password(
    client: httpx.Client, portal: ServerName, account_index: int = 0, password: str | None = None
) -> httpx.Response:
    """The password step only: what a portal answers to its sign-in form (or API call)."""
    account = ACCOUNTS[portal][account_index]
    secret = account.password if password is None else password
    if portal == ServerName.SUNRISE:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        if csrf is None:
            raise RuntimeError("SUNRISE served no sign-in form")
        form = {"username": account.username, "password": secret, "csrf_token": csrf.group(1)}
        return client.post("/login", data=form)
    if portal == ServerName.MERIDIAN:
        response = client.post("/api/session", json={"username": account.username, "password": secret})
        if response.status_code == 201:
            client.headers["Authorization"] = "Bearer " + response.json()["token"]
        return response
    return client.post("/signon", data={"USERID": account.username, "PASSWD": secret})


def pass_second_factor(client: httpx.Client, portal: ServerName, account_index: int = 0) -> httpx.Response:
    """Answer the TOTP step (SUNRISE, MERIDIAN) or the security question (KEYSTONE)."""
    account = ACCOUNTS[portal][account_index]
    if portal == ServerName.SUNRISE:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/mfa").text)
        if csrf is None:
            raise RuntimeError("SUNRISE served no verification form")
        return client.post("/mfa", data={"code": totp_now(portal, account_index), "csrf_token": csrf.group(1)})
    if portal == ServerName.MERIDIAN:
        return client.post("/api/session/verify", json={"code": totp_now(portal, account_index)})
    question = re.search(r'ID="question">([^<]+)<', client.get("/challenge").text)
    if question is None:
        raise RuntimeError("KEYSTONE asked no security question")
    return client.post("/challenge", data={"ANSWER": account.answer_to(html.unescape(question.group(1)))})


def sign_in_over_http(client: httpx.Client, portal: ServerName, account_index: int = 0) -> None:
    """Sign `client` (based at the portal, redirects not followed) all the way in."""
    password = submit_password(client, portal, account_index)
    if password.status_code not in (201, 302, 303):
        raise RuntimeError(f"{portal}: the password step failed with {password.status_code}")
    second = pass_second_factor(client, portal, account_index)
    if second.status_code not in (200, 302, 303):
        raise RuntimeError(f"{portal}: the second factor failed with {second.status_code}")
