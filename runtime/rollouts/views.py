"""Prompts as the console, the CLI and the API show them, and the operator's actions on them.

:func:`summaries` lists every prompt with its labels and running rollouts, :func:`version_infos`
a prompt's versions with their live figures, and :func:`act` does an operator's action
(:mod:`.actions`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentops.runtime.errors import NotFoundError
from agentops.runtime.rollouts.prompts import PromptRegistry
from agentops.store import RolloutRecord

__all__ = [
    "PromptSummary",
    "PromptVersionInfo",
    "RolloutInfo",
    "rollout_info",
    "summaries",
    "version_infos",
]


@dataclass(frozen=True)
class RolloutInfo:
    """A canary or shadow as the console and CLI show it."""

    id: int
    prompt: str
    kind: str
    version: int
    base_version: int
    status: str
    share: float
    """The canary's current share of units in percent (0 for a shadow)."""
    stage: int
    reason: str | None
    started_at: float
    started_by: str
    ended_at: float | None
    judged: int = 0
    mean_score: float | None = None
    cost_usd: float = 0.0


@dataclass(frozen=True)
class PromptSummary:
    """One prompt: its versions and where its labels point."""

    name: str
    description: str
    versions: int
    labels: dict[str, int]
    canary: RolloutInfo | None
    shadow: RolloutInfo | None


@dataclass(frozen=True)
class PromptVersionInfo:
    """One version with its live figures (since a point in time)."""

    prompt: str
    version: int
    artifact_id: str
    created_at: float
    labels: list[str]
    calls: int
    error_rate: float
    gate_failure_rate: float
    p95_ms: float
    cost_per_call: float
    judge_score: float | None
    """Mean score of this version as a shadow (None if never shadowed)."""
    content: dict[str, Any]


async def rollout_info(prompts: PromptRegistry, r: RolloutRecord) -> RolloutInfo:
    """A rollout with its current share and (for a shadow) the judge's figures."""
    stages = r.config.get("stages", [])
    share = float(stages[min(r.stage, len(stages) - 1)]) if r.kind == "canary" and stages else 0.0
    judged, mean, cost = 0, None, 0.0
    if r.kind == "shadow":
        s = await prompts.store.shadow_summary(r.id)
        judged, mean, cost = s.judged, s.mean_score, s.cost_usd
    return RolloutInfo(
        r.id, r.prompt, r.kind, r.version, r.base_version, r.status, share, r.stage, r.reason,
        r.started_at, r.started_by, r.ended_at, judged, mean, cost,
    )  # fmt: skip


async def summaries(prompts: PromptRegistry) -> list[PromptSummary]:
    """Every prompt."""
    await prompts.refresh()
    out = []
    for name in prompts.names():
        canary, shadow = prompts.active(name, "canary"), prompts.active(name, "shadow")
        f = prompts.files.get(name)
        last = prompts.versions_of(name)[0]
        description = (
            f.content.get("description", "")
            if f
            else prompts.version(name, last).content["prompt"].get("description", "")
        )
        out.append(
            PromptSummary(
                name,
                str(description or ""),
                last,
                prompts.labels_of(name),
                await rollout_info(prompts, canary) if canary else None,
                await rollout_info(prompts, shadow) if shadow else None,
            )
        )
    return out


async def version_infos(prompts: PromptRegistry, name: str, *, since: float = 0.0) -> list[PromptVersionInfo]:
    """Every version of a prompt with its figures since ``since``, newest first.

    Raises:
        NotFoundError: no such prompt.
    """
    await prompts.refresh()
    versions = prompts.versions_of(name)
    if not versions:
        raise NotFoundError(f"no prompt {name!r} (known: {', '.join(prompts.names()) or 'none'})")
    stats = await prompts.store.version_stats(name, since=since)
    labels = prompts.labels_of(name)
    scores: dict[int, list[tuple[int, float]]] = {}
    for r in await prompts.store.rollouts(prompt=name):
        if r.kind == "shadow":
            s = await prompts.store.shadow_summary(r.id)
            if s.mean_score is not None:
                scores.setdefault(r.version, []).append((s.judged, s.mean_score))
    out = []
    for v in versions:
        pv = prompts.version(name, v)
        st = stats.get(v)
        judged = scores.get(v, [])
        n = sum(j for j, _ in judged)
        out.append(
            PromptVersionInfo(
                name,
                v,
                pv.artifact_id,
                pv.created_at,
                sorted(lab for lab, lv in labels.items() if lv == v),
                st.calls if st else 0,
                st.error_rate if st else 0.0,
                st.gate_failure_rate if st else 0.0,
                st.p95_ms if st else 0.0,
                st.cost_per_call if st else 0.0,
                sum(j * m for j, m in judged) / n if n else None,
                pv.content,
            )
        )
    return out
