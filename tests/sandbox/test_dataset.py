"""The seeded dataset: size, realistic shares, the listed CARCs, consistency, and the committed CSV."""

from __future__ import annotations

import csv
import io
from collections import Counter
from decimal import Decimal

from edi import read_x12_file
from edi.professional_claim import ProfessionalClaimSet
from sandbox.codes import Outcome
from sandbox.dataset import (
    FIRST_NAMES_F,
    FIRST_NAMES_M,
    LAST_NAMES,
    MEMBER_PREFIX,
    REFERENCE_DATE,
    TIMELY_FILING_DAYS,
    load_world,
    npi_with_check_digit,
)
from sandbox.exports import CLAIMS_837_PATH, CLAIMS_CSV_PATH, claims_837_text, claims_csv_text
from sandbox.models import PAYER_IDS

LISTED_CARCS = {("CO", c) for c in ("4", "16", "18", "22", "29", "45", "50", "96", "97", "109", "167", "197")} | {
    ("PR", c) for c in ("1", "2", "3", "204")
}


def test_at_least_500_claims_spread_over_the_three_payers() -> None:
    world = load_world()
    per_payer = Counter(claim.payer_id for claim in world.claims)
    assert len(world.claims) >= 540
    assert all(per_payer[payer] >= 170 for payer in PAYER_IDS)
    assert len({claim.claim_id for claim in world.claims}) == len(world.claims)
    assert all(1 <= len(claim.lines) <= 4 for claim in world.claims)


def test_outcome_shares_are_realistic() -> None:
    claims = load_world().claims
    share = Counter(claim.payer.outcome if claim.payer else Outcome.NOT_FOUND for claim in claims)
    total = len(claims)
    expected = {
        Outcome.PAID: (0.40, 0.50),
        Outcome.PARTIALLY_PAID: (0.07, 0.13),
        Outcome.DENIED: (0.15, 0.25),
        Outcome.PENDING: (0.09, 0.15),
        Outcome.INFO_REQUESTED: (0.03, 0.07),
        Outcome.REJECTED: (0.02, 0.06),
        Outcome.NOT_FOUND: (0.02, 0.06),
    }
    for outcome, (low, high) in expected.items():
        assert low <= share[outcome] / total <= high, outcome


def test_every_listed_carc_occurs_and_denials_use_them() -> None:
    world = load_world()
    seen = {(adj.group, adj.carc) for claim in world.claims for adj in claim.adjustments}
    assert seen >= LISTED_CARCS
    denied = [c for c in world.claims if c.payer and c.payer.outcome == Outcome.DENIED]
    reasons = {(adj.group, adj.carc) for claim in denied for adj in claim.adjustments if adj.carc != "45"}
    assert len(reasons) >= 14


def test_amounts_balance_like_a_remittance() -> None:
    for claim in load_world().claims:
        record = claim.payer
        if record is None or record.outcome not in (Outcome.PAID, Outcome.PARTIALLY_PAID, Outcome.DENIED):
            continue
        for line in claim.lines:
            assert line.charge - line.paid == sum((a.amount for a in line.adjustments), Decimal(0))
        assert record.paid == sum((line.paid for line in claim.lines), Decimal(0))
        assert record.paid + record.patient_responsibility <= record.allowed <= claim.billed_amount
        assert (record.paid == 0) == (record.outcome == Outcome.DENIED)
        assert record.payment is not None
        assert record.processed_date is not None
        assert record.processed_date <= REFERENCE_DATE


def test_dates_identifiers_and_timely_filing() -> None:
    world = load_world()
    for claim in world.claims:
        assert (REFERENCE_DATE - claim.service_date_from).days <= 305
        assert claim.service_date_from <= claim.submitted_date <= REFERENCE_DATE
        assert npi_with_check_digit(claim.rendering_npi[:9]) == claim.rendering_npi
        assert claim.patient.member_id.startswith(MEMBER_PREFIX[claim.payer_id])
    late = [c for c in world.claims if any(a.carc == "29" for a in c.adjustments)]
    assert late
    for claim in late:
        assert (claim.submitted_date - claim.service_date_from).days > TIMELY_FILING_DAYS[claim.payer_id]


def test_statuses_follow_the_outcome() -> None:
    categories = {
        Outcome.PAID: {"F1", "F3"},
        Outcome.PARTIALLY_PAID: {"F1"},
        Outcome.DENIED: {"F2"},
        Outcome.PENDING: {"P1", "P2"},
        Outcome.INFO_REQUESTED: {"P3", "R4"},
        Outcome.REJECTED: {"A3", "A6", "A7"},
    }
    for claim in load_world().claims:
        if claim.payer is not None:
            assert claim.payer.category_code in categories[claim.payer.outcome]
            assert (claim.payer.payer_claim_number is None) == (claim.payer.outcome == Outcome.REJECTED)


def test_eligibility_covers_every_member_the_payers_know() -> None:
    world = load_world()
    members = {claim.patient.member_id for claim in world.claims if claim.payer is not None}
    assert members <= set(world.eligibility_by_member)
    records = world.eligibility
    assert any(r.coverage_end is not None for r in records)
    assert any(r.deductible_met == r.deductible for r in records)
    assert any(r.deductible_met < r.deductible for r in records)
    assert any(r.copay > 0 for r in records)
    unknown = [c for c in world.claims if c.patient.member_id not in world.eligibility_by_member]
    assert unknown
    assert all(c.payer is None for c in unknown)  # claims under a member id the payer never issued
    for claim in world.claims:
        benefits = world.eligibility_by_member.get(claim.patient.member_id)
        if claim.payer is not None and claim.payer.outcome in (Outcome.PAID, Outcome.PARTIALLY_PAID):
            assert benefits is not None
            assert benefits.is_active_on(claim.service_date_from)


def test_people_are_synthetic() -> None:
    for patient in load_world().patients:
        assert patient.first_name in FIRST_NAMES_F + FIRST_NAMES_M
        assert patient.last_name in LAST_NAMES


def test_the_world_is_the_same_every_time() -> None:
    load_world.cache_clear()
    first = load_world()
    load_world.cache_clear()
    assert load_world() == first


def test_committed_csv_matches_the_generator() -> None:
    assert CLAIMS_CSV_PATH.read_text(encoding="utf-8") == claims_csv_text(load_world()), (
        "sandbox/data/claims.csv is stale: run `uv run python -m sandbox.dataset --write`"
    )


def test_committed_837p_matches_the_generator_and_reads_cleanly() -> None:
    world = load_world()
    assert CLAIMS_837_PATH.read_text(encoding="utf-8") == claims_837_text(world), (
        "sandbox/data/claims.837 is stale: run `uv run python -m sandbox.dataset --write`"
    )
    document = read_x12_file(CLAIMS_837_PATH)
    assert document.all_findings() == []
    claims = [claim for claim_set in document.transactions_of(ProfessionalClaimSet) for claim in claim_set.claims]
    assert {claim.claim_id: claim.charge for claim in claims} == {
        claim.claim_id: claim.billed_amount for claim in world.claims
    }  # every claim once (the writer groups them by subscriber), with its total


def test_csv_follows_the_documented_format() -> None:
    world = load_world()
    rows = list(csv.DictReader(io.StringIO(claims_csv_text(world))))
    assert list(rows[0]) == [
        "claim_id",
        "payer_id",
        "patient_last_name",
        "patient_first_name",
        "member_id",
        "patient_dob",
        "rendering_npi",
        "diagnosis_codes",
        "submitted_date",
        "payer_claim_number",
        "billed_amount",
        "place_of_service",
        "service_date_from",
        "service_date_to",
        "procedure_code",
        "modifiers",
        "units",
        "line_charge",
        "diagnosis_pointers",
    ]
    assert len(rows) == sum(len(claim.lines) for claim in world.claims)
    assert {row["claim_id"] for row in rows} == set(world.claims_by_id)  # not-found claims included
    by_claim: dict[str, Decimal] = Counter()
    for row in rows:
        by_claim[row["claim_id"]] += Decimal(row["line_charge"])
        assert row["payer_id"] in PAYER_IDS
    for row in rows:
        assert Decimal(row["billed_amount"]) == by_claim[row["claim_id"]]
        codes = row["diagnosis_codes"].split(";")
        assert all(1 <= int(p) <= len(codes) for p in row["diagnosis_pointers"].split(";"))
