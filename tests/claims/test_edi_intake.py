"""X12 files into the ledger (SQLite and PostgreSQL): exact records, idempotency, the unmatched queue,
and bad input that records nothing from a broken transaction set."""

from decimal import Decimal
from pathlib import Path

from claims.edi_intake import import_edi
from claims.importing import import_claims_csv
from claims.ledger import Ledger, UnmatchedKind
from claims.models import CheckSource
from claims.status import ClaimStatus
from tests.conftest import need
from tests.edi.edi_x12_builders import Layout, interchange, paid_claim, remittance
from tests.factories import claims_csv, make_claim

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "x12-samples"

DENIED = [
    "CLP*C2*4*300.00*0.00**12*ICN-C2*11*1",
    "NM1*QC*1*TESTPATIENT*SAM****MI*MEMBER456",
    "SVC*HC:99214*300.00*0.00**1",
    "CAS*CO*50*300.00",
    "LQ*HE*N115",
]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def era(*claims: list[str], control: str = "000000001", layout: Layout | None = None) -> str:
    return interchange([remittance(list(claims))], control=control, layout=layout)


def test_835_records_status_denials_payments_and_queues_unknown_claims(ledger: Ledger, tmp_path: Path) -> None:
    with ledger.writer() as writer:
        writer.upsert_claims([make_claim("C1"), make_claim("C2")])
    path = write(tmp_path, "era.835", era(paid_claim("C1"), DENIED, paid_claim("C9")))
    summary = import_edi(ledger, [path])
    assert (summary.files, summary.transactions, summary.status_checks, summary.claims_matched) == (1, 1, 2, 2)
    assert (summary.payments, summary.denials, summary.unmatched, summary.findings) == (1, 1, 2, [])

    [paid] = ledger.history("C1")
    assert (paid.source, paid.status, paid.status_code) == (CheckSource.EDI, ClaimStatus.PAID, "1")
    assert (paid.billed_amount, paid.paid_amount, paid.patient_responsibility) == (
        Decimal("200.00"),
        Decimal("150.00"),
        Decimal("10.00"),
    )
    assert paid.payer_claim_number == "ICN-C1"
    assert paid.check_number == "EFT0001"
    assert paid.raw_segment == "CLP*C1*1*200.00*150.00*10.00*12*ICN-C1*11*1"
    assert paid.evidence_ref is not None and paid.evidence_ref.startswith("era.835#")
    assert [(d.code, d.amount, d.line_number, d.rarcs) for d in paid.denials] == [
        ("CO-45", Decimal("30.00"), 1, ()),
        ("CO-45", Decimal("10.00"), 2, ("N130",)),
        ("PR-1", Decimal("6.00"), 2, ("N130",)),
        ("PR-2", Decimal("4.00"), 2, ("N130",)),
    ]
    [denied] = ledger.history("C2")
    assert denied.status is ClaimStatus.DENIED
    assert [(d.code, d.rarcs) for d in denied.denials] == [("CO-50", ("N115",))]
    assert ledger.current_status("C2") is ClaimStatus.DENIED
    unmatched = ledger.unmatched()
    assert [(u.claim_ref, u.kind, u.payer_claim_number) for u in unmatched] == [
        ("C9", UnmatchedKind.STATUS, "ICN-C9"),
        ("C9", UnmatchedKind.PAYMENT, "ICN-C9"),
    ]


def test_interest_paid_with_a_claim_is_not_a_denial(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    with_interest = paid_claim("C1")
    with_interest[0] = "CLP*C1*1*200.00*151.25*10.00*12*ICN-C1*11*1"
    with_interest.insert(1, "CAS*OA*225*-1.25")  # the payer paid late and added interest
    text = era(with_interest)
    with sqlite_ledger.writer() as writer:
        writer.upsert_claims([make_claim("C1")])
    summary = import_edi(sqlite_ledger, [write(tmp_path, "interest.835", text)])
    assert (summary.status_checks, summary.denials, summary.errors) == (1, 0, 0)
    [paid] = sqlite_ledger.history("C1")
    assert paid.status is ClaimStatus.PAID
    assert ("OA-225", Decimal("-1.25")) in [(d.code, d.amount) for d in paid.denials]


def test_the_same_file_or_the_same_content_twice_records_nothing_twice(ledger: Ledger, tmp_path: Path) -> None:
    with ledger.writer() as writer:
        writer.upsert_claims([make_claim("C1")])
    first = write(tmp_path, "a.835", era(paid_claim("C1"), paid_claim("C9")))
    import_edi(ledger, [first])
    again = import_edi(ledger, [first])
    assert again.files_already_imported == 1
    assert again.status_checks == again.unmatched == 0
    resent = write(tmp_path, "resent.835", era(paid_claim("C1"), paid_claim("C9"), layout=Layout(line_break="\r\n")))
    third = import_edi(ledger, [resent])
    assert (third.files_already_imported, third.status_checks, third.payments, third.unmatched) == (0, 0, 0, 0)
    assert len(ledger.history("C1")) == 1
    assert len(ledger.unmatched()) == 2


def test_unmatched_answers_are_recorded_when_the_claim_arrives(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    import_edi(sqlite_ledger, [write(tmp_path, "era.835", era(paid_claim("C9")))])
    assert len(sqlite_ledger.unmatched()) == 2
    report = import_claims_csv(sqlite_ledger, claims_csv(tmp_path / "late.csv", [make_claim("C9")]))
    assert report.matched_answers == 2
    assert sqlite_ledger.unmatched() == []
    assert sqlite_ledger.current_status("C9") is ClaimStatus.PAID
    assert len(sqlite_ledger.unmatched(include_matched=True)) == 2


def test_a_broken_transaction_set_records_nothing_and_says_where(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    with sqlite_ledger.writer() as writer:
        writer.upsert_claims([make_claim("C1"), make_claim("C2")])
    truncated = era(paid_claim("C1"), DENIED).split("SE*")[0]
    summary = import_edi(sqlite_ledger, [write(tmp_path, "cut.835", truncated)])
    assert summary.transactions_rejected == 1
    assert summary.status_checks == 0
    assert sqlite_ledger.history("C1") == []
    assert any("cut.835" in f.location for f in summary.findings)
    # both claims are kept, as rejected, with the finding that refused their set
    assert (summary.claims.read, summary.claims.rejected) == (2, 2)
    rejected = sqlite_ledger.unmatched()
    assert [(u.claim_ref, u.kind) for u in rejected] == [("C1", UnmatchedKind.REJECTED), ("C2", UnmatchedKind.REJECTED)]
    [finding] = rejected[0].payload["findings"]
    assert (finding["code"], finding["transaction_control_number"]) == ("envelope.missing_se", "0001")


def test_a_bad_amount_rejects_that_claim_only(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    with sqlite_ledger.writer() as writer:
        writer.upsert_claims([make_claim("C1"), make_claim("C2")])
    broken = [DENIED[0].replace("300.00*0.00", "3O0.00*0.00"), *DENIED[1:]]
    summary = import_edi(sqlite_ledger, [write(tmp_path, "bad.835", era(paid_claim("C1"), broken))])
    assert summary.status_checks == 1
    assert sqlite_ledger.history("C2") == []
    assert (summary.claims.read, summary.claims.recorded, summary.claims.rejected) == (2, 1, 1)
    [kept] = sqlite_ledger.unmatched()
    assert (kept.claim_ref, kept.kind, kept.payload["segment_number"]) == ("C2", UnmatchedKind.REJECTED, 21)
    # a claim import that brings C2 does not record the refused answer
    assert import_claims_csv(sqlite_ledger, claims_csv(tmp_path / "c2.csv", [make_claim("C2")])).matched_answers == 0
    assert sqlite_ledger.history("C2") == []
    [problem] = [f for f in summary.findings if "CLP03" in f.location or "CLP" in f.location]
    assert "bad.835" in problem.location
    assert "TESTPATIENT" not in problem.message


def test_not_x12_at_all(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    summary = import_edi(sqlite_ledger, [write(tmp_path, "notes.txt", "hello, this is not an interchange\n")])
    assert summary.transactions == 0
    assert summary.findings[0].severity == "error"
    assert "notes.txt" in summary.findings[0].location


def test_public_samples_queue_every_claim_and_flag_a_bad_payment_date(sqlite_ledger: Ledger) -> None:
    need(SAMPLES.exists(), "../shared/x12-samples is absent (public X12 samples live there)")
    summary = import_edi(
        sqlite_ledger, [SAMPLES / "277_lfh_1.x12", SAMPLES / "835_lfh_3.x12", SAMPLES / "835_lfh_1.x12"]
    )
    assert summary.files == 3
    assert summary.status_checks == 0  # none of their claims is in this ledger
    assert {u.kind for u in sqlite_ledger.unmatched()} == {UnmatchedKind.STATUS, UnmatchedKind.PAYMENT}
    # 835_lfh_1 carries BPR16 = 20002316: the payment date is unknown, its claims are still kept
    assert (summary.transactions_rejected, summary.errors) == (0, 0)
    assert (summary.claims.read, summary.claims.unmatched) == (3 + 2 + 2, 3 + 2 + 2)
    [bad_date] = [f for f in summary.findings if f.code == "element.invalid_date"]
    assert (bad_date.location, bad_date.message, bad_date.severity) == (
        "835_lfh_1.x12 segment 4 BPR16",
        "BPR16 is not a valid date (8 characters: digits)",
        "warning",
    )
    assert (bad_date.interchange_control_number, bad_date.group_control_number) == ("000000907", "1")
    assert bad_date.transaction_control_number == "112233"


def test_files_that_reuse_control_numbers_lose_no_claim(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    """Senders restart ISA13/ST02: two different ERAs under the same numbers both record their claims."""
    with sqlite_ledger.writer() as writer:
        writer.upsert_claims([make_claim("C1"), make_claim("C2")])
    first = import_edi(sqlite_ledger, [write(tmp_path, "monday.835", era(paid_claim("C1")))])
    second = import_edi(sqlite_ledger, [write(tmp_path, "tuesday.835", era(paid_claim("C2")))])
    assert (first.claims.recorded, second.claims.recorded, second.claims.duplicate) == (1, 1, 0)
    assert [len(sqlite_ledger.history(c)) for c in ("C1", "C2")] == [1, 1]
