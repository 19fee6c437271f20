"""The built-in alert rules. Each is evaluated every ``alerts.evaluate_every_s`` and says which of
its keys hold their condition now, with the figures; the engine (:mod:`.engine`) turns that into
pending, firing and resolved alerts.

- ``tool_error_rate``: failed tool calls over ``tool_error_window_s``, overall and per agent,
  above ``tool_error_rate`` once there are ``tool_error_min_calls`` calls.
- ``latency_p95``: a deployment's P95 latency over ``latency_window_s`` above
  ``latency_p95_ratio`` times its baseline: its own P95 over the ``latency_baseline_s`` before
  (or ``latency_baseline_ms`` while that holds too few calls).
- ``daily_cost``: today's spend above ``daily_cost_ratio`` times the daily average of the
  ``daily_cost_days`` before.
- ``task_tokens``: one running task's tokens above ``task_tokens_ratio`` times the mean of its
  agent's finished tasks (fires at once: a runaway task does not wait for ``for_s``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol

from agentops.runtime.calls import start_of_day
from agentops.runtime.config import AlertSettings
from agentops.store import AlertStore

__all__ = [
    "DailyCost",
    "Finding",
    "LatencyP95",
    "Rule",
    "RunningTasks",
    "TaskTokens",
    "ToolErrorRate",
    "builtin_rules",
    "p95",
]


@dataclass(frozen=True)
class Finding:
    """A rule's condition holding for one key now."""

    rule: str
    key: str
    summary: str
    figures: dict[str, Any]
    severity: str = "warning"


class Rule(Protocol):
    """An alert rule."""

    name: str
    for_s: float | None
    """How long its condition must hold before it fires (None: ``alerts.for_s``)."""
    shared: bool
    """True when every process sees the same figures (the store): any of them may resolve its
    alerts. False for figures one process holds (its running tasks)."""

    async def evaluate(self, now: float) -> list[Finding]:
        """The keys whose condition holds now."""
        ...


def p95(values: list[float]) -> float:
    """The 95th percentile (nearest rank; 0 with no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


class ToolErrorRate:
    """Failed tool calls, overall and per agent."""

    name = "tool_error_rate"
    for_s: float | None = None
    shared = True

    def __init__(self, alerts: AlertStore, settings: AlertSettings) -> None:
        self.alerts, self.settings = alerts, settings

    async def evaluate(self, now: float) -> list[Finding]:
        s = self.settings
        rows = await self.alerts.tool_calls(since=now - s.tool_error_window_s)
        groups = [("overall", sum(r[1] for r in rows), sum(r[2] for r in rows))]
        groups += [(f"agent={agent}", calls, errors) for agent, calls, errors in rows if agent]
        out = []
        for key, calls, errors in groups:
            rate = errors / calls if calls else 0.0
            if calls >= s.tool_error_min_calls and rate > s.tool_error_rate:
                out.append(
                    Finding(
                        self.name,
                        key,
                        f"tool calls failing: {errors} of {calls} ({rate:.0%}) in the last "
                        f"{s.tool_error_window_s / 60:g} min ({key}; threshold {s.tool_error_rate:.0%})",
                        {"errors": errors, "calls": calls, "rate": rate, "threshold": s.tool_error_rate},
                    )
                )
        return out


class LatencyP95:
    """A deployment's P95 latency against its own recent past."""

    name = "latency_p95"
    for_s: float | None = None
    shared = True

    BASELINE_EVERY_S = 300.0
    """How long a computed baseline serves (a day of calls is read again at most this often)."""

    def __init__(self, alerts: AlertStore, settings: AlertSettings) -> None:
        self.alerts, self.settings = alerts, settings
        self._baselines: tuple[float, dict[str, float]] = (-math.inf, {})
        """When the baselines were computed, and each deployment's P95 (those with enough calls)."""

    async def _baseline(self, start: float) -> dict[str, float]:
        s = self.settings
        at, baselines = self._baselines
        if start - at >= self.BASELINE_EVERY_S or start < at:
            history = await self.alerts.call_latencies(since=start - s.latency_baseline_s, until=start)
            baselines = {d: p95(v) for d, v in history.items() if len(v) >= s.latency_min_calls}
            self._baselines = (start, baselines)
        return baselines

    async def evaluate(self, now: float) -> list[Finding]:
        s = self.settings
        start = now - s.latency_window_s
        current = await self.alerts.call_latencies(since=start, until=now + 1)
        history = await self._baseline(start)
        out = []
        for deployment, latencies in sorted(current.items()):
            if len(latencies) < s.latency_min_calls:
                continue
            known = deployment in history
            baseline = history[deployment] if known else s.latency_baseline_ms
            if not baseline:
                continue
            now_p95 = p95(latencies)
            if now_p95 > s.latency_p95_ratio * baseline:
                source = "its previous 24 h" if known else "the configured baseline"
                out.append(
                    Finding(
                        self.name,
                        f"deployment={deployment}",
                        f"{deployment} P95 latency {now_p95:,.0f} ms over the last {s.latency_window_s / 60:g} min, "
                        f"{now_p95 / baseline:.1f}x {source} ({baseline:,.0f} ms)",
                        {
                            "p95_ms": now_p95,
                            "baseline_ms": baseline,
                            "baseline": "history" if known else "configured",
                            "calls": len(latencies),
                            "ratio": s.latency_p95_ratio,
                        },
                    )
                )
        return out


class DailyCost:
    """Today's spend against the rolling daily average."""

    name = "daily_cost"
    for_s: float | None = None
    shared = True

    def __init__(self, alerts: AlertStore, settings: AlertSettings) -> None:
        self.alerts, self.settings = alerts, settings

    async def evaluate(self, now: float) -> list[Finding]:
        s = self.settings
        today = start_of_day(now)
        days = await self.alerts.daily_spend(since=today - s.daily_cost_days * 86400.0, until=now + 1)
        history, spent = days[: s.daily_cost_days], days[-1]
        first = next((i for i, usd in enumerate(history) if usd > 0), len(history))
        counted = history[first:]  # from the first day with spend
        if len(counted) < s.daily_cost_min_days:
            return []
        average = sum(counted) / len(counted)
        if average <= 0 or spent <= s.daily_cost_ratio * average or spent < s.daily_cost_min_usd:
            return []
        return [
            Finding(
                self.name,
                "global",
                f"spend today ${spent:.4f} is {spent / average:.1f}x the daily average of the last "
                f"{len(counted)} days (${average:.4f}; threshold {s.daily_cost_ratio:g}x)",
                {"today_usd": spent, "average_usd": average, "days": len(counted), "ratio": s.daily_cost_ratio},
                "critical" if spent > 2 * s.daily_cost_ratio * average else "warning",
            )
        ]


@dataclass
class RunningTasks:
    """The tokens of the tasks this process is running, from its ``llm.call`` events."""

    agents: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)
    ended: set[str] = field(default_factory=set)
    """Tasks that finished or parked since the last evaluation (their alerts resolve)."""


class TaskTokens:
    """A task using far more tokens than its agent's tasks do."""

    name = "task_tokens"
    for_s: float | None = 0.0
    shared = False

    def __init__(self, alerts: AlertStore, settings: AlertSettings, running: RunningTasks) -> None:
        self.alerts, self.settings, self.running = alerts, settings, running
        self._means: dict[str, tuple[float, float, int]] = {}  # agent -> (read at, mean, tasks)

    async def evaluate(self, now: float) -> list[Finding]:
        s = self.settings
        out = []
        for task_id, tokens in list(self.running.tokens.items()):
            agent = self.running.agents.get(task_id)
            if agent is None:
                continue
            mean, count = await self._mean(agent, now)
            if count >= s.task_tokens_min_tasks and mean > 0 and tokens > s.task_tokens_ratio * mean:
                out.append(
                    Finding(
                        self.name,
                        f"task={task_id}",
                        f"task {task_id} ({agent}) has used {tokens:,} tokens, {tokens / mean:.1f}x the mean "
                        f"of the agent's last {count} tasks ({mean:,.0f})",
                        {"task_id": task_id, "agent": agent, "tokens": tokens, "mean": mean, "tasks": count},
                    )
                )
        return out

    async def _mean(self, agent: str, now: float) -> tuple[float, int]:
        cached = self._means.get(agent)
        if cached is not None and now - cached[0] < 60:
            return cached[1], cached[2]
        tokens = await self.alerts.task_tokens(agent)
        mean = sum(tokens) / len(tokens) if tokens else 0.0
        if len(tokens) >= self.settings.task_tokens_min_tasks:  # too few to judge by: read again next time
            self._means[agent] = (now, mean, len(tokens))
        return mean, len(tokens)


def builtin_rules(alerts: AlertStore, settings: AlertSettings, running: RunningTasks) -> list[Rule]:
    """The four rules, on by default."""
    return [
        ToolErrorRate(alerts, settings),
        LatencyP95(alerts, settings),
        DailyCost(alerts, settings),
        TaskTokens(alerts, settings, running),
    ]
