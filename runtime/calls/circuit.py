"""Circuit breakers, one per deployment (provider + model + api base).

A breaker is *closed* while its deployment is healthy. It *opens* when, over a rolling
window, the failure rate reaches a threshold (once a minimum number of calls has been
seen) or when N calls in a row fail. While open it refuses calls at once, so traffic
moves to the next deployment of the route. After a cooldown it turns *half-open* and
lets a bounded number of probe calls through: enough successes close it, one failure
opens it again. Every transition is reported with its reason.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from agentops.runtime.errors import CircuitOpenError

__all__ = ["CircuitBreaker", "CircuitState", "Transition", "TransitionListener"]


class CircuitState(StrEnum):
    """The three states of a breaker."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class Transition:
    """One state change of one breaker, with the reason it happened."""

    deployment: str
    from_state: CircuitState
    to_state: CircuitState
    reason: str
    at: float
    """Wall-clock time (``time.time()``)."""


TransitionListener = Callable[[Transition], None]


@dataclass
class CircuitBreaker:
    """The breaker of one deployment. Not shared across processes.

    Use :meth:`acquire` before a call and exactly one of :meth:`record_success` /
    :meth:`record_failure` after it.
    """

    deployment: str
    window_s: float = 60.0
    min_calls: int = 10
    failure_rate: float = 0.5
    consecutive_failures: int = 5
    cooldown_s: float = 15.0
    half_open_probes: int = 1
    close_after: int = 2
    listener: TransitionListener | None = None
    clock: Callable[[], float] = time.monotonic

    state: CircuitState = field(default=CircuitState.CLOSED, init=False)
    opened_at: float = field(default=0.0, init=False)
    last_error: str = field(default="", init=False)
    calls_total: int = field(default=0, init=False)
    failures_total: int = field(default=0, init=False)
    _window: deque[tuple[float, bool]] = field(default_factory=deque, init=False, repr=False)
    _consecutive: int = field(default=0, init=False, repr=False)
    _probes_in_flight: int = field(default=0, init=False, repr=False)
    _probe_successes: int = field(default=0, init=False, repr=False)

    def acquire(self) -> bool:
        """Ask to make a call.

        Returns:
            True if the call is a half-open probe (report its outcome as for any call).

        Raises:
            CircuitOpenError: the breaker is open, or every probe slot is taken.
        """
        if self.state is CircuitState.OPEN:
            wait = self.retry_in()
            if wait > 0:
                raise CircuitOpenError(self.deployment, wait)
            self._move(CircuitState.HALF_OPEN, f"cooldown of {self.cooldown_s:g}s elapsed")
        if self.state is CircuitState.HALF_OPEN:
            if self._probes_in_flight >= self.half_open_probes:
                raise CircuitOpenError(self.deployment, 0.0)
            self._probes_in_flight += 1
            return True
        return False

    def record_success(self, probe: bool = False) -> None:
        """Report that an acquired call succeeded."""
        self._record(True)
        self._consecutive = 0
        if probe:
            self._probes_in_flight = max(0, self._probes_in_flight - 1)
        if self.state is CircuitState.HALF_OPEN:
            self._probe_successes += 1
            if self._probe_successes >= self.close_after:
                self._move(CircuitState.CLOSED, f"{self._probe_successes} probe(s) succeeded")

    def record_failure(self, reason: str, probe: bool = False) -> None:
        """Report that an acquired call failed in a way that counts against the deployment."""
        self._record(False)
        self.failures_total += 1
        self.last_error = reason
        self._consecutive += 1
        if probe:
            self._probes_in_flight = max(0, self._probes_in_flight - 1)
        if self.state is CircuitState.HALF_OPEN:
            self._trip(f"probe failed: {reason}")
        elif self.state is CircuitState.CLOSED:
            if self._consecutive >= self.consecutive_failures:
                self._trip(f"{self._consecutive} consecutive failures (last: {reason})")
                return
            calls, failed = self.window_counts()
            if calls >= self.min_calls and failed / calls >= self.failure_rate:
                self._trip(
                    f"failure rate {failed / calls:.0%} over {calls} calls in "
                    f"{self.window_s:g}s >= {self.failure_rate:.0%} (last: {reason})"
                )

    def release(self, probe: bool) -> None:
        """Give back an acquired slot whose call neither succeeded nor failed (cancelled)."""
        if probe:
            self._probes_in_flight = max(0, self._probes_in_flight - 1)

    def window_counts(self) -> tuple[int, int]:
        """(calls, failures) inside the rolling window."""
        self._expire()
        failed = sum(1 for _, ok in self._window if not ok)
        return len(self._window), failed

    def retry_in(self) -> float:
        """Seconds until an open breaker lets a probe through (0 when not open)."""
        if self.state is not CircuitState.OPEN:
            return 0.0
        return max(0.0, self.opened_at + self.cooldown_s - self.clock())

    def _record(self, ok: bool) -> None:
        self.calls_total += 1
        self._window.append((self.clock(), ok))
        self._expire()

    def _expire(self) -> None:
        horizon = self.clock() - self.window_s
        while self._window and self._window[0][0] < horizon:
            self._window.popleft()

    def _trip(self, reason: str) -> None:
        self.opened_at = self.clock()
        self._move(CircuitState.OPEN, reason)

    def _move(self, to: CircuitState, reason: str) -> None:
        before = self.state
        self.state = to
        self._probe_successes = 0
        if to is not CircuitState.HALF_OPEN:
            self._probes_in_flight = 0
        if to is CircuitState.CLOSED:
            self._window.clear()
            self._consecutive = 0
        if self.listener is not None:
            self.listener(Transition(self.deployment, before, to, reason, time.time()))
