"""Portal behaviour and injected faults, shown over plain HTTP on all three portals.

Each fault is set through the admin endpoint, as a test or the demo would, and then observed from
the outside: status codes, where the portal sends the client, and the server's own counters.
"""

from __future__ import annotations

import time

import pytest

from sandbox.accounts import ServerName
from sandbox.servers import SandboxEndpoints
from sandbox.testing import SandboxAdmin, expected_error_count, pass_second_factor, submit_password
from tests.sandbox.conftest import PROTECTED_PATH, PortalClients, sent_to_second_factor, sent_to_sign_in


def test_latency_delays_every_request_by_at_least_the_configured_time(
    clients: PortalClients, portal: ServerName, admin: SandboxAdmin
) -> None:
    client = clients.signed_in(portal)
    admin.set_faults(latency_ms=120, jitter_ms=60)
    timings = []
    for _ in range(4):
        started = time.perf_counter()
        assert client.get(PROTECTED_PATH[portal]).status_code == 200
        timings.append(time.perf_counter() - started)
    assert min(timings) >= 0.12
    assert max(timings) < 0.12 + 0.06 + 0.5  # loose upper bound: the jitter is 0..60 ms
    assert admin.counters().faults_served["latency"] == 4


@pytest.mark.parametrize("status", [500, 503])
def test_error_rate_fails_the_seeded_share_of_requests(
    clients: PortalClients, portal: ServerName, admin: SandboxAdmin, status: int
) -> None:
    client = clients.signed_in(portal)
    admin.set_faults(error_rate=0.3, error_status=status, seed=11)
    statuses = [client.get(PROTECTED_PATH[portal]).status_code for _ in range(40)]
    expected = expected_error_count(seed=11, error_rate=0.3, requests=40)
    assert 0 < expected < 40
    assert statuses.count(status) == expected
    assert statuses.count(200) == 40 - expected
    assert admin.counters().faults_served[f"error_{status}"] == expected


def test_maintenance_answers_every_page_with_the_maintenance_page(
    clients: PortalClients, portal: ServerName, admin: SandboxAdmin
) -> None:
    admin.set_faults(maintenance=True)
    client = clients.new(portal)
    for path in ("/", PROTECTED_PATH[portal]):
        response = client.get(path)
        assert response.status_code == 503
        assert "maintenance" in response.text.lower()
    admin.set_faults(maintenance=False)
    assert client.get("/").status_code in (200, 302, 303)


def test_kill_sessions_sends_the_next_request_to_sign_in(
    clients: PortalClients, portal: ServerName, admin: SandboxAdmin
) -> None:
    client = clients.signed_in(portal)
    assert admin.counters().live_sessions == 1
    answer = admin.set_faults(kill_sessions=True)
    assert answer["kill_sessions"] is False  # one-shot
    assert admin.counters().live_sessions == 0
    assert sent_to_sign_in(client.get(PROTECTED_PATH[portal]), portal)


def test_mfa_again_sends_live_sessions_back_to_the_second_factor_once(
    clients: PortalClients, portal: ServerName, admin: SandboxAdmin
) -> None:
    client = clients.signed_in(portal)
    admin.set_faults(mfa_again=True)
    assert sent_to_second_factor(client.get(PROTECTED_PATH[portal]), portal)
    assert pass_second_factor(client, portal).status_code in (200, 302, 303)
    assert client.get(PROTECTED_PATH[portal]).status_code == 200
    assert admin.counters().faults_served["mfa_again_served"] == 1


def test_rate_limit_refuses_requests_past_the_window_budget(
    clients: PortalClients, portal: ServerName, admin: SandboxAdmin
) -> None:
    client = clients.signed_in(portal)
    admin.set_faults(rate_limit_requests=5, rate_limit_window_s=60)
    answers = [client.get(PROTECTED_PATH[portal]) for _ in range(7)]
    assert [a.status_code for a in answers[:5]] == [200] * 5
    if portal == ServerName.KEYSTONE:  # the old portal says so on a normal page
        assert answers[5].status_code == 200
        assert "TOO MANY REQUESTS" in answers[5].text
    else:
        assert answers[5].status_code == 429
        assert answers[5].headers["Retry-After"] == "60"
    assert admin.counters().rate_limit_hits == 2
    other = clients.signed_in(portal, account_index=1)  # limits are per account
    assert other.get(PROTECTED_PATH[portal]).status_code == 200


def test_wrong_passwords_lock_the_account_until_reset(
    clients: PortalClients, portal: ServerName, admin: SandboxAdmin
) -> None:
    admin.set_faults(lockout_after_failures=3)
    client = clients.new(portal)
    for _ in range(3):
        submit_password(client, portal, password="wrong-password")
    refused = submit_password(client, portal)  # the right password, too late
    assert refused.status_code not in (201, 302, 303)
    assert any(word in refused.text.lower() for word in ("locked", "revoked"))
    counters = admin.counters()
    assert counters.lockouts == 1
    assert counters.login_failures == 4
    admin.reset()
    assert submit_password(clients.new(portal), portal).status_code in (201, 302, 303)


def test_idle_sessions_time_out(clients: PortalClients, portal: ServerName, admin: SandboxAdmin) -> None:
    client = clients.signed_in(portal)
    admin.set_faults(idle_timeout_s=0.3)
    time.sleep(0.45)
    assert sent_to_sign_in(client.get(PROTECTED_PATH[portal]), portal)
    assert admin.counters().sessions_expired == 1


def test_concurrent_sessions_beyond_the_limit_are_refused_not_evicted(
    clients: PortalClients, portal: ServerName, admin: SandboxAdmin
) -> None:
    admin.set_faults(max_sessions_per_account=2)
    first, second = clients.signed_in(portal), clients.signed_in(portal)
    refused = submit_password(clients.new(portal), portal)
    assert refused.status_code in (200, 409)
    assert any(word in refused.text.lower() for word in ("maximum", "too many", "already signed on"))
    assert first.get(PROTECTED_PATH[portal]).status_code == 200  # nobody was evicted
    assert second.get(PROTECTED_PATH[portal]).status_code == 200
    clients.signed_in(portal, account_index=1)  # the limit is per account
    counters = admin.counters()
    assert counters.sessions_refused == 1
    assert counters.peak_sessions == 3


def test_counters_and_request_log_record_what_was_served(
    clients: PortalClients, portal: ServerName, admin: SandboxAdmin
) -> None:
    client = clients.signed_in(portal)
    client.get(PROTECTED_PATH[portal])
    counters = admin.counters()
    log = admin.requests()
    assert counters.requests == len(log)
    assert counters.logins == 1
    assert sum(counters.responses_by_status.values()) == counters.requests
    assert log[-1].path == PROTECTED_PATH[portal].split("?")[0]
    assert log[-1].status == 200
    assert log[-1].account is not None
    assert len(admin.requests(limit=2)) == 2


def test_admin_rejects_an_invalid_fault_spec(admin: SandboxAdmin) -> None:
    with pytest.raises(ValueError, match="invalid faults"):
        admin.set_faults(layout_version=3)
    with pytest.raises(ValueError, match="invalid faults"):
        admin.set_faults(no_such_fault=True)
    assert admin.faults().layout_version == 1


@pytest.mark.parametrize(
    ("portal_name", "path", "v1_marker", "v2_marker"),
    [
        (ServerName.SUNRISE, "/claims?date_from=2026-01-01", 'id="results"', 'id="claimsGrid"'),
        (ServerName.SUNRISE, "/claims?date_from=2026-01-01", "<th>Status</th>", "<th>Claim Status</th>"),
        (
            ServerName.KEYSTONE,
            "/claim_inquiry?FROMDOS=01/01/2026&TODOS=11/30/2026",
            'ID="ClaimList"',
            'ID="ctl00_Main_gvClaims"',
        ),
        (ServerName.MERIDIAN, "/", "/static/app-v1.js", "/static/app-v2.js"),
    ],
)
def test_layout_v2_renames_what_v1_bots_select(
    sandbox: SandboxEndpoints,
    clients: PortalClients,
    portal_name: ServerName,
    path: str,
    v1_marker: str,
    v2_marker: str,
) -> None:
    client = clients.signed_in(portal_name)
    v1 = client.get(path).text
    with SandboxAdmin(sandbox[portal_name]) as admin:
        admin.set_faults(layout_version=2)
    v2 = client.get(path).text
    assert v1_marker in v1
    assert v2_marker not in v1
    assert v2_marker in v2
    assert v1_marker not in v2
