"""Snapshots of the runtime's state that the control plane reads."""

from __future__ import annotations

from dataclasses import dataclass

from agentops.runtime.calls import CircuitBreaker, CircuitState, Deployment
from agentops.runtime.config import Settings

__all__ = ["CircuitStatus", "circuit_statuses"]


@dataclass(frozen=True)
class CircuitStatus:
    """A snapshot of one deployment's breaker."""

    deployment: str
    model: str
    api_base: str | None
    state: str
    calls_in_window: int
    failures_in_window: int
    calls_total: int
    failures_total: int
    last_error: str
    retry_in_s: float

    @property
    def failure_rate(self) -> float:
        """Failures / calls inside the rolling window (0 with no calls)."""
        return self.failures_in_window / self.calls_in_window if self.calls_in_window else 0.0


def circuit_statuses(
    breakers: dict[str, CircuitBreaker], deployments: dict[str, Deployment], settings: Settings
) -> list[CircuitStatus]:
    """Every deployment's breaker, in configuration order (an open one past its cooldown shows
    as half-open: the next call is a probe)."""
    out = []
    for name, b in breakers.items():
        d = deployments[name]
        calls, failed = b.window_counts()
        state = b.state
        if state is CircuitState.OPEN and b.retry_in() == 0:
            state = CircuitState.HALF_OPEN  # the next call will be a probe
        out.append(
            CircuitStatus(
                name,
                d.model,
                settings.deployments[name].api_base,
                state.value,
                calls,
                failed,
                b.calls_total,
                b.failures_total,
                b.last_error,
                b.retry_in(),
            )
        )
    return out
