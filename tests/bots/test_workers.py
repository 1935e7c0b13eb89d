"""Team mode: `claimbot worker` processes over one real PostgreSQL ledger (bots.workers, procrastinate).

- Two workers share a sweep queued by `claimbot worker enqueue`; one is SIGKILLed in the middle of its
  jobs: they run again on the other worker within the stated bound (bots.workers.RECOVERY_BOUND_S),
  every claim of the sweep ends checked, each with exactly one answer keyed sweep:<sweep>:<claim>.
  Over the sandbox clearinghouse (HTTP, slowed down), so no browser is needed.
- Two sweeps of one portal payer worked at once by two workers keep within the payer's session
  limit: the sandbox portal's own counter of live sessions never passes `max_sessions`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from bots.planner import PayerPlan, SweepPlan, plan_from_ledger
from bots.sweep import plan_to_sweep
from bots.workers import RECOVERY_BOUND_S, SWEEP_QUEUE, enqueue_sweep, libpq_dsn, open_app
from claimbot.demo import sample_claims_csv
from claims.importing import import_claims_csv
from claims.ledger import Ledger, sweep_dedupe_key, upgrade
from claims.models import SweepItemState, SweepState, utc_now
from claims.payer_config import load_payer_config, load_payers
from sandbox.accounts import ACCOUNTS, CLEARINGHOUSE_API_KEY, ServerName
from sandbox.servers import SandboxEndpoints
from sandbox.testing import SandboxAdmin, reset_all
from tests.conftest import REPO

pytestmark = pytest.mark.postgres

PAYERS = ("KEYSTONE", "MERIDIAN", "SUNRISE")


def write_config(folder: Path, route: str, payers: tuple[str, ...] = PAYERS) -> Path:
    """The shipped payers.yaml, every payer on `route`, no canary, no rate limit to wait for."""
    data = yaml.safe_load((REPO / "config" / "payers.yaml").read_text())
    data["sweep_defaults"].update(requests_per_minute=6000, canary=False, max_sessions=2)
    data["payers"] = [dict(p, route=route) for p in data["payers"] if p["id"] in payers]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "payers.yaml").write_text(yaml.safe_dump(data))
    return folder


@pytest.fixture
def team_ledger(pg_database_url: str, sandbox: SandboxEndpoints) -> Iterator[Ledger]:
    reset_all(sandbox)
    upgrade(pg_database_url)
    ledger = Ledger.connect(pg_database_url)
    ledger.sync_payers(load_payers(REPO / "config" / "payers.yaml"))
    import_claims_csv(ledger, sample_claims_csv())
    try:
        yield ledger
    finally:
        ledger.close()
        reset_all(sandbox)


class Worker:
    """One `python -m claimbot worker` process, its stderr (JSON logs) in a file."""

    def __init__(self, env: dict[str, str], log: Path, concurrency: int, grace_s: float = 5) -> None:
        self.log = log
        self.handle = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "claimbot", "worker", "--concurrency", str(concurrency), "--grace", str(grace_s)],
            env=env,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
        )

    def events(self, event: str) -> list[dict[str, Any]]:
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("event") == event:
                    found.append(record)
        return found

    def started(self) -> bool:
        """Its loop over the sweep queue runs (procrastinate says so)."""
        return f"Starting worker on queues {SWEEP_QUEUE}" in self.log.read_text(errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        finally:
            self.handle.close()


def team_env(tmp_path: Path, url: str, config_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMBOT_")}
    env.update(
        CLAIMBOT_DATABASE_URL=url,
        CLAIMBOT_DATA_DIR=str(tmp_path / "data"),
        CLAIMBOT_CONFIG_DIR=str(config_dir),
        CLAIMBOT_LOG_FORMAT="json",
        PYTHONUNBUFFERED="1",
    )
    return env


def claimbot(env: dict[str, str], *args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "claimbot", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def wait_for(what: str, condition: Callable[[], bool], timeout_s: float) -> float:
    """Poll until `condition` holds; returns when it did (time.monotonic), fails after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.1)
    return time.monotonic()


def items_by_state(ledger: Ledger, sweep_id: int) -> dict[SweepItemState, list[str]]:
    found: dict[SweepItemState, list[str]] = {}
    for item in ledger.sweep_items(sweep_id):
        found.setdefault(item.state, []).append(item.claim_id)
    return found


def assert_each_claim_checked_once(ledger: Ledger, sweep_id: int) -> int:
    items = ledger.sweep_items(sweep_id)
    assert items and all(item.state is SweepItemState.DONE for item in items), items_by_state(ledger, sweep_id)
    for item in items:
        ours = [c for c in ledger.history(item.claim_id) if c.dedupe_key == sweep_dedupe_key(sweep_id, item.claim_id)]
        assert len(ours) == 1, item.claim_id
    sweep = ledger.sweep(sweep_id)
    assert sweep is not None and sweep.state is SweepState.FINISHED
    return len(items)


def test_two_workers_share_a_sweep_and_a_killed_workers_jobs_come_back(
    team_ledger: Ledger, pg_database_url: str, sandbox: SandboxEndpoints, tmp_path: Path
) -> None:
    ledger = team_ledger
    env = team_env(tmp_path, pg_database_url, write_config(tmp_path / "config", "api"))
    env.update(
        CLAIMBOT_CLEARINGHOUSE_URL=sandbox.url(ServerName.CLEARINGHOUSE),
        CLAIMBOT_CLEARINGHOUSE_API_KEY=CLEARINGHOUSE_API_KEY,
    )
    with SandboxAdmin(sandbox[ServerName.CLEARINGHOUSE]) as admin:
        admin.set_faults(latency_ms=700)  # each payer's job takes about 6 s: there is a middle to kill it in

    first = Worker(env, tmp_path / "first.log", concurrency=2)
    second: Worker | None = None
    try:
        answer = claimbot(env, "worker", "enqueue", "--limit", "16", "--json")
        sweep_id = answer["sweep"]
        assert (answer["planned"], answer["queued"]) == (3 * 16, list(PAYERS))
        assert (
            claimbot(env, "worker", "enqueue", "--sweep", str(sweep_id), "--json")["queued"] == []
        )  # each payer's job is queued once

        wait_for("the first worker to take two jobs", lambda: len(first.events("payer job started")) == 2, 30)
        second = Worker(env, tmp_path / "second.log", concurrency=3)
        wait_for("the second worker to take the third", lambda: len(second.events("payer job started")) == 1, 30)
        killed_payers = {e["payer"] for e in first.events("payer job started")}

        def killed_payers_midway() -> bool:
            items = ledger.sweep_items(sweep_id)
            done = {i.payer_id for i in items if i.state is SweepItemState.DONE}
            left = {i.payer_id for i in items if i.state is SweepItemState.PLANNED}
            return killed_payers <= done and killed_payers <= left

        wait_for("the first worker's jobs to be half-way", killed_payers_midway, 30)
        first.process.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        first.process.wait(timeout=10)

        def retried() -> bool:
            return {e["payer"] for e in second.events("payer job started") if e["attempt"] > 1} == killed_payers

        back_at = wait_for("the killed worker's jobs to start again", retried, RECOVERY_BOUND_S + 20)
        print(f"the killed worker's jobs started again {back_at - killed_at:.1f} s after the kill")
        assert back_at - killed_at <= RECOVERY_BOUND_S + 2, f"recovered in {back_at - killed_at:.1f} s"

        def finished() -> bool:
            sweep = ledger.sweep(sweep_id)
            return sweep is not None and sweep.state is SweepState.FINISHED

        wait_for("the sweep to finish", finished, 60)
        assert assert_each_claim_checked_once(ledger, sweep_id) == 3 * 16
        assert len(second.events("retrying a stalled job")) + len(first.events("retrying a stalled job")) >= 1
        engine = sa.create_engine(pg_database_url)
        try:
            with engine.connect() as conn:
                jobs = conn.execute(
                    sa.text(
                        "SELECT args->>'payer_id', status, attempts FROM procrastinate_jobs "
                        "WHERE task_name = 'claimbot.check_payer_job'"
                    )
                ).all()
        finally:
            engine.dispose()
        assert sorted((p, s) for p, s, _ in jobs) == [(p, "succeeded") for p in PAYERS]
        # attempts counts the runs that ended: the killed ones ran twice, the other once
        assert {p: attempts for p, _, attempts in jobs} == {p: 2 if p in killed_payers else 1 for p in PAYERS}
    finally:
        if second is not None:
            assert second.stop() == 0  # SIGTERM: a graceful stop
        first.stop()


def test_sigterm_gives_a_running_job_back_and_the_next_worker_finishes_it(
    team_ledger: Ledger, pg_database_url: str, sandbox: SandboxEndpoints, tmp_path: Path
) -> None:
    """SIGTERM: no new job starts, the running one has --grace seconds, then goes back to the queue
    (not lost, not failed); the worker exits 0, and the next worker finishes it, each claim once."""
    ledger = team_ledger
    env = team_env(tmp_path, pg_database_url, write_config(tmp_path / "config", "api", ("SUNRISE",)))
    env.update(
        CLAIMBOT_CLEARINGHOUSE_URL=sandbox.url(ServerName.CLEARINGHOUSE),
        CLAIMBOT_CLEARINGHOUSE_API_KEY=CLEARINGHOUSE_API_KEY,
    )
    with SandboxAdmin(sandbox[ServerName.CLEARINGHOUSE]) as admin:
        admin.set_faults(latency_ms=700)
    stopping = Worker(env, tmp_path / "stopping.log", concurrency=1, grace_s=1)
    successor: Worker | None = None
    try:
        sweep_id = claimbot(env, "worker", "enqueue", "--payer", "SUNRISE", "--limit", "12", "--json")["sweep"]

        def half_way() -> bool:
            states = items_by_state(ledger, sweep_id)
            return bool(states.get(SweepItemState.DONE)) and bool(states.get(SweepItemState.PLANNED))

        wait_for("the job to be half-way", half_way, 30)
        stopping.process.send_signal(signal.SIGTERM)
        assert stopping.process.wait(timeout=20) == 0
        assert items_by_state(ledger, sweep_id).get(SweepItemState.PLANNED)  # it did not finish in 1 s
        successor = Worker(env, tmp_path / "successor.log", concurrency=1)

        def finished() -> bool:
            sweep = ledger.sweep(sweep_id)
            return sweep is not None and sweep.state is SweepState.FINISHED

        wait_for("the next worker to finish the sweep", finished, 60)
        assert assert_each_claim_checked_once(ledger, sweep_id) == 12
        [started] = successor.events("payer job started")
        assert started["attempt"] == 2  # the same job, given back, not a new one
    finally:
        if successor is not None:
            successor.stop()
        stopping.stop()


async def test_session_limits_hold_across_workers(
    team_ledger: Ledger, pg_database_url: str, sandbox: SandboxEndpoints, tmp_path: Path, chromium_path: str
) -> None:
    """Two sweeps of SUNRISE at once, one job each on two workers: at most max_sessions (2) live
    sessions on the portal, where the portal itself would allow 4 and each job alone would open 2."""
    ledger = team_ledger
    config_dir = write_config(tmp_path / "config", "portal", ("SUNRISE",))
    account = ACCOUNTS[ServerName.SUNRISE][0]
    env = team_env(tmp_path, pg_database_url, config_dir)
    env.update(
        CLAIMBOT_CHROMIUM=chromium_path,
        CLAIMBOT_PORTAL_SUNRISE_URL=sandbox[ServerName.SUNRISE].base_url,
        CLAIMBOT_PORTAL_SUNRISE_USERNAME=account.username,
        CLAIMBOT_PORTAL_SUNRISE_PASSWORD=account.password,
        CLAIMBOT_PORTAL_SUNRISE_TOTP_SECRET=account.totp_secret or "",
    )
    with SandboxAdmin(sandbox[ServerName.SUNRISE]) as admin:
        assert admin.faults().max_sessions_per_account == 4
        admin.set_faults(latency_ms=150)
    rules = load_payer_config(config_dir / "payers.yaml").rules()
    plan = plan_from_ledger(ledger, rules, utc_now().date(), "SUNRISE", 8)
    due = plan.payers["SUNRISE"].due
    assert len(due) == 8
    sweeps = [
        plan_to_sweep(ledger, SweepPlan({"SUNRISE": PayerPlan("SUNRISE", due=half)}), {"SUNRISE": "portal"}, "test")
        for half in (due[:4], due[4:])
    ]
    workers = [Worker(env, tmp_path / f"worker{i}.log", concurrency=1) for i in range(2)]
    try:
        wait_for("both workers to start", lambda: all(w.started() for w in workers), 30)
        async with open_app(libpq_dsn(pg_database_url)):
            for sweep_id in sweeps:
                assert await enqueue_sweep(ledger, sweep_id) == ["SUNRISE"]

        def both_finished() -> bool:
            return all((s := ledger.sweep(i)) is not None and s.state is SweepState.FINISHED for i in sweeps)

        wait_for("both sweeps to finish", both_finished, 90)
        for sweep_id in sweeps:
            assert assert_each_claim_checked_once(ledger, sweep_id) == 4
        assert sorted(len(w.events("payer job started")) for w in workers) == [1, 1]  # one job on each
        starts = [e["timestamp"] for w in workers for e in w.events("payer job started")]
        ends = [e["timestamp"] for w in workers for e in w.events("payer job finished")]
        assert max(starts) < min(ends)  # at once: 2 x 2 sessions wanted, 2 allowed
        with SandboxAdmin(sandbox[ServerName.SUNRISE]) as admin:
            counters = admin.counters()
        assert 1 <= counters.peak_sessions <= 2, counters
        assert counters.sessions_refused == 0
    finally:
        for worker in workers:
            worker.stop()
