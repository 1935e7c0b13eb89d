"""The payers' memory of corrected (frequency 7) and void (8) claims, shared by every sandbox route.

One `CorrectionsBook` serves the whole sandbox world (sandbox/servers.py hands the same one to the
three portals and the clearinghouse), so a correction typed into SUNRISE's form is what the
clearinghouse's 276/277 answers next, and one sent in an 837P batch is what the portal shows.
`POST /__admin/reset` on any server empties it. `GET /__admin/corrections` lists it.

The rules, as a payer applies them (the codes are X12 claim status category:status codes):

- A correction names the payer's claim number of the claim it corrects (837P REF*F8, the form's
  "original claim number"). Missing: refused `A6:464`; a number this payer never gave (or one of
  another claim than the one the form is for): `A7:464` (payer claim control number invalid).
- The claim must be finalized and not already corrected and in process: a claim the payer is still
  working on (pending, information requested, or a correction of it not yet finalized) is refused as
  a duplicate awaiting processing, `A3:78`; a replacement of a claim paid in full is a duplicate of a
  processed claim, `A3:54` (so is anything sent for a voided claim). Quoting a number a correction
  has since replaced, once that correction is finalized, is `A7:495` (quote the newer number).
- An accepted correction gets a new payer claim number (ICN) and a confirmation number (numbered in
  order from the world's reference date, so a run gives the same numbers every time), and is
  answered `P1:20` (in process) until `correction_delay_s` (a fault field, default 0) has passed
  since it arrived; then it is finalized:
  - a **void** (8): `F0:686` (adjudication complete, the whole claim voided), nothing paid. X12's
    277 has no "voided" category: F0 (finalized, no further action) with status 686 is the code for
    it; the ledger reads F0 as `finalized`.
  - a **replacement** (7) is adjudicated line by line against the claim it replaces. It *fixes* the
    claim when it changes the diagnosis codes or the rendering NPI, or a denied line's procedure
    code, modifiers or units (or the number of lines). A fixed claim pays every line at its allowed
    amount (the original's where it had one, else the payer's fee schedule; CO-45 for the rest);
    without a fix, lines paid before stay paid and denied lines are denied again with the same
    reasons. A replacement identical to the claim it replaces is a duplicate: every line CO-18
    (N522), `F2:54`. The result is `F1:65` (paid), `F1:107` (partly paid) or `F2:1` (denied).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.codes import Outcome
from sandbox.dataset import ALLOWED_FACTOR
from sandbox.models import (
    Adjustment,
    PayerId,
    PayerRecord,
    PaymentRun,
    SandboxClaim,
    SandboxWorld,
    ServiceLine,
)
from sandbox.runtime import ADMIN_PREFIX

FrequencyCode = Literal["7", "8"]
ZERO = Decimal("0.00")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CorrectedLine(_Frozen):
    """One service line of a correction as the practice sent it."""

    procedure_code: str
    modifiers: tuple[str, ...] = ()
    units: int = 1
    charge: Decimal
    service_date: date | None = None


class CorrectionSubmission(_Frozen):
    """A corrected or void claim as one route received it (the portal's form, an 837P claim)."""

    payer_id: str
    claim_id: str  # CLM01, or the claim whose page the form was opened from
    frequency_code: FrequencyCode
    original_claim_number: str
    lines: tuple[CorrectedLine, ...]
    diagnosis_codes: tuple[str, ...]
    rendering_npi: str
    reason: str = ""


class CorrectionVerdict(_Frozen):
    """The payer's answer to a correction: accepted (with the new numbers) or why it was refused."""

    accepted: bool
    category_code: str
    status_code: str
    entity_code: str | None = None
    message: str
    claim_id: str | None = None  # the practice's claim the correction applies to
    payer_claim_number: str | None = None  # the new ICN
    confirmation_number: str | None = None


class CorrectionEntry(_Frozen):
    """One accepted correction, as `GET /__admin/corrections` lists it."""

    claim_id: str
    payer_id: str
    frequency_code: FrequencyCode
    original_claim_number: str
    payer_claim_number: str
    confirmation_number: str
    finalized: bool
    outcome: Outcome


@dataclass(frozen=True)
class _Correction:
    submission: CorrectionSubmission
    claim_id: str
    payer_claim_number: str
    confirmation_number: str
    final_at: float
    pending: SandboxClaim
    final: SandboxClaim


_IN_PROCESS = frozenset({Outcome.PENDING, Outcome.INFO_REQUESTED})


def _refusal(category: str, status: str, message: str) -> CorrectionVerdict:
    return CorrectionVerdict(accepted=False, category_code=category, status_code=status, message=message)


class CorrectionsBook:
    """Accepted corrections by the practice's claim id; thread-safe (servers may run in threads)."""

    def __init__(
        self,
        world: SandboxWorld,
        *,
        clock: Callable[[], float] = time.monotonic,
        today: date | None = None,
    ) -> None:
        self.world = world
        self._clock = clock
        self._today = today or world.reference_date  # the world's own today: the same numbers every run
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._given: dict[str, list[_Correction]] = {}  # claim id -> its corrections, oldest first
        self._icns: dict[tuple[str, str], str] = {}  # (payer, ICN upper) -> claim id, for every ICN given
        for claim in world.claims:
            if claim.payer is not None and claim.payer.payer_claim_number:
                self._icns[(claim.payer_id, claim.payer.payer_claim_number.upper())] = claim.claim_id

    # --- reading -------------------------------------------------------------------------------
    def current(self, claim: SandboxClaim) -> SandboxClaim:
        """The claim as the payer holds it now: its latest correction (pending or final), else as billed."""
        with self._lock:
            latest = self._latest(claim.claim_id)
        if latest is None:
            return claim
        return latest.final if self._clock() >= latest.final_at else latest.pending

    def claim_for_number(self, payer_id: str, number: str) -> str | None:
        """The claim a correction's new ICN (or its own CLM01) names, for look-ups by number."""
        key = number.strip().upper()
        with self._lock:
            for corrections in self._given.values():
                for correction in corrections:
                    if correction.submission.payer_id.upper() != payer_id.upper():
                        continue
                    if key in (correction.payer_claim_number.upper(), correction.submission.claim_id.upper()):
                        return correction.claim_id
        return None

    def entries(self) -> list[CorrectionEntry]:
        with self._lock:
            given = [c for corrections in self._given.values() for c in corrections]
        now = self._clock()
        entries = []
        for c in given:
            record = (c.final if now >= c.final_at else c.pending).payer
            assert record is not None
            entries.append(
                CorrectionEntry(
                    claim_id=c.claim_id,
                    payer_id=c.pending.payer_id,
                    frequency_code=c.submission.frequency_code,
                    original_claim_number=c.submission.original_claim_number,
                    payer_claim_number=c.payer_claim_number,
                    confirmation_number=c.confirmation_number,
                    finalized=now >= c.final_at,
                    outcome=record.outcome,
                )
            )
        return entries

    def clear(self) -> None:
        with self._lock:
            for corrections in self._given.values():
                for correction in corrections:
                    self._icns.pop((correction.pending.payer_id, correction.payer_claim_number.upper()), None)
            self._given.clear()

    # --- judging -------------------------------------------------------------------------------
    def check(self, submission: CorrectionSubmission) -> CorrectionVerdict:
        """What the payer would answer, without recording anything (the portal's review step)."""
        with self._lock:
            judged = self._judge(submission)
        if isinstance(judged, CorrectionVerdict):
            return judged
        return CorrectionVerdict(
            accepted=True, category_code="A2", status_code="20", message="ready to submit", claim_id=judged.claim_id
        )

    def submit(self, submission: CorrectionSubmission, *, delay_s: float = 0.0) -> CorrectionVerdict:
        """Judge and, when accepted, record the correction: a new ICN, pending until `delay_s` has passed."""
        with self._lock:
            judged = self._judge(submission)
            if isinstance(judged, CorrectionVerdict):
                return judged
            number = next(self._numbers)
            today = self._today
            icn = self._new_icn(judged.payer_id, today, number)
            confirmation = f"{judged.payer_id[:2]}C{today:%y%m%d}{number:04d}"
            pending = _pending(judged, submission, icn, today)
            final = _final(self._current_locked(judged), submission, icn, today, number)
            correction = _Correction(
                submission=submission,
                claim_id=judged.claim_id,
                payer_claim_number=icn,
                confirmation_number=confirmation,
                final_at=self._clock() + delay_s,
                pending=pending,
                final=final,
            )
            self._given.setdefault(judged.claim_id, []).append(correction)
            self._icns[(judged.payer_id, icn.upper())] = judged.claim_id
        return CorrectionVerdict(
            accepted=True,
            category_code="A2",
            status_code="20",
            message="correction accepted for processing",
            claim_id=judged.claim_id,
            payer_claim_number=icn,
            confirmation_number=confirmation,
        )

    def _latest(self, claim_id: str) -> _Correction | None:
        corrections = self._given.get(claim_id)
        return corrections[-1] if corrections else None

    def _current_locked(self, claim: SandboxClaim) -> SandboxClaim:
        latest = self._latest(claim.claim_id)
        if latest is None:
            return claim
        return latest.final if self._clock() >= latest.final_at else latest.pending

    def _judge(self, submission: CorrectionSubmission) -> CorrectionVerdict | SandboxClaim:
        """The claim the correction applies to, or the refusal. Called with the lock held."""
        payer_id = submission.payer_id.upper()
        number = submission.original_claim_number.strip().upper()
        if not number:
            return _refusal("A6", "464", "The original claim number is required for a corrected or void claim.")
        claim_id = self._icns.get((payer_id, number))
        if claim_id is None:
            return _refusal("A7", "464", "The original claim number does not match a claim we processed.")
        named = self.world.claims_by_id.get(submission.claim_id)
        if named is not None and named.payer_id == payer_id and named.claim_id != claim_id:
            return _refusal("A7", "464", "The original claim number belongs to another claim.")
        claim = self.world.claims_by_id[claim_id]
        current = self._current_locked(claim)
        record = current.payer
        assert record is not None
        in_process = record.outcome in _IN_PROCESS
        if record.payer_claim_number is not None and record.payer_claim_number.upper() != number:
            if in_process:
                return _refusal("A3", "78", "A correction of this claim is already being processed.")
            return _refusal("A7", "495", "This claim was replaced: quote its newer payer claim number.")
        if in_process:
            return _refusal("A3", "78", "This claim is still being processed; wait for its decision.")
        if record.outcome == Outcome.VOIDED:
            return _refusal("A3", "54", "This claim was voided and cannot be corrected.")
        if submission.frequency_code == "7" and record.outcome == Outcome.PAID:
            return _refusal("A3", "54", "This claim was paid as billed: a replacement would be a duplicate.")
        return claim

    def _new_icn(self, payer_id: str, today: date, number: int) -> str:
        """A new ICN in the payer's own format (as sandbox/dataset.py makes them), never one given before."""
        julian = today.strftime("%y%j")
        for attempt in itertools.count(number):
            icn = {
                "SUNRISE": f"SR{julian}9{attempt:05d}",
                "MERIDIAN": f"M{today:%Y%m%d}9{attempt:04d}",
            }.get(payer_id, f"21{julian}9{attempt:05d}")
            if (payer_id, icn.upper()) not in self._icns:
                return icn
        raise AssertionError("unreachable")  # itertools.count never ends


# --- the payer's view of a correction ------------------------------------------------------------


def _lines(claim: SandboxClaim, submission: CorrectionSubmission) -> list[ServiceLine]:
    """The correction's lines, unadjudicated, with dates and pointers from the lines they replace."""
    lines = []
    for number, sent in enumerate(submission.lines, start=1):
        before = claim.lines[min(number, len(claim.lines)) - 1]
        pointers = tuple(p for p in before.diagnosis_pointers if p <= max(1, len(submission.diagnosis_codes)))
        day_from = sent.service_date or before.service_date_from
        lines.append(
            ServiceLine(
                line_number=number,
                procedure_code=sent.procedure_code,
                modifiers=sent.modifiers,
                units=sent.units,
                charge=sent.charge,
                diagnosis_pointers=pointers or (1,),
                service_date_from=day_from,
                service_date_to=day_from if sent.service_date else before.service_date_to,
            )
        )
    return lines


def _pending(claim: SandboxClaim, submission: CorrectionSubmission, icn: str, today: date) -> SandboxClaim:
    record = PayerRecord(
        outcome=Outcome.PENDING, category_code="P1", status_code="20", payer_claim_number=icn, received_date=today
    )
    return _as_sent(claim, submission, _lines(claim, submission), record)


def _as_sent(
    claim: SandboxClaim, submission: CorrectionSubmission, lines: list[ServiceLine], record: PayerRecord
) -> SandboxClaim:
    return claim.model_copy(
        update={
            "lines": tuple(lines),
            "diagnosis_codes": submission.diagnosis_codes or claim.diagnosis_codes,
            "rendering_npi": submission.rendering_npi or claim.rendering_npi,
            "payer": record,
        }
    )


def _same_codes(first: tuple[str, ...], second: tuple[str, ...]) -> bool:
    return [c.replace(".", "").upper() for c in first] == [c.replace(".", "").upper() for c in second]


def _final(before: SandboxClaim, submission: CorrectionSubmission, icn: str, today: date, number: int) -> SandboxClaim:
    """The finalized answer to an accepted correction of `before` (the claim as the payer held it)."""
    lines = _lines(before, submission)
    if submission.frequency_code == "8":
        voided = [line.model_copy(update={"allowed": ZERO, "paid": ZERO, "adjustments": ()}) for line in lines]
        record = PayerRecord(
            outcome=Outcome.VOIDED,
            category_code="F0",
            status_code="686",
            payer_claim_number=icn,
            received_date=today,
            processed_date=today,
        )
        return _as_sent(before, submission, voided, record)
    claim_level_changed = not _same_codes(submission.diagnosis_codes, before.diagnosis_codes) or (
        submission.rendering_npi != before.rendering_npi
    )
    same_count = len(lines) == len(before.lines)

    def changed(line: ServiceLine, old: ServiceLine) -> bool:
        return (line.procedure_code, line.modifiers, line.units) != (old.procedure_code, old.modifiers, old.units)

    identical = (
        same_count
        and not claim_level_changed
        and all(not changed(n, o) and n.charge == o.charge for n, o in zip(lines, before.lines, strict=True))
    )
    fixed = claim_level_changed or not same_count
    fixed = fixed or any(changed(n, o) and o.paid == 0 for n, o in zip(lines, before.lines, strict=False))
    adjudicated: list[ServiceLine] = []
    for index, line in enumerate(lines):
        old = before.lines[index] if index < len(before.lines) else None
        if identical:
            duplicate = Adjustment(group="CO", carc="18", rarc="N522", amount=line.charge)
            adjudicated.append(line.model_copy(update={"adjustments": (duplicate,)}))
        elif old is not None and not changed(line, old) and line.charge == old.charge and (old.paid > 0 or not fixed):
            adjudicated.append(line.model_copy(update={k: getattr(old, k) for k in ("allowed", "paid", "adjustments")}))
        else:
            adjudicated.append(_paid_line(line, old, before.payer_id))
    paid = sum((line.paid for line in adjudicated), ZERO)
    if identical:
        outcome, category, status = Outcome.DENIED, "F2", "54"
    elif paid == 0:
        outcome, category, status = Outcome.DENIED, "F2", "1"
    elif all(line.paid > 0 for line in adjudicated):
        outcome, category, status = Outcome.PAID, "F1", "65"
    else:
        outcome, category, status = Outcome.PARTIALLY_PAID, "F1", "107"
    record = PayerRecord(
        outcome=outcome,
        category_code=category,
        status_code=status,
        payer_claim_number=icn,
        received_date=today,
        processed_date=today,
        allowed=sum((line.allowed for line in adjudicated), ZERO),
        paid=paid,
        patient_responsibility=sum(
            (a.amount for line in adjudicated for a in line.adjustments if a.group == "PR"), ZERO
        ),
        payment=PaymentRun(trace_number=f"{today:%y%m%d}9{number:04d}", method="ACH", payment_date=today),
    )
    return _as_sent(before, submission, adjudicated, record)


def _paid_line(line: ServiceLine, old: ServiceLine | None, payer_id: PayerId) -> ServiceLine:
    """A line paid at its allowed amount: the original's when it had one for the same service, else the fee schedule."""
    same_service = old is not None and (old.procedure_code, old.units) == (line.procedure_code, line.units)
    if old is not None and same_service and old.allowed > 0:
        allowed = min(line.charge, old.allowed)
    else:
        allowed = min(line.charge, (line.charge * Decimal(str(ALLOWED_FACTOR[payer_id]))).quantize(Decimal("0.01")))
    adjustments = (Adjustment(group="CO", carc="45", amount=line.charge - allowed),) if line.charge > allowed else ()
    return line.model_copy(update={"allowed": allowed, "paid": allowed, "adjustments": adjustments})


def corrections_admin_route(book: CorrectionsBook) -> Route:
    """`GET /__admin/corrections`: every accepted correction, for tests and the demo."""

    async def list_corrections(_: Request) -> Response:
        return JSONResponse([entry.model_dump(mode="json") for entry in book.entries()])

    return Route(f"{ADMIN_PREFIX}/corrections", list_corrections, methods=["GET"])
