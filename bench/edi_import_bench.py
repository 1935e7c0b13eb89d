"""EDI intake benchmark: `claimbot edi import` of a dense 835 into a SQLite ledger.

Run as ``uv run python bench/edi_import_bench.py``. For 2,000 and 20,000 claims it writes the
same synthetic ERA as bench/x12_835_bench.py and imports it twice in fresh subprocesses: into a
ledger that holds every claim (the usual case: one status check, one payment and the denials per
claim) and into an empty one (every answer queued as unmatched). Time covers reading, parsing and
recording; results go to bench/results/edi_import.md and .json. The reader alone (`read_x12_file`)
is timed on the same file in the same run, interleaved with the imports (reader, matched, unmatched,
reader, ...), and each row is the median of its runs. Targets (issue 16): the 20,000-claim import at
most 3x the reader's time and 2 s on SQLite, matched and all unmatched, peak RSS <= 200 MB.
``--profile`` writes cProfile summaries (import matched, all unmatched, `claims import` of 100,000
CSV claims) to bench/results/edi_import.profile.txt instead.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.ledger_bench import write_csv  # noqa: E402
from bench.x12_835_bench import generate_dense_835  # noqa: E402
from claims.edi_intake import import_edi  # noqa: E402
from claims.importing import import_claims_csv  # noqa: E402
from claims.ledger import Ledger, upgrade  # noqa: E402
from claims.payer_config import load_payers  # noqa: E402

SIZES = (2_000, 20_000)
RUNS = {2_000: 1, 20_000: 3}
RESULTS_DIR = Path(__file__).resolve().parent / "results"
COMMAND = "uv run python bench/edi_import_bench.py"


def child(era: Path, db: Path, claims: int, with_claims: bool) -> dict[str, Any]:
    """Import ``era`` into a new ledger at ``db`` (holding its claims when ``with_claims``)."""
    ledger = _ledger(db)
    if with_claims:
        csv_path = db.with_suffix(".csv")
        write_csv(csv_path, claims, claim_id_format="PCN{n:08d}", first_number=1)  # the ERA's CLP01
        import_claims_csv(ledger, csv_path)
    started = time.perf_counter()
    summary = import_edi(ledger, [era])
    seconds = time.perf_counter() - started
    return {
        "claims": claims,
        "ledger_holds_claims": with_claims,
        "seconds": round(seconds, 3),
        "claims_per_second": round(claims / seconds),
        "status_checks": summary.status_checks,
        "payments": summary.payments,
        "denials": summary.denials,
        "unmatched": summary.unmatched,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def reader_child(era: Path) -> dict[str, Any]:
    """The reader alone on the same file: what the import is held to (at most 3x this)."""
    from edi import read_x12_file

    started = time.perf_counter()
    document = read_x12_file(era)
    seconds = time.perf_counter() - started
    del document
    return {"seconds": seconds, "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def profile(directory: Path, claims: int = 20_000, csv_claims: int = 100_000) -> None:
    """cProfile summaries of the import (matched, all unmatched) and of `claims import`."""
    import cProfile
    import io
    import pstats

    era = directory / "era.835"
    era.write_text(generate_dense_835(claims))
    sections = []
    for label, with_claims in (("edi import, claims in the ledger", True), ("edi import, all unmatched", False)):
        db = directory / f"profile{with_claims}.db"
        ledger = _ledger(db)
        if with_claims:
            csv_path = db.with_suffix(".csv")
            write_csv(csv_path, claims, claim_id_format="PCN{n:08d}", first_number=1)
            import_claims_csv(ledger, csv_path)
        profiler = cProfile.Profile()
        profiler.runcall(import_edi, ledger, [era])
        sections.append((f"{label} ({claims:,} claims)", profiler))
    csv_path = directory / "claims.csv"
    write_csv(csv_path, csv_claims)
    ledger = _ledger(directory / "profile_csv.db")
    profiler = cProfile.Profile()
    profiler.runcall(import_claims_csv, ledger, csv_path)
    sections.append((f"claims import ({csv_claims:,} claims)", profiler))
    out = [f"# cProfile summaries, {datetime.now(UTC):%Y-%m-%d %H:%M UTC}, load average {os.getloadavg()[0]:.1f}", ""]
    for label, profiler in sections:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(40)
        out += [f"## {label}", "", "```", text.getvalue().strip(), "```", ""]
    (RESULTS_DIR / "edi_import.profile.txt").write_text("\n".join(out))


def _ledger(db: Path) -> Ledger:
    url = f"sqlite:///{db}"
    upgrade(url)
    ledger = Ledger.connect(url)
    ledger.sync_payers(load_payers(REPO / "config" / "payers.yaml"))
    return ledger


def _run(*arguments: str) -> dict[str, Any]:
    completed = subprocess.run([sys.executable, __file__, *arguments], capture_output=True, text=True, check=True)
    row: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return row


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__)
    arguments.add_argument("--child", nargs=4, metavar=("ERA", "DB", "CLAIMS", "WITH_CLAIMS"))
    arguments.add_argument("--reader-child", type=Path)
    arguments.add_argument("--profile", action="store_true")
    options = arguments.parse_args()
    if options.child:
        era, db, claims, with_claims = options.child
        print(json.dumps(child(Path(era), Path(db), int(claims), with_claims == "yes")))
        return
    if options.reader_child:
        print(json.dumps(reader_child(options.reader_child)))
        return
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        if options.profile:
            profile(Path(directory))
            return
        for claims in SIZES:
            era = Path(directory) / f"era{claims}.835"
            era.write_text(generate_dense_835(claims))
            readers: list[float] = []
            runs: dict[str, list[dict[str, Any]]] = {"yes": [], "no": []}
            for turn in range(RUNS[claims]):  # interleaved: a slow spell of the machine falls on all alike
                readers.append(_run("--reader-child", str(era))["seconds"])
                for with_claims in ("yes", "no"):
                    db = Path(directory) / f"ledger{claims}{with_claims}{turn}.db"
                    row = _run("--child", str(era), str(db), str(claims), with_claims)
                    print(row, flush=True)
                    runs[with_claims].append(row)
            reader = statistics.median(readers)
            for with_claims in ("yes", "no"):
                row = sorted(runs[with_claims], key=lambda r: r["seconds"])[len(runs[with_claims]) // 2]
                row["runs"] = len(runs[with_claims])
                row["reader_seconds"] = round(reader, 3)
                row["over_reader"] = round(row["seconds"] / reader, 1)
                rows.append(row)
    _write_report(rows)


def _write_report(rows: list[dict[str, Any]]) -> None:
    machine = f"{platform.machine()}, {os.cpu_count()} vCPU, Python {platform.python_version()}"
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "edi_import.json").write_text(
        json.dumps({"date": when, "machine": machine, "command": COMMAND, "results": rows}, indent=2) + "\n"
    )
    table = [
        f"| {row['claims']:,} | {'yes' if row['ledger_holds_claims'] else 'no (all unmatched)'} | {row['runs']} | "
        f"{row['seconds']} | {row['reader_seconds']} | {row['over_reader']}× | "
        f"{row['claims_per_second']:,} | {row['status_checks']:,} | {row['payments']:,} | {row['denials']:,} | "
        f"{row['unmatched']:,} | {row['peak_rss_mb']} |"
        for row in rows
    ]
    report = "\n".join(
        [
            "# EDI intake benchmark",
            "",
            f"- Date: {when}",
            f"- Machine: {machine}",
            f"- Command: `{COMMAND}`",
            "- Input: the dense synthetic 835 of bench/x12_835_bench.py; SQLite ledger (WAL) in a temporary directory.",
            "- Time = `import_edi` (read, parse, record every answer in one database transaction per transaction set, "
            "batched inserts). reader s = `read_x12_file` alone on the same file, in the same run, interleaved; "
            "medians of the runs.",
            f"- Load average during the run: {' / '.join(f'{x:.1f}' for x in os.getloadavg())} (shared 2-vCPU machine).",
            "- Targets (20,000 claims): ≤ 3× the reader and ≤ 2 s, matched and all unmatched; peak RSS ≤ 200 MB.",
            "",
            "| claims | ledger holds the claims | runs | seconds | reader s | import / reader | claims/s | "
            "status checks | payments | denials | unmatched | peak RSS MB |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
            *table,
            "",
        ]
    )
    (RESULTS_DIR / "edi_import.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
