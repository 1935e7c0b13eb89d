"""Escalations to the team leads: the rules of config/escalations.yaml, evaluated over ledger facts.

The rules (each can be turned off):
- `denial_above`: a denial alert whose denied amount is above `amount`;
- `unresolved`: a claim in one of `statuses` submitted more than `after_days` ago;
- `timely_filing`: a claim whose timely-filing deadline is within `within_days`, with the amount at risk;
- `bot_failure`: a bot failure or a failed canary (portal down, sign-in refused, layout changed), with
  its evidence reference;
- `unacknowledged`: a denial alert nobody acknowledged within `after_business_hours`; it escalates
  again every `repeat_every_business_hours`, at most `max_repeats` times; a snooze holds it until the
  snooze ends and then starts the count again.

Evaluation is pure (`due_escalations`: facts and a clock in, escalations out) so it is tested with a
fake clock; every escalation has a dedupe key, which the ledger keeps unique, so a rule that still
holds on the next pass escalates nothing twice. Business hours (`BusinessHours`) are counted in one
time zone (the schedule's unless the file names one), on the listed weekdays between start and end.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from assistant.cards import money
from claims.models import Event, EventKind
from claims.status import ClaimStatus
from claims.validation import plain_problems

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class EscalationConfigError(ValueError):
    """The escalations file cannot be used; the message names the file and the key, never a value."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BusinessHours(_Strict):
    """When someone is expected to answer an alert: `days` from `start` to `end` in `timezone`."""

    timezone: str | None = Field(default=None, description="IANA zone; null: the schedule's time zone")
    days: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")
    start: time = time(8, 0)
    end: time = time(18, 0)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (KeyError, ValueError) as err:
                raise ValueError("not a known IANA time zone") from err
        return value

    @model_validator(mode="after")
    def _start_before_end(self) -> BusinessHours:
        if self.start >= self.end:
            raise ValueError("start must be before end")
        return self

    def zone(self, fallback: str) -> ZoneInfo:
        return ZoneInfo(self.timezone or fallback)

    def hours_between(self, since: datetime, until: datetime, zone: ZoneInfo) -> float:
        """Business hours from `since` to `until` (0 when until is not later)."""
        if until <= since:
            return 0.0
        total = timedelta()
        day = since.astimezone(zone).date()
        last = until.astimezone(zone).date()
        while day <= last:
            if WEEKDAYS[day.weekday()] in self.days:
                opens = datetime.combine(day, self.start, zone)
                closes = datetime.combine(day, self.end, zone)
                overlap = min(closes, until) - max(opens, since)
                if overlap > timedelta():
                    total += overlap
            day += timedelta(days=1)
        return total.total_seconds() / 3600


class DenialAboveRule(_Strict):
    enabled: bool = True
    amount: Decimal = Field(default=Decimal("1000.00"), ge=0, description="denied amount above which leads hear")


class UnresolvedRule(_Strict):
    enabled: bool = True
    after_days: int = Field(default=45, ge=1, description="days since submission")
    statuses: tuple[ClaimStatus, ...] = (
        ClaimStatus.DENIED,
        ClaimStatus.PARTIALLY_PAID,
        ClaimStatus.REJECTED,
        ClaimStatus.INFO_REQUESTED,
        ClaimStatus.NOT_FOUND,
    )


class TimelyFilingRule(_Strict):
    enabled: bool = True
    within_days: int = Field(default=14, ge=0, description="days left before the timely-filing deadline")


class BotFailureRule(_Strict):
    enabled: bool = True


class UnacknowledgedRule(_Strict):
    enabled: bool = True
    after_business_hours: float = Field(default=4, gt=0)
    repeat_every_business_hours: float | None = Field(default=8, gt=0, description="null: escalate once")
    max_repeats: int = Field(default=3, ge=1, description="escalations per alert at most, the first included")


class ManualRule(_Strict):
    """The status card's Escalate button (someone escalates a claim by hand)."""

    window_hours: float = Field(
        default=24, gt=0, le=24 * 30, description="the same claim escalated again within this many hours posts nothing"
    )


class Rules(_Strict):
    denial_above: DenialAboveRule = DenialAboveRule()
    unresolved: UnresolvedRule = UnresolvedRule()
    timely_filing: TimelyFilingRule = TimelyFilingRule()
    bot_failure: BotFailureRule = BotFailureRule()
    unacknowledged: UnacknowledgedRule = UnacknowledgedRule()
    manual: ManualRule = ManualRule()


class Delivery(_Strict):
    leads_channel: bool = Field(default=True, description="post in the leads channel (SLACK_LEADS_CHANNEL)")
    mention_lead_group: bool = Field(default=True, description="mention the lead user group (team.yaml)")
    dm_leads: bool = Field(default=False, description="also DM every lead listed in team.yaml")

    @model_validator(mode="after")
    def _somewhere(self) -> Delivery:
        if not (self.leads_channel or self.dm_leads):
            raise ValueError("escalations need leads_channel, dm_leads or both")
        return self


class AlertOptions(_Strict):
    group_when_at_least: int = Field(
        default=5, ge=2, description="denials of one payer found by one run that share one message"
    )
    snooze_hours: tuple[Annotated[int, Field(ge=1, le=168)], ...] = Field(default=(4, 24), min_length=1)
    batch: int = Field(default=200, ge=1, le=1000, description="outbox events read per pass")


class EscalationConfig(_Strict):
    """The whole config/escalations.yaml."""

    business_hours: BusinessHours = BusinessHours()
    alerts: AlertOptions = AlertOptions()
    delivery: Delivery = Delivery()
    rules: Rules = Rules()


def load_escalations(path: Path) -> EscalationConfig:
    """The escalations file; a missing file means the defaults above."""
    if not path.exists():
        return EscalationConfig()
    try:
        raw = yaml.safe_load(path.read_text("utf-8"))
    except OSError as err:
        raise EscalationConfigError(f"{path}: cannot read the escalations file ({err.strerror})") from err
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise EscalationConfigError(f"{path}: {where}not valid YAML") from err
    try:
        return EscalationConfig.model_validate(raw or {})
    except ValidationError as err:
        first = plain_problems(err)[0]
        raise EscalationConfigError(f"{path}: key '{first.key}': {first.message}") from err


# --- facts the rules read (PHI-free: ids, codes, amounts, dates) ------------------------------------


class RuleName(StrEnum):
    DENIAL_ABOVE = "denial_above"
    UNRESOLVED = "unresolved"
    TIMELY_FILING = "timely_filing"
    BOT_FAILURE = "bot_failure"
    UNACKNOWLEDGED = "unacknowledged"
    MANUAL = "manual"  # someone pressed Escalate


class AlertFacts(_Strict):
    """One denial alert as the rules see it."""

    alert_id: int
    claim_id: str
    payer_id: str
    denied_amount: Decimal
    reasons: tuple[str, ...]
    posted_at: datetime | None  # None: not in Slack yet, so nobody could acknowledge it
    acknowledged_at: datetime | None = None
    snoozed_until: datetime | None = None
    closed_at: datetime | None = None


class ClaimFacts(_Strict):
    claim_id: str
    payer_id: str
    status: ClaimStatus
    submitted_date: date | None
    billed_amount: Decimal


class DeadlineFacts(_Strict):
    claim_id: str
    payer_id: str
    deadline: date
    amount_at_risk: Decimal


class Escalation(_Strict):
    """One thing the leads must hear about. `dedupe_key` makes it once-only in the ledger."""

    rule: RuleName
    dedupe_key: str = Field(min_length=1, max_length=200)
    claim_id: str | None = None
    payer_id: str | None = None
    alert_id: int | None = None
    repeat: int = 1
    amount: Decimal | None = None
    detail: str = Field(description="one PHI-free line: ids, codes, amounts, dates")
    evidence_ref: str | None = None


def unacknowledged_level(
    alert: AlertFacts, now: datetime, rule: UnacknowledgedRule, hours: BusinessHours, zone: ZoneInfo
) -> int:
    """How many escalations an unacknowledged alert is due by now (0: none yet)."""
    if alert.posted_at is None or alert.acknowledged_at is not None or alert.closed_at is not None:
        return 0
    start = alert.posted_at
    if alert.snoozed_until is not None:
        if alert.snoozed_until > now:
            return 0
        start = max(start, alert.snoozed_until)
    waited = hours.hours_between(start, now, zone)
    if waited < rule.after_business_hours:
        return 0
    if rule.repeat_every_business_hours is None:
        return 1
    return min(rule.max_repeats, 1 + int((waited - rule.after_business_hours) // rule.repeat_every_business_hours))


def due_escalations(
    config: EscalationConfig,
    schedule_timezone: str,
    now: datetime,
    alerts: Iterable[AlertFacts] = (),
    claims: Iterable[ClaimFacts] = (),
    deadlines: Iterable[DeadlineFacts] = (),
) -> list[Escalation]:
    """Every escalation the rules call for now. Some may have been sent already: the ledger's unique
    dedupe key drops those, so this stays a pure function of the facts and the clock."""
    rules, hours = config.rules, config.business_hours
    zone = hours.zone(schedule_timezone)
    found: list[Escalation] = []
    for alert in alerts:
        if alert.closed_at is not None:
            continue
        if rules.denial_above.enabled and alert.denied_amount > rules.denial_above.amount:
            found.append(
                Escalation(
                    rule=RuleName.DENIAL_ABOVE,
                    dedupe_key=f"esc:denial_above:{alert.alert_id}",
                    claim_id=alert.claim_id,
                    payer_id=alert.payer_id,
                    alert_id=alert.alert_id,
                    amount=alert.denied_amount,
                    detail=f"claim {alert.claim_id} ({alert.payer_id}) denied {money(alert.denied_amount)}, "
                    f"above {money(rules.denial_above.amount)}: {', '.join(alert.reasons) or 'no reason code'}",
                )
            )
        if rules.unacknowledged.enabled:
            level = unacknowledged_level(alert, now, rules.unacknowledged, hours, zone)
            if level:
                since = alert.snoozed_until.isoformat() if alert.snoozed_until else "posted"
                found.append(
                    Escalation(
                        rule=RuleName.UNACKNOWLEDGED,
                        dedupe_key=f"esc:unacknowledged:{alert.alert_id}:{since}:{level}",
                        claim_id=alert.claim_id,
                        payer_id=alert.payer_id,
                        alert_id=alert.alert_id,
                        repeat=level,
                        amount=alert.denied_amount,
                        detail=f"denial alert for claim {alert.claim_id} ({alert.payer_id}, "
                        f"{money(alert.denied_amount)}) not acknowledged after "
                        f"{rules.unacknowledged.after_business_hours:g} business hours"
                        + (f" (reminder {level})" if level > 1 else ""),
                    )
                )
    if rules.unresolved.enabled:
        oldest = now.astimezone(zone).date() - timedelta(days=rules.unresolved.after_days)
        for claim in claims:
            if claim.status in rules.unresolved.statuses and claim.submitted_date and claim.submitted_date < oldest:
                days = (now.astimezone(zone).date() - claim.submitted_date).days
                found.append(
                    Escalation(
                        rule=RuleName.UNRESOLVED,
                        dedupe_key=f"esc:unresolved:{claim.claim_id}",
                        claim_id=claim.claim_id,
                        payer_id=claim.payer_id,
                        amount=claim.billed_amount,
                        detail=f"claim {claim.claim_id} ({claim.payer_id}) {claim.status.value} "
                        f"{days} days after submission, {money(claim.billed_amount)} billed",
                    )
                )
    if rules.timely_filing.enabled:
        today = now.astimezone(zone).date()
        for deadline in deadlines:
            left = (deadline.deadline - today).days
            if 0 <= left <= rules.timely_filing.within_days:
                found.append(
                    Escalation(
                        rule=RuleName.TIMELY_FILING,
                        dedupe_key=f"esc:timely_filing:{deadline.claim_id}:{deadline.deadline.isoformat()}",
                        claim_id=deadline.claim_id,
                        payer_id=deadline.payer_id,
                        amount=deadline.amount_at_risk,
                        detail=f"claim {deadline.claim_id} ({deadline.payer_id}): timely filing ends "
                        f"{deadline.deadline.isoformat()} ({left} days), {money(deadline.amount_at_risk)} at risk",
                    )
                )
    return found


def bot_failure_escalation(config: EscalationConfig, event: Event) -> Escalation | None:
    """A bot failure or failed canary from the outbox, with its evidence reference; None when off."""
    if not config.rules.bot_failure.enabled or event.kind not in (EventKind.BOT_FAILURE, EventKind.CANARY_FAILED):
        return None
    what = "canary failed" if event.kind is EventKind.CANARY_FAILED else "bot failure"
    reason = event.payload.get("reason") or event.payload.get("why") or "unknown"
    evidence = event.payload.get("evidence_ref")
    sweep = f", sweep {event.sweep_id}" if event.sweep_id is not None else ""
    return Escalation(
        rule=RuleName.BOT_FAILURE,
        dedupe_key=f"esc:bot_failure:{event.dedupe_key}",
        payer_id=event.payer_id,
        detail=f"{what} at {event.payer_id}{sweep}: {reason}",
        evidence_ref=evidence if isinstance(evidence, str) else None,
    )


def manual_escalation(alert: AlertFacts, by_user: str, at: datetime) -> Escalation:
    """Someone pressed Escalate on an alert: once per person and alert."""
    return Escalation(
        rule=RuleName.MANUAL,
        dedupe_key=f"esc:manual:{alert.alert_id}:{by_user}",
        claim_id=alert.claim_id,
        payer_id=alert.payer_id,
        alert_id=alert.alert_id,
        amount=alert.denied_amount,
        detail=f"<@{by_user}> escalated the denial of claim {alert.claim_id} ({alert.payer_id}, "
        f"{money(alert.denied_amount)}) at {at.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
    )


CARD_KEY = "esc:card:"


def card_escalation_key(claim_id: str, number: int) -> str:
    """The `number`th escalation of this claim from its status card: one per dedupe window (the ledger's
    unique key makes two clicks at once one escalation)."""
    return f"{CARD_KEY}{claim_id}:{number}"


def card_escalation(
    claim_id: str,
    payer_id: str,
    status: ClaimStatus,
    billed: Decimal,
    by_user: str,
    at: datetime,
    number: int,
    alert_id: int | None = None,
) -> Escalation:
    """Someone pressed Escalate on a claim's status card: once per claim within `rules.manual.window_hours`
    (whoever presses); on the claim's denial alert too when it has one (a note in its thread)."""
    return Escalation(
        rule=RuleName.MANUAL,
        dedupe_key=card_escalation_key(claim_id, number),
        claim_id=claim_id,
        payer_id=payer_id,
        alert_id=alert_id,
        amount=billed,
        detail=f"<@{by_user}> escalated claim {claim_id} ({payer_id}, {status.value.replace('_', ' ')}, "
        f"{money(billed)} billed) from its status card at {at.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
    )


def by_rule(escalations: Sequence[Escalation]) -> dict[RuleName, list[Escalation]]:
    grouped: dict[RuleName, list[Escalation]] = {}
    for escalation in escalations:
        grouped.setdefault(escalation.rule, []).append(escalation)
    return grouped
