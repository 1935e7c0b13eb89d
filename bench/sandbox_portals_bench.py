"""How many requests per second each sandbox portal serves, so it is never the sweep's bottleneck.

    uv run python bench/sandbox_portals_bench.py [--requests 3000] [--concurrency 16]

The servers run in a spawned child process (their own GIL) with no injected latency and the rate
limit off; this process signs in once per portal over plain HTTP and then drives a fixed mix of the
pages a bot reads — search, claim detail, eligibility — through one keep-alive httpx client with N
requests in flight. Every answer must be a 200. Loopback only, bounded, stops by itself. Writes
bench/results/sandbox_portals.md (and .json).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from sandbox.accounts import PORTAL_PAYER, PORTALS, SERVER_ORDER, ServerName
from sandbox.dataset import load_world
from sandbox.payer_book import PayerBook
from sandbox.servers import HTTP_PROTOCOL, SandboxConfig, run_sandbox_in_subprocess
from sandbox.testing import sign_in_over_http

RESULTS = Path(__file__).parent / "results"
TARGET_RPS = 300


def page_mix(portal: ServerName, count: int) -> list[str]:
    """A repeatable round-robin of search, detail and eligibility pages over the portal's claims."""
    world = load_world()
    book = PayerBook(world, PORTAL_PAYER[portal])
    paths = []
    for claim in book.claims:
        key, member, dob = book.key_of(claim), claim.patient.member_id, claim.patient.dob
        if portal == ServerName.SUNRISE:
            paths += [
                f"/claims?claim_number={claim.claim_id}",
                f"/claims/{key}",
                f"/eligibility?member_id={member}&dob={dob.isoformat()}",
            ]
        elif portal == ServerName.MERIDIAN:
            paths += [
                f"/api/claims?q={claim.claim_id}",
                f"/api/claims/{key}",
                f"/api/eligibility?member_id={member}&dob={dob.isoformat()}",
            ]
        else:
            paths += [
                f"/claim_inquiry?PATACCT={claim.claim_id}",
                f"/claim_detail?KEY={key}",
                f"/eligibility_inquiry?MBRID={member}&DOB={dob:%m/%d/%Y}",
            ]
    return [paths[i % len(paths)] for i in range(count)]


async def drive(
    base_url: str, cookies: httpx.Cookies, headers: httpx.Headers, paths: list[str], concurrency: int
) -> tuple[float, float, list[float]]:
    """Send every path with `concurrency` requests in flight; (seconds, client CPU seconds, latencies)."""
    latencies: list[float] = []
    queue = iter(paths)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base_url, cookies=cookies, headers=headers, limits=limits, timeout=30
    ) as client:

        async def worker() -> None:
            for path in queue:
                started = time.perf_counter()
                response = await client.get(path)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise RuntimeError(f"{base_url}{path} answered {response.status_code}")

        for path in paths[:50]:  # warm-up: connections, caches, first-call costs
            (await client.get(path)).raise_for_status()
        started, cpu_started = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, time.process_time() - cpu_started, latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per portal (default 3000)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    args = parser.parse_args()
    config = SandboxConfig(faults={name: {"rate_limit_requests": 0} for name in SERVER_ORDER})
    rows: list[dict[str, Any]] = []
    with run_sandbox_in_subprocess(config) as endpoints:
        for portal in PORTALS:
            with httpx.Client(base_url=endpoints.url(portal), timeout=10) as session:
                sign_in_over_http(session, portal)
                cookies, headers = session.cookies, session.headers
            seconds, client_cpu, latencies = asyncio.run(
                drive(endpoints.url(portal), cookies, headers, page_mix(portal, args.requests), args.concurrency)
            )
            rows.append(
                {
                    "portal": portal.value,
                    "requests": len(latencies),
                    "seconds": round(seconds, 3),
                    "requests_per_second": round(len(latencies) / seconds, 1),
                    "p50_ms": round(statistics.median(latencies) * 1000, 2),
                    "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
                    "client_cpu_percent": round(100 * client_cpu / seconds),
                }
            )
            print(
                f"{portal.value:<9} {rows[-1]['requests_per_second']:>8} req/s  "
                f"p50 {rows[-1]['p50_ms']} ms  p99 {rows[-1]['p99_ms']} ms"
            )
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.platform()} · {os.cpu_count()} CPUs · Python {platform.python_version()}",
        "http_parser": HTTP_PROTOCOL,
        "concurrency": args.concurrency,
        "target_requests_per_second": TARGET_RPS,
        "portals": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "sandbox_portals.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (RESULTS / "sandbox_portals.md").write_text(markdown(report), encoding="utf-8")
    slow = [row["portal"] for row in rows if row["requests_per_second"] < TARGET_RPS]
    if slow:
        raise SystemExit(f"below {TARGET_RPS} requests/s: {', '.join(slow)}")


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Sandbox portals: requests per second",
        "",
        f"Run {report['date']} on {report['machine']}; uvicorn with the {report['http_parser']} HTTP parser, "
        f"servers in a child process, {report['concurrency']} requests in flight from one httpx client in "
        "another process, no injected latency, rate limit off, one signed-in session per portal. "
        "The mix is search, claim detail and eligibility pages in equal parts; every answer was a 200. "
        "Client and servers share the machine's cores, so these are floors for the servers alone: "
        "a load client near 100% CPU is the limit, not the portal.",
        "",
        "| portal | requests | seconds | requests/s | p50 ms | p99 ms | load client CPU |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in report["portals"]:
        lines.append(
            f"| {row['portal']} | {row['requests']} | {row['seconds']} | {row['requests_per_second']} | "
            f"{row['p50_ms']} | {row['p99_ms']} | {row['client_cpu_percent']}% |"
        )
    lines += ["", f"Target: at least {report['target_requests_per_second']} requests/s per portal.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
