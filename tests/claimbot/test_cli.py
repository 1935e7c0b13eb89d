import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from claimbot.cli import app
from tests.factories import claims_csv, csv_rows, make_claim, write_csv


def invoke(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_commands_refuse_a_ledger_that_was_never_upgraded(runner: CliRunner, data_dir: Path) -> None:
    code, _, err = invoke(runner, "claims", "list")
    assert code == 5
    assert "run `claimbot db upgrade`" in err


def test_upgrade_import_list_show(runner: CliRunner, data_dir: Path, tmp_path: Path) -> None:
    assert invoke(runner, "db", "upgrade")[0] == 0
    path = claims_csv(tmp_path / "export.csv", [make_claim("C1"), make_claim("C2", payer_id="KEYSTONE")])
    code, out, _ = invoke(runner, "claims", "import", str(path), "--json")
    assert code == 0
    assert json.loads(out) | {"sha256": "x", "file": "x"} == {
        "file": "x",
        "sha256": "x",
        "rows": 4,
        "claims": 2,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "matched_answers": 0,
    }
    code, out, _ = invoke(runner, "claims", "import", str(path))
    assert (code, out.strip()) == (0, "export.csv: 2 claims in 4 rows — 0 new, 0 updated, 2 unchanged")

    code, out, _ = invoke(runner, "claims", "list", "--payer", "keystone", "--json")
    listed = json.loads(out)
    assert code == 0 and [c["claim_id"] for c in listed["claims"]] == ["C2"]
    assert (listed["total"], listed["shown"], listed["offset"]) == (1, 1, 0)
    assert listed["claims"][0]["status"] == "submitted" and listed["claims"][0]["patient_initials"] == "M.Q."

    code, out, _ = invoke(runner, "claims", "list", "--status", "paid", "--json")
    assert (code, json.loads(out)) == (0, {"total": 0, "offset": 0, "shown": 0, "claims": []})

    code, out, _ = invoke(runner, "claims", "show", "C1", "--json")
    shown = json.loads(out)
    assert code == 0
    assert shown["summary"]["billed_amount"] == "143.50"
    assert [line["procedure_code"] for line in shown["lines"]] == ["99213", "36415"]
    assert shown["history"] == []

    code, out, _ = invoke(runner, "claims", "show", "C1")
    assert code == 0 and "99213" in out and "no status answers recorded yet" in out
    for phi in ("Quillfeather", "Marisol", "SUN77120433", "1979-04-17"):
        assert phi not in out


def test_exit_codes_for_scripts(runner: CliRunner, data_dir: Path, tmp_path: Path) -> None:
    invoke(runner, "db", "upgrade")
    assert invoke(runner, "claims", "show", "NOPE")[0] == 4
    bad = write_csv(tmp_path / "bad.csv", [{**r, "line_charge": "x"} for r in csv_rows(make_claim("B1"))])
    code, out, err = invoke(runner, "claims", "import", str(bad), "--json")
    assert code == 3
    assert json.loads(out)["problems"][0]["line"] == 2
    assert "bad.csv: line 2: column 'line_charge'" in err
    (tmp_path / "map.yaml").write_text("columns:\n  nope: X\n")
    assert invoke(runner, "claims", "import", str(bad), "--mapping", str(tmp_path / "map.yaml"))[0] == 3
    assert invoke(runner, "claims", "list", "--status", "sideways")[0] == 2


def test_codes(runner: CliRunner, data_dir: Path, tmp_path: Path) -> None:
    code, out, _ = invoke(runner, "codes", "show", "category", "F2", "--json")
    assert code == 0 and json.loads(out)[0]["normalized_status"] == "denied"
    assert invoke(runner, "codes", "show", "carc", "424242")[0] == 4
    official = tmp_path / "carc.csv"
    official.write_text("code,description\n18,Licensed official text\n")
    assert invoke(runner, "codes", "import", "carc", str(official))[0] == 0
    code, out, _ = invoke(runner, "codes", "show", "carc", "18", "--json")
    assert json.loads(out)[0] | {} == {
        "kind": "carc",
        "code": "18",
        "description": "Licensed official text",
        "normalized_status": None,
        "official": True,
    }
    official.write_text("code\n18\n")
    code, _, err = invoke(runner, "codes", "import", "carc", str(official))
    assert code == 3 and "line 1" in err


def test_bad_payer_config_is_a_clear_error(
    runner: CliRunner, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "payers.yaml").write_text(
        "payers:\n  - id: X1\n    name: Example\n    kind: martian\n    timely_filing_days: 90\n"
    )
    monkeypatch.setenv("CLAIMBOT_CONFIG_DIR", str(tmp_path))
    code, _, err = invoke(runner, "db", "upgrade")
    assert code == 5
    assert "payers.yaml: line 4: key 'payers.0.kind'" in err


def test_console_script_runs_in_a_real_process(data_dir: Path) -> None:
    env = {**os.environ, "CLAIMBOT_LOG_FORMAT": "json"}
    done = subprocess.run(
        [sys.executable, "-m", "claimbot", "claims", "show", "X"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 5, done.stderr


def test_a_list_cut_short_says_how_many_there_are(runner: CliRunner, data_dir: Path, tmp_path: Path) -> None:
    assert invoke(runner, "db", "upgrade")[0] == 0
    path = claims_csv(tmp_path / "many.csv", [make_claim(f"C{n:03}") for n in range(1, 13)])
    assert invoke(runner, "claims", "import", str(path))[0] == 0
    code, out, _ = invoke(runner, "claims", "list", "--limit", "5")
    assert code == 0 and "5 of 12 claims shown — use --limit N, --offset N or --all for more" in out
    code, out, _ = invoke(runner, "claims", "list", "--all")
    assert code == 0 and "C012" in out and "of 12" not in out
    listed = json.loads(invoke(runner, "claims", "list", "--limit", "5", "--offset", "10", "--json")[1])
    assert (listed["total"], listed["shown"]) == (12, 2)


def test_ids_codes_and_amounts_are_never_cut_in_a_narrow_table(
    runner: CliRunner, data_dir: Path, tmp_path: Path
) -> None:
    from claimbot.console import out as console
    from claimbot.tables import Col, add_rows, make_table

    table = make_table(("claim", Col.KEY), ("payer says", Col.TEXT), ("paid", Col.AMOUNT))
    add_rows(table, [["C-2026-000000000123", "Claim lacks information or has billing errors [N290]", "123,456.78"]])
    with console.capture() as captured:
        console.print(table, width=48)
    text = captured.get()
    assert "C-2026-000000000123" in text and "123,456.78" in text and "[N290]" in text.replace("\n", "")
    assert max(len(line) for line in text.splitlines()) <= 48


def test_a_missing_import_file_says_it_is_missing(runner: CliRunner, data_dir: Path, tmp_path: Path) -> None:
    assert invoke(runner, "db", "upgrade")[0] == 0
    code, _, err = invoke(runner, "claims", "import", str(tmp_path / "nope.csv"))
    assert code == 3 and "nope.csv: no such file" in err and "line 0" not in err
