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
        value.strftime("%m%d%Y"),
    ]


# A date as payers write it, or a word (letters and digits, with inner hyphens, apostrophes or dots).
_TOKEN = re.compile(r"\d{1,4}[/-]\d{1,2}[/-]\d{2,4}|[^\W_]+(?:['.-][^\W_]+)*")


#: A Patient built from a file that gives no birth date (a 277) carries this one: any date may be it.
UNKNOWN_BIRTH_DATE = date.min
_DATE_TOKEN = re.compile(
    r"^(?:\d{1,4}[/-]\d{1,2}[/-]\d{2,4}|(?:19|20)\d{6}|\d{2}(?:19|20)\d{2}\d{2}|\d{4}(?:19|20)\d{2})$"
)


def _needles(patient: Patient) -> set[str]:
    """The lower-cased tokens that identify a patient: whole names and their longer parts, member id, birth date."""
    found = {patient.member_id.lower()}
    if patient.date_of_birth != UNKNOWN_BIRTH_DATE:
        found.update(s.lower() for s in _date_spellings(patient.date_of_birth))
    for name in (patient.last_name, patient.first_name):
        words = [w.group().lower() for w in _TOKEN.finditer(name)]
        found.update(w for w in words if len(w) >= 2 and (len(words) == 1 or len(w) >= 3))
        found.update(p for w in words for p in re.split(r"['.-]", w) if len(p) >= 3)
    return {n for n in found if len(n) >= 2}


class PhiScrubber:
    """Masks the PHI values of known patients inside free text, whatever their case.

    Text is cut into tokens and each token is looked up in a set, so the cost grows with the text,
    not with the number of patients known (a night's sweep registers thousands).
    """

    def __init__(self, patients: Iterable[Patient] = ()) -> None:
        self._needles: set[str] = set()
        self._any_date = False  # a patient whose birth date is unknown: every date-shaped token may be it
        for patient in patients:
            self.add(patient)

    def add(self, patient: Patient) -> None:
        self._needles |= _needles(patient)
        self._any_date |= patient.date_of_birth == UNKNOWN_BIRTH_DATE

    def _mask(self, match: re.Match[str], any_date: bool = True) -> str:
        token = match.group()
        if token.lower() in self._needles or (any_date and self._any_date and _DATE_TOKEN.match(token)):
            return MASK
        if "-" in token or "'" in token or "." in token:
            # SMITH-JONES is masked whole; in "SMITH-JONES's" or "MEMBER.SUN998" the parts are looked at
            return re.sub(r"[^\W_]+", lambda m: MASK if m.group().lower() in self._needles else m.group(), token)
        return token

    def scrub(self, text: str, *, any_date: bool = True) -> str:
        """`any_date=False` for structured values (an X12 date element is a date of service, not a
        birth date): only the known patients' own values are masked there."""
        if not text or not (self._needles or (any_date and self._any_date)):
            return text
        return _TOKEN.sub(lambda match: self._mask(match, any_date), text)


#: Patients this process has asked a payer about: log lines mask their values wherever they appear.
_known_patients = PhiScrubber()


def register_patient(patient: Patient) -> None:
    """Remember a patient in play (a claim or member sent to a payer) so every log line masks them by value."""
    _known_patients.add(patient)


_URL_QUERY = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s?#'\"]*)\?[^\s#'\"]*", re.IGNORECASE)


def scrub_free_text(text: str) -> str:
    """What any log line or error text goes through: registered secrets and patients masked, URL queries cut."""
    return _URL_QUERY.sub(r"\1?[query hidden]", _known_patients.scrub(scrub_secrets(text)))


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
