"""`claimbot eligibility sweep` end to end over the sandbox clearinghouse (route api, no browser)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from claimbot.cli import app
from claimbot.demo import sample_claims_csv
from claimbot.settings import Settings
from claims.ledger import Ledger
from claims.models import EventKind, utc_now
from sandbox.accounts import CLEARINGHOUSE_API_KEY, ServerName
from sandbox.servers import SandboxEndpoints
from sandbox.testing import reset_all
from tests.bots.test_eligibility_sweep import members, write

PAYERS = """
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


def _ledger() -> Ledger:
    return Ledger.connect(Settings().ledger_url)


def test_a_sweep_of_a_file_prints_counts_that_add_up_and_raises_one_event_per_lapsed_member(
    runner: CliRunner, api_practice: None, tmp_path: Path
) -> None:
    today = utc_now().date()
    active = members("KEYSTONE", True, 2)
    lapsed = members("KEYSTONE", False, 1)
    rows = [
        {**m, "appointment_id": f"K{n}", "appointment_date": (today + timedelta(days=n)).isoformat()}
        for n, m in enumerate([*active, *lapsed])
    ]
    rows.append({**active[0], "appointment_id": "K9", "appointment_date": (today + timedelta(days=9)).isoformat()})
    path = write(tmp_path / "week.csv", rows)
    dry = runner.invoke(app, ["eligibility", "sweep", "--appointments", str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.stderr
    assert "appointments 4 read = 3 to check + 1 skipped (after the window)" in dry.stdout
    with _ledger() as ledger:
        assert ledger.sweeps() == []
    swept = runner.invoke(app, ["eligibility", "sweep", "--appointments", str(path), "--json"])
    assert swept.exit_code == 0, swept.stderr
    report = json.loads(swept.stdout)
    assert (report["read"], report["checked"], report["active"], report["inactive"]) == (4, 3, 2, 1)
    assert report["skipped_by_reason"] == {"after the window": 1} and report["failed"] == 0
    assert report["read"] == report["checked"] + report["failed"] + report["skipped"] + report["left"]
    assert report["eligibility_inactive_events"] == 1
    plain = runner.invoke(app, ["eligibility", "sweep", "--appointments", str(path), "--days", "10"])
    assert plain.exit_code == 0, plain.stderr
    assert "appointments 4 read = 4 checked (3 active, 1 not active) + 0 failed + 0 skipped" in plain.stdout
    for member in [*active, *lapsed]:
        assert member["member_id"] not in plain.stdout + plain.stderr
        assert member["patient_last_name"] not in plain.stdout + plain.stderr
    with _ledger() as ledger:
        assert len(ledger.events(kind=EventKind.ELIGIBILITY_INACTIVE)) == 1  # still inactive: nothing new
        assert [s.kind.value for s in ledger.sweeps()] == ["eligibility", "eligibility"]


def test_a_bad_file_is_refused_by_line_and_column_and_nothing_is_recorded(
    runner: CliRunner, api_practice: None, tmp_path: Path
) -> None:
    [member] = members("SUNRISE", True, 1)
    rows = [
        {**member, "appointment_id": "S1", "appointment_date": "tomorrow"},
        {**member, "appointment_id": "S2", "appointment_date": utc_now().date().isoformat(), "payer_id": "ACME"},
    ]
    path = write(tmp_path / "bad.csv", rows)
    refused = runner.invoke(app, ["eligibility", "sweep", "--appointments", str(path)])
    assert refused.exit_code == 3
    assert "bad.csv: line 2: column 'appointment_date': value 'tomorrow' is not a date (YYYY-MM-DD)" in refused.stderr
    assert "bad.csv: line 3: column 'payer_id': value 'ACME' is not a payer in payers.yaml" in refused.stderr
    assert "nothing recorded" in refused.stderr
    assert member["member_id"] not in refused.stderr and member["patient_last_name"] not in refused.stderr
    with _ledger() as ledger:
        assert ledger.sweeps() == [] and ledger.events(kind=EventKind.ELIGIBILITY_INACTIVE) == []


def test_without_a_file_the_members_of_open_claims_are_checked(runner: CliRunner, api_practice: None) -> None:
    dry = runner.invoke(app, ["eligibility", "sweep", "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.stderr
    counts = json.loads(dry.stdout)
    assert counts["read"] == counts["to_check"] > 0 and counts["skipped_by_reason"] == {}
