"""`claimbot sandbox serve`: run the portals and the clearinghouse until Ctrl-C.

    claimbot sandbox serve --port-base 8600 --fault sunrise:latency_ms=300,jitter_ms=100 \\
        --fault clearinghouse:payers_down=KEYSTONE --latency-ms 50

`--fault NAME:SPEC` sets start-up faults of one server (`all` for every server); SPEC is
`key=value,...` with the fields of `FaultSpec` (see sandbox/README.md). The same faults can be
changed while running with `POST <server>/__admin/faults`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sandbox.accounts import ACCOUNTS, CLEARINGHOUSE_API_KEY, PORTALS, SERVER_ORDER, ServerName

if TYPE_CHECKING:  # the servers (Starlette, uvicorn) are imported only when `serve` runs
    from sandbox.servers import SandboxEndpoints

app = typer.Typer(no_args_is_help=True)


@app.callback()
def sandbox() -> None:
    """Local payer portals and clearinghouse for tests, demos and benchmarks (synthetic data only)."""


def start_faults(fault_options: list[str], latency_ms: int | None) -> dict[ServerName, dict[str, Any]]:
    """Turn `--fault NAME:SPEC` options (and `--latency-ms`) into per-server partial fault specs."""
    from sandbox.faults import parse_fault_assignments

    faults: dict[ServerName, dict[str, Any]] = {name: {} for name in SERVER_ORDER}
    if latency_ms is not None:
        for patch in faults.values():
            patch["latency_ms"] = latency_ms
    for option in fault_options:
        target, sep, spec = option.partition(":")
        if not sep:
            raise typer.BadParameter(f"expected NAME:SPEC, got {option!r}", param_hint="--fault")
        names = list(SERVER_ORDER) if target == "all" else [ServerName(target)]
        try:
            assignments = parse_fault_assignments(spec)
        except ValueError as err:
            raise typer.BadParameter(str(err), param_hint="--fault") from err
        for name in names:
            faults[name].update(assignments)
    return faults


def describe(endpoints: SandboxEndpoints) -> str:
    """What `serve` prints: where each server is, and how to sign in."""
    import pyotp

    lines = ["Claimbot sandbox (synthetic data only)", ""]
    for name in SERVER_ORDER:
        endpoint = endpoints[name]
        lines.append(f"  {name.value:<14} {endpoint.base_url:<28} admin: {endpoint.admin_url}")
    lines.append("")
    for portal in PORTALS:
        for number, account in enumerate(ACCOUNTS[portal], start=1):
            role = "demo" if number == 1 else "second"
            second_factor = (
                f"TOTP secret {account.totp_secret} (code now: {pyotp.TOTP(account.totp_secret).now()})"
                if account.totp_secret
                else "security question: " + "; ".join(f"{q} -> {a}" for q, a in account.security_answers.items())
            )
            lines.append(f"  {portal.value:<9} {role:<6} {account.username} / {account.password}  {second_factor}")
    lines.append(f"  clearinghouse  X-API-Key: {CLEARINGHOUSE_API_KEY}")
    return "\n".join(lines)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port_base: Annotated[
        int | None, typer.Option(help="sunrise, meridian, keystone, clearinghouse listen on BASE..BASE+3")
    ] = None,
    fault: Annotated[
        list[str] | None, typer.Option(help="NAME:key=value,... start-up faults; NAME is a server or 'all'")
    ] = None,
    latency_ms: Annotated[int | None, typer.Option(help="latency added to every request of every server")] = None,
) -> None:
    """Run the three payer portals and the clearinghouse until Ctrl-C."""
    from sandbox.servers import SandboxConfig, run_sandbox

    config = SandboxConfig(host=host, port_base=port_base, faults=start_faults(fault or [], latency_ms))
    with run_sandbox(config) as endpoints:
        typer.echo(describe(endpoints))
        typer.echo("\nPress Ctrl-C to stop.")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            typer.echo("stopping")
