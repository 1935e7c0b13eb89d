"""Sweep speed: thousands of claims per sandbox portal through the real sweep, against the latency floor.

    uv run python bench/sweep_bench.py [--claims 2000] [--latency-ms 100] [--sessions 4]
        [--naive-claims 160] [--portals sunrise,meridian,keystone] [--quick] [--out DIR]

The product path, nothing stubbed: the three sandbox portals run in a spawned child process (their own
GIL) with `latency_ms` added to every request and their own rate limit off; each portal's claims are
imported into a fresh SQLite ledger from the sandbox's practice CSV, planned by the planner
(`bots.planner.plan_from_ledger` → `plan_to_sweep`) and worked by `bots.sweep.run_sweep`, which
records every answer in the ledger as it comes. The adapter is the shipped playbook in the Playwright
engine (`PlaybookPortalAdapter`, headless Chromium), with its `session.max_concurrent` raised to
`--sessions` (a copy of the loaded playbook; the YAML is untouched) and the payer's limits at
`max_sessions = --sessions`, `requests_per_minute` high enough never to wait, canary off.

The floor is what latency alone allows: claims × sequential round trips per claim × latency ÷ sessions.
A round trip is a navigation (each document the browser loads, redirects included) or a JSON fetch
through the signed-in context; both are counted as they happen, and the server's own request counter
is reported beside them. "claims s" is the sweep after the sessions are signed in; "total s" adds the
Playwright start, the browser launch and the sign-ins. Memory is sampled every 0.1 s over this
process's tree (Python, the Playwright driver, Chromium; the sandbox child excluded) from /proc.

The naive way is what a recorded RPA bot does: per claim a fresh browser context signs in, opens the
claim, signs out (the same engine: one single-use adapter per claim on a shared browser), `--sessions`
claims at a time. At ≈ 20× the floor it runs on a sample (`--naive-claims`), and is compared per claim.
Loopback only, bounded, stops by itself. Writes bench/results/sweep.md (and .json).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import platform
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playwright.async_api import Request, async_playwright
from pydantic import SecretStr

from bots.planner import plan_from_ledger
from bots.sweep import PayerLimits, plan_to_sweep, run_sweep, sweep_report
from claimbot.logs import configure_logging
from claimbot.settings import LogFormat
from claims.importing import import_claims_csv
from claims.ledger import Ledger, sweep_dedupe_key, upgrade
from claims.models import Patient
from claims.payer_config import load_payer_config, load_payers
from claims.status import ClaimStatus
from portal_adapters.browser import LAUNCH_ARGS, browser_env, find_chromium
from portal_adapters.contract import ClaimCheckFailed, ClaimOutcome, ClaimQuery, ClaimStatusResult
from portal_adapters.credentials import PortalAccount
from portal_adapters.engine import PlaybookPortalAdapter
from portal_adapters.evidence import EvidenceStore
from portal_adapters.playbook import load_playbook
from portal_adapters.playbook.schema import Playbook
from portal_adapters.retry import RetryPolicy
from sandbox.accounts import ACCOUNTS, PORTAL_PAYER, PORTALS, SERVER_ORDER, ServerName
from sandbox.codes import Outcome
from sandbox.dataset import CLAIMS_PER_PAYER, load_world
from sandbox.exports import claims_csv_text
from sandbox.models import SandboxClaim, SandboxWorld
from sandbox.servers import SandboxConfig, SandboxEndpoints, run_sandbox_in_subprocess
from sandbox.testing import SandboxAdmin

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"
#: Targets of issue 12: wall time against the floor, by how the playbook reads a claim, and memory.
TARGET_NO_RENDER = 1.2  # the signed-in context fetches JSON (or HTML) without rendering
TARGET_RENDER = 4.0  # every page renders
TARGET_RSS_MB = 1024
#: The truth each sandbox outcome must be read as (claims the payer never got: not_found).
EXPECTED: dict[Outcome, ClaimStatus] = {
    Outcome.PAID: ClaimStatus.PAID,
    Outcome.PARTIALLY_PAID: ClaimStatus.PARTIALLY_PAID,
    Outcome.DENIED: ClaimStatus.DENIED,
    Outcome.PENDING: ClaimStatus.PENDING,
    Outcome.INFO_REQUESTED: ClaimStatus.INFO_REQUESTED,
    Outcome.REJECTED: ClaimStatus.REJECTED,
}
SAMPLE_S = 0.1
PSS_EVERY = 5  # smaps_rollup costs more than status: PSS every 0.5 s


# --- memory and CPU of this process's tree, from /proc ------------------------------------------------


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(entry.name))
    return tree


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            return file.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _kind(pid: int, root: int) -> str:
    if pid == root:
        return "python"
    line = _cmdline(pid)
    if "chrom" in line:
        return "chromium"
    if "node" in line or "playwright" in line:
        return "driver"
    return "other"


def _status_kb(pid: int, key: str, path: str = "status") -> int:
    try:
        with open(f"/proc/{pid}/{path}", encoding="ascii", errors="replace") as file:
            for line in file:
                if line.startswith(key):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _cpu_s(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def _machine_busy_s() -> float:
    """CPU seconds the whole machine has been busy (all cores, all processes), from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(v) for v in stat.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Phase:
    cpu: dict[int, tuple[str, float]]
    machine_busy: float
    at: float


class TreeSampler:
    """Every 0.1 s: RSS summed over this process and its descendants (the sandbox child and its tree are
    left out), the peak since `mark()`, and each process's last-seen CPU time (exited ones still count)."""

    def __init__(self) -> None:
        self.root = os.getpid()
        self.excluded: set[int] = set()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.peak_kb = 0
        self.peak_by_kind: dict[str, int] = {}
        self.peak_pss_kb = 0
        self._samples = 0
        self.cpu: dict[int, tuple[str, float]] = {}
        self._thread = threading.Thread(target=self._run, name="tree-sampler", daemon=True)

    def exclude_sandbox(self) -> None:
        """The sandbox child is a descendant of this process: leave it (and what it started) out."""
        for pid in self.pids(include_excluded=True):
            if pid != self.root and "multiprocessing" in _cmdline(pid):
                self.excluded.add(pid)

    def pids(self, include_excluded: bool = False) -> list[int]:
        tree = _children()
        found, todo = [], [self.root]
        while todo:
            pid = todo.pop()
            if pid in self.excluded and not include_excluded:
                continue
            found.append(pid)
            todo += tree.get(pid, [])
        return found

    def sample(self) -> None:
        by_kind: Counter[str] = Counter()
        ours = self.pids()
        for pid in ours:
            kind = _kind(pid, self.root)
            by_kind[kind] += _status_kb(pid, "VmRSS:")
            self.cpu[pid] = (kind, _cpu_s(pid))
        for pid in set(self.pids(include_excluded=True)) - set(ours):  # the sandbox's CPU, apart
            self.cpu[pid] = ("sandbox", _cpu_s(pid))
        total = sum(by_kind.values())
        self._samples += 1
        pss = self.pss_kb() if self._samples % PSS_EVERY == 0 else 0
        with self._lock:
            if total > self.peak_kb:
                self.peak_kb = total
                self.peak_by_kind = dict(by_kind)
            self.peak_pss_kb = max(self.peak_pss_kb, pss)

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_S):
            self.sample()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def mark(self) -> float:
        """Reset the peaks; the wall clock, to measure a phase from."""
        self.sample()
        with self._lock:
            self.peak_kb = 0
            self.peak_by_kind = {}
            self.peak_pss_kb = 0
        return time.perf_counter()

    def phase(self) -> Phase:
        """Where a measured phase starts: CPU seen so far, the machine's busy CPU time, the clock."""
        self.sample()
        return Phase(dict(self.cpu), _machine_busy_s(), time.perf_counter())

    def cpu_since(self, start: Phase) -> dict[str, float]:
        """CPU seconds since `start` by process kind (python, driver, chromium; sandbox) and the machine's
        busy cores, ours and everyone else's (other processes on the machine compete for the 2 cores)."""
        self.sample()
        seconds = time.perf_counter() - start.at
        spent: dict[str, float] = {}
        for pid, (kind, used) in self.cpu.items():
            spent[kind] = spent.get(kind, 0.0) + used - start.cpu.get(pid, (kind, 0.0))[1]
        machine = _machine_busy_s() - start.machine_busy
        result = {kind: round(used, 1) for kind, used in sorted(spent.items())}
        result["machine_busy_cores"] = round(machine / seconds, 2)
        result["others_busy_cores"] = round(max(0.0, machine - sum(spent.values())) / seconds, 2)
        return result

    def pss_kb(self) -> int:
        """Proportional set size summed over the tree now: a page shared by n processes counts 1/n in each."""
        return sum(_status_kb(pid, "Pss:", "smaps_rollup") for pid in self.pids())


CLIENT_KINDS = ("python", "driver", "chromium", "other")


def client_cpu(cpu: dict[str, float]) -> float:
    return sum(cpu.get(kind, 0.0) for kind in CLIENT_KINDS)


def cpu_fields(cpu: dict[str, float], seconds: float) -> dict[str, Any]:
    return {
        "client_cpu_s": round(client_cpu(cpu), 1),
        "client_busy_cores": round(client_cpu(cpu) / seconds, 2),
        "client_cpu_by_process_s": {kind: cpu[kind] for kind in CLIENT_KINDS if kind in cpu},
        "sandbox_cpu_s": cpu.get("sandbox", 0.0),
        "machine_busy_cores": cpu["machine_busy_cores"],
        "others_busy_cores": cpu["others_busy_cores"],
    }


# --- the world, the ledger, the adapter -------------------------------------------------------------


def bench_world(claims: int) -> SandboxWorld:
    """The standard world when it is big enough, else a bigger one from the same seed."""
    return load_world() if claims <= CLAIMS_PER_PAYER else load_world(claims)


def payer_csv(world: SandboxWorld, payer: str, directory: Path) -> Path:
    """The practice's CSV export, this payer's claims only."""
    rows = list(csv.DictReader(io.StringIO(claims_csv_text(world))))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(row for row in rows if row["payer_id"] == payer)
    path = directory / f"{payer.lower()}.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def portal_account(portal: ServerName) -> PortalAccount:
    account = ACCOUNTS[portal][0]
    return PortalAccount(
        username=account.username,
        password=SecretStr(account.password),
        totp_secret=SecretStr(account.totp_secret) if account.totp_secret else None,
        security_answers={q: SecretStr(a) for q, a in account.security_answers.items()},
    )


def shipped_playbook(payer: str, sessions: int) -> Playbook:
    """The shipped playbook with `session.max_concurrent` raised for the bench (the YAML is not changed)."""
    playbook = load_playbook(REPO / "playbooks" / payer.lower() / "playbook.yaml")
    return playbook.model_copy(update={"session": playbook.session.model_copy(update={"max_concurrent": sessions})})


def expected(claim: SandboxClaim) -> ClaimStatus:
    return ClaimStatus.NOT_FOUND if claim.payer is None else EXPECTED[claim.payer.outcome]


def query_of(claim: SandboxClaim) -> ClaimQuery:
    p = claim.patient
    return ClaimQuery(
        claim_id=claim.claim_id,
        payer_id=claim.payer_id,
        patient=Patient(last_name=p.last_name, first_name=p.first_name, date_of_birth=p.dob, member_id=p.member_id),
        service_date_from=min(line.service_date_from for line in claim.lines),
        service_date_to=max(line.service_date_to for line in claim.lines),
        billed_amount=claim.billed_amount,
        rendering_npi=claim.rendering_npi,
    )


@dataclass
class RoundTrips:
    """What the browser contexts asked the portal, by kind, while counting is on."""

    by_type: Counter[str] = field(default_factory=Counter)
    fetches: int = 0
    on: bool = False

    def note(self, request: Request) -> None:
        if self.on:
            self.by_type[request.resource_type] += 1

    @property
    def sequential(self) -> int:
        """Navigations (documents, each redirect hop too), the page's own fetches, and fetch_json calls."""
        return self.by_type["document"] + self.by_type["fetch"] + self.by_type["xhr"] + self.fetches


def count_round_trips(adapter: PlaybookPortalAdapter, trips: RoundTrips) -> None:
    """Count every session's page requests and the engine's fetch_json calls (a bench-only wrapper)."""
    for session in adapter.sessions:
        session.context.on("request", trips.note)
    fetch: Callable[..., Awaitable[Any]] = adapter.steps._fetch_json

    async def counted(*args: Any, **kwargs: Any) -> Any:
        if trips.on:
            trips.fetches += 1
        return await fetch(*args, **kwargs)

    setattr(adapter.steps, "_fetch_json", counted)  # noqa: B010 - instance-level counter, bench only


def server_requests(endpoints: SandboxEndpoints, portal: ServerName) -> int:
    with SandboxAdmin(endpoints[portal]) as admin:
        return admin.counters().requests


def peak_sessions(endpoints: SandboxEndpoints, portal: ServerName) -> int:
    with SandboxAdmin(endpoints[portal]) as admin:
        return admin.counters().peak_sessions


def reset(endpoints: SandboxEndpoints, portal: ServerName) -> None:
    with SandboxAdmin(endpoints[portal]) as admin:
        admin.reset()


# --- the fast way: the sweep ------------------------------------------------------------------------


async def fast_way(
    endpoints: SandboxEndpoints,
    portal: ServerName,
    world: SandboxWorld,
    args: argparse.Namespace,
    sampler: TreeSampler,
    work: Path,
) -> dict[str, Any]:
    payer = PORTAL_PAYER[portal]
    await asyncio.to_thread(reset, endpoints, portal)
    url = f"sqlite:///{work / f'{portal.value}.sqlite3'}"
    upgrade(url)
    ledger = Ledger.connect(url)
    try:
        ledger.sync_payers(load_payers(REPO / "config" / "payers.yaml"))
        import_claims_csv(ledger, payer_csv(world, payer, work), actor="bench")
        rules = load_payer_config(REPO / "config" / "payers.yaml").rules()
        plan = plan_from_ledger(ledger, rules, datetime.now(UTC).date(), payer_id=payer, limit_per_payer=args.claims)
        sweep_id = plan_to_sweep(ledger, plan, {payer: "portal"}, trigger="bench")
        planned = len(ledger.sweep_items(sweep_id))
        limits = PayerLimits(
            requests_per_minute=1_000_000, max_sessions=args.sessions, circuit_breaker_failures=5, canary=False
        )
        adapter = PlaybookPortalAdapter(
            shipped_playbook(payer, args.sessions),
            [portal_account(portal)],
            EvidenceStore(work / "evidence"),
            base_url=endpoints[portal].base_url,
        )
        trips = RoundTrips()
        t0 = sampler.mark()
        try:
            await adapter.open()  # Playwright, Chromium, the first sign-in
            await adapter.pool.grow(args.sessions)  # the others: what the sweep's first batch would do
            signed_in = time.perf_counter()
            count_round_trips(adapter, trips)
            requests_before = await asyncio.to_thread(server_requests, endpoints, portal)
            measured = sampler.phase()
            t1 = measured.at
            trips.on = True
            outcomes = await run_sweep(ledger, sweep_id, {payer: adapter}, {payer: limits}, RetryPolicy())
            claims_s = time.perf_counter() - t1
            trips.on = False
            requests = await asyncio.to_thread(server_requests, endpoints, portal) - requests_before
            cpu = sampler.cpu_since(measured)
            sessions = len(adapter.sessions)
        finally:
            await adapter.close()
        total_s = (signed_in - t0) + claims_s
        peak_mb = sampler.peak_kb / 1024
        peak_by_kind = {k: round(v / 1024) for k, v in sorted(sampler.peak_by_kind.items())}
        truth = {c.claim_id: c for c in world.claims}
        correct = 0
        for item in ledger.sweep_items(sweep_id):
            ours = [
                c for c in ledger.history(item.claim_id) if c.dedupe_key == sweep_dedupe_key(sweep_id, item.claim_id)
            ]
            correct += len(ours) == 1 and ours[0].status is expected(truth[item.claim_id])
        report = sweep_report(ledger, sweep_id)[payer]
    finally:
        ledger.close()
    done = outcomes[payer].done
    sequential = trips.sequential / max(1, planned)
    floor = planned * sequential * args.latency_ms / 1000 / args.sessions
    renders = trips.fetches == 0
    target = TARGET_RENDER if renders else TARGET_NO_RENDER
    ratio = claims_s / floor if floor else float("nan")
    return {
        "portal": portal.value,
        "reads": "renders every page" if renders else "fetch_json through the signed-in context",
        "claims": planned,
        "answered": done,
        "failed": sum(report.failed.values()),
        "correct": correct,
        "sessions": sessions,
        "portal_peak_sessions": await asyncio.to_thread(peak_sessions, endpoints, portal),
        "round_trips_per_claim": round(sequential, 2),
        "round_trips_by_type": {**dict(trips.by_type), "fetch_json": trips.fetches},
        "server_requests_per_claim": round(requests / max(1, planned), 2),
        "floor_s": round(floor, 1),
        "claims_s": round(claims_s, 1),
        "ratio": round(ratio, 2),
        "sign_in_s": round(signed_in - t0, 1),
        "total_s": round(total_s, 1),
        "total_ratio": round(total_s / floor, 2) if floor else None,
        "claims_per_s": round(planned / claims_s, 1),
        **cpu_fields(cpu, claims_s),
        "peak_rss_mb": round(peak_mb),
        "peak_rss_by_process_mb": peak_by_kind,
        "peak_pss_mb": round(sampler.peak_pss_kb / 1024),
        "target_ratio": target,
        "met_ratio": ratio <= target,
        "met_memory": sampler.peak_pss_kb / 1024 < TARGET_RSS_MB,
    }


# --- the naive way: sign in, open the claim, sign out, per claim ----------------------------------


async def naive_way(
    endpoints: SandboxEndpoints,
    portal: ServerName,
    claims: list[SandboxClaim],
    args: argparse.Namespace,
    sampler: TreeSampler,
    work: Path,
    fast: dict[str, Any],
) -> dict[str, Any]:
    payer = PORTAL_PAYER[portal]
    await asyncio.to_thread(reset, endpoints, portal)
    playbook = shipped_playbook(payer, 1)
    evidence = EvidenceStore(work / "evidence-naive")
    account = portal_account(portal)
    queue = iter(claims)
    outcomes: list[tuple[SandboxClaim, ClaimOutcome]] = []
    latencies: list[float] = []
    t0 = sampler.mark()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=find_chromium(), args=list(LAUNCH_ARGS), env=dict[str, str | float | bool](browser_env())
        )
        measured = sampler.phase()
        launched = measured.at

        async def worker() -> None:
            for claim in queue:
                started = time.perf_counter()
                adapter = PlaybookPortalAdapter(
                    playbook, [account], evidence, base_url=endpoints[portal].base_url, browser=browser
                )
                try:
                    [outcome] = await adapter.check_claims([query_of(claim)])  # signs in first
                finally:
                    await adapter.close()  # signs out, closes the context
                outcomes.append((claim, outcome))
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(worker() for _ in range(args.sessions)))
        claims_s = time.perf_counter() - launched
        cpu = sampler.cpu_since(measured)
        await browser.close()
    total_s = (launched - t0) + claims_s
    count = len(claims)
    floor = count * fast["round_trips_per_claim"] * args.latency_ms / 1000 / args.sessions
    correct = sum(isinstance(o, ClaimStatusResult) and o.status is expected(c) for c, o in outcomes)
    per_claim = claims_s / count
    fast_per_claim = fast["claims_s"] / fast["claims"]
    return {
        "portal": portal.value,
        "claims": count,
        "failed": sum(isinstance(o, ClaimCheckFailed) for _, o in outcomes),
        "correct": correct,
        "floor_s": round(floor, 1),
        "claims_s": round(claims_s, 1),
        "ratio": round(claims_s / floor, 2),
        "total_s": round(total_s, 1),
        "claims_per_s": round(count / claims_s, 2),
        "seconds_per_claim_p50": round(statistics.median(latencies), 2),
        **cpu_fields(cpu, claims_s),
        "cpu_s_per_claim": round(client_cpu(cpu) / count, 2),
        "peak_rss_mb": round(sampler.peak_kb / 1024),
        "peak_pss_mb": round(sampler.peak_pss_kb / 1024),
        "portal_peak_sessions": await asyncio.to_thread(peak_sessions, endpoints, portal),
        "times_slower_per_claim": round(per_claim / fast_per_claim, 1),
    }


# --- the run ------------------------------------------------------------------------------------------


@contextmanager
def sandbox(args: argparse.Namespace, world_size: int | None) -> Iterator[SandboxEndpoints]:
    faults: dict[ServerName, dict[str, Any]] = {
        name: {"latency_ms": args.latency_ms, "rate_limit_requests": 0, "max_sessions_per_account": args.sessions}
        for name in SERVER_ORDER
        if name in PORTALS
    }
    with run_sandbox_in_subprocess(SandboxConfig(faults=faults, claims_per_payer=world_size)) as endpoints:
        yield endpoints


def save(report: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out / "sweep.md").write_text(markdown(report), encoding="utf-8")


async def run(args: argparse.Namespace, portals: list[ServerName], sampler: TreeSampler, work: Path) -> dict[str, Any]:
    """Every portal in turn; the report is saved after each (a run stopped early keeps what it measured)."""
    size = max(args.claims, args.naive_claims)
    world = bench_world(size)
    fast_rows: list[dict[str, Any]] = []
    naive_rows: list[dict[str, Any]] = []
    load_before = os.getloadavg()

    def report() -> dict[str, Any]:
        return {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.platform()} · {os.cpu_count()} CPUs · Python {platform.python_version()}",
            "chromium": find_chromium(),
            "quick": args.quick,
            "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
            "claims": args.claims,
            "latency_ms": args.latency_ms,
            "sessions": args.sessions,
            "naive_claims": args.naive_claims,
            "world_claims_per_payer": max(size, CLAIMS_PER_PAYER),
            "targets": {"render": TARGET_RENDER, "no_render": TARGET_NO_RENDER, "peak_rss_mb": TARGET_RSS_MB},
            "portals_asked": [p.value for p in portals],
            "fast": fast_rows,
            "naive": naive_rows,
        }

    with sandbox(args, None if size <= CLAIMS_PER_PAYER else size) as endpoints:
        sampler.exclude_sandbox()
        for portal in portals:
            row = await fast_way(endpoints, portal, world, args, sampler, work)
            fast_rows.append(row)
            print(
                f"{portal.value:<9} fast : {row['claims']} claims, {row['round_trips_per_claim']} round trips/claim, "
                f"floor {row['floor_s']} s, claims {row['claims_s']} s ({row['ratio']}x), total {row['total_s']} s, "
                f"{row['claims_per_s']} claims/s, peak RSS {row['peak_rss_mb']} MB, "
                f"correct {row['correct']}/{row['claims']}",
                flush=True,
            )
            if args.naive_claims:
                sample = [c for c in world.claims if c.payer_id == PORTAL_PAYER[portal]][: args.naive_claims]
                naive = await naive_way(endpoints, portal, sample, args, sampler, work, row)
                naive_rows.append(naive)
                print(
                    f"{portal.value:<9} naive: {naive['claims']} claims, floor {naive['floor_s']} s, "
                    f"claims {naive['claims_s']} s ({naive['ratio']}x), {naive['times_slower_per_claim']}x slower "
                    f"per claim than the sweep, correct {naive['correct']}/{naive['claims']}",
                    flush=True,
                )
            save(report(), args.out)
    return report()


def cpu_bound_s(row: dict[str, Any]) -> float:
    """The least wall time the CPU this sweep used (client and sandbox) allows on 2 cores nobody else uses."""
    return float(row["client_cpu_s"] + row["sandbox_cpu_s"]) / 2


SHARED_CORES = 0.3  # other processes using this much of the machine make it a shared run


def reading(row: dict[str, Any]) -> str:
    """One line per portal: the verdict, and what held it back when it missed."""
    floor, bound = row["floor_s"], cpu_bound_s(row)
    said = (
        f"{row['portal']}: {row['ratio']}× the floor (target ≤ {row['target_ratio']}×), peak PSS "
        f"{row['peak_pss_mb']} MB; {row['correct']} of {row['claims']} answers right, each recorded once."
    )
    if not row["met_memory"]:
        said += f" Memory over the {TARGET_RSS_MB} MB target."
    if row["met_ratio"]:
        return said
    said += (
        f" Missed: the sweep used {row['client_busy_cores']} cores of the machine's 2 while other processes used "
        f"{row['others_busy_cores']}; its CPU alone needs {bound:.0f} s on 2 free cores ({bound / floor:.2f}× the floor)"
    )
    if bound / floor <= row["target_ratio"] and row["others_busy_cores"] < SHARED_CORES:
        return said + (
            ": the CPU is not the limit and the machine was otherwise idle, so the time above the floor is "
            "per-claim overhead and waiting beyond the latency itself."
        )
    if bound / floor <= row["target_ratio"]:
        return said + (
            ": its own work fits the target on 2 free cores, so what this run measured is the shared machine's "
            "load (a lower bound, not a measurement: re-run on a quiet machine to confirm)."
        )
    return said + ": the CPU it spends per claim is what keeps it from the target, whatever else runs."


def yes(flag: bool) -> str:
    return "yes" if flag else "**no**"


def markdown(report: dict[str, Any]) -> str:
    latency, sessions = report["latency_ms"], report["sessions"]
    size = "a quick smoke run, not the measurement" if report["quick"] else f"{report['claims']:,} claims per portal"
    lines = [
        "# Sweep speed: the real sweep against the latency floor",
        "",
        f"Run {report['date']} on {report['machine']}; {report['chromium']}; {size}. Load average (1 min) "
        f"before / after: {report['load_average_before_after'][0]} / {report['load_average_before_after'][1]} "
        "(2 cores, shared with whatever else runs there).",
        *(
            [
                "",
                f"**Stopped early:** {len(report['fast'])} of the {len(report['portals_asked'])} portals asked "
                f"({', '.join(report['portals_asked'])}) were measured before the run was ended.",
            ]
            if len(report["fast"]) < len(report.get("portals_asked", report["fast"]))
            else []
        ),
        "",
        "    uv run python bench/sweep_bench.py --claims "
        f"{report['claims']} --latency-ms {latency} --sessions {sessions} --naive-claims {report['naive_claims']}",
        "",
        f"**Method.** The three sandbox portals run in a child process with {latency} ms added to every request "
        "(their own rate limit off, 4 sessions per account allowed). Each portal's claims are imported from the "
        f"sandbox's practice CSV (a {report['world_claims_per_payer']:,}-claims-per-payer world from the same seed) "
        "into a fresh SQLite ledger, planned by the planner and worked by `bots.sweep.run_sweep` with the shipped "
        f"playbook in the Playwright engine: one account, {sessions} signed-in sessions (`session.max_concurrent` "
        f"raised on a copy of the loaded playbook), payer limits `max_sessions={sessions}`, no request-rate wait, "
        "canary off. Every answer is recorded in the ledger as it comes and checked against the sandbox's truth.",
        "",
        f"**Floor** = claims × sequential round trips per claim × {latency / 1000:g} s ÷ {sessions} sessions: what "
        "latency alone allows. A round trip is a navigation (each document loaded, redirect hops included) or a JSON "
        "fetch through the signed-in context, counted as the engine makes them; the server's request count per "
        "claim (also scripts and styles) is shown beside it. **claims s** is the sweep after the sessions signed "
        "in; **total s** adds the Playwright start, the browser launch and the sign-ins. **Peak RSS** is summed "
        "over this process, the Playwright driver and Chromium (the sandbox child left out): **PSS**, sampled "
        "every 0.5 s, counts a page shared by n processes 1/n in each, so it adds up to the memory the tree "
        "really holds, and the memory target is judged on it; the **RSS sum**, sampled every 0.1 s, counts the "
        "shared pages (Chromium's binary and libraries, mapped by each of its processes) once per process and "
        "overstates. **Other processes' busy cores** is the CPU the rest of the machine used meanwhile "
        "(/proc/stat less this tree and the sandbox): the page-rendering portals are CPU-bound, so on a shared "
        "2-core machine their ratio moves with it. **CPU-bound s** is the CPU the sweep used (client and "
        "sandbox) ÷ 2 cores: the least wall time that work allows on this machine with nothing else on it.",
        "",
        "| portal | reads | claims | correct | round trips/claim (server requests) | floor s | claims s | ratio "
        "| total s | claims/s | client CPU s (busy cores) | CPU-bound s | other processes' busy cores "
        "| peak PSS MB (RSS sum) | target | met |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["fast"]:
        met = row["met_ratio"] and row["met_memory"]
        lines.append(
            f"| {row['portal']} | {row['reads']} | {row['claims']} | {row['correct']} | "
            f"{row['round_trips_per_claim']} ({row['server_requests_per_claim']}) | {row['floor_s']} | "
            f"{row['claims_s']} | **{row['ratio']}×** | {row['total_s']} ({row['total_ratio']}×) | "
            f"{row['claims_per_s']} | {row['client_cpu_s']:.0f} ({row['client_busy_cores']}) | "
            f"{cpu_bound_s(row):.0f} | {row['others_busy_cores']} | "
            f"{row['peak_pss_mb']} ({row['peak_rss_mb']}) | ≤ {row['target_ratio']}×, < {TARGET_RSS_MB} MB | "
            f"{yes(met)} |"
        )
    lines += ["", "Per portal, what the engine asked and where the CPU went:", ""]
    for row in report["fast"]:
        lines.append(
            f"- {row['portal']}: requests by kind {row['round_trips_by_type']}; sessions signed in "
            f"{row['sessions']} (portal's peak {row['portal_peak_sessions']}); client CPU s by process "
            f"{row['client_cpu_by_process_s']}, the sandbox's {row['sandbox_cpu_s']}; "
            f"peak RSS by process MB {row['peak_rss_by_process_mb']}; sign-in {row['sign_in_s']} s."
        )
    lines += ["", "Reading it:", ""]
    for row in report["fast"]:
        lines.append(f"- {reading(row)}")
    if report["naive"]:
        lines += [
            "",
            "## The naive way: sign in and open the claim, per claim",
            "",
            "What a recorded RPA bot does: for every claim a fresh browser context signs in (with its second "
            "factor), opens the claim the same way, and signs out; the same engine (one single-use adapter per "
            f"claim on one shared browser), {sessions} claims at a time. At ≈ 20× the floor a full run would take "
            f"a quarter of an hour per portal, so it runs on the first {report['naive_claims']} claims of each "
            "portal and is compared per claim. Its floor is the sweep's: the claim's own round trips, since "
            "signing in again is the waste being measured.",
            "",
            "| portal | claims | correct | floor s | claims s | ratio to floor | total s | claims/s "
            "| s per claim (p50) | client CPU s per claim | other processes' busy cores | peak PSS MB (RSS sum) "
            "| sweep is faster per claim |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in report["naive"]:
            lines.append(
                f"| {row['portal']} | {row['claims']} | {row['correct']} | {row['floor_s']} | {row['claims_s']} | "
                f"**{row['ratio']}×** | {row['total_s']} | {row['claims_per_s']} | {row['seconds_per_claim_p50']} | "
                f"{row['cpu_s_per_claim']} | {row['others_busy_cores']} | {row['peak_pss_mb']} ({row['peak_rss_mb']}) | "
                f"**{row['times_slower_per_claim']}×** |"
            )
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--claims", type=int, default=2000, help="claims per portal (default 2000)")
    parser.add_argument("--latency-ms", type=int, default=100, help="added to every request (default 100)")
    parser.add_argument("--sessions", type=int, default=4, help="signed-in sessions per portal (default 4)")
    parser.add_argument("--naive-claims", type=int, default=160, help="claims per portal the naive way (default 160)")
    parser.add_argument("--portals", default="sunrise,meridian,keystone", help="comma-separated (default all three)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 24 claims, 8 the naive way")
    parser.add_argument("--log-level", default="INFO", help="the sweep's log lines go to stderr (default INFO)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where sweep.md and sweep.json go")
    parser.add_argument("--markdown-from", type=Path, help="only write sweep.md again from this sweep.json")
    args = parser.parse_args(argv)
    if args.markdown_from is not None:
        report = json.loads(args.markdown_from.read_text(encoding="utf-8"))
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "sweep.md").write_text(markdown(report), encoding="utf-8")
        return
    if args.quick:
        args.claims, args.naive_claims = min(args.claims, 24), min(args.naive_claims, 8)
    portals = [ServerName(name.strip()) for name in args.portals.split(",") if name.strip()]
    configure_logging(LogFormat.JSON, args.log_level)  # as `claimbot` runs: every event redacted, to stderr
    sampler = TreeSampler()
    sampler.start()
    try:
        with tempfile.TemporaryDirectory(prefix="sweep-bench-") as work:
            report = asyncio.run(run(args, portals, sampler, Path(work)))
    finally:
        sampler.stop()
    save(report, args.out)
    print(f"wrote {args.out / 'sweep.md'}")


if __name__ == "__main__":
    main()
