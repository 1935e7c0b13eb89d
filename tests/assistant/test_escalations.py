"""Escalation rules over facts and a fake clock (assistant.escalations): business hours, repeats, snoozes,
amounts, deadlines, bot failures, and the shipped config/escalations.yaml."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from assistant.escalations import (
    AlertFacts,
    BusinessHours,
    ClaimFacts,
    DeadlineFacts,
    EscalationConfig,
    EscalationConfigError,
    RuleName,
    bot_failure_escalation,
    due_escalations,
    load_escalations,
)
from claims.models import Event, EventKind
from claims.status import ClaimStatus
from tests.conftest import REPO

CHICAGO = ZoneInfo("America/Chicago")
HOURS = BusinessHours()  # Mon–Fri 08:00–18:00


def at(day: int, hour: int, minute: int = 0, zone: ZoneInfo | None = None) -> datetime:
    """A moment in November 2026 (the 2nd is a Monday), UTC unless told."""
    return datetime(2026, 11, day, hour, minute, tzinfo=zone or UTC)


def alert(**changes: object) -> AlertFacts:
    values: dict[str, object] = {
        "alert_id": 7,
        "claim_id": "C100238",
        "payer_id": "SUNRISE",
        "denied_amount": Decimal("250.00"),
        "reasons": ("CO-50",),
        "posted_at": at(2, 9),
    }
    return AlertFacts.model_validate(values | changes)


def only(rule: str, **settings: object) -> EscalationConfig:
    rules: dict[str, dict[str, object]] = {name.value: {"enabled": False} for name in RuleName if name != "manual"}
    rules[rule] = {"enabled": True, **settings}
    return EscalationConfig.model_validate({"rules": rules})


def test_business_hours_count_weekdays_between_start_and_end_only() -> None:
    utc = ZoneInfo("UTC")
    assert HOURS.hours_between(at(2, 9), at(2, 13), utc) == 4
    assert HOURS.hours_between(at(2, 17), at(3, 9), utc) == 2  # one evening hour, one morning hour
    assert HOURS.hours_between(at(6, 17), at(9, 9), utc) == 2  # Friday 17:00 to Monday 09:00: the weekend is off
    assert HOURS.hours_between(at(7, 10), at(8, 23), utc) == 0  # Saturday and Sunday
    assert HOURS.hours_between(at(3, 9), at(2, 9), utc) == 0
    assert (
        HOURS.hours_between(at(2, 7), at(2, 8, 30), utc) == 0.5 and HOURS.hours_between(at(2, 18), at(2, 23), utc) == 0
    )


def test_business_hours_are_local_to_their_time_zone() -> None:
    # 13:00–17:00 UTC on a Monday is 07:00–11:00 in Chicago (CST, UTC-6): three business hours there
    assert HOURS.hours_between(at(2, 13), at(2, 17), CHICAGO) == 3
    config = EscalationConfig.model_validate({"business_hours": {"timezone": "America/Chicago"}})
    assert config.business_hours.zone("UTC") == CHICAGO
    assert EscalationConfig().business_hours.zone("Europe/Berlin") == ZoneInfo("Europe/Berlin")  # the schedule's


def test_an_unacknowledged_alert_escalates_after_the_hours_then_repeats_up_to_the_limit() -> None:
    config = only("unacknowledged", after_business_hours=4, repeat_every_business_hours=8, max_repeats=2)

    def due(now: datetime, facts: AlertFacts | None = None) -> list[str]:
        return [e.dedupe_key for e in due_escalations(config, "UTC", now, [facts or alert()])]

    assert due(at(2, 12, 59)) == []
    first = due(at(2, 13))
    assert first == ["esc:unacknowledged:7:posted:1"]
    assert due(at(3, 7)) == first  # the same key: the ledger keeps it once
    assert due(at(3, 11)) == ["esc:unacknowledged:7:posted:2"]  # 9 h Monday + 3 h Tuesday
    assert due(at(6, 17)) == ["esc:unacknowledged:7:posted:2"]  # at most max_repeats
    assert due(at(9, 9), alert(acknowledged_at=at(2, 10))) == []
    assert due(at(9, 9), alert(closed_at=at(2, 10))) == []
    assert due(at(9, 9), alert(posted_at=None)) == []  # not in Slack yet: nobody could acknowledge it


def test_a_snooze_holds_the_escalation_and_the_count_starts_again_after_it() -> None:
    config = only("unacknowledged", after_business_hours=4, repeat_every_business_hours=None)
    snoozed = alert(snoozed_until=at(3, 9))
    assert due_escalations(config, "UTC", at(2, 17), [snoozed]) == []
    assert due_escalations(config, "UTC", at(3, 12, 59), [snoozed]) == []
    [after] = due_escalations(config, "UTC", at(3, 13), [snoozed])
    assert after.dedupe_key == f"esc:unacknowledged:7:{at(3, 9).isoformat()}:1"


def test_a_denial_above_the_amount_escalates_once_with_its_amount() -> None:
    config = only("denial_above", amount="1000.00")
    assert due_escalations(config, "UTC", at(2, 9), [alert()]) == []
    [big] = due_escalations(config, "UTC", at(2, 9), [alert(denied_amount=Decimal("1200.50"))])
    assert big.rule is RuleName.DENIAL_ABOVE and big.dedupe_key == "esc:denial_above:7"
    assert "$1,200.50" in big.detail and "CO-50" in big.detail


def test_unresolved_claims_and_near_timely_filing_deadlines_escalate_with_the_amount_at_risk() -> None:
    claims = [
        ClaimFacts(
            claim_id="C1",
            payer_id="KEYSTONE",
            status=ClaimStatus.DENIED,
            submitted_date=date(2026, 9, 1),
            billed_amount=Decimal("90.00"),
        ),
        ClaimFacts(
            claim_id="C2",
            payer_id="KEYSTONE",
            status=ClaimStatus.PAID,
            submitted_date=date(2026, 9, 1),
            billed_amount=Decimal("90.00"),
        ),
        ClaimFacts(
            claim_id="C3",
            payer_id="KEYSTONE",
            status=ClaimStatus.DENIED,
            submitted_date=date(2026, 10, 30),
            billed_amount=Decimal("90.00"),
        ),
    ]
    [old] = due_escalations(only("unresolved", after_days=45), "UTC", at(2, 9), claims=claims)
    assert old.claim_id == "C1" and "62 days after submission" in old.detail
    deadlines = [
        DeadlineFacts(claim_id="C4", payer_id="SUNRISE", deadline=date(2026, 11, 16), amount_at_risk=Decimal("310")),
        DeadlineFacts(claim_id="C5", payer_id="SUNRISE", deadline=date(2026, 11, 17), amount_at_risk=Decimal("1")),
        DeadlineFacts(claim_id="C6", payer_id="SUNRISE", deadline=date(2026, 11, 1), amount_at_risk=Decimal("1")),
    ]
    [near] = due_escalations(only("timely_filing", within_days=14), "UTC", at(2, 9), deadlines=deadlines)
    assert near.claim_id == "C4" and "$310.00 at risk" in near.detail and "(14 days)" in near.detail


def test_a_bot_failure_escalates_with_its_evidence_reference() -> None:
    event = Event(
        kind=EventKind.CANARY_FAILED,
        payer_id="MERIDIAN",
        sweep_id=3,
        payload={"why": "canary", "reason": "element_missing", "evidence_ref": "ev-2026-11-02-meridian"},
        dedupe_key="event:canary_failed:sweep:3:MERIDIAN",
    )
    escalation = bot_failure_escalation(EscalationConfig(), event)
    assert escalation is not None and escalation.evidence_ref == "ev-2026-11-02-meridian"
    assert escalation.detail == "canary failed at MERIDIAN, sweep 3: element_missing"
    assert bot_failure_escalation(only("denial_above"), event) is None
    paid = Event(kind=EventKind.PAID, claim_id="C1", dedupe_key="event:paid:C1:1")
    assert bot_failure_escalation(EscalationConfig(), paid) is None


def test_the_shipped_file_is_the_documented_defaults_and_bad_files_name_the_key(tmp_path: Path) -> None:
    assert load_escalations(REPO / "config" / "escalations.yaml") == EscalationConfig()
    assert load_escalations(tmp_path / "missing.yaml") == EscalationConfig()
    bad = tmp_path / "escalations.yaml"
    bad.write_text("business_hours:\n  start: '18:00'\n  end: '08:00'\n")
    with pytest.raises(EscalationConfigError, match=r"escalations\.yaml: key 'business_hours'"):
        load_escalations(bad)
    bad.write_text("rules:\n  unacknowledged:\n    after_business_hours: 0\n")
    with pytest.raises(EscalationConfigError, match=r"key 'rules\.unacknowledged\.after_business_hours'"):
        load_escalations(bad)
    bad.write_text("delivery:\n  leads_channel: false\n")
    with pytest.raises(EscalationConfigError, match="key 'delivery'"):
        load_escalations(bad)
    bad.write_text("rules: [\n")
    with pytest.raises(EscalationConfigError, match="not valid YAML"):
        load_escalations(bad)
    assert BusinessHours(start=time(7, 30)).start == time(7, 30)
