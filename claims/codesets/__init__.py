"""Code sets shipped as data: claim status categories and codes, CARC, RARC and adjustment groups.

The bundled descriptions are short texts of our own. X12's official code-list texts carry X12's
terms, so an operator who holds a licence loads them from a CSV they supply
(`claimbot codes import KIND FILE`); those override the bundled texts code by code.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from claims.status import ClaimStatus, status_from_277


class CodeKind(StrEnum):
    CATEGORY = "category"  # 277 STC01-1, code source 507
    STATUS = "status"  # 277 STC01-2, code source 508
    CARC = "carc"
    RARC = "rarc"
    GROUP = "group"


_BUNDLED_FILES = {
    CodeKind.CATEGORY: "claim_status_categories.yaml",
    CodeKind.STATUS: "claim_status_codes.yaml",
    CodeKind.CARC: "carc.yaml",
    CodeKind.RARC: "rarc.yaml",
    CodeKind.GROUP: "adjustment_groups.yaml",
}


_GROUP_PREFIXED = re.compile(r"^(CO|PR|OA|PI)\s*-?\s*([A-Z0-9]{1,5})$")
_CATEGORY_STATUS = re.compile(r"^([A-Z][0-9][A-Z]?)\s*:\s*([0-9A-Z]{1,5})$")


class CodeSetError(ValueError):
    """A code-list file an operator supplied is unusable; the message names file, line and field."""


class Code(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: CodeKind
    code: str
    description: str
    normalized_status: ClaimStatus | None = None  # categories only
    official: bool = False  # True when the text came from an operator-supplied official list


@cache
def _bundled(kind: CodeKind) -> Mapping[str, str]:
    import yaml  # read on first use: `claimbot --help` never needs the code lists

    text = resources.files("claims.codesets").joinpath("data", _BUNDLED_FILES[kind]).read_text("utf-8")
    loaded = yaml.safe_load(text)
    return {str(code): str(description) for code, description in loaded.items()}


def read_official_list(path: Path) -> dict[str, str]:
    """Read an operator's code list: a CSV with a header `code,description`. Errors name file and line."""
    try:
        text = path.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise CodeSetError(f"{path}: cannot read the file ({err.__class__.__name__})") from err
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or not {"code", "description"} <= {f.strip() for f in reader.fieldnames}:
        raise CodeSetError(f"{path}: line 1: the header must name the columns 'code' and 'description'")
    codes: dict[str, str] = {}
    for row in reader:
        line = reader.line_num
        code = (row.get("code") or "").strip().upper()
        description = (row.get("description") or "").strip()
        if not code:
            raise CodeSetError(f"{path}: line {line}: field 'code' is empty")
        if not description:
            raise CodeSetError(f"{path}: line {line}: field 'description' is empty for code {code}")
        if code in codes:
            raise CodeSetError(f"{path}: line {line}: field 'code': {code} appears twice")
        codes[code] = description
    if not codes:
        raise CodeSetError(f"{path}: the file holds no codes")
    return codes


class CodeSets:
    """Look-ups over the bundled code sets plus any official lists the operator imported."""

    def __init__(self, official_dir: Path | None = None) -> None:
        self._official: dict[CodeKind, dict[str, str]] = {}
        if official_dir is not None:
            for kind in CodeKind:
                path = official_dir / f"{kind.value}.csv"
                if path.exists():
                    self._official[kind] = read_official_list(path)

    def describe(self, kind: CodeKind, code: str) -> Code | None:
        key = code.strip().upper()
        official = self._official.get(kind, {}).get(key)
        description = official or _bundled(kind).get(key)
        if description is None:
            return None
        normalized = status_from_277(key) if kind is CodeKind.CATEGORY else None
        return Code(
            kind=kind,
            code=key,
            description=description,
            normalized_status=normalized,
            official=bool(official),
        )

    def all(self, kind: CodeKind) -> list[Code]:
        codes = {**_bundled(kind), **self._official.get(kind, {})}
        return [code for key in codes if (code := self.describe(kind, key)) is not None]

    def denial_text(self, group: str, carc: str) -> str:
        """'CO-50 Not deemed a medical necessity by the payer' — what a person reads in chat and CLI."""
        found = self.describe(CodeKind.CARC, carc)
        return f"{group}-{carc} {found.description}" if found else f"{group}-{carc} (unknown reason code)"

    def remark_text(self, rarc: str) -> str:
        """'N290 Missing/incomplete rendering provider' — a remark code with its text."""
        found = self.describe(CodeKind.RARC, rarc)
        return f"{rarc} {found.description}" if found else f"{rarc} (unknown remark code)"

    def explain(self, kind: CodeKind, written: str) -> list[Code]:
        """A code as billers write it: `CO-45` or `CO45` is the group and the CARC, `F2:88` a category
        and a status code; anything else is looked up as it is. Empty when nothing is known."""
        text = written.strip().upper()
        found: list[Code | None]
        group = _GROUP_PREFIXED.match(text)
        pair = _CATEGORY_STATUS.match(text)
        if kind in (CodeKind.CARC, CodeKind.GROUP) and group:
            found = [self.describe(CodeKind.GROUP, group.group(1)), self.describe(CodeKind.CARC, group.group(2))]
        elif kind in (CodeKind.CATEGORY, CodeKind.STATUS) and pair:
            found = [self.describe(CodeKind.CATEGORY, pair.group(1)), self.describe(CodeKind.STATUS, pair.group(2))]
        else:
            found = [self.describe(kind, text)]
        return [] if any(code is None for code in found) else [code for code in found if code is not None]
