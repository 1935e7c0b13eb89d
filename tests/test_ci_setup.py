"""The test set-up itself: in CI (CI=true) a missing PostgreSQL or Chromium, or any skip, fails the
run; locally the same tests skip with their reason.

Each case runs pytest in a subprocess on one tiny test file that uses the real fixtures of
tests/conftest.py (loaded as a plugin), with PostgreSQL and Chromium made unavailable through the
environment variables that conftest documents (CLAIMBOT_TEST_PG_BIN, CLAIMBOT_CHROMIUM).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

TINY_TESTS = """
import pytest


def test_needs_postgres(pg_server_url):
    pass


def test_needs_chromium(chromium_path):
    pass


@pytest.mark.skipif(True, reason="a stray skipif")
def test_stray_skip():
    pass
"""

UNAVAILABLE = {"CLAIMBOT_TEST_PG_BIN": "/nonexistent", "CLAIMBOT_CHROMIUM": "/nonexistent/chromium"}


def run_tiny(folder: Path, *, ci: bool, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    test_file = folder / "test_tiny_setup.py"
    test_file.write_text(TINY_TESTS)
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in {"CI", "CLAIMBOT_TEST_DATABASE_URL", "PYTEST_ADDOPTS", "PYTEST_PLUGINS"}
    }
    environment |= env | {"PYTHONPATH": str(REPO)}
    if ci:
        environment["CI"] = "true"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "tests.conftest",
            "-c",
            str(REPO / "pyproject.toml"),
            "--rootdir",
            str(folder),
            "-q",
            "-rfEs",
            str(test_file),
        ],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )


def summary_line(output: str, test: str) -> str:
    """The short test summary line about one test (ERROR when it failed while being set up)."""
    return next(
        line for line in output.splitlines() if test in line and line.startswith(("ERROR", "FAILED", "SKIPPED"))
    )


def test_in_ci_missing_postgres_chromium_or_a_skip_fails(tmp_path: Path) -> None:
    done = run_tiny(tmp_path, ci=True, env=UNAVAILABLE)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "skipped" not in output.lower()
    assert "Failed: PostgreSQL server binaries not found in /nonexistent" in summary_line(output, "test_needs_postgres")
    assert "Failed: no Chromium at /nonexistent/chromium" in summary_line(output, "test_needs_chromium")
    # pytest calls a failure while setting a test up an error: either way the run is red
    assert "a stray skipif (CI is set" in summary_line(output, "test_stray_skip")


def test_locally_they_skip_with_the_reason(tmp_path: Path) -> None:
    done = run_tiny(tmp_path, ci=False, env=UNAVAILABLE)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "3 skipped" in output
    assert "PostgreSQL server binaries not found in /nonexistent" in output
    assert "no Chromium at /nonexistent/chromium" in output
    assert "failed" not in output.lower()


@pytest.fixture
def broken_pg_bin() -> Iterator[Path]:
    """initdb and pg_ctl that exist and fail, in a folder the `postgres` user can reach too."""
    folder = Path(tempfile.mkdtemp(prefix="claimbot-fake-pg-"))
    folder.chmod(0o755)
    for tool in ("initdb", "pg_ctl"):
        script = folder / tool
        script.write_text(f"#!/bin/sh\necho '{tool}: cannot create the cluster' >&2\nexit 1\n")
        script.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_in_ci_a_postgres_that_cannot_start_fails_and_says_why(tmp_path: Path, broken_pg_bin: Path) -> None:
    done = run_tiny(tmp_path, ci=True, env=UNAVAILABLE | {"CLAIMBOT_TEST_PG_BIN": str(broken_pg_bin)})
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    line = summary_line(output, "test_needs_postgres")
    assert "Failed: PostgreSQL initdb failed (exit 1)" in line or "no 'postgres' user" in line, line
