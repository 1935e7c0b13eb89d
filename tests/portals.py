"""Helpers for tests that drive the real engine against the sandbox portals.

The sandbox world is the ground truth: what each payer really decided about each claim. Tests ask
the portals through the playbooks and compare what the engine read with that truth.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path

from pydantic import SecretStr

from claims.models import Patient
from claims.status import ClaimStatus
from portal_adapters.contract import ClaimQuery, EligibilityQuery
from portal_adapters.credentials import PortalAccount
from portal_adapters.engine import PlaybookPortalAdapter
from portal_adapters.evidence import EvidenceStore
from portal_adapters.playbook import load_playbook
from sandbox.accounts import ACCOUNTS, ServerName
from sandbox.dataset import load_world
from sandbox.models import Outcome, SandboxClaim
from sandbox.servers import SandboxEndpoints

REPO = Path(__file__).resolve().parents[1]
PAYERS = ("SUNRISE", "MERIDIAN", "KEYSTONE")

EXPECTED: dict[Outcome, ClaimStatus] = {
    Outcome.PAID: ClaimStatus.PAID,
    Outcome.PARTIALLY_PAID: ClaimStatus.PARTIALLY_PAID,
    Outcome.DENIED: ClaimStatus.DENIED,
    Outcome.PENDING: ClaimStatus.PENDING,
    Outcome.INFO_REQUESTED: ClaimStatus.INFO_REQUESTED,
    Outcome.REJECTED: ClaimStatus.REJECTED,
}


def server(payer: str) -> ServerName:
    return ServerName(payer.lower())


def account(payer: str, index: int = 0, password: str | None = None) -> PortalAccount:
    sandbox_account = ACCOUNTS[server(payer)][index]
    return PortalAccount(
        username=sandbox_account.username,
        password=SecretStr(password or sandbox_account.password),
        totp_secret=SecretStr(sandbox_account.totp_secret) if sandbox_account.totp_secret else None,
        security_answers={q: SecretStr(a) for q, a in sandbox_account.security_answers.items()},
    )


def patient(claim: SandboxClaim) -> Patient:
    p = claim.patient
    return Patient(last_name=p.last_name, first_name=p.first_name, date_of_birth=p.dob, member_id=p.member_id)


def query(claim: SandboxClaim) -> ClaimQuery:
    return ClaimQuery(
        claim_id=claim.claim_id,
        payer_id=claim.payer_id,
        patient=patient(claim),
        service_date_from=min(line.service_date_from for line in claim.lines),
        service_date_to=max(line.service_date_to for line in claim.lines),
        billed_amount=sum((line.charge for line in claim.lines), Decimal("0.00")),
        rendering_npi=claim.rendering_npi,
    )


def eligibility_query(claim: SandboxClaim) -> EligibilityQuery:
    return EligibilityQuery(payer_id=claim.payer_id, patient=patient(claim), service_date=load_world().reference_date)


def expected_status(claim: SandboxClaim) -> ClaimStatus:
    return ClaimStatus.NOT_FOUND if claim.payer is None else EXPECTED[claim.payer.outcome]


def claims_of(payer: str, wanted: Callable[[SandboxClaim], bool] = lambda _: True) -> list[SandboxClaim]:
    return [c for c in load_world().claims if c.payer_id == payer and wanted(c)]


def one_per_outcome(payer: str) -> list[SandboxClaim]:
    """The first claim of each outcome, plus one the payer never received."""
    picked: dict[object, SandboxClaim] = {}
    for claim in claims_of(payer):
        picked.setdefault(claim.payer.outcome if claim.payer else None, claim)
    return list(picked.values())


@asynccontextmanager
async def open_adapter(
    sandbox: SandboxEndpoints,
    payer: str,
    evidence_dir: Path,
    accounts: list[PortalAccount] | None = None,
    playbook_path: Path | None = None,
) -> AsyncIterator[PlaybookPortalAdapter]:
    playbook = load_playbook(playbook_path or REPO / "playbooks" / payer.lower() / "playbook.yaml")
    # Short waits: the sandbox answers in milliseconds, and failure tests wait out every timeout.
    playbook = playbook.model_copy(update={"session": playbook.session.model_copy(update={"element_timeout_ms": 2500})})
    adapter = PlaybookPortalAdapter(
        playbook,
        accounts or [account(payer)],
        EvidenceStore(evidence_dir),
        base_url=sandbox[server(payer)].base_url,
    )
    try:
        yield adapter
    finally:
        await adapter.close()
