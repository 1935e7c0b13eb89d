"""EDI files into the ledger: 835 remittances, 277/277CA claim status, 837P submissions, 999 acks.

Every claim a file holds (each 835 CLP, each claim-level 277 STC, each 837 CLM) ends somewhere
that can be seen: recorded against its claim (source = edi, the payer's own segment kept as
evidence), queued as unmatched when the claim is not in the ledger yet (recorded when it
arrives), kept as *rejected* when an error finding refuses it, or skipped as a duplicate of what
was recorded before. The counts of a file add up to what it holds:
``read = recorded + unmatched + rejected + duplicate``.

Error findings refuse: on a claim, that claim; on a transaction set (a truncated set, a repeated
ST02), all of its claims. Refused claims are kept in the unmatched queue with kind ``rejected`` and
the located findings, never recorded by a later claim import. Warnings (envelope counts, payment
header and balance, unknown codes) flag what is recorded. Each transaction set is recorded in one
database transaction. Only an import without errors is remembered by the file's hash, so a refused
file can be imported again once fixed; every record carries a key built from the interchange and
transaction control numbers, so the same content re-read (``force``) or re-sent in another file is
skipped.

Acknowledgments of our own corrected claims move their submission on (`acknowledge_submissions`): a
999 names the group it answers (AK102), and a submission's 837P has ISA13 = GS06 = its id
(bots.resubmission), so the 999 finds it by ISA13; a 277CA's claim finds the claim's submission that
waits for its acknowledgment (`sending` or `sent` on the clearinghouse route). A 999 proves the
clearinghouse took the claim, which also resolves a submission left `sending` by a crash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from claims.codesets import CodeKind, CodeSets
from claims.ledger import Ledger, LedgerWriter, UnmatchedItem, UnmatchedKind
from claims.models import (
    AdjustmentGroup,
    CheckSource,
    Denial,
    Patient,
    Payment,
    PaymentMethod,
    StatusCheck,
    Submission,
    SubmissionRoute,
    SubmissionState,
    utc_now,
)
from claims.phi import MASK, UNKNOWN_BIRTH_DATE, PhiScrubber
from claims.status import ClaimStatus, refine_with_amounts, status_from_277, status_from_835
from edi import (
    ClaimPayment,
    ClaimStatusResponse,
    EligibilityResponse,
    Finding,
    FindingCode,
    ImplementationAcknowledgment,
    ProfessionalClaim,
    ProfessionalClaimSet,
    RemittanceAdvice,
    Severity,
    X12Document,
    X12SyntaxError,
    read_x12,
)
from edi.claim_status import CLAIM_LEVELS, StatusReport
from edi.claim_status import ClaimStatus as X12ClaimStatus
from edi.document import Transaction
from edi.parties import PersonIdentity
from edi.transaction import UnrecognizedTransaction
from edi.values import ElementReader, element_name, parse_date

_METHODS = {"CHK": PaymentMethod.CHECK, "ACH": PaymentMethod.EFT, "NON": PaymentMethod.NONE}
_BATCH_CLAIMS = 2_000  # claims recorded per batch inside a transaction set's database transaction
_NO_CLAIM_REF = "(none)"  # claim_ref of a refused claim that names no claim


class FindingLine(BaseModel):
    """One finding, located: file, envelope control numbers, segment, element."""

    severity: Severity
    code: str
    file: str
    interchange_control_number: str | None = None  # ISA13
    group_control_number: str | None = None  # GS06
    transaction_control_number: str | None = None  # ST02
    segment_number: int | None = None
    segment_id: str | None = None
    element: str | None = None
    message: str
    location: str  # the same place as one line: "era.835 segment 12 CLP03"

    @classmethod
    def of(cls, finding: Finding, transaction: Transaction | None = None) -> FindingLine:
        header = transaction.header if transaction is not None else None
        return cls(
            severity=finding.severity,
            code=finding.code.value,
            file=finding.location.source_name,
            interchange_control_number=header.interchange_control_number if header else None,
            group_control_number=header.group_control_number if header else None,
            transaction_control_number=header.control_number if header else None,
            segment_number=finding.location.segment_number,
            segment_id=finding.location.segment_id,
            element=finding.location.element,
            message=finding.message,
            location=str(finding.location),
        )

    @classmethod
    def problem(cls, file: str, message: str, *, code: str = "input.unreadable") -> FindingLine:
        return cls(severity=Severity.ERROR, code=code, file=file, message=message, location=file)


class ClaimCounts(BaseModel):
    """What became of the claims read: ``read = recorded + unmatched + rejected + duplicate``."""

    read: int = 0
    recorded: int = 0
    unmatched: int = 0
    rejected: int = 0
    duplicate: int = 0

    def add(self, other: ClaimCounts) -> None:
        for name in ClaimCounts.model_fields:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def balanced(self) -> bool:
        return self.read == self.recorded + self.unmatched + self.rejected + self.duplicate


FileOutcome = Literal[
    "imported",  # nothing to say
    "imported with warnings",  # recorded, flagged
    "imported with errors",  # an error outside any claim (e.g. segments outside ST..SE): not remembered
    "refused in part",  # some claims (or sets) refused, kept as rejected: not remembered
    "already imported",  # the same bytes were imported cleanly before: not read (--force reads it)
    "unreadable",  # no file, or no X12 envelope
]


class FileImport(BaseModel):
    """One file's import: its outcome, its claim counts and whether its hash is now remembered."""

    file: str
    outcome: FileOutcome
    remembered: bool = False
    transactions: int = 0
    transactions_rejected: int = 0
    claims: ClaimCounts = Field(default_factory=ClaimCounts)
    acknowledgments: int = 0
    eligibility_results: int = 0
    errors: int = 0
    warnings: int = 0


class EdiImportSummary(BaseModel):
    files: int = 0
    files_already_imported: int = 0
    files_refused: int = 0  # with an error finding: not remembered, may be imported again
    transactions: int = 0
    transactions_rejected: int = 0
    claims: ClaimCounts = Field(default_factory=ClaimCounts)
    claims_matched: int = 0
    unmatched: int = 0  # answers queued (a claim's status check and its payment are two)
    status_checks: int = 0
    denials: int = 0
    payments: int = 0
    acknowledgments_accepted: int = 0
    acknowledgments_rejected: int = 0
    submissions_acknowledged: int = 0  # our corrected claims whose 999 / 277CA this import recorded
    eligibility_results: int = 0  # read, not recorded: eligibility is asked with `eligibility check`
    errors: int = 0
    warnings: int = 0
    file_results: list[FileImport] = Field(default_factory=list)
    findings: list[FindingLine] = Field(default_factory=list)


def edi_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files as given, and the files inside given folders (not hidden ones), in name order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        else:
            yield path


# --- reading: the claims of a document, each with what it says or why it is refused ---------------


@dataclass(slots=True)
class ClaimItem:
    """One claim of a file: the records it makes, or the error findings that refuse it."""

    transaction: Transaction
    segment_number: int
    claim_ref: str
    payer_claim_number: str | None
    records: list[StatusCheck | Payment]
    errors: list[Finding]
    scrubber: PhiScrubber | None = None  # the claim's own people, for its free text and its kept segment
    made: list[Finding] = field(default_factory=list)  # findings of the intake's own, not the reader's


def _key(document: X12Document, transaction: Transaction, segment: int, kind: str, claim_ref: str) -> str:
    """Where an answer stands in what the sender sent (sender, ISA13, ST02, its place in the set), and
    the claim it names: senders reuse control numbers across files, so the place alone could make an
    unrelated claim of another file look 'already recorded'. Keys too long for the column are hashed."""
    header = transaction.header
    interchange = next(
        (i for i in document.interchanges if i.first_segment <= header.first_segment <= i.last_segment), None
    )
    sender = f"{interchange.sender_id.strip()}:{interchange.control_number}" if interchange else document.source_name
    position = segment - header.first_segment
    key = f"edi:{sender}:{header.control_number}:{position}:{kind}:{claim_ref}"
    return key if len(key) <= 200 else f"edi:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def _rejected_key(document: X12Document, item: ClaimItem) -> str:
    # the set's first segment as well: a repeated ST02 must not make two refused claims one
    header = item.transaction.header
    return _key(
        document, item.transaction, item.segment_number, f"rejected@{header.first_segment}", item.claim_ref or ""
    )


@contextmanager
def _recordable(item: ClaimItem, source_name: str, segment_id: str) -> Iterator[None]:
    """Records the ledger's models refuse (a CARC they cannot hold, an amount in tenths of a cent)
    refuse their claim, named by field and never by value, instead of stopping the import."""
    try:
        yield
    except ValidationError as error:
        fields = sorted({".".join(str(part) for part in detail["loc"]) for detail in error.errors()})
        finding = ElementReader(source_name).finding(
            Severity.ERROR,
            FindingCode.UNRECORDABLE,
            f"the ledger cannot hold this answer ({', '.join(fields)} out of range)",
            item.segment_number,
            segment_id,
        )
        item.records = []
        item.errors = [*item.errors, finding]
        item.made.append(finding)


def _midnight(value: date | None) -> datetime | None:
    """The payer's date as the ledger's effective time: UTC midnight of that day."""
    return datetime.combine(value, time(), tzinfo=UTC) if value is not None else None


def _raw(transaction: Transaction, segment_number: int) -> str | None:
    text = transaction.segment_text(segment_number)
    return text[:2000] if text is not None else None


def _errors(findings: list[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.severity is Severity.ERROR]


def people_as_patients(*people: PersonIdentity | None) -> list[Patient]:
    """The people a claim names, as the PHI scrubber takes them (fields it lacks are left out)."""
    patients = []
    for person in people:
        if person is None or not (person.last_name or person.identifier):
            continue
        patients.append(
            Patient(
                last_name=person.last_name or "-",
                first_name=person.first_name or "-",
                date_of_birth=person.birth_date or UNKNOWN_BIRTH_DATE,
                member_id=(person.identifier or "-")[:80],
            )
        )
    return patients


def _denials(claim: ClaimPayment) -> tuple[Denial, ...]:
    """Claim-level CAS with the claim's remarks (MOA), then each service line's CAS with its LQ remarks."""
    levels = [(None, claim.adjustments, claim.remark_codes)] + [
        (number, service.adjustments, service.remark_codes) for number, service in enumerate(claim.services, start=1)
    ]
    return tuple(
        _denial(adjustment.group, adjustment.reason, tuple(remarks), str(adjustment.amount), line)
        for line, adjustments, remarks in levels
        for adjustment in adjustments
        if adjustment.group in AdjustmentGroup.__members__
    )


@lru_cache(maxsize=4096)
def _denial(group: str, carc: str, rarcs: tuple[str, ...], amount: str, line: int | None) -> Denial:
    """Denials are frozen, and an ERA repeats the same few (a fee schedule's CAS on each claim):
    each is validated once (the amount as written, so 10 and 10.00 stay apart). A refused one
    raises every time (exceptions are not cached)."""
    return Denial(group=AdjustmentGroup(group), carc=carc, rarcs=rarcs, amount=Decimal(amount), line_number=line)


def remittance_items(
    document: X12Document, remittance: RemittanceAdvice, refused: list[Finding]
) -> Iterator[ClaimItem]:
    """Each CLP with the status check and payment it says; ``refused``: the set's own errors."""
    payment = remittance.payment
    paid_date = payment.payment_date if payment else None
    effective_at = _midnight(remittance.production_date or paid_date)
    method = _METHODS.get(payment.method, PaymentMethod.OTHER) if payment else PaymentMethod.OTHER
    for claim in remittance.claims:
        item = ClaimItem(
            transaction=remittance,
            segment_number=claim.segment_number,
            claim_ref=claim.patient_control_number,
            payer_claim_number=claim.payer_claim_control_number or None,
            records=[],
            errors=[*refused, *_errors(claim.findings)],
        )
        if not item.errors:
            with _recordable(item, document.source_name, "CLP"):
                _add_remittance_records(item, document, remittance, claim, effective_at, method)
        if item.errors:  # only a refused claim's kept segment is masked with its people
            item.scrubber = PhiScrubber(people_as_patients(claim.patient, claim.insured))
        yield item


def _add_remittance_records(
    item: ClaimItem,
    document: X12Document,
    remittance: RemittanceAdvice,
    claim: ClaimPayment,
    effective_at: datetime | None,
    method: PaymentMethod,
) -> None:
    """The status check a valid CLP says, and its payment when it pays something."""
    paid_date = remittance.payment.payment_date if remittance.payment else None
    source = f"{document.source_name}#{claim.segment_number}"
    denials = _denials(claim)
    paid = claim.paid or Decimal("0.00")
    item.records.append(
        StatusCheck(
            claim_id=claim.patient_control_number,
            effective_at=effective_at,
            source=CheckSource.EDI,
            status=status_from_835(claim.status_code, paid, any(d.needs_work for d in denials)),
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
            dedupe_key=_key(document, remittance, claim.segment_number, "835", claim.patient_control_number),
            raw_segment=_raw(remittance, claim.segment_number),
        )
    )
    if claim.paid is not None and claim.paid != 0:
        item.records.append(
            Payment(
                claim_id=claim.patient_control_number,
                amount=claim.paid,
                paid_date=paid_date,
                method=method,
                check_number=remittance.trace_number or None,
                payer_claim_number=claim.payer_claim_control_number or None,
                dedupe_key=_key(
                    document, remittance, claim.segment_number, "835-payment", claim.patient_control_number
                ),
            )
        )


def _claim_status_problem(claim: X12ClaimStatus, source_name: str) -> list[Finding]:
    reader = ElementReader(source_name)
    if not claim.statuses:
        return [
            reader.finding(
                Severity.ERROR,
                FindingCode.MISSING_SEGMENT,
                "claim without a claim-level STC: the payer's answer about it is missing",
                claim.segment_number,
                "TRN",
            )
        ]
    if not claim.patient_control_number:
        return [
            reader.finding(
                Severity.ERROR,
                FindingCode.MISSING_ELEMENT,
                "no patient control number (REF*EJ, or TRN02 in a 277CA): the answer names no claim",
                claim.segment_number,
                "TRN",
                "TRN02",
            )
        ]
    return []


def claim_status_items(
    document: X12Document, response: ClaimStatusResponse, refused: list[Finding]
) -> Iterator[ClaimItem]:
    """One status check per claim-level STC of a 277/277CA, effective on its STC02 date."""
    for claim in response.claims:
        errors = [*refused, *_errors(claim.findings)]
        reports: list[StatusReport | None] = list(claim.statuses) or [None]
        scrubber = PhiScrubber(people_as_patients(claim.patient, claim.subscriber))
        for report in reports:
            segment_number = report.segment_number if report is not None else claim.segment_number
            item = ClaimItem(
                transaction=response,
                segment_number=segment_number,
                claim_ref=claim.patient_control_number,
                payer_claim_number=claim.payer_claim_control_number or None,
                records=[],
                errors=errors,
                scrubber=scrubber,
            )
            if report is not None and not errors and report.statuses:
                with _recordable(item, document.source_name, "STC"):
                    item.records.append(_status_check(document, response, claim, report, scrubber))
            yield item


def _status_check(
    document: X12Document,
    response: ClaimStatusResponse,
    claim: X12ClaimStatus,
    report: StatusReport,
    scrubber: PhiScrubber,
) -> StatusCheck:
    """What one claim-level STC says, its free text masked with the claim's people."""
    segment_number = report.segment_number
    code = report.statuses[0]
    text = scrubber.scrub(report.message) if report.message else f"{response.kind} {code}"
    return StatusCheck(
        claim_id=claim.patient_control_number,
        effective_at=_midnight(report.effective_date),
        source=CheckSource.EDI,
        status=refine_with_amounts(status_from_277(code.category, code.status), report.paid_amount, False),
        category_code=code.category[:3],
        status_code=code.status[:10] or None,
        payer_status_text=text,
        billed_amount=report.total_charge,
        paid_amount=report.paid_amount,
        payer_claim_number=claim.payer_claim_control_number or None,
        check_number=report.check_number or None,
        payment_date=report.check_date,
        evidence_ref=f"{document.source_name}#{segment_number}",
        dedupe_key=_key(document, response, segment_number, response.kind, claim.patient_control_number),
        raw_segment=scrub_segment(raw, scrubber) if (raw := _raw(response, segment_number)) else None,
    )


def _creation_date(claims: ProfessionalClaimSet) -> date | None:
    """BHT04: when the 837 was created, the submission's own date."""
    segment = claims.segment(claims.header.first_segment + 1)
    return parse_date(segment.element(4)) if segment is not None and segment.segment_id == "BHT" else None


def professional_claim_items(
    document: X12Document, claims: ProfessionalClaimSet, refused: list[Finding]
) -> Iterator[ClaimItem]:
    """Each 837P CLM as a 'submitted' check on its claim, effective on the file's BHT04 date."""
    effective_at = _midnight(_creation_date(claims))
    for claim in claims.claims:
        item = ClaimItem(
            transaction=claims,
            segment_number=claim.segment_number,
            claim_ref=claim.claim_id,
            payer_claim_number=claim.payer_claim_control_number or None,
            records=[],
            errors=[*refused, *_errors(claim.findings)],
        )
        with _recordable(item, document.source_name, "CLM"):
            if not item.errors:
                item.records.append(_submitted(document, claims, claim, effective_at))
        yield item


def _submitted(
    document: X12Document, claims: ProfessionalClaimSet, claim: ProfessionalClaim, effective_at: datetime | None
) -> StatusCheck:
    return StatusCheck(
        claim_id=claim.claim_id,
        effective_at=effective_at,
        source=CheckSource.EDI,
        status=ClaimStatus.SUBMITTED,
        payer_status_text=f"837P claim submitted (frequency {claim.frequency_code or '-'})",
        billed_amount=claim.charge,
        payer_claim_number=claim.payer_claim_control_number or None,
        evidence_ref=f"{document.source_name}#{claim.segment_number}",
        dedupe_key=_key(document, claims, claim.segment_number, "837P", claim.claim_id),
        raw_segment=_raw(claims, claim.segment_number),
    )


def claim_items(document: X12Document, transaction: Transaction) -> Iterator[ClaimItem]:
    """The claims of one transaction set; a set with its own error refuses all of them."""
    refused = _errors(transaction.findings)
    if isinstance(transaction, RemittanceAdvice):
        return remittance_items(document, transaction, refused)
    if isinstance(transaction, ClaimStatusResponse):
        return claim_status_items(document, transaction, refused)
    if isinstance(transaction, ProfessionalClaimSet):
        return professional_claim_items(document, transaction, refused)
    if isinstance(transaction, UnrecognizedTransaction) and refused:
        return _claims_of_a_failed_view(transaction, refused)
    return iter(())


_CLAIM_SEGMENTS = {"835": "CLP", "837": "CLM"}
_CLAIM_SETS = frozenset({"835", "837", "277"})  # sets whose claims the intake records


def _claims_of_a_failed_view(transaction: UnrecognizedTransaction, refused: list[Finding]) -> Iterator[ClaimItem]:
    """The claims of a set whose view failed (kept as raw segments): found by their segments, all
    refused with the set's error. A 277's claim-level STC follows a TRN under a patient-level HL."""
    set_id = transaction.header.transaction_set_id
    claim_segment = _CLAIM_SEGMENTS.get(set_id)
    level, in_claim, trace = "", False, ""
    for segment in transaction.segments():
        segment_id = segment.segment_id
        if segment_id == claim_segment:
            yield ClaimItem(transaction, segment.number, segment.element(1), None, [], refused)
        elif set_id != "277":
            continue
        elif segment_id == "HL":
            level, in_claim = segment.element(3), False
        elif segment_id == "TRN":
            in_claim, trace = level in CLAIM_LEVELS, segment.element(2)
        elif segment_id == "SVC":
            in_claim = False
        elif segment_id == "STC" and in_claim:
            yield ClaimItem(transaction, segment.number, trace, None, [], refused)


# --- code lists: codes the payer sent that the code sets do not know ------------------------------


class _KnownCodes:
    """Code look-ups remembered for one import (a large ERA repeats a few codes many times)."""

    def __init__(self, codes: CodeSets) -> None:
        self._codes = codes
        self._known: dict[tuple[CodeKind, str], bool] = {}

    def knows(self, kind: CodeKind, code: str) -> bool:
        key = (kind, code)
        known = self._known.get(key)
        if known is None:
            known = self._known[key] = self._codes.describe(kind, code) is not None
        return known


def check_claims(document: X12Document, codes: CodeSets | None = None) -> None:
    """The intake's own rules, as findings on the claims (so ``edi show`` and ``edi import`` agree):
    an error on a 277 claim that has no claim-level STC or names no claim, and a warning on each
    claim that carries a status category, adjustment group, CARC or RARC the code sets do not know,
    located at the segment that carries it."""
    known = _KnownCodes(codes or CodeSets())
    reader = ElementReader(document.source_name)
    for transaction in document.transactions:
        if isinstance(transaction, RemittanceAdvice):
            for claim in transaction.claims:
                _check_remittance_codes(transaction, claim, known, reader)
        elif isinstance(transaction, UnrecognizedTransaction):
            _check_unread_claims(transaction, reader)
        elif isinstance(transaction, ClaimStatusResponse):
            for status_claim in transaction.claims:
                status_claim.findings.extend(_claim_status_problem(status_claim, document.source_name))
                reports = [*status_claim.statuses, *(r for line in status_claim.services for r in line.statuses)]
                for report in reports:
                    for position, code in zip(("STC01", "STC10", "STC11"), report.statuses, strict=False):
                        if code.category and not known.knows(CodeKind.CATEGORY, code.category):
                            status_claim.findings.append(
                                reader.finding(
                                    Severity.WARNING,
                                    FindingCode.UNKNOWN_STATUS_CATEGORY,
                                    f"claim status category {code.category!r} is not in the code list "
                                    "(recorded as status unknown)",
                                    report.segment_number,
                                    "STC",
                                    f"{position}-1",
                                )
                            )


def _check_unread_claims(transaction: UnrecognizedTransaction, reader: ElementReader) -> None:
    """A set of a claim-bearing kind that no view reads (an 837I, a 277 of another guide) holds
    claims that cannot be recorded: an error, so that they are kept as rejected and counted."""
    header = transaction.header
    if header.transaction_set_id not in _CLAIM_SETS or _errors(transaction.findings):
        return
    transaction.findings.append(
        reader.finding(
            Severity.ERROR,
            FindingCode.UNKNOWN_TRANSACTION,
            f"the claims of this {header.transaction_set_id} ({header.implementation_reference or 'no version'}) "
            "cannot be read: they are kept as rejected",
            header.first_segment,
            "ST",
            "ST03",
        )
    )


def _check_remittance_codes(
    remittance: RemittanceAdvice, claim: ClaimPayment, known: _KnownCodes, reader: ElementReader
) -> None:
    levels = [(claim.segment_number, claim.adjustments, claim.remark_codes)] + [
        (service.segment_number, service.adjustments, service.remark_codes) for service in claim.services
    ]
    for segment_number, adjustments, remarks in levels:
        for adjustment in adjustments:
            if not known.knows(CodeKind.GROUP, adjustment.group):
                claim.findings.append(
                    _code_finding(
                        remittance,
                        reader,
                        segment_number,
                        ("CAS",),
                        adjustment.group,
                        FindingCode.UNKNOWN_CARC,
                        f"adjustment group {adjustment.group!r} is not in the code list "
                        "(its adjustment is not kept as a denial)",
                    )
                )
            if not known.knows(CodeKind.CARC, adjustment.reason):
                claim.findings.append(
                    _code_finding(
                        remittance,
                        reader,
                        segment_number,
                        ("CAS",),
                        adjustment.reason,
                        FindingCode.UNKNOWN_CARC,
                        f"claim adjustment reason code {adjustment.reason!r} is not in the code list",
                    )
                )
        for remark in remarks:
            if not known.knows(CodeKind.RARC, remark):
                claim.findings.append(
                    _code_finding(
                        remittance,
                        reader,
                        segment_number,
                        ("LQ", "MOA", "MIA"),
                        remark,
                        FindingCode.UNKNOWN_RARC,
                        f"remittance advice remark code {remark!r} is not in the code list",
                    )
                )


def _code_finding(
    remittance: RemittanceAdvice,
    reader: ElementReader,
    loop_start: int,
    segment_ids: tuple[str, ...],
    code: str,
    finding_code: FindingCode,
    message: str,
) -> Finding:
    """A warning at the segment of the loop starting at ``loop_start`` that carries ``code`` (looked
    up only for the rare unknown code, so a large ERA is not walked)."""
    number = loop_start + 1
    while (segment := remittance.segment(number)) is not None and segment.segment_id not in ("CLP", "SVC", "SE"):
        if segment.segment_id in segment_ids:
            for position, value in enumerate(segment.elements[1:], start=1):
                if value == code or value.split(segment.separators.component)[-1] == code:
                    return reader.finding(
                        Severity.WARNING,
                        finding_code,
                        message,
                        number,
                        segment.segment_id,
                        f"{segment.segment_id}{position:02d}",
                    )
        number += 1
    return reader.finding(Severity.WARNING, finding_code, message, loop_start, segment_ids[0])


# --- writing ---------------------------------------------------------------------------------------


def _record_items(writer: LedgerWriter, items: list[ClaimItem], counts: ClaimCounts, summary: EdiImportSummary) -> None:
    """Record a batch of claims' answers in one go (`LedgerWriter.record_answers`); answers whose
    claim the ledger lacks wait, unmatched. Each claim is counted by its first record (the status
    check): recorded, unmatched, or a duplicate of what was recorded before."""
    outcomes = iter(writer.record_answers([record for item in items for record in item.records]))
    firsts: list[tuple[str | None, str | None]] = []  # per claim: its first record's outcome, unmatched key
    waiting: dict[str, UnmatchedItem] = {}
    for item in items:
        first: tuple[str | None, str | None] = (None, None)
        for record in item.records:
            outcome: str = next(outcomes)
            key: str | None = None
            if outcome == "recorded":
                if isinstance(record, StatusCheck):
                    summary.status_checks += 1
                    summary.claims_matched += 1
                    summary.denials += sum(1 for d in record.denials if d.needs_work)
                else:
                    summary.payments += 1
            elif outcome == "unmatched":
                unmatched = _unmatched(record, item)
                key = unmatched.dedupe_key
                if key in waiting:  # the same answer twice in one batch: the second is a duplicate
                    outcome, key = "duplicate", None
                else:
                    waiting[key] = unmatched
            if first[0] is None:
                first = (outcome, key)
        firsts.append(first)
    queued = writer.queue_unmatched_many(list(waiting.values())) if waiting else set()
    summary.unmatched += len(queued)
    for first_outcome, first_key in firsts:
        if first_outcome == "recorded":
            counts.recorded += 1
        elif first_outcome == "unmatched" and first_key in queued:
            counts.unmatched += 1
        else:
            counts.duplicate += 1


def _unmatched(record: StatusCheck | Payment, item: ClaimItem) -> UnmatchedItem:
    source = record.evidence_ref if isinstance(record, StatusCheck) and record.evidence_ref else item.claim_ref
    return UnmatchedItem(
        dedupe_key=record.dedupe_key or source,
        kind=UnmatchedKind.STATUS if isinstance(record, StatusCheck) else UnmatchedKind.PAYMENT,
        claim_ref=record.claim_id,
        payer_claim_number=record.payer_claim_number,
        source=source,
        received_at=utc_now(),
        payload=record.model_dump(mode="json"),
    )


def _rejected_evidence(item: ClaimItem) -> str | None:
    """The refused claim's own segment, kept so a person sees what was refused, minus what may be
    PHI: each element a finding refuses is blanked (a misaligned element may hold a name or a
    birth date), the claim's people are masked, and a 277's free text (STC12) is cut off when they
    are not known (a set whose view failed)."""
    raw = _raw(item.transaction, item.segment_number)
    if raw is None:
        return None
    separator = raw[3:4] if len(raw) > 3 else ""
    if separator:
        refused = {f.location.element for f in item.errors if f.location.segment_number == item.segment_number}
        parts = raw.split(separator)
        segment_id = parts[0]
        parts = [
            MASK if index and any(r and r.split("-")[0] == element_name(segment_id, index) for r in refused) else part
            for index, part in enumerate(parts)
        ]
        if item.scrubber is None and segment_id == "STC":
            parts = parts[:12]
        raw = separator.join(parts)
    return scrub_segment(raw, item.scrubber) if item.scrubber is not None else raw


def scrub_segment(raw: str, scrubber: PhiScrubber) -> str:
    """A payer segment with its people masked: free text (STC12, MSG) as free text, where any date may
    be a birth date the file does not give; structured elements only by the people's own values."""
    separator = raw[3:4] if len(raw) > 3 else ""
    if not separator:
        return scrubber.scrub(raw)
    parts = raw.split(separator)
    free_text = {("STC", 12), ("MSG", 1), ("NTE", 2)}
    return separator.join(
        scrubber.scrub(part, any_date=(parts[0], index) in free_text) for index, part in enumerate(parts)
    )


def _keep_rejected(writer: LedgerWriter, document: X12Document, item: ClaimItem) -> None:
    """A refused claim waits in the unmatched queue as 'rejected', with its located findings."""
    header = item.transaction.header
    writer.queue_unmatched(
        UnmatchedItem(
            dedupe_key=_rejected_key(document, item),
            kind=UnmatchedKind.REJECTED,
            claim_ref=(item.claim_ref or _NO_CLAIM_REF)[:50],
            payer_claim_number=item.payer_claim_number[:50] if item.payer_claim_number else None,
            source=f"{document.source_name}#{item.segment_number}"[:300],
            received_at=utc_now(),
            payload={
                "transaction_set": header.transaction_set_id,
                "interchange_control_number": header.interchange_control_number,
                "group_control_number": header.group_control_number,
                "transaction_control_number": header.control_number,
                "segment_number": item.segment_number,
                "raw_segment": _rejected_evidence(item),
                "findings": [FindingLine.of(f, item.transaction).model_dump(mode="json") for f in item.errors],
            },
        )
    )


def _stray_claims(document: X12Document) -> Iterator[tuple[Finding, str]]:
    """Claims outside any ST..SE (a missing ST): the reader names each in its own finding."""
    for finding in document.findings:
        if finding.code is FindingCode.CLAIM_OUTSIDE_TRANSACTION:
            yield finding, finding.claim_ref or ""


def _keep_stray(writer: LedgerWriter, document: X12Document, finding: Finding, claim_ref: str) -> None:
    line = FindingLine.of(finding)
    writer.queue_unmatched(
        UnmatchedItem(
            dedupe_key=f"edi-stray:{document.source_name}:{finding.location.segment_number}"[:200],
            kind=UnmatchedKind.REJECTED,
            claim_ref=(claim_ref or _NO_CLAIM_REF)[:50],
            source=f"{document.source_name}#{finding.location.segment_number}"[:300],
            received_at=utc_now(),
            payload={"segment_number": finding.location.segment_number, "findings": [line.model_dump(mode="json")]},
        )
    )


def _import_document(ledger: Ledger, document: X12Document, result: FileImport, summary: EdiImportSummary) -> None:
    strays = list(_stray_claims(document))
    if strays:
        with ledger.writer() as writer:
            for finding, claim_ref in strays:
                result.claims.read += 1
                result.claims.rejected += 1
                _keep_stray(writer, document, finding, claim_ref)
    for transaction in document.transactions:
        result.transactions += 1
        if _errors(transaction.findings):
            result.transactions_rejected += 1
        if isinstance(transaction, ImplementationAcknowledgment):
            for ack in transaction.transaction_acks:
                result.acknowledgments += 1
                accepted = ack.status_code in {"A", "E"}
                summary.acknowledgments_accepted += int(accepted)
                summary.acknowledgments_rejected += int(not accepted)
            summary.submissions_acknowledged += acknowledge_submissions(ledger, transaction)
            continue
        if isinstance(transaction, EligibilityResponse):
            result.eligibility_results += len(transaction.results)
            continue
        # one transaction set, one database transaction, written in batches of claims: records are
        # made a batch at a time, so a 20,000-claim ERA never holds 40,000 records at once (any
        # exception rolls the whole set back)
        with ledger.writer() as writer:
            batch: list[ClaimItem] = []
            for item in claim_items(document, transaction):
                for finding in item.made:
                    summary.findings.append(FindingLine.of(finding, transaction))
                    result.errors += finding.severity is Severity.ERROR
                result.claims.read += 1
                if item.errors:
                    result.claims.rejected += 1
                    _keep_rejected(writer, document, item)
                else:
                    batch.append(item)
                if len(batch) == _BATCH_CLAIMS:
                    _record_items(writer, batch, result.claims, summary)
                    batch = []
            if batch:
                _record_items(writer, batch, result.claims, summary)
        if isinstance(transaction, ClaimStatusResponse) and transaction.kind == "277CA":
            summary.submissions_acknowledged += acknowledge_submissions(ledger, transaction)


#: Submissions still waiting for what the clearinghouse says about them.
_AWAITING_ACK = frozenset({SubmissionState.SENDING, SubmissionState.SENT})


def _with_code(submission: Submission, code: str) -> tuple[str, ...]:
    return (*(c for c in submission.ack_codes if c.split(":")[0] != code.split(":")[0]), code)


def acknowledge_submissions(ledger: Ledger, transaction: ImplementationAcknowledgment | ClaimStatusResponse) -> int:
    """Record a 999's or a 277CA's verdict on the submissions it answers; how many it moved on."""
    moved = 0
    if isinstance(transaction, ImplementationAcknowledgment):
        group = transaction.group_control_number.strip()
        if not group.isdigit() or len(group) > 9:
            return 0
        verdict = transaction.group_status_code or (
            "A" if all(a.accepted for a in transaction.transaction_acks) else "R"
        )
        for ours in ledger.submissions(interchange_control_number=f"{int(group):09d}"):
            if ours.state not in _AWAITING_ACK or ours.id is None:
                continue
            accepted = verdict in {"A", "E"}
            ledger.update_submission(
                ours.id,
                state=SubmissionState.SENT if accepted else SubmissionState.REJECTED,
                ack_codes=_with_code(ours, f"999:{verdict}"),
            )
            moved += 1
        return moved
    waiting: dict[str, Submission] = {}  # one look-up for the set, however many claims it answers
    for state in _AWAITING_ACK:
        for sent in ledger.submissions(state=state):
            if sent.route is SubmissionRoute.API and sent.id is not None:
                waiting[sent.claim_id] = sent
    for claim in transaction.claims:
        code = claim.primary_status
        submission = waiting.get(claim.patient_control_number or claim.trace_number)
        if code is None or submission is None or submission.id is None:
            continue
        status = status_from_277(code.category, code.status)
        rejected = status in (ClaimStatus.REJECTED, ClaimStatus.NOT_FOUND)
        ledger.update_submission(
            submission.id,
            state=SubmissionState.REJECTED if rejected else SubmissionState.ACCEPTED,
            ack_codes=_with_code(submission, f"277CA:{code}"),
            payer_claim_number=claim.payer_claim_control_number or submission.payer_claim_number,
        )
        moved += 1
    return moved


def _document_findings(document: X12Document) -> list[FindingLine]:
    """Every finding, located with the control numbers of the set (or interchange) it falls in."""
    lines: list[FindingLine] = []
    for transaction in document.transactions:
        lines.extend(FindingLine.of(finding, transaction) for finding in _transaction_findings(transaction))
    for finding in document.findings:
        line = FindingLine.of(finding)
        number = finding.location.segment_number or 0
        interchange = next((i for i in document.interchanges if i.first_segment <= number <= i.last_segment), None)
        if interchange is not None:
            group = next((g for g in interchange.groups if g.first_segment <= number <= g.last_segment), None)
            line.interchange_control_number = interchange.control_number
            line.group_control_number = group.control_number if group is not None else None
        lines.append(line)
    return sorted(lines, key=lambda line: line.segment_number or 0)


def _transaction_findings(transaction: Transaction) -> Iterator[Finding]:
    yield from transaction.findings
    for record in getattr(transaction, "claims", ()):
        yield from record.findings
    for record in getattr(transaction, "queries", ()):
        yield from record.findings
    for record in getattr(transaction, "results", ()):
        yield from record.findings


def import_edi(
    ledger: Ledger, paths: Iterable[Path], *, force: bool = False, codes: CodeSets | None = None
) -> EdiImportSummary:
    """Record what every file says; see the module docstring for where each claim ends.

    A file is remembered by its hash only when it was read without an error finding; ``force``
    reads a remembered file again (its records are skipped as duplicates by their keys).
    """
    summary = EdiImportSummary()
    code_sets = codes or CodeSets()
    for path in edi_files(paths):
        summary.files += 1
        result = _import_file(ledger, path, force, code_sets, summary)
        summary.file_results.append(result)
        summary.claims.add(result.claims)
        summary.transactions += result.transactions
        summary.transactions_rejected += result.transactions_rejected
        summary.eligibility_results += result.eligibility_results
        summary.files_already_imported += int(result.outcome == "already imported")
        summary.files_refused += int(result.errors > 0)
    summary.errors = sum(1 for finding in summary.findings if finding.severity is Severity.ERROR)
    summary.warnings = sum(1 for finding in summary.findings if finding.severity is Severity.WARNING)
    return summary


def _import_file(ledger: Ledger, path: Path, force: bool, codes: CodeSets, summary: EdiImportSummary) -> FileImport:
    try:
        data = path.read_bytes()
    except OSError as err:
        summary.findings.append(FindingLine.problem(str(path), f"cannot read ({err.strerror})"))
        return FileImport(file=str(path), outcome="unreadable", errors=1)
    sha = hashlib.sha256(data).hexdigest()
    with ledger.writer() as writer:
        seen = writer.edi_file_seen(sha)
    if seen and not force:
        return FileImport(file=str(path), outcome="already imported", remembered=True)
    try:
        document = read_x12(data, path.name)
    except X12SyntaxError as err:
        line = FindingLine.problem(path.name, err.reason, code="input.not_x12")
        line.segment_number, line.segment_id, line.element = (
            err.location.segment_number,
            err.location.segment_id,
            err.location.element,
        )
        line.location = str(err.location)
        summary.findings.append(line)
        return FileImport(file=str(path), outcome="unreadable", errors=1)
    check_claims(document, codes)
    findings = _document_findings(document)
    summary.findings.extend(findings)
    result = FileImport(
        file=str(path),
        outcome="imported",
        errors=sum(1 for f in findings if f.severity is Severity.ERROR),
        warnings=sum(1 for f in findings if f.severity is Severity.WARNING),
    )
    _import_document(ledger, document, result, summary)
    if result.claims.rejected or result.transactions_rejected:
        result.outcome = "refused in part"
    elif result.errors:
        result.outcome = "imported with errors"
    elif result.warnings:
        result.outcome = "imported with warnings"
    if not result.errors and not result.claims.rejected:
        # only a clean import is remembered: a refused file can be sent again once fixed
        if not seen:
            with ledger.writer() as writer:
                writer.record_edi_file(
                    sha, path.name, {"transactions": result.transactions, "claims": result.claims.read}
                )
        result.remembered = True
    return result
