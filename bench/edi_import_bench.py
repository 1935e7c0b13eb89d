"""EDI intake benchmark: `claimbot edi import` of a dense 835 into a SQLite ledger.

Run as ``uv run python bench/edi_import_bench.py``. For 2,000 and 20,000 claims it writes the
same synthetic ERA as bench/x12_835_bench.py and imports it twice in fresh subprocesses: into a
ledger that holds every claim (the usual case: one status check, one payment and the denials per
claim) and into an empty one (every answer queued as unmatched). Time covers reading, parsing and
recording; results go to bench/results/edi_import.md and .json. There is no target in the issue:
this guards the import against growing faster than the file (one evidence look-up per claim once
walked the whole transaction, and a 2,000-claim ERA took 5 minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
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
RESULTS_DIR = Path(__file__).resolve().parent / "results"
COMMAND = "uv run python bench/edi_import_bench.py"


def child(era: Path, db: Path, claims: int, with_claims: bool) -> dict[str, Any]:
    """Import ``era`` into a new ledger at ``db`` (holding its claims when ``with_claims``)."""
    url = f"sqlite:///{db}"
    upgrade(url)
    ledger = Ledger.connect(url)
    ledger.sync_payers(load_payers(REPO / "config" / "payers.yaml"))
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
        "seconds": round(seconds, 2),
        "claims_per_second": round(claims / seconds),
        "status_checks": summary.status_checks,
        "payments": summary.payments,
        "denials": summary.denials,
        "unmatched": summary.unmatched,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__)
    arguments.add_argument("--child", nargs=4, metavar=("ERA", "DB", "CLAIMS", "WITH_CLAIMS"))
    options = arguments.parse_args()
    if options.child:
        era, db, claims, with_claims = options.child
        print(json.dumps(child(Path(era), Path(db), int(claims), with_claims == "yes")))
        return
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        for claims in SIZES:
            era = Path(directory) / f"era{claims}.835"
            era.write_text(generate_dense_835(claims))
            for with_claims in ("yes", "no"):
                db = Path(directory) / f"ledger{claims}{with_claims}.db"
                command = [sys.executable, __file__, "--child", str(era), str(db), str(claims), with_claims]
                completed = subprocess.run(command, capture_output=True, text=True, check=True)
                row = json.loads(completed.stdout.strip().splitlines()[-1])
                print(row, flush=True)
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
        f"| {row['claims']:,} | {'yes' if row['ledger_holds_claims'] else 'no (all unmatched)'} | {row['seconds']} | "
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
            "- Time = `import_edi` (read, parse, record every answer in one database transaction per transaction set).",
            "",
            "| claims | ledger holds the claims | seconds | claims/s | status checks | payments | denials | unmatched | "
            "peak RSS MB |",
            "|---|---|---|---|---|---|---|---|---|",
            *table,
            "",
        ]
    )
    (RESULTS_DIR / "edi_import.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
