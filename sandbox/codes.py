"""The codes the sandbox payers speak, with short descriptions written for the sandbox.

The texts are our own paraphrases, not X12's official code-list wording. They are what the portals
print next to a code, so a bot has to read them off the page like it would on a real portal.
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """What the payer did with a claim: the ground truth the portals and the clearinghouse render."""

    PAID = "paid"
    PARTIALLY_PAID = "partially_paid"
    DENIED = "denied"
    PENDING = "pending"
    INFO_REQUESTED = "info_requested"
    REJECTED = "rejected"
    NOT_FOUND = "not_found"
    VOIDED = "voided"  # only ever the result of a void (frequency 8) correction: sandbox/corrections.py


FINALIZED_OUTCOMES = frozenset({Outcome.PAID, Outcome.PARTIALLY_PAID, Outcome.DENIED})

CARC_TEXTS: dict[str, str] = {
    "1": "Deductible amount applied",
    "2": "Coinsurance amount",
    "3": "Copayment amount",
    "4": "Modifier missing or does not fit the procedure code",
    "16": "Claim is missing information or has a billing error; see the remark code",
    "18": "Duplicate of a claim or service already received",
    "22": "Another payer may be primary (coordination of benefits)",
    "29": "Filed after the timely filing limit",
    "45": "Charge is above the fee schedule or contracted rate",
    "50": "Not medically necessary in the payer's judgement",
    "96": "Charge is not covered",
    "97": "Paid as part of another service already processed (bundled)",
    "109": "Not covered by this payer; send it to the correct payer",
    "167": "Diagnosis is not covered",
    "197": "Prior authorization or precertification missing",
    "204": "Service is not covered by the patient's current benefit plan",
}

RARC_TEXTS: dict[str, str] = {
    "M15": "Separately billed services were bundled",
    "M51": "Procedure code missing, incomplete or invalid",
    "M76": "Diagnosis missing, incomplete or invalid",
    "MA04": "Secondary payment cannot be considered without the primary payer's details",
    "N130": "Check the plan's benefit documents for coverage limits",
    "N290": "Rendering provider identifier missing or invalid",
    "N54": "Claim information does not match the authorization on file",
    "N115": "Decision based on a local coverage determination",
    "N211": "This service cannot be appealed",
    "N522": "Duplicate of a claim processed earlier",
}

GROUP_TEXTS: dict[str, str] = {
    "CO": "Contractual obligation",
    "PR": "Patient responsibility",
    "OA": "Other adjustment",
    "PI": "Payer-initiated reduction",
}

#: STC01-1 category codes the portals show, with a short description.
CATEGORY_TEXTS: dict[str, str] = {
    "A2": "Accepted into adjudication",
    "A3": "Returned as unprocessable",
    "A6": "Rejected: information missing",
    "A7": "Rejected: information invalid",
    "F0": "Finalized: no further action",
    "F1": "Finalized: payment",
    "F2": "Finalized: denial",
    "F3": "Finalized: revised",
    "P1": "Pending: in process",
    "P2": "Pending: in review",
    "P3": "Pending: information requested",
    "R4": "Request for additional documentation",
}

#: STC01-2 status codes the portals show, with a short description.
STATUS_CODE_TEXTS: dict[str, str] = {
    "1": "See the remittance advice for details",
    "20": "Accepted for processing",
    "21": "Information missing or invalid",
    "41": "Special handling at the payer",
    "54": "Duplicate of a claim already processed",
    "65": "Claim or line paid",
    "101": "Processed as an adjustment to an earlier claim",
    "107": "Processed under the contract's provisions",
    "78": "Duplicate of a claim still being processed",
    "164": "Member id missing or invalid",
    "294": "Supporting documentation needed",
    "464": "Payer claim number (original reference) missing or invalid",
    "495": "Quote the newer payer claim number this claim was replaced under",
    "562": "Provider NPI missing or invalid",
    "686": "Claim voided: adjudication complete",
}

#: How the old-style portal (KEYSTONE) words each category: it never shows codes.
CATEGORY_WORDS: dict[str, str] = {
    "F1": "Finalized - Paid",
    "F2": "Finalized - Denied",
    "F3": "Finalized - Adjusted",
    "F0": "Finalized - Adjusted",  # a voided claim: adjudicated, nothing paid
    "P1": "In Process",
    "P2": "Pending - In Review",
    "P3": "Additional Information Requested",
    "R4": "Additional Information Requested",
    "A3": "Rejected",
    "A6": "Rejected",
    "A7": "Rejected",
}

#: The single-page portal (MERIDIAN) shows a short badge per outcome plus the codes.
OUTCOME_BADGES: dict[Outcome, str] = {
    Outcome.PAID: "PAID",
    Outcome.PARTIALLY_PAID: "PAID",
    Outcome.DENIED: "DENIED",
    Outcome.PENDING: "PENDING",
    Outcome.INFO_REQUESTED: "INFO REQUESTED",
    Outcome.REJECTED: "REJECTED",
    Outcome.VOIDED: "VOIDED",
}
