"""Benchmark: reading a dense 20,000-claim 835 with our X12 layer, oxedi and pyx12.

Run as ``uv run python bench/x12_835_bench.py`` (``--only ours`` to run one parser,
``--instructions`` to add a valgrind instruction count). It writes a synthetic, balanced 835
(about 3.7 service lines and 4.3 CAS segments per claim) to a temporary directory, then parses it
with each parser in fresh subprocesses, taking turns, so that each peak RSS (``ru_maxrss`` of the
child) belongs to one parser only and a slow spell of the machine hits every parser alike. Timing
covers reading the file, parsing and walking every claim; the import and freeing the result are
timed separately. Results go to bench/results/x12_835.md and .json.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

CLAIM_COUNT = 20_000
RESULTS_DIR = Path(__file__).resolve().parent / "results"
PARSERS = ("ours", "oxedi", "pyx12")
RUNS = {"ours": 7, "oxedi": 7, "pyx12": 1}
COMMAND = "uv run python bench/x12_835_bench.py"
# Where our time goes on this file (fastest of 7 fresh processes, 2026-11-23, same machine); kept
# here so the report says what the figure is made of.
OUR_TIME_BREAKDOWN = (
    "Our time on this file (fastest of 7 fresh processes): decoding the memory-mapped file and the "
    "envelope scan ~0.036 s (the transaction is kept as text, no string per segment); the 835 view ~0.21 s, "
    "of which splitting the text into segments a block at a time ~0.027 s, the rest one pass building typed "
    "claim/line/adjustment records with Decimal amounts and dates (segments an ERA repeats, such as "
    "fee-schedule SVC, CAS, DTM and AMT, are converted once per transaction); balancing ~0.03 s. The cyclic "
    "GC is paused during the read and the records are moved to the oldest generation afterwards."
)


def generate_dense_835(
    claim_count: int, seed: int = 835, *, unique_amounts: bool = False, realistic: bool = False
) -> str:
    """A balanced 835 with several SVC and CAS per claim, one segment per line.

    Charges come from a fee schedule (as in real ERAs) unless ``unique_amounts``: then every
    charge is random, the worst case for the reader's per-transaction value caches. ``realistic``:
    fee-schedule charges, allowed amounts from one of three contracts, coinsurance and deductibles
    that vary per claim, and some lines denied (CO 97, nothing paid).
    """
    rng = random.Random(seed)
    body: list[str] = [
        "BPR*I*{total}*C*ACH*CCP*01*999999999*DA*123456*1512345678**01*999988880*DA*98765*20240315",
        "TRN*1*EFT20240315001*1512345678",
        "DTM*405*20240314",
        "N1*PR*BENCHMARK HEALTH PLAN*XV*99999",
        "N3*1 PAYER WAY",
        "N4*CAPITAL CITY*NY*12345",
        "PER*BL*PROVIDER SERVICES*TE*8005551212",
        "N1*PE*BENCHMARK MEDICAL GROUP*XX*1234567893",
        "REF*TJ*123456789",
        "LX*1",
    ]
    total = Decimal(0)
    for claim_number in range(1, claim_count + 1):
        claim_segments, claim_paid = _claim(rng, claim_number, unique_amounts, realistic)
        body.extend(claim_segments)
        total += claim_paid
    body[0] = body[0].format(total=total)
    segments = [
        "ISA*00*          *00*          *ZZ*BENCHPAYER     *ZZ*BENCHPROVIDER  *240315*1200*^*00501*000000001*0*P*:",
        "GS*HP*BENCHPAYER*BENCHPROVIDER*20240315*1200*1*X*005010X221A1",
        "ST*835*0001",
        *body,
        f"SE*{len(body) + 2}*0001",
        "GE*1*1",
        "IEA*1*000000001",
    ]
    return "~\n".join(segments) + "~\n"


# procedure -> (charge, contracted allowed amount): practices bill from a fee schedule and payers
# pay contracted rates, so real ERAs repeat these amounts; deductibles and interest vary per claim.
_FEE_SCHEDULE = {
    "99213": (Decimal("150.00"), Decimal("92.47")),
    "99214": (Decimal("220.00"), Decimal("131.12")),
    "99203": (Decimal("185.00"), Decimal("110.30")),
    "93000": (Decimal("85.00"), Decimal("17.21")),
    "85025": (Decimal("32.00"), Decimal("7.77")),
    "80053:QW": (Decimal("48.00"), Decimal("10.56")),
    "97110:GP": (Decimal("95.00"), Decimal("29.04")),
    "36415": (Decimal("20.00"), Decimal("3.00")),
    "90686": (Decimal("45.00"), Decimal("19.11")),
    "71046:26": (Decimal("120.00"), Decimal("11.63")),
}
_PROCEDURES = sorted(_FEE_SCHEDULE)


_CONTRACTS = (Decimal("0.92"), Decimal("1.00"), Decimal("1.07"))  # realistic: three payers' rates


def _claim(rng: random.Random, claim_number: int, unique_amounts: bool, realistic: bool) -> tuple[list[str], Decimal]:
    lines: list[str] = []
    claim_charge = Decimal(0)
    lines_paid = Decimal(0)
    patient_responsibility = Decimal(0)
    for line_number in range(rng.choice((3, 4, 4))):
        procedure = rng.choice(_PROCEDURES)
        charge, allowed = _FEE_SCHEDULE[procedure]
        if unique_amounts:
            charge = Decimal(rng.randrange(5_000, 90_000)) / 100
            allowed = (charge * Decimal("0.61")).quantize(Decimal("0.01"))
        denied = realistic and rng.random() < 0.08
        if realistic:
            allowed = Decimal(0) if denied else (allowed * rng.choice(_CONTRACTS)).quantize(Decimal("0.01"))
        contractual = charge - allowed
        deductible = (
            min(allowed, Decimal(rng.randrange(1, 4_000)) / 100)
            if line_number == 0 and rng.random() < 0.5 and not denied
            else Decimal(0)
        )
        coinsurance = (
            ((allowed - deductible) * Decimal("0.20")).quantize(Decimal("0.01"))
            if realistic and not denied and rng.random() < 0.4
            else Decimal(0)
        )
        paid = allowed - deductible - coinsurance
        claim_charge += charge
        lines_paid += paid
        patient_responsibility += deductible + coinsurance
        lines.append(f"SVC*HC:{procedure}*{charge}*{paid}**1")
        lines.append(f"DTM*472*202403{line_number + 1:02d}")
        lines.append(f"CAS*CO*{97 if denied else 45}*{contractual}")
        if deductible:
            lines.append(f"CAS*PR*1*{deductible}")
        if coinsurance:
            lines.append(f"CAS*PR*2*{coinsurance}")
        lines.append(f"REF*6R*{claim_number}-{line_number + 1}")
        if allowed:
            lines.append(f"AMT*B6*{allowed}")
        if line_number == 1 and rng.random() < 0.3:
            lines.append("LQ*HE*N130")
    interest = Decimal(rng.randrange(1, 300)) / 100 if rng.random() < 0.15 else Decimal(0)
    claim_paid = lines_paid + interest
    claim = [
        f"CLP*PCN{claim_number:08d}*1*{claim_charge}*{claim_paid}*{patient_responsibility}*12*"
        f"ICN{claim_number:011d}*11*1",
        *([f"CAS*OA*225*{-interest}"] if interest else []),
        f"NM1*QC*1*PATIENT{claim_number}*TEST****MI*MBR{claim_number:09d}",
        "DTM*232*20240301",
        "DTM*233*20240304",
        *lines,
    ]
    return claim, claim_paid


# Each walker returns the claim count and what it parsed, so the clock stops before the result is
# freed: freeing is not parsing (our 20,000-claim document takes about 0.03 s to free, oxedi's
# Arrow tables about 0.001 s; both are freed after the measurement).


def _walk_ours(path: Path) -> tuple[int, object]:
    from edi import RemittanceAdvice, read_x12_file

    document = read_x12_file(path)
    count = 0
    for transaction in document.transactions:
        if isinstance(transaction, RemittanceAdvice):
            for claim in transaction.claims:
                count += 1 if claim.patient_control_number else 0
    return count, document


def _walk_oxedi(path: Path) -> tuple[int, object]:
    import oxedi

    result = oxedi.parse_file(str(path))
    return int(result.count_claims()), result


def _walk_pyx12(path: Path) -> tuple[int, object]:
    import pyx12.error_handler
    import pyx12.params
    import pyx12.x12context

    params = pyx12.params.params()
    errors = pyx12.error_handler.errh_null()
    with path.open(encoding="ascii") as handle:
        context_reader = pyx12.x12context.X12ContextReader(params, errors, handle)
        return sum(1 for segment in context_reader.iter_segments() if segment.id == "CLP"), None


_IMPORTS = {
    "ours": ["edi"],
    "oxedi": ["oxedi"],
    "pyx12": ["pyx12.x12context", "pyx12.params", "pyx12.error_handler"],
}
_WALKERS = {"ours": _walk_ours, "oxedi": _walk_oxedi, "pyx12": _walk_pyx12}


def run_instruction_child(parser: str, path: Path, parse: bool) -> None:
    """Import ``parser`` and, when ``parse``, parse ``path``; run under callgrind by the parent,
    which subtracts the import-only count. Exits at once so that freeing is not counted."""
    for module in _IMPORTS[parser]:
        importlib.import_module(module)
    if parse:
        _WALKERS[parser](path)
    sys.stdout.flush()
    os._exit(0)


def _instructions(parser: str, path: Path) -> int:
    """Instructions executed to parse and walk ``path`` (callgrind: repeatable whatever else the
    machine is doing, unlike seconds on a shared VM; it leaves out cache misses and page faults)."""
    counts = []
    for parse in ("parse", "import-only"):
        command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, __file__]
        command += ["--instruction-child", parser, str(path), "--mode", parse]
        completed = subprocess.run(command, capture_output=True, text=True, check=True)
        match = re.search(r"Collected : (\d+)", completed.stderr)
        if match is None:
            raise RuntimeError(f"no callgrind total for {parser}: {completed.stderr[-500:]}")
        counts.append(int(match.group(1)))
    return counts[0] - counts[1]


def run_child(parser: str, path: Path) -> None:
    """Measure one parser in this (fresh) process and print a JSON line."""
    import_start = time.perf_counter()
    for module in _IMPORTS[parser]:
        importlib.import_module(module)
    import_seconds = time.perf_counter() - import_start
    start = time.perf_counter()
    claims, parsed = _WALKERS[parser](path)
    seconds = time.perf_counter() - start
    free_start = time.perf_counter()
    del parsed
    free_seconds = time.perf_counter() - free_start
    result = {
        "parser": parser,
        "claims": claims,
        "seconds": seconds,
        "import_seconds": import_seconds,
        "free_seconds": free_seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "vm_hwm_mb": _vm_hwm_mb(),
    }
    print(json.dumps(result))


def _vm_hwm_mb() -> float:
    """Peak resident set of this process image (Linux VmHWM), a cross-check of ru_maxrss."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run_generator(path: Path, claim_count: int, unique_amounts: bool, realistic: bool = False) -> None:
    """Write the input file and print its shape. Runs in its own subprocess: on Linux a child's
    ru_maxrss starts at its parent's resident size, so the parent must never hold the file."""
    text = generate_dense_835(claim_count, unique_amounts=unique_amounts, realistic=realistic)
    path.write_text(text, encoding="ascii")
    shape = {
        "claims": text.count("\nCLP*"),
        "svc": text.count("\nSVC*"),
        "cas": text.count("\nCAS*"),
        "segments": text.count("~"),
        "megabytes": round(path.stat().st_size / 1e6, 2),
    }
    print(json.dumps(shape))


def _run_json(*arguments: str) -> dict[str, Any]:
    command = [sys.executable, __file__, *arguments]
    completed = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def _measure_in_turns(jobs: dict[str, tuple[str, Path]]) -> dict[str, dict[str, Any]]:
    """Run the children in turns (ours, oxedi, ours, oxedi, ...) so that a slow spell of a shared
    machine falls on every parser alike; each row is the median of its runs."""
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label in jobs}
    for turn in range(max(RUNS[parser] for parser, _ in jobs.values())):
        for label, (parser, path) in jobs.items():
            if turn < RUNS[parser]:
                run = _run_json("--child", parser, str(path))
                print(f"{label}: {run}", flush=True)
                runs[label].append(run)
    return {label: _summary(label_runs) for label, label_runs in runs.items()}


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    median_seconds = statistics.median(run["seconds"] for run in runs)
    return {
        "runs": len(runs),
        "claims": runs[0]["claims"],
        "median_seconds": round(median_seconds, 3),
        "fastest_seconds": round(min(run["seconds"] for run in runs), 3),
        "claims_per_second": round(runs[0]["claims"] / median_seconds),
        "import_seconds": round(statistics.median(run["import_seconds"] for run in runs), 3),
        "free_seconds": round(statistics.median(run["free_seconds"] for run in runs), 3),
        "peak_rss_mb": round(max(run["peak_rss_mb"] for run in runs), 1),
        "vm_hwm_mb": round(max(run["vm_hwm_mb"] for run in runs), 1),
    }


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__)
    arguments.add_argument("--child", choices=PARSERS)
    arguments.add_argument("--instruction-child", choices=PARSERS)
    arguments.add_argument("--mode", choices=("parse", "import-only"), default="parse")
    arguments.add_argument(
        "--instructions",
        action="store_true",
        help="also count the instructions each parser executes (valgrind; adds about three minutes)",
    )
    arguments.add_argument("--generate", action="store_true")
    arguments.add_argument("--unique-amounts", action="store_true")
    arguments.add_argument("--realistic", action="store_true")
    arguments.add_argument("path", nargs="?", type=Path)
    arguments.add_argument("--claims", type=int, default=CLAIM_COUNT)
    arguments.add_argument("--only", choices=PARSERS, action="append")
    options = arguments.parse_args()
    if options.child:
        run_child(options.child, options.path)
        return
    if options.instruction_child:
        run_instruction_child(options.instruction_child, options.path, options.mode == "parse")
        return
    if options.generate:
        run_generator(options.path, options.claims, options.unique_amounts, options.realistic)
        return
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "dense.835"
        shape = _run_json("--generate", str(path), "--claims", str(options.claims))
        print(f"file: {shape}", flush=True)
        jobs = {parser: (parser, path) for parser in options.only or PARSERS}
        unique_path = Path(directory) / "unique.835"
        _run_json("--generate", str(unique_path), "--claims", str(options.claims), "--unique-amounts")
        realistic_path = Path(directory) / "realistic.835"
        _run_json("--generate", str(realistic_path), "--claims", str(options.claims), "--realistic")
        for parser in ("ours", "oxedi"):  # both shapes, both parsers, in the same turns
            if parser in jobs:
                jobs[f"{parser}, all amounts unique"] = (parser, unique_path)
                jobs[f"{parser}, realistic"] = (parser, realistic_path)
        results = _measure_in_turns(jobs)
        if options.instructions:
            for parser in ("ours", "oxedi"):  # pyx12 would take half an hour under valgrind
                if parser in results:
                    results[parser]["instructions_millions"] = round(_instructions(parser, path) / 1e6)
                    print(f"{parser}: {results[parser]['instructions_millions']}M instructions", flush=True)
    _write_report(shape, results)


def _write_report(shape: dict[str, Any], results: dict[str, dict[str, Any]]) -> None:
    machine = (
        f"{platform.machine()}, {os.cpu_count()} vCPU, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    RESULTS_DIR.mkdir(exist_ok=True)
    report_json = {"date": when, "machine": machine, "command": COMMAND, "file": shape, "results": results}
    (RESULTS_DIR / "x12_835.json").write_text(json.dumps(report_json, indent=2) + "\n")
    ours = results.get("ours", {}).get("claims_per_second", 0)
    rows = [
        f"| {name} | {row['claims']:,} | {row['runs']} | {row['median_seconds']} | {row['fastest_seconds']} | "
        f"{row['claims_per_second']:,} | {row['import_seconds']} | {row['free_seconds']} | {row['peak_rss_mb']} | "
        f"{row['vm_hwm_mb']} | "
        f"{ours / row['claims_per_second']:.2f} |"
        for name, row in results.items()
    ]
    report = "\n".join(
        [
            "# X12 835 parsing benchmark",
            "",
            f"- Date: {when}",
            f"- Machine: {machine}",
            f"- Command: `{COMMAND}`",
            f"- Input: synthetic balanced 835 (fee-schedule amounts, as real ERAs repeat them), "
            f"{shape['claims']:,} claims, {shape['svc']:,} SVC, {shape['cas']:,} CAS, {shape['segments']:,} segments, "
            f"{shape['megabytes']} MB, one segment per line, one ST..SE",
            "- Each run is a fresh subprocess (the file is generated in another one, so the parent stays small); "
            "the parsers take turns (ours, oxedi, ours, ...) so a slow spell of this shared 2-vCPU machine falls on "
            "both alike. Time = read the file + parse + walk every claim; the import is timed separately, and so is "
            "freeing the result, after the clock stops (`free s`). Peak RSS = `ru_maxrss` of the subprocess "
            "(VmHWM as a cross-check). claims/s is from the median run.",
            "- ours: `read_x12_file` (tokenizer, envelope checks, 835 view: typed claim/line/adjustment records "
            "with Decimal amounts and dates, balancing per line, claim and payment). "
            "oxedi: `parse_file().count_claims()` (Rust core, Arrow tables, no per-claim Python objects). "
            "pyx12: `X12ContextReader.iter_segments()` counting CLP.",
            "- `ours, all amounts unique`: the same shape with every charge random, so the reader's "
            "per-transaction caches of amounts, CAS segments and procedure codes (which a fee schedule fills) "
            "rarely hit; the worst case for us.",
            "- `realistic`: fee-schedule charges, allowed amounts from one of three contracts, coinsurance (PR 2) "
            "and deductibles (PR 1) varying per claim, 8% of lines denied (CO 97, nothing paid).",
            "- `ours / this` = our (fee-schedule) claims/s divided by the row's.",
            f"- Load average during the run: {' / '.join(f'{x:.1f}' for x in os.getloadavg())} (shared machine).",
            "",
            *_shape_lines(results),
            "",
            "| parser | claims | runs | median s | fastest s | claims/s | import s | free s | peak RSS MB | VmHWM MB "
            "| ours / this |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            *_instruction_lines(results),
            OUR_TIME_BREAKDOWN,
            "",
        ]
    )
    (RESULTS_DIR / "x12_835.md").write_text(report)
    print(report)


def _shape_lines(results: dict[str, dict[str, Any]]) -> list[str]:
    """Ours against oxedi on each file shape, by median in the same run (target: >= 1.0x)."""
    lines = ["| file | ours median s | oxedi median s | ours speed / oxedi (≥ 1.0 wanted) |", "|---|---|---|---|"]
    for suffix, name in (
        ("", "fee schedule"),
        (", all amounts unique", "all amounts unique"),
        (", realistic", "realistic"),
    ):
        ours, oxedi = results.get(f"ours{suffix}"), results.get(f"oxedi{suffix}")
        if ours and oxedi:
            ratio = oxedi["median_seconds"] / ours["median_seconds"]
            lines.append(f"| {name} | {ours['median_seconds']} | {oxedi['median_seconds']} | {ratio:.2f}× |")
    return [*lines, ""] if len(lines) > 2 else []


def _instruction_lines(results: dict[str, dict[str, Any]]) -> list[str]:
    counted = {name: row["instructions_millions"] for name, row in results.items() if "instructions_millions" in row}
    if not counted:
        return ["Instructions not counted in this run (add `--instructions`; needs valgrind).", ""]
    return [
        "Instructions executed to read, parse and walk the file (`--instructions`: callgrind, import subtracted; "
        "repeatable on a shared machine, but blind to cache misses and page faults):",
        "",
        "| parser | instructions (millions) |",
        "|---|---|",
        *(f"| {name} | {count:,} |" for name, count in counted.items()),
        "",
    ]


if __name__ == "__main__":
    main()
