"""Behavioural monitoring of a task: each LLM and tool step checked against its agent's baseline.

Before a step runs for the first time, :func:`watch` asks the guards' monitor whether it
departs from what the agent usually does (:mod:`agentops.runtime.guards.behaviour`). A
departure is a guard decision (published, audited, on the task's span; the alert engine
raises ``agent_behaviour``); under ``escalate`` an operator decides whether the task goes
on, and the decision is journaled before the step, so a resumed task replays it rather than
asking the baseline again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentops.runtime.errors import GuardBlockedError
from agentops.runtime.guards import GuardDecision
from agentops.runtime.tasks.asking import ask

if TYPE_CHECKING:
    from agentops.runtime.tasks.context import Context

__all__ = ["BEHAVIOUR_STEP", "watch"]

BEHAVIOUR_STEP = "behaviour"
"""The journal name of an escalation about a task that departed from its agent's baseline."""


async def watch(ctx: Context, kind: str, name: str) -> None:
    """Check the step about to run (``kind`` is ``llm`` or ``tool``).

    Raises:
        TaskParked: the policy escalates, until someone decides.
        GuardBlockedError: an operator stopped the task.
    """
    guards = ctx.services.guards
    monitor = guards.behaviour if guards is not None else None
    if guards is None or monitor is None:
        return
    upcoming = ctx.replay.get(ctx.seq + 1)
    if upcoming is not None and (upcoming.kind, upcoming.name) == ("escalation", BEHAVIOUR_STEP):
        await _ask(ctx, GuardDecision("behaviour", "escalate", where=f"{kind} {name}"))  # replays the decision
        return
    action = guards.behaviour_action(ctx.spec.name)
    if upcoming is not None or action == "off":
        return  # a step that ran before was watched then
    departure = await monitor.check(
        ctx.spec.name, tool=name if kind == "tool" else None, llm_calls=ctx.totals.calls + 1 if kind == "llm" else 0
    )
    if departure is None or departure.kind in ctx.departures:
        return
    ctx.departures.add(departure.kind)
    decision = GuardDecision("behaviour", action, where=f"{kind} {name}", reason=departure.reason)
    ctx.span.attributes.update(decision.attrs())
    if action != "escalate" or await ctx.services.escalations.for_step(ctx.task_id, ctx.seq + 1) is None:
        await guards.record(decision, agent=ctx.spec.name, task_id=ctx.task_id)  # once: a resumed task checks again
    if action == "escalate":
        await _ask(ctx, decision)


async def _ask(ctx: Context, decision: GuardDecision) -> None:
    answer = await ask(
        ctx,
        BEHAVIOUR_STEP,
        f"guard behaviour: {decision.reason}; let the task go on?",
        context={"kind": "guard", "guard": "behaviour", "where": decision.where, "reason": decision.reason},
    )
    if not answer.approved:
        why = f" (operator: {answer.comment})" if answer.comment else ""
        raise GuardBlockedError(
            f"guard behaviour: an operator stopped the task before its {decision.where}{why}", guard="behaviour"
        )
