"""The committed exports of the sandbox world: the practice's claims as CSV and as an 837P.

Both hold every claim the practice billed, the ones the payers never received included, so the
ledger can import them and the bots then find out who has what.

    uv run python -m sandbox.dataset --write
"""

from __future__ import annotations

import argparse
import csv
import io
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path

from edi.outbound import (
    Address,
    BillingProviderDetails,
    ControlNumberCounter,
    InterchangeSettings,
    PayerDetails,
    ProfessionalClaimSubmission,
    ReceiverDetails,
    ServiceLineSubmission,
    SubmitterDetails,
    SubscriberDetails,
)
from edi.writers import write_837p
from sandbox.dataset import load_world
from sandbox.models import SandboxClaim, SandboxWorld

DATA_DIR = Path(__file__).parent / "data"
CLAIMS_CSV_PATH = DATA_DIR / "claims.csv"
CLAIMS_837_PATH = DATA_DIR / "claims.837"
#: The clearinghouse's id, as the 837P's receiver and interchange receiver.
CLEARINGHOUSE_ID = "SANDBOXCH"
#: A fixed creation time, so the 837P is the same bytes every time it is generated.
EXPORT_CREATED_AT = datetime(2026, 11, 20, 12, 0)
CLAIM_FILING_INDICATOR = {"SUNRISE": "CI", "MERIDIAN": "CI", "KEYSTONE": "MB"}

CSV_COLUMNS = (
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
)


def _csv_rows(world: SandboxWorld) -> Iterator[dict[str, str]]:
    for claim in world.claims:
        for line in claim.lines:
            yield {
                "claim_id": claim.claim_id,
                "payer_id": claim.payer_id,
                "patient_last_name": claim.patient.last_name,
                "patient_first_name": claim.patient.first_name,
                "member_id": claim.patient.member_id,
                "patient_dob": claim.patient.dob.isoformat(),
                "rendering_npi": claim.rendering_npi,
                "diagnosis_codes": ";".join(claim.diagnosis_codes),
                "submitted_date": claim.submitted_date.isoformat(),
                # The practice learns the payer's number only from a response, so a fresh import has none.
                "payer_claim_number": "",
                "billed_amount": f"{claim.billed_amount:.2f}",
                "place_of_service": claim.place_of_service,
                "service_date_from": line.service_date_from.isoformat(),
                "service_date_to": line.service_date_to.isoformat(),
                "procedure_code": line.procedure_code,
                "modifiers": ";".join(line.modifiers),
                "units": str(line.units),
                "line_charge": f"{line.charge:.2f}",
                "diagnosis_pointers": ";".join(str(p) for p in line.diagnosis_pointers),
            }


def claims_csv_text(world: SandboxWorld) -> str:
    """The practice's claims in the docs/claims-csv.md format, one row per service line."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(_csv_rows(world))
    return buffer.getvalue()


def billing_provider(world: SandboxWorld) -> BillingProviderDetails:
    """The practice as the 837P's billing provider."""
    practice = world.practice
    return BillingProviderDetails(
        name=practice.name.upper(),
        npi=practice.npi,
        tax_id=practice.tax_id,
        address=Address(
            line1=practice.address.upper(),
            city=practice.city.upper(),
            state=practice.state,
            postal_code=practice.zip_code,
        ),
    )


def claim_submission(claim: SandboxClaim, world: SandboxWorld) -> ProfessionalClaimSubmission:
    """One claim as the practice bills it (edi.writers.corrected_submission makes a 7 or 8 of it)."""
    patient = claim.patient
    return ProfessionalClaimSubmission(
        claim_id=claim.claim_id,
        billing_provider=billing_provider(world),
        payer=PayerDetails(name=world.payer_names[claim.payer_id].upper(), payer_id=claim.payer_id),
        subscriber=SubscriberDetails(
            last_name=patient.last_name.upper(),
            first_name=patient.first_name.upper(),
            member_id=patient.member_id,
            birth_date=patient.dob,
            gender=patient.sex,
        ),
        claim_filing_indicator=CLAIM_FILING_INDICATOR[claim.payer_id],
        place_of_service=claim.place_of_service,
        diagnosis_codes=[code.replace(".", "") for code in claim.diagnosis_codes],  # X12 drops the dot
        service_lines=[
            ServiceLineSubmission(
                procedure_code=line.procedure_code,
                modifiers=list(line.modifiers),
                charge=line.charge,
                units=line.units,
                service_date=line.service_date_from,
                diagnosis_pointers=list(line.diagnosis_pointers),
            )
            for line in claim.lines
        ],
    )


def submissions_837_text(world: SandboxWorld, submissions: Sequence[ProfessionalClaimSubmission]) -> str:
    """Claims as one 837P (005010X222A1) interchange from the practice to the sandbox clearinghouse."""
    practice = world.practice
    return write_837p(
        list(submissions),
        submitter=SubmitterDetails(name=practice.name.upper(), identifier=practice.tax_id),
        receiver=ReceiverDetails(name="SANDBOX CLEARINGHOUSE", identifier=CLEARINGHOUSE_ID),
        settings=InterchangeSettings(
            sender_id=practice.tax_id, receiver_id=CLEARINGHOUSE_ID, usage_indicator="T", created_at=EXPORT_CREATED_AT
        ),
        control_numbers=ControlNumberCounter(),
    )


def claims_837_text(world: SandboxWorld, claims: Sequence[SandboxClaim] | None = None) -> str:
    """The claims (default: every claim) as one 837P (005010X222A1) interchange to the clearinghouse."""
    chosen = world.claims if claims is None else claims
    return submissions_837_text(world, [claim_submission(claim, world) for claim in chosen])


def write_exports(world: SandboxWorld, directory: Path = DATA_DIR) -> list[Path]:
    """Write the committed export files; returns what was written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for path, text in ((CLAIMS_CSV_PATH, claims_csv_text(world)), (CLAIMS_837_PATH, claims_837_text(world))):
        target = directory / path.name
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Sandbox dataset: regenerate the committed exports.")
    parser.add_argument("--write", action="store_true", help="write sandbox/data/claims.csv and claims.837")
    args = parser.parse_args(argv)
    world = load_world()
    if args.write:
        for path in write_exports(world):
            print(f"wrote {path}")
        return
    known = sum(1 for claim in world.claims if claim.payer is not None)
    print(f"{len(world.claims)} claims ({known} known to their payer), {len(world.eligibility)} members")
