from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from claims.importing import ClaimImportError, ColumnMapping, MappingError, import_claims_csv
from claims.ledger import Ledger
from tests.factories import HEADER, claims_csv, csv_rows, make_claim, make_patient, write_csv

PHI_VALUES = ("Quillfeather", "Marisol", "SUN77120433", "1979-04-17")


def test_good_file_imports_exact_values(ledger: Ledger, tmp_path: Path) -> None:
    claims = [make_claim("C1"), make_claim("C2", payer_id="KEYSTONE", payer_claim_number="ICN9")]
    report = import_claims_csv(ledger, claims_csv(tmp_path / "export.csv", claims))
    assert (report.rows, report.claims, report.created, report.updated, report.unchanged) == (4, 2, 2, 0, 0)
    assert ledger.get_claim("C1") == claims[0]
    assert ledger.get_claim("C2") == claims[1]
    assert len(ledger.actions_for()) == 1


def test_same_file_twice_changes_nothing(ledger: Ledger, tmp_path: Path) -> None:
    path = claims_csv(tmp_path / "export.csv", [make_claim("C1"), make_claim("C2")])
    import_claims_csv(ledger, path)
    before = ledger.get_claim("C1")
    again = import_claims_csv(ledger, path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert ledger.get_claim("C1") == before
    assert len(ledger.actions_for()) == 1  # no audit row for an import that changed nothing


def test_a_changed_claim_is_updated(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    import_claims_csv(sqlite_ledger, claims_csv(tmp_path / "a.csv", [make_claim("C1")]))
    report = import_claims_csv(
        sqlite_ledger, claims_csv(tmp_path / "b.csv", [make_claim("C1", payer_claim_number="ICN1")])
    )
    assert report.updated == 1
    assert sqlite_ledger.get_claim("C1").payer_claim_number == "ICN1"


def _rows() -> list[dict[str, str]]:
    return csv_rows(make_claim("C1")) + csv_rows(make_claim("C2"))


def _import_fails(ledger: Ledger, path: Path) -> ClaimImportError:
    with pytest.raises(ClaimImportError) as caught:
        import_claims_csv(ledger, path)
    assert ledger.count_claims() == 0, "a failed import must write nothing"
    for value in PHI_VALUES:
        assert value not in str(caught.value), "error messages never carry PHI"
    return caught.value


def _edit(row: int, **changes: str) -> list[dict[str, str]]:
    rows = _rows()
    rows[row] = {**rows[row], **changes}
    return rows


def _edit_second_claim(**changes: str) -> list[dict[str, str]]:
    """Claim-level columns repeat on every line of a claim: change them on all of the second claim's rows."""
    rows = _rows()
    return rows[:2] + [{**row, **changes} for row in rows[2:]]


@pytest.mark.parametrize(
    ("rows", "line", "column", "message"),
    [
        (_edit_second_claim(patient_dob="1979-13-45"), 4, "patient_dob", "not a date in format %Y-%m-%d"),
        (_edit(2, line_charge="12,5O"), 4, "line_charge", "'12,5O' is not an amount"),
        (_edit(2, line_charge="-5.00"), 4, "line_charge", "not an amount of dollars and cents"),
        (_edit(2, procedure_code="9921"), 4, "procedure_code", "5 letters or digits"),
        (_edit_second_claim(rendering_npi="1234567890"), 4, "rendering_npi", "valid check digit"),
        (
            _edit(3, rendering_npi="1234567890"),
            5,
            "rendering_npi",
            "differs from line 4 for the same claim C2",
        ),
        (_edit(1, payer_id="MERIDIAN"), 3, "payer_id", "differs from line 2 for the same claim C1"),
        (_edit_second_claim(payer_id="NOSUCH"), 4, "payer_id", "'NOSUCH' is not in the payer list"),
        (_edit(2, units="zero"), 4, "units", "'zero' is not a number"),
        (_edit(2, diagnosis_pointers="0"), 4, "diagnosis_pointers", "pointers start at 1"),
        (_edit(2, diagnosis_pointers="3"), 4, None, "points at a diagnosis"),
        (_edit_second_claim(diagnosis_codes="U99"), 4, "diagnosis_codes", "not an ICD-10-CM code"),
        (
            _edit_second_claim(billed_amount="999.00"),
            4,
            "billed_amount",
            "does not equal the sum of the line charges (143.50)",
        ),
        (_edit(2, claim_id=""), 4, "claim_id", "is empty"),
        (_edit(2, service_date_to="2026-01-01"), 4, None, "'to' is before 'from'"),
        (_rows() + csv_rows(make_claim("C1"))[:1], 6, "claim_id", "claim C1 already ended at line 2"),
    ],
)
def test_malformed_rows_name_file_line_and_column(
    sqlite_ledger: Ledger,
    tmp_path: Path,
    rows: list[dict[str, str]],
    line: int,
    column: str | None,
    message: str,
) -> None:
    path = write_csv(tmp_path / "bad-export.csv", rows)
    error = _import_fails(sqlite_ledger, path)
    first = error.issues[0]
    assert (first.file, first.line, first.column) == ("bad-export.csv", line, column)
    assert message in first.message


def test_phi_column_errors_do_not_echo_the_value(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    error = _import_fails(sqlite_ledger, write_csv(tmp_path / "x.csv", _edit_second_claim(patient_dob="17/04/1979")))
    assert "17/04/1979" not in str(error)


def test_every_problem_is_reported_not_just_the_first(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    rows = _rows()
    rows[0] = {**rows[0], "line_charge": "abc"}
    rows[3] = {**rows[3], "procedure_code": "1"}
    error = _import_fails(sqlite_ledger, write_csv(tmp_path / "x.csv", rows))
    assert [(i.line, i.column) for i in error.issues] == [(2, "line_charge"), (5, "procedure_code")]


def test_problem_list_is_capped(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    rows = [row for i in range(80) for row in csv_rows(make_claim(f"C{i}", payer_id="NOSUCH"))]
    with pytest.raises(ClaimImportError) as caught:
        import_claims_csv(sqlite_ledger, write_csv(tmp_path / "x.csv", rows), max_issues=10)
    assert len(caught.value.issues) == 10 and caught.value.truncated
    assert sqlite_ledger.count_claims() == 0


def test_a_bad_claim_late_in_the_file_rolls_back_the_good_ones(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    good = [row for i in range(2500) for row in csv_rows(make_claim(f"G{i}"))]  # more than one write batch
    bad = [{**r, "line_charge": "oops"} for r in csv_rows(make_claim("BAD"))]
    error = _import_fails(sqlite_ledger, write_csv(tmp_path / "x.csv", good + bad))
    assert error.issues[0].line == len(good) + 2


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        (b"", 1, "the file is empty"),
        (b"claim_id,payer_id\nC1,SUNRISE\n", 1, "lacks the required column(s): patient_last_name"),
        (",".join(HEADER).encode() + b"\n", 1, "holds no claims"),
        (",".join(HEADER).encode() + b"\nC1,SUNRISE\n", 2, "has 2 fields where the header has 19"),
        (",".join(HEADER).encode() + b'\n"C1,SUN\n', 2, "not valid CSV"),
        (",".join(HEADER).encode() + b"\nC1,\xff\xfe,x\n", 2, "is not valid utf-8-sig text"),
    ],
)
def test_malformed_files(sqlite_ledger: Ledger, tmp_path: Path, content: bytes, line: int, message: str) -> None:
    path = tmp_path / "broken.csv"
    path.write_bytes(content)
    error = _import_fails(sqlite_ledger, path)
    assert error.issues[0].line == line
    assert message in error.issues[0].message


def test_missing_file(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    with pytest.raises(ClaimImportError, match="cannot open"):
        import_claims_csv(sqlite_ledger, tmp_path / "absent.csv")


MAPPING = """
columns:
  claim_id: "Claim #"
  payer_id: "Payer"
  patient_name: "Patient"
  member_id: "Member ID"
  patient_dob: "DOB"
  rendering_npi: "Rendering NPI"
  diagnosis_codes: "ICD-10"
  service_date_from: "DOS"
  procedure_code: "CPT"
  modifiers: "Mods"
  line_charge: "Charge"
  diagnosis_pointers: "Dx Ptr"
date_format: "%m/%d/%Y"
delimiter: "|"
list_separator: ","
"""


def test_mapping_file_renames_columns_and_reads_other_date_formats(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    (tmp_path / "map.yaml").write_text(MAPPING)
    header = "Claim #|Payer|Patient|Member ID|DOB|Rendering NPI|ICD-10|DOS|CPT|Mods|Charge|Dx Ptr"
    claim_part = "K1|SUNRISE|Quillfeather, Marisol|SUN77120433|04/17/1979|1234567893|E11.9,I10|09/14/2026"
    lines = [header, f"{claim_part}|99213|25|$125.00|1,2", f"{claim_part}|36415||18.50|"]
    (tmp_path / "pm.csv").write_text("\n".join(lines) + "\n")
    report = import_claims_csv(sqlite_ledger, tmp_path / "pm.csv", ColumnMapping.load(tmp_path / "map.yaml"))
    assert report.created == 1
    claim = sqlite_ledger.get_claim("K1")
    assert claim.patient == make_patient()
    assert claim.billed_amount == Decimal("143.50")
    assert claim.lines[0].service_date_from == date(2026, 9, 14)
    assert claim.lines[0].modifiers == ("25",)
    assert claim.submitted_date is None


def test_mapping_errors_name_the_mapped_header(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    (tmp_path / "map.yaml").write_text(MAPPING)
    header = "Claim #|Payer|Patient|Member ID|DOB|Rendering NPI|ICD-10|DOS|CPT|Mods|Charge|Dx Ptr"
    row = "K1|SUNRISE|Quillfeather Marisol|SUN77120433|2026-01-01|1234567893|E11.9|09/14/2026|99213||1.00|"
    (tmp_path / "pm.csv").write_text(f"{header}\n{row}\n")
    with pytest.raises(ClaimImportError) as caught:
        import_claims_csv(sqlite_ledger, tmp_path / "pm.csv", ColumnMapping.load(tmp_path / "map.yaml"))
    issue = caught.value.issues[0]
    assert (issue.line, issue.column) == (2, "Patient")
    assert "LAST, FIRST" in issue.message
    assert "Quillfeather" not in str(caught.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("columns:\n  nonsense: X\n", "key 'columns.nonsense': not a Claimbot column"),
        ("columns: [1, 2]\n", "key 'columns'"),
        ("date_format: '%Q'\n", "key 'date_format'"),
        ("columns:\n  claim_id: X\n  bad: [\n", "line 4: not valid YAML"),
        ("- a list\n", "a YAML mapping"),
        ("delimiter: ';;'\n", "key 'delimiter'"),
        ("surprise: 1\n", "key 'surprise'"),
    ],
)
def test_bad_mapping_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "map.yaml"
    path.write_text(content)
    with pytest.raises(MappingError, match=message) as caught:
        ColumnMapping.load(path)
    assert str(path) in str(caught.value)


def test_a_birth_date_after_the_service_is_refused_without_quoting_it(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    rows = csv_rows(make_claim("C1"))
    rows = [{**r, "patient_dob": "2031-02-03"} for r in rows]
    with pytest.raises(ClaimImportError) as raised:
        import_claims_csv(sqlite_ledger, write_csv(tmp_path / "late.csv", rows))
    [problem] = raised.value.issues
    assert (problem.line, problem.column) == (2, "patient_dob")
    assert "after the first date of service" in problem.message and "2031" not in str(raised.value)
    assert sqlite_ledger.count_claims() == 0


def test_a_header_that_names_a_column_twice_is_refused(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    rows = csv_rows(make_claim("C1"))
    header = [*rows[0].keys(), "member_id"]
    path = tmp_path / "twice.csv"
    path.write_text(",".join(header) + "\n" + "\n".join(",".join([*r.values(), "X"]) for r in rows) + "\n")
    with pytest.raises(ClaimImportError) as raised:
        import_claims_csv(sqlite_ledger, path)
    [problem] = raised.value.issues
    assert problem.line == 1 and "'member_id' more than once" in problem.message


def test_names_differing_only_in_case_or_spacing_are_one_patient(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    first = csv_rows(make_claim("C1"))
    second = [
        {**r, "patient_last_name": " quill  FEATHER ", "patient_first_name": "marisol"}
        for r in csv_rows(make_claim("C2"))
    ]
    first = [{**r, "patient_last_name": "Quill Feather"} for r in first]
    import_claims_csv(sqlite_ledger, write_csv(tmp_path / "both.csv", [*first, *second]))
    one, two = sqlite_ledger.get_claim("C1").patient, sqlite_ledger.get_claim("C2").patient
    assert one == two and one.last_name == "QUILL FEATHER" and one.first_name == "MARISOL"
    with sqlite_ledger.engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from patients")).scalar_one() == 1
