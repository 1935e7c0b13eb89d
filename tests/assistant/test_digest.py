"""The daily digest: its figures over a swept sandbox practice, its chart, and its delivery with the PNG
through the external upload flow of the fake Slack Web API (SLACK_API_URL)."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image
from slack_sdk.web.async_client import AsyncWebClient

from assistant.alerts import AlertTargets, Dispatcher, WebApiPoster
from assistant.charts import (
    AGING_COLOUR,
    AGING_PANEL,
    DENIAL_COLOUR,
    DENIAL_PANEL,
    PANEL_BOTTOM,
    bar_positions,
    digest_chart,
)
from assistant.digest import build_digest, digest_blocks
from assistant.escalations import EscalationConfig
from claims.ledger import Ledger
from claims.ledger.alert_schema import alert_messages
from claims.models import EventKind, utc_now
from claims.reports import BUCKET_LABELS, open_balance
from claims.status import ClaimStatus
from tests.assistant.conftest import BOT_TOKEN, CHANNEL, assert_no_phi
from tests.assistant.fake_slack import FakeSlack
from tests.assistant.test_alerts import PAYERS, swept, swept_file  # noqa: F401  (the swept practice)

DIGEST_CHANNEL = "C0DIGEST"


def bar_height(image: Image.Image, x: int, colour: tuple[int, int, int]) -> int:
    height = 0
    while image.getpixel((x, PANEL_BOTTOM - 1 - height)) == colour:
        height += 1
    return height


def test_the_chart_draws_bars_in_proportion_to_the_figures() -> None:
    aging = [
        ("0-30", Decimal("1000")),
        ("31-60", Decimal("500")),
        ("61-90", Decimal("0")),
        ("91-120", Decimal("250")),
        ("120+", Decimal("1000")),
    ]
    denials = [("CO-50", 4), ("CO-16", 2), ("F2:88", 1)]
    image = Image.open(io.BytesIO(digest_chart(aging, denials)))
    assert image.format == "PNG" and image.size == (1000, 420)
    heights = [bar_height(image, x, AGING_COLOUR) for x in bar_positions(5, *AGING_PANEL)]
    assert heights[0] == heights[4] > 0 and heights[2] == 0
    assert abs(heights[1] * 2 - heights[0]) <= 2 and abs(heights[3] * 4 - heights[0]) <= 4
    reds = [bar_height(image, x, DENIAL_COLOUR) for x in bar_positions(3, *DENIAL_PANEL)]
    assert abs(reds[1] * 2 - reds[0]) <= 2 and abs(reds[2] * 4 - reds[0]) <= 4
    empty = Image.open(io.BytesIO(digest_chart(aging, [])))
    assert all(bar_height(empty, x, DENIAL_COLOUR) == 0 for x in bar_positions(3, *DENIAL_PANEL))


def test_the_digest_counts_the_night_the_denials_aging_and_bot_health(swept: Ledger) -> None:  # noqa: F811
    now = utc_now() + timedelta(minutes=1)
    digest = build_digest(swept, now)
    assert digest.claims_checked == 12 and digest.answers == 12 and digest.failed_answers == 0
    denial_events = [e for e in swept.events() if e.kind in (EventKind.DENIED, EventKind.PARTIALLY_PAID)]
    assert digest.new_denials == len(denial_events) > 0
    assert sum(digest.denials_by_reason.values()) >= digest.new_denials
    assert sum(digest.status_changes.values()) == len([e for e in swept.events() if e.claim_id])
    claims = swept.list_claims(limit=None)
    open_claims = [c for c in claims if open_balance(c) > 0]
    assert any(c.status is ClaimStatus.PAID for c in claims)  # paid claims are out of the A/R
    assert [b.label for b in digest.aging] == list(BUCKET_LABELS)
    assert sum(b.claims for b in digest.aging) == len(open_claims)
    assert sum((b.amount for b in digest.aging), Decimal(0)) == sum((open_balance(c) for c in open_claims), Decimal(0))
    assert {p.payer_id for p in digest.bot_health} >= set(PAYERS)
    assert all(p.answers == 4 and p.healthy for p in digest.bot_health if p.payer_id in PAYERS)
    # a day later nothing happened overnight, and the A/R is still there
    later = build_digest(swept, now + timedelta(days=1))
    assert (
        later.claims_checked == 0 and later.new_denials == 0 and sum(b.claims for b in later.aging) == len(open_claims)
    )
    assert "Daily digest" in str(digest_blocks(digest))


def test_the_digest_goes_to_its_channel_once_a_day_with_its_chart_through_the_external_upload(
    swept: Ledger,  # noqa: F811
    fake_slack: FakeSlack,
) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake_slack.api_url)
    dispatcher = Dispatcher(
        swept, WebApiPoster(client), AlertTargets(CHANNEL, digest_channel=DIGEST_CHANNEL), EscalationConfig()
    )
    morning = datetime.now(UTC) + timedelta(minutes=1)
    assert dispatcher.stage_digest(morning)
    assert not dispatcher.stage_digest(morning + timedelta(hours=2))  # one digest per day
    asyncio.run(dispatcher.run_once(morning))
    [digest] = [b for b in fake_slack.calls_to("chat.postMessage") if b.get("channel") == DIGEST_CHANNEL]
    assert digest["text"].startswith("Daily digest: 12 claims checked")
    [ticket] = fake_slack.calls_to("files.getUploadURLExternal")
    assert ticket["filename"] == f"claimbot-digest-{morning.date().isoformat()}.png" and int(ticket["length"]) > 1000
    [upload] = [c for c in fake_slack.calls if c.method.startswith("upload/")]
    assert "PNG" in upload.raw[:8] and "IHDR" in upload.raw[:40]
    [complete] = fake_slack.calls_to("files.completeUploadExternal")
    assert complete["channel_id"] == DIGEST_CHANNEL
    with swept.engine.connect() as conn:
        digest_ts = conn.execute(sa.select(alert_messages.c.ts).where(alert_messages.c.kind == "digest")).scalar()
    assert digest_ts and complete["thread_ts"] == digest_ts  # the chart sits in the digest's thread
    methods = fake_slack.methods()
    assert (
        methods.index("files.getUploadURLExternal")
        < methods.index(upload.method)
        < methods.index("files.completeUploadExternal")
    )
    assert asyncio.run(dispatcher.run_once(morning)).sent == 0
    assert len(fake_slack.calls_to("files.completeUploadExternal")) == 1
    assert_no_phi(fake_slack, swept)


def test_the_schedulers_digest_slot_sends_the_digest_through_slack(
    swept: Ledger,  # noqa: F811
    fake_slack: FakeSlack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """bots.schedule's daily_digest job, with the context `claimbot scheduler run` builds when SLACK_BOT_TOKEN
    is set, posts the digest and its chart; with no Slack set up it only logs."""
    from bots import schedule
    from claimbot.scheduler_commands import bot_context
    from claimbot.settings import Settings

    url = str(swept.engine.url)
    settings = Settings(data_dir=tmp_path, database_url=url)
    schedule.set_context(bot_context(settings))
    try:
        asyncio.run(schedule.digest_job())  # no SLACK_BOT_TOKEN: nothing sent
        assert fake_slack.calls == []
        for name, value in {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_API_URL": fake_slack.api_url,
            "SLACK_ALERT_CHANNEL": CHANNEL,
            "SLACK_DIGEST_CHANNEL": DIGEST_CHANNEL,
        }.items():
            monkeypatch.setenv(name, value)
        schedule.set_context(bot_context(settings))
        asyncio.run(schedule.digest_job())
    finally:
        schedule.set_context(None)
    [digest] = [b for b in fake_slack.calls_to("chat.postMessage") if b.get("channel") == DIGEST_CHANNEL]
    assert digest["text"].startswith("Daily digest:")
    assert len(fake_slack.calls_to("files.completeUploadExternal")) == 1
    assert_no_phi(fake_slack, swept)
