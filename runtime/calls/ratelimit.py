"""Rate limits: token buckets (a steady rate with a burst) and sliding windows.

A bucket holds up to ``burst`` tokens and refills at ``rate_per_s``: the limits agentops
sets itself (per API token, per user, per agent). A sliding window admits at most
``limit`` units in any ``window_s`` seconds: a provider's RPM/TPM, counted the way the
provider counts them, so agentops waits before the provider would answer 429. Taking
either succeeds at once or says how long until it would, so a caller can refuse with
Retry-After (the control API) or wait within its deadline.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

__all__ = ["SlidingWindow", "TokenBucket"]


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

    def wait_time(self, n: float = 1.0) -> float:
        """Seconds until ``n`` tokens are there (0.0: now); takes nothing."""
        self._refill()
        return 0.0 if self._tokens >= n else (n - self._tokens) / self.rate_per_s

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


class SlidingWindow:
    """At most ``limit`` units in any ``window_s`` seconds. Not thread-safe: use from the event loop thread."""

    def __init__(self, limit: float, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        if limit <= 0 or window_s <= 0:
            raise ValueError("a sliding window needs limit > 0 and window_s > 0")
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._admitted: deque[list[float]] = deque()  # [at, units], oldest first
        self._total = 0.0

    def _expire(self, now: float) -> None:
        while self._admitted and self._admitted[0][0] <= now - self.window_s:
            self._total -= self._admitted.popleft()[1]

    def wait_time(self, n: float = 1.0) -> float:
        """Seconds until ``n`` units would fit (0.0: now); takes nothing.

        A single take larger than the whole limit fits alone in an empty window (it could never fit otherwise).
        """
        now = self._clock()
        self._expire(now)
        if self._total + n <= self.limit or not self._admitted:
            return 0.0
        need, freed = self._total + n - self.limit, 0.0
        for at, units in self._admitted:
            freed += units
            if freed >= need:
                return max(at + self.window_s - now, 0.001)
        return self.window_s

    def try_take(self, n: float = 1.0) -> tuple[float, list[float] | None]:
        """Admit ``n`` units if they fit: ``(0.0, handle)``; else ``(seconds until they would, None)``.

        ``handle`` lets :meth:`settle` correct an estimate once the real figure is known.
        """
        wait = self.wait_time(n)
        if wait:
            return wait, None
        entry = [self._clock(), n]
        self._admitted.append(entry)
        self._total += n
        return 0.0, entry

    def settle(self, handle: list[float], n: float | None = None) -> None:
        """Count an admitted take from now (when its answer came back), and as ``n`` units if given.

        A provider counts a request when it arrives, which is at the latest when its answer
        comes back: counting it from then on keeps the window on the safe side of the
        provider's, however long the request took to get there.
        """
        now = self._clock()
        self._expire(now)
        for i, entry in enumerate(self._admitted):
            if entry is handle:
                del self._admitted[i]
                break
        else:
            return  # already out of the window
        if n is not None:
            self._total += n - handle[1]
            handle[1] = n
        handle[0] = now
        self._admitted.append(handle)

    def release(self, handle: list[float]) -> None:
        """Give back an admitted take that was never used (nothing was sent)."""
        for i, entry in enumerate(self._admitted):
            if entry is handle:
                del self._admitted[i]
                self._total -= handle[1]
                return
