"""One payer's view of the sandbox world, indexed the way its portal and the clearinghouse look things up.

Portals only ever see their own payer's book, and the book holds only what the payer has: claims
the payer never received (outcome "not found") are absent, exactly as they would be on a real portal.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import date
from enum import StrEnum

from sandbox.corrections import CorrectionsBook
from sandbox.models import Eligibility, Patient, PayerId, SandboxClaim, SandboxWorld


class MemberMiss(StrEnum):
    """Why an eligibility look-up by member id + date of birth found nobody."""

    NO_SUCH_MEMBER = "no_such_member"
    BIRTH_DATE_MISMATCH = "birth_date_mismatch"


class PayerBook:
    """Claims, members and benefits one payer holds."""

    def __init__(self, world: SandboxWorld, payer_id: PayerId, corrections: CorrectionsBook | None = None) -> None:
        self.payer_id = payer_id
        self.corrections = corrections or CorrectionsBook(world)
        self.payer_name = world.payer_names[payer_id]
        self.reference_date = world.reference_date
        self.claims = world.claims_by_payer[payer_id]
        self._by_number: dict[str, SandboxClaim] = {}
        self._by_key: dict[str, SandboxClaim] = {}
        self._keys: dict[str, str] = {}
        self._by_member: dict[str, list[SandboxClaim]] = defaultdict(list)
        for claim in self.claims:
            key = hashlib.sha256(f"{payer_id}:{claim.claim_id}".encode()).hexdigest()[:14]
            self._keys[claim.claim_id] = key
            self._by_key[key] = claim
            self._by_number[claim.claim_id.upper()] = claim
            if claim.payer is not None and claim.payer.payer_claim_number:
                self._by_number[claim.payer.payer_claim_number.upper()] = claim
            self._by_member[claim.patient.member_id.upper()].append(claim)
        self._eligibility = {e.member_id.upper(): e for e in world.eligibility if e.payer_id == payer_id}
        self._members = {p.member_id.upper(): p for p in world.patients if p.member_id.upper() in self._eligibility}

    def key_of(self, claim: SandboxClaim) -> str:
        """The opaque id a portal uses in its detail URLs."""
        return self._keys[claim.claim_id]

    def by_key(self, key: str) -> SandboxClaim | None:
        claim = self._by_key.get(key)
        return self.corrections.current(claim) if claim is not None else None

    def find(self, number: str) -> SandboxClaim | None:
        """A claim by the payer's claim number (ICN, a correction's too) or the practice's (CLM01)."""
        corrected = self.corrections.claim_for_number(self.payer_id, number)
        claim = self._by_number.get((corrected or number).strip().upper())
        return self.corrections.current(claim) if claim is not None else None

    def search(
        self,
        *,
        claim_number: str = "",
        member_id: str = "",
        service_date: date | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
    ) -> list[SandboxClaim]:
        """Claims matching every criterion given, newest service date first; no criterion, no claims."""
        if claim_number.strip():
            found = self.find(claim_number)
            candidates = [found] if found is not None else []
        elif member_id.strip():
            candidates = self._by_member.get(member_id.strip().upper(), [])
        elif date_from or date_to or service_date:
            candidates = list(self.claims)
        else:
            return []
        return [
            self.corrections.current(claim)
            for claim in candidates
            if (service_date is None or claim.service_date_from <= service_date <= claim.service_date_to)
            and (date_from is None or claim.service_date_to >= date_from)
            and (date_to is None or claim.service_date_from <= date_to)
            and (not member_id.strip() or claim.patient.member_id.upper() == member_id.strip().upper())
        ]

    def find_member(self, member_id: str, dob: date | None) -> tuple[Patient, Eligibility] | MemberMiss:
        """Find a member as eligibility pages and 270s do: the id must exist and the birth date match."""
        key = member_id.strip().upper()
        patient = self._members.get(key)
        if patient is None:
            return MemberMiss.NO_SUCH_MEMBER
        if dob != patient.dob:
            return MemberMiss.BIRTH_DATE_MISMATCH
        return patient, self._eligibility[key]
