"""The team's payer list (config/payers.yaml), validated; errors name the file and the key path."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from claims.models import Payer


class PayerConfigError(ValueError):
    pass


class _PayerFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    payers: list[Payer]


def load_payers(path: Path) -> list[Payer]:
    try:
        raw = yaml.safe_load(path.read_text("utf-8"))
    except OSError as err:
        raise PayerConfigError(f"{path}: cannot read the payer list ({err.strerror})") from err
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise PayerConfigError(
            f"{path}: {'line ' + str(mark.line + 1) + ': ' if mark else ''}not valid YAML"
        ) from err
    try:
        parsed = _PayerFile.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise PayerConfigError(f"{path}: key '{key}': {first['msg']}") from err
    ids = [p.id for p in parsed.payers]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise PayerConfigError(f"{path}: key 'payers': payer id(s) listed twice: {', '.join(duplicated)}")
    return parsed.payers
