"""`claimbot sweep`, `runs` and `events` end to end over the sandbox clearinghouse (no browser)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from claimbot.cli import app
from claimbot.demo import sample_claims_csv
from claimbot.settings import Settings
from claims.ledger import Ledger
from sandbox.accounts import CLEARINGHOUSE_API_KEY, ServerName
from sandbox.servers import SandboxEndpoints
from sandbox.testing import reset_all

PAYERS = """
sweep_defaults: {requests_per_minute: 6000, canary: false}
payers:
  - {id: SUNRISE, name: Sunrise, kind: commercial, timely_filing_days: 180, route: api}
  - {id: MERIDIAN, name: Meridian, kind: commercial, timely_filing_days: 90, route: api}
  - {id: KEYSTONE, name: Keystone, kind: medicare, timely_filing_days: 365, route: api}
"""


@pytest.fixture
def api_practice(
    sandbox: SandboxEndpoints, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runner: CliRunner
) -> None:
    reset_all(sandbox)
    config = tmp_path / "config"
    config.mkdir()
    (config / "payers.yaml").write_text(PAYERS)
    monkeypatch.setenv("CLAIMBOT_CONFIG_DIR", str(config))
    monkeypatch.setenv("CLAIMBOT_CLEARINGHOUSE_URL", sandbox[ServerName.CLEARINGHOUSE].base_url)
    monkeypatch.setenv("CLAIMBOT_CLEARINGHOUSE_API_KEY", CLEARINGHOUSE_API_KEY)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["claims", "import", str(sample_claims_csv())]).exit_code == 0


def test_dry_run_shows_the_plan_and_records_nothing(runner: CliRunner, api_practice: None) -> None:
    shown = runner.invoke(app, ["sweep", "--dry-run", "--limit", "2", "--json"])
    assert shown.exit_code == 0, shown.stderr
    plan = json.loads(shown.stdout)
    assert plan["considered"] == 540 and plan["due"] == 6
    for payer in plan["payers"]:
        assert payer["considered"] == len(payer["due"]) + sum(payer["not_due"].values())
        assert [c["priority"] for c in payer["due"]] == [1, 2]
        assert all("never checked" in c["due_reason"] for c in payer["due"])
    text = runner.invoke(app, ["sweep", "--dry-run", "--payer", "keystone", "--limit", "3"])
    assert text.exit_code == 0, text.stderr
    assert "KEYSTONE: 3 due of 180 considered" in text.stdout and "due, over --limit" in text.stdout
    assert json.loads(runner.invoke(app, ["runs", "list", "--json"]).stdout) == []


def test_a_sweep_records_answers_reports_counts_that_add_up_and_lists_the_events(
    runner: CliRunner, api_practice: None
) -> None:
    done = runner.invoke(app, ["sweep", "--limit", "3", "--json"])
    assert done.exit_code == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["state"] == "finished"
    totals = summary["totals"]
    assert totals["planned"] == 9 == totals["checked"] + totals["failed"] + totals["quarantined"] + totals["skipped"]
    assert totals["checked"] == 9
    sweep_id = summary["id"]
    shown = runner.invoke(app, ["runs", "show", str(sweep_id)])
    assert shown.exit_code == 0, shown.stderr
    assert f"sweep {sweep_id} (status, cli): finished" in shown.stdout
    assert "planned 9 = 9 checked + 0 failed + 0 quarantined + 0 skipped" in shown.stdout
    [listed] = json.loads(runner.invoke(app, ["runs", "list", "--json"]).stdout)
    assert listed["id"] == sweep_id
    events = json.loads(runner.invoke(app, ["events", "list", "--json"]).stdout)
    assert len(events) == totals["changed"] > 0
    assert all(e["sweep_id"] == sweep_id and e["claim_id"] for e in events)
    kinds = {e["kind"] for e in events}
    some = next(iter(kinds))
    only = json.loads(runner.invoke(app, ["events", "list", "--kind", some, "--json"]).stdout)
    assert only and {e["kind"] for e in only} == {some}
    assert json.loads(runner.invoke(app, ["events", "list", "--since", "2999-01-01", "--json"]).stdout) == []
    assert runner.invoke(app, ["events", "list", "--kind", "nope"]).exit_code == 3
    assert runner.invoke(app, ["events", "list"]).exit_code == 0
    assert runner.invoke(app, ["runs", "show", "999"]).exit_code == 4
    # The next sweep plans afresh: the claims just checked are not due again yet.
    again = json.loads(runner.invoke(app, ["sweep", "--dry-run", "--limit", "3", "--json"]).stdout)
    checked = {i["claim_id"] for p in again["payers"] for i in p["due"]}
    with Ledger.connect(Settings().ledger_url) as ledger:
        swept = {item.claim_id for item in ledger.sweep_items(sweep_id)}
    assert len(swept) == 9 and not swept & checked
