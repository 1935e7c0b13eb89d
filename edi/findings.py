"""Findings and the one fatal error of the X12 layer.

Everything wrong with an X12 file that still leaves something to read (bad control counts, a
truncated transaction, an amount like ``8O0.00``) is a :class:`Finding` with a stable code and a
location, attached to the interchange, transaction or claim it concerns, so one bad claim never
hides the good ones. Only input with no readable envelope at all raises :class:`X12SyntaxError`.

Finding messages never quote values of patient segments (names, member ids, birth dates): they
are written to logs and shown in summaries.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class FindingCode(StrEnum):
    """Stable identifiers for findings; user-facing text can be keyed on these."""

    LEADING_TEXT = "input.leading_text"
    BYTE_ORDER_MARK = "input.byte_order_mark"
    NOT_UTF8 = "input.not_utf8"
    TRAILING_TEXT = "input.trailing_text"
    UNTERMINATED_SEGMENT = "input.unterminated_segment"
    NO_INTERCHANGE_ENVELOPE = "input.no_interchange_envelope"
    ISA_LAYOUT = "isa.nonstandard_layout"
    REPETITION_SEPARATOR = "isa.repetition_separator_unusable"
    MISSING_SE = "envelope.missing_se"
    MISSING_GE = "envelope.missing_ge"
    MISSING_IEA = "envelope.missing_iea"
    MISSING_GS = "envelope.missing_gs"
    SE_COUNT = "envelope.se_segment_count"
    SE_CONTROL_NUMBER = "envelope.se_control_number"
    GE_COUNT = "envelope.ge_transaction_count"
    GE_CONTROL_NUMBER = "envelope.ge_control_number"
    IEA_COUNT = "envelope.iea_group_count"
    IEA_CONTROL_NUMBER = "envelope.iea_control_number"
    SEGMENT_OUTSIDE_TRANSACTION = "envelope.segment_outside_transaction"
    CLAIM_OUTSIDE_TRANSACTION = "envelope.claim_outside_transaction"
    UNMATCHED_TRAILER = "envelope.unmatched_trailer"
    EMPTY_INTERCHANGE = "envelope.empty_interchange"
    EMPTY_GROUP = "envelope.empty_group"
    DUPLICATE_CONTROL_NUMBER = "envelope.duplicate_st02"
    UNKNOWN_TRANSACTION = "transaction.unknown_type"
    VIEW_FAILED = "transaction.view_failed"
    MISSING_SEGMENT = "segment.missing"
    UNEXPECTED_SEGMENT = "segment.unexpected"
    MISSING_ELEMENT = "element.missing"
    INVALID_AMOUNT = "element.invalid_amount"
    INVALID_NUMBER = "element.invalid_number"
    INVALID_DATE = "element.invalid_date"
    MALFORMED_COMPOSITE = "element.malformed_composite"
    HL_INVALID = "hl.invalid"
    HL_UNKNOWN_PARENT = "hl.unknown_parent"
    HL_DUPLICATE_ID = "hl.duplicate_id"
    CLAIM_BALANCE = "balance.claim"
    CLAIM_LINES_BALANCE = "balance.claim_service_lines"
    SERVICE_LINE_BALANCE = "balance.service_line"
    PAYMENT_BALANCE = "balance.payment"
    CLAIM_CHARGE_LINES = "balance.claim_charge_service_lines"
    UNKNOWN_STATUS_CATEGORY = "code.unknown_status_category"
    UNKNOWN_CARC = "code.unknown_carc"
    UNKNOWN_RARC = "code.unknown_rarc"
    UNRECORDABLE = "record.unrecordable"


class Location(BaseModel):
    """Where a finding points: file, 1-based segment number in the file, segment id, element."""

    model_config = ConfigDict(frozen=True)

    source_name: str
    segment_number: int | None = None
    segment_id: str | None = None
    element: str | None = None

    def __str__(self) -> str:
        parts = [self.source_name]
        if self.segment_number is not None:
            parts.append(f"segment {self.segment_number}")
        if self.segment_id:
            parts.append(self.element or self.segment_id)
        elif self.element:
            parts.append(self.element)
        return " ".join(parts)


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True)

    severity: Severity
    code: FindingCode
    message: str
    location: Location
    claim_ref: str | None = None  # the claim a finding names when no view holds it (CLP01 outside ST..SE)

    def __str__(self) -> str:
        return f"{self.severity.value.upper()} {self.code.value} at {self.location}: {self.message}"


def as_warnings(findings: list[Finding]) -> list[Finding]:
    """The same findings as warnings: for faults that flag a record instead of refusing it."""
    return [finding.model_copy(update={"severity": Severity.WARNING}) for finding in findings]


def has_errors(findings: list[Finding]) -> bool:
    return any(finding.severity is Severity.ERROR for finding in findings)


class X12SyntaxError(Exception):
    """Input with no usable interchange envelope (empty, no ISA, unreadable ISA separators)."""

    def __init__(
        self,
        reason: str,
        *,
        source_name: str,
        segment_number: int | None = None,
        segment_id: str | None = None,
        element: str | None = None,
    ) -> None:
        self.reason = reason
        self.location = Location(
            source_name=source_name,
            segment_number=segment_number,
            segment_id=segment_id,
            element=element,
        )
        super().__init__(f"{self.location}: {reason}")
