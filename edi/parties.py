"""People, organisations and procedure codes as they appear in NM1/N1 and SV*/SVC composites.

:class:`PersonIdentity` holds protected health information (patient or subscriber name, member
id, birth date). Its ``repr``/``str`` never show the values, so a view printed to a log cannot
leak them; read the attributes explicitly where the data is really needed. Summaries use
:attr:`PersonIdentity.initials` at most.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(slots=True)
class Party:
    """An organisation or provider: entity code (PR, PE, 1P, 85 ...), name and identifier."""

    entity_code: str
    name: str
    id_qualifier: str = ""
    identifier: str = ""


@dataclass(slots=True, repr=False)
class PersonIdentity:
    """A patient, subscriber or insured person (PHI: never shown by repr/str)."""

    entity_code: str
    last_name: str
    first_name: str = ""
    middle_name: str = ""
    id_qualifier: str = ""
    identifier: str = ""
    birth_date: date | None = None
    gender: str = ""

    @property
    def initials(self) -> str:
        return "".join(part[:1].upper() for part in (self.first_name, self.last_name) if part)

    def __repr__(self) -> str:
        return f"PersonIdentity(entity_code={self.entity_code!r}, <PHI withheld>)"

    __str__ = __repr__


def party_from_nm1(elements: list[str]) -> Party:
    """NM1*code*type*name*first*middle*prefix*suffix*qualifier*id (organisation or provider)."""
    padded = [*elements, "", "", "", "", "", "", "", "", "", ""]
    name = padded[3] if padded[2] != "1" else " ".join(part for part in (padded[4], padded[3]) if part)
    return Party(entity_code=padded[1], name=name, id_qualifier=padded[8], identifier=padded[9])


def person_from_nm1(elements: list[str]) -> PersonIdentity:
    padded = [*elements, "", "", "", "", "", "", "", "", "", ""]
    return PersonIdentity(
        entity_code=padded[1],
        last_name=padded[3],
        first_name=padded[4],
        middle_name=padded[5],
        id_qualifier=padded[8],
        identifier=padded[9],
    )


@dataclass(frozen=True, slots=True)
class ProcedureCode:
    """A procedure composite (SVC01, SV101, EB13): qualifier (HC, NU, N4 ...), code, modifiers.

    Immutable, so one instance can be shared by every line billing the same code.
    """

    qualifier: str
    code: str
    modifiers: tuple[str, ...] = ()

    def __str__(self) -> str:
        return ":".join([self.qualifier, self.code, *self.modifiers])


def procedure_from_composite(text: str, component_separator: str) -> ProcedureCode:
    parts = text.split(component_separator)
    modifiers = tuple(modifier for modifier in parts[2:6] if modifier)
    return ProcedureCode(qualifier=parts[0], code=parts[1] if len(parts) > 1 else "", modifiers=modifiers)
