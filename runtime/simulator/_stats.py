"""Counters of what the simulator saw and did, per model.

Tests assert on these (how many attempts reached the "provider", which faults
were injected), and benchmarks read them to check their load arrived.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["ModelStats", "SimStats", "count"]


@dataclass
class ModelStats:
    """Counters of one model.

    Attributes:
        requests: Chat completion requests received.
        statuses: Responses sent, by HTTP status (a timeout fault counts as
            the 200 it finally sends, when the client is still there).
        faults: Faults injected, by kind: ``429``, ``500``, ``502``, ``503``,
            ``timeout``, ``malformed``, ``invalid_output`` (random faults),
            ``fail_status``, ``outage``, ``rpm_limit``, ``context_window``.
        outage_hits: Requests refused because of an outage.
        outage_windows: The distinct outage windows hit, as ``(start, end)``
            seconds since server start, in the order first hit.
        streams: Requests that asked for streaming.
        prompt_tokens: Sum of estimated prompt tokens.
        completion_tokens: Sum of estimated completion tokens (answers only).
        cached_tokens: Sum of reported cached prompt tokens.
        traceparents: The W3C ``traceparent`` headers of the last requests (newest last, 100 kept).
    """

    requests: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)
    outage_hits: int = 0
    outage_windows: list[tuple[float, float]] = field(default_factory=list)
    streams: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    traceparents: list[str] = field(default_factory=list)

    def status(self, code: int) -> int:
        """Number of responses sent with status ``code``."""
        return self.statuses.get(code, 0)

    def fault(self, kind: str) -> int:
        """Number of faults of ``kind`` injected."""
        return self.faults.get(kind, 0)


@dataclass
class SimStats:
    """Counters of a whole simulator.

    Attributes:
        models: Counters per model name, created on a model's first request.
        bad_requests: Requests refused before a model was known (bad JSON,
            missing fields, unknown path).
    """

    models: dict[str, ModelStats] = field(default_factory=dict)
    bad_requests: int = 0

    @property
    def requests(self) -> int:
        """Chat completion requests received, all models together."""
        return sum(m.requests for m in self.models.values())

    def model(self, name: str) -> ModelStats:
        """Counters of model ``name`` (all zero if it got no request)."""
        return self.models.get(name) or ModelStats()

    def record_request(
        self, model: str, stream: bool, prompt_tokens: int, traceparent: str | None = None
    ) -> ModelStats:
        """Count one arriving request for ``model``; return its counters."""
        stats = self.models.get(model)
        if stats is None:
            stats = self.models[model] = ModelStats()
        stats.requests += 1
        if traceparent:
            stats.traceparents = [*stats.traceparents[-99:], traceparent]
        stats.streams += int(stream)
        stats.prompt_tokens += prompt_tokens
        return stats

    def snapshot(self) -> SimStats:
        """A deep copy, safe to keep while the simulator goes on counting."""
        return copy.deepcopy(self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (status codes as string keys), as served at /sim/stats."""
        out: dict[str, Any] = {"requests": self.requests, "bad_requests": self.bad_requests}
        models: dict[str, Any] = {}
        for name, stats in self.models.items():
            entry = asdict(stats)
            entry["statuses"] = {str(code): n for code, n in stats.statuses.items()}
            entry["outage_windows"] = [list(window) for window in stats.outage_windows]
            models[name] = entry
        out["models"] = models
        return out


def count(table: dict[Any, int], key: Any) -> None:
    """Add one to ``table[key]``."""
    table[key] = table.get(key, 0) + 1
