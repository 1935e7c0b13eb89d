"""`claimbot denials list` over a ledger filled from the sandbox world: the practice's claims imported, sent
to the sandbox clearinghouse as the committed 837P, and its 835s recorded (real HTTP, real SQLite)."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from claimbot.cli import app
from claimbot.demo import sample_claims_csv
from claims.edi_intake import import_edi
from claims.importing import import_claims_csv
from claims.ledger import Ledger, upgrade
from claims.payer_config import load_payers
from sandbox.accounts import CLEARINGHOUSE_API_KEY, ServerName
from sandbox.codes import Outcome
from sandbox.dataset import load_world
from sandbox.exports import CLAIMS_837_PATH
from sandbox.servers import SandboxEndpoints
from sandbox.testing import reset_all
from tests.conftest import REPO

DENIED = (Outcome.DENIED, Outcome.PARTIALLY_PAID)


def remittances(sandbox: SandboxEndpoints, folder: Path) -> Path:
    """The sandbox clearinghouse's 835 for the practice's whole 837P."""
    headers = {"X-API-Key": CLEARINGHOUSE_API_KEY}
    envelope = {
        "payload_type": "X12_837_Request_005010X222A1",
        "processing_mode": "Batch",
        "payload_id": "denials-cli",
        "sender_id": "WILLOWBEND",
        "receiver_id": "SANDBOXCH",
        "payload": CLAIMS_837_PATH.read_text("utf-8"),
    }
    with httpx.Client(base_url=sandbox.url(ServerName.CLEARINGHOUSE), headers=headers, timeout=30) as client:
        status = client.post("/core/batch", json=envelope).json()
        for _ in range(50):
            if "835" not in status["pending"]:
                break
            time.sleep(0.1)
            status = client.get(f"/core/batch/{status['submission_id']}").json()
        era = client.get(f"/core/batch/{status['submission_id']}/835")
    era.raise_for_status()
    path = folder / "sandbox.835"
    path.write_text(era.text, "utf-8")
    return path


@pytest.fixture(scope="module")
def world_data_dir(sandbox: SandboxEndpoints, tmp_path_factory: pytest.TempPathFactory) -> Path:
    reset_all(sandbox)
    folder = tmp_path_factory.mktemp("denials") / "data"
    url = f"sqlite:///{folder / 'ledger.sqlite3'}"
    folder.mkdir(mode=0o700)
    upgrade(url)
    with Ledger.connect(url) as ledger:
        ledger.sync_payers(load_payers(REPO / "config" / "payers.yaml"))
        import_claims_csv(ledger, sample_claims_csv())
        summary = import_edi(ledger, [remittances(sandbox, folder.parent)])
        assert summary.claims.recorded > 0 and summary.errors == 0
    return folder


@pytest.fixture
def world(world_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CLAIMBOT_DATA_DIR", str(world_data_dir))
    monkeypatch.delenv("CLAIMBOT_DATABASE_URL", raising=False)
    monkeypatch.delenv("CLAIMBOT_CONFIG_DIR", raising=False)
    monkeypatch.delenv("CLAIMBOT_PLAYBOOKS_DIR", raising=False)
    return world_data_dir


def listed(runner: CliRunner, *options: str) -> dict[str, Any]:
    result = runner.invoke(app, ["denials", "list", "--json", *options])
    assert result.exit_code == 0, result.output
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def test_every_denied_claim_of_the_world_is_listed_with_a_rule_a_next_step_and_a_deadline(
    world: Path, runner: CliRunner
) -> None:
    expected = {c.claim_id for c in load_world().claims if c.payer is not None and c.payer.outcome in DENIED}
    found = listed(runner)
    denials = found["denials"]
    assert {d["claim_id"] for d in denials} == expected
    assert all(d["recommendation"]["rule"] != "fallback" for d in denials)
    assert all(d["recommendation"]["category"] != "review" and d["recommendation"]["next_step"] for d in denials)
    # each recommendation quotes codes the payer gave that claim
    for d in denials:
        given = {x["group"] + "-" + x["carc"] for x in d["denials"]}
        assert d["recommendation"]["codes"][0] in given
    assert found["open"] == len(denials)
    assert Decimal(found["amount_at_risk"]) == sum(Decimal(d["amount_at_risk"]) for d in denials)
    assert sum(found["by_category"].values()) == len(denials)
    # soonest deadline first
    dues = [d["next_deadline"]["due"] for d in denials if d["next_deadline"]]
    assert dues == sorted(dues)


def test_filters_by_payer_category_and_deadline(world: Path, runner: CliRunner) -> None:
    everything = listed(runner)["denials"]
    keystone = listed(runner, "--payer", "keystone")["denials"]
    assert keystone and {d["payer_id"] for d in keystone} == {"KEYSTONE"}
    assert len(keystone) == sum(1 for d in everything if d["payer_id"] == "KEYSTONE")
    duplicates = listed(runner, "--category", "duplicate")["denials"]
    assert duplicates and all(d["recommendation"]["codes"][0] == "CO-18" for d in duplicates)
    today = date.fromisoformat(listed(runner)["today"])
    dues = [date.fromisoformat(d["next_deadline"]["due"]) for d in everything if d["next_deadline"]]
    days = sorted((due - today).days for due in dues)
    cut = days[len(days) // 2]
    soon = listed(runner, "--due-within", str(cut))["denials"]
    assert len(soon) == sum(1 for n in days if n <= cut) and 0 < len(soon) < len(everything)


def test_the_table_fits_and_carries_no_phi(world: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["denials", "list"])
    assert result.exit_code == 0, result.output
    for header in ("claim", "payer", "codes", "category", "next step", "at risk", "next deadline", "age"):
        assert header in result.output
    counts = Counter(c.payer.outcome for c in load_world().claims if c.payer is not None)
    assert f"{counts[Outcome.DENIED] + counts[Outcome.PARTIALLY_PAID]} open denials, " in result.output
    assert "by category: " in result.output and "days left" in result.output
    for patient in load_world().patients:
        assert patient.last_name.upper() not in result.output.upper() and patient.member_id not in result.output


def test_an_unknown_payer_or_category_is_refused(world: Path, runner: CliRunner) -> None:
    assert runner.invoke(app, ["denials", "list", "--payer", "NOPE"]).exit_code == 4
    assert runner.invoke(app, ["denials", "list", "--category", "nonsense"]).exit_code == 2


def test_a_broken_denial_playbook_stops_the_list_and_fails_validation(
    world: Path, runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "playbooks"
    broken.mkdir()
    (broken / "denials.yaml").write_text("fallback: {next_step: x}\nrules:\n  - {carc: '16', category: coding}\n")
    monkeypatch.setenv("CLAIMBOT_PLAYBOOKS_DIR", str(broken))
    listing = runner.invoke(app, ["denials", "list"])
    assert listing.exit_code == 5
    assert f"{broken / 'denials.yaml'}: line 3: key rules.0.next_step: is required" in listing.output
    validated = runner.invoke(app, ["playbook", "validate"])
    assert validated.exit_code == 3 and "BAD " in validated.output and "rules.0.correctable" in validated.output
    shipped = runner.invoke(app, ["playbook", "validate", str(REPO / "playbooks" / "denials.yaml")])
    assert shipped.exit_code == 0 and "ok  denials.yaml: " in shipped.output
    everything = runner.invoke(app, ["playbook", "validate", str(REPO / "playbooks")])
    assert everything.exit_code == 0 and "ok  denials.yaml" in everything.output and "ok  SUNRISE" in everything.output


def test_claims_show_gives_the_next_step_the_deadlines_and_one_timeline_with_disagreements(
    runner: CliRunner, data_dir: Path, tmp_path: Path
) -> None:
    from claims.models import (
        Action,
        ActionOutcome,
        AdjustmentGroup,
        CheckSource,
        Denial,
        FrequencyCode,
        Payment,
        StatusCheck,
        Submission,
        SubmissionRoute,
        SubmissionState,
    )
    from claims.status import ClaimStatus
    from tests.factories import claims_csv, make_claim

    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["claims", "import", str(claims_csv(tmp_path / "c.csv", [make_claim("K7", "KEYSTONE")]))])
    line_denial = Denial(group=AdjustmentGroup.CO, carc="16", rarcs=("N290",), amount=Decimal("18.50"), line_number=2)
    with Ledger.connect(f"sqlite:///{data_dir / 'ledger.sqlite3'}") as ledger:
        era = StatusCheck(
            claim_id="K7",
            source=CheckSource.EDI,
            status=ClaimStatus.PARTIALLY_PAID,
            checked_at=datetime(2026, 10, 22, 8, tzinfo=UTC),
            effective_at=datetime(2026, 10, 20, tzinfo=UTC),
            payment_date=date(2026, 10, 20),
            paid_amount=Decimal("75.00"),
            denials=(line_denial,),
            dedupe_key="edi:KEYSTONE:000000042:0001:9:835-claim:K7",
        )
        portal = era.model_copy(
            update={
                "source": CheckSource.PORTAL,
                "checked_at": datetime(2026, 10, 23, 9, tzinfo=UTC),
                "effective_at": None,
                "paid_amount": Decimal("80.00"),
                "dedupe_key": None,
                "evidence_ref": "keystone/K7-claim.html",
            }
        )
        ledger.record_status_check(era)
        ledger.record_status_check(portal)
        ledger.record_payment(Payment(claim_id="K7", amount=Decimal("75.00"), paid_date=date(2026, 10, 20)))
        ledger.record_action(
            Action(
                actor="maria",
                action="resubmit",
                idempotency_key="resubmit:K7:1",
                outcome=ActionOutcome.SUCCEEDED,
                claim_id="K7",
            )
        )
        ledger.add_submission(
            Submission(
                claim_id="K7",
                claim_version=1,
                frequency_code=FrequencyCode.REPLACEMENT,
                original_payer_claim_number="KS123",
                route=SubmissionRoute.API,
                state=SubmissionState.SENT,
                requested_by="maria",
                idempotency_key="resubmit:K7:1",
                sent_at=datetime(2026, 10, 24, 10, tzinfo=UTC),
            )
        )
    shown = json.loads(runner.invoke(app, ["claims", "show", "K7", "--json"]).stdout)
    assert shown["recommendation"]["codes"] == ["CO-16", "N290"] and shown["recommendation"]["rule"] == "CO-16 N290"
    assert {d["kind"]: d["due"] for d in shown["deadlines"]["deadlines"]} == {
        "corrected_claim": "2027-09-14",  # Medicare: 365 days from the date of service
        "appeal": "2027-02-17",  # 120 days from the remittance
    }
    assert shown["deadlines"]["amount_at_risk"] == "18.50"
    kinds = [(e["kind"], e["source"]) for e in shown["timeline"]]
    assert kinds == [
        ("status", "edi"),
        ("payment", "edi"),
        ("status", "portal"),
        ("submission", "api"),
        ("action", "audit"),
    ]
    assert shown["timeline"][2]["disagreements"] == ["paid 80.00 here, 75.00 by edi 2026-10-20"]
    text = runner.invoke(app, ["claims", "show", "K7"]).stdout
    assert "next step: Rendering provider id missing or invalid" in text and "rule CO-16 N290" in text
    assert "deadlines: next appeal 2027-02-17" in text and "at risk 18.50" in text
    assert "paid 80.00 here, 75.00 by edi 2026-10-20" in text and "keystone/K7-claim.html" in text
    assert "1 entries disagree with another source" in text
