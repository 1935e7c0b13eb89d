"""Claim import from practice-management CSV exports (format: docs/claims-csv.md).

A file is all-or-nothing: it is read in one streaming pass inside one ledger transaction, and the
first problem stops the writing while reading goes on to report up to `max_issues` problems, each
naming the file, the line and the column. Error messages never repeat a PHI value (name, date of
birth, member id). Claims are upserted by claim id, so importing the same file twice changes nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from claims.ledger import ClaimUpsertCounts, Ledger, LedgerWriter
from claims.models import Action, ActionOutcome, Claim
from claims.validation import plain_problems


class Level(Enum):
    CLAIM = "claim"
    LINE = "line"


@dataclass(frozen=True)
class ColumnSpec:
    level: Level
    required: bool
    phi: bool = False


COLUMNS: dict[str, ColumnSpec] = {
    "claim_id": ColumnSpec(Level.CLAIM, True),
    "payer_id": ColumnSpec(Level.CLAIM, True),
    "patient_last_name": ColumnSpec(Level.CLAIM, True, phi=True),
    "patient_first_name": ColumnSpec(Level.CLAIM, True, phi=True),
    "member_id": ColumnSpec(Level.CLAIM, True, phi=True),
    "patient_dob": ColumnSpec(Level.CLAIM, True, phi=True),
    "rendering_npi": ColumnSpec(Level.CLAIM, True),
    "diagnosis_codes": ColumnSpec(Level.CLAIM, True),
    "submitted_date": ColumnSpec(Level.CLAIM, False),
    "payer_claim_number": ColumnSpec(Level.CLAIM, False),
    "billed_amount": ColumnSpec(Level.CLAIM, False),
    "place_of_service": ColumnSpec(Level.CLAIM, False),
    "service_date_from": ColumnSpec(Level.LINE, True),
    "service_date_to": ColumnSpec(Level.LINE, False),
    "procedure_code": ColumnSpec(Level.LINE, True),
    "modifiers": ColumnSpec(Level.LINE, False),
    "units": ColumnSpec(Level.LINE, False),
    "line_charge": ColumnSpec(Level.LINE, True),
    "diagnosis_pointers": ColumnSpec(Level.LINE, False),
}
#: One column "LAST, FIRST" (or "FIRST LAST") instead of the two name columns, via a mapping file.
COMBINED_NAME = "patient_name"
_NAME_PARTS = ("patient_last_name", "patient_first_name")
_DATE_COLUMNS = frozenset({"patient_dob", "submitted_date", "service_date_from", "service_date_to"})
_MONEY_COLUMNS = frozenset({"billed_amount", "line_charge"})


class MappingError(ValueError):
    """The mapping file is unusable; the message names the file and the key."""


class ColumnMapping(BaseModel):
    """How another export's columns map onto ours (a YAML file given with --mapping)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: dict[str, str] = Field(default_factory=dict, description="our column -> the file's header")
    date_format: str = "%Y-%m-%d"
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    encoding: str = "utf-8-sig"
    list_separator: str = Field(default=";", min_length=1, max_length=1)
    name_format: Literal["last, first", "first last"] = "last, first"

    @classmethod
    def load(cls, path: Path) -> ColumnMapping:
        try:
            raw = yaml.safe_load(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError) as err:
            raise MappingError(f"{path}: cannot read the mapping file ({err.__class__.__name__})") from err
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f"line {mark.line + 1}: " if mark else ""
            raise MappingError(f"{path}: {where}not valid YAML") from err
        if not isinstance(raw, dict):
            raise MappingError(f"{path}: a mapping file is a YAML mapping with a 'columns' key")
        try:
            mapping = cls.model_validate(raw)
        except ValidationError as err:
            first = plain_problems(err)[0]
            raise MappingError(f"{path}: key '{first.key}': {first.message}") from err
        for ours in mapping.columns:
            if ours not in COLUMNS and ours != COMBINED_NAME:
                raise MappingError(f"{path}: key 'columns.{ours}': not a Claimbot column (see docs/claims-csv.md)")
        try:
            datetime.strptime(date.today().strftime(mapping.date_format), mapping.date_format)
        except ValueError as err:
            raise MappingError(
                f"{path}: key 'date_format': {mapping.date_format!r} is not a usable date format"
            ) from err
        return mapping

    def header_for(self, column: str) -> str:
        return self.columns.get(column, column)


class ImportIssue(BaseModel):
    model_config = ConfigDict(frozen=True)

    file: str
    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        column = f" column '{self.column}':" if self.column else ""
        return f"{self.file}: line {self.line}:{column} {self.message}"


class ClaimImportError(Exception):
    """The file was not imported (nothing was written). Carries every problem found, with its place."""

    def __init__(self, issues: list[ImportIssue], truncated: bool = False) -> None:
        self.issues = issues
        self.truncated = truncated
        more = " (more problems not shown)" if truncated else ""
        lines = "\n".join(str(issue) for issue in issues)
        super().__init__(f"{len(issues)} problem(s), nothing imported{more}:\n{lines}")


class ImportReport(BaseModel):
    file: str
    sha256: str
    rows: int
    claims: int
    created: int
    updated: int
    unchanged: int
    matched_answers: int = Field(default=0, description="queued EDI answers recorded now that their claim arrived")


class _RowError(Exception):
    def __init__(self, column: str | None, message: str) -> None:
        self.column = column
        self.message = message


class _CountingReader(io.RawIOBase):
    """Counts bytes as the CSV reader pulls them, for a progress bar, and hashes them for the audit."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.bytes_read = 0
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        self.bytes_read += len(data)
        self.digest.update(data)
        return len(data)


@dataclass
class _ClaimRows:
    claim_id: str
    first_line: int
    claim_values: dict[str, str]
    lines: list[tuple[int, dict[str, str]]]


ProgressCallback = Callable[[int], None]


def _line_at(path: Path, offset: int) -> int:
    """The 1-based line holding byte `offset` (decoding errors surface per chunk, not per line)."""
    with path.open("rb") as f:
        return f.read(offset).count(b"\n") + 1


class ClaimCsvImporter:
    """Reads one export file into validated claims and writes them through one LedgerWriter."""

    def __init__(self, path: Path, mapping: ColumnMapping, known_payers: frozenset[str], max_issues: int = 50) -> None:
        self.path = path
        self.name = path.name
        self.mapping = mapping
        self.known_payers = known_payers
        self.max_issues = max_issues
        self.issues: list[ImportIssue] = []

    # --- value parsing -------------------------------------------------------------------------
    def _date(self, column: str, text: str) -> date:
        try:
            if self.mapping.date_format == "%Y-%m-%d":
                return date.fromisoformat(text)
            return datetime.strptime(text, self.mapping.date_format).date()
        except ValueError:
            shown = "" if COLUMNS[column].phi else f" {text!r}"
            raise _RowError(column, f"value{shown} is not a date in format {self.mapping.date_format}") from None

    @staticmethod
    def _money(column: str, text: str) -> Decimal:
        cleaned = text.replace("$", "").replace(",", "").strip()
        try:
            value = Decimal(cleaned)
        except InvalidOperation:
            raise _RowError(column, f"value {text!r} is not an amount") from None
        if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
            raise _RowError(column, f"value {text!r} is not an amount of dollars and cents")
        return value

    def _list(self, text: str) -> tuple[str, ...]:
        return tuple(part.strip() for part in text.split(self.mapping.list_separator) if part.strip())

    # --- reading -------------------------------------------------------------------------------
    def _header_map(self, header: list[str]) -> dict[str, int]:
        names = [name.strip() for name in header]
        repeated = sorted({name for name in names if name and names.count(name) > 1})
        if repeated:
            raise _RowError(
                repeated[0], f"the header names column(s) {', '.join(repr(n) for n in repeated)} more than once"
            )
        positions = {name: i for i, name in enumerate(names)}
        found: dict[str, int] = {}
        wanted = [c for c in COLUMNS if not (c in _NAME_PARTS and COMBINED_NAME in self.mapping.columns)]
        if COMBINED_NAME in self.mapping.columns:
            wanted.append(COMBINED_NAME)
        missing = []
        for column in wanted:
            header_name = self.mapping.header_for(column)
            if header_name in positions:
                found[column] = positions[header_name]
            elif column == COMBINED_NAME or COLUMNS[column].required:
                missing.append(header_name)
        if missing:
            raise _RowError(None, f"the header lacks the required column(s): {', '.join(missing)}")
        return found

    def _values(self, row: list[str], positions: dict[str, int], width: int) -> dict[str, str]:
        if len(row) != width:
            raise _RowError(None, f"has {len(row)} fields where the header has {width}")
        values = {column: row[index].strip() for column, index in positions.items()}
        if COMBINED_NAME in values:
            values.update(self._split_name(values.pop(COMBINED_NAME)))
        for column, value in values.items():
            if not value and COLUMNS[column].required:
                raise _RowError(self.mapping.header_for(column), "is empty")
        return values

    def _split_name(self, text: str) -> dict[str, str]:
        header = self.mapping.header_for(COMBINED_NAME)
        if self.mapping.name_format == "last, first":
            last, sep, first = text.partition(",")
        else:
            first, sep, last = text.strip().rpartition(" ")
        if not sep or not last.strip() or not first.strip():
            raise _RowError(header, f"a patient name is written '{self.mapping.name_format.upper()}'")
        return {"patient_last_name": last.strip(), "patient_first_name": first.strip()}

    def _groups(self, stream: io.TextIOBase, on_row: ProgressCallback) -> Iterator[_ClaimRows | ImportIssue]:
        reader = csv.reader(stream, delimiter=self.mapping.delimiter, strict=True)
        try:
            header = next(reader, None)
            if header is None:
                yield ImportIssue(file=self.name, line=1, column=None, message="the file is empty")
                return
            positions = self._header_map(header)
        except _RowError as err:
            yield ImportIssue(file=self.name, line=1, column=err.column, message=err.message)
            return
        claim_columns = [c for c in positions if c in COLUMNS and COLUMNS[c].level is Level.CLAIM]
        if COMBINED_NAME in positions:
            claim_columns += list(_NAME_PARTS)
        finished: dict[str, int] = {}
        current: _ClaimRows | None = None
        while True:
            try:
                row = next(reader, None)
            except csv.Error as err:
                yield ImportIssue(file=self.name, line=reader.line_num, column=None, message=f"not valid CSV ({err})")
                return
            if row is None:
                break
            line = reader.line_num
            on_row(1)
            if not any(cell.strip() for cell in row):
                continue
            try:
                values = self._values(row, positions, len(header))
            except _RowError as err:
                yield ImportIssue(file=self.name, line=line, column=err.column, message=err.message)
                continue
            claim_id = values["claim_id"]
            if current is not None and claim_id == current.claim_id:
                for column in claim_columns:
                    if values.get(column, "") != current.claim_values.get(column, ""):
                        yield ImportIssue(
                            file=self.name,
                            line=line,
                            column=self.mapping.header_for(column),
                            message=f"differs from line {current.first_line} for the same claim {claim_id}",
                        )
                current.lines.append((line, values))
                continue
            if current is not None:
                finished[current.claim_id] = current.first_line
                yield current
            if claim_id in finished:
                yield ImportIssue(
                    file=self.name,
                    line=line,
                    column=self.mapping.header_for("claim_id"),
                    message=f"claim {claim_id} already ended at line {finished[claim_id]}; "
                    "keep each claim's rows together (sort the export by claim id)",
                )
            current = _ClaimRows(claim_id, line, {c: values.get(c, "") for c in claim_columns}, [(line, values)])
        if current is not None:
            yield current

    # --- building claims -----------------------------------------------------------------------
    def _build(self, group: _ClaimRows) -> Claim | list[ImportIssue]:
        issues: list[ImportIssue] = []
        first = group.claim_values

        def issue(line: int, column: str | None, message: str) -> None:
            issues.append(ImportIssue(file=self.name, line=line, column=column, message=message))

        header = self.mapping.header_for
        payer_id = first["payer_id"].upper()
        if payer_id not in self.known_payers:
            issue(
                group.first_line,
                header("payer_id"),
                f"payer {payer_id!r} is not in the payer list (config/payers.yaml)",
            )
        try:
            data: dict[str, Any] = {
                "claim_id": group.claim_id,
                "payer_id": payer_id,
                "patient": {
                    "last_name": first["patient_last_name"],
                    "first_name": first["patient_first_name"],
                    "date_of_birth": self._date("patient_dob", first["patient_dob"]),
                    "member_id": first["member_id"],
                },
                "rendering_npi": first["rendering_npi"],
                "diagnosis_codes": self._list(first["diagnosis_codes"]),
                "place_of_service": first.get("place_of_service") or "11",
                "submitted_date": self._date("submitted_date", first["submitted_date"])
                if first.get("submitted_date")
                else None,
                "payer_claim_number": first.get("payer_claim_number") or None,
            }
        except _RowError as err:
            issue(group.first_line, header(err.column) if err.column else None, err.message)
            return issues
        lines = []
        for number, (line, values) in enumerate(group.lines, start=1):
            try:
                start = self._date("service_date_from", values["service_date_from"])
                end_text = values.get("service_date_to", "")
                lines.append(
                    {
                        "line_number": number,
                        "procedure_code": values["procedure_code"],
                        "modifiers": self._list(values.get("modifiers", "")),
                        "units": self._units(values.get("units", "")),
                        "charge": self._money("line_charge", values["line_charge"]),
                        "service_date_from": start,
                        "service_date_to": self._date("service_date_to", end_text) if end_text else start,
                        "diagnosis_pointers": self._pointers(values.get("diagnosis_pointers", "")),
                    }
                )
            except _RowError as err:
                issue(line, header(err.column) if err.column else None, err.message)
        if issues:
            return issues
        data["lines"] = lines
        try:
            claim = Claim.model_validate(data)
        except ValidationError as err:
            for problem in plain_problems(err):
                line, column = self._locate(group, problem.loc)
                issue(line, column, problem.message)
            return issues
        if claim.patient.date_of_birth > claim.service_date_from:
            issue(group.first_line, header("patient_dob"), "the date of birth is after the first date of service")
            return issues
        billed_text = first.get("billed_amount", "")
        if billed_text:
            try:
                billed = self._money("billed_amount", billed_text)
            except _RowError as err:
                issue(group.first_line, header("billed_amount"), err.message)
                return issues
            if billed != claim.billed_amount:
                issue(
                    group.first_line,
                    header("billed_amount"),
                    f"{billed} does not equal the sum of the line charges ({claim.billed_amount})",
                )
                return issues
        return claim

    def _units(self, text: str) -> Decimal:
        if not text:
            return Decimal(1)
        try:
            units = Decimal(text)
        except InvalidOperation:
            raise _RowError("units", f"value {text!r} is not a number") from None
        if not units.is_finite() or units <= 0:
            raise _RowError("units", f"value {text!r} is not a positive number")
        return units

    def _pointers(self, text: str) -> tuple[int, ...]:
        if not text:
            return (1,)
        try:
            pointers = tuple(int(part) for part in self._list(text))
        except ValueError:
            raise _RowError("diagnosis_pointers", f"value {text!r} is not a list of numbers") from None
        if not pointers or min(pointers) < 1:
            raise _RowError("diagnosis_pointers", f"value {text!r}: pointers start at 1")
        return pointers

    _MODEL_TO_COLUMN: ClassVar[dict[str, str]] = {
        "last_name": "patient_last_name",
        "first_name": "patient_first_name",
        "date_of_birth": "patient_dob",
        "member_id": "member_id",
        "charge": "line_charge",
    }

    def _locate(self, group: _ClaimRows, loc: tuple[int | str, ...]) -> tuple[int, str | None]:
        """Turn a pydantic error location into (CSV line, column header)."""
        line = group.first_line
        field: str | None = None
        if loc and loc[0] == "lines" and len(loc) > 1 and isinstance(loc[1], int):
            line = group.lines[loc[1]][0]
            field = str(loc[2]) if len(loc) > 2 else None
        elif loc and loc[0] == "patient":
            field = str(loc[1]) if len(loc) > 1 else None
        elif loc:
            field = str(loc[0])
        if field is None:
            return line, None
        column = self._MODEL_TO_COLUMN.get(field, field)
        if column in _NAME_PARTS and COMBINED_NAME in self.mapping.columns:
            column = COMBINED_NAME
        return line, self.mapping.header_for(column)

    # --- the whole file ------------------------------------------------------------------------
    def run(self, writer: LedgerWriter, on_bytes: ProgressCallback, batch_size: int = 1000) -> ImportReport:
        counts = ClaimUpsertCounts()
        rows = 0
        claims_seen = 0
        batch: list[Claim] = []

        def count_row(n: int) -> None:
            nonlocal rows
            rows += n

        try:
            raw = self.path.open("rb")
        except OSError as err:
            raise ClaimImportError(
                [ImportIssue(file=self.name, line=0, column=None, message=f"cannot open ({err.strerror})")]
            ) from err
        with raw:
            counter = _CountingReader(raw)
            stream = io.TextIOWrapper(io.BufferedReader(counter), encoding=self.mapping.encoding, newline="")
            last_reported = 0
            try:
                for item in self._groups(stream, count_row):
                    if counter.bytes_read != last_reported:
                        on_bytes(counter.bytes_read - last_reported)
                        last_reported = counter.bytes_read
                    if isinstance(item, ImportIssue):
                        self.issues.append(item)
                    else:
                        claims_seen += 1
                        built = self._build(item)
                        if isinstance(built, list):
                            self.issues.extend(built)
                        elif not self.issues:
                            batch.append(built)
                            if len(batch) >= batch_size:
                                counts = counts.add(writer.upsert_claims(batch))
                                batch = []
                    if len(self.issues) >= self.max_issues:
                        raise ClaimImportError(self.issues[: self.max_issues], truncated=True)
            except UnicodeDecodeError as err:
                offset = max(0, counter.bytes_read - len(err.object) + err.start)
                self.issues.append(
                    ImportIssue(
                        file=self.name,
                        line=_line_at(self.path, offset),
                        column=None,
                        message=f"is not valid {self.mapping.encoding} text (byte {offset})",
                    )
                )
            if self.issues:
                raise ClaimImportError(self.issues)
            if claims_seen == 0:
                raise ClaimImportError([ImportIssue(file=self.name, line=1, column=None, message="holds no claims")])
            counts = counts.add(writer.upsert_claims(batch))
        return ImportReport(
            file=str(self.path),
            sha256=counter.digest.hexdigest(),
            rows=rows,
            claims=claims_seen,
            **counts.model_dump(),
        )


def import_claims_csv(
    ledger: Ledger,
    path: Path,
    mapping: ColumnMapping | None = None,
    actor: str = "cli",
    on_bytes: ProgressCallback = lambda _: None,
    max_issues: int = 50,
) -> ImportReport:
    """Import one export file, all or nothing. Raises ClaimImportError (nothing written) on any problem."""
    known_payers = frozenset(p.id for p in ledger.payers())
    importer = ClaimCsvImporter(path, mapping or ColumnMapping(), known_payers, max_issues)
    with ledger.writer() as writer:
        report = importer.run(writer, on_bytes)
        if report.created:
            report = report.model_copy(update={"matched_answers": writer.match_unmatched()})
        if report.created or report.updated:
            writer.record_action(
                Action(
                    actor=actor,
                    action="claims.import",
                    # the file's content, never the time: importing the same file twice audits once
                    idempotency_key=f"claims.import:{report.sha256}",
                    outcome=ActionOutcome.SUCCEEDED,
                    detail={
                        "file": path.name,
                        "sha256": report.sha256,
                        "created": report.created,
                        "updated": report.updated,
                    },
                )
            )
    return report
