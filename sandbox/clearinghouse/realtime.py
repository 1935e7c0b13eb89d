"""Real-time answers: a 277 for each 276 inquiry and a 271 for each 270, from the payers' books.

The answers follow the payers' truth: finalized claims carry amounts, dates and the check/EFT number
in STC; pending ones their P-category; claims the payer never got come back A4:35; a payer that is
"down" (fault `payers_down`) gets E1 in the 277 and AAA*42 in the 271. A 270 for a member id the
payer does not know gets AAA*75, and one whose birth date does not match gets AAA*71.
"""

from __future__ import annotations

from datetime import date, datetime

from sandbox.models import Eligibility, Patient, SandboxClaim
from sandbox.payer_book import MemberMiss, PayerBook
from sandbox.x12 import EligibilityInquiry, StatusInquiry, TransactionSet, composite, d8, money

#: EB04 insurance type per plan family.
INSURANCE_TYPE = {"PPO": "PR", "HMO": "HM", "EPO": "EP", "HDHP": "C1", "Part B": "MB"}


def _insurance_type(plan_name: str) -> str:
    return next((code for word, code in INSURANCE_TYPE.items() if word in plan_name), "C1")


def find_claim(book: PayerBook, inquiry: StatusInquiry) -> SandboxClaim | None:
    """Match a 276 the way payers do: by their claim number, else the practice's, else member + dates."""
    candidates: list[SandboxClaim] = []
    for number in (inquiry.payer_claim_number, inquiry.patient_account_number):
        if number and (found := book.find(number)) is not None:
            candidates = [found]
            break
    else:
        candidates = book.search(
            member_id=inquiry.member_id,
            date_from=inquiry.service_from,
            date_to=inquiry.service_to or inquiry.service_from,
        )
        if inquiry.service_from is None:
            candidates = []
    return next((c for c in candidates if c.patient.member_id.upper() == inquiry.member_id.upper()), None)


class _HierarchyWriter:
    """Emits the 20/21/19 levels once per payer and provider, then one subscriber level per answer."""

    def __init__(self, transaction: TransactionSet, receiver_id: str, receiver_role: str) -> None:
        self.transaction = transaction
        self.receiver_id = receiver_id
        self.receiver_role = receiver_role
        self.count = 0
        self._source: tuple[str, str] | None = None
        self._provider_level = 0
        self._source_level = 0

    def level(self, parent: int, code: str, has_children: bool) -> int:
        self.count += 1
        self.transaction.add("HL", str(self.count), str(parent) if parent else "", code, "1" if has_children else "0")
        return self.count

    def subscriber_level(
        self, payer_id: str, payer_name: str, provider_npi: str, source_extra: list[list[str]] | None = None
    ) -> int:
        if self._source != (payer_id, provider_npi):
            self._source = (payer_id, provider_npi)
            source = self.level(0, "20", True)
            self.transaction.add("NM1", "PR", "2", payer_name.upper(), "", "", "", "", "PI", payer_id)
            for segment in source_extra or []:
                self.transaction.add_segment(segment)
            receiver = self.level(source, "21", True)
            if self.receiver_role == "41":
                self.transaction.add("NM1", "41", "2", "SANDBOX SUBMITTER", "", "", "", "", "46", self.receiver_id)
                self._provider_level = self.level(receiver, "19", True)
            else:
                self._provider_level = receiver
            self.transaction.add("NM1", "1P", "2", "SANDBOX PROVIDER", "", "", "", "", "XX", provider_npi)
        return self.level(self._provider_level, "22", False)


def claim_status_response(
    inquiries: list[StatusInquiry],
    books: dict[str, PayerBook],
    payers_down: set[str],
    reference_id: str,
    receiver_id: str,
    now: datetime,
) -> TransactionSet:
    """The 277 (005010X212) that answers a 276's inquiries."""
    transaction = TransactionSet("277", "005010X212")
    transaction.add("BHT", "0010", "08", reference_id, d8(now.date()), now.strftime("%H%M"), "DG")
    writer = _HierarchyWriter(transaction, receiver_id, "41")
    for inquiry in inquiries:
        book = books.get(inquiry.payer_id.upper())
        payer_name = book.payer_name if book else inquiry.payer_id
        writer.subscriber_level(inquiry.payer_id, payer_name, inquiry.provider_npi)
        transaction.add_person("IL", inquiry.last_name, inquiry.first_name, inquiry.member_id)
        transaction.add("TRN", "2", inquiry.trace_number)
        if book is None:
            transaction.add("STC", composite("E0", "26", "PR"), d8(now.date()))  # not a payer we route to
        elif inquiry.payer_id.upper() in payers_down:
            transaction.add("STC", composite("E1", "0", "PR"), d8(now.date()))
        elif (claim := find_claim(book, inquiry)) is not None:
            _claim_status(transaction, claim)
            continue
        else:
            billed = money(inquiry.billed_amount) if inquiry.billed_amount is not None else ""
            transaction.add("STC", composite("A4", "35"), d8(now.date()), "", billed)
        for qualifier, number in (("1K", inquiry.payer_claim_number), ("EJ", inquiry.patient_account_number)):
            if number:
                transaction.add("REF", qualifier, number)
        if inquiry.service_from:
            transaction.add(
                "DTP",
                "472",
                "RD8",
                f"{d8(inquiry.service_from)}-{d8(inquiry.service_to or inquiry.service_from)}",
            )
    return transaction


def _claim_status(transaction: TransactionSet, claim: SandboxClaim) -> None:
    record = claim.payer
    assert record is not None
    status = composite(record.category_code, record.status_code, record.entity_code or "")
    billed = money(claim.billed_amount)
    if record.processed_date and record.payment:
        payment = record.payment
        method = payment.method if record.paid > 0 else "NON"
        trace = payment.trace_number if record.paid > 0 else ""
        paid_on = d8(payment.payment_date) if record.paid > 0 else ""
        transaction.add(
            "STC",
            status,
            d8(record.processed_date),
            "",
            billed,
            money(record.paid),
            d8(record.processed_date),
            method,
            paid_on,
            trace,
        )
    else:
        transaction.add("STC", status, d8(record.processed_date or record.received_date), "", billed)
    if record.payer_claim_number:
        transaction.add("REF", "1K", record.payer_claim_number)
    transaction.add("REF", "EJ", claim.claim_id)
    transaction.add("DTP", "472", "RD8", f"{d8(claim.service_date_from)}-{d8(claim.service_date_to)}")
    if record.processed_date is None or record.payment is None:
        return
    for line in claim.lines:
        procedure = composite("HC", line.procedure_code, *line.modifiers)
        transaction.add("SVC", procedure, money(line.charge), money(line.paid), "", "", "", str(line.units))
        line_status = composite("F1", "65") if line.paid > 0 else composite("F2", "1")
        transaction.add("STC", line_status, d8(record.processed_date))
        transaction.add("REF", "FJ", str(line.line_number))
        transaction.add("DTP", "472", "D8", d8(line.service_date_from))


def eligibility_response(
    inquiries: list[EligibilityInquiry],
    books: dict[str, PayerBook],
    payers_down: set[str],
    reference_id: str,
    receiver_id: str,
    now: datetime,
) -> TransactionSet:
    """The 271 (005010X279A1) that answers a 270's subscribers."""
    transaction = TransactionSet("271", "005010X279A1")
    transaction.add("BHT", "0022", "11", reference_id, d8(now.date()), now.strftime("%H%M"))
    writer = _HierarchyWriter(transaction, receiver_id, "1P")
    for inquiry in inquiries:
        payer_id = inquiry.payer_id.upper()
        book = books.get(payer_id)
        down = payer_id in payers_down
        source_rejection = (
            [["AAA", "Y", "", "42", "R"]] if down else [["AAA", "N", "", "79", "C"]] if book is None else []
        )
        writer.subscriber_level(
            inquiry.payer_id,
            book.payer_name if book else inquiry.payer_id,
            inquiry.provider_npi,
            source_rejection,
        )
        transaction.add("TRN", "2", inquiry.trace_number)
        if book is None or down:
            transaction.add_person("IL", inquiry.last_name, inquiry.first_name, inquiry.member_id)
            continue
        found = book.find_member(inquiry.member_id, inquiry.birth_date)
        if isinstance(found, MemberMiss):
            transaction.add_person("IL", inquiry.last_name, inquiry.first_name, inquiry.member_id)
            transaction.add("AAA", "Y", "", "75" if found == MemberMiss.NO_SUCH_MEMBER else "71", "C")
            continue
        _benefits(transaction, *found, inquiry.service_date or book.reference_date)
    return transaction


def _benefits(transaction: TransactionSet, patient: Patient, benefits: Eligibility, service_date: date) -> None:
    transaction.add_person("IL", patient.last_name.upper(), patient.first_name.upper(), patient.member_id)
    transaction.add("REF", "6P", benefits.group_number)
    transaction.add("DMG", "D8", d8(patient.dob), patient.sex)
    transaction.add("DTP", "346", "D8", d8(benefits.coverage_start))
    if benefits.coverage_end:
        transaction.add("DTP", "347", "D8", d8(benefits.coverage_end))
    insurance = _insurance_type(benefits.plan_name)
    if not benefits.is_active_on(service_date):
        transaction.add("EB", "6", "IND", "30", insurance, benefits.plan_name)
        return
    transaction.add("EB", "1", "IND", "30", insurance, benefits.plan_name)
    if benefits.copay > 0:
        transaction.add("EB", "B", "IND", "30", "", "", "27", money(benefits.copay))
    transaction.add("EB", "A", "IND", "30", "", "", "", "", f"{benefits.coinsurance_percent / 100:.2f}")
    transaction.add("EB", "C", "IND", "30", "", "", "23", money(benefits.deductible))
    transaction.add("EB", "C", "IND", "30", "", "", "24", money(benefits.deductible_met))
    transaction.add("EB", "C", "IND", "30", "", "", "29", money(benefits.deductible_remaining))
    if benefits.out_of_pocket_max is not None and benefits.out_of_pocket_remaining is not None:
        transaction.add("EB", "G", "IND", "30", "", "", "23", money(benefits.out_of_pocket_max))
        transaction.add("EB", "G", "IND", "30", "", "", "29", money(benefits.out_of_pocket_remaining))
