"""The denial playbook (`playbooks/denials.yaml`): from a denial's codes to what to do, in plain words.

A rule names a CARC and, optionally, the group (CO, PR, OA, PI), a remark code (RARC) and a payer. For a
denial the most specific matching rule wins: a payer's own rule before a general one, then a rule naming
one of the denial's remark codes, then one naming its group, then the CARC alone. A code no rule knows
falls back to its official text (claims.codesets) and the category `review`, so nothing is ever left
without a next step. Each recommendation quotes the codes it was derived from and names the rule.

The file is validated when loaded, like a portal playbook: unknown keys, wrong values and two rules for
the same codes are errors that name the file, the line and the key path (`claimbot playbook validate`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError

from claims.codesets import CodeSets
from claims.models import AdjustmentGroup, Denial, RemarkCode
from claims.status import NOT_DENIALS
from claims.validation import plain_problems
from claims.yaml_source import YamlSourceError, line_of, read_yaml

DENIALS_FILE = "denials.yaml"
NEXT_STEP_MAX = 400


class DenialPlaybookError(ValueError):
    """The denial playbook cannot be used. Each line of the message is `file: line N: key a.b.c: what`."""


class DenialCategory(StrEnum):
    MISSING_INFORMATION = "missing_information"
    CODING = "coding"  # codes and modifiers
    ELIGIBILITY = "eligibility"  # eligibility and coverage
    AUTHORIZATION = "authorization"
    DUPLICATE = "duplicate"
    TIMELY_FILING = "timely_filing"
    MEDICAL_NECESSITY = "medical_necessity"
    BUNDLING = "bundling"
    PATIENT_RESPONSIBILITY = "patient_responsibility"
    CONTRACTUAL = "contractual"
    REVIEW = "review"  # no rule for the code: a person reads it


class AboveAmount(BaseModel):
    """Escalate when the denied amount is above this."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    above_amount: Annotated[Decimal, Field(gt=0, decimal_places=2)]


def _written_as(value: object) -> str:
    """Which form of a two-form key was written, so a mistake is reported against that form only."""
    return "word" if isinstance(value, str) else "value"


#: Union tags of the two-form keys: dropped from key paths in error messages.
_FORMS = frozenset({"word", "value"})
#: `never`, `always`, or `{above_amount: N}`.
Escalate = Annotated[
    Annotated[Literal["never", "always"], Tag("word")] | Annotated[AboveAmount, Tag("value")],
    Discriminator(_written_as),
]
#: `payer`: the payer's appeal window from payers.yaml; a number: days from the remittance.
AppealDays = Annotated[
    Annotated[Literal["payer"], Tag("word")] | Annotated[int, Field(ge=1, le=730), Tag("value")],
    Discriminator(_written_as),
]
NextStep = Annotated[str, Field(min_length=1, max_length=NEXT_STEP_MAX)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, coerce_numbers_to_str=True)


class DenialRule(_Strict):
    payer: Annotated[str, Field(pattern=r"^[A-Z0-9_]{2,20}$")] | None = None
    group: AdjustmentGroup | None = None
    carc: Annotated[str, Field(pattern=r"^[A-Z0-9]{1,5}$")]
    rarc: RemarkCode | None = None
    category: DenialCategory
    next_step: NextStep
    correctable: bool
    appeal_days: AppealDays | None = None
    escalate: Escalate | None = None

    @property
    def key(self) -> tuple[str | None, str | None, str, str | None]:
        return (self.payer, self.group.value if self.group else None, self.carc, self.rarc)

    @property
    def label(self) -> str:
        """How a recommendation names its rule: `CO-16`, `CO-16 N290`, `KEYSTONE CO-29`, `253`."""
        code = f"{self.group.value}-{self.carc}" if self.group else self.carc
        return " ".join(part for part in (self.payer, code, self.rarc) if part)


class RuleDefaults(_Strict):
    appeal_days: AppealDays = "payer"
    escalate: Escalate = "never"


class Fallback(_Strict):
    next_step: NextStep
    appeal_days: AppealDays = "payer"
    escalate: Escalate = "never"


class DenialPlaybookFile(_Strict):
    """The whole denials.yaml."""

    defaults: RuleDefaults = Field(default_factory=RuleDefaults)
    fallback: Fallback
    rules: list[DenialRule] = Field(min_length=1)


class Recommendation(BaseModel):
    """What to do about one denial, and why: the codes it comes from and the rule that matched."""

    model_config = ConfigDict(frozen=True)

    category: DenialCategory
    next_step: str
    correctable: bool  # a corrected claim (frequency 7) can fix it
    appeal_window_days: int | None  # None: the payer's appeal window (claims.deadlines)
    escalate: bool
    escalation_reason: str | None
    codes: tuple[str, ...]  # e.g. ("CO-16", "N290")
    official_text: str
    rule: str  # the rule that matched, e.g. "CO-16 N290", or "fallback"


def _denial_tier(denial: Denial) -> int:
    """Which denial of a claim to act on first: work (0) before the patient's share (1) before write-offs (2)."""
    if denial.needs_work:
        return 0
    return 2 if (denial.group.value, denial.carc) in NOT_DENIALS else 1


class DenialPlaybook:
    """The rules of denials.yaml, indexed by their codes."""

    def __init__(self, source: DenialPlaybookFile, codes: CodeSets | None = None) -> None:
        self.source = source
        self.codes = codes or CodeSets()
        self._rules = {rule.key: rule for rule in source.rules}

    @property
    def rules(self) -> list[DenialRule]:
        return list(self.source.rules)

    def rule_for(self, denial: Denial, payer_id: str) -> DenialRule | None:
        """The most specific rule: payer, then remark code, then group, then the CARC alone."""
        for payer in (payer_id, None):
            for rarc in (*denial.rarcs, None):
                for group in (denial.group.value, None):
                    found = self._rules.get((payer, group, denial.carc, rarc))
                    if found is not None:
                        return found
        return None

    def recommend(self, denial: Denial, payer_id: str) -> Recommendation:
        rule = self.rule_for(denial, payer_id)
        defaults = self.source.defaults
        if rule is None:
            fallback = self.source.fallback
            category, next_step, correctable = DenialCategory.REVIEW, fallback.next_step, False
            appeal, escalate, label = fallback.appeal_days, fallback.escalate, "fallback"
        else:
            category, next_step, correctable = rule.category, rule.next_step, rule.correctable
            appeal = rule.appeal_days or defaults.appeal_days
            escalate, label = rule.escalate or defaults.escalate, rule.label
        escalated, why = self._escalation(escalate, denial, label)
        texts = [self.codes.denial_text(denial.group.value, denial.carc), *map(self.codes.remark_text, denial.rarcs)]
        return Recommendation(
            category=category,
            next_step=next_step,
            correctable=correctable,
            appeal_window_days=None if appeal == "payer" else appeal,
            escalate=escalated,
            escalation_reason=why,
            codes=(denial.code, *denial.rarcs),
            official_text="; ".join(texts),
            rule=label,
        )

    def recommend_claim(self, denials: Sequence[Denial], payer_id: str) -> Recommendation | None:
        """The denial to act on first: one that needs work before the patient's share before a
        contractual write-off; within those, the largest amount, then the first given. None when empty."""
        if not denials:
            return None
        first = min(
            enumerate(denials), key=lambda pair: (_denial_tier(pair[1]), -(pair[1].amount or Decimal(0)), pair[0])
        )[1]
        return self.recommend(first, payer_id)

    @staticmethod
    def _escalation(rule: Escalate, denial: Denial, label: str) -> tuple[bool, str | None]:
        if rule == "always":
            return True, f"{label}: always goes to a lead"
        if isinstance(rule, AboveAmount) and denial.amount is not None and denial.amount > rule.above_amount:
            return True, f"{denial.code} denies {denial.amount:,.2f}, above {rule.above_amount:,.2f}"
        return False, None


def default_denials_path() -> Path:
    """Where `Settings().playbooks_dir` points (CLAIMBOT_PLAYBOOKS_DIR, else the shipped playbooks),
    found without importing the application layer: the wheel ships them in claimbot/_shipped/."""
    configured = os.environ.get("CLAIMBOT_PLAYBOOKS_DIR")
    if configured:
        return Path(configured) / DENIALS_FILE
    root = Path(__file__).resolve().parents[1]
    installed = root / "claimbot" / "_shipped" / "playbooks" / DENIALS_FILE
    return installed if installed.is_file() else root / "playbooks" / DENIALS_FILE


def load_denial_playbook(path: Path | None = None, codes: CodeSets | None = None) -> DenialPlaybook:
    """Read and check denials.yaml (default: default_denials_path()); every problem names file, line, key."""
    path = path or default_denials_path()
    try:
        raw, node = read_yaml(path, "denial playbook")
    except YamlSourceError as err:
        raise DenialPlaybookError(str(err)) from err
    if not isinstance(raw, dict):
        raise DenialPlaybookError(f"{path}: line 1: the denial playbook is a YAML mapping")
    try:
        parsed = DenialPlaybookFile.model_validate(raw)
    except ValidationError as err:
        problems = [
            f"{path}: line {line_of(node, p.loc)}: key {p.key}: {p.message}" for p in plain_problems(err, _FORMS)
        ]
        raise DenialPlaybookError("\n".join(problems[:5])) from err
    seen: dict[tuple[str | None, str | None, str, str | None], int] = {}
    duplicates = []
    for index, rule in enumerate(parsed.rules):
        if rule.key in seen:
            earlier = seen[rule.key]
            duplicates.append(
                f"{path}: line {line_of(node, ('rules', index))}: key rules.{index}: {rule.label} is already "
                f"a rule (rules.{earlier}, line {line_of(node, ('rules', earlier))}); one rule per codes"
            )
        else:
            seen[rule.key] = index
    if duplicates:
        raise DenialPlaybookError("\n".join(duplicates[:5]))
    return DenialPlaybook(parsed, codes)
