"""`claimbot report aging|denials|runs|payers` on the known ledger of tests/claims/test_reports.py: the
same figures as tables, JSON and CSV; the denial playbook's categories; `--chart` writes the digest's PNG."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from typer.testing import CliRunner

from claimbot.cli import app
from claims.ledger import Ledger
from tests.claims.test_reports import fill_known


def known_ledger(runner: CliRunner, data_dir: Path) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    with Ledger.connect(f"sqlite:///{data_dir / 'ledger.sqlite3'}") as ledger:
        fill_known(ledger)


def test_aging_as_table_json_and_csv_and_the_digests_chart(runner: CliRunner, data_dir: Path, tmp_path: Path) -> None:
    from PIL import Image

    from assistant.charts import HEIGHT, WIDTH

    known_ledger(runner, data_dir)
    answer = runner.invoke(app, ["report", "aging", "--as-of", "2026-12-01", "--json"])
    assert answer.exit_code == 0, answer.stderr
    report = json.loads(answer.stdout)
    assert report["basis"] == "days since the date of service"
    assert report["total"]["counts"] == {"0-30": 1, "31-60": 2, "61-90": 1, "91-120": 1, "120+": 2}
    assert (report["total"]["count"], report["total"]["amount"]) == (7, "1890.00")

    table = runner.invoke(app, ["report", "aging", "--as-of", "2026-12-01"])
    assert table.exit_code == 0, table.stderr
    [keystone] = [line for line in table.stdout.splitlines() if "KEYSTONE" in line]
    assert "2 · 780.00" in keystone and "120+ days" in table.stdout
    [total] = [line for line in table.stdout.splitlines() if "total" in line and "·" in line]
    assert "7 · 1,890.00" in total

    rows = list(
        csv.DictReader(io.StringIO(runner.invoke(app, ["report", "aging", "--as-of", "2026-12-01", "--csv"]).stdout))
    )
    assert [r["payer"] for r in rows] == ["KEYSTONE", "MERIDIAN", "SUNRISE", "total"]
    assert (rows[2]["31-60 claims"], rows[2]["31-60 amount"], rows[3]["amount"]) == ("2", "110.00", "1890.00")

    chart = tmp_path / "charts" / "digest.png"
    drawn = runner.invoke(app, ["report", "aging", "--as-of", "2026-12-01", "--chart", str(chart)])
    assert drawn.exit_code == 0 and "chart written to" in drawn.stderr
    assert chart.stat().st_size > 2_000
    with Image.open(chart) as image:
        assert (image.format, image.size) == ("PNG", (WIDTH, HEIGHT))
        colours = {colour for _, colour in image.getcolors(maxcolors=1 << 16) or []}
    assert len(colours) > 2  # bars and words, not a blank page
    assert runner.invoke(app, ["report", "denials", "--chart", str(tmp_path / "d.png")]).exit_code == 0
    assert (tmp_path / "d.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert runner.invoke(app, ["report", "aging", "--chart", str(tmp_path / "x.jpg")]).exit_code == 2
    assert runner.invoke(app, ["report", "aging", "--json", "--csv"]).exit_code == 2


def test_denials_by_the_playbooks_categories(runner: CliRunner, data_dir: Path) -> None:
    known_ledger(runner, data_dir)
    answer = runner.invoke(app, ["report", "denials", "--json"])
    assert answer.exit_code == 0, answer.stderr
    report = json.loads(answer.stdout)
    assert [(c["category"], c["claims"], c["amount"]) for c in report["categories"]] == [
        ("missing_information", 2, "480.00"),
        ("bundling", 1, "50.00"),
    ]
    table = runner.invoke(app, ["report", "denials"]).stdout
    assert "CO-16" in table and "530.00" in table
    rows = list(csv.DictReader(io.StringIO(runner.invoke(app, ["report", "denials", "--csv"]).stdout)))
    assert {(r["code"], r["payer"], r["amount"]) for r in rows} == {
        ("CO-97", "SUNRISE", "50.00"),
        ("CO-16", "KEYSTONE", "80.00"),
        ("CO-16", "MERIDIAN", "400.00"),
    }


def test_payers_and_runs(runner: CliRunner, data_dir: Path) -> None:
    known_ledger(runner, data_dir)
    payers = json.loads(runner.invoke(app, ["report", "payers", "--json"]).stdout)
    rows = {p["payer_id"]: p for p in payers["payers"]}
    assert (rows["MERIDIAN"]["p90_seconds"], rows["MERIDIAN"]["within_caqh"]) == (25.0, False)
    assert (rows["SUNRISE"]["error_rate"], rows["SUNRISE"]["not_found_rate"]) == (0.25, 0.25)
    table = runner.invoke(app, ["report", "payers"]).stdout
    [meridian] = [line for line in table.splitlines() if "MERIDIAN" in line]
    assert "25.00" in meridian and "NO" in meridian
    runs = runner.invoke(app, ["report", "runs", "--json"])
    assert runs.exit_code == 0 and json.loads(runs.stdout)["rows"] == []
    assert "runs since" in runner.invoke(app, ["report", "runs"]).stdout
