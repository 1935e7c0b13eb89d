"""Where every claim of an EDI file ends: recorded, unmatched, rejected or a duplicate, with counts
that add up to what the file holds (checked against SOURCES.md's independent counts, in the file's
own layout and pretty-printed); which faults flag and which refuse; retrying a refused file;
the payer's dates as effective times; payer text masked."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from claims.edi_intake import ClaimCounts, EdiImportSummary, import_edi
from claims.ledger import Ledger, UnmatchedKind
from claims.status import ClaimStatus
from tests.conftest import need
from tests.edi.edi_x12_builders import (
    acknowledgment,
    claim_status,
    interchange,
    paid_claim,
    remittance,
    status_claim,
)
from tests.edi.x12_layouts import relayouts
from tests.factories import make_claim

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "x12-samples"

#: claim-level STCs of the 277 samples, from SOURCES.md: "STC segs" less the service-line STC
#: (277_lfh_1: F2:88 twice, once on its line), the provider-level one (277_lfh_2: E0:24) and the
#: batch acknowledgement at HL 21 (277CA: A1:20)
CLAIM_LEVEL_STC = {
    "277_lfh_1.x12": 3,
    "277_lfh_2.x12": 1,
    "277_imsweb_1.x12": 8,
    "277CA_imsweb_1.x12": 1,
    "277CA_imsweb_2.x12": 1,
}
#: 271: subscribers and dependents answered (SOURCES.md "HL22/23"); they hold no claim
ELIGIBILITY_RESULTS = {"271_lfh_1.x12": 1, "271_lfh_2.x12": 2, "271_lfh_3.x12": 0}


def source_facts() -> dict[str, dict[str, object]]:
    text = (SAMPLES / "SOURCES.md").read_text()
    facts = {}
    for name, fact in re.findall(r"### (\S+)\n(?:.*\n)*?- Content facts \(independent count\): `(\{.*\})`", text):
        facts[name] = json.loads(fact)
    return facts


def independent_claim_count(name: str) -> int:
    if name in CLAIM_LEVEL_STC:
        return CLAIM_LEVEL_STC[name]
    if name in ELIGIBILITY_RESULTS:
        return 0
    fact = source_facts()[name]
    count = fact.get("claims(CLP)", fact.get("claims(CLM)"))
    assert isinstance(count, int)
    return count


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def counts(summary: EdiImportSummary) -> tuple[int, int, int, int, int]:
    c = summary.claims
    assert c.balanced, c
    for result in summary.file_results:
        assert result.claims.balanced, result
    return (c.read, c.recorded, c.unmatched, c.rejected, c.duplicate)


SAMPLE_FILES = [
    "835_lfh_1.x12",
    "835_lfh_2.x12",
    "835_lfh_3.x12",
    "835_pyx12_1.x12",
    "835_edi835parser_1.x12",
    "835_edi835parser_2.x12",
    "835_edi835parser_3.x12",
    "277_lfh_1.x12",
    "277_lfh_2.x12",
    "277_imsweb_1.x12",
    "277CA_imsweb_1.x12",
    "277CA_imsweb_2.x12",
    "837P_lfh_1.x12",
    "837P_lfh_2.x12",
    "837P_imsweb_2.x12",
    "837P_imsweb_3.x12",
    "271_lfh_1.x12",
    "271_lfh_2.x12",
    "271_lfh_3.x12",
]


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_every_claim_of_a_public_sample_ends_somewhere_in_any_layout(
    sqlite_ledger: Ledger, tmp_path: Path, name: str
) -> None:
    need(SAMPLES.exists(), "../shared/x12-samples is absent (public X12 samples live there)")
    expected = independent_claim_count(name)
    original = import_edi(sqlite_ledger, [SAMPLES / name])
    read, recorded, unmatched, rejected, duplicate = counts(original)
    assert read == expected
    assert (recorded, duplicate) == (0, 0)  # none of their claims is in this ledger
    assert unmatched + rejected == expected
    assert len(sqlite_ledger.unmatched()) >= expected
    if name in ELIGIBILITY_RESULTS:
        assert original.eligibility_results == ELIGIBILITY_RESULTS[name]
    text = (SAMPLES / name).read_bytes().decode("utf-8-sig", "replace")
    for layout in ("indented with spaces", "indented with tabs, CRLF", "one line"):
        relaid = write(tmp_path, f"{layout}.x12", relayouts(text)[layout])
        again = import_edi(sqlite_ledger, [relaid], force=True)  # a layout may give the original's bytes
        # the same content: what was queued is a duplicate now, what was refused is refused again
        assert counts(again) == (expected, 0, 0, rejected, unmatched), layout


def test_own_files_of_each_type_add_up_indented_or_not(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    with sqlite_ledger.writer() as writer:
        writer.upsert_claims([make_claim("A1"), make_claim("C1")])
    files = {
        "era.835": interchange(
            [remittance([paid_claim("A1"), paid_claim("A2")]), remittance([paid_claim("A3")], control="0002")]
        ),
        "status.277": interchange(
            [claim_status([status_claim(4, "C1"), status_claim(5, "C2", "A7:562:85*20240311", more=("P1:20",))])],
            functional_id="HN",
            version="005010X212",
        ),
        "ack.999": interchange([acknowledgment(["0001"], ["0002"])], functional_id="FA", version="005010X231A1"),
    }
    expected = {"era.835": (3, 1, 2, 0, 0), "status.277": (3, 1, 2, 0, 0), "ack.999": (0, 0, 0, 0, 0)}
    for name, text in files.items():
        summary = import_edi(sqlite_ledger, [write(tmp_path, name, text)])
        assert counts(summary) == expected[name], name
        read, recorded, unmatched, _, _ = expected[name]
        indented = relayouts(text)["indented with spaces"]
        again = import_edi(sqlite_ledger, [write(tmp_path, f"indented-{name}", indented)])
        assert counts(again) == (read, 0, 0, 0, recorded + unmatched), name
    acks = import_edi(sqlite_ledger, [tmp_path / "ack.999"], force=True)
    assert (acks.acknowledgments_accepted, acks.acknowledgments_rejected) == (1, 1)


def test_envelope_and_header_faults_flag_what_is_recorded(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    with sqlite_ledger.writer() as writer:
        writer.upsert_claims([make_claim("A1"), make_claim("A2")])
    text = interchange([remittance([paid_claim("A1"), paid_claim("A2")], payment="999.00")])
    text = text.replace("SE*30*0001", "SE*31*0001").replace("*20240315~", "*20241399~", 1)
    summary = import_edi(sqlite_ledger, [write(tmp_path, "flagged.835", text)])
    assert counts(summary) == (2, 2, 0, 0, 0)
    assert summary.errors == 0
    assert {f.code for f in summary.findings} == {
        "envelope.se_segment_count",
        "element.invalid_date",
        "balance.payment",
    }
    assert summary.file_results[0].outcome == "imported with warnings"
    assert summary.file_results[0].remembered
    [check] = sqlite_ledger.history("A1")
    assert check.payment_date is None  # BPR16 unreadable
    assert check.effective_at == datetime(2024, 3, 14, tzinfo=UTC)  # DTM*405 still gives the date


def test_a_repeated_st02_keeps_the_second_set_as_rejected(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    with sqlite_ledger.writer() as writer:
        writer.upsert_claims([make_claim("A1"), make_claim("B1")])
    text = interchange([remittance([paid_claim("A1")], control="0007"), remittance([paid_claim("B1")], control="0007")])
    summary = import_edi(sqlite_ledger, [write(tmp_path, "twice.835", text)])
    assert counts(summary) == (2, 1, 0, 1, 0)
    assert summary.transactions_rejected == 1
    [kept] = sqlite_ledger.unmatched()
    assert (kept.claim_ref, kept.kind) == ("B1", UnmatchedKind.REJECTED)
    [finding] = kept.payload["findings"]
    assert (finding["code"], finding["element"], finding["transaction_control_number"]) == (
        "envelope.duplicate_st02",
        "ST02",
        "0007",
    )
    assert sqlite_ledger.history("B1") == []


def test_a_refused_file_can_be_imported_again_and_force_records_nothing_twice(
    sqlite_ledger: Ledger, tmp_path: Path
) -> None:
    with sqlite_ledger.writer() as writer:
        writer.upsert_claims([make_claim("A1"), make_claim("A2")])
    broken_claim = paid_claim("A2")
    broken_claim[0] = broken_claim[0].replace("200.00*150.00", "2O0.00*150.00")
    path = write(tmp_path, "era.835", interchange([remittance([paid_claim("A1"), broken_claim], payment="300.00")]))
    first = import_edi(sqlite_ledger, [path])
    assert counts(first) == (2, 1, 0, 1, 0)
    assert (first.file_results[0].outcome, first.file_results[0].remembered) == ("refused in part", False)
    retry = import_edi(sqlite_ledger, [path])  # not "already imported": the refusal is not remembered
    assert counts(retry) == (2, 0, 0, 1, 1)
    assert retry.files_already_imported == 0
    path.write_text(interchange([remittance([paid_claim("A1"), paid_claim("A2")])]))  # the sender's fix
    fixed = import_edi(sqlite_ledger, [path])
    assert counts(fixed) == (2, 1, 0, 0, 1)
    assert fixed.file_results[0].remembered
    assert len(sqlite_ledger.history("A2")) == 1
    skipped = import_edi(sqlite_ledger, [path])
    assert (skipped.files_already_imported, counts(skipped)) == (1, (0, 0, 0, 0, 0))
    forced = import_edi(sqlite_ledger, [path], force=True)
    assert counts(forced) == (2, 0, 0, 0, 2)
    assert len(sqlite_ledger.history("A1")) == len(sqlite_ledger.history("A2")) == 1


def test_277_statuses_are_effective_on_their_dates_and_payer_text_is_masked(
    sqlite_ledger: Ledger, tmp_path: Path
) -> None:
    with sqlite_ledger.writer() as writer:
        writer.upsert_claims([make_claim("C1"), make_claim("C2")])
    text = interchange(
        [
            claim_status(
                [
                    status_claim(4, "C1", message="PLEASE CALL ALEX TESTPATIENT ABOUT MEMBER123"),
                    status_claim(5, "C2", "A1:20*20240311", more=("P1:20*20240312",)),
                ]
            )
        ],
        functional_id="HN",
        version="005010X212",
    )
    summary = import_edi(sqlite_ledger, [write(tmp_path, "status.277", text)])
    assert counts(summary) == (3, 3, 0, 0, 0)
    [c1] = sqlite_ledger.history("C1")
    assert c1.effective_at == datetime(2024, 3, 10, tzinfo=UTC)
    assert c1.payer_status_text is not None
    assert "TESTPATIENT" not in c1.payer_status_text and "MEMBER123" not in c1.payer_status_text
    assert "ALEX" not in c1.payer_status_text and "PLEASE CALL" in c1.payer_status_text
    assert c1.raw_segment is not None and "TESTPATIENT" not in c1.raw_segment
    c2 = sqlite_ledger.history("C2")
    assert sorted((c.category_code, c.effective_at) for c in c2) == [
        ("A1", datetime(2024, 3, 11, tzinfo=UTC)),
        ("P1", datetime(2024, 3, 12, tzinfo=UTC)),
    ]
    assert sqlite_ledger.current_status("C2") is ClaimStatus.PENDING


def test_an_unknown_status_category_is_recorded_with_a_warning(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    with sqlite_ledger.writer() as writer:
        writer.upsert_claims([make_claim("C1")])
    text = interchange(
        [claim_status([status_claim(4, "C1", "Z9:20*20240310")])], functional_id="HN", version="005010X212"
    )
    summary = import_edi(sqlite_ledger, [write(tmp_path, "odd.277", text)])
    assert counts(summary) == (1, 1, 0, 0, 0)
    [finding] = summary.findings
    assert (finding.severity, finding.code, finding.element) == ("warning", "code.unknown_status_category", "STC01-1")
    assert [c.status for c in sqlite_ledger.history("C1")] == [ClaimStatus.UNKNOWN]


def test_unknown_carc_and_rarc_are_warnings_located_at_their_segment(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    claim = paid_claim("A1")
    claim[5] = "CAS*CO*Q99*30.00"
    claim[-1] = "LQ*HE*ZZ999"
    summary = import_edi(sqlite_ledger, [write(tmp_path, "codes.835", interchange([remittance([claim])]))])
    assert counts(summary) == (1, 0, 1, 0, 0)
    assert [(f.code, f.segment_id, f.element, f.segment_number) for f in summary.findings] == [
        ("code.unknown_carc", "CAS", "CAS02", 15),  # ISA 1 .. LX 9, CLP 10, SVC 13, its CAS 15
        ("code.unknown_rarc", "LQ", "LQ02", 20),
    ]


def test_837p_claims_are_recorded_as_submitted_on_the_file_date(sqlite_ledger: Ledger) -> None:
    need(SAMPLES.exists(), "../shared/x12-samples is absent (public X12 samples live there)")
    summary = import_edi(sqlite_ledger, [SAMPLES / "837P_lfh_1.x12"])
    assert counts(summary) == (1, 0, 1, 0, 0)
    [queued] = sqlite_ledger.unmatched()
    assert queued.kind is UnmatchedKind.STATUS
    assert queued.payload["status"] == "submitted"
    assert queued.payload["effective_at"] is not None


def test_counts_add_up_over_several_files() -> None:
    total = ClaimCounts()
    total.add(ClaimCounts(read=3, recorded=1, unmatched=1, rejected=1))
    total.add(ClaimCounts(read=2, duplicate=2))
    assert (total.read, total.balanced) == (5, True)


@pytest.mark.parametrize("kind", ["835", "277"])
def test_claims_of_a_set_whose_view_failed_are_kept_rejected(
    sqlite_ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    def broken(text: object) -> object:
        raise RuntimeError("simulated view bug")

    if kind == "835":
        monkeypatch.setattr("edi.document.read_remittance", broken)
        text = interchange([remittance([paid_claim("A1"), paid_claim("A2")])])
    else:
        monkeypatch.setattr("edi.document.read_claim_status_response", broken)
        statuses = claim_status([status_claim(4, "C1"), status_claim(5, "C2", more=("P1:20",))])
        text = interchange([statuses], functional_id="HN", version="005010X212")
    summary = import_edi(sqlite_ledger, [write(tmp_path, f"failed.{kind}", text)])
    assert counts(summary) == ((2, 0, 0, 2, 0) if kind == "835" else (3, 0, 0, 3, 0))
    assert {u.kind for u in sqlite_ledger.unmatched()} == {UnmatchedKind.REJECTED}
    assert "transaction.view_failed" in {f.code for f in summary.findings}


def test_a_refused_277_claim_keeps_its_segment_with_payer_text_masked(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    bad = status_claim(4, "C1", "F2:88*20240310**2O0.00*0.00", message="CALL ALEX TESTPATIENT MEMBER123")
    text = interchange([claim_status([bad])], functional_id="HN", version="005010X212")
    summary = import_edi(sqlite_ledger, [write(tmp_path, "bad.277", text)])
    assert counts(summary) == (1, 0, 0, 1, 0)
    [kept] = sqlite_ledger.unmatched()
    raw = kept.payload["raw_segment"]
    # the refused STC04 is blanked (a misaligned element may hold PHI); the date element stays a date
    assert raw.startswith("STC*F2:88*20240310**[PHI]*0.00") and raw.endswith("CALL [PHI] [PHI] [PHI]")
    assert "element.invalid_amount" in {f["code"] for f in kept.payload["findings"]}


def test_an_error_outside_any_claim_is_not_remembered(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    text = interchange([remittance([paid_claim("A1")])]).replace("IEA*1*000000001~\n", "")  # truncated after GE
    path = write(tmp_path, "cut.835", text)
    first = import_edi(sqlite_ledger, [path])
    assert counts(first) == (1, 0, 1, 0, 0)
    assert (first.file_results[0].outcome, first.file_results[0].remembered) == ("imported with errors", False)
    assert [f.code for f in first.findings if f.severity == "error"] == ["envelope.missing_iea"]
    assert counts(import_edi(sqlite_ledger, [path])) == (1, 0, 0, 0, 1)


def test_claims_outside_any_st_se_are_counted_and_kept_rejected(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    text = interchange([remittance([paid_claim("A1"), paid_claim("A2")])]).replace("ST*835*0001*005010X221A1~\n", "")
    summary = import_edi(sqlite_ledger, [write(tmp_path, "no-st.835", text)])
    assert counts(summary) == (2, 0, 0, 2, 0)
    kept = sqlite_ledger.unmatched()
    assert [(u.claim_ref, u.kind, u.payload["segment_number"]) for u in kept] == [
        ("A1", UnmatchedKind.REJECTED, 9),
        ("A2", UnmatchedKind.REJECTED, 20),
    ]
    assert [f.element for f in summary.findings if f.code == "envelope.claim_outside_transaction"] == ["CLP01"] * 2


def test_an_answer_the_ledger_cannot_hold_refuses_its_claim_only(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    odd = paid_claim("A2")
    odd[5] = "CAS*CO*4a*30.00"  # a CARC the ledger's Denial cannot hold (upper-case letters and digits)
    summary = import_edi(
        sqlite_ledger, [write(tmp_path, "odd.835", interchange([remittance([paid_claim("A1"), odd])]))]
    )
    assert counts(summary) == (2, 0, 1, 1, 0)
    [kept] = [u for u in sqlite_ledger.unmatched() if u.kind is UnmatchedKind.REJECTED]
    [finding] = kept.payload["findings"]
    assert (finding["code"], finding["segment_id"], kept.claim_ref) == ("record.unrecordable", "CLP", "A2")
    assert "4a" not in finding["message"]
    assert [f.code for f in summary.findings if f.severity == "error"] == ["record.unrecordable"]  # exit 3


def test_a_277_claim_naming_no_claim_is_refused_and_said(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    nameless = [segment for segment in status_claim(4, "C1", more=("P1:20",)) if not segment.startswith("REF*EJ")]
    text = interchange([claim_status([nameless])], functional_id="HN", version="005010X212")
    summary = import_edi(sqlite_ledger, [write(tmp_path, "nameless.277", text)])
    assert counts(summary) == (2, 0, 0, 2, 0)  # two claim-level STCs, both refused
    [error] = [f for f in summary.findings if f.severity == "error"]  # said once for the claim
    assert (error.code, error.element, error.transaction_control_number) == ("element.missing", "TRN02", "0001")
    assert summary.file_results[0].outcome == "refused in part"


def test_claims_of_a_set_no_view_reads_are_counted_and_kept_rejected(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    need(SAMPLES.exists(), "../shared/x12-samples is absent (public X12 samples live there)")
    institutional = (SAMPLES / "837P_lfh_1.x12").read_text().replace("005010X222A2", "005010X223A2")
    summary = import_edi(sqlite_ledger, [write(tmp_path, "institutional.837", institutional)])
    assert counts(summary) == (1, 0, 0, 1, 0)
    [error] = [f for f in summary.findings if f.severity == "error"]
    assert (error.code, error.element) == ("transaction.unknown_type", "ST03")
    assert [u.kind for u in sqlite_ledger.unmatched()] == [UnmatchedKind.REJECTED]
