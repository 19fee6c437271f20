"""Shadow runs: a copy of a live request sent to a shadowed prompt version, then judged.

The shadow's reply never reaches the agent, the user or any tool: tool calls it asks
for are recorded as text for the judge and never executed. The judge prompt
(``prompts.judge``, default ``prompts/judge.toml``) scores the shadow's reply against
production's from 0 to 1. Each run is skipped once the rollout has spent its
``max_cost_usd``; the sample rate is the rollout's ``sample``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from pydantic import BaseModel, Field

from agentops.runtime.calls.client import CallScope, LLMClient
from agentops.runtime.calls.gate import GateFailure, response_format, validate_reply
from agentops.runtime.errors import AgentOpsError
from agentops.runtime.logs import get_logger
from agentops.runtime.rollouts.prompts import PromptRegistry
from agentops.store import RolloutRecord

__all__ = ["JudgeVerdict", "run_shadow"]

log = get_logger("agentops.shadow")


class JudgeVerdict(BaseModel):
    """The judge's comparison of a shadow reply with production's."""

    score: float = Field(ge=0, le=1)
    """1: as good or better than production; 0: much worse."""
    reason: str = ""


async def run_shadow(
    client: LLMClient,
    prompts: PromptRegistry,
    rollout: RolloutRecord,
    variables: dict[str, Any],
    production_text: str | None,
    scope: CallScope,
    route: str,
) -> None:
    """Send the request to the shadow version, judge it against production, record the result."""
    summary = await prompts.store.shadow_summary(rollout.id)
    if summary.cost_usd >= float(rollout.config.get("max_cost_usd", 1.0)):
        return  # the shadow's budget is spent
    version = prompts.version(rollout.prompt, rollout.version)
    shadow_scope = replace(
        scope,
        agent=f"{scope.agent}:shadow",
        prompt_version=version.version,
        prompt_artifact=version.artifact_id,
        prompt_label="shadow",
    )
    params = version.params
    output = version.output_model()
    if output is not None:
        params["response_format"] = response_format(output)
    cost = 0.0
    try:
        reply = await client.call(
            version.render(variables),
            route=version.route or route,
            scope=shadow_scope,
            name=f"shadow {rollout.prompt} v{version.version}",
            **params,
        )
        cost += reply.cost_usd
        shadow_text = reply.text or ""
        if reply.tool_calls:  # asked for, never executed
            shadow_text += "\n[tool calls, not executed] " + json.dumps(
                [{"name": t.name, "arguments": t.arguments} for t in reply.tool_calls]
            )
        verdict, judge_cost = await _judge(client, prompts, variables, production_text or "", shadow_text, scope, route)
        cost += judge_cost
    except (AgentOpsError, GateFailure) as exc:
        await prompts.store.record_shadow(
            rollout.id,
            rollout.prompt,
            rollout.version,
            scope.task_id,
            score=None,
            reason=None,
            production_output=production_text,
            shadow_output=None,
            cost_usd=cost,
            error=f"{type(exc).__name__}: {exc}",
        )
        log.warning("shadow run failed", prompt=rollout.prompt, version=rollout.version, error=str(exc))
        return
    await prompts.store.record_shadow(
        rollout.id,
        rollout.prompt,
        rollout.version,
        scope.task_id,
        score=verdict.score,
        reason=verdict.reason,
        production_output=production_text,
        shadow_output=shadow_text,
        cost_usd=cost,
    )


async def _judge(
    client: LLMClient,
    prompts: PromptRegistry,
    variables: dict[str, Any],
    production: str,
    shadow: str,
    scope: CallScope,
    route: str,
) -> tuple[JudgeVerdict, float]:
    judge = prompts.resolve(prompts.config.judge, scope.user_id or scope.task_id or "judge")
    v = judge.version
    messages = v.render({"request": json.dumps(variables, default=str), "production": production, "shadow": shadow})
    reply = await client.call(
        messages,
        route=v.route or route,
        scope=replace(
            scope,
            agent=f"{scope.agent}:judge",
            prompt=v.prompt,
            prompt_version=v.version,
            prompt_artifact=v.artifact_id,
            prompt_label=judge.label,
        ),
        name=f"judge {v.prompt}",
        response_format=response_format(JudgeVerdict),
        **v.params,
    )
    verdict = validate_reply(reply.text, JudgeVerdict, None)
    return verdict, reply.cost_usd
