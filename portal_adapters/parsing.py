"""Pure parsers: saved HTML or JSON + a playbook's extraction spec -> typed results. No browser.

The engine fetches pages; these functions read them. The same functions run in fixture tests on
pages saved next to each playbook, so a selector fix is checked without a portal or a browser.
A required value that is missing, or a value that does not read as its type (an amount that is
not money), means the page is not what the playbook describes: `LayoutMismatch`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict
from selectolax.lexbor import LexborHTMLParser, LexborNode

from claims.models import AdjustmentGroup, Benefit, Denial
from claims.status import NOT_DENIALS, ClaimStatus, refine_with_amounts, status_from_277
from portal_adapters.playbook.schema import (
    BENEFIT_FIELDS,
    REMARK_TABLES,
    ClaimStatusTask,
    EligibilityTask,
    Extraction,
    FieldSpec,
)


class LayoutMismatch(ValueError):
    """The page does not hold what the playbook says it holds (a field, a table column, a value type).

    It says which field and what was expected there, never the text found: a page value may be a
    patient's name or member id ("'DOE, JANE' is not an amount" would carry it into logs).
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class ExtractedPage(BaseModel):
    """Raw text per field and per table row, before typing."""

    model_config = ConfigDict(frozen=True)

    fields: dict[str, str | None]
    tables: dict[str, list[dict[str, str | None]]]


_SPACES = re.compile(r"\s+")


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    cleaned = _SPACES.sub(" ", text).strip()
    return cleaned or None


def _pattern(spec: FieldSpec, text: str | None) -> str | None:
    if text is None or text.upper() in {v.upper() for v in spec.none_values}:
        return None
    if spec.pattern is None:
        return text
    found = re.search(spec.pattern, text)
    return _clean(found.group(1)) if found else None


def _node_value(node: LexborNode | None, spec: FieldSpec) -> str | None:
    if node is None:
        return None
    raw = node.attributes.get(spec.attribute) if spec.attribute else node.text(separator=" ")
    return _pattern(spec, _clean(raw))


def extract_html(html: str, spec: Extraction) -> ExtractedPage:
    tree = LexborHTMLParser(html)
    fields: dict[str, str | None] = {}
    for name, field in spec.fields.items():
        assert field.selector is not None
        value = _node_value(tree.css_first(field.selector), field)
        if value is None and field.required:
            raise LayoutMismatch(name, f"nothing at {field.selector!r}")
        fields[name] = value
    tables: dict[str, list[dict[str, str | None]]] = {}
    for name, table in spec.tables.items():
        rows = []
        for row in tree.css(table.rows):
            values = {}
            for column, field in table.columns.items():
                assert field.selector is not None
                value = _node_value(row.css_first(field.selector), field)
                if value is None and field.required:
                    raise LayoutMismatch(f"{name}.{column}", f"a row has nothing at {field.selector!r}")
                values[column] = value
            rows.append(values)
        tables[name] = rows
    return ExtractedPage(fields=fields, tables=tables)


def walk_json(data: Any, path: str) -> Any:
    """The value at a dotted path ("items.0.key"); None when any step is missing."""
    for part in path.split(".") if path else []:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def _json_value(data: Any, spec: FieldSpec) -> str | None:
    assert spec.path is not None
    value = walk_json(data, spec.path)
    if value is None or isinstance(value, dict | list):
        return None
    return _pattern(spec, _clean(str(value)))


def extract_json(data: Any, spec: Extraction) -> ExtractedPage:
    fields: dict[str, str | None] = {}
    for name, field in spec.fields.items():
        value = _json_value(data, field)
        if value is None and field.required:
            raise LayoutMismatch(name, f"nothing at path {field.path!r}")
        fields[name] = value
    tables: dict[str, list[dict[str, str | None]]] = {}
    for name, table in spec.tables.items():
        found = walk_json(data, table.rows)
        if found is None:
            found = []
        if not isinstance(found, list):
            raise LayoutMismatch(name, f"path {table.rows!r} is not a list")
        tables[name] = [{column: _json_value(item, field) for column, field in table.columns.items()} for item in found]
    return ExtractedPage(fields=fields, tables=tables)


# --- typing values -------------------------------------------------------------------------------
def read_money(field: str, text: str | None) -> Decimal | None:
    if text is None:
        return None
    cleaned = text.replace("$", "").replace(",", "").replace(" ", "")
    negative = cleaned.startswith("(") and cleaned.endswith(")")
    try:
        value = Decimal(cleaned.strip("()"))
    except InvalidOperation:
        raise LayoutMismatch(field, "not an amount") from None
    return (-value if negative else value).quantize(Decimal("0.01"))


def read_date(field: str, text: str | None, fmt: str) -> date | None:
    if text is None:
        return None
    try:
        return datetime.strptime(text, fmt).date()
    except ValueError:
        raise LayoutMismatch(field, f"not a date in format {fmt}") from None


def read_percent(field: str, text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text.replace("%", "").strip())
    except InvalidOperation:
        raise LayoutMismatch(field, "not a percentage") from None


def _typed(name: str, spec: FieldSpec, text: str | None) -> Any:
    if spec.type == "money":
        return read_money(name, text)
    if spec.type == "date":
        return read_date(name, text, spec.date_format)
    if spec.type == "percent":
        return read_percent(name, text)
    if spec.type == "code":
        return text.upper() if text else None
    if spec.type == "int":
        if text is None:
            return None
        if not text.isdigit():
            raise LayoutMismatch(name, "not a whole number")
        return int(text)
    return text


_DENIAL_CODE = re.compile(r"^(CO|PR|OA|PI)\s*-?\s*([A-Z0-9]{1,5})$")
_ADJUSTMENT = re.compile(r"^(?:(CO|PR|OA|PI)\s*-?\s*)?([A-Z0-9]{1,5})$")
_RARC = re.compile(r"\b[A-Z]{1,2}\d{1,4}\b")


def _rarcs(text: str | None) -> tuple[str, ...]:
    """The remark codes in a cell ("N290", "M15, N130", "Remark N290"), each once, in order."""
    return tuple(dict.fromkeys(_RARC.findall((text or "").upper())))


def _line_number(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and int(text) >= 1 else None


@dataclass(frozen=True)
class Remark:
    """Remark codes (RARCs) the portal shows apart from an adjustment's row, and what it says they belong to."""

    codes: tuple[str, ...]
    line: int | None = None
    group: str | None = None  # the adjustment it names, when the portal names one (CO-16, or just 16)
    carc: str | None = None


def _denials(
    rows: list[dict[str, str | None]], columns: dict[str, FieldSpec]
) -> tuple[tuple[Denial, ...], list[Remark]]:
    """Adjustment rows as denials; a row that holds only remark codes (no group, no CARC) is a remark."""
    denials = []
    remarks = []
    for index, row in enumerate(rows, start=1):
        where = f"denials row {index}"
        group, carc = (row.get("group") or "").upper(), (row.get("carc") or "").upper()
        rarcs = _rarcs(row.get("rarc"))
        if not (group or carc or row.get("code")) and rarcs:
            remarks.append(Remark(codes=rarcs, line=_line_number(row.get("line"))))
            continue
        if row.get("code"):
            found = _DENIAL_CODE.match((row["code"] or "").upper())
            if not found:
                raise LayoutMismatch(where, "not a GROUP-CARC code")
            group, carc = found.group(1), found.group(2)
        if group not in AdjustmentGroup.__members__ or not carc:
            raise LayoutMismatch(where, "not a CARC with an adjustment group")
        amount_spec = columns.get("amount")
        denials.append(
            Denial(
                group=AdjustmentGroup(group),
                carc=carc,
                rarcs=rarcs,
                amount=read_money(where, row.get("amount")) if amount_spec else None,
                line_number=_line_number(row.get("line")),
            )
        )
    return tuple(denials), remarks


def _remarks(rows: list[dict[str, str | None]], table: str) -> list[Remark]:
    """Rows of a remarks list (or of the service lines' remark column); a row without a code has none."""
    remarks = []
    for index, row in enumerate(rows, start=1):
        codes = _rarcs(row.get("rarc"))
        if not codes:
            continue
        group = carc = None
        named = (row.get("adjustment") or "").upper().strip()
        if named:
            found = _ADJUSTMENT.match(named)
            if found is None:
                raise LayoutMismatch(f"{table} row {index}", "the adjustment is not a CARC or GROUP-CARC")
            group, carc = found.group(1), found.group(2)
        remarks.append(Remark(codes=codes, line=_line_number(row.get("line")), group=group, carc=carc))
    return remarks


def _likeliest(denials: Sequence[Denial], candidates: list[int]) -> list[int]:
    """Of one line's adjustments, those a remark most likely explains: the ones that need work, else
    those that are not a contractual write-off (a PR-204 beside its CO-45), else all of them."""
    for keep in (
        lambda d: d.needs_work,
        lambda d: (d.group.value, d.carc) not in NOT_DENIALS,
    ):
        chosen = [i for i in candidates if keep(denials[i])]
        if chosen:
            return chosen
    return candidates


def _targets(denials: Sequence[Denial], remark: Remark) -> list[int]:
    """Which adjustments a remark belongs to: the one it names, else those of its line, else the
    claim's one adjustment that needs work; none when the page does not say (a claim-level remark)."""
    if remark.carc is not None:
        named = [
            i
            for i, d in enumerate(denials)
            if d.carc == remark.carc and (remark.group is None or d.group.value == remark.group)
        ]
        on_line = [i for i in named if denials[i].line_number == remark.line]
        if named:
            return on_line if remark.line is not None and on_line else named
    if remark.line is not None:
        on_line = [i for i, d in enumerate(denials) if d.line_number == remark.line]
        if on_line:
            return _likeliest(denials, on_line)
    needing_work = [i for i, d in enumerate(denials) if d.needs_work]
    return needing_work if len(needing_work) == 1 else []


def attach_remarks(denials: Sequence[Denial], remarks: Sequence[Remark]) -> tuple[tuple[Denial, ...], tuple[str, ...]]:
    """Put each remark code on the adjustment(s) it belongs to (`_targets`); return the denials and the
    codes that belong to none (claim-level remarks), each code once per adjustment and once overall."""
    codes: list[list[str]] = [list(d.rarcs) for d in denials]
    left: list[str] = []
    for remark in remarks:
        targets = _targets(denials, remark)
        for index in targets:
            codes[index] += remark.codes
        if not targets:
            left += remark.codes
    attached = tuple(
        d.model_copy(update={"rarcs": tuple(dict.fromkeys(c))}) for d, c in zip(denials, codes, strict=True)
    )
    on_some = {code for d in attached for code in d.rarcs}
    return attached, tuple(code for code in dict.fromkeys(left) if code not in on_some)


class ClaimReading(BaseModel):
    """What a claim page says, typed; the engine adds who/when/route to make a ClaimStatusResult."""

    model_config = ConfigDict(frozen=True)

    status: ClaimStatus
    status_text: str | None = None
    category_code: str | None = None
    status_code: str | None = None
    billed_amount: Decimal | None = None
    allowed_amount: Decimal | None = None
    paid_amount: Decimal | None = None
    patient_responsibility: Decimal | None = None
    payer_claim_number: str | None = None
    check_number: str | None = None
    payment_date: date | None = None
    denials: tuple[Denial, ...] = ()
    remarks: tuple[str, ...] = ()  # claim-level remark codes that belong to no adjustment the page shows


def read_claim(page: ExtractedPage, task: ClaimStatusTask) -> ClaimReading:
    """Type the extracted text and normalize the status: an X12 category when shown, else the word map."""
    spec = task.extract.fields
    typed = {name: _typed(name, spec[name], text) for name, text in page.fields.items()}
    for code_field in ("category_code", "status_code"):
        if typed.get(code_field):
            typed[code_field] = str(typed[code_field]).upper()
    category = typed.get("category_code")
    words = typed.get("status_text")
    if category:
        status = status_from_277(category, typed.get("status_code"))
    elif words:
        mapping = {k.lower(): v for k, v in task.status_words.items()}
        status = mapping.get(words.lower(), ClaimStatus.UNKNOWN)
    else:
        raise LayoutMismatch("status", "the page shows neither a status category nor status words")
    denial_table = task.extract.tables.get("denials")
    denials, remarks = _denials(page.tables.get("denials", []), denial_table.columns) if denial_table else ((), [])
    for table in REMARK_TABLES:
        remarks += _remarks(page.tables.get(table, []), table)
    denials, claim_remarks = attach_remarks(denials, remarks)
    status = refine_with_amounts(status, typed.get("paid_amount"), any(d.needs_work for d in denials))
    return ClaimReading(
        status=status,
        denials=denials,
        remarks=claim_remarks,
        **{k: v for k, v in typed.items() if v is not None},
    )


class EligibilityReading(BaseModel):
    model_config = ConfigDict(frozen=True)

    active: bool
    coverage_text: str
    plan_name: str | None
    benefits: tuple[Benefit, ...]


_BENEFIT_KINDS = {
    "copay": "copay",
    "co-pay": "copay",
    "coinsurance": "coinsurance",
    "co-insurance": "coinsurance",
    "deductible": "deductible",
    "out of pocket": "out_of_pocket",
    "out-of-pocket": "out_of_pocket",
    "oop": "out_of_pocket",
}


def _benefit_kind(text: str | None) -> str:
    lowered = (text or "").lower()
    return next((kind for words, kind in _BENEFIT_KINDS.items() if words in lowered), lowered or "other")


def _has_word(text: str, words: list[str]) -> bool:
    """Whole words only: 'Inactive' does not hold the word 'active'."""
    return any(re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text, re.IGNORECASE) for word in words)


def read_eligibility(page: ExtractedPage, task: EligibilityTask) -> EligibilityReading:
    coverage = page.fields.get("coverage_text")
    if not coverage:
        raise LayoutMismatch("coverage_text", "the page shows no coverage status")
    active = not _has_word(coverage, task.inactive_words) and _has_word(coverage, task.active_words)
    by_kind: dict[str, dict[str, Any]] = {}
    for name, (kind, part) in BENEFIT_FIELDS.items():
        if name in task.extract.fields:
            value = _typed(name, task.extract.fields[name], page.fields.get(name))
            if value is not None:
                by_kind.setdefault(kind, {})[part] = value
    benefits = [Benefit(kind=kind, **parts) for kind, parts in by_kind.items()]
    columns = task.extract.tables["benefits"].columns if "benefits" in task.extract.tables else {}
    for index, row in enumerate(page.tables.get("benefits", []), start=1):
        where = f"benefits row {index}"
        network = (row.get("network") or "").lower()
        benefits.append(
            Benefit(
                kind=_benefit_kind(row.get("kind")),
                service_type=row.get("service_type"),
                amount=read_money(where, row.get("amount")) if "amount" in columns else None,
                percent=read_percent(where, row.get("percent")) if "percent" in columns else None,
                remaining=read_money(where, row.get("remaining")) if "remaining" in columns else None,
                in_network=None if not network else network.startswith("in"),
            )
        )
    return EligibilityReading(
        active=active,
        coverage_text=coverage,
        plan_name=page.fields.get("plan_name"),
        benefits=tuple(benefits),
    )
