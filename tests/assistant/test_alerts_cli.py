"""`claimbot slack dispatch`: one pass of the denial alerts from the command line, against the fake Slack
Web API (SLACK_API_URL): counts that add up, nothing twice on the next pass, exit 1 while Slack is down
(what it did not take waits in the ledger), and a plain refusal without SLACK_BOT_TOKEN."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from claimbot.cli import app
from claims.ledger import Ledger
from tests.assistant.conftest import BOT_TOKEN, CHANNEL, assert_no_phi
from tests.assistant.fake_slack import FakeSlack
from tests.assistant.test_alerts import alerts_in_channel, denial_events, swept, swept_file  # noqa: F401


def test_one_pass_from_the_command_line(
    swept: Ledger,  # noqa: F811
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runner = CliRunner()
    monkeypatch.setenv("CLAIMBOT_DATABASE_URL", str(swept.engine.url))
    refused = runner.invoke(app, ["slack", "dispatch"])
    assert refused.exit_code == 3 and "SLACK_BOT_TOKEN and SLACK_ALERT_CHANNEL" in refused.output
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_API_URL", fake_slack.api_url)
    monkeypatch.setenv("SLACK_ALERT_CHANNEL", CHANNEL)
    fake_slack.overrides["chat.postMessage"] = {"ok": False, "error": "service_unavailable"}
    down = runner.invoke(app, ["slack", "dispatch", "--json"])
    assert down.exit_code == 1, down.output
    counts = json.loads(down.stdout)
    denied = denial_events(swept)
    assert counts["alerts"] == len(denied) and counts["sent"] == 0 and counts["waiting"] >= len(denied)
    del fake_slack.overrides["chat.postMessage"]
    tried = len(alerts_in_channel(fake_slack))  # the pass stopped at its first refused post
    assert tried == 1
    back = runner.invoke(app, ["slack", "dispatch"])
    assert back.exit_code == 0, back.output
    assert "events 0: alerts 0" in back.output and "waiting 0" in back.output
    assert len(alerts_in_channel(fake_slack)) - tried == len(denied)  # each alert once, after the outage
    again = json.loads(runner.invoke(app, ["slack", "dispatch", "--json"]).stdout)
    assert again["sent"] == 0 and again["alerts"] == 0
    assert_no_phi(fake_slack, swept)
