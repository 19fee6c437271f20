"""The input guard of a task's LLM step: untrusted text fenced, then screened for injection.

The untrusted texts of a task (``ctx.untrusted``) are the strings of its input, of each
tool result and of each document (``ctx.document``). Before each call, the tool results and
documents are fenced where the prompt quotes them (:func:`~agentops.runtime.guards.fence.fence`),
and every untrusted text the prompt quotes is scored on its own: the agent's own template
around it is trusted, and screening it would only add false positives. A text the agent
rewrote before quoting it is not found, and not screened. The policy of the agent or
prompt decides: ``flag`` marks the call's span and goes
on, ``block`` fails the step with ``GuardBlockedError``, ``escalate`` parks the task until
an operator allows the call (it then goes on, unscreened once) or blocks it.

An escalation takes the step's place in the journal, as a budget's does: the step runs
again after the decision (:meth:`Context._next_step
<agentops.runtime.tasks.context.Context._next_step>` replays the decision first).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentops.runtime.errors import GuardBlockedError
from agentops.runtime.guards import GuardDecision
from agentops.runtime.guards.fence import fence
from agentops.runtime.tasks.asking import ask

if TYPE_CHECKING:
    from agentops.runtime.tasks.context import Context

__all__ = ["GUARD_STEP", "GuardEscalation", "ask_guard", "blocked_by_operator", "screen_call"]

GUARD_STEP = "guard"
"""The journal name of an escalation asking an operator to allow a screened call."""


@dataclass
class GuardEscalation(Exception):
    """The screen's policy is ``escalate`` (internal: the LLM step asks and runs again)."""

    decision: GuardDecision


async def screen_call(
    ctx: Context, messages: list[dict[str, Any]], prompt: str | None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The messages to send (fenced) and the decision's span attributes.

    Raises:
        GuardBlockedError: the policy blocks.
        GuardEscalation: the policy escalates.
    """
    guards = ctx.services.guards
    if guards is None:
        return messages, {}
    if guards.settings.fence:
        messages = fence(messages, ctx.untrusted)
    if ctx.screen_allowed:  # an operator allowed this step's call
        ctx.screen_allowed = False
        return messages, {"agentops.guard.injection": {"decision": "allowed", "by": "operator"}}
    contents = [m["content"] for m in messages if _untrusted_role(m)]
    quoted = dict.fromkeys(st for st in ctx.untrusted if any(st[1] in c for c in contents))
    texts = sorted(quoted, key=lambda st: st[0] == "input")  # tool results and documents first (stable)
    decision = await guards.screen(texts, agent=ctx.spec.name, prompt=prompt, task_id=ctx.task_id)
    if decision.decision == "block":
        raise decision.blocked()
    if decision.decision == "escalate":
        raise GuardEscalation(decision)
    return messages, decision.attrs() if decision.score is not None or decision.error else {}


async def ask_guard(ctx: Context, decision: GuardDecision) -> None:
    """Ask an operator whether the screened call may go on; allow it once, or block.

    Raises:
        TaskParked: until someone decides.
        GuardBlockedError: the operator blocked it (or the deadline's default did).
    """
    guards = ctx.services.guards
    opened = await ctx.services.escalations.for_step(ctx.task_id, ctx.seq + 1)
    if opened is None and guards is not None:  # the first time: a resumed task screens again
        await guards.record(decision, agent=ctx.spec.name, task_id=ctx.task_id)
    answer = await ask(
        ctx,
        GUARD_STEP,
        f"guard {decision.guard}: {decision.reason} in the {decision.where}; let the call go on?",
        context={
            "kind": "guard",
            "guard": decision.guard,
            "where": decision.where,
            "score": decision.score,
            "rules": list(decision.rules),
            "text": decision.text,
        },
    )
    if not answer.approved:
        raise blocked_by_operator(decision, answer.comment)
    ctx.screen_allowed = True


def blocked_by_operator(decision: GuardDecision | None, comment: str | None) -> GuardBlockedError:
    """The error of a screened call an operator did not allow."""
    what = f"{decision.reason} in the {decision.where}" if decision is not None else "a screened call"
    why = f" (operator: {comment})" if comment else ""
    return GuardBlockedError(f"guard injection: an operator blocked {what}{why}", guard="injection")


def _untrusted_role(m: dict[str, Any]) -> bool:
    return m.get("role") in ("user", "tool") and isinstance(m.get("content"), str) and bool(m["content"])
