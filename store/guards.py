"""The guards' reads: an agent's baseline of actions, and the decisions in the audit log.

A baseline is computed from the agent's most recent succeeded tasks (their ``llm_calls``
and ``tool_calls`` rows); guard decisions are the audit log's ``guard.*`` rows, written by
the runtime (:class:`~agentops.runtime.guards.Guards`) with the agent as the actor.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from agentops.store.store import Store

__all__ = ["AgentBaseline", "GuardDecisionRecord", "GuardStore"]


@dataclass(frozen=True)
class AgentBaseline:
    """What an agent usually does, over its last ``tasks`` succeeded tasks."""

    agent: str
    tasks: int
    tools: frozenset[str]
    """Every tool it called."""
    calls_per_task: float
    tokens_per_task: float
    distinct_tools_per_task: float


@dataclass(frozen=True)
class GuardDecisionRecord:
    """One guard decision as the audit log keeps it."""

    at: float
    agent: str
    guard: str
    decision: str
    task_id: str | None
    where: str
    reason: str
    text: str
    """An excerpt, personal data masked when it was written."""
    score: float | None
    details: dict[str, Any]


class GuardStore:
    """Baselines and guard decisions over a :class:`~agentops.store.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def baseline(self, agent: str, *, limit: int = 500) -> AgentBaseline:
        """The agent's baseline over its last ``limit`` succeeded tasks."""
        recent = "SELECT id FROM tasks WHERE agent = ? AND status = 'succeeded' ORDER BY finished_at DESC LIMIT ?"
        (row,) = await self.store._all(
            f"WITH t AS ({recent}) SELECT (SELECT COUNT(*) FROM t) AS tasks,"
            " (SELECT COUNT(*) FROM llm_calls WHERE task_id IN t) AS calls,"
            " (SELECT COALESCE(SUM(input_tokens + output_tokens), 0) FROM llm_calls WHERE task_id IN t) AS tokens,"
            " (SELECT COUNT(*) FROM (SELECT DISTINCT task_id, tool FROM tool_calls WHERE task_id IN t)) AS pairs",
            (agent, limit),
        )
        tools = await self.store._all(
            f"WITH t AS ({recent}) SELECT DISTINCT tool FROM tool_calls WHERE task_id IN t", (agent, limit)
        )
        n = int(row["tasks"])

        def per(v: Any) -> float:
            return float(v) / n if n else 0.0

        return AgentBaseline(
            agent, n, frozenset(r["tool"] for r in tools), per(row["calls"]), per(row["tokens"]), per(row["pairs"])
        )

    async def decisions(
        self, *, since: float = 0.0, guard: str | None = None, agent: str | None = None, limit: int = 200
    ) -> list[GuardDecisionRecord]:
        """Guard decisions, newest first."""
        sql = "SELECT at, actor, action, target, details FROM audit_log WHERE action >= 'guard.' AND action < 'guard/'"
        params: list[Any] = []
        if guard:
            sql += " AND action >= ? AND action < ?"
            params += [f"guard.{guard}.", f"guard.{guard}/"]
        if agent:
            sql += " AND actor = ?"
            params.append(f"agent:{agent}")
        sql += " AND at >= ? ORDER BY at DESC LIMIT ?"
        rows = await self.store._all(sql, (*params, since, limit))
        return [_decision(r) for r in rows]


def _decision(r: Any) -> GuardDecisionRecord:
    d = json.loads(r["details"] or "{}")
    _, guard, decision = [*r["action"].split(".", 2), "", ""][:3]
    return GuardDecisionRecord(
        r["at"],
        str(r["actor"]).removeprefix("agent:"),
        guard,
        decision,
        None if r["target"] == "-" else r["target"],
        d.get("where") or "",
        d.get("reason") or "",
        d.get("text") or "",
        d.get("score"),
        d,
    )
