"""bench/sweep_bench.py still runs: a quick smoke run on one portal into a temp folder.

Only that it runs and every answer is right: timed targets never go into tests (the figures are in
bench/results/sweep.md, made by the full run).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.browser


def test_the_sweep_bench_runs_in_quick_mode(tmp_path: Path, chromium_path: str) -> None:
    command = [sys.executable, str(REPO / "bench" / "sweep_bench.py"), "--quick", "--portals", "meridian"]
    command += ["--naive-claims", "4", "--log-level", "WARNING", "--out", str(tmp_path)]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
        env={**os.environ, "CLAIMBOT_CHROMIUM": chromium_path},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "sweep.json").read_text(encoding="utf-8"))
    [fast], [naive] = report["fast"], report["naive"]
    assert fast["correct"] == fast["claims"] == 24 and fast["sessions"] == 4
    assert fast["round_trips_per_claim"] > 0 and fast["floor_s"] > 0
    assert naive["correct"] == naive["claims"] == 4
    assert (tmp_path / "sweep.md").read_text(encoding="utf-8").startswith("# Sweep speed")
