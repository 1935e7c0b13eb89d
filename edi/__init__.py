"""Pure X12 5010 layer: read 270/271, 276/277/277CA, 835, 837P, 999/997 and TA1; write 270, 276, 837P.

``read_x12`` / ``read_x12_file`` return an :class:`X12Document` of typed transactions with
findings on the document, transaction and claim they concern; ``describe`` turns it into a
summary without patient identity; the writers build interchanges from typed models. No database,
no network: the ledger integration lives elsewhere.
"""

from edi.acknowledgment import ImplementationAcknowledgment, InterchangeAck, TransactionSetAck
from edi.claim_status import ClaimStatus, ClaimStatusQuery, ClaimStatusRequestSet, ClaimStatusResponse
from edi.describe import DocumentSummary, describe, render_lines
from edi.document import Transaction, X12Document, read_x12, read_x12_file
from edi.eligibility import EligibilityQuery, EligibilityRequestSet, EligibilityResponse, EligibilityResult
from edi.findings import Finding, FindingCode, Location, Severity, X12SyntaxError
from edi.outbound import (
    ClaimStatusInquiry,
    ControlNumberCounter,
    ControlNumberSource,
    EligibilityInquiry,
    InterchangeSettings,
    ProfessionalClaimSubmission,
)
from edi.professional_claim import ProfessionalClaim, ProfessionalClaimSet
from edi.reader import FunctionalGroup, Interchange
from edi.remittance import ClaimPayment, RemittanceAdvice
from edi.segments import Segment, Separators
from edi.transaction import TransactionHeader, UnrecognizedTransaction
from edi.writers import (
    ClaimCorrection,
    MissingPayerClaimControlNumber,
    X12WriteError,
    corrected_submission,
    write_270,
    write_276,
    write_837p,
    write_corrected_837p,
)

__all__ = [
    "ClaimCorrection",
    "ClaimPayment",
    "ClaimStatus",
    "ClaimStatusInquiry",
    "ClaimStatusQuery",
    "ClaimStatusRequestSet",
    "ClaimStatusResponse",
    "ControlNumberCounter",
    "ControlNumberSource",
    "DocumentSummary",
    "EligibilityInquiry",
    "EligibilityQuery",
    "EligibilityRequestSet",
    "EligibilityResponse",
    "EligibilityResult",
    "Finding",
    "FindingCode",
    "FunctionalGroup",
    "ImplementationAcknowledgment",
    "Interchange",
    "InterchangeAck",
    "InterchangeSettings",
    "Location",
    "MissingPayerClaimControlNumber",
    "ProfessionalClaim",
    "ProfessionalClaimSet",
    "ProfessionalClaimSubmission",
    "RemittanceAdvice",
    "Segment",
    "Separators",
    "Severity",
    "Transaction",
    "TransactionHeader",
    "TransactionSetAck",
    "UnrecognizedTransaction",
    "X12Document",
    "X12SyntaxError",
    "X12WriteError",
    "corrected_submission",
    "describe",
    "read_x12",
    "read_x12_file",
    "render_lines",
    "write_270",
    "write_276",
    "write_837p",
    "write_corrected_837p",
]
