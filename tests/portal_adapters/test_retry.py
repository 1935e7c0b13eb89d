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
    error_for,
)
from portal_adapters.retry import RetryPolicy


@pytest.mark.parametrize("error", [AuthenticationFailed, AccountLocked, LayoutChanged])
def test_errors_that_stop_the_payer_are_never_retried(error: type[AuthenticationFailed]) -> None:
    decision = RetryPolicy().decide(error("P", "x"), attempt=1)
    assert not decision.retry
    assert decision.stop_payer


def test_bad_data_is_not_retried_and_does_not_stop_the_payer() -> None:
    decision = RetryPolicy().decide(BadClaimData("P", "x"), attempt=1)
    assert (decision.retry, decision.stop_payer) == (False, False)


def test_unavailable_backs_off_exponentially_until_the_last_attempt() -> None:
    policy = RetryPolicy(max_attempts=4, base_delay_s=2, jitter=0)
    delays = [policy.decide(PortalUnavailable("P", "x"), attempt=a).delay_s for a in (1, 2, 3)]
    assert delays == [2, 4, 8]
    assert not policy.decide(PortalUnavailable("P", "x"), attempt=4).retry


def test_rate_limits_wait_at_least_what_the_payer_asked_and_jitter_stays_bounded() -> None:
    policy = RetryPolicy(base_delay_s=1, jitter=0.2)
    rng = random.Random(1)
    assert policy.decide(RateLimited("P", "x", retry_after_s=30), attempt=1, rng=rng).delay_s >= 24
    for attempt in (1, 2, 3):
        delay = policy.decide(PortalUnavailable("P", "x"), attempt=attempt, rng=rng).delay_s
        assert 0.8 * 2 ** (attempt - 1) <= delay <= 1.2 * 2 ** (attempt - 1)


def test_every_kind_round_trips_to_its_type() -> None:
    for kind in ErrorKind:
        assert error_for(kind, "P", "m").kind is kind
