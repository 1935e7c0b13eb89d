"""Just enough X12 for the sandbox clearinghouse: split what clients send, build what it answers.

The sandbox must not lean on the code under test, so it reads and writes X12 itself with plain
string work: a tokenizer that takes its separators from the ISA, request readers for the 276, 270
and 837P fields the clearinghouse looks at, and an envelope builder that counts segments and
numbers control numbers correctly. Tests check its output with the project's own `edi` reader.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from pydantic import BaseModel, ConfigDict

ISA_LENGTH = 106  # "ISA" + 16 fixed-width elements and their separators, plus the segment terminator


class X12Error(ValueError):
    """The payload is not X12 the sandbox can read (no ISA, or the envelope is cut short)."""


@dataclass(frozen=True)
class Separators:
    element: str = "*"
    component: str = ":"
    repetition: str = "^"
    segment: str = "~"


@dataclass
class Interchange:
    """A tokenized interchange: its separators, envelope ids and every segment as a list of elements."""

    separators: Separators
    sender_id: str
    receiver_id: str
    control_number: str
    segments: list[list[str]]

    def transactions(self) -> list[list[list[str]]]:
        """The segments of each ST..SE, both included."""
        found: list[list[list[str]]] = []
        current: list[list[str]] | None = None
        for segment in self.segments:
            if segment[0] == "ST":
                current = [segment]
            elif current is not None:
                current.append(segment)
                if segment[0] == "SE":
                    found.append(current)
                    current = None
        return found


def tokenize(text: str) -> Interchange:
    """Split an interchange into segments, with the separators its ISA declares."""
    start = text.find("ISA")
    if start < 0 or len(text) < start + ISA_LENGTH:
        raise X12Error("no ISA segment")
    isa = text[start : start + ISA_LENGTH]
    separators = Separators(element=isa[3], repetition=isa[82], component=isa[104], segment=isa[105])
    segments = [
        piece.strip("\r\n ").split(separators.element)
        for piece in text[start:].split(separators.segment)
        if piece.strip("\r\n ")
    ]
    if segments[-1][0] != "IEA":
        raise X12Error("the interchange has no IEA: it is cut short")
    header = segments[0]
    return Interchange(
        separators=separators,
        sender_id=header[6].strip(),
        receiver_id=header[8].strip(),
        control_number=header[13],
        segments=segments,
    )


def element(segment: list[str], position: int) -> str:
    """Element `position` (1-based, as X12 numbers them), or "" when the segment is shorter."""
    return segment[position] if len(segment) > position else ""


def x12_date(text: str) -> date | None:
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return None


def x12_amount(text: str) -> Decimal | None:
    try:
        return Decimal(text) if text else None
    except InvalidOperation:
        return None


def date_range(qualifier: str, value: str) -> tuple[date | None, date | None]:
    """DTP dates: D8 is one day, RD8 is `from-to`."""
    if qualifier == "RD8" and "-" in value:
        first, _, last = value.partition("-")
        return x12_date(first), x12_date(last)
    day = x12_date(value)
    return day, day


# --- requests -------------------------------------------------------------------------------------


class _Request(BaseModel):
    model_config = ConfigDict(frozen=True)


class _MemberInquiry(_Request):
    """Who is asked about, of whom, by whom: what 276 and 270 inquiries share."""

    payer_id: str
    provider_npi: str
    member_id: str
    last_name: str
    first_name: str
    birth_date: date | None
    trace_number: str


class StatusInquiry(_MemberInquiry):
    """One claim asked about in a 276 (loop 2200D/E)."""

    payer_claim_number: str | None
    patient_account_number: str | None
    billed_amount: Decimal | None
    service_from: date | None
    service_to: date | None


class EligibilityInquiry(_MemberInquiry):
    """One subscriber asked about in a 270 (loop 2000C)."""

    service_date: date | None


class SubmittedLine(_Request):
    procedure_code: str
    modifiers: tuple[str, ...]
    charge: Decimal
    units: str
    service_date: date | None


class SubmittedClaim(_Request):
    """One claim of an 837P, with the parties the clearinghouse edits it against.

    `frequency_code` is CLM05-3 (1 original, 7 replacement, 8 void); `original_claim_number` is
    REF*F8, the payer's claim number a 7 or 8 corrects; `diagnosis_codes` the HI codes, in order."""

    claim_id: str
    payer_id: str
    member_id: str
    last_name: str
    first_name: str
    total_charge: Decimal | None
    billing_npi: str
    rendering_npi: str
    frequency_code: str = "1"
    original_claim_number: str | None = None
    diagnosis_codes: tuple[str, ...] = ()
    lines: tuple[SubmittedLine, ...]


@dataclass
class _Parties:
    payer_id: str = ""
    provider_npi: str = ""
    member_id: str = ""
    last_name: str = ""
    first_name: str = ""
    birth_date: date | None = None


def read_status_inquiries(transaction: list[list[str]]) -> list[StatusInquiry]:
    """The claims a 276 asks about, with the payer, provider and member above each one."""
    parties = _Parties()
    claim: dict[str, object] | None = None
    inquiries: list[StatusInquiry] = []

    def close() -> None:
        if claim is not None:
            inquiries.append(StatusInquiry.model_validate({**vars(parties), **claim}))

    for segment in transaction:
        tag = segment[0]
        if tag == "NM1":
            _note_party(parties, segment)
        elif tag == "DMG":
            parties.birth_date = x12_date(element(segment, 2))
        elif tag == "HL":  # a 276 puts the DMG before the member's NM1, so a new level starts afresh
            close()
            claim = None
            parties.birth_date = None
        elif tag == "TRN":  # several claims may sit under one member: each TRN starts the next
            close()
            claim = {
                "trace_number": element(segment, 2),
                "payer_claim_number": None,
                "patient_account_number": None,
                "billed_amount": None,
                "service_from": None,
                "service_to": None,
            }
        elif claim is not None and tag == "REF":
            key = {"1K": "payer_claim_number", "EJ": "patient_account_number"}.get(element(segment, 1))
            if key:
                claim[key] = element(segment, 2)
        elif claim is not None and tag == "AMT" and element(segment, 1) == "T3":
            claim["billed_amount"] = x12_amount(element(segment, 2))
        elif claim is not None and tag == "DTP" and element(segment, 1) == "472":
            claim["service_from"], claim["service_to"] = date_range(element(segment, 2), element(segment, 3))
        elif tag == "SE":
            close()
    return inquiries


def read_eligibility_inquiries(transaction: list[list[str]]) -> list[EligibilityInquiry]:
    """The subscribers a 270 asks about."""
    parties = _Parties()
    trace = ""
    service_date: date | None = None
    inquiries: list[EligibilityInquiry] = []
    for segment in transaction:
        tag = segment[0]
        if tag == "NM1":
            _note_party(parties, segment)
        elif tag == "HL":
            parties.birth_date, trace, service_date = None, "", None
        elif tag == "TRN":
            trace = element(segment, 2)
        elif tag == "DMG":
            parties.birth_date = x12_date(element(segment, 2))
        elif tag == "DTP" and element(segment, 1) == "291":
            service_date = date_range(element(segment, 2), element(segment, 3))[0]
        elif tag == "EQ" and parties.member_id:
            inquiries.append(EligibilityInquiry(**vars(parties), trace_number=trace, service_date=service_date))
    return inquiries


def _note_party(parties: _Parties, segment: list[str]) -> None:
    role, identifier = element(segment, 1), element(segment, 9)
    if role == "PR":
        parties.payer_id = identifier
    elif role == "1P":
        parties.provider_npi = identifier
    elif role == "IL":
        parties.member_id = identifier
        parties.last_name = element(segment, 3)
        parties.first_name = element(segment, 4)


def read_submitted_claims(transaction: list[list[str]], separators: Separators) -> list[SubmittedClaim]:
    """The claims of an 837P with their subscriber, payer, billing and rendering providers."""
    billing_npi = ""
    member: dict[str, str] = {}
    payer_id = ""
    claims: list[SubmittedClaim] = []
    claim: dict[str, object] | None = None
    lines: list[SubmittedLine] = []
    line: dict[str, object] | None = None

    def close_line() -> None:
        nonlocal line
        if line is not None:
            lines.append(SubmittedLine.model_validate(line))
            line = None

    def close_claim() -> None:
        nonlocal claim, lines
        close_line()
        if claim is not None:
            claims.append(SubmittedClaim.model_validate({**claim, "lines": tuple(lines)}))
        claim, lines = None, []

    for segment in transaction:
        tag = segment[0]
        if tag == "HL":
            close_claim()
        elif tag == "NM1":
            role = element(segment, 1)
            if role == "85":
                billing_npi = element(segment, 9)
            elif role == "IL":
                member = {
                    "member_id": element(segment, 9),
                    "last_name": element(segment, 3),
                    "first_name": element(segment, 4),
                }
            elif role == "PR":
                payer_id = element(segment, 9)
            elif role == "82" and claim is not None:
                claim["rendering_npi"] = element(segment, 9)
        elif tag == "CLM":
            close_claim()
            facility = element(segment, 5).split(separators.component)
            claim = {
                "claim_id": element(segment, 1),
                "total_charge": x12_amount(element(segment, 2)),
                "payer_id": payer_id,
                "billing_npi": billing_npi,
                "rendering_npi": billing_npi,
                "frequency_code": facility[2] if len(facility) > 2 and facility[2] else "1",
                **member,
            }
        elif tag == "REF" and claim is not None and line is None and element(segment, 1) == "F8":
            claim["original_claim_number"] = element(segment, 2)
        elif tag == "HI" and claim is not None:
            codes = [part.split(separators.component) for part in segment[1:]]
            claim["diagnosis_codes"] = tuple(code[1] for code in codes if len(code) > 1 and code[1])
        elif tag == "SV1" and claim is not None:
            close_line()
            code, *modifiers = element(segment, 1).split(separators.component)[1:] or [""]
            line = {
                "procedure_code": code,
                "modifiers": tuple(m for m in modifiers if m),
                "charge": x12_amount(element(segment, 2)) or Decimal("0"),
                "units": element(segment, 4),
                "service_date": None,
            }
        elif tag == "DTP" and line is not None and element(segment, 1) == "472":
            line["service_date"] = date_range(element(segment, 2), element(segment, 3))[0]
        elif tag == "SE":
            close_claim()
    return claims


# --- building responses ---------------------------------------------------------------------------


@dataclass
class TransactionSet:
    """The body of one ST..SE (without ST and SE, which the builder adds and counts)."""

    transaction_set_id: str
    implementation_reference: str
    body: list[list[str]] = field(default_factory=list)

    def add(self, *elements: str) -> None:
        self.add_segment(list(elements))

    def add_person(self, role: str, last_name: str, first_name: str, member_id: str) -> None:
        """NM1 for a person identified by member id (IL subscriber, QC patient)."""
        self.add("NM1", role, "1", last_name, first_name, "", "", "", "MI", member_id)

    def add_segment(self, elements: list[str]) -> None:
        while len(elements) > 1 and elements[-1] == "":  # X12 drops trailing empty elements
            elements.pop()
        self.body.append(elements)


class EnvelopeBuilder:
    """Wraps transaction sets in ISA/GS..GE/IEA with consistent control numbers and counts."""

    def __init__(self, sender_id: str, first_control_number: int = 1) -> None:
        self.sender_id = sender_id
        self._control_numbers = itertools.count(first_control_number)

    def interchange(
        self, receiver_id: str, functional_id: str, transactions: list[TransactionSet], now: datetime
    ) -> str:
        """One interchange with one functional group holding `transactions`."""
        control = next(self._control_numbers)
        group = str(control)
        segments: list[list[str]] = [
            [
                "ISA",
                "00",
                " " * 10,
                "00",
                " " * 10,
                "ZZ",
                self.sender_id.ljust(15)[:15],
                "ZZ",
                receiver_id.ljust(15)[:15],
                now.strftime("%y%m%d"),
                now.strftime("%H%M"),
                "^",
                "00501",
                f"{control:09d}",
                "0",
                "T",
                ":",
            ],
            [
                "GS",
                functional_id,
                self.sender_id,
                receiver_id,
                now.strftime("%Y%m%d"),
                now.strftime("%H%M"),
                group,
                "X",
                transactions[0].implementation_reference if transactions else "005010",
            ],
        ]
        for number, transaction in enumerate(transactions, start=1):
            st_control = f"{number:04d}"
            body = [
                ["ST", transaction.transaction_set_id, st_control, transaction.implementation_reference],
                *transaction.body,
            ]
            segments += body
            segments.append(["SE", str(len(body) + 1), st_control])
        segments.append(["GE", str(len(transactions)), group])
        segments.append(["IEA", "1", f"{control:09d}"])
        return "".join("*".join(segment) + "~\n" for segment in segments)


def composite(*parts: str) -> str:
    """A composite element with the sandbox's component separator, trailing empty parts dropped."""
    parts_list = list(parts)
    while parts_list and parts_list[-1] == "":
        parts_list.pop()
    return ":".join(parts_list)


def d8(day: date) -> str:
    return day.strftime("%Y%m%d")


def money(amount: Decimal) -> str:
    """X12 decimal: no trailing zeros beyond what the value needs (`125`, `125.5`, `125.55`)."""
    text = f"{amount:.2f}".rstrip("0").rstrip(".")
    return text or "0"
