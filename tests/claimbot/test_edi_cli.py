import json
from pathlib import Path

from typer.testing import CliRunner

from claimbot.cli import app
from tests.edi.edi_x12_builders import interchange, paid_claim, remittance
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
