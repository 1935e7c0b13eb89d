"""Acknowledgments: 999 (and 997) implementation acknowledgments and TA1 interchange acks.

They answer "did the payer or clearinghouse accept what we sent?": per transaction set
(AK2..IK5/AK5) with the segment and element errors (IK3/IK4, AK3/AK4) that caused a rejection,
per functional group (AK9), and per interchange (TA1, which sits outside any ST..SE).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from edi.findings import Finding, FindingCode, Severity
from edi.transaction import TransactionText, TransactionView
from edi.values import ElementReader

ACCEPTED_CODES = frozenset({"A", "E"})
"""IK501/AK501/AK901/TA104 codes meaning accepted (E = accepted with errors noted)."""


@dataclass(slots=True)
class ElementError:
    """IK4 (999) / AK4 (997): one bad element in a segment we sent."""

    position: int | None
    component_position: int | None
    data_element_reference: str
    error_code: str
    bad_value: str
    segment_number: int


@dataclass(slots=True)
class SegmentError:
    """IK3 (999) / AK3 (997): a segment of the acknowledged transaction that has an error."""

    segment_id: str
    position_in_transaction: int | None
    loop_id: str
    error_code: str
    segment_number: int
    context: list[str] = field(default_factory=list)
    element_errors: list[ElementError] = field(default_factory=list)


@dataclass(slots=True)
class TransactionSetAck:
    """AK2..IK5 (999) / AK2..AK5 (997): the verdict on one transaction set we sent."""

    transaction_set_id: str
    control_number: str
    implementation_reference: str
    segment_number: int
    status_code: str = ""
    error_codes: list[str] = field(default_factory=list)
    segment_errors: list[SegmentError] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.status_code in ACCEPTED_CODES


class ImplementationAcknowledgment(TransactionView):
    """A 999 or 997 acknowledging one functional group (AK1) we sent."""

    kind: Literal["999", "997"]
    functional_identifier: str
    group_control_number: str
    version: str
    transaction_acks: list[TransactionSetAck]
    group_status_code: str
    transactions_included: int | None
    transactions_received: int | None
    transactions_accepted: int | None
    group_error_codes: list[str]

    @property
    def group_accepted(self) -> bool:
        return self.group_status_code in ACCEPTED_CODES


@dataclass(slots=True)
class InterchangeAck:
    """TA1: acceptance of a whole interchange (ISA13 of ours), with a note code on errors."""

    interchange_control_number: str
    date: str
    time: str
    status_code: str
    note_code: str
    segment_number: int

    @property
    def accepted(self) -> bool:
        return self.status_code in ACCEPTED_CODES


def read_interchange_ack(elements: list[str], number: int) -> InterchangeAck:
    padded = [*elements, "", "", "", "", "", ""]
    return InterchangeAck(
        interchange_control_number=padded[1],
        date=padded[2],
        time=padded[3],
        status_code=padded[4],
        note_code=padded[5],
        segment_number=number,
    )


def read_implementation_ack(text: TransactionText) -> ImplementationAcknowledgment:
    reader = ElementReader(text.source_name)
    findings = list(text.findings)
    kind: Literal["999", "997"] = "997" if text.header.transaction_set_id == "997" else "999"
    group = {"functional_identifier": "", "group_control_number": "", "version": ""}
    group_totals: list[int | None] = [None, None, None]
    group_status = ""
    group_errors: list[str] = []
    acks: list[TransactionSetAck] = []
    current_ack: TransactionSetAck | None = None
    current_error: SegmentError | None = None

    for number, elements in text.split_body():
        segment_id = elements[0]
        padded = [*elements, "", "", "", "", "", ""]
        if segment_id == "AK1":
            group = {
                "functional_identifier": padded[1],
                "group_control_number": padded[2],
                "version": padded[3],
            }
        elif segment_id == "AK2":
            current_ack = TransactionSetAck(padded[1], padded[2], padded[3], number)
            current_error = None
            acks.append(current_ack)
        elif segment_id in ("IK3", "AK3"):
            if current_ack is None:
                findings.append(_outside_ack(reader, number, segment_id))
                continue
            current_error = SegmentError(
                segment_id=padded[1],
                position_in_transaction=reader.integer(elements, 2, number, findings),
                loop_id=padded[3],
                error_code=padded[4],
                segment_number=number,
            )
            current_ack.segment_errors.append(current_error)
        elif segment_id == "CTX" and current_error is not None:
            current_error.context.append(text.separators.element.join(elements[1:]))
        elif segment_id in ("IK4", "AK4"):
            if current_error is None:
                findings.append(_outside_ack(reader, number, segment_id))
                continue
            position_parts = padded[1].split(text.separators.component)
            current_error.element_errors.append(
                ElementError(
                    position=_small_int(position_parts[0]),
                    component_position=_small_int(position_parts[1]) if len(position_parts) > 1 else None,
                    data_element_reference=padded[2],
                    error_code=padded[3],
                    bad_value=padded[4],
                    segment_number=number,
                )
            )
        elif segment_id in ("IK5", "AK5"):
            if current_ack is None:
                findings.append(_outside_ack(reader, number, segment_id))
                continue
            current_ack.status_code = padded[1]
            current_ack.error_codes = [code for code in elements[2:7] if code]
        elif segment_id == "AK9":
            group_status = padded[1]
            group_totals = [reader.integer(elements, position, number, findings) for position in (2, 3, 4)]
            group_errors = [code for code in elements[5:10] if code]
    return _assemble(text, kind, group, acks, group_status, group_totals, group_errors, findings)


def _assemble(
    text: TransactionText,
    kind: Literal["999", "997"],
    group: dict[str, str],
    acks: list[TransactionSetAck],
    group_status: str,
    group_totals: list[int | None],
    group_errors: list[str],
    findings: list[Finding],
) -> ImplementationAcknowledgment:
    view = ImplementationAcknowledgment(
        header=text.header,
        findings=findings,
        kind=kind,
        functional_identifier=group["functional_identifier"],
        group_control_number=group["group_control_number"],
        version=group["version"],
        transaction_acks=acks,
        group_status_code=group_status,
        transactions_included=group_totals[0],
        transactions_received=group_totals[1],
        transactions_accepted=group_totals[2],
        group_error_codes=group_errors,
    )
    view.attach_text(text)
    return view


def _small_int(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() else None


def _outside_ack(reader: ElementReader, number: int, segment_id: str) -> Finding:
    return reader.finding(
        Severity.WARNING,
        FindingCode.UNEXPECTED_SEGMENT,
        f"{segment_id} outside an AK2 transaction set response; ignored",
        number,
        segment_id,
    )
