import json
from pathlib import Path

from typer.testing import CliRunner

from claimbot.cli import app
from tests.edi.edi_x12_builders import claim_status, interchange, paid_claim, remittance, status_claim
from tests.factories import claims_csv, make_claim


def test_edi_import_show_and_unmatched(runner: CliRunner, data_dir: Path, tmp_path: Path) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert (
        runner.invoke(app, ["claims", "import", str(claims_csv(tmp_path / "c.csv", [make_claim("C1")]))]).exit_code == 0
    )
    era = tmp_path / "era.835"
    era.write_text(interchange([remittance([paid_claim("C1"), paid_claim("C7")])]))

    shown = runner.invoke(app, ["edi", "show", str(era), "--json"])
    assert shown.exit_code == 0
    assert "TESTPATIENT" not in shown.stdout and "MEMBER123" not in shown.stdout
    text = runner.invoke(app, ["edi", "show", str(era)]).stdout
    assert "C1" in text and "CO-45" in text

    imported = runner.invoke(app, ["edi", "import", str(era), "--json"])
    assert imported.exit_code == 0, imported.stderr
    summary = json.loads(imported.stdout)
    assert (summary["status_checks"], summary["payments"], summary["unmatched"]) == (1, 1, 2)

    unmatched = json.loads(runner.invoke(app, ["edi", "unmatched", "--json"]).stdout)
    assert [(u["claim_ref"], u["kind"]) for u in unmatched] == [("C7", "status"), ("C7", "payment")]
    history = json.loads(runner.invoke(app, ["claims", "show", "C1", "--json"]).stdout)["history"]
    assert [h["source"] for h in history] == ["edi"]


def test_edi_errors_have_exit_codes(runner: CliRunner, data_dir: Path, tmp_path: Path) -> None:
    runner.invoke(app, ["db", "upgrade"])
    assert runner.invoke(app, ["edi", "import", str(tmp_path / "absent.835")]).exit_code == 3
    empty = tmp_path / "empty.835"
    empty.write_text("")
    failed = runner.invoke(app, ["edi", "show", str(empty)])
    assert failed.exit_code == 3
    assert "empty.835" in failed.stderr
    imported = runner.invoke(app, ["edi", "import", str(empty)])
    assert imported.exit_code == 3
    assert "empty.835" in imported.stdout


def _era(tmp_path: Path, name: str, *claims: list[str], fix: tuple[str, str] = ("", "")) -> Path:
    path = tmp_path / name
    text = interchange([remittance(list(claims))])
    path.write_text(text.replace(*fix) if fix[0] else text)
    return path


def test_edi_show_exit_codes_follow_the_findings(runner: CliRunner, data_dir: Path, tmp_path: Path) -> None:
    clean = _era(tmp_path, "clean.835", paid_claim("C1"))
    assert runner.invoke(app, ["edi", "show", str(clean)]).exit_code == 0
    assert runner.invoke(app, ["edi", "show", str(clean), "--strict"]).exit_code == 0
    warned = _era(tmp_path, "warned.835", paid_claim("C1"), fix=("SE*19*0001", "SE*18*0001"))
    assert runner.invoke(app, ["edi", "show", str(warned)]).exit_code == 0
    strict = runner.invoke(app, ["edi", "show", str(warned), "--strict"])
    assert strict.exit_code == 3
    assert "envelope.se_segment_count" in strict.stdout
    broken = _era(tmp_path, "broken.835", paid_claim("C1"), fix=("*200.00*150.00*", "*2O0.00*150.00*"))
    refused = runner.invoke(app, ["edi", "show", str(broken), "--json"])
    assert refused.exit_code == 3
    shown = json.loads(refused.stdout)
    assert shown["error_count"] == 1
    [finding] = shown["findings"]
    assert (finding["segment_id"], finding["element"], finding["segment_number"]) == ("CLP", "CLP03", 10)


def test_edi_import_prints_counts_that_add_up_and_exits_3_on_errors(
    runner: CliRunner, data_dir: Path, tmp_path: Path
) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert (
        runner.invoke(app, ["claims", "import", str(claims_csv(tmp_path / "c.csv", [make_claim("C1")]))]).exit_code == 0
    )
    broken = paid_claim("C8")
    broken[0] = broken[0].replace("*200.00*150.00*", "*2O0.00*150.00*")
    era = _era(tmp_path, "era.835", paid_claim("C1"), paid_claim("C7"), broken)
    imported = runner.invoke(app, ["edi", "import", str(era)])
    assert imported.exit_code == 3
    assert "era.835: refused in part: 3 claim(s) read, 1 recorded, 1 unmatched, 1 rejected, 0 already recorded" in (
        imported.stdout
    )
    assert "claims 3 read = 1 recorded + 1 unmatched + 1 rejected + 0 already recorded" in imported.stdout
    assert "error: era.835 segment" in imported.stdout and "(set 0001)" in imported.stdout
    assert "TESTPATIENT" not in imported.stdout and "MEMBER123" not in imported.stdout

    again = runner.invoke(app, ["edi", "import", str(era), "--json"])  # refused before: read again
    assert again.exit_code == 3
    summary = json.loads(again.stdout)
    assert summary["claims"] == {"read": 3, "recorded": 0, "unmatched": 0, "rejected": 1, "duplicate": 2}
    [result] = summary["file_results"]
    assert (result["outcome"], result["remembered"]) == ("refused in part", False)
    [error] = [f for f in summary["findings"] if f["severity"] == "error"]
    assert (error["code"], error["segment_number"], error["element"]) == ("element.invalid_amount", 32, "CLP03")
    assert (error["interchange_control_number"], error["group_control_number"]) == ("000000001", "1")
    assert error["transaction_control_number"] == "0001"
    unmatched = json.loads(runner.invoke(app, ["edi", "unmatched", "--json"]).stdout)
    assert sorted((u["claim_ref"], u["kind"]) for u in unmatched) == [
        ("C7", "payment"),
        ("C7", "status"),
        ("C8", "rejected"),
    ]
    [rejected] = [u for u in unmatched if u["kind"] == "rejected"]
    assert [f["code"] for f in rejected["findings"]] == ["element.invalid_amount"]
    table = runner.invoke(app, ["edi", "unmatched"]).stdout
    assert "era.835 segment 32 CLP03: CLP03 is not a valid amount (6 characters" in table

    clean = _era(tmp_path, "clean.835", paid_claim("C1"))
    assert runner.invoke(app, ["edi", "import", str(clean)]).exit_code == 0
    skipped = runner.invoke(app, ["edi", "import", str(clean)])
    assert skipped.exit_code == 0 and "already imported (use --force to read it again)" in skipped.stdout
    forced = json.loads(runner.invoke(app, ["edi", "import", str(clean), "--force", "--json"]).stdout)
    assert forced["claims"] == {"read": 1, "recorded": 0, "unmatched": 0, "rejected": 0, "duplicate": 1}


def test_edi_show_json_is_typed(runner: CliRunner, data_dir: Path, tmp_path: Path) -> None:
    era = _era(tmp_path, "era.835", paid_claim("C1"))
    shown = json.loads(runner.invoke(app, ["edi", "show", str(era), "--json"]).stdout)
    [transaction] = shown["transactions"]
    assert (transaction["payment_date"], transaction["production_date"]) == ("2024-03-15", "2024-03-14")
    assert shown["interchanges"][0]["date"] == "2024-03-15" and shown["interchanges"][0]["time"] == "12:00"
    [claim] = transaction["claims"]
    line = claim["service_lines"][1]
    assert line["adjustments"] == [
        {"group": "CO", "carc": "45", "amount": "10.00", "quantity": None},
        {"group": "PR", "carc": "1", "amount": "6.00", "quantity": None},
        {"group": "PR", "carc": "2", "amount": "4.00", "quantity": None},
    ]
    assert line["remark_codes"] == ["N130"]
    assert line["service_date"] == "2024-03-01"
    assert line["procedure"] == {"qualifier": "HC", "code": "85025", "modifiers": []}
    assert transaction["payer"] == {
        "entity_code": "PR",
        "name": "TEST PAYER",
        "id_qualifier": "XV",
        "identifier": "99999",
    }
    interchange_shown = shown["interchanges"][0]
    assert (interchange_shown["sender_qualifier"], interchange_shown["sender_id"]) == ("ZZ", "SENDER")


def test_edi_show_json_of_a_277_gives_status_codes_and_masks_payer_text(
    runner: CliRunner, data_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "status.277"
    path.write_text(
        interchange(
            [
                claim_status(
                    [status_claim(4, "C1", "F2:88:QC*20240310**200.00*0.00", message="ALEX TESTPATIENT DENIED")]
                )
            ],
            functional_id="HN",
            version="005010X212",
        )
    )
    shown = runner.invoke(app, ["edi", "show", str(path), "--json"])
    assert shown.exit_code == 0, shown.stdout
    assert "TESTPATIENT" not in shown.stdout and "MEMBER123" not in shown.stdout
    [claim] = json.loads(shown.stdout)["transactions"][0]["claims"]
    assert (claim["category_code"], claim["status_code"]) == ("F2", "88")
    [status] = claim["statuses"]
    assert status["codes"] == [{"category_code": "F2", "status_code": "88", "entity_code": "QC"}]
    assert (status["effective_date"], status["total_charge"], status["paid_amount"]) == ("2024-03-10", "200.00", "0.00")
    assert status["message"] == "[PHI] [PHI] DENIED"
    text = runner.invoke(app, ["edi", "show", str(path)]).stdout
    assert "status F2:88:QC (PHI) (PHI) DENIED" in text and "TESTPATIENT" not in text  # no rich markup


def test_edi_import_lists_at_most_50_findings_errors_first(runner: CliRunner, data_dir: Path, tmp_path: Path) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    odd = []
    for number in range(60):  # an unknown CARC on each claim: 60 warnings
        claim = paid_claim(f"C{number}")
        claim[5] = "CAS*CO*Q99*30.00"
        odd.append(claim)
    broken = paid_claim("BAD")
    broken[0] = broken[0].replace("*200.00*150.00*", "*2O0.00*150.00*")
    imported = runner.invoke(app, ["edi", "import", str(_era(tmp_path, "many.835", *odd, broken))])
    lines = imported.stdout.splitlines()
    assert lines[0].startswith("error: many.835 segment")
    assert sum(1 for line in lines if line.startswith(("error:", "warning:"))) == 50
    assert "... and 11 more finding(s) (--json lists them all)" in lines
    assert "many.835: refused in part: 61 claim(s) read, 0 recorded, 60 unmatched, 1 rejected" in imported.stdout


def test_edi_show_and_import_agree_on_a_277_claim_that_names_no_claim(
    runner: CliRunner, data_dir: Path, tmp_path: Path
) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    nameless = [segment for segment in status_claim(4, "C1") if not segment.startswith("REF*EJ")]
    path = tmp_path / "nameless.277"
    path.write_text(interchange([claim_status([nameless])], functional_id="HN", version="005010X212"))
    shown = runner.invoke(app, ["edi", "show", str(path)])
    assert shown.exit_code == 3 and "element.missing" in shown.stdout
    imported = runner.invoke(app, ["edi", "import", str(path)])
    assert imported.exit_code == 3 and "1 claim(s) read, 0 recorded, 0 unmatched, 1 rejected" in imported.stdout
