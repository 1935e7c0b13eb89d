"""EDI files into the ledger: 835 remittances, 277/277CA claim status, 271 eligibility, 999 acks.

Each answer becomes a record against its claim (source = edi, the payer's own segment kept as
evidence). An answer whose claim is not in the ledger goes to the unmatched queue and is recorded
when the claim arrives; nothing is dropped. Each transaction set is recorded in one database
transaction, and a set with errors records nothing. Importing a file twice records nothing twice:
the file's hash is remembered, and every record carries a key built from the interchange and
transaction control numbers, so the same content re-sent in another file is skipped too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, Field

from claims.ledger import ClaimNotFoundError, Ledger, LedgerWriter, UnmatchedItem, UnmatchedKind
from claims.models import (
    AdjustmentGroup,
    CheckSource,
    Denial,
    Payment,
    PaymentMethod,
    StatusCheck,
    utc_now,
)
from claims.status import refine_with_amounts, status_from_277, status_from_835
from edi import (
    ClaimPayment,
    ClaimStatusResponse,
    Finding,
    ImplementationAcknowledgment,
    RemittanceAdvice,
    Severity,
    X12Document,
    X12SyntaxError,
    read_x12,
)
from edi.document import Transaction

_METHODS = {"CHK": PaymentMethod.CHECK, "ACH": PaymentMethod.EFT, "NON": PaymentMethod.NONE}


class FindingLine(BaseModel):
    severity: str
    location: str
    message: str

    @classmethod
    def of(cls, finding: Finding) -> FindingLine:
        return cls(severity=finding.severity.value, location=str(finding.location), message=finding.message)


class EdiImportSummary(BaseModel):
    files: int = 0
    files_already_imported: int = 0
    transactions: int = 0
    transactions_rejected: int = 0
    claims_matched: int = 0
    unmatched: int = 0
    status_checks: int = 0
    denials: int = 0
    payments: int = 0
    acknowledgments_accepted: int = 0
    acknowledgments_rejected: int = 0
    findings: list[FindingLine] = Field(default_factory=list)


def edi_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files as given, and the files inside given folders (not hidden ones), in name order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        else:
            yield path


def _key(document: X12Document, transaction: Transaction, segment: int, kind: str) -> str:
    header = transaction.header
    interchange = next(
        (i for i in document.interchanges if i.first_segment <= header.first_segment <= i.last_segment), None
    )
    sender = f"{interchange.sender_id.strip()}:{interchange.control_number}" if interchange else document.source_name
    position = segment - header.first_segment
    return f"edi:{sender}:{header.control_number}:{position}:{kind}"[:200]


def _denials(claim: ClaimPayment) -> tuple[Denial, ...]:
    """Claim-level CAS with the claim's remarks (MOA), then each service line's CAS with its LQ remarks."""
    levels = [(None, claim.adjustments, claim.remark_codes)] + [
        (number, service.adjustments, service.remark_codes) for number, service in enumerate(claim.services, start=1)
    ]
    return tuple(
        Denial(
            group=AdjustmentGroup(adjustment.group),
            carc=adjustment.reason,
            rarcs=tuple(remarks),
            amount=adjustment.amount,
            line_number=line,
        )
        for line, adjustments, remarks in levels
        for adjustment in adjustments
        if adjustment.group in AdjustmentGroup.__members__
    )


Intake = tuple[StatusCheck | Payment, str] | FindingLine


def _errors(findings: list[Finding]) -> Iterator[FindingLine]:
    return (FindingLine.of(f) for f in findings if f.severity is Severity.ERROR)


def _raw(transaction: Transaction, segment_number: int) -> str | None:
    segment = transaction.segment(segment_number)
    return segment.raw[:2000] if segment is not None else None


def remittance_records(document: X12Document, remittance: RemittanceAdvice) -> Iterator[Intake]:
    """The status check and the payment each valid CLP says; an invalid claim yields its findings."""
    payment = remittance.payment
    paid_date = payment.payment_date if payment else None
    method = _METHODS.get(payment.method, PaymentMethod.OTHER) if payment else PaymentMethod.OTHER
    for claim in remittance.claims:
        if not claim.is_valid:
            yield from _errors(claim.findings)
            continue
        source = f"{document.source_name}#{claim.segment_number}"
        denials = _denials(claim)
        paid = claim.paid or Decimal("0.00")
        status = status_from_835(claim.status_code, paid, any(d.needs_work for d in denials))
        key = _key(document, remittance, claim.segment_number, "835")
        yield (
            StatusCheck(
                claim_id=claim.patient_control_number,
                source=CheckSource.EDI,
                status=status,
                status_code=claim.status_code,
                payer_status_text=f"835 claim status {claim.status_code}: {claim.status_label}",
                billed_amount=claim.charge,
                paid_amount=claim.paid,
                patient_responsibility=claim.patient_responsibility,
                payer_claim_number=claim.payer_claim_control_number or None,
                check_number=remittance.trace_number or None,
                payment_date=paid_date,
                denials=denials,
                evidence_ref=source,
                dedupe_key=key,
                raw_segment=_raw(remittance, claim.segment_number),
            ),
            source,
        )
        if claim.paid is not None and claim.paid != 0:
            yield (
                Payment(
                    claim_id=claim.patient_control_number,
                    amount=claim.paid,
                    paid_date=paid_date,
                    method=method,
                    check_number=remittance.trace_number or None,
                    payer_claim_number=claim.payer_claim_control_number or None,
                    dedupe_key=_key(document, remittance, claim.segment_number, "835-payment"),
                ),
                source,
            )


def claim_status_records(document: X12Document, response: ClaimStatusResponse) -> Iterator[Intake]:
    """One status check per claim the 277/277CA reports on (its first STC is the claim's status)."""
    for claim in response.claims:
        primary = claim.primary_status
        if not claim.is_valid or primary is None or not claim.patient_control_number:
            yield from _errors(claim.findings)
            continue
        report = claim.statuses[0]
        source = f"{document.source_name}#{report.segment_number}"
        status = refine_with_amounts(status_from_277(primary.category, primary.status), report.paid_amount, False)
        yield (
            StatusCheck(
                claim_id=claim.patient_control_number,
                source=CheckSource.EDI,
                status=status,
                category_code=primary.category[:3],
                status_code=primary.status[:10] or None,
                payer_status_text=(report.message or f"{response.kind} {primary}")[:500],
                billed_amount=report.total_charge,
                paid_amount=report.paid_amount,
                payer_claim_number=claim.payer_claim_control_number or None,
                check_number=report.check_number or None,
                payment_date=report.check_date,
                evidence_ref=source,
                dedupe_key=_key(document, response, report.segment_number, response.kind),
                raw_segment=_raw(response, report.segment_number),
            ),
            source,
        )


def _record(writer: LedgerWriter, record: StatusCheck | Payment, source: str, summary: EdiImportSummary) -> None:
    """Record an answer against its claim; an answer for a claim the ledger lacks waits, unmatched."""
    try:
        if isinstance(record, StatusCheck):
            if writer.record_status_check(record):
                summary.status_checks += 1
                summary.claims_matched += 1
                summary.denials += sum(1 for d in record.denials if d.needs_work)
        elif writer.record_payment(record):
            summary.payments += 1
    except ClaimNotFoundError:  # raised before anything is written
        kind = UnmatchedKind.STATUS if isinstance(record, StatusCheck) else UnmatchedKind.PAYMENT
        queued = writer.queue_unmatched(
            UnmatchedItem(
                dedupe_key=record.dedupe_key or source,
                kind=kind,
                claim_ref=record.claim_id,
                payer_claim_number=record.payer_claim_number,
                source=source,
                received_at=utc_now(),
                payload=record.model_dump(mode="json"),
            )
        )
        summary.unmatched += int(queued)


def _import_document(ledger: Ledger, document: X12Document, summary: EdiImportSummary) -> None:
    for transaction in document.transactions:
        summary.transactions += 1
        errors = [f for f in transaction.findings if f.severity is Severity.ERROR]
        if errors or not transaction.header.complete:
            summary.transactions_rejected += 1
            summary.findings.extend(_errors(errors))
            continue
        if isinstance(transaction, ImplementationAcknowledgment):
            for ack in transaction.transaction_acks:
                accepted = ack.status_code in {"A", "E"}
                summary.acknowledgments_accepted += int(accepted)
                summary.acknowledgments_rejected += int(not accepted)
            continue
        records: Iterable[Intake]
        if isinstance(transaction, RemittanceAdvice):
            records = remittance_records(document, transaction)
        elif isinstance(transaction, ClaimStatusResponse):
            records = claim_status_records(document, transaction)
        else:
            continue
        # one transaction set, one database transaction; records are made as they are written, so
        # a 20,000-claim ERA never holds 40,000 records at once (any error rolls the set back)
        with ledger.writer() as writer:
            for item in records:
                if isinstance(item, FindingLine):
                    summary.findings.append(item)
                else:
                    _record(writer, *item, summary)


def import_edi(ledger: Ledger, paths: Iterable[Path]) -> EdiImportSummary:
    """Record what every file says. Unreadable files are reported (file, segment, reason) and skipped."""
    summary = EdiImportSummary()
    for path in edi_files(paths):
        summary.files += 1
        try:
            data = path.read_bytes()
        except OSError as err:
            summary.findings.append(
                FindingLine(severity="error", location=str(path), message=f"cannot read ({err.strerror})")
            )
            continue
        sha = hashlib.sha256(data).hexdigest()
        with ledger.writer() as writer:
            if writer.edi_file_seen(sha):
                summary.files_already_imported += 1
                continue
        try:
            document = read_x12(data, path.name)
        except X12SyntaxError as err:
            summary.findings.append(FindingLine(severity="error", location=str(err.location), message=err.reason))
            continue
        summary.findings.extend(_errors(document.findings))
        _import_document(ledger, document, summary)
        with ledger.writer() as writer:
            writer.record_edi_file(sha, path.name, {"transactions": len(document.transactions)})
    return summary
