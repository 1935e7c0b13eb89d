"""Denial alerts end to end: a sweep over the sandbox clearinghouse records denials, the dispatcher reads the
outbox and posts to the fake Slack Web API through slack_sdk's AsyncWebClient (SLACK_API_URL), with a fake
clock for what takes time. Each test ends with the PHI scan of everything Slack received.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from slack_sdk.web.async_client import AsyncWebClient

from assistant.alerts import AlertTargets, Dispatcher, WebApiPoster, acknowledge, alert_rows
from assistant.escalations import EscalationConfig
from bots.planner import plan_from_ledger
from bots.sweep import PayerLimits, plan_to_sweep, run_sweep
from claimbot.demo import sample_claims_csv
from claims.importing import import_claims_csv
from claims.ledger import Ledger, upgrade
from claims.ledger.schema import events
from claims.models import CheckSource, EventKind, StatusCheck, utc_now
from claims.payer_config import load_payer_config, load_payers
from claims.status import ClaimStatus
from portal_adapters.clearinghouse import ClearinghouseAdapter
from portal_adapters.contract import PayerAdapter
from portal_adapters.retry import RetryPolicy
from sandbox.accounts import CLEARINGHOUSE_API_KEY, ServerName
from sandbox.servers import SandboxEndpoints
from sandbox.testing import reset_all
from tests.assistant.conftest import BOT_TOKEN, CHANNEL, LEADS_GROUP, assert_no_phi
from tests.assistant.fake_slack import FakeSlack
from tests.conftest import REPO

PAYERS = ("SUNRISE", "MERIDIAN", "KEYSTONE")
LEADS_CHANNEL = "C0LEADS"
FAST = PayerLimits(requests_per_minute=6000, max_sessions=2, circuit_breaker_failures=3, canary=False)
#: Monday 2 November 2026, 09:00 UTC: business hours are Mon–Fri 08:00–18:00 in the schedule's zone (UTC here)
MONDAY_9 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


async def no_sleep(_: float) -> None:
    return None


def only_unacknowledged(**alerts: Any) -> EscalationConfig:
    """The rules that need a clock, alone: the other rules would escalate the sandbox's old claims too."""
    return EscalationConfig.model_validate(
        {
            "alerts": {"group_when_at_least": 50, **alerts},
            "rules": {
                "denial_above": {"enabled": False},
                "unresolved": {"enabled": False},
                "timely_filing": {"enabled": False},
                "unacknowledged": {"after_business_hours": 4, "repeat_every_business_hours": 8, "max_repeats": 3},
            },
        }
    )


def practice_csv(folder: Path, per_payer: int = 40) -> Path:
    """The demo practice's first claims of each payer: fewer patients keep the PHI scan quick."""
    header, *rows = sample_claims_csv().read_text().splitlines()
    kept: dict[str, list[str]] = {}
    for row in rows:
        claim_id, payer_id = row.split(",", 2)[:2]
        if claim_id in kept or sum(1 for c in kept.values() if c[0].split(",", 2)[1] == payer_id) < per_payer:
            kept.setdefault(claim_id, []).append(row)
    path = folder / "claims.csv"
    path.write_text("\n".join([header, *(row for claim in kept.values() for row in claim)]) + "\n")
    return path


@pytest.fixture(scope="session")
def swept_file(sandbox: SandboxEndpoints, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Part of the demo practice after one status sweep of 4 claims per payer over the sandbox clearinghouse,
    swept once per test process; each test gets its own copy of the file (`swept`)."""
    folder = tmp_path_factory.mktemp("swept")
    url = f"sqlite:///{folder / 'ledger.sqlite3'}"
    upgrade(url)
    ledger = Ledger.connect(url)
    try:
        ledger.sync_payers(load_payers(REPO / "config" / "payers.yaml"))
        reset_all(sandbox)
        import_claims_csv(ledger, practice_csv(folder))
        rules = load_payer_config(REPO / "config" / "payers.yaml").rules()
        plan = plan_from_ledger(ledger, rules, utc_now().date(), limit_per_payer=4)
        sweep_id = plan_to_sweep(ledger, plan, dict.fromkeys(rules, "api"), trigger="test")
        adapters: dict[str, PayerAdapter | str] = {
            p: ClearinghouseAdapter(p, sandbox.url(ServerName.CLEARINGHOUSE), SecretStr(CLEARINGHOUSE_API_KEY))
            for p in PAYERS
        }

        async def sweep() -> None:
            try:
                await run_sweep(ledger, sweep_id, adapters, dict.fromkeys(PAYERS, FAST), RetryPolicy(2, 0.0), no_sleep)
            finally:
                for adapter in adapters.values():
                    assert not isinstance(adapter, str)
                    await adapter.close()

        asyncio.run(sweep())
    finally:
        ledger.close()  # checkpoints the WAL into the file
    return folder / "ledger.sqlite3"


@pytest.fixture
def swept(swept_file: Path, tmp_path: Path) -> Iterator[Ledger]:
    copy = tmp_path / "ledger.sqlite3"
    shutil.copyfile(swept_file, copy)
    ledger = Ledger.connect(f"sqlite:///{copy}")
    try:
        yield ledger
    finally:
        ledger.close()


def denial_events(ledger: Ledger) -> list[str]:
    return [e.claim_id or "" for e in ledger.events() if e.kind in (EventKind.DENIED, EventKind.PARTIALLY_PAID)]


@pytest.fixture
def dispatcher_for(fake_slack: FakeSlack) -> Callable[[Ledger, EscalationConfig], Dispatcher]:
    """A dispatcher posting through slack_sdk's real AsyncWebClient to the fake (as SLACK_API_URL would)."""

    def make(ledger: Ledger, config: EscalationConfig) -> Dispatcher:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=fake_slack.api_url)
        targets = AlertTargets(CHANNEL, LEADS_CHANNEL, LEADS_GROUP, ())
        return Dispatcher(ledger, WebApiPoster(client), targets, config)

    return make


def posts_to(fake: FakeSlack, channel: str) -> list[dict[str, Any]]:
    return [b for b in fake.calls_to("chat.postMessage") if b.get("channel") == channel]


def alerts_in_channel(fake: FakeSlack) -> list[dict[str, Any]]:
    return [b for b in posts_to(fake, CHANNEL) if not b.get("thread_ts")]


def test_a_sweep_that_records_a_denial_alerts_once_in_the_channel(
    swept: Ledger, fake_slack: FakeSlack, dispatcher_for: Any
) -> None:
    denied = denial_events(swept)
    assert denied, "the sweep recorded no denial: the test would prove nothing"
    dispatcher = dispatcher_for(swept, only_unacknowledged())
    report = asyncio.run(dispatcher.run_once(MONDAY_9))
    assert report.alerts == len(denied) and report.slack_error is None
    posted = alerts_in_channel(fake_slack)
    assert len(posted) == len(denied)  # one message per denial
    for claim_id in denied:
        [alert] = [p for p in posted if f"claim {claim_id}" in p["text"]]
        blocks = str(alert["blocks"])
        for action in ("alert_ack", "alert_assign", "claim_resubmit", "alert_escalate", "alert_snooze"):
            assert action in blocks
        assert "Denied" in blocks and "Age" in blocks and "Recommended next step" in blocks
    assert swept.pending_events() == []  # the outbox is drained
    # the same denial never alerts twice: another pass, and the outbox delivered again from scratch
    asyncio.run(dispatcher.run_once(MONDAY_9))
    with swept.engine.begin() as conn:
        conn.execute(events.update().values(dispatched_at=None))
    again = asyncio.run(dispatcher.run_once(MONDAY_9))
    assert again.alerts == 0 and again.sent == 0
    assert len(alerts_in_channel(fake_slack)) == len(denied)
    assert len(alert_rows(swept)) == len(denied)
    assert_no_phi(fake_slack, swept)


def test_many_denials_of_one_payer_in_one_run_share_one_message(
    swept: Ledger, fake_slack: FakeSlack, dispatcher_for: Any
) -> None:
    denied = denial_events(swept)
    by_payer = {p: sum(1 for e in swept.events() if e.claim_id in denied and e.payer_id == p) for p in PAYERS}
    config = EscalationConfig.model_validate(
        {
            "alerts": {"group_when_at_least": 2},
            "rules": {
                "unresolved": {"enabled": False},
                "timely_filing": {"enabled": False},
                "denial_above": {"enabled": False},
            },
        }
    )
    asyncio.run(dispatcher_for(swept, config).run_once(MONDAY_9))
    posted = alerts_in_channel(fake_slack)
    expected = sum(1 if n >= 2 else n for n in by_payer.values())
    assert len(posted) == expected
    assert any("new denials from" in p["text"] for p in posted) == any(n >= 2 for n in by_payer.values())
    assert_no_phi(fake_slack, swept)


def test_an_unacknowledged_alert_escalates_to_the_leads_in_business_hours_and_repeats(
    swept: Ledger, fake_slack: FakeSlack, dispatcher_for: Any
) -> None:
    denied = denial_events(swept)
    dispatcher = dispatcher_for(swept, only_unacknowledged())
    asyncio.run(dispatcher.run_once(MONDAY_9))
    asyncio.run(dispatcher.run_once(datetime(2026, 11, 2, 12, 59, tzinfo=UTC)))  # 3h59 of business hours
    assert posts_to(fake_slack, LEADS_CHANNEL) == []
    asyncio.run(dispatcher.run_once(datetime(2026, 11, 2, 13, 1, tzinfo=UTC)))
    [escalation] = posts_to(fake_slack, LEADS_CHANNEL)
    assert f"<!subteam^{LEADS_GROUP}>" in escalation["text"]
    assert all(f"claim {c}" in str(escalation["blocks"]) for c in denied)
    notes = [b for b in posts_to(fake_slack, CHANNEL) if b.get("thread_ts")]
    assert len(notes) == len(denied)  # each alert's thread says it was escalated
    # the evening and the night are not business hours: no reminder until 8 more business hours pass
    asyncio.run(dispatcher.run_once(datetime(2026, 11, 3, 7, 59, tzinfo=UTC)))
    assert len(posts_to(fake_slack, LEADS_CHANNEL)) == 1
    asyncio.run(dispatcher.run_once(datetime(2026, 11, 3, 11, 1, tzinfo=UTC)))  # 9h Monday + 3h Tuesday = 12
    assert len(posts_to(fake_slack, LEADS_CHANNEL)) == 2
    assert "reminder 2" in str(posts_to(fake_slack, LEADS_CHANNEL)[1]["blocks"])
    assert_no_phi(fake_slack, swept)


def test_an_acknowledged_alert_does_not_escalate(swept: Ledger, fake_slack: FakeSlack, dispatcher_for: Any) -> None:
    dispatcher = dispatcher_for(swept, only_unacknowledged())
    asyncio.run(dispatcher.run_once(MONDAY_9))
    rows = alert_rows(swept)
    assert rows
    for row in rows:
        assert acknowledge(swept, row["id"], "U0SPECIAL", datetime(2026, 11, 2, 10, 0, tzinfo=UTC))
    assert not acknowledge(swept, rows[0]["id"], "U0LEADER", datetime(2026, 11, 2, 10, 1, tzinfo=UTC))  # once
    report = asyncio.run(dispatcher.run_once(datetime(2026, 11, 4, 17, 0, tzinfo=UTC)))
    assert report.escalations == 0 and posts_to(fake_slack, LEADS_CHANNEL) == []
    updates = fake_slack.calls_to("chat.update")
    assert len(updates) == len(rows) and all("Acknowledged by <@U0SPECIAL>" in str(u["blocks"]) for u in updates)
    assert_no_phi(fake_slack, swept)


def test_nothing_is_lost_while_slack_is_down_and_the_alert_arrives_once(
    swept: Ledger, fake_slack: FakeSlack, dispatcher_for: Any
) -> None:
    denied = denial_events(swept)
    fake_slack.fail_next("chat.postMessage", 500, times=2)
    dispatcher = dispatcher_for(swept, only_unacknowledged())
    down = asyncio.run(dispatcher.run_once(MONDAY_9))
    assert down.slack_error and down.sent == 0 and down.waiting == len(denied)
    assert swept.pending_events() == []  # the events are staged in the ledger, not waiting in memory
    fake_slack.overrides["chat.postMessage"] = {"ok": False, "error": "ratelimited"}
    limited = asyncio.run(dispatcher.run_once(MONDAY_9))
    assert limited.slack_error and limited.sent == 0
    del fake_slack.overrides["chat.postMessage"]
    back = asyncio.run(dispatcher.run_once(MONDAY_9))
    assert back.slack_error is None and back.sent == len(denied) and back.waiting == 0
    ok = [b for b in alerts_in_channel(fake_slack) if "blocks" in b]
    delivered = {c for c in denied for b in ok if f"claim {c}" in b["text"]}
    assert delivered == set(denied)
    assert asyncio.run(dispatcher.run_once(MONDAY_9)).sent == 0
    assert_no_phi(fake_slack, swept)


def test_a_later_change_goes_in_the_thread_and_updates_the_parent(
    swept: Ledger, fake_slack: FakeSlack, dispatcher_for: Any
) -> None:
    claim_id = denial_events(swept)[0]
    dispatcher = dispatcher_for(swept, only_unacknowledged())
    asyncio.run(dispatcher.run_once(MONDAY_9))
    assert len([p for p in alerts_in_channel(fake_slack) if f"claim {claim_id}" in p["text"]]) == 1
    billed = swept.summary(claim_id).billed_amount
    swept.record_status_check(
        StatusCheck(
            claim_id=claim_id,
            source=CheckSource.EDI,
            status=ClaimStatus.PAID,
            paid_amount=billed,
            dedupe_key=f"test:paid:{claim_id}",
        )
    )
    report = asyncio.run(dispatcher.run_once(datetime(2026, 11, 2, 10, 0, tzinfo=UTC)))
    assert report.replies == 1 and report.updated == 1
    [reply] = [b for b in posts_to(fake_slack, CHANNEL) if b.get("thread_ts")]
    with swept.engine.connect() as conn:
        from claims.ledger.alert_schema import alert_messages

        parent_row_ts = conn.execute(
            sa.select(alert_messages.c.ts).where(
                alert_messages.c.kind == "alert", alert_messages.c.text.contains(claim_id)
            )
        ).scalar()
    assert reply["thread_ts"] == parent_row_ts and "paid" in reply["text"]
    [update] = fake_slack.calls_to("chat.update")
    assert update["ts"] == parent_row_ts and "Closed: the claim is now paid" in str(update["blocks"])
    # a closed alert escalates nothing, however long it waits
    asyncio.run(dispatcher.run_once(datetime(2026, 11, 9, 17, 0, tzinfo=UTC)))
    assert all(f"claim {claim_id} " not in str(b["blocks"]) for b in posts_to(fake_slack, LEADS_CHANNEL))
    assert_no_phi(fake_slack, swept)
