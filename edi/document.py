"""The entry point: ``read_x12`` turns bytes or text into an :class:`X12Document`.

Owns dispatching each ST..SE to its typed view by ST01 and implementation reference (ST03 or
GS08), keeping unknown transaction types as :class:`UnrecognizedTransaction` with a finding, and
collecting findings from every level. Reading is pure; ``read_x12_file`` is the only I/O.
"""

from __future__ import annotations

import gc
import mmap
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TypeVar

from pydantic import BaseModel, Field

from edi.acknowledgment import ImplementationAcknowledgment, read_implementation_ack
from edi.claim_status import (
    ClaimStatusRequestSet,
    ClaimStatusResponse,
    read_claim_status_request,
    read_claim_status_response,
)
from edi.eligibility import (
    EligibilityRequestSet,
    EligibilityResponse,
    read_eligibility_request,
    read_eligibility_response,
)
from edi.findings import Finding, FindingCode, Severity
from edi.professional_claim import ProfessionalClaimSet, read_professional_claims
from edi.reader import Buffer, Interchange, scan_envelopes
from edi.remittance import RemittanceAdvice, read_remittance
from edi.transaction import TransactionText, TransactionView, UnrecognizedTransaction, read_unrecognized
from edi.values import ElementReader

Transaction = Annotated[
    RemittanceAdvice
    | ClaimStatusResponse
    | ClaimStatusRequestSet
    | EligibilityResponse
    | EligibilityRequestSet
    | ProfessionalClaimSet
    | ImplementationAcknowledgment
    | UnrecognizedTransaction,
    Field(discriminator="kind"),
]
ViewT = TypeVar("ViewT", bound=TransactionView)


class X12Document(BaseModel):
    """Everything read from one file: envelopes, typed transactions and all findings."""

    source_name: str
    segment_count: int
    interchanges: list[Interchange]
    transactions: list[Transaction]
    findings: list[Finding]

    def transactions_of(self, kind: type[ViewT]) -> list[ViewT]:
        return [transaction for transaction in self.transactions if isinstance(transaction, kind)]

    def all_findings(self) -> list[Finding]:
        """Document, transaction and record (claim, query, result) findings, in file order."""
        collected = list(self.findings)
        for transaction in self.transactions:
            collected.extend(transaction.findings)
            for record in _records(transaction):
                collected.extend(record)
        return sorted(collected, key=lambda finding: finding.location.segment_number or 0)


def _records(transaction: Transaction) -> Iterator[list[Finding]]:
    if isinstance(transaction, RemittanceAdvice | ClaimStatusResponse | ProfessionalClaimSet):
        for claim in transaction.claims:
            yield claim.findings
    elif isinstance(transaction, ClaimStatusRequestSet | EligibilityRequestSet):
        for query in transaction.queries:
            yield query.findings
    elif isinstance(transaction, EligibilityResponse):
        for result in transaction.results:
            yield result.findings


def read_x12(data: Buffer | str, source_name: str) -> X12Document:
    """Read an X12 file's content. Raises :class:`edi.X12SyntaxError` only when there is no
    readable envelope; every other problem is a finding on the document, transaction or claim."""
    with _cyclic_gc_paused():
        scan = scan_envelopes(data, source_name)
        transactions = [_read_transaction(text) for text in scan.transactions]
        return X12Document(
            source_name=source_name,
            segment_count=scan.segment_count,
            interchanges=scan.interchanges,
            transactions=transactions,
            findings=scan.findings,
        )


def read_x12_file(path: str | os.PathLike[str]) -> X12Document:
    """Read a file through a memory map: a large remittance is decoded straight from the page
    cache instead of being copied into a bytes object first."""
    file_path = Path(path)
    with file_path.open("rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            return read_x12(b"", file_path.name)
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            return read_x12(mapped, file_path.name)


def _view_reader(text: TransactionText) -> Callable[[TransactionText], Transaction]:
    header = text.header
    set_id = header.transaction_set_id
    version = header.implementation_reference or ""
    if set_id == "835":
        return read_remittance
    if set_id == "277" and ("X212" in version or "X214" in version):
        return read_claim_status_response
    if set_id == "276":
        return read_claim_status_request
    if set_id == "271":
        return read_eligibility_response
    if set_id == "270":
        return read_eligibility_request
    if set_id == "837" and "X222" in version:
        return read_professional_claims
    if set_id in ("999", "997"):
        return read_implementation_ack
    return read_unrecognized


def _read_transaction(text: TransactionText) -> Transaction:
    view_reader = _view_reader(text)
    try:
        return view_reader(text)
    except Exception as error:  # one broken view must not lose the rest of the file
        fallback = read_unrecognized(text)
        fallback.findings.append(
            ElementReader(text.source_name).finding(
                Severity.ERROR,
                FindingCode.VIEW_FAILED,
                f"the {text.header.transaction_set_id} view failed ({type(error).__name__}: {error}); "
                "kept as raw segments",
                text.header.first_segment,
                "ST",
            )
        )
        return fallback


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Parsing allocates hundreds of thousands of small acyclic objects; the cyclic collector
    would rescan the growing heap again and again (about half the time of a large ERA) without
    ever finding garbage, so it is paused for the read and restored to its previous state.

    The records outlive the read (they are the document), so afterwards they are moved straight
    to the oldest generation: otherwise the first young collection after the read scans them all
    once more (~0.05 s for a 20,000-claim ERA) only to promote them. gc.freeze() + unfreeze() is
    that move; it is skipped when the application keeps frozen objects of its own."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()
