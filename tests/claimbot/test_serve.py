"""`claimbot serve` as a real process on the embedded SQLite ledger, sweeping over the sandbox
clearinghouse (no browser): /healthz, /readyz and /metrics scraped during the sweep, then SIGTERM in
its middle: exit 0, every item done (with exactly one answer) or still planned (with none), nothing
half-written, and the counts add up. Plus the roles this ledger cannot serve, refused in plain words."""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from claimbot.cli import app
from claimbot.demo import sample_claims_csv
from claims.ledger import Ledger, sweep_dedupe_key
from claims.models import SweepItemState, SweepState
from sandbox.accounts import CLEARINGHOUSE_API_KEY, ServerName
from sandbox.servers import SandboxEndpoints
from sandbox.testing import SandboxAdmin, reset_all
from tests.claimbot.test_scheduler_cli import _sweep_keys as sweep_keys

PAYERS = """
sweep_defaults: {requests_per_minute: 6000, canary: false, max_sessions: 1}
payers:
  - {id: SUNRISE, name: Sunrise, kind: commercial, timely_filing_days: 180, route: api}
  - {id: MERIDIAN, name: Meridian, kind: commercial, timely_filing_days: 90, route: api}
  - {id: KEYSTONE, name: Keystone, kind: medicare, timely_filing_days: 365, route: api}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def few_claims_csv(path: Path, per_payer: int) -> Path:
    """The sample practice's first `per_payer` claims of each payer (every line of each)."""
    with sample_claims_csv().open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        header = reader.fieldnames or []
    chosen: dict[str, list[str]] = {}
    for row in rows:
        ids = chosen.setdefault(row["payer_id"], [])
        if row["claim_id"] not in ids and len(ids) < per_payer:
            ids.append(row["claim_id"])
    keep = {claim_id for ids in chosen.values() for claim_id in ids}
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(r for r in rows if r["claim_id"] in keep)
    return path


def wait_for(what: str, condition: Callable[[], bool], timeout_s: float, process: subprocess.Popen[Any]) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert process.poll() is None, f"claimbot serve exited ({process.returncode}) while waiting for {what}"
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


def get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=5)
    except httpx.TransportError:
        return None


def samples(text: str, name: str, **labels: str) -> float:
    """The sum of the exposition's samples of `name` whose labels include `labels`."""
    from prometheus_client.parser import text_string_to_metric_families

    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


def _families(text: str) -> list[Any]:
    from prometheus_client.parser import text_string_to_metric_families

    return list(text_string_to_metric_families(text))


def json_events(log: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]


class Served:
    """One `python -m claimbot serve ...` process, its JSON logs in a file."""

    def __init__(self, env: dict[str, str], log: Path, *args: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.handle = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "claimbot", "serve", "--port", str(self.port), *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.handle,
            start_new_session=True,
        )

    def ready(self) -> bool:
        answer = get(f"{self.base}/readyz")
        return answer is not None and answer.status_code == 200

    def metrics(self) -> str:
        answer = httpx.get(f"{self.base}/metrics", timeout=5)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
        return answer.text

    def stop(self, timeout_s: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout_s)
        finally:
            self.handle.close()

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.handle.close()

    def events(self) -> list[dict[str, Any]]:
        return json_events(self.log.read_text(errors="replace"))


def assert_nothing_half_written(ledger: Ledger, url: str, sweep_id: int) -> tuple[int, int]:
    """Every item done with exactly one answer, or planned with none; returns (done, planned)."""
    keys = sweep_keys(url)
    assert len(keys) == len(set(keys))
    items = ledger.sweep_items(sweep_id)
    states = {item.state for item in items}
    assert states <= {SweepItemState.DONE, SweepItemState.PLANNED}, states
    for item in items:
        key = sweep_dedupe_key(sweep_id, item.claim_id)
        if item.state is SweepItemState.DONE:
            assert keys.count(key) == 1 and item.status_check_id is not None
        else:
            assert keys.count(key) == 0 and item.status_check_id is None
    done = sum(item.state is SweepItemState.DONE for item in items)
    assert done == len(keys)
    return done, len(items) - done


@pytest.fixture
def practice(
    sandbox: SandboxEndpoints, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runner: CliRunner
) -> Iterator[dict[str, str]]:
    """12 claims of each payer on the embedded ledger, every payer over the sandbox clearinghouse, which
    answers each claim in 250 ms: a sweep of a few seconds, to scrape and stop in the middle."""
    reset_all(sandbox)
    config = tmp_path / "config"
    config.mkdir()
    (config / "payers.yaml").write_text(PAYERS)
    monkeypatch.setenv("CLAIMBOT_CONFIG_DIR", str(config))
    monkeypatch.setenv("CLAIMBOT_CLEARINGHOUSE_URL", sandbox[ServerName.CLEARINGHOUSE].base_url)
    monkeypatch.setenv("CLAIMBOT_CLEARINGHOUSE_API_KEY", CLEARINGHOUSE_API_KEY)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    imported = runner.invoke(app, ["claims", "import", str(few_claims_csv(tmp_path / "claims.csv", 12))])
    assert imported.exit_code == 0, imported.stderr
    with SandboxAdmin(sandbox[ServerName.CLEARINGHOUSE]) as admin:
        admin.set_faults(latency_ms=250)
    try:
        yield {**os.environ, "CLAIMBOT_LOG_FORMAT": "json", "PYTHONUNBUFFERED": "1"}
    finally:
        reset_all(sandbox)


def test_serve_scraped_mid_sweep_then_sigterm_leaves_nothing_half_written(
    practice: dict[str, str], data_dir: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{data_dir / 'ledger.sqlite3'}"
    served = Served(practice, tmp_path / "serve.log", "--role", "all", "--run-now", "status_sweep")
    try:
        wait_for(
            "/healthz",
            lambda: (a := get(f"{served.base}/healthz")) is not None and a.status_code == 200,
            30,
            served.process,
        )
        assert httpx.get(f"{served.base}/healthz").json() == {"ok": True, "roles": ["scheduler"]}
        wait_for("/readyz", served.ready, 30, served.process)
        ready = httpx.get(f"{served.base}/readyz").json()
        assert ready == {"ready": True, "checks": {"ledger": "ok", "scheduler": "started"}}
        wait_for("a few answers", lambda: len(sweep_keys(url)) >= 4, 30, served.process)
        scraped = served.metrics()
        stopped_at = len(sweep_keys(url))
        served.process.send_signal(signal.SIGTERM)
        code = served.stop()
    finally:
        served.kill()
    logs = served.log.read_text(errors="replace")
    assert code == 0, logs[-3000:]

    # the scrape, mid-sweep: this process's checks and their times, the ledger's queue and breakers
    checked = samples(scraped, "claimbot_checks_total")
    assert 4 <= checked <= stopped_at
    assert samples(scraped, "claimbot_check_duration_seconds_count") == checked  # every answer timed
    assert samples(scraped, "claimbot_check_duration_seconds_bucket", le="0.25") == 0  # 250 ms latency
    assert samples(scraped, "claimbot_check_duration_seconds_bucket", le="20.0") == checked  # within CAQH's 20 s
    assert samples(scraped, "claimbot_sweeps_running", kind="status") == 1
    assert 0 < samples(scraped, "claimbot_sweep_items_planned") <= 36 - 4
    breakers = [s for f in _families(scraped) if f.name == "claimbot_circuit_breaker_open" for s in f.samples]
    assert {s.labels["payer"] for s in breakers} >= {"SUNRISE", "MERIDIAN", "KEYSTONE"}
    assert all(s.value == 0 for s in breakers)
    assert "# TYPE claimbot_alerts_sent_total counter" in scraped and "# TYPE claimbot_events_pending gauge" in scraped
    assert samples(scraped, "claimbot_serve_role", role="scheduler") == 1

    # SIGTERM: the sweep stopped cleanly in its middle
    said = [e["event"] for e in json_events(logs)]
    assert "stopping: no new work; the work in flight ends cleanly" in said and said[-1] == "stopped"
    # the sweep finished the claims it had asked (they are answered after the stop), then stopped itself
    after_stop = said[said.index("scheduler stopping: no new jobs; the jobs in flight end cleanly") :]
    assert "sweep claim" in after_stop and "job stopped by shutdown" not in said
    assert "status sweep stopped cleanly: the claims asked are recorded, the rest stay planned" in after_stop
    with Ledger.connect(url) as ledger:
        [sweep] = ledger.sweeps()
        assert sweep.id is not None and sweep.trigger == "schedule"
        assert sweep.state is SweepState.INTERRUPTED, "the sweep was not stopped in the middle"
        done, left = assert_nothing_half_written(ledger, url, sweep.id)
        assert done + left == 36 and done >= stopped_at and left > 0
        assert ledger.resumable_sweep() == sweep


def test_roles_this_ledger_cannot_serve_are_refused_in_plain_words(
    runner: CliRunner, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [k for k in os.environ if k.startswith("SLACK_")]:
        monkeypatch.delenv(name)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    worker = runner.invoke(app, ["serve", "--role", "worker"])
    assert worker.exit_code == 5 and "team mode (claimbot worker) needs the ledger on PostgreSQL" in worker.stderr
    slack = runner.invoke(app, ["serve", "--role", "slack"])
    assert slack.exit_code == 3 and "set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET" in slack.stderr
    socket_mode = runner.invoke(app, ["serve", "--role", "slack", "--slack-socket"])
    assert socket_mode.exit_code == 3 and "SLACK_APP_TOKEN" in socket_mode.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = runner.invoke(app, ["serve", "--port", str(taken.getsockname()[1])])
    assert busy.exit_code == 2 and "Address already in use): choose another --port" in busy.stderr
    unknown = runner.invoke(app, ["serve", "--run-now", "nightly"])
    assert unknown.exit_code == 2 and "--run-now takes one of" in unknown.stderr
