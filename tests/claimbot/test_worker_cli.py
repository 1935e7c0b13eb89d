"""`claimbot worker` needs the ledger on PostgreSQL; on the embedded SQLite ledger it says so, plainly."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bots.workers import libpq_dsn
from claimbot.cli import app


@pytest.mark.parametrize("args", [["worker"], ["worker", "--concurrency", "3"], ["worker", "enqueue"]])
def test_team_mode_on_sqlite_is_a_clear_error(args: list[str], data_dir: Path, runner: CliRunner) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, args)
    assert result.exit_code == 5, result.output
    assert "team mode (claimbot worker) needs the ledger on PostgreSQL" in result.output
    assert "CLAIMBOT_DATABASE_URL" in result.output


def test_the_ledger_url_becomes_a_libpq_dsn() -> None:
    assert (
        libpq_dsn("postgresql+psycopg://bot:s%40cret@db.example:5433/claimbot?sslmode=require")
        == "postgresql://bot:s%40cret@db.example:5433/claimbot?sslmode=require"
    )
    assert libpq_dsn("postgresql://bot@db/claimbot") == "postgresql://bot@db/claimbot"
