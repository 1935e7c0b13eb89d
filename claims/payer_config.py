"""The team's payer list (config/payers.yaml), validated; errors name the file and the key path.

Besides each payer's identity and route, the file says how the overnight sweeps treat it: a
top-level `sweep_defaults:` block, and an optional `sweep:` block per payer that overrides it.
`sweep_rules(entry, defaults)` resolves the two into the `SweepRules` the planner and executor read.
Likewise the windows a payer gives for a corrected claim and an appeal: `deadline_defaults:` by payer
kind, a payer's own `deadlines:` over them, resolved into `DeadlineRules` (claims.deadlines reads them).
Unknown keys are errors, like everywhere else in the file, and every error names the file, the line
and the key path.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from claims.models import Payer, PayerKind
from claims.status import FINAL_STATUSES, ClaimStatus
from claims.validation import plain_problems
from claims.yaml_source import YamlSourceError, line_of, read_yaml

_T = TypeVar("_T")


class PayerConfigError(ValueError):
    pass


class PayerRoute(StrEnum):
    """How Claimbot asks this payer about claims."""

    PORTAL = "portal"
    API = "api"
    API_THEN_PORTAL = "api_then_portal"  # the portal when the API says not found or too little


Days = Annotated[int, Field(ge=1, le=365)]

#: How long after the last answer a claim in each status is asked again (days): the shipped defaults.
DEFAULT_RECHECK_DAYS: dict[ClaimStatus, int] = {
    ClaimStatus.SUBMITTED: 7,
    ClaimStatus.ACKNOWLEDGED: 7,
    ClaimStatus.PENDING: 5,
    ClaimStatus.INFO_REQUESTED: 2,
    ClaimStatus.REJECTED: 7,
    ClaimStatus.NOT_FOUND: 3,
    ClaimStatus.UNAVAILABLE: 1,  # the last attempt failed: try again the next night
    ClaimStatus.UNKNOWN: 1,
}
#: Days after submission before the first check, by payer kind (Medicare answers slowly).
DEFAULT_FIRST_CHECK_DAYS: dict[PayerKind, int] = {
    PayerKind.MEDICARE: 14,
    PayerKind.MEDICAID: 14,
    PayerKind.COMMERCIAL: 7,
}


def _no_final_statuses(value: dict[ClaimStatus, int]) -> dict[ClaimStatus, int]:
    final = sorted(s.value for s in value if s in FINAL_STATUSES)
    if final:
        raise ValueError(f"final statuses are never re-checked: {', '.join(final)}")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PayerSweep(_Strict):
    """A payer's own sweep settings (`sweep:` under the payer); each overrides sweep_defaults."""

    first_check_after_days: Annotated[int, Field(ge=0, le=365)] | None = None
    recheck_days: dict[ClaimStatus, Days] = Field(default_factory=dict)
    requests_per_minute: Annotated[int, Field(ge=1, le=6000)] | None = None
    max_sessions: Annotated[int, Field(ge=1, le=50)] | None = None
    canary_claim: str | None = Field(default=None, min_length=1, max_length=38, pattern=r"^[A-Za-z0-9._\-]+$")

    _final = field_validator("recheck_days")(_no_final_statuses)


class SweepDefaults(_Strict):
    """`sweep_defaults:` at the top of payers.yaml: how sweeps treat every payer unless it says otherwise."""

    first_check_after_days: dict[PayerKind, Annotated[int, Field(ge=0, le=365)]] = Field(
        default_factory=lambda: dict(DEFAULT_FIRST_CHECK_DAYS)
    )
    recheck_days: dict[ClaimStatus, Days] = Field(default_factory=lambda: dict(DEFAULT_RECHECK_DAYS))
    requests_per_minute: Annotated[int, Field(ge=1, le=6000)] = 60
    max_sessions: Annotated[int, Field(ge=1, le=50)] = 2
    timely_filing_warning_days: Annotated[int, Field(ge=0, le=365)] = 30
    learn_min_samples: Annotated[int, Field(ge=1, le=100_000)] = 20
    circuit_breaker_failures: Annotated[int, Field(ge=1, le=1000)] = 5
    canary: bool = True

    _final = field_validator("recheck_days")(_no_final_statuses)


class WindowStart(StrEnum):
    """What a corrected-claim window is counted from."""

    SERVICE_DATE = "service_date"  # the claim's first date of service (Medicare: adjustments within 12 months)
    REMITTANCE = "remittance"  # the payer's denial: the remittance date (see claims.deadlines)


WindowDays = Annotated[int, Field(ge=1, le=730)]


class DeadlineWindows(_Strict):
    """How long a payer gives to fix a denied claim. Every key is optional: unset keys come from the
    next layer (a payer's `deadlines:` < `deadline_defaults:` for its kind < DEFAULT_DEADLINES)."""

    corrected_claim_days: WindowDays | None = None
    corrected_claim_from: WindowStart | None = None
    appeal_days: WindowDays | None = None  # always counted from the remittance date


@dataclass(frozen=True)
class DeadlineRule:
    """One payer's deadlines, resolved: timely filing from the date of service, the rest as configured."""

    payer_id: str
    kind: PayerKind
    timely_filing_days: int
    corrected_claim_days: int
    corrected_claim_from: WindowStart
    appeal_days: int


#: The shipped windows by payer kind (../shared/research/domain-and-anchors.md, "Deadlines"):
#: Medicare adjustment claims fall under the 12-month filing limit from the date of service, and a
#: redetermination is due 120 days from the remittance; commercial payers commonly take corrected
#: claims for 180 days and appeals for 180 days; Medicaid varies by state (Medi-Cal: replacements
#: within 6 months of the denial), so its appeal default is the cautious 90 days.
DEFAULT_DEADLINES: dict[PayerKind, DeadlineRule] = {
    kind: DeadlineRule("", kind, 0, corrected, start, appeal)
    for kind, corrected, start, appeal in (
        (PayerKind.MEDICARE, 365, WindowStart.SERVICE_DATE, 120),
        (PayerKind.MEDICAID, 180, WindowStart.REMITTANCE, 90),
        (PayerKind.COMMERCIAL, 180, WindowStart.REMITTANCE, 180),
    )
}


def _first(*layers: _T | None, shipped: _T) -> _T:
    return next((value for value in layers if value is not None), shipped)


def deadline_rule(payer: Payer, own: DeadlineWindows, defaults: dict[PayerKind, DeadlineWindows]) -> DeadlineRule:
    """A payer's own `deadlines:` over `deadline_defaults:` for its kind over the shipped windows, key by key."""
    by_kind = defaults.get(payer.kind, DeadlineWindows())
    shipped = DEFAULT_DEADLINES[payer.kind]
    return DeadlineRule(
        payer_id=payer.id,
        kind=payer.kind,
        timely_filing_days=payer.timely_filing_days,
        corrected_claim_days=_first(
            own.corrected_claim_days, by_kind.corrected_claim_days, shipped=shipped.corrected_claim_days
        ),
        corrected_claim_from=_first(
            own.corrected_claim_from, by_kind.corrected_claim_from, shipped=shipped.corrected_claim_from
        ),
        appeal_days=_first(own.appeal_days, by_kind.appeal_days, shipped=shipped.appeal_days),
    )


@dataclass(frozen=True)
class DeadlineRules:
    """Every payer's deadlines. Without payers.yaml, the ledger's payers with the shipped windows."""

    by_payer: dict[str, DeadlineRule]

    @classmethod
    def shipped(cls, payers: list[Payer]) -> DeadlineRules:
        return cls({payer.id: deadline_rule(payer, DeadlineWindows(), {}) for payer in payers})

    def for_payer(self, payer_id: str) -> DeadlineRule | None:
        return self.by_payer.get(payer_id)


class PayerEntry(Payer):
    """A payer as the team configures it: the ledger's fields plus how to reach it."""

    route: PayerRoute = PayerRoute.PORTAL
    clearinghouse_payer_id: str | None = Field(default=None, description="the payer id at the clearinghouse")
    sweep: PayerSweep = Field(default_factory=PayerSweep)
    deadlines: DeadlineWindows = Field(default_factory=DeadlineWindows)

    def ledger_payer(self) -> Payer:
        return Payer.model_validate(self.model_dump(include=set(Payer.model_fields)))


@dataclass(frozen=True)
class SweepRules:
    """One payer's sweep rules, resolved: its own `sweep:` over `sweep_defaults:`."""

    payer_id: str
    kind: PayerKind
    route: PayerRoute
    timely_filing_days: int
    first_check_after_days: int
    recheck_days: dict[ClaimStatus, int]
    requests_per_minute: int
    max_sessions: int
    timely_filing_warning_days: int
    learn_min_samples: int
    circuit_breaker_failures: int
    canary: bool
    canary_claim: str | None


def sweep_rules(entry: PayerEntry, defaults: SweepDefaults) -> SweepRules:
    own = entry.sweep
    return SweepRules(
        payer_id=entry.id,
        kind=entry.kind,
        route=entry.route,
        timely_filing_days=entry.timely_filing_days,
        first_check_after_days=(
            own.first_check_after_days
            if own.first_check_after_days is not None
            else defaults.first_check_after_days.get(entry.kind, DEFAULT_FIRST_CHECK_DAYS[entry.kind])
        ),
        recheck_days={**DEFAULT_RECHECK_DAYS, **defaults.recheck_days, **own.recheck_days},
        requests_per_minute=own.requests_per_minute or defaults.requests_per_minute,
        max_sessions=own.max_sessions or defaults.max_sessions,
        timely_filing_warning_days=defaults.timely_filing_warning_days,
        learn_min_samples=defaults.learn_min_samples,
        circuit_breaker_failures=defaults.circuit_breaker_failures,
        canary=defaults.canary,
        canary_claim=own.canary_claim,
    )


class PayerConfig(BaseModel):
    """The whole payers.yaml."""

    model_config = ConfigDict(extra="forbid")
    payers: list[PayerEntry]
    sweep_defaults: SweepDefaults = Field(default_factory=SweepDefaults)
    deadline_defaults: dict[PayerKind, DeadlineWindows] = Field(default_factory=dict)

    def rules(self) -> dict[str, SweepRules]:
        return {entry.id: sweep_rules(entry, self.sweep_defaults) for entry in self.payers}

    def deadline_rules(self) -> DeadlineRules:
        return DeadlineRules(
            {entry.id: deadline_rule(entry, entry.deadlines, self.deadline_defaults) for entry in self.payers}
        )


def load_payers(path: Path) -> list[Payer]:
    return [entry.ledger_payer() for entry in load_payer_entries(path)]


def load_payer_entries(path: Path) -> list[PayerEntry]:
    return load_payer_config(path).payers


def load_payer_config(path: Path) -> PayerConfig:
    try:
        raw, node = read_yaml(path, "payer list")
    except YamlSourceError as err:
        raise PayerConfigError(str(err)) from err
    try:
        parsed = PayerConfig.model_validate(raw)
    except ValidationError as err:
        first = plain_problems(err)[0]
        raise PayerConfigError(f"{path}: line {line_of(node, first.loc)}: key '{first.key}': {first.message}") from err
    ids = [p.id for p in parsed.payers]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        where = f"line {line_of(node, ('payers',))}: key 'payers'"
        raise PayerConfigError(f"{path}: {where}: payer id(s) listed twice: {', '.join(duplicated)}")
    return parsed
