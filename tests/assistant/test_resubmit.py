"""Resubmission through Slack: Resubmit button -> modal -> confirmation -> the guard service
(bots.resubmission) on the real sandbox clearinghouse. The two-person rule, a double submit, a paid
claim, bad changes and people without the role, each through signed requests to the running app;
the sandbox's own 837 counter says what reached the payer. Each test ends with the PHI scan."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bots.resubmission import PayerRoutes, ResubmissionService
from claimbot.demo import sample_claims_csv
from claims.importing import import_claims_csv
from claims.ledger import Ledger
from claims.models import SubmissionState
from claims.payer_config import load_payer_config
from claims.team import TeamConfig
from portal_adapters.clearinghouse import BatchPolling, ClearinghouseAdapter
from portal_adapters.retry import RetryPolicy
from sandbox.accounts import CLEARINGHOUSE_API_KEY, ServerName
from sandbox.codes import Outcome
from sandbox.dataset import load_world
from sandbox.models import SandboxClaim
from sandbox.servers import SandboxEndpoints
from sandbox.testing import SandboxAdmin, reset_all
from tests.assistant.conftest import LEAD, OUTSIDER, SPECIALIST, SlackClient, StartApp, assert_no_phi
from tests.assistant.fake_slack import FakeSlack
from tests.conftest import REPO
from tests.portals import claims_of

WORLD = load_world()
CONFIG = load_payer_config(REPO / "config" / "payers.yaml")


def denied(index: int) -> SandboxClaim:
    found = [c for c in claims_of("KEYSTONE") if c.payer and c.payer.outcome == Outcome.DENIED]
    return [c for c in found if c.billed_amount <= Decimal("900")][index]


def paid() -> SandboxClaim:
    return next(c for c in claims_of("KEYSTONE") if c.payer and c.payer.outcome == Outcome.PAID)


def denied_line(claim: SandboxClaim) -> int:
    """A line the payer denied (line 1 of a claim it paid)."""
    return next((n for n, line in enumerate(claim.lines, start=1) if line.paid == 0), 1)


class ClearinghouseRoutes:
    """KEYSTONE's status and corrections both through the sandbox clearinghouse."""

    def __init__(self, adapter: ClearinghouseAdapter) -> None:
        self.adapter = adapter

    @asynccontextmanager
    async def open(self, payer_id: str) -> AsyncIterator[PayerRoutes]:
        yield PayerRoutes(status=self.adapter, correction=self.adapter)


@pytest.fixture
def practice(sqlite_ledger: Ledger, tmp_path: Path, sandbox: SandboxEndpoints) -> Ledger:
    reset_all(sandbox)
    wanted = {denied(0).claim_id, denied(1).claim_id, paid().claim_id}
    rows = sample_claims_csv().read_text("utf-8").splitlines(keepends=True)
    path = tmp_path / "claims.csv"
    path.write_text(rows[0] + "".join(r for r in rows[1:] if r.split(",", 1)[0] in wanted), "utf-8")
    import_claims_csv(sqlite_ledger, path)
    return sqlite_ledger


@pytest.fixture
def clearinghouse(sandbox: SandboxEndpoints) -> Iterator[ClearinghouseAdapter]:
    import asyncio

    adapter = ClearinghouseAdapter(
        "KEYSTONE",
        sandbox.url(ServerName.CLEARINGHOUSE),
        SecretStr(CLEARINGHOUSE_API_KEY),
        polling=BatchPolling(ack_wait_s=10, ack_poll_first_s=0.05, ack_poll_max_s=0.2),
        timeout_s=5,
    )
    yield adapter
    asyncio.run(adapter.close())


def start(start_slack_app: StartApp, ledger: Ledger, adapter: ClearinghouseAdapter, team: TeamConfig) -> SlackClient:
    service = ResubmissionService(
        ledger,
        team,
        ClearinghouseRoutes(adapter),
        CONFIG.payers,
        deadline_rules=CONFIG.deadline_rules(),
        status_retry=RetryPolicy(max_attempts=2, base_delay_s=0.01),
        today=lambda: WORLD.reference_date,
    )
    return start_slack_app(ledger, team_config=team, resubmissions=service)


def sent_837s(sandbox: SandboxEndpoints) -> int:
    with SandboxAdmin(sandbox[ServerName.CLEARINGHOUSE]) as admin:
        return admin.counters().transactions.get("837", 0)


def modal_values(changes: str = "", reason: str = "modifier 59 was missing", kind: str = "corrected") -> dict[str, Any]:
    return {
        "kind": {"kind": {"type": "radio_buttons", "selected_option": {"value": kind}}},
        "changes": {"changes": {"type": "plain_text_input", "value": changes}},
        "reason": {"reason": {"type": "plain_text_input", "value": reason}},
    }


def review(slack: SlackClient, claim_id: str, values: dict[str, Any], user: str = SPECIALIST) -> httpx.Response:
    return slack.submit("resubmit_claim", json.dumps({"claim_id": claim_id}), values, user)


def ask_to_resubmit(
    slack: SlackClient, fake: FakeSlack, claim: SandboxClaim, user: str = SPECIALIST
) -> tuple[str, str]:
    """Button, modal, review: the confirmation's private_metadata (what Send submits) and its text."""
    slack.action("claim_resubmit", claim.claim_id, user)
    (opened,) = fake.wait_for("views.open")
    assert opened["view"]["callback_id"] == "resubmit_claim"
    reviewed = review(slack, claim.claim_id, modal_values(f"lines.{denied_line(claim)}.modifiers=25,59"), user)
    assert reviewed.status_code == 200
    answer = reviewed.json()
    assert answer["response_action"] == "update", answer
    assert answer["view"]["callback_id"] == "resubmit_confirm"
    return str(answer["view"]["private_metadata"]), json.dumps(answer["view"]["blocks"])


def outcomes(fake: FakeSlack, count: int) -> list[str]:
    return [json.dumps(u["view"]["blocks"]) for u in fake.wait_for("views.update", count, timeout=30)]


def test_a_specialist_resubmits_a_denied_claim_once_even_when_sending_twice(
    start_slack_app: StartApp,
    fake_slack: FakeSlack,
    practice: Ledger,
    clearinghouse: ClearinghouseAdapter,
    sandbox: SandboxEndpoints,
    team: TeamConfig,
) -> None:
    claim = denied(0)
    slack = start(start_slack_app, practice, clearinghouse, team)
    confirm, _ = ask_to_resubmit(slack, fake_slack, claim)

    first = slack.submit("resubmit_confirm", confirm, {})
    second = slack.submit("resubmit_confirm", confirm, {})  # a double click on Send

    assert first.json()["response_action"] == "update" and second.status_code == 200
    results = outcomes(fake_slack, 2)
    assert sum("asked for before" in r for r in results) == 1, results
    assert sent_837s(sandbox) == 1
    (row,) = practice.submissions(claim_id=claim.claim_id)
    assert (row.state, row.requested_by) == (SubmissionState.ACCEPTED, f"slack:{SPECIALIST}")
    assert row.changes == {f"lines.{denied_line(claim)}.modifiers": "25,59"}
    dms = [m["text"] for m in fake_slack.calls_to("chat.postMessage")]
    assert len(dms) == 2 and all(text.startswith(f"Claim {claim.claim_id}: ") for text in dms)
    audited = [(a.actor, a.action) for a in practice.actions_for(claim.claim_id)]
    assert (f"slack:{SPECIALIST}", "slack.view:resubmit_confirm") in audited
    assert audited.count((f"slack:{SPECIALIST}", "resubmit.request")) == 2  # the guard's own audit, both tries
    assert_no_phi(fake_slack, practice)


def test_above_the_threshold_a_lead_other_than_the_requester_approves_before_anything_is_sent(
    start_slack_app: StartApp,
    fake_slack: FakeSlack,
    practice: Ledger,
    clearinghouse: ClearinghouseAdapter,
    sandbox: SandboxEndpoints,
    team: TeamConfig,
) -> None:
    claim = denied(1)
    low_threshold = team.model_copy(update={"resubmit_approval_above": Decimal("10.00")})
    slack = start(start_slack_app, practice, clearinghouse, low_threshold)
    confirm, shown = ask_to_resubmit(slack, fake_slack, claim)
    assert "a lead other than you must approve" in shown
    slack.submit("resubmit_confirm", confirm, {})

    (waiting,) = outcomes(fake_slack, 1)
    assert "approv" in waiting
    assert sent_837s(sandbox) == 0
    (row,) = practice.submissions(claim_id=claim.claim_id)
    assert row.state is SubmissionState.AWAITING_APPROVAL
    asked = [m for m in fake_slack.wait_for("chat.postMessage", 2) if "approval asked" in m["text"]]
    assert len(asked) == 1 and asked[0]["channel"] == "D0LEADER"  # the lead, not the requester
    buttons = [e for b in asked[0]["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["action_id"] for b in buttons] == ["resubmit_approve", "resubmit_cancel"]
    assert buttons[0]["value"] == str(row.id)

    slack.action("resubmit_approve", str(row.id), SPECIALIST, hook="specialist")  # the requester: not a lead
    (refused,) = fake_slack.wait_for("hooks/specialist")
    assert "You need the lead role" in refused["text"]
    assert sent_837s(sandbox) == 0

    slack.action("resubmit_approve", str(row.id), LEAD, hook="lead", message_ts="1700000900.000100")
    approved = fake_slack.wait_for("chat.update", timeout=30)[-1]
    assert f"Submission {row.id}:" in json.dumps(approved["blocks"])
    assert sent_837s(sandbox) == 1
    sent = practice.submission(row.id)
    assert sent is not None and (sent.requested_by, sent.approved_by) == (f"slack:{SPECIALIST}", f"slack:{LEAD}")
    told = fake_slack.wait_for("chat.postMessage", 3)[-1]
    assert told["channel"] == "D0SPECIAL" and f"submission {row.id}" in told["text"]
    assert_no_phi(fake_slack, practice)


def test_a_paid_claim_is_refused_after_the_fresh_status_check_and_nothing_is_sent(
    start_slack_app: StartApp,
    fake_slack: FakeSlack,
    practice: Ledger,
    clearinghouse: ClearinghouseAdapter,
    sandbox: SandboxEndpoints,
    team: TeamConfig,
) -> None:
    claim = paid()
    slack = start(start_slack_app, practice, clearinghouse, team)
    confirm, _ = ask_to_resubmit(slack, fake_slack, claim)
    slack.submit("resubmit_confirm", confirm, {})
    (refused,) = outcomes(fake_slack, 1)
    assert "paid" in refused
    assert sent_837s(sandbox) == 0 and practice.submissions(claim_id=claim.claim_id) == []
    assert practice.history(claim.claim_id)  # the fresh check ran and was recorded
    assert_no_phi(fake_slack, practice)


def test_bad_changes_and_a_reason_naming_the_patient_are_refused_in_the_modal(
    start_slack_app: StartApp,
    fake_slack: FakeSlack,
    practice: Ledger,
    clearinghouse: ClearinghouseAdapter,
    team: TeamConfig,
) -> None:
    claim = denied(0)
    slack = start(start_slack_app, practice, clearinghouse, team)
    cases = {
        "lines.9.units=2": "the claim has",
        "birthday=1970-01-01": "not a field that can be changed",
        "just some words": "write FIELD=VALUE",
        "": "say what to correct",
    }
    for typed, said in cases.items():
        answer = review(slack, claim.claim_id, modal_values(typed)).json()
        assert answer["response_action"] == "errors" and said in answer["errors"]["changes"], (typed, answer)
    void_with_changes = review(slack, claim.claim_id, modal_values("lines.1.units=2", kind="void")).json()
    assert "a void takes no changes" in void_with_changes["errors"]["changes"]
    named = review(
        slack, claim.claim_id, modal_values("lines.1.units=2", reason=f"{claim.patient.last_name} asked")
    ).json()
    assert named["errors"] == {"reason": "the reason must not name the patient"}
    assert fake_slack.calls_to("views.update") == [] and practice.submissions() == []
    assert_no_phi(fake_slack, practice)


def test_someone_without_the_role_cannot_open_review_or_send(
    start_slack_app: StartApp,
    fake_slack: FakeSlack,
    practice: Ledger,
    clearinghouse: ClearinghouseAdapter,
    sandbox: SandboxEndpoints,
    team: TeamConfig,
) -> None:
    claim = denied(0)
    slack = start(start_slack_app, practice, clearinghouse, team)
    confirm, _ = ask_to_resubmit(slack, fake_slack, claim)  # a specialist opened it; an outsider submits it
    for callback, metadata, values in (
        ("resubmit_claim", json.dumps({"claim_id": claim.claim_id}), modal_values("lines.1.units=2")),
        ("resubmit_confirm", confirm, {}),
    ):
        refused = slack.submit(callback, metadata, values, OUTSIDER).json()
        assert refused["response_action"] == "update" and refused["view"]["title"]["text"] == "Not allowed"
    fake_slack.wait_quiet()
    assert sent_837s(sandbox) == 0 and practice.submissions() == []
    assert fake_slack.calls_to("views.update") == []
    assert_no_phi(fake_slack, practice)
