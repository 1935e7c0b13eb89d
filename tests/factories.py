"""Builders of synthetic claims and claim CSV files for tests (invented people only)."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from claims.importing import COLUMNS
from claims.models import Claim, Patient, ServiceLine

VALID_NPI = "1234567893"


def make_patient(**overrides: Any) -> Patient:
    fields: dict[str, Any] = {
        "last_name": "Quillfeather",
        "first_name": "Marisol",
        "date_of_birth": date(1979, 4, 17),
        "member_id": "SUN77120433",
    }
    return Patient(**{**fields, **overrides})


def make_claim(claim_id: str = "C1000", payer_id: str = "SUNRISE", **overrides: Any) -> Claim:
    fields: dict[str, Any] = {
        "claim_id": claim_id,
        "payer_id": payer_id,
        "patient": make_patient(),
        "rendering_npi": VALID_NPI,
        "diagnosis_codes": ("E11.9", "I10"),
        "lines": (
            ServiceLine(
                line_number=1,
                procedure_code="99213",
                modifiers=("25",),
                charge=Decimal("125.00"),
                service_date_from=date(2026, 9, 14),
                service_date_to=date(2026, 9, 14),
                diagnosis_pointers=(1, 2),
            ),
            ServiceLine(
                line_number=2,
                procedure_code="36415",
                charge=Decimal("18.50"),
                service_date_from=date(2026, 9, 14),
                service_date_to=date(2026, 9, 14),
            ),
        ),
        "submitted_date": date(2026, 9, 20),
    }
    return Claim(**{**fields, **overrides})


HEADER = list(COLUMNS)


def csv_rows(claim: Claim) -> list[dict[str, str]]:
    """The rows a practice-management export writes for one claim (one per service line)."""
    return [
        {
            "claim_id": claim.claim_id,
            "payer_id": claim.payer_id,
            "patient_last_name": claim.patient.last_name,
            "patient_first_name": claim.patient.first_name,
            "member_id": claim.patient.member_id,
            "patient_dob": claim.patient.date_of_birth.isoformat(),
            "rendering_npi": claim.rendering_npi,
            "diagnosis_codes": ";".join(claim.diagnosis_codes),
            "submitted_date": claim.submitted_date.isoformat() if claim.submitted_date else "",
            "payer_claim_number": claim.payer_claim_number or "",
            "billed_amount": str(claim.billed_amount),
            "place_of_service": claim.place_of_service,
            "service_date_from": line.service_date_from.isoformat(),
            "service_date_to": line.service_date_to.isoformat(),
            "procedure_code": line.procedure_code,
            "modifiers": ";".join(line.modifiers),
            "units": str(line.units),
            "line_charge": str(line.charge),
            "diagnosis_pointers": ";".join(str(p) for p in line.diagnosis_pointers),
        }
        for line in claim.lines
    ]


def write_csv(path: Path, rows: list[dict[str, str]], header: list[str] | None = None) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=header or HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path


def claims_csv(path: Path, claims: list[Claim]) -> Path:
    return write_csv(path, [row for claim in claims for row in csv_rows(claim)])
