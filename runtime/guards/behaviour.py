"""Behavioural monitoring: a task that departs from what its agent usually does.

An agent's baseline is read from the store (:class:`~agentops.store.GuardStore`: its last
500 succeeded tasks, at most once a minute per agent). Once it has ``behaviour_min_tasks``
tasks, a task departs when it calls a tool the agent never called, or makes more LLM calls
than ``behaviour_calls_ratio`` times the agent's usual number (and at least two more).
Each kind of departure is reported once per task.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from agentops.runtime.config import GuardSettings
from agentops.store import AgentBaseline, GuardStore, Store

__all__ = ["BASELINE_TTL_S", "BehaviourMonitor", "Departure"]

BASELINE_TTL_S = 60.0
"""How long an agent's baseline is reused before it is read again."""


@dataclass(frozen=True)
class Departure:
    """How a task departed from its agent's baseline."""

    kind: str
    """``new_tool`` or ``calls``."""
    reason: str
    figures: dict[str, float | int | str]


class BehaviourMonitor:
    """Baselines per agent, and the check of one task's next step against its agent's."""

    def __init__(self, store: Store, settings: GuardSettings) -> None:
        self.store = GuardStore(store)
        self.settings = settings
        self._baselines: dict[str, tuple[float, AgentBaseline]] = {}

    async def baseline(self, agent: str) -> AgentBaseline:
        """The agent's baseline (read again after :data:`BASELINE_TTL_S`; until it has
        ``behaviour_min_tasks`` tasks, at every check)."""
        now = time.monotonic()
        hit = self._baselines.get(agent)
        if hit is not None and now - hit[0] < BASELINE_TTL_S:
            return hit[1]
        baseline = await self.store.baseline(agent)
        if baseline.tasks >= self.settings.behaviour_min_tasks:  # a young agent's is read again each time
            self._baselines[agent] = (now, baseline)
        return baseline

    async def check(self, agent: str, *, tool: str | None = None, llm_calls: int = 0) -> Departure | None:
        """Whether the next step (a call of ``tool``, or the ``llm_calls``-th LLM call) departs."""
        b = await self.baseline(agent)
        if b.tasks < self.settings.behaviour_min_tasks:
            return None
        if tool is not None and tool not in b.tools:
            used = ", ".join(sorted(b.tools)) or "none"
            return Departure(
                "new_tool",
                f"agent {agent} called tool {tool}, which none of its last {b.tasks} tasks used (used: {used})",
                {"tool": tool, "baseline_tasks": b.tasks},
            )
        limit = max(self.settings.behaviour_calls_ratio * b.calls_per_task, b.calls_per_task + 2)
        if tool is None and llm_calls > limit:
            return Departure(
                "calls",
                f"agent {agent} made {llm_calls} LLM calls in one task, against {b.calls_per_task:.1f} usually "
                f"(limit {limit:.1f})",
                {"calls": llm_calls, "usual": round(b.calls_per_task, 2), "baseline_tasks": b.tasks},
            )
        return None
