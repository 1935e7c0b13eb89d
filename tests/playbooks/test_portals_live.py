"""Every playbook, in real headless Chromium against its sandbox portal: what the engine reads is
what the payer decided (the sandbox world is the ground truth)."""

from decimal import Decimal
from pathlib import Path

import pytest

from claims.models import Benefit
from portal_adapters.contract import ClaimStatusResult
from sandbox.dataset import load_world
from sandbox.servers import SandboxEndpoints
from sandbox.testing import SandboxAdmin
from tests.portals import (
    PAYERS,
    claims_of,
    eligibility_query,
    expected_status,
    one_per_outcome,
    open_adapter,
    query,
    server,
)

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("payer", PAYERS)
async def test_each_outcome_reads_as_the_payer_decided(sandbox: SandboxEndpoints, payer: str, tmp_path: Path) -> None:
    claims = one_per_outcome(payer)
    assert len(claims) >= 6
    async with open_adapter(sandbox, payer, tmp_path) as adapter:
        results = await adapter.check_claims([query(c) for c in claims])
    for claim, result in zip(claims, results, strict=True):
        assert isinstance(result, ClaimStatusResult), result
        assert result.claim_id == claim.claim_id
        assert result.status is expected_status(claim), (claim.claim_id, result.payer_status_text)
        if claim.payer is None:
            continue
        record = claim.payer
        assert result.payer_claim_number == record.payer_claim_number
        assert result.paid_amount in (record.paid, None if record.paid == 0 else record.paid)
        assert result.billed_amount == sum((line.charge for line in claim.lines), Decimal("0.00"))
        if record.payment is not None:
            assert result.check_number == record.payment.trace_number
            assert result.payment_date == record.payment.payment_date
        expected = sorted(
            (line.line_number, str(a.group), a.carc, a.rarc or "", a.amount)
            for line in claim.lines
            for a in line.adjustments
        )
        got = sorted((d.line_number, d.group.value, d.carc, "".join(d.rarcs), d.amount) for d in result.denials)
        assert got == expected, claim.claim_id


@pytest.mark.parametrize("payer", PAYERS)
async def test_eligibility_reads_coverage_and_benefits(sandbox: SandboxEndpoints, payer: str, tmp_path: Path) -> None:
    world = load_world()
    claim = claims_of(payer)[0]
    truth = next(e for e in world.eligibility if e.member_id == claim.patient.member_id)
    async with open_adapter(sandbox, payer, tmp_path) as adapter:
        result = await adapter.check_eligibility(eligibility_query(claim))
    assert result.found
    assert result.active is truth.is_active_on(world.reference_date)
    assert result.plan_name is not None and result.plan_name.lower() == truth.plan_name.lower()
    benefits = {b.kind: b for b in result.benefits}
    assert benefits["copay"] == Benefit(kind="copay", amount=truth.copay)
    assert benefits["coinsurance"].percent == truth.coinsurance_percent
    assert benefits["deductible"] == Benefit(
        kind="deductible", amount=truth.deductible, remaining=truth.deductible_remaining
    )
    if truth.out_of_pocket_max is None:
        assert "out_of_pocket" not in benefits
    else:
        assert benefits["out_of_pocket"].remaining == truth.out_of_pocket_remaining


@pytest.mark.parametrize("payer", PAYERS)
async def test_unknown_member_is_a_result_not_an_error(sandbox: SandboxEndpoints, payer: str, tmp_path: Path) -> None:
    claim = claims_of(payer)[0]
    unknown = eligibility_query(claim).model_copy(
        update={"patient": eligibility_query(claim).patient.model_copy(update={"member_id": "ZZ000000000"})}
    )
    async with open_adapter(sandbox, payer, tmp_path) as adapter:
        result = await adapter.check_eligibility(unknown)
    assert (result.found, result.active) == (False, False)


@pytest.mark.parametrize("payer", PAYERS)
async def test_one_login_per_session_for_many_lookups(sandbox: SandboxEndpoints, payer: str, tmp_path: Path) -> None:
    claims = claims_of(payer, lambda c: c.payer is not None)[:8]
    async with open_adapter(sandbox, payer, tmp_path) as adapter:
        results = await adapter.check_claims([query(c) for c in claims])
        sessions = len(adapter.sessions)
        assert sessions == adapter.playbook.session.max_concurrent
        assert [s.logins for s in adapter.sessions] == [1] * sessions
        assert sum(s.checks for s in adapter.sessions) == len(claims)
    assert all(isinstance(r, ClaimStatusResult) for r in results)
    with SandboxAdmin(sandbox[server(payer)]) as admin:
        counters = admin.counters()
    assert counters.logins == sessions
    assert counters.peak_sessions <= adapter.playbook.session.max_concurrent
