"""The retry policy: decides from the error's type alone, with capped exponential backoff + jitter."""

from __future__ import annotations

import random
from dataclasses import dataclass

from portal_adapters.errors import AdapterError, RateLimited


@dataclass(frozen=True)
class RetryDecision:
    retry: bool
    delay_s: float = 0.0
    stop_payer: bool = False


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    base_delay_s: float = 2.0
    max_delay_s: float = 120.0
    jitter: float = 0.2

    def decide(self, error: AdapterError, attempt: int, rng: random.Random | None = None) -> RetryDecision:
        """`attempt` counts from 1 (the attempt that just failed)."""
        if error.stops_payer:
            return RetryDecision(retry=False, stop_payer=True)
        if not error.retryable or attempt >= self.max_attempts:
            return RetryDecision(retry=False)
        delay = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        if isinstance(error, RateLimited) and error.retry_after_s is not None:
            delay = max(delay, error.retry_after_s)
        spread = delay * self.jitter
        delay += (rng or random.Random()).uniform(-spread, spread)  # noqa: S311 - jitter, not security
        return RetryDecision(retry=True, delay_s=max(0.0, delay))
