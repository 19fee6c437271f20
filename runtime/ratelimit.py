"""Token buckets: a steady rate with a burst allowance.

A bucket holds up to ``burst`` tokens and refills at ``rate_per_s``. Taking a token
either succeeds at once or says how long until one is there, so a caller can refuse
with Retry-After (the control API) or wait within its deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["TokenBucket"]


class TokenBucket:
    """One rate limit. Not thread-safe: use from the event loop thread."""

    def __init__(self, rate_per_s: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("a token bucket needs rate_per_s > 0 and burst >= 1")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._at = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate_per_s)
        self._at = now

    def try_take(self, n: float = 1.0) -> float:
        """Take ``n`` tokens if they are there: returns 0.0, or the seconds until they would be."""
        self._refill()
        if self._tokens >= n:
            self._tokens -= n
            return 0.0
        return (n - self._tokens) / self.rate_per_s

    def reconfigure(self, rate_per_s: float, burst: float) -> None:
        """Change the rate and burst (tokens on hand are kept, up to the new burst)."""
        self._refill()
        self.rate_per_s, self.burst = rate_per_s, burst
        self._tokens = min(self._tokens, burst)
