"""Batch answers to an 837P: the 999 at once, then a 277CA and the 835s the payers' truth implies.

- 999 (005010X231A1): one AK2 per transaction set; a wrong SE count or SE/ST control number mismatch
  rejects that set (IK5*R), which is what real translators check first.
- 277CA (005010X214): per claim, A2:20 accepted (with the payer's claim number) or a rejection:
  the claim's own rejection in the dataset, a bad NPI check digit (A7:562), a missing member id
  (A7:164), lines that do not add up to the total (A7:400), a payer we do not route to (A3:21).
  A corrected (CLM05-3 = 7) or void (8) claim that passes those edits goes to the payers' corrections
  book (sandbox/corrections.py): A2:20 with its new payer claim number, or the book's refusal
  (A6/A7:464 an original claim number that is missing or unknown, A3:78 / A3:54 duplicates, A7:495).
- 835 (005010X221A1): for claims the dataset has finalized, one transaction per payer payment (one
  check or EFT), each claim with its CAS adjustments and RARCs, balanced: charge − paid = adjustments;
  a replacement already final when the batch is answered (`correction_delay_s` 0) is in it too, under
  its new payer claim number (a void has no 835 here: its answer is the 277's F0:686).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel

from sandbox.codes import FINALIZED_OUTCOMES, Outcome
from sandbox.corrections import CorrectedLine, CorrectionsBook, CorrectionSubmission
from sandbox.dataset import npi_with_check_digit
from sandbox.models import PaymentRun, SandboxClaim, SandboxWorld
from sandbox.payer_book import PayerBook
from sandbox.x12 import Interchange, SubmittedClaim, TransactionSet, composite, d8, element, money

CLAIM_FILING_CODE = {"SUNRISE": "12", "MERIDIAN": "12", "KEYSTONE": "MB"}
#: Payer identifiers in TRN03 / BPR10 (1 + a made-up tax id).
PAYER_TRN_IDS = {"SUNRISE": "1990000101", "MERIDIAN": "1990000202", "KEYSTONE": "1990000303"}


class ClaimAcknowledgment(BaseModel):
    """The clearinghouse's verdict on one submitted claim (a 277CA claim level)."""

    claim: SubmittedClaim
    accepted: bool
    category_code: str
    status_code: str
    entity_code: str | None
    payer_claim_number: str | None


def implementation_ack(interchange: Interchange) -> TransactionSet:
    """The 999 for an 837P interchange: each transaction set accepted or rejected on its envelope."""
    transaction = TransactionSet("999", "005010X231A1")
    gs = next((s for s in interchange.segments if s[0] == "GS"), [])
    transaction.add("AK1", element(gs, 1) or "HC", element(gs, 6), element(gs, 8))
    sets = interchange.transactions()
    accepted = 0
    for segments in sets:
        st, se = segments[0], segments[-1]
        transaction.add("AK2", element(st, 1), element(st, 2), element(st, 3))
        if element(se, 1) != str(len(segments)):
            transaction.add("IK5", "R", "4")  # number of included segments does not match the count
        elif element(se, 2) != element(st, 2):
            transaction.add("IK5", "R", "3")  # ST/SE control numbers differ
        else:
            transaction.add("IK5", "A")
            accepted += 1
    verdict = "A" if accepted == len(sets) else ("P" if accepted else "R")
    transaction.add("AK9", verdict, str(len(sets)), str(len(sets)), str(accepted))
    return transaction


def acknowledge_claims(
    claims: list[SubmittedClaim],
    world: SandboxWorld,
    books: dict[str, PayerBook],
    corrections: CorrectionsBook,
    correction_delay_s: float = 0.0,
) -> list[ClaimAcknowledgment]:
    """Front-end edits of the clearinghouse and the payer, claim by claim; corrections go to the book."""
    verdicts = []
    for claim in claims:
        known = world.claims_by_id.get(claim.claim_id)
        record = known.payer if known is not None else None
        correcting = claim.frequency_code in ("7", "8")
        rejection: tuple[str, str, str | None] | None = None
        if record is not None and record.outcome == Outcome.REJECTED and not correcting:
            rejection = (record.category_code, record.status_code, record.entity_code)
        elif claim.payer_id.upper() not in books:
            rejection = ("A3", "21", "PR")
        elif not claim.member_id:
            rejection = ("A7", "164", "IL")
        elif not _valid_npi(claim.rendering_npi):
            rejection = ("A7", "562", "82")
        elif not _valid_npi(claim.billing_npi):
            rejection = ("A7", "562", "85")
        elif claim.total_charge != sum((line.charge for line in claim.lines), Decimal("0")):
            rejection = ("A7", "400", None)
        if rejection is not None:
            category, status, entity = rejection
            verdicts.append(
                ClaimAcknowledgment(
                    claim=claim,
                    accepted=False,
                    category_code=category,
                    status_code=status,
                    entity_code=entity,
                    payer_claim_number=None,
                )
            )
            continue
        if correcting:
            verdicts.append(_correction_verdict(claim, corrections, correction_delay_s))
            continue
        icn = record.payer_claim_number if record is not None else None
        verdicts.append(
            ClaimAcknowledgment(
                claim=claim,
                accepted=True,
                category_code="A2",
                status_code="20",
                entity_code=None,
                payer_claim_number=icn or _new_icn(claim),
            )
        )
    return verdicts


def _correction_verdict(claim: SubmittedClaim, corrections: CorrectionsBook, delay_s: float) -> ClaimAcknowledgment:
    """The payer's answer to a corrected or void claim of a batch (recorded in the book when accepted)."""
    submission = CorrectionSubmission(
        payer_id=claim.payer_id.upper(),
        claim_id=claim.claim_id,
        frequency_code="8" if claim.frequency_code == "8" else "7",
        original_claim_number=claim.original_claim_number or "",
        lines=tuple(
            CorrectedLine(
                procedure_code=line.procedure_code,
                modifiers=line.modifiers,
                units=_units(line.units),
                charge=line.charge,
                service_date=line.service_date,
            )
            for line in claim.lines
        ),
        diagnosis_codes=claim.diagnosis_codes,
        rendering_npi=claim.rendering_npi,
    )
    verdict = corrections.submit(submission, delay_s=delay_s)
    return ClaimAcknowledgment(
        claim=claim,
        accepted=verdict.accepted,
        category_code=verdict.category_code,
        status_code=verdict.status_code,
        entity_code=verdict.entity_code,
        payer_claim_number=verdict.payer_claim_number,
    )


def _units(text: str) -> int:
    try:
        return max(1, int(Decimal(text or "1")))
    except ArithmeticError:
        return 1


def _valid_npi(npi: str) -> bool:
    return len(npi) == 10 and npi.isdigit() and npi_with_check_digit(npi[:9]) == npi


def _new_icn(claim: SubmittedClaim) -> str:
    """A stable payer claim number for a claim the dataset does not know (the same claim, the same number)."""
    return "CH" + hashlib.sha256(f"{claim.payer_id}:{claim.claim_id}".encode()).hexdigest()[:12].upper()


def claim_acknowledgment(
    verdicts: list[ClaimAcknowledgment], world: SandboxWorld, batch_id: str, submitter_id: str, received: date
) -> TransactionSet:
    """The 277CA for one batch: a summary at the submitter level, then every claim's verdict."""
    transaction = TransactionSet("277", "005010X214")
    transaction.add("BHT", "0085", "08", batch_id, d8(received), "1200", "TH")
    transaction.add("HL", "1", "", "20", "1")
    transaction.add("NM1", "AY", "2", "SANDBOX CLEARINGHOUSE", "", "", "", "", "46", "SANDBOXCH")
    transaction.add("TRN", "1", batch_id)
    transaction.add("DTP", "050", "D8", d8(received))
    transaction.add("DTP", "009", "D8", d8(received))
    transaction.add("HL", "2", "1", "21", "1")
    transaction.add("NM1", "41", "2", world.practice.name.upper(), "", "", "", "", "46", submitter_id)
    transaction.add("TRN", "2", batch_id)
    accepted = [v for v in verdicts if v.accepted]
    rejected = [v for v in verdicts if not v.accepted]
    transaction.add("STC", composite("A1", "19"), d8(received), "WQ", money(_total(verdicts)))
    transaction.add("QTY", "90", str(len(accepted)))
    transaction.add("QTY", "AA", str(len(rejected)))
    transaction.add("AMT", "YU", money(_total(accepted)))
    transaction.add("AMT", "YY", money(_total(rejected)))
    transaction.add("HL", "3", "2", "19", "1")
    transaction.add("NM1", "85", "2", world.practice.name.upper(), "", "", "", "", "XX", world.practice.npi)
    level = 3
    for verdict in verdicts:
        claim = verdict.claim
        level += 1
        transaction.add("HL", str(level), "3", "PT")
        transaction.add_person("QC", claim.last_name, claim.first_name, claim.member_id)
        transaction.add("TRN", "2", claim.claim_id)
        status = composite(verdict.category_code, verdict.status_code, verdict.entity_code or "")
        transaction.add(
            "STC",
            status,
            d8(received),
            "WQ" if verdict.accepted else "U",
            money(claim.total_charge or Decimal("0")),
        )
        if verdict.payer_claim_number:
            transaction.add("REF", "1K", verdict.payer_claim_number)
        dates = [line.service_date for line in claim.lines if line.service_date]
        if dates:
            transaction.add("DTP", "472", "RD8", f"{d8(min(dates))}-{d8(max(dates))}")
    return transaction


def _total(verdicts: list[ClaimAcknowledgment]) -> Decimal:
    return sum((v.claim.total_charge or Decimal("0") for v in verdicts), Decimal("0"))


def remittances(
    verdicts: list[ClaimAcknowledgment],
    world: SandboxWorld,
    books: dict[str, PayerBook],
    produced: datetime,
    corrections: CorrectionsBook,
) -> list[TransactionSet]:
    """One 835 per payer payment for the accepted claims the dataset has finalized, and for the
    replacements already final when the batch is answered (`correction_delay_s` 0); voids have none."""
    runs: dict[tuple[str, PaymentRun], list[SandboxClaim]] = defaultdict(list)
    for verdict in verdicts:
        known = world.claims_by_id.get(verdict.claim.claim_id)
        if verdict.claim.frequency_code in ("7", "8") and known is not None and verdict.accepted:
            known = corrections.current(known)
            if known.payer is None or known.payer.payer_claim_number != verdict.payer_claim_number:
                continue  # a later correction in the same batch replaced it: that one is answered
        if verdict.accepted and known is not None and known.payer is not None:
            record = known.payer
            if record.outcome in FINALIZED_OUTCOMES and record.payment is not None:
                runs[(known.payer_id, record.payment)].append(known)
    return [
        _remittance(books[payer_id], run, claims, world, produced)
        for (payer_id, run), claims in sorted(runs.items(), key=lambda item: (item[0][0], item[0][1].payment_date))
    ]


def _remittance(
    book: PayerBook, run: PaymentRun, claims: list[SandboxClaim], world: SandboxWorld, produced: datetime
) -> TransactionSet:
    transaction = TransactionSet("835", "005010X221A1")
    total = sum((c.payer.paid for c in claims if c.payer), Decimal("0"))
    payer_tin = PAYER_TRN_IDS[book.payer_id]
    if total == 0:
        transaction.add("BPR", "H", "0", "C", "NON", "", "", "", "", "", "", "", "", "", "", "", d8(run.payment_date))
    elif run.method == "CHK":
        transaction.add(
            "BPR",
            "C",
            money(total),
            "C",
            "CHK",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            d8(run.payment_date),
        )
    else:
        transaction.add(
            "BPR",
            "I",
            money(total),
            "C",
            "ACH",
            "CCP",
            "01",
            "999999992",
            "DA",
            "000123456",
            payer_tin,
            "",
            "01",
            "999999995",
            "DA",
            "000654321",
            d8(run.payment_date),
        )
    transaction.add("TRN", "1", run.trace_number, payer_tin)
    transaction.add("DTM", "405", d8(produced.date()))
    transaction.add("N1", "PR", book.payer_name.upper())
    transaction.add("N3", "1 SANDBOX PLAZA")
    transaction.add("N4", "SPRINGFIELD", "IL", "62701")
    transaction.add("PER", "BL", "PROVIDER SERVICES", "TE", "8005550100")
    practice = world.practice
    transaction.add("N1", "PE", practice.name.upper(), "XX", practice.npi)
    transaction.add("N3", practice.address.upper())
    transaction.add("N4", practice.city.upper(), practice.state, practice.zip_code)
    transaction.add("REF", "TJ", practice.tax_id)
    transaction.add("LX", "1")
    for claim in claims:
        _claim_payment(transaction, claim)
    return transaction


def _claim_payment(transaction: TransactionSet, claim: SandboxClaim) -> None:
    record = claim.payer
    assert record is not None
    assert record.payer_claim_number is not None
    status = "4" if record.outcome == Outcome.DENIED else "1"
    transaction.add(
        "CLP",
        claim.claim_id,
        status,
        money(claim.billed_amount),
        money(record.paid),
        money(record.patient_responsibility),
        CLAIM_FILING_CODE[claim.payer_id],
        record.payer_claim_number,
        claim.place_of_service,
        "1",
    )
    patient = claim.patient
    transaction.add_person("QC", patient.last_name.upper(), patient.first_name.upper(), patient.member_id)
    transaction.add("NM1", "82", "1", "", "", "", "", "", "XX", claim.rendering_npi)
    transaction.add("DTM", "232", d8(claim.service_date_from))
    transaction.add("DTM", "233", d8(claim.service_date_to))
    transaction.add("DTM", "050", d8(record.received_date))
    transaction.add("AMT", "AU", money(record.allowed))
    for line in claim.lines:
        transaction.add(
            "SVC",
            composite("HC", line.procedure_code, *line.modifiers),
            money(line.charge),
            money(line.paid),
            "",
            str(line.units),
        )
        transaction.add("DTM", "472", d8(line.service_date_from))
        for adjustment in line.adjustments:
            transaction.add("CAS", adjustment.group, adjustment.carc, money(adjustment.amount))
        transaction.add("AMT", "B6", money(line.allowed))
        for rarc in sorted({a.rarc for a in line.adjustments if a.rarc}):
            transaction.add("LQ", "HE", rarc)
