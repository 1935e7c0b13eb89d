"""The portal route of a correction: SUNRISE's corrected-claim form in real headless Chromium.

The guard checks the claim's status on the portal, then types the corrected claim into the form (a
dry run fills it and stops before the final submit); the confirmation page's numbers are recorded and
the next sweep over the portal reads the payer's decision on the corrected claim. One browser for the
module's tests: one sign-in serves the status check, the form and the sweep.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bots.planner import plan_sweep
from bots.resubmission import PayerRoutes, ResubmissionRequest, ResubmissionService, ResubmissionState
from bots.sweep import PayerLimits, plan_to_sweep, run_sweep
from claims.ledger import Ledger
from claims.models import FrequencyCode, SubmissionRoute, SubmissionState
from claims.payer_config import load_payer_config
from claims.status import ClaimStatus
from claims.team import Actor, Role, TeamConfig
from portal_adapters.contract import PayerAdapter
from portal_adapters.factory import corrects_by_portal
from portal_adapters.retry import RetryPolicy
from sandbox.accounts import ServerName
from sandbox.codes import Outcome
from sandbox.dataset import load_world
from sandbox.servers import SandboxEndpoints
from sandbox.testing import SandboxAdmin, reset_all
from tests.bots.test_resubmission import denied_line, import_some, pick
from tests.conftest import REPO
from tests.portals import open_adapter

pytestmark = pytest.mark.browser

WORLD = load_world()
CONFIG = load_payer_config(REPO / "config" / "payers.yaml")
SAM = Actor(id="cli:sam", name="Sam", roles=frozenset({Role.SPECIALIST}))


class PortalRoutes:
    def __init__(self, portal: PayerAdapter) -> None:
        self.portal = portal

    @asynccontextmanager
    async def open(self, payer_id: str) -> AsyncIterator[PayerRoutes]:
        yield PayerRoutes(status=self.portal, correction=self.portal)


def corrections(sandbox: SandboxEndpoints) -> list[dict[str, object]]:
    with SandboxAdmin(sandbox[ServerName.SUNRISE]) as admin:
        found: list[dict[str, object]] = admin._client.get("/corrections").raise_for_status().json()
    return found


def test_sunrise_corrects_by_its_portal_and_the_others_by_the_clearinghouse() -> None:
    playbooks = REPO / "playbooks"
    assert [p for p in ("SUNRISE", "MERIDIAN", "KEYSTONE") if corrects_by_portal(p, playbooks)] == ["SUNRISE"]


async def test_a_corrected_claim_through_the_portal_form_and_its_answer_on_the_next_sweep(
    sqlite_ledger: Ledger, sandbox: SandboxEndpoints, chromium_path: str, tmp_path: Path
) -> None:
    reset_all(sandbox)
    recent = WORLD.reference_date - timedelta(days=150)  # inside SUNRISE's 180 days from the remittance
    claim = pick(
        "SUNRISE",
        Outcome.DENIED,
        lambda c: (
            c.billed_amount <= Decimal("900")
            and c.payer is not None
            and c.payer.payment is not None
            and c.payer.payment.payment_date >= recent
        ),
    )
    assert claim.payer is not None
    import_some(sqlite_ledger, tmp_path, claim.claim_id)
    change = {f"lines.{denied_line(claim)}.modifiers": "59"}
    async with open_adapter(sandbox, "SUNRISE", tmp_path / "evidence") as portal:
        run = ResubmissionService(
            sqlite_ledger,
            TeamConfig(),
            PortalRoutes(portal),
            CONFIG.payers,
            deadline_rules=CONFIG.deadline_rules(),
            status_retry=RetryPolicy(max_attempts=2, base_delay_s=0.05),
            today=lambda: WORLD.reference_date,
        )
        dry = await run.request_resubmission(
            ResubmissionRequest(claim_id=claim.claim_id, changes=change, dry_run=True, actor=SAM)
        )
        assert dry.state is ResubmissionState.DRY_RUN, dry.message
        assert dry.route is SubmissionRoute.PORTAL and "evidence" in dry.message  # the filled form, not sent
        assert corrections(sandbox) == [] and sqlite_ledger.submissions(claim_id=claim.claim_id) == []

        sent = await run.request_resubmission(
            ResubmissionRequest(claim_id=claim.claim_id, changes=change, reason="modifier 59", actor=SAM)
        )
        assert sent.state is ResubmissionState.SENT, sent.message
        assert (sent.submission_state, sent.route) == (SubmissionState.ACCEPTED, SubmissionRoute.PORTAL)
        assert sent.confirmation_number and sent.payer_claim_number
        [row] = sqlite_ledger.submissions(claim_id=claim.claim_id)
        assert row.evidence_ref and row.x12_sha256 and row.original_payer_claim_number == claim.payer.payer_claim_number
        [entry] = corrections(sandbox)
        assert (entry["claim_id"], entry["frequency_code"], entry["original_claim_number"]) == (
            claim.claim_id,
            "7",
            claim.payer.payer_claim_number,
        )
        current = sqlite_ledger.get_claim(claim.claim_id)
        assert (
            current.frequency_code is FrequencyCode.REPLACEMENT
            and current.payer_claim_number == sent.payer_claim_number
        )
        assert sqlite_ledger.current_status(claim.claim_id) is ClaimStatus.SUBMITTED

        snapshots = [s for s in sqlite_ledger.claim_snapshots("SUNRISE") if s.claim_id == claim.claim_id]
        plan = plan_sweep(snapshots, CONFIG.rules(), {}, WORLD.reference_date + timedelta(days=30))
        assert [c.claim_id for c in plan.due] == [claim.claim_id]
        sweep_id = plan_to_sweep(sqlite_ledger, plan, {"SUNRISE": "portal"}, trigger="test")
        await run_sweep(
            sqlite_ledger,
            sweep_id,
            {"SUNRISE": portal},
            {"SUNRISE": PayerLimits(requests_per_minute=6000, canary=False)},
            RetryPolicy(max_attempts=2, base_delay_s=0.05),
        )
    [entry] = corrections(sandbox)
    answered = sqlite_ledger.history(claim.claim_id)[-1]
    assert answered.source.value == "portal" and answered.status is not ClaimStatus.SUBMITTED
    assert answered.status is {"paid": ClaimStatus.PAID}.get(str(entry["outcome"]), ClaimStatus(str(entry["outcome"])))
    assert sqlite_ledger.current_status(claim.claim_id) is not ClaimStatus.DENIED
