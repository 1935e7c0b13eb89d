"""Starting the sandbox: start-up faults from the command line, the printed credentials, a child process."""

from __future__ import annotations

import httpx
import pytest
import typer

from sandbox.accounts import CLEARINGHOUSE_API_KEY, ServerName, demo_account
from sandbox.cli import describe, start_faults
from sandbox.faults import parse_fault_assignments
from sandbox.servers import SandboxConfig, SandboxEndpoints, run_sandbox_in_subprocess


def test_fault_options_become_per_server_start_faults() -> None:
    faults = start_faults(
        [
            "sunrise:latency_ms=200,jitter_ms=50",
            "all:rate_limit_requests=0",
            "clearinghouse:payers_down=SUNRISE|KEYSTONE",
        ],
        latency_ms=10,
    )
    assert faults[ServerName.SUNRISE] == {"latency_ms": "200", "jitter_ms": "50", "rate_limit_requests": "0"}
    assert faults[ServerName.KEYSTONE] == {"latency_ms": 10, "rate_limit_requests": "0"}
    assert faults[ServerName.CLEARINGHOUSE]["payers_down"] == ["SUNRISE", "KEYSTONE"]
    with pytest.raises(typer.BadParameter):
        start_faults(["sunrise-latency"], latency_ms=None)
    with pytest.raises(ValueError, match="key=value"):
        parse_fault_assignments("latency_ms")


def test_serve_prints_every_url_and_the_demo_credentials(sandbox: SandboxEndpoints) -> None:
    text = describe(sandbox)
    for name in ServerName:
        assert sandbox[name].admin_url in text
    assert demo_account(ServerName.SUNRISE).password in text
    assert "biscuit" in text  # a KEYSTONE security answer
    assert CLEARINGHOUSE_API_KEY in text


def test_the_sandbox_runs_in_a_child_process_with_start_faults() -> None:
    config = SandboxConfig(faults={ServerName.KEYSTONE: {"maintenance": True, "layout_version": 2}})
    with run_sandbox_in_subprocess(config) as endpoints:
        assert httpx.get(endpoints.url(ServerName.KEYSTONE, "/signon")).status_code == 503
        assert httpx.get(endpoints.url(ServerName.SUNRISE, "/login")).status_code == 200
        faults = httpx.get(endpoints[ServerName.KEYSTONE].admin_url + "/faults").json()
        assert faults["layout_version"] == 2
