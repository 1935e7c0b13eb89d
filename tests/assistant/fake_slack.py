"""A fake Slack Web API on a free loopback port that records every call (the app reaches it through
SLACK_API_URL; `respond()` reaches it through the response_url the test puts in the payload).

It answers what the assistant calls: auth.test, chat.postMessage/update/postEphemeral, views.open/
update/publish, usergroups.users.list (members set per test in `usergroups`), conversations.open/
replies/history, assistant.threads.*, and the external file upload (files.getUploadURLExternal, the
upload URL itself, files.completeUploadExternal). Anything else gets `{"ok": true}`; `overrides`
makes a method answer something else (an error, say); `fail_next(method, status, times)` makes its next
calls answer an HTTP error (Slack down: a 500 with an HTML body), after which it answers as before.

`all_text()` is every body received, decoded, for the PHI scan: tests assert on what Slack *would*
have received, not on what the code meant to send.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlparse

TEAM_ID = "T0TEST"
BOT_USER_ID = "UBOTFAKE"
AUTH_TEST = {
    "ok": True,
    "url": "https://claimbot-test.slack.com/",
    "team": "Claimbot Test",
    "user": "claimbot",
    "team_id": TEAM_ID,
    "user_id": BOT_USER_ID,
    "bot_id": "BBOTFAKE",
}


@dataclass(frozen=True)
class Call:
    """One request the fake received: the Web API method (or `hooks/<name>`, `upload/<file>`) and its body."""

    method: str
    body: dict[str, Any]
    raw: str
    headers: dict[str, str] = field(repr=False)


def _parse(raw: str, content_type: str) -> dict[str, Any]:
    if "json" in content_type or raw.startswith("{"):
        try:
            parsed = json.loads(raw)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {"_": parsed}
    if "form" in content_type:
        body: dict[str, Any] = {k: v[0] for k, v in parse_qs(raw).items()}
        for key in ("blocks", "view", "attachments", "metadata", "prompts"):
            if isinstance(body.get(key), str) and body[key][:1] in "[{":
                body[key] = json.loads(body[key])
        return body
    return {}


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.overrides: dict[str, dict[str, Any]] = {}
        self.usergroups: dict[str, list[str]] = {}
        self._failures: dict[str, list[int]] = {}
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._counts: Counter[str] = Counter()
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length) if length else b""
                url = urlparse(self.path)
                raw = data.decode("utf-8", errors="replace")
                body = _parse(raw, self.headers.get("Content-Type", ""))
                if url.query:
                    body.update({k: v[0] for k, v in parse_qs(url.query).items()})
                method = url.path.strip("/")
                fake._record(Call(method, body, raw + ("?" + url.query if url.query else ""), dict(self.headers)))
                status, payload, content_type = fake._answer(method, body)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self.api_url = self.url + "/"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> FakeSlack:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()

    def hook_url(self, name: str = "respond") -> str:
        """A response_url for a payload: what `respond()` posts is recorded as method `hooks/<name>`."""
        return f"{self.url}/hooks/{name}"

    # --- reading what was received ---------------------------------------------------------------

    def _record(self, call: Call) -> None:
        with self._arrived:
            self.calls.append(call)
            self._counts[call.method] += 1
            self._arrived.notify_all()

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [c.body for c in self.calls if c.method == method]

    def methods(self) -> list[str]:
        with self._lock:
            return [c.method for c in self.calls]

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The bodies sent to `method` once there are at least `count` (listeners run after the ack)."""
        end = time.monotonic() + timeout
        with self._arrived:
            while self._counts[method] < count:
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{method}: {self._counts[method]} calls after {timeout}s, wanted {count}")
                self._arrived.wait(left)
            return [c.body for c in self.calls if c.method == method]

    def wait_count(self, method: str, count: int, timeout: float = 10.0) -> None:
        """Like wait_for, without collecting the bodies (the bench waits on every answer)."""
        end = time.monotonic() + timeout
        with self._arrived:
            while self._counts[method] < count:
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{method}: {self._counts[method]} calls after {timeout}s, wanted {count}")
                self._arrived.wait(left)

    def wait_quiet(self, quiet_s: float = 0.3, timeout: float = 10.0) -> None:
        """Wait until nothing has arrived for `quiet_s`: for asserting that something did NOT happen."""
        end = time.monotonic() + timeout
        seen, since = -1, time.monotonic()
        while time.monotonic() < end:
            with self._lock:
                now_seen = len(self.calls)
            if now_seen != seen:
                seen, since = now_seen, time.monotonic()
            elif time.monotonic() - since >= quiet_s:
                return
            time.sleep(0.02)

    def all_text(self) -> str:
        """Every body received, raw and decoded (URL-unquoted, JSON parsed back), one per line."""
        with self._lock:
            calls = list(self.calls)
        lines = []
        for call in calls:
            lines.append(f"{call.method}: {unquote_plus(call.raw)}")
            lines.append(f"{call.method}: {json.dumps(call.body, ensure_ascii=False)}")
        return "\n".join(lines)

    # --- answering -------------------------------------------------------------------------------

    def fail_next(self, method: str, status: int = 500, times: int = 1) -> None:
        """The next `times` calls of `method` (a Web API method, `hooks/<name>` or `upload/<file>`) answer
        HTTP `status` with an HTML error page, as a load balancer in front of a failing Slack does."""
        if not 400 <= status <= 599 or times < 1:
            raise ValueError("fail_next: an HTTP error status (400-599), at least once")
        with self._lock:
            self._failures.setdefault(method, []).extend([status] * times)

    def _failure(self, method: str) -> int | None:
        with self._lock:
            waiting = self._failures.get(method)
            return waiting.pop(0) if waiting else None

    def _answer(self, method: str, body: dict[str, Any]) -> tuple[int, bytes, str]:
        failing = self._failure(method)
        if failing is not None:
            return failing, f"<html>HTTP {failing}: Slack is unavailable</html>".encode(), "text/html"
        if method.startswith("hooks/"):
            return 200, b"ok", "text/plain"
        if method.startswith("upload/"):
            return 200, b"OK", "text/plain"
        data = self.overrides.get(method) or self._default(method, body)
        return 200, json.dumps(data).encode(), "application/json; charset=utf-8"

    def _next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    def _default(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return AUTH_TEST
        if method == "chat.postMessage":
            return {"ok": True, "channel": body.get("channel"), "ts": self._next_ts(), "message": {"text": ""}}
        if method == "chat.update":
            return {"ok": True, "channel": body.get("channel"), "ts": body.get("ts")}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if method in ("views.open", "views.update", "views.publish", "views.push"):
            view = body.get("view")
            view = json.loads(view) if isinstance(view, str) else (view or {})
            return {"ok": True, "view": {"id": f"V{next(self._ids):08d}", **view}}
        if method == "usergroups.users.list":
            group = str(body.get("usergroup", ""))
            if group not in self.usergroups:
                return {"ok": False, "error": "no_such_subteam"}
            return {"ok": True, "users": self.usergroups[group]}
        if method == "conversations.open":
            users = str(body.get("users", "UNKNOWN")).split(",")
            return {"ok": True, "channel": {"id": "D" + users[0].lstrip("UW")}}
        if method in ("conversations.replies", "conversations.history"):
            return {"ok": True, "messages": [], "has_more": False}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ids):08d}"
            return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = body.get("files")
            files = json.loads(files) if isinstance(files, str) else (files or [])
            return {"ok": True, "files": [{"id": f.get("id"), "title": f.get("title")} for f in files]}
        return {"ok": True}


class FakeSocketMode:
    """Slack's Socket Mode side: `apps.connections.open` on `fake` hands out this websocket's URL; the test
    sends envelopes (`send`) and reads the app's acks (`wait_ack`). aiohttp on its own loop and thread."""

    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake
        self.acks: dict[str, dict[str, Any]] = {}
        self.connections = 0
        self._cond = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._sockets: list[Any] = []
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: Any = None
        self.url = ""

    async def _start(self) -> str:
        from aiohttp import WSMsgType, web

        async def socket(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse(autoping=True)
            await ws.prepare(request)
            self._sockets.append(ws)
            with self._cond:
                self.connections += 1
                self._cond.notify_all()
            await ws.send_json({"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"}})
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    data = json.loads(message.data)
                    with self._cond:
                        self.acks[str(data.get("envelope_id"))] = data
                        self._cond.notify_all()
            return ws

        application = web.Application()
        application.router.add_get("/socket", socket)
        self._runner = web.AppRunner(application)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"ws://127.0.0.1:{port}/socket"

    def __enter__(self) -> FakeSocketMode:
        self._thread.start()
        self.url = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        self.fake.overrides["apps.connections.open"] = {"ok": True, "url": self.url}
        return self

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def wait_connected(self, timeout: float = 30.0) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self.connections > 0, timeout):
                raise AssertionError("the app never opened the socket")

    def send(self, envelope: dict[str, Any]) -> None:
        async def push() -> None:
            await self._sockets[-1].send_json(envelope)

        asyncio.run_coroutine_threadsafe(push(), self._loop).result(10)

    def wait_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        with self._cond:
            if not self._cond.wait_for(lambda: envelope_id in self.acks, timeout):
                raise AssertionError(f"no ack for envelope {envelope_id}")
            return self.acks[envelope_id]
