"""Fixtures for the X12 layer tests: the public sample files kept outside the repository
(absent: skipped locally, failed in CI; see tests/conftest.py: need)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import need

SAMPLES_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "x12-samples"


@pytest.fixture
def samples_dir() -> Path:
    need(SAMPLES_DIR.is_dir(), f"{SAMPLES_DIR} is absent (public sample files are kept outside the repository)")
    return SAMPLES_DIR
