"""Slack assistant test harness: a fake Slack Web API, correctly signed requests, and the real AsyncApp
served over HTTP by uvicorn on a free loopback port (assistant.server), its Web API pointed at the fake.

A test posts what Slack would post (`SlackClient.command/action/submit/event`), then reads what the app
sent back to Slack from `fake_slack` (the response_url posts are `hooks/<name>`), and ends with
`assert_no_phi(fake_slack, ledger)`: every body the fake received is scanned for every patient in the
ledger (names, member id, birth date in payers' spellings).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import count
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
import sqlalchemy as sa
from slack_sdk.signature import SignatureVerifier

from claims.ledger import Ledger
from claims.ledger.schema import patients
from claims.models import AdjustmentGroup, CheckSource, Denial, StatusCheck
from claims.status import ClaimStatus
from claims.team import Role, TeamConfig, TeamMember
from tests.assistant.fake_slack import TEAM_ID, FakeSlack
from tests.factories import make_claim, make_patient
from tests.test_phi_scan import Person, find_phi

SIGNING_SECRET = "test-signing-secret-not-a-real-one"
BOT_TOKEN = "xoxb-test-not-a-real-token"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

#: The test team: a specialist by user id, a lead by user id, a specialist through a user group,
#: and someone in the workspace who holds no role.
SPECIALIST = "U0SPECIAL"
LEAD = "U0LEADER"
GROUP_SPECIALIST = "U0GROUPIE"
OUTSIDER = "U0NOBODY"
SPECIALISTS_GROUP = "S0SPECS"
LEADS_GROUP = "S0LEADS"
CHANNEL = "C0BILLING"


def signed_headers(
    body: str, content_type: str, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "content-type": content_type,
        "x-slack-request-timestamp": stamp,
        "x-slack-signature": SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body),
    }


_ids = count(1)
_RUN = uuid.uuid4().hex[:8]  # trigger ids are unique per Slack request, across runs over a kept ledger too


def command_body(text: str, user_id: str, response_url: str, channel_id: str = CHANNEL, command: str = "/claim") -> str:
    return urlencode(
        {
            "token": "legacy-unused",
            "team_id": TEAM_ID,
            "team_domain": "claimbot-test",
            "channel_id": channel_id,
            "channel_name": "billing",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A0CLAIMBOT",
            "response_url": response_url,
            "trigger_id": f"trigger.{_RUN}.{next(_ids)}",
        }
    )


def action_body(
    action_id: str,
    value: str,
    user_id: str,
    response_url: str,
    channel_id: str = CHANNEL,
    message_ts: str = "1700000000.000001",
    action_ts: str | None = None,
    ephemeral: bool = False,
) -> str:
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM_ID, "domain": "claimbot-test"},
        "user": {"id": user_id, "team_id": TEAM_ID},
        "api_app_id": "A0CLAIMBOT",
        "trigger_id": f"trigger.{_RUN}.{next(_ids)}",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel_id, "is_ephemeral": ephemeral},
        "channel": {"id": channel_id},
        "message": {"ts": message_ts, "text": "", "blocks": []},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "claim_actions",
                "value": value,
                "action_ts": action_ts or f"{time.time():.6f}",
            }
        ],
    }
    return "payload=" + quote(json.dumps(payload))


def view_submission_body(
    callback_id: str, private_metadata: str, values: dict[str, dict[str, Any]], user_id: str, view_id: str = "V0MODAL"
) -> str:
    payload = {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": "claimbot-test"},
        "user": {"id": user_id, "team_id": TEAM_ID},
        "api_app_id": "A0CLAIMBOT",
        "trigger_id": f"trigger.{_RUN}.{next(_ids)}",
        "view": {
            "id": view_id,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "hash": f"hash.{next(_ids)}",
            "state": {"values": values},
        },
    }
    return "payload=" + quote(json.dumps(payload))


def event_body(event: dict[str, Any], event_id: str | None = None) -> str:
    return json.dumps(
        {
            "token": "legacy-unused",
            "team_id": TEAM_ID,
            "api_app_id": "A0CLAIMBOT",
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(_ids):08d}",
            "event_time": int(time.time()),
            "event": event,
            "authorizations": [{"team_id": TEAM_ID, "user_id": "UBOTFAKE", "is_bot": True}],
        }
    )


@dataclass
class SlackClient:
    """Posts to the running app as Slack would: every request signed unless a test forges one."""

    url: str
    fake: FakeSlack
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10.0))

    def post(
        self, body: str, content_type: str, headers: dict[str, str] | None = None, *, sign: bool = True
    ) -> httpx.Response:
        sent = {**(signed_headers(body, content_type) if sign else {"content-type": content_type}), **(headers or {})}
        return self.http.post(self.url + "/slack/events", content=body.encode(), headers=sent)

    def command(self, text: str, user_id: str = SPECIALIST, hook: str = "respond", **extra: Any) -> httpx.Response:
        return self.post(command_body(text, user_id, self.fake.hook_url(hook), **extra), FORM)

    def action(
        self, action_id: str, value: str, user_id: str = SPECIALIST, hook: str = "action", **extra: Any
    ) -> httpx.Response:
        return self.post(action_body(action_id, value, user_id, self.fake.hook_url(hook), **extra), FORM)

    def submit(
        self, callback_id: str, private_metadata: str, values: dict[str, dict[str, Any]], user_id: str = SPECIALIST
    ) -> httpx.Response:
        return self.post(view_submission_body(callback_id, private_metadata, values, user_id), FORM)

    def event(self, event: dict[str, Any], event_id: str | None = None, **headers: str) -> httpx.Response:
        return self.post(event_body(event, event_id), JSON, headers=headers)


@pytest.fixture(autouse=True)
def _no_slack_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bolt and SlackSettings read SLACK_* from the environment: a developer's own must never leak in."""
    import os

    for name in list(os.environ):
        if name.startswith("SLACK_"):
            monkeypatch.delenv(name)


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.usergroups = {SPECIALISTS_GROUP: [GROUP_SPECIALIST], LEADS_GROUP: [LEAD]}
        yield fake


@pytest.fixture
def team() -> TeamConfig:
    return TeamConfig(
        members=(
            TeamMember(name="Sam Specialist", slack_user=SPECIALIST, roles=(Role.SPECIALIST,)),
            TeamMember(name="Lee Lead", slack_user=LEAD, roles=(Role.LEAD, Role.SPECIALIST)),
        ),
        slack_groups={Role.SPECIALIST: (SPECIALISTS_GROUP,), Role.LEAD: (LEADS_GROUP,)},
        resubmit_approval_above=Decimal("1000.00"),
    )


#: The practice in `billing_ledger`: C1001 denied at SUNRISE (CO-50, N290), C1002 paid at MERIDIAN,
#: C1003 pending at SUNRISE (big: above the approval threshold), C1004 never checked.
DENIED_CLAIM, PAID_CLAIM, PENDING_CLAIM, NEW_CLAIM = "C1001", "C1002", "C1003", "C1004"
PATIENT = make_patient()  # Quillfeather, Marisol: the value the scans look for
OTHER_PATIENT = make_patient(last_name="Abernathy-Vole", first_name="Theodora", member_id="MER55501234")


@pytest.fixture
def billing_ledger(sqlite_ledger: Ledger) -> Ledger:
    return fill_billing(sqlite_ledger)


@pytest.fixture
def billing_ledger_any(ledger: Ledger) -> Ledger:
    """The same practice on embedded SQLite and on a real PostgreSQL."""
    return fill_billing(ledger)


def fill_billing(sqlite_ledger: Ledger) -> Ledger:
    big = make_claim(PENDING_CLAIM, "SUNRISE")
    big_lines = tuple(line.model_copy(update={"charge": Decimal("2400.00")}) for line in big.lines[:1])
    with sqlite_ledger.writer() as writer:
        writer.upsert_claims(
            [
                make_claim(DENIED_CLAIM, "SUNRISE"),
                make_claim(PAID_CLAIM, "MERIDIAN", patient=OTHER_PATIENT),
                big.model_copy(update={"lines": big_lines}),
                make_claim(NEW_CLAIM, "MERIDIAN", patient=OTHER_PATIENT),
            ]
        )
    sqlite_ledger.record_status_check(
        StatusCheck(
            claim_id=DENIED_CLAIM,
            source=CheckSource.PORTAL,
            status=ClaimStatus.DENIED,
            category_code="F2",
            status_code="88",
            payer_status_text=f"Denied for {PATIENT.last_name.upper()}, {PATIENT.first_name.upper()}",
            billed_amount=Decimal("143.50"),
            paid_amount=Decimal("0.00"),
            denials=(Denial(group=AdjustmentGroup.CO, carc="50", rarcs=("N290",), amount=Decimal("143.50")),),
        )
    )
    sqlite_ledger.record_status_check(
        StatusCheck(
            claim_id=PAID_CLAIM,
            source=CheckSource.API,
            status=ClaimStatus.PAID,
            category_code="F1",
            status_code="65",
            billed_amount=Decimal("143.50"),
            paid_amount=Decimal("120.00"),
        )
    )
    sqlite_ledger.record_status_check(
        StatusCheck(claim_id=PENDING_CLAIM, source=CheckSource.PORTAL, status=ClaimStatus.PENDING, category_code="P1")
    )
    return sqlite_ledger


StartApp = Callable[..., SlackClient]


@pytest.fixture
def start_slack_app(fake_slack: FakeSlack, team: TeamConfig) -> Iterator[StartApp]:
    """Start the real app on a free port over `ledger`: `start(ledger, **build_app options)`."""
    from assistant.app import build_app
    from assistant.server import serve_in_thread
    from assistant.settings import SlackSettings

    with ExitStack() as stack:

        def start(ledger: Ledger, team_config: TeamConfig | None = None, **options: Any) -> SlackClient:
            settings = SlackSettings(
                bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET, api_url=fake_slack.api_url, alert_channel=CHANNEL
            )
            app = build_app(settings, lambda: ledger, team_config or team, **options)
            url = stack.enter_context(serve_in_thread(app))
            client = SlackClient(url, fake_slack)
            stack.callback(client.http.close)
            return client

        yield start


def ledger_people(ledger: Ledger) -> list[Person]:
    with ledger.engine.connect() as conn:
        rows = conn.execute(
            sa.select(patients.c.last_name, patients.c.first_name, patients.c.date_of_birth, patients.c.member_id)
        ).all()
    return [Person(r.last_name, r.first_name, r.date_of_birth or date.min, r.member_id) for r in rows]


def assert_no_phi(fake: FakeSlack, ledger: Ledger) -> None:
    """Nothing Slack received names a patient of the ledger: the scan of issue 14's "Done when"."""
    people = ledger_people(ledger)
    assert people, "the ledger has no patients: the scan would prove nothing"
    text = fake.all_text()
    assert text, "Slack received nothing: the scan would prove nothing"
    leaks = find_phi("slack", text, people)
    assert not leaks, "\n".join(str(leak) for leak in leaks[:5])
