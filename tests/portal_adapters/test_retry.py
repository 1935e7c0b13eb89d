import random

import pytest

from portal_adapters.errors import (
    AccountLocked,
    AuthenticationFailed,
    BadClaimData,
    ErrorKind,
    LayoutChanged,
    PortalUnavailable,
    RateLimited,
    Reason,
    TooManySessions,
    error_for,
)
from portal_adapters.retry import RetryPolicy


@pytest.mark.parametrize("error", [AuthenticationFailed, AccountLocked, LayoutChanged])
def test_errors_that_stop_the_payer_are_never_retried(error: type[AuthenticationFailed]) -> None:
    decision = RetryPolicy().decide(error("P"), attempt=1)
    assert not decision.retry
    assert decision.stop_payer


def test_bad_data_is_not_retried_and_does_not_stop_the_payer() -> None:
    decision = RetryPolicy().decide(BadClaimData("P"), attempt=1)
    assert (decision.retry, decision.stop_payer) == (False, False)


def test_unavailable_backs_off_exponentially_until_the_last_attempt() -> None:
    policy = RetryPolicy(max_attempts=4, base_delay_s=2, jitter=0)
    delays = [policy.decide(PortalUnavailable("P"), attempt=a).delay_s for a in (1, 2, 3)]
    assert delays == [2, 4, 8]
    assert not policy.decide(PortalUnavailable("P"), attempt=4).retry


def test_rate_limits_wait_at_least_what_the_payer_asked_and_jitter_stays_bounded() -> None:
    policy = RetryPolicy(base_delay_s=1, jitter=0.2)
    rng = random.Random(1)
    assert policy.decide(RateLimited("P", retry_after_s=30), attempt=1, rng=rng).delay_s >= 24
    for attempt in (1, 2, 3):
        delay = policy.decide(PortalUnavailable("P"), attempt=attempt, rng=rng).delay_s
        assert 0.8 * 2 ** (attempt - 1) <= delay <= 1.2 * 2 ** (attempt - 1)


def test_every_kind_round_trips_to_its_type() -> None:
    for kind in ErrorKind:
        assert error_for(kind, "P").kind is kind


def test_too_many_sessions_is_waited_out_never_a_stop() -> None:
    decision = RetryPolicy(jitter=0).decide(TooManySessions("P"), attempt=1)
    assert decision.retry and not decision.stop_payer


def test_messages_are_built_from_fields_and_refuse_values_of_the_wrong_shape() -> None:
    error = LayoutChanged("P", Reason.PAGE_UNREADABLE, claim_id="C1", step="claim_status.extract", field="paid_amount")
    assert error.message == (
        "the page does not read as the playbook describes (claim C1, at claim_status.extract, field paid_amount)"
    )
    sneaky = PortalUnavailable(
        "P", Reason.HTTP_ERROR, step="/elig?member=SUN77120433", code="SUN77120433", http_status=503
    )
    assert "SUN77120433" not in str(sneaky) and "HTTP 503" in sneaky.message
