"""The README's first command: `claimbot demo` on embedded defaults, run as a real process."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from claimbot.cli import app
from claimbot.demo import blocks_as_text, sample_claims_csv
from tests.conftest import REPO

STEPS = (
    "the ledger and the sample practice",
    "the sandbox payer portals and clearinghouse, started in this process",
    "the clearinghouse: the practice's 837P sent as a batch, its 835 imported",
    "the canary and a status sweep over the three portals in headless Chromium",
    "the A/R and denial reports",
    "alerts and escalations, as Slack shows them (no PHI)",
    "two questions, answered as in Slack",
    "where everything is",
)


def run_demo(data_dir: Path, *options: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    extra = env or {}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAIMBOT_", "SLACK_"))}
    env |= {"CLAIMBOT_DATA_DIR": str(data_dir), "COLUMNS": "200"} | extra
    if "CLAIMBOT_CHROMIUM" in os.environ:
        env["CLAIMBOT_CHROMIUM"] = os.environ["CLAIMBOT_CHROMIUM"]
    return subprocess.run(
        [sys.executable, "-m", "claimbot", "demo", *options],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )


def number(pattern: str, text: str) -> tuple[int, ...]:
    found = re.search(pattern, text)
    assert found, f"not in the demo's output: {pattern}"
    return tuple(int(n) for n in found.groups())


def phi_of_the_practice() -> set[str]:
    """Patient names, member ids and birth dates of the synthetic practice: none may reach the output."""
    with sample_claims_csv().open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {r[k] for r in rows for k in ("patient_last_name", "patient_first_name", "member_id", "patient_dob")}


@pytest.mark.browser
def test_the_demo_runs_the_whole_loop_and_its_counts_add_up(tmp_path: Path, chromium_path: str) -> None:
    data_dir = tmp_path / "data"
    done = run_demo(data_dir, "--claims", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    positions = [out.find(f"step {n}: {what}") for n, what in enumerate(STEPS, 1)]
    assert -1 not in positions and positions == sorted(positions), positions
    assert "540 claims in 1229 rows — 540 new, 0 updated, 0 unchanged" in out

    read, recorded, duplicate, unmatched, rejected = number(
        r"835: (\d+) claims read = (\d+) recorded \+ (\d+) already recorded \+ (\d+) unmatched \+ (\d+) rejected", out
    )
    assert read == recorded + duplicate + unmatched + rejected and recorded > 0 and (unmatched, rejected) == (0, 0)
    payments, _ = number(r"; (\d+) payments, (\d+) denial lines, 0 errors", out)
    assert 0 < payments <= recorded

    for payer in ("KEYSTONE", "MERIDIAN", "SUNRISE"):
        assert re.search(rf"{payer}: canary first on claim C\d+", out)
    planned, checked, failed, quarantined, skipped = number(
        r"sweep: planned (\d+) = (\d+) checked \+ (\d+) failed \+ (\d+) quarantined \+ (\d+) skipped", out
    )
    assert planned == 6 == checked + failed + quarantined + skipped and checked == 6

    assert "A/R aging" in out and "denials that need work, by category" in out
    open_claims, denial_lines, denied_claims = number(
        r"open A/R: (\d+) claims, [\d,.]+; denials to work: (\d+) on (\d+) claims", out
    )
    assert open_claims > 0 and denial_lines >= denied_claims > 0

    alerts, _, escalations = number(r"(\d+) new denial alerts, (\d+) thread replies, (\d+) escalations staged", out)
    assert alerts > 0 and escalations > 0
    waiting = re.search(r"waiting for Slack: (\d+) messages = ([^(]+)", out)
    assert waiting
    kinds = {kind: int(n) for n, kind in re.findall(r"(\d+) (\w+)", waiting.group(2))}
    assert sum(kinds.values()) == int(waiting.group(1)) and kinds.get("escalation", 0) > 0
    assert "┌ group → #denials (console)" in out and "[Acknowledge]" in out
    assert "Slack: not set up" in out

    assert re.search(r'you: claimbot ask "status of claim C\d+"', out) and "claimbot: Claim C" in out
    assert 'you: claimbot ask "denials KEYSTONE this week"' in out and "denials from KEYSTONE" in out

    assert f"ledger:   sqlite:///{data_dir / 'ledger.sqlite3'}" in out and f"evidence: {data_dir / 'evidence'}" in out
    era = data_dir / "inbox" / "sandbox-clearinghouse.835"
    assert (data_dir / "ledger.sqlite3").exists() and era.stat().st_mode & 0o777 == 0o600  # an 835 names patients
    assert era.parent.stat().st_mode & 0o777 == 0o700
    seconds = float(number(r"demo finished in (\d+)\.\d s", out)[0])
    assert seconds < 120

    leaked = {value for value in phi_of_the_practice() if re.search(rf"\b{re.escape(value)}\b", out + done.stderr)}
    assert not leaked, f"{len(leaked)} patient values in the output"


def test_the_demo_twice_imports_nothing_new_and_sweeps_the_clearinghouse(runner: CliRunner, data_dir: Path) -> None:
    assert runner.invoke(app, ["demo", "--no-portals", "--claims", "1"]).exit_code == 0
    again = runner.invoke(app, ["demo", "--no-portals", "--claims", "1"])
    assert again.exit_code == 0, again.stderr
    assert "0 new, 0 updated, 540 unchanged" in again.stdout
    # the same 835 again: known by its hash, or (its envelope's date and time moved on) every claim a duplicate
    assert re.search(
        r"835: (already imported \(1 file known by its hash\): nothing new|\d+ claims read = 0 recorded)", again.stdout
    )
    assert "portals skipped (--no-portals): the sweep asks the clearinghouse instead" in again.stdout
    assert "sweep: planned 3 = 3 checked + 0 failed + 0 quarantined + 0 skipped" in again.stdout


def test_block_kit_reads_as_the_lines_slack_shows() -> None:
    blocks = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "*Denial: claim C1* · SUNRISE"},
            "fields": [{"type": "mrkdwn", "text": "*Denied*\n$10.00"}, {"type": "mrkdwn", "text": "*Age*\n3 days"}],
        },
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": "for <!subteam^S0LEADS> by <@U1>, <https://x|the claim>"}],
        },
        {
            "type": "actions",
            "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "Acknowledge"}},
                {"type": "button", "text": {"type": "plain_text", "text": "Snooze 4h"}},
            ],
        },
        {"type": "divider"},
    ]
    assert blocks_as_text(blocks) == [
        "Denial: claim C1 · SUNRISE",
        "Denied $10.00 · Age 3 days",
        "for @S0LEADS by @U1, the claim",
        "[Acknowledge] [Snooze 4h]",
        "─" * 20,
    ]


def test_with_slack_set_up_the_demo_sends_what_it_shows_and_no_phi(tmp_path: Path) -> None:
    from tests.assistant.fake_slack import FakeSlack

    with FakeSlack() as slack:
        env_extra = {
            "SLACK_BOT_TOKEN": "xoxb-demo-test",
            "SLACK_ALERT_CHANNEL": "C0ALERTS",
            "SLACK_API_URL": slack.api_url,
        }
        done = run_demo(tmp_path / "data", "--no-portals", "--claims", "1", env=env_extra)
        assert done.returncode == 0, done.stderr[-3000:]
        waiting = number(r"waiting for Slack: (\d+) messages", done.stdout)[0]
        sent = number(r"Slack: sent (\d+), waiting 0", done.stdout)[0]
        assert sent == waiting == len(slack.calls_to("chat.postMessage")) > 0
        received = slack.all_text()
    assert "Denial: claim C" in received
    leaked = {value for value in phi_of_the_practice() if re.search(rf"\b{re.escape(value)}\b", received)}
    assert not leaked, f"{len(leaked)} patient values reached Slack"
