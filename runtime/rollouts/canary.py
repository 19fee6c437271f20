"""Canary stages and shadow alerts, evaluated every ``prompts.evaluate_every_s``.

A canary stage advances once it has ``min_calls`` calls and its error rate, validation-failure
rate and P95 latency stay within their margins of production's; past the last stage the
version is promoted. A breach rolls it back at once and says why. A shadow whose judged mean
score falls below ``alert_below`` over ``min_judged`` requests raises one alert.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentops.runtime.logs import get_logger
from agentops.store import RolloutRecord

if TYPE_CHECKING:
    from agentops.runtime.rollouts.prompts import PromptRegistry

__all__ = ["evaluate"]

log = get_logger("agentops.prompts")


async def evaluate(prompts: PromptRegistry) -> None:
    """Advance, promote or roll back every active canary by its figures; alert on shadow regressions."""
    await prompts.refresh()
    for rollout in prompts.running():
        if rollout.kind == "canary":
            await _evaluate_canary(prompts, rollout)
        else:
            await _check_shadow(prompts, rollout)


async def _evaluate_canary(prompts: PromptRegistry, r: RolloutRecord) -> None:
    cfg = r.config
    canary = (await prompts.store.version_stats(r.prompt, since=r.stage_started_at)).get(r.version)
    if canary is None or canary.calls < cfg["min_calls"]:
        return
    base = (await prompts.store.version_stats(r.prompt, since=r.started_at - 3600)).get(r.base_version)
    b_err = base.error_rate if base else 0.0
    b_gate = base.gate_failure_rate if base else 0.0
    breaches = []
    if canary.error_rate > b_err + cfg["max_error_rate_increase"]:
        breaches.append(f"error rate {canary.error_rate:.1%} vs production {b_err:.1%}")
    if canary.gate_failure_rate > b_gate + cfg["max_gate_failure_increase"]:
        breaches.append(f"validation failures {canary.gate_failure_rate:.1%} vs production {b_gate:.1%}")
    if (
        base
        and base.p95_ms > 0
        and canary.p95_ms > base.p95_ms * cfg["max_p95_ratio"]
        and canary.p95_ms - base.p95_ms > 50
    ):
        breaches.append(f"P95 latency {canary.p95_ms:.0f} ms vs production {base.p95_ms:.0f} ms")
    stages = cfg["stages"]
    share = stages[min(r.stage, len(stages) - 1)]
    if breaches:
        reason = f"stage {share}%: " + "; ".join(breaches) + f" over {canary.calls} calls"
        await prompts.store.end_rollout(
            r.id, "rolled_back", reason, actor="canary", via="runtime", label_moves={"canary": None}
        )
        log.warning("canary rolled back", prompt=r.prompt, version=r.version, reason=reason)
        await prompts.changed(r.prompt, "canary.rolled_back", version=r.version, reason=reason, actor="canary")
    elif r.stage + 1 < len(stages):
        await prompts.store.advance(r.id, r.stage + 1)
        await prompts.changed(r.prompt, "canary.advanced", version=r.version, stage=stages[r.stage + 1], actor="canary")
    else:
        reason = f"passed every stage ({', '.join(f'{s}%' for s in stages)})"
        await prompts.store.end_rollout(
            r.id,
            "promoted",
            reason,
            actor="canary",
            via="runtime",
            label_moves={"production": r.version, "previous": r.base_version, "canary": None},
        )
        await prompts.changed(r.prompt, "canary.promoted", version=r.version, reason=reason, actor="canary")


async def _check_shadow(prompts: PromptRegistry, r: RolloutRecord) -> None:
    if r.id in prompts.alerted:
        return
    summary = await prompts.store.shadow_summary(r.id)
    cfg = r.config
    if (
        summary.judged >= cfg["min_judged"]
        and summary.mean_score is not None
        and summary.mean_score < cfg["alert_below"]
    ):
        prompts.alerted.add(r.id)
        reason = (
            f"shadow v{r.version} scored {summary.mean_score:.2f} on average against production over "
            f"{summary.judged} requests (alert below {cfg['alert_below']})"
        )
        log.warning("shadow regression", prompt=r.prompt, version=r.version, reason=reason)
        prompts.bus.publish("prompt.alert", prompt=r.prompt, version=r.version, reason=reason)
