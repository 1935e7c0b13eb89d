"""Team mode as the README's recipe runs it: `claimbot serve --role scheduler`, two `--role worker`
and one `--role slack` process over one real PostgreSQL ledger sweep to the end, over the sandbox
clearinghouse: the scheduler plans and queues, the workers answer, every claim once; each process's
/readyz names its role, the workers' /metrics add up to the sweep, and the Slack app answers a signed
`/claim status` from the swept ledger through a fake Slack Web API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from claims.importing import import_claims_csv
from claims.ledger import Ledger, upgrade
from claims.models import SweepState
from claims.payer_config import load_payers
from sandbox.accounts import CLEARINGHOUSE_API_KEY, ServerName
from sandbox.servers import SandboxEndpoints
from sandbox.testing import SandboxAdmin, reset_all
from tests.assistant.conftest import BOT_TOKEN, FORM, SIGNING_SECRET, SPECIALIST, command_body, signed_headers
from tests.assistant.fake_slack import FakeSlack
from tests.bots.test_workers import assert_each_claim_checked_once, team_env, write_config
from tests.claimbot.test_serve import Served, few_claims_csv, samples, wait_for
from tests.conftest import REPO

pytestmark = pytest.mark.postgres

PER_PAYER = 8


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def test_a_scheduler_two_workers_and_the_slack_app_sweep_to_the_end(
    pg_database_url: str, sandbox: SandboxEndpoints, tmp_path: Path, fake_slack: FakeSlack
) -> None:
    import httpx

    reset_all(sandbox)
    upgrade(pg_database_url)
    ledger = Ledger.connect(pg_database_url)
    ledger.sync_payers(load_payers(REPO / "config" / "payers.yaml"))
    import_claims_csv(ledger, few_claims_csv(tmp_path / "claims.csv", PER_PAYER))
    config = write_config(tmp_path / "config", "api")
    (config / "team.yaml").write_text(
        yaml.safe_dump({"members": [{"name": "Sam", "slack_user": SPECIALIST, "roles": ["specialist"]}]})
    )
    env = team_env(tmp_path, pg_database_url, config)
    env.update(
        CLAIMBOT_CLEARINGHOUSE_URL=sandbox.url(ServerName.CLEARINGHOUSE),
        CLAIMBOT_CLEARINGHOUSE_API_KEY=CLEARINGHOUSE_API_KEY,
    )
    with SandboxAdmin(sandbox[ServerName.CLEARINGHOUSE]) as admin:
        admin.set_faults(latency_ms=100)
    fake = fake_slack
    slack_env = {
        **env,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.api_url,
    }
    workers = [Served(env, tmp_path / f"worker{n}.log", "--role", "worker", "--grace", "5") for n in (1, 2)]
    slack = Served(slack_env, tmp_path / "slack.log", "--role", "slack")
    scheduler: Served | None = None
    try:
        for worker in workers:
            wait_for("a worker to be ready", worker.ready, 30, worker.process)
            assert httpx.get(f"{worker.base}/readyz").json()["checks"] == {"ledger": "ok", "worker": "started"}
        wait_for("the Slack app to be ready", slack.ready, 30, slack.process)
        scheduler = Served(env, tmp_path / "scheduler.log", "--role", "scheduler", "--run-now", "status_sweep")
        wait_for("the scheduler to be ready", scheduler.ready, 30, scheduler.process)

        def finished() -> bool:
            sweeps = ledger.sweeps()
            return bool(sweeps) and sweeps[0].state is SweepState.FINISHED

        wait_for("the sweep to finish", finished, 60, scheduler.process)
        [sweep] = ledger.sweeps()
        assert sweep.id is not None and sweep.trigger == "schedule"
        assert assert_each_claim_checked_once(ledger, sweep.id) == 3 * PER_PAYER
        worked = [samples(worker.metrics(), "claimbot_checks_total") for worker in workers]
        assert sum(worked) == 3 * PER_PAYER  # each answer counted once, by the worker that got it
        plan = scheduler.metrics()
        assert "# TYPE claimbot_queue_jobs gauge" in plan
        assert samples(plan, "claimbot_queue_jobs", queue="claimbot.sweeps") == 0  # nothing left to do
        assert samples(plan, "claimbot_sweeps_running", kind="status") == 0
        assert samples(plan, "claimbot_checks_total") == 0  # the scheduler only planned

        claim_id = ledger.sweep_items(sweep.id)[0].claim_id
        body = command_body(f"status {claim_id}", SPECIALIST, fake.hook_url())
        asked = httpx.post(f"{slack.base}/slack/events", content=body, headers=signed_headers(body, FORM), timeout=5)
        assert asked.status_code == 200
        (answer,) = fake.wait_for("hooks/respond")
        assert answer["text"].startswith(f"Claim {claim_id}")
        forged = httpx.post(
            f"{slack.base}/slack/events", content=body, headers=signed_headers(body, FORM, secret="x"), timeout=5
        )
        assert forged.status_code == 401
        codes = [scheduler.stop(), *(worker.stop() for worker in workers), slack.stop()]
    finally:
        for served in [*workers, slack, *([scheduler] if scheduler else [])]:
            served.kill()
        ledger.close()
        reset_all(sandbox)
    assert codes == [0, 0, 0, 0]
    assert BOT_TOKEN not in slack.log.read_text() and SIGNING_SECRET not in slack.log.read_text()
    said = [e["event"] for e in scheduler.events()]
    assert "status sweep queued for the workers" in said and said[-1] == "stopped"
    assert all(w.events()[-1]["event"] == "stopped" for w in workers)
