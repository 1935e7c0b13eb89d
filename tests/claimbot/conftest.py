from collections.abc import Iterator
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


@pytest.fixture(autouse=True)
def wide_console() -> Iterator[None]:
    """CLI tests read tables as text: give them one width, whatever terminal the test run sits in
    (the consoles otherwise take the width of the terminal they find, as a person's would)."""
    from claimbot.console import err, out

    widths = out.width, err.width
    out.width = err.width = 200
    yield
    out.width, err.width = widths
