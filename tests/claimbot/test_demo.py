"""The README's first command: `claimbot demo` on embedded defaults."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from claimbot.cli import app


@pytest.mark.browser
def test_demo_imports_the_practice_and_checks_claims_on_every_portal(runner: CliRunner, data_dir: Path) -> None:
    first = runner.invoke(app, ["demo"])
    assert first.exit_code == 0, first.stderr
    assert "540 claims in 1229 rows — 540 new" in first.stdout
    for payer in ("SUNRISE", "MERIDIAN", "KEYSTONE"):
        assert f"{payer}: checked 12 claims on its portal (0 failed)" in first.stdout
    assert "Denials that need work" in first.stdout
    assert (data_dir / "ledger.sqlite3").exists()


def test_demo_twice_imports_nothing_new(runner: CliRunner, data_dir: Path) -> None:
    assert runner.invoke(app, ["demo", "--no-portals"]).exit_code == 0
    again = runner.invoke(app, ["demo", "--no-portals"])
    assert again.exit_code == 0
    assert "0 new, 0 updated, 540 unchanged" in again.stdout
