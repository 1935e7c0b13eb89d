"""The team's payer list (config/payers.yaml), validated; errors name the file and the key path."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from claims.models import Payer
from claims.validation import plain_problems


class PayerConfigError(ValueError):
    pass


class PayerRoute(StrEnum):
    """How Claimbot asks this payer about claims."""

    PORTAL = "portal"
    API = "api"
    API_THEN_PORTAL = "api_then_portal"  # the portal when the API says not found or too little


class PayerEntry(Payer):
    """A payer as the team configures it: the ledger's fields plus how to reach it."""

    route: PayerRoute = PayerRoute.PORTAL
    clearinghouse_payer_id: str | None = Field(default=None, description="the payer id at the clearinghouse")

    def ledger_payer(self) -> Payer:
        return Payer.model_validate(self.model_dump(include=set(Payer.model_fields)))


class _PayerFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    payers: list[PayerEntry]


def load_payers(path: Path) -> list[Payer]:
    return [entry.ledger_payer() for entry in load_payer_entries(path)]


def load_payer_entries(path: Path) -> list[PayerEntry]:
    try:
        raw = yaml.safe_load(path.read_text("utf-8"))
    except OSError as err:
        raise PayerConfigError(f"{path}: cannot read the payer list ({err.strerror})") from err
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise PayerConfigError(f"{path}: {'line ' + str(mark.line + 1) + ': ' if mark else ''}not valid YAML") from err
    try:
        parsed = _PayerFile.model_validate(raw)
    except ValidationError as err:
        first = plain_problems(err)[0]
        raise PayerConfigError(f"{path}: key '{first.key}': {first.message}") from err
    ids = [p.id for p in parsed.payers]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise PayerConfigError(f"{path}: key 'payers': payer id(s) listed twice: {', '.join(duplicated)}")
    return parsed.payers
