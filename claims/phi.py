"""The one PHI guard: masks patient name, date of birth and member id in anything that leaves the process.

Two layers, both used by logs and by any text meant for chat:
- `redact(data)` masks values stored under PHI keys, recursively (structured data, log events);
- `PhiScrubber` masks known PHI *values* inside free text (a payer's status words may quote the
  patient's name or member id), in the formats payers write them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from claims.models import Patient

MASK = "[PHI]"

#: Keys whose values are PHI wherever they appear (log events, JSON sent to chat, diagnostics).
PHI_KEYS = frozenset(
    {
        "patient",
        "patient_name",
        "patient_first_name",
        "patient_last_name",
        "first_name",
        "last_name",
        "name_first",
        "name_last",
        "dob",
        "date_of_birth",
        "patient_dob",
        "birth_date",
        "member_id",
        "subscriber_id",
        "member",
        "subscriber",
    }
)


def redact(data: Any, keys: frozenset[str] = PHI_KEYS) -> Any:
    """Mask every value stored under a PHI key, at any depth; everything else is returned as it was."""
    if isinstance(data, Mapping):
        return {k: (MASK if str(k).lower() in keys else redact(v, keys)) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return type(data)(redact(item, keys) for item in data)
    return data


def _date_spellings(value: date) -> list[str]:
    return [
        value.isoformat(),
        value.strftime("%Y%m%d"),
        value.strftime("%m/%d/%Y"),
        f"{value.month}/{value.day}/{value.year}",
        value.strftime("%m-%d-%Y"),
    ]


class PhiScrubber:
    """Masks the PHI values of known patients inside free text, whatever their case."""

    def __init__(self, patients: Iterable[Patient] = ()) -> None:
        needles: set[str] = set()
        for patient in patients:
            needles.update(p for p in (patient.last_name, patient.first_name, patient.member_id) if len(p) >= 2)
            needles.update(_date_spellings(patient.date_of_birth))
        # Longest first so "SMITH-JONES" is masked whole before "SMITH".
        ordered = sorted(needles, key=len, reverse=True)
        self._pattern = (
            re.compile("|".join(rf"(?<![\w]){re.escape(n)}(?![\w])" for n in ordered), re.IGNORECASE)
            if ordered
            else None
        )

    def scrub(self, text: str) -> str:
        return self._pattern.sub(MASK, text) if self._pattern else text


_registered_secrets: set[str] = set()


def register_secret(value: str) -> None:
    """Remember a loaded secret (password, TOTP seed, API key) so every log line masks it by value."""
    if len(value) >= 4:
        _registered_secrets.add(value)


def scrub_secrets(text: str) -> str:
    for secret in _registered_secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def scrub_text(text: str, patients: Iterable[Patient]) -> str:
    """Mask the given patients' PHI in one piece of text meant for chat or a log."""
    return PhiScrubber(patients).scrub(text)
