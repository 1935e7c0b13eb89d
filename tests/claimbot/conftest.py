from pathlib import Path

import pytest
from typer.testing import CliRunner


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every CLI test gets its own embedded ledger."""
    folder = tmp_path / "data"
    monkeypatch.setenv("CLAIMBOT_DATA_DIR", str(folder))
    monkeypatch.delenv("CLAIMBOT_DATABASE_URL", raising=False)
    return folder


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
