"""Fixtures for the X12 layer tests: the public sample files kept outside the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

SAMPLES_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "x12-samples"


@pytest.fixture
def samples_dir() -> Path:
    if not SAMPLES_DIR.is_dir():
        pytest.skip("../shared/x12-samples is absent (public sample files are kept outside the repository)")
    return SAMPLES_DIR
