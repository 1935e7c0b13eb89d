"""`claimbot slack serve --http` as a real process (signed request in, answer out through SLACK_API_URL,
/healthz, SIGTERM), its refusal without the secrets, and `claimbot ask` in the terminal."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from claims.ledger import Ledger, upgrade
from claims.payer_config import load_payers
from tests.assistant.conftest import (
    BOT_TOKEN,
    DENIED_CLAIM,
    FORM,
    PATIENT,
    SIGNING_SECRET,
    SPECIALIST,
    command_body,
    signed_headers,
)
from tests.assistant.fake_slack import FakeSlack, FakeSocketMode
from tests.factories import make_claim

REPO = Path(__file__).resolve().parents[2]
APP_TOKEN = "xapp-test-not-a-real-token"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def install(tmp_path: Path) -> dict[str, str]:
    """A data dir with a migrated ledger holding one claim, and a config dir whose team has a specialist."""
    config = tmp_path / "config"
    shutil.copytree(REPO / "config", config)
    (config / "team.yaml").write_text(
        yaml.safe_dump(
            {"members": [{"name": "Sam", "slack_user": SPECIALIST, "cli_user": "sam", "roles": ["specialist"]}]}
        )
    )
    data = tmp_path / "data"
    data.mkdir()
    url = f"sqlite:///{data / 'ledger.sqlite3'}"
    upgrade(url)
    with Ledger.connect(url) as ledger:
        ledger.sync_payers(load_payers(config / "payers.yaml"))
        with ledger.writer() as writer:
            writer.upsert_claims([make_claim(DENIED_CLAIM, "SUNRISE")])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CLAIMBOT_"))}
    return {**env, "CLAIMBOT_DATA_DIR": str(data), "CLAIMBOT_CONFIG_DIR": str(config), "COLUMNS": "200"}


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def _claimbot(*args: str, env: dict[str, str]) -> Ran:
    """The CLI in this process (CliRunner), with exactly `env`'s CLAIMBOT_* and SLACK_* settings."""
    from claimbot.cli import app

    names = [k for k in os.environ if k.startswith(("SLACK_", "CLAIMBOT_"))]
    with pytest.MonkeyPatch.context() as patch:
        for name in names:
            patch.delenv(name)
        for name, value in env.items():
            if name.startswith(("SLACK_", "CLAIMBOT_")):
                patch.setenv(name, value)
        result = CliRunner().invoke(app, list(args))
    return Ran(result.exit_code, result.stdout, result.stderr)


def test_serve_over_http_answers_a_signed_command_reports_health_and_stops_on_sigterm(install: dict[str, str]) -> None:
    port = _free_port()
    with FakeSlack() as fake:
        env = {
            **install,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fake.api_url,
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "claimbot", "slack", "serve", "--http", "--port", str(port), "--host", "127.0.0.1"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60  # a loaded machine starts Python slowly
            while True:
                try:
                    health = httpx.get(base + "/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    assert server.poll() is None, "the server exited"
                    assert time.monotonic() < deadline, "the server did not come up"
                    time.sleep(0.1)
            assert (health.status_code, health.json()) == (200, {"ok": True})

            body = command_body(f"status {DENIED_CLAIM}", SPECIALIST, fake.hook_url())
            started = time.monotonic()
            response = httpx.post(base + "/slack/events", content=body, headers=signed_headers(body, FORM), timeout=5)
            acked_in = time.monotonic() - started
            assert response.status_code == 200 and acked_in < 3.0
            (answer,) = fake.wait_for("hooks/respond", timeout=20)
            assert answer["text"] == f"Claim {DENIED_CLAIM}: submitted"
            forged = httpx.post(base + "/slack/events", content=body, headers=signed_headers(body, FORM, secret="x"))
            assert forged.status_code == 401

            server.send_signal(signal.SIGTERM)
            assert server.wait(timeout=15) == 0
        finally:
            if server.poll() is None:
                server.kill()
            output, _ = server.communicate(timeout=15)
        assert SIGNING_SECRET not in output and BOT_TOKEN not in output and PATIENT.last_name not in output


def test_serve_refuses_to_start_without_its_secrets_naming_them(install: dict[str, str]) -> None:
    http = _claimbot("slack", "serve", "--http", env={**install, "SLACK_BOT_TOKEN": BOT_TOKEN})
    assert http.returncode == 3
    assert "SLACK_SIGNING_SECRET" in http.stderr and BOT_TOKEN not in http.stderr
    socket_mode = _claimbot("slack", "serve", "--socket", env={**install, "SLACK_BOT_TOKEN": BOT_TOKEN})
    assert socket_mode.returncode == 3 and "SLACK_APP_TOKEN" in socket_mode.stderr


def test_ask_answers_the_same_intents_in_the_terminal(install: dict[str, str]) -> None:
    status = _claimbot("ask", f"what's the status of claim {DENIED_CLAIM}?", env=install)
    assert status.returncode == 0, status.stderr
    assert f"Claim {DENIED_CLAIM} · Sunrise Health Plan (SUNRISE) · patient M.Q." in status.stdout
    assert "Status: submitted" in status.stdout
    missing = _claimbot("ask", "claim C999", env=install)
    assert missing.returncode == 0 and "I have no claim C999 in the ledger." in missing.stdout
    denials = _claimbot("ask", "any new denials from Sunrise?", env=install)
    assert "0 denials from SUNRISE today" in denials.stdout
    as_json = _claimbot("ask", "--json", DENIED_CLAIM, env=install)
    assert '"kind": "status"' in as_json.stdout
    for run in (status, missing, denials, as_json):
        assert PATIENT.last_name not in run.stdout + run.stderr
        assert PATIENT.member_id not in run.stdout + run.stderr


def test_serve_in_socket_mode_answers_over_the_websocket_and_stops_on_sigterm(install: dict[str, str]) -> None:
    """No public endpoint: the app opens Slack's websocket (apps.connections.open with SLACK_APP_TOKEN),
    acks each envelope on it, and answers through the Web API / response_url as over HTTP."""
    with FakeSlack() as fake, FakeSocketMode(fake) as socket_mode:
        env = {**install, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "SLACK_API_URL": fake.api_url}
        server = subprocess.Popen(
            [sys.executable, "-m", "claimbot", "slack", "serve", "--socket"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            socket_mode.wait_connected(timeout=60)
            (opened,) = fake.calls_to("apps.connections.open")
            assert opened == {}  # the app token goes in the Authorization header, never in a body
            payload = dict(parse_qsl(command_body(f"status {DENIED_CLAIM}", SPECIALIST, fake.hook_url())))
            socket_mode.send(
                {"envelope_id": "env-1", "type": "slash_commands", "payload": payload, "accepts_response_payload": True}
            )
            assert socket_mode.wait_ack("env-1")["envelope_id"] == "env-1"
            (answer,) = fake.wait_for("hooks/respond", timeout=20)
            assert answer["text"] == f"Claim {DENIED_CLAIM}: submitted"
            server.send_signal(signal.SIGTERM)
            assert server.wait(timeout=15) == 0
        finally:
            if server.poll() is None:
                server.kill()
            output, _ = server.communicate(timeout=15)
        assert APP_TOKEN not in output and BOT_TOKEN not in output and PATIENT.last_name not in output
