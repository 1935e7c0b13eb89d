"""Fault and behaviour settings of one sandbox server, settable at start and at runtime.

One model holds both the faults (latency, errors, maintenance, one-shot session kills, layout v2)
and the portal behaviour a test may want to tighten (rate limit, idle timeout, session and lockout
limits), because tests and the CLI set them the same way: `--fault sunrise:latency_ms=200,jitter_ms=50`
at start, or `POST /__admin/faults {"latency_ms": 200}` at runtime.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sandbox.models import PayerId


class FaultSpec(BaseModel):
    """Faults and limits of a portal (the clearinghouse uses `ClearinghouseFaults`)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    latency_ms: int = Field(0, ge=0, description="added to every non-admin request")
    jitter_ms: int = Field(0, ge=0, description="plus a uniform random 0..jitter_ms")
    error_rate: float = Field(0.0, ge=0.0, le=1.0, description="share of requests answered with error_status")
    error_status: Literal[500, 503] = 503
    seed: int = Field(4242, description="seeds the error and jitter draws, so a run is repeatable")
    maintenance: bool = Field(False, description="every page is the maintenance page (503)")
    kill_sessions: bool = Field(False, description="one-shot: end every live session now")
    mfa_again: bool = Field(False, description="one-shot: each live session must pass MFA again")
    layout_version: Literal[1, 2] = Field(1, description="2 renames ids/classes and moves elements")
    rate_limit_requests: int = Field(600, ge=0, description="per account and window; 0 turns it off")
    rate_limit_window_s: float = Field(10.0, gt=0)
    idle_timeout_s: float = Field(900.0, gt=0, description="a session unused this long is ended")
    max_sessions_per_account: int = Field(4, ge=1, description="a further log-in is refused")
    lockout_after_failures: int = Field(5, ge=1, description="wrong passwords in a row that lock the account")
    correction_delay_s: float = Field(
        0.0, ge=0, description="how long a correction received here stays P1 (in process) before it is finalized"
    )


class ClearinghouseFaults(FaultSpec):
    """The clearinghouse's settings: a portal's, plus payers that are 'down' and the batch delay."""

    payers_down: list[PayerId] = Field(default_factory=list, description="answer E1 / AAA*42 for these")
    batch_delay_s: float = Field(0.0, ge=0, description="how long until a batch's 277CA and 835 appear")


#: Fields that act once when set and then read false again.
ONE_SHOT_FIELDS = ("kill_sessions", "mfa_again")


def parse_fault_assignments(text: str) -> dict[str, object]:
    """Parse `key=value,key=value` from the command line; pydantic converts the strings.

    A list field takes `|`-separated values: `payers_down=SUNRISE|KEYSTONE`.
    """
    assignments: dict[str, object] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"expected key=value, got {part!r}")
        key, value = key.strip(), value.strip()
        assignments[key] = [v for v in value.split("|") if v] if key == "payers_down" else value
    return assignments
