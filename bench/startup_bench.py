"""Start-up time of the commands a person runs many times a day (target: under 1 s each).

Runs each command several times through the venv's `claimbot` entry point and reports the median
and the fastest run, with Python's bytecode cache allowed (as on a user's machine: the first run
writes it) and, in a second column, with PYTHONDONTWRITEBYTECODE=1 (every module compiled again on
every run, as this build machine's environment does by default).

    uv run python bench/startup_bench.py [--runs 7] [--label after]

Results are appended to bench/results/startup.json under the label, and bench/results/startup.md
is written from every label recorded (so "before" and "after" stand side by side).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
CLAIMBOT = Path(sys.executable).parent / "claimbot"
TARGET_S = 1.0


def _commands() -> dict[str, list[str]]:
    return {
        "claimbot --help": ["--help"],
        "claimbot claims show ID": ["claims", "show", "C100000"],
        "claimbot codes show carc 45": ["codes", "show", "carc", "45"],
    }


def _time(args: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    taken = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run([str(CLAIMBOT), *args], env=env, capture_output=True, check=False)
        taken.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"claimbot {' '.join(args)} failed: {done.stderr.decode()[-500:]}")
    return statistics.median(taken), min(taken)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--label", default="current")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMBOT_")}
        env["CLAIMBOT_DATA_DIR"] = data
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([str(CLAIMBOT), "db", "upgrade"], env=env, capture_output=True, check=True)
        sample = ROOT / "sandbox" / "data" / "claims.csv"
        subprocess.run([str(CLAIMBOT), "claims", "import", str(sample)], env=env, capture_output=True, check=True)
        rows = []
        for name, args in _commands().items():
            _time(args, env, 1)  # the bytecode cache is written once, as on a user's first run
            warm = _time(args, env, options.runs)
            cold = _time(args, env | {"PYTHONDONTWRITEBYTECODE": "1"}, max(3, options.runs // 2))
            rows.append({"command": name, "median_s": warm[0], "fastest_s": warm[1], "no_bytecode_median_s": cold[0]})
            print(f"{name:32} median {warm[0]:.3f} s  fastest {warm[1]:.3f} s  no bytecode cache {cold[0]:.3f} s")
    RESULTS.mkdir(parents=True, exist_ok=True)
    store = RESULTS / "startup.json"
    recorded = json.loads(store.read_text()) if store.exists() else {}
    recorded[options.label] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} vCPU, Python {platform.python_version()}",
        "runs": options.runs,
        "rows": rows,
    }
    store.write_text(json.dumps(recorded, indent=2) + "\n")
    lines = [
        "# Start-up benchmark",
        "",
        "- Command: `uv run python bench/startup_bench.py --label LABEL`",
        f"- Target: every command below starts, does its work and exits in under {TARGET_S:g} s (median).",
        "- Median and fastest of the runs with Python's bytecode cache (a user's machine); the last column",
        "  with `PYTHONDONTWRITEBYTECODE=1` (every module recompiled on every run).",
        "",
    ]
    for label, result in recorded.items():
        lines += [
            f"## {label} — {result['date']}, {result['machine']}, {result['runs']} runs",
            "",
            "| command | median s | fastest s | no bytecode cache, median s | under 1 s |",
            "|---|---|---|---|---|",
        ]
        for row in result["rows"]:
            ok = "yes" if row["median_s"] < TARGET_S else "no"
            lines.append(
                f"| `{row['command']}` | {row['median_s']:.3f} | {row['fastest_s']:.3f} |"
                f" {row['no_bytecode_median_s']:.3f} | {ok} |"
            )
        lines.append("")
    (RESULTS / "startup.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
