"""Intent -> typed Answer, from the ledger: what Slack's cards and `claimbot ask`'s text both render.

Answers carry no PHI: claim ids, payer, patient initials, codes with their official texts, amounts.
A payer's own status words may quote the patient, so they pass the claim's patient through a
PhiScrubber first; the patients of every claim an answer is about are also handed to `watch` (the
Slack app's outgoing-payload guard), so a leak that slipped past this module is still blocked.

A claim id that is not in the ledger is an answer too (NotFoundAnswer), with ids that look alike;
an id that is a patient's member id is never echoed back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import structlog
from pydantic import BaseModel, ConfigDict

from assistant.assignments import claims_of
from assistant.intents import Intent, IntentKind, PayerName, Window
from claimbot.settings import Settings
from claims.codesets import CodeKind, CodeSets
from claims.deadlines import current_check
from claims.ledger import ClaimSummary, Ledger
from claims.ledger.assistant_schema import assignments
from claims.ledger.money import from_cents
from claims.ledger.schema import claims, denials, events, patients, status_checks
from claims.models import CheckSource, Denial, EventKind, Patient, StatusCheck, utc_now
from claims.payer_config import SweepRules
from claims.phi import PhiScrubber
from claims.status import FINAL_STATUSES, UNINFORMATIVE_STATUSES, ClaimStatus
from claims.team import Actor

log = structlog.get_logger(__name__)

#: The denial playbook's next step for one denial of a payer (claims.denials), or None.
NextStep = Callable[[Denial, str], str | None]
Watch = Callable[[Iterable[Patient]], None]

DENIALS_SHOWN = 15
QUEUE_SHOWN = 20


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True)


class DenialReason(_Answer):
    group: str
    carc: str
    text: str  # "CO-50 Not deemed a medical necessity by the payer"
    remarks: tuple[str, ...] = ()  # "N290 Missing/incomplete rendering provider"
    amount: Decimal | None = None
    next_step: str | None = None


class StatusAnswer(_Answer):
    kind: Literal["status"] = "status"
    claim_id: str
    payer_id: str
    payer_name: str
    patient_initials: str
    status: ClaimStatus
    category_code: str | None = None
    category_text: str | None = None
    status_code: str | None = None
    status_text: str | None = None
    payer_words: str | None = None  # the payer's own text, scrubbed
    billed: Decimal
    paid: Decimal | None = None
    last_checked_at: datetime | None = None
    last_checked_route: CheckSource | None = None
    last_check_failed: bool = False
    next_check: date | None = None
    denials: tuple[DenialReason, ...] = ()
    assignee_name: str | None = None

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES


class NotFoundAnswer(_Answer):
    kind: Literal["not_found"] = "not_found"
    claim_id: str | None  # None: what was typed is a member id, and is not repeated
    similar: tuple[str, ...] = ()


class DenialRow(_Answer):
    claim_id: str
    payer_id: str
    status: ClaimStatus
    reasons: tuple[str, ...]
    billed: Decimal
    denied_at: datetime


class DenialsAnswer(_Answer):
    kind: Literal["denials"] = "denials"
    payer_id: str | None
    window: Window
    since: datetime
    rows: tuple[DenialRow, ...]
    total: int


class QueueAnswer(_Answer):
    kind: Literal["queue"] = "queue"
    actor_name: str
    rows: tuple[ClaimSummary, ...]


class HelpAnswer(_Answer):
    kind: Literal["help"] = "help"
    unknown_word: str | None = None


Answer = StatusAnswer | NotFoundAnswer | DenialsAnswer | QueueAnswer | HelpAnswer

#: The status card's claim row: built once (a `/claim status` pays for the query, not for building it).
_CARD_QUERY = (
    sa.select(
        claims.c.claim_id,
        claims.c.payer_id,
        claims.c.billed_cents,
        claims.c.submitted_date,
        claims.c.service_date_from,
        patients.c.last_name,
        patients.c.first_name,
        patients.c.date_of_birth,
        patients.c.member_id,
        assignments.c.assignee_name,
    )
    .join(patients, patients.c.id == claims.c.patient_id)
    .outerjoin(assignments, assignments.c.claim_pk == claims.c.id)
    .where(claims.c.claim_id == sa.bindparam("claim_id"))
)


def _patients_of(ledger: Ledger, claim_ids: Sequence[str]) -> list[Patient]:
    if not claim_ids:
        return []
    query = (
        sa.select(patients.c.last_name, patients.c.first_name, patients.c.date_of_birth, patients.c.member_id)
        .join(claims, claims.c.patient_id == patients.c.id)
        .where(claims.c.claim_id.in_(list(claim_ids)))
    )
    with ledger.engine.connect() as conn:
        return [
            Patient(
                last_name=r.last_name, first_name=r.first_name, date_of_birth=r.date_of_birth, member_id=r.member_id
            )
            for r in conn.execute(query)
        ]


class Answers:
    """Answers questions over one ledger. Cheap to build; holds the code sets and the payers' rules."""

    def __init__(
        self,
        ledger: Ledger,
        rules: Mapping[str, SweepRules] | None = None,
        next_step: NextStep | None = None,
        watch: Watch | None = None,
        codes: CodeSets | None = None,
        timezone: str = "UTC",
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.ledger = ledger
        self.rules = rules or {}
        self.next_step = next_step
        self.watch = watch
        self.codes = codes or CodeSets()
        self.zone = ZoneInfo(timezone)
        self.clock = clock
        self._payers = {p.id: p.name for p in ledger.payers()}

    @classmethod
    def from_settings(cls, ledger: Ledger, settings: Settings, watch: Watch | None = None) -> Answers:
        """With the payers' sweep rules (next check) and the denial playbook (next step) of this install."""
        from claims.denials import load_denial_playbook
        from claims.payer_config import PayerConfigError, load_payer_config

        try:
            rules = load_payer_config(settings.payers_file).rules()
        except PayerConfigError as error:
            log.warning("payer_rules_unavailable", error=str(error))
            rules = {}
        playbook = load_denial_playbook()
        return cls(
            ledger,
            rules,
            lambda denial, payer_id: playbook.recommend(denial, payer_id).next_step,
            watch,
            timezone=settings.schedule_timezone,
        )

    def payer_names(self) -> list[PayerName]:
        return [PayerName(id=payer_id, name=name) for payer_id, name in self._payers.items()]

    def answer(self, intent: Intent, actor: Actor) -> Answer:
        if intent.kind is IntentKind.STATUS and intent.claim_id:
            return self.status(intent.claim_id)
        if intent.kind is IntentKind.DENIALS:
            return self.denials(intent.payer_id, intent.window)
        if intent.kind is IntentKind.QUEUE:
            return self.queue(actor)
        return HelpAnswer(unknown_word=intent.unknown_word)

    # --- one claim -------------------------------------------------------------------------------

    def status(self, claim_id: str) -> StatusAnswer | NotFoundAnswer:
        """One query for the claim, its patient (for the guard) and its assignee, then its history."""
        with self.ledger.engine.connect() as conn:
            row = conn.execute(_CARD_QUERY, {"claim_id": claim_id}).first()
        if row is None:
            return self.not_found(claim_id)
        history = self.ledger.history(claim_id)
        patient = Patient(
            last_name=row.last_name, first_name=row.first_name, date_of_birth=row.date_of_birth, member_id=row.member_id
        )
        if self.watch is not None:
            self.watch([patient])
        current = current_check(history)
        latest = history[-1] if history else None
        # the ledger's rule (claims.ledger.Ledger.current_status): the current check, else submitted or unknown
        status = current.status if current else (ClaimStatus.SUBMITTED if row.submitted_date else ClaimStatus.UNKNOWN)
        return StatusAnswer(
            claim_id=row.claim_id,
            payer_id=row.payer_id,
            payer_name=self._payers.get(row.payer_id, row.payer_id),
            patient_initials=f"{row.first_name[:1]}.{row.last_name[:1]}.".upper(),
            status=status,
            category_code=current.category_code if current else None,
            category_text=self._describe(CodeKind.CATEGORY, current.category_code if current else None),
            status_code=current.status_code if current else None,
            status_text=self._describe(CodeKind.STATUS, current.status_code if current else None),
            payer_words=PhiScrubber([patient]).scrub(current.payer_status_text)
            if current and current.payer_status_text
            else None,
            billed=from_cents(row.billed_cents),
            paid=current.paid_amount if current else None,
            last_checked_at=latest.checked_at if latest else None,
            last_checked_route=latest.source if latest else None,
            last_check_failed=latest is not None and latest.status in UNINFORMATIVE_STATUSES,
            next_check=self._next_check(row.payer_id, status, row.submitted_date or row.service_date_from, latest),
            denials=self._reasons(current, row.payer_id) if current else (),
            assignee_name=row.assignee_name,
        )

    def _describe(self, kind: CodeKind, code: str | None) -> str | None:
        if not code:
            return None
        found = self.codes.describe(kind, code)
        return found.description if found else None

    def _reasons(self, check: StatusCheck, payer_id: str) -> tuple[DenialReason, ...]:
        return tuple(
            DenialReason(
                group=d.group.value,
                carc=d.carc,
                text=self.codes.denial_text(d.group.value, d.carc),
                remarks=tuple(self.codes.remark_text(r) for r in d.rarcs),
                amount=d.amount,
                next_step=self.next_step(d, payer_id) if self.next_step else None,
            )
            for d in check.denials
        )

    def _next_check(self, payer_id: str, status: ClaimStatus, start: date, latest: StatusCheck | None) -> date | None:
        """When the nightly sweep asks next (bots.planner's intervals), None once the claim is final."""
        rules = self.rules.get(payer_id)
        if status in FINAL_STATUSES or rules is None:
            return None
        today = self.clock().astimezone(self.zone).date()
        if latest is None:
            return max(today, start + timedelta(days=rules.first_check_after_days))
        said = latest.status if latest.status in UNINFORMATIVE_STATUSES else status
        interval = rules.recheck_days.get(said, rules.recheck_days.get(ClaimStatus.UNKNOWN, 1))
        return max(today, latest.checked_at.astimezone(self.zone).date() + timedelta(days=interval))

    def not_found(self, typed: str) -> NotFoundAnswer:
        with self.ledger.engine.connect() as conn:
            is_member_id = conn.execute(sa.select(patients.c.id).where(patients.c.member_id == typed).limit(1)).first()
            if is_member_id is not None:
                return NotFoundAnswer(claim_id=None)
            similar = conn.execute(
                sa.select(claims.c.claim_id)
                .where(sa.or_(claims.c.claim_id.like(f"{typed}%"), sa.func.upper(claims.c.claim_id) == typed.upper()))
                .order_by(claims.c.claim_id)
                .limit(3)
            ).scalars()
            return NotFoundAnswer(claim_id=typed, similar=tuple(similar))

    # --- lists -----------------------------------------------------------------------------------

    def _since(self, window: Window) -> datetime:
        local_today = self.clock().astimezone(self.zone).date()
        start = local_today if window is Window.TODAY else local_today - timedelta(days=6)
        return datetime.combine(start, time.min, tzinfo=self.zone)

    def denials(self, payer_id: str | None, window: Window) -> DenialsAnswer:
        """Denials recorded in the window (the events outbox: one per claim that became denied)."""
        since = self._since(window)
        where = [
            events.c.kind.in_([EventKind.DENIED.value, EventKind.PARTIALLY_PAID.value]),
            events.c.created_at >= since,
        ]
        if payer_id:
            where.append(events.c.payer_id == payer_id)
        with self.ledger.engine.connect() as conn:
            total = int(conn.execute(sa.select(sa.func.count()).select_from(events).where(*where)).scalar_one())
            rows = conn.execute(
                sa.select(
                    events.c.payload, events.c.created_at, claims.c.claim_id, claims.c.payer_id, claims.c.billed_cents
                )
                .join(claims, claims.c.id == events.c.claim_pk)
                .where(*where)
                .order_by(events.c.created_at.desc(), events.c.id.desc())
                .limit(DENIALS_SHOWN)
            ).all()
            check_ids = [
                int(r.payload["status_check_id"]) for r in rows if r.payload.get("status_check_id") is not None
            ]
            codes: dict[int, list[str]] = {}
            status_of: dict[int, str] = {}
            if check_ids:
                for d in conn.execute(
                    sa.select(denials.c.status_check_id, denials.c.group_code, denials.c.carc)
                    .where(denials.c.status_check_id.in_(check_ids))
                    .order_by(denials.c.id)
                ):
                    codes.setdefault(d.status_check_id, []).append(self.codes.denial_text(d.group_code, d.carc))
                for s in conn.execute(
                    sa.select(status_checks.c.id, status_checks.c.status).where(status_checks.c.id.in_(check_ids))
                ):
                    status_of[s.id] = s.status
        found = []
        for r in rows:
            check_id = r.payload.get("status_check_id")
            key = int(check_id) if check_id is not None else -1
            found.append(
                DenialRow(
                    claim_id=r.claim_id,
                    payer_id=r.payer_id,
                    status=ClaimStatus(status_of.get(key, ClaimStatus.DENIED.value)),
                    reasons=tuple(dict.fromkeys(codes.get(key, []))),
                    billed=from_cents(r.billed_cents),
                    denied_at=r.created_at,
                )
            )
        if self.watch is not None:
            self.watch(_patients_of(self.ledger, [row.claim_id for row in found]))
        return DenialsAnswer(payer_id=payer_id, window=window, since=since, rows=tuple(found), total=total)

    def queue(self, actor: Actor) -> QueueAnswer:
        ids = claims_of(self.ledger, actor, QUEUE_SHOWN)
        if self.watch is not None:
            self.watch(_patients_of(self.ledger, ids))
        return QueueAnswer(actor_name=actor.name, rows=tuple(self.ledger.summary(claim_id) for claim_id in ids))
