"""``ctx.tool``: one tool step of a task, journaled.

Deny by default: an agent calls only the tools on its allowlist. The arguments are
validated against the tool's schema before it runs; a tool that ``requires_approval``
escalates with its arguments first (an edit replaces them, validated). It runs with a
timeout and the step's key set (:func:`~agentops.runtime.tasks.journal.current_step_key`,
for idempotency); its result is journaled right after it runs, and marked untrusted on
its span, and its strings are kept in ``ctx.untrusted``: fenced where a prompt quotes them,
and screened before the next call (:mod:`.screening`). A process killed in that instant
runs the tool again on resume.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from agentops.runtime.errors import (
    AgentOpsError,
    ToolArgumentsError,
    ToolDeniedError,
    ToolNotAllowedError,
    ToolTimeoutError,
    describe_validation,
)
from agentops.runtime.guards.fence import untrusted_strings
from agentops.runtime.registry import ToolSpec
from agentops.runtime.tasks.asking import ask
from agentops.runtime.tasks.journal import error_from_json, error_json, step_key
from agentops.store import ToolCallRecord

if TYPE_CHECKING:
    from agentops.runtime.tasks.context import Context

__all__ = ["allowed", "run_tool"]


def allowed(ctx: Context, name: str) -> ToolSpec:
    """The tool, if it is on the agent's allowlist.

    Raises:
        ToolNotAllowedError: it is not.
    """
    if name not in ctx.spec.tools:
        names = ", ".join(sorted(ctx.spec.tools)) or "none"
        raise ToolNotAllowedError(f"agent {ctx.spec.name!r} may not call tool {name!r} (allowed: {names})")
    return ctx.services.registry.tools[name]


async def run_tool(ctx: Context, name: str, arguments: dict[str, Any]) -> Any:
    """The body of :meth:`Context.tool <agentops.runtime.tasks.context.Context.tool>`."""
    spec = allowed(ctx, name)
    if spec.requires_approval:
        decision = await ask(ctx, name, f"approve tool call {name}", proposed=arguments, tool=name)
        if not decision.approved:
            reason = decision.comment or ("no decision before the deadline" if decision.timed_out else "denied")
            raise ToolDeniedError(f"operator denied tool {name!r}: {reason}")
        arguments = dict(decision.args) if isinstance(decision.args, dict) else arguments
    entry = await ctx._next_step("tool", name)
    if entry is not None and entry.status == "done":
        if "error" in entry.result:
            raise error_from_json(entry.result["error"])
        result = entry.result["result"]
    else:
        result = await _run(ctx, spec, arguments)
    ctx.untrusted.extend((f"tool {name}", text) for text in untrusted_strings(result))
    return result


async def _run(ctx: Context, spec: ToolSpec, arguments: dict[str, Any]) -> Any:
    name, tracer = spec.name, ctx.services.tracer
    span = tracer.start(
        f"tool {name}",
        "tool",
        trace_id=ctx.trace_id,
        parent_id=ctx.span.span_id,
        task_id=ctx.task_id,
        attrs={"gen_ai.tool.name": name, "agentops.arguments": arguments, "agentops.step": ctx.seq},
    )
    started = time.monotonic()
    status, result, error, error_type = "ok", None, None, None
    try:
        try:
            args = spec.args_model.model_validate(arguments)
        except ValidationError as exc:
            raise ToolArgumentsError(f"arguments for tool {name!r} are invalid: {describe_validation(exc)}") from None
        await ctx._record("tool", name, "started", {"args": arguments})
        timeout = spec.timeout_s or ctx.services.tool_timeout_s
        token = step_key.set(f"{ctx.task_id}:{ctx.seq}")
        try:
            result = await asyncio.wait_for(spec.fn(args), timeout)
        except TimeoutError:
            raise ToolTimeoutError(f"tool {name!r} did not finish within {timeout:g}s") from None
        finally:
            step_key.reset(token)
        if isinstance(result, BaseModel):
            result = result.model_dump(mode="json")
        guards = ctx.services.guards
        if guards is not None:  # the output filter: what the agent (and the journal) gets
            result, decision = await guards.check_output(
                result, agent=ctx.spec.name, task_id=ctx.task_id, where=f"tool {name}"
            )
            if decision.decision != "pass":
                span.attributes.update(decision.attrs())
        await ctx._record("tool", name, "done", {"result": result})
        return result
    except AgentOpsError as exc:
        status, error, error_type = "error", str(exc), type(exc).__name__
        await ctx._record("tool", name, "done", {"error": error_json(exc)})
        raise
    except Exception as exc:
        status, error, error_type = "error", str(exc), type(exc).__name__
        raise
    finally:
        latency = (time.monotonic() - started) * 1000.0
        tracer.end(span, status, error, attrs={"agentops.result": result})
        await ctx.services.store.record_tool_call(
            ToolCallRecord(
                span.span_id, ctx.task_id, name, arguments, status, latency, time.time(), result, error_type, error
            )
        )
