"""Asking an operator from inside a task: ``ctx.escalate``, a budget's cap to raise, more steps.

An escalation is a step: the first run opens it (a row with the reason, context, proposed
action, deadline and default) and parks the task, holding no worker; once someone decides
(or the deadline applies the default), the task runs again and the step returns the
decision, journaled. A budget escalation raises the cap on approval (audited under the
operator's name); a max-steps escalation grants more steps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentops.runtime.errors import BudgetExceededError, MaxStepsExceededError
from agentops.runtime.tasks.escalation import Decision, TaskParked

if TYPE_CHECKING:
    from agentops.runtime.tasks.context import Context

__all__ = ["BUDGET_STEP", "ask", "ask_budget", "ask_for_steps"]

BUDGET_STEP = "budget"
"""The journal name of an escalation asking an operator to raise a budget's cap."""


async def ask(
    ctx: Context,
    step: str,
    reason: str,
    *,
    context: Any = None,
    proposed: Any = None,
    timeout: float | None = None,
    default: str = "deny",
    tool: str | None = None,
) -> Decision:
    """An escalation journaled under ``step`` (see :meth:`Context.escalate
    <agentops.runtime.tasks.context.Context.escalate>`).

    Raises:
        TaskParked: until someone decides.
    """
    if default not in ("approve", "deny"):
        raise ValueError(f"default must be 'approve' or 'deny', not {default!r}")
    entry = await ctx._next_step("escalation", step, counts=False)
    if entry is not None:
        return Decision.from_json(entry.result)
    escalations = ctx.services.escalations
    record = await escalations.for_step(ctx.task_id, ctx.seq)
    if record is None:
        record = await escalations.open(
            task_id=ctx.task_id,
            seq=ctx.seq,
            agent=ctx.spec.name,
            reason=reason,
            context=context,
            proposed=proposed,
            tool=tool,
            default_action=default,
            timeout_s=timeout,
        )
    if record.status != "decided":
        raise TaskParked(record)
    decision = Decision.of(record)
    await ctx._record("escalation", step, "done", decision.to_json())
    return decision


async def ask_budget(ctx: Context, exc: BudgetExceededError) -> None:
    """Ask an operator to raise a budget's cap; on approval raise it (audited), else fail the step.

    Raises:
        TaskParked: until someone decides.
        BudgetExceededError: the operator said no.
    """
    budgets = ctx.services.budgets
    assert budgets is not None
    proposed = round(max(exc.cap * 2, exc.used + exc.estimate * 4), 6)
    decision = await ask(
        ctx,
        BUDGET_STEP,
        f"budget {exc.scope} {exc.key!r} would be exceeded ({exc}); raise its cap? "
        "(a raised cap stays until it is changed again)",
        context={
            "kind": "budget",
            "scope": exc.scope,
            "key": exc.key,
            "unit": exc.unit,
            "used": exc.used,
            "cap": exc.cap,
            "this_call_needs": exc.estimate,
            "task_cost_usd": round(ctx.totals.cost_usd, 6),
            "task_tokens": ctx.totals.input_tokens + ctx.totals.output_tokens,
        },
        proposed={"cap": proposed},
    )
    if not decision.approved:
        reason = f" (operator: {decision.comment})" if decision.comment else ""
        raise BudgetExceededError(f"{exc}; an operator declined to raise the cap{reason}", scope=exc.scope, key=exc.key)
    args = decision.args if isinstance(decision.args, dict) else {}
    try:
        cap = float(args.get("cap", proposed))
    except (TypeError, ValueError):
        cap = proposed
    await budgets.set_cap(
        exc.scope,
        exc.key,
        cap,
        actor=decision.decided_by,
        via=decision.via,
        reason=f"budget escalation of task {ctx.task_id}",
    )


async def ask_for_steps(ctx: Context, what: str) -> None:
    """At ``max_steps``: fail, or (``escalate_on_max_steps``) ask an operator for more.

    Raises:
        MaxStepsExceededError: the agent does not escalate, or the operator said no.
    """
    message = (
        f"agent {ctx.spec.name!r} reached max_steps={ctx.max_steps} before {what}; raise max_steps "
        "on the agent or runtime.max_steps in config.toml if this is expected"
    )
    if not ctx.spec.escalate_on_max_steps:
        raise MaxStepsExceededError(message)
    extra = ctx.spec.max_steps or ctx.max_steps
    decision = await ask(
        ctx,
        "escalate",
        f"reached max_steps={ctx.max_steps}; allow {extra} more?",
        context={"steps": ctx.totals.steps, "cost_usd": ctx.totals.cost_usd},
        proposed={"extra_steps": extra},
    )
    if not decision.approved:
        raise MaxStepsExceededError(message + (f" (operator: {decision.comment})" if decision.comment else ""))
    args = decision.args if isinstance(decision.args, dict) else {}
    ctx.max_steps += int(args.get("extra_steps", extra))
