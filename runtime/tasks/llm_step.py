"""``ctx.llm``: one LLM step of a task, journaled.

A step with a prompt name and variables resolves the prompt's version for this task
(production, the canary for a unit in its bucket, or a label asked for), renders it and
calls with the version's route, parameters, tools and output schema. A route that is a
router picks its route first (its classifier prompt, if a rule has one, is a call of its
own). With an output model the reply goes through the validation gate, with a bounded
number of repairs. Before the call, untrusted text is fenced and screened for prompt
injection (:mod:`.screening`). A budget over its cap with the ``escalate`` action, or a
screen whose policy escalates, parks the task until an operator decides (:mod:`.asking`);
then the step runs again.
The result is journaled with the prompt version that ran; a resumed task replays it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel

from agentops.runtime import errors
from agentops.runtime.calls import (
    CallOptions,
    CallScope,
    Check,
    GateFailure,
    LLMClient,
    LLMResponse,
    ToolCall,
    Usage,
    repair_message,
    response_format,
    validate_reply,
)
from agentops.runtime.errors import AgentOpsError, BudgetExceededError, GuardBlockedError, ValidationGateError
from agentops.runtime.rollouts import Resolved, run_shadow
from agentops.runtime.tasks.asking import ask_budget
from agentops.runtime.tasks.batch_step import WaitingForBatch, batched, call_maybe_batched
from agentops.runtime.tasks.journal import error_from_json, error_json
from agentops.runtime.tasks.screening import GuardEscalation, ask_guard, screen_call
from agentops.runtime.tasks.tool_step import allowed
from agentops.store import JournalEntry

if TYPE_CHECKING:
    from agentops.runtime.tasks.context import Context

__all__ = ["LLMResult", "run_llm"]

M = TypeVar("M", bound=BaseModel)


@dataclass
class LLMResult(Generic[M]):
    """What ``ctx.llm`` returns.

    Attributes:
        text: the reply text (None when the model only called tools).
        output: the validated object when ``output=`` was given.
        tool_calls: tools the model asked to call (run them with ``ctx.tool``).
        response: the call's details: model, deployment, usage, cost, attempts.
        replayed: True when the result came from the journal (the task resumed).
    """

    text: str | None
    output: M | None
    tool_calls: tuple[ToolCall, ...]
    response: LLMResponse
    replayed: bool = False


async def run_llm(
    ctx: Context,
    prompt: str | list[dict[str, Any]],
    vars: dict[str, Any] | None,
    *,
    output: type[BaseModel] | None,
    system: str | None,
    check: Check | None,
    tools: Sequence[str],
    route: str | None,
    name: str | None,
    label: str | None,
    params: dict[str, Any],
    batch: bool | None = None,
) -> LLMResult[Any]:
    """The body of :meth:`Context.llm <agentops.runtime.tasks.context.Context.llm>`."""
    again = partial(run_llm, ctx, prompt, vars, output=output, system=system, check=check, tools=tools,
                    route=route, name=name, label=label, params=dict(params), batch=batch)  # fmt: skip
    resolved: Resolved | None = None
    if vars is not None:
        if not isinstance(prompt, str):
            raise TypeError("with vars, the first argument names a prompt file")
        resolved = _resolve_prompt(ctx, prompt, label)
    step = str(name or (prompt if resolved is not None else "llm"))
    ref = f"{resolved.version.prompt}@v{resolved.version.version}" if resolved is not None else None
    entry = await ctx._next_step("llm", step)
    if entry is not None:
        for ran in entry.result.get("prompts") or []:  # the versions that ran then, not now
            ctx.totals.ran(ran)
        return _replay(ctx, entry, output or (resolved.version.output_model() if resolved else None))
    ran_before = len(ctx.totals.prompts)
    ctx.totals.ran(ref)
    scope = ctx._scope(ctx.span.span_id)
    options = CallOptions()
    if resolved is not None:
        v = resolved.version
        messages = v.render(vars or {})
        tools = tools or v.tools
        output = output or v.output_model()
        route = route or v.route
        params = {**v.params, **params}
        options = CallOptions(cache=v.cache)
        scope = replace(
            scope, prompt=v.prompt, prompt_version=v.version, prompt_artifact=v.artifact_id, prompt_label=resolved.label
        )
    else:
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
        if system:
            messages.insert(0, {"role": "system", "content": system})
    if tools:
        params["tools"] = [allowed(ctx, t).schema() for t in tools]
    if output is not None:
        params["response_format"] = response_format(output)
    try:
        messages, guarded = await screen_call(ctx, messages, scope.prompt)
    except GuardEscalation as esc:  # the escalation takes the step's place; then the step runs again
        ctx.seq -= 1
        ctx.totals.steps -= 1
        await ask_guard(ctx, esc.decision)
        return await again()
    except GuardBlockedError as exc:
        await ctx._record("llm", step, "done", {"error": error_json(exc), "prompts": ctx.totals.prompts[ran_before:]})
        raise
    if guarded:
        options = replace(options, span_attrs=guarded)
    client = await ctx.services.client()
    route = route or ctx.spec.route or ctx.services.default_route
    router = ctx.services.router
    if router is not None and route in router:
        choice = await router.choose(
            route,
            agent=ctx.spec.name,
            prompt=scope.prompt,
            text=_request_text(messages),
            classify=partial(_classify, ctx, client, scope, route),
        )
        route, options = choice.route, replace(options, routing=choice.span_attrs())
    by_batch = batched(ctx, batch)
    try:
        if output is None:
            response = await call_maybe_batched(
                ctx, client, messages, batch=by_batch, route=route, scope=scope, name=step, options=options,
                params=params,
            )  # fmt: skip
            ctx.totals.add(response)
            result: LLMResult[Any] = LLMResult(response.text, None, response.tool_calls, response)
        else:
            result = await _gated(ctx, client, messages, output, check, route, step, params, scope, options, by_batch)
    except BudgetExceededError as exc:
        if exc.action != "escalate" or ctx.services.budgets is None:
            await ctx._record(
                "llm", step, "done", {"error": error_json(exc), "prompts": ctx.totals.prompts[ran_before:]}
            )
            raise
        # The step did not happen: the escalation takes its place, then the step runs again.
        ctx.seq -= 1
        ctx.totals.steps -= 1
        await ask_budget(ctx, exc)
        return await again()
    except AgentOpsError as exc:
        await ctx._record("llm", step, "done", {"error": error_json(exc), "prompts": ctx.totals.prompts[ran_before:]})
        raise
    # The prompt versions this step ran (its own, and a router's classifier's), for a replay.
    await ctx._record("llm", step, "done", {**_llm_json(result), "prompts": ctx.totals.prompts[ran_before:]})
    prompts = ctx.services.prompts
    shadow = resolved.shadow if resolved is not None else None
    if shadow is not None and prompts is not None and prompts.wants_shadow(shadow):
        shadow_scope = replace(scope, parent_span_id=result.response.span_id)
        prompts.spawn(run_shadow(client, prompts, shadow, vars or {}, result.text, shadow_scope, route))
    return result


async def _gated(
    ctx: Context,
    client: LLMClient,
    messages: list[dict[str, Any]],
    output: type[M],
    check: Check | None,
    route: str,
    label: str,
    params: dict[str, Any],
    scope: CallScope,
    options: CallOptions,
    batch: bool = False,
) -> LLMResult[M]:
    """Call until the reply parses into ``output`` and passes ``check``, feeding failures back
    (by batch, the first call only: repairs are made at once)."""
    tracer = ctx.services.tracer
    gate = tracer.start(
        f"gate {output.__name__}", "gate", trace_id=ctx.trace_id, parent_id=ctx.span.span_id, task_id=ctx.task_id
    )
    failures: list[str] = []
    for attempt in range(ctx.services.max_repairs + 1):
        try:
            response = await call_maybe_batched(
                ctx,
                client,
                messages,
                batch=batch and attempt == 0,
                route=route,
                scope=replace(scope, parent_span_id=gate.span_id),
                name=label if attempt == 0 else f"{label} (repair {attempt})",
                options=options,
                params=params,
            )
        except WaitingForBatch:
            tracer.end(gate, "ok", attrs={"agentops.gate.waiting": "batch"})
            raise
        except BaseException as exc:
            tracer.end(gate, "error", f"{type(exc).__name__}: {exc}")
            raise
        ctx.totals.add(response)
        try:
            value = validate_reply(response.text, output, check)
        except GateFailure as failure:
            failures.append(str(failure))
            client.forget_cached(response.cache_entry or response.span_id)  # never serve it again
            await ctx.services.store.mark_gate_failed(response.span_id)
            messages = [*messages, {"role": "assistant", "content": response.text or ""}, repair_message(failure)]
            continue
        tracer.end(gate, "ok", attrs={"agentops.gate.attempts": attempt + 1, "agentops.gate.failures": failures})
        return LLMResult(response.text, value, response.tool_calls, response)
    error = ValidationGateError(
        f"reply failed validation as {output.__name__} {len(failures)} time(s); last: {failures[-1]}",
        attempts=len(failures),
        last_reply=response.text or "",
    )
    attrs = {"agentops.gate.attempts": len(failures), "agentops.gate.failures": failures}
    tracer.end(gate, "error", str(error), attrs=attrs)
    raise error


def _replay(ctx: Context, entry: JournalEntry, output: type[M] | None) -> LLMResult[Any]:
    data = entry.result
    if "error" in data:
        raise error_from_json(data["error"])
    response = LLMResponse(
        data["text"],
        tuple(ToolCall(**tc) for tc in data["tool_calls"]),
        Usage(*data["usage"]),
        data["model"],
        data["deployment"],
        data["cost_usd"],
        data["priced"],
        data["attempts"],
        data["retries"],
        data["fallbacks"],
        data["latency_ms"],
        data["span_id"],
        data.get("finish_reason"),
    )
    ctx.totals.add(response)
    value = output.model_validate(data["output"]) if output is not None and data["output"] is not None else None
    return LLMResult(response.text, value, response.tool_calls, response, replayed=True)


async def _classify(
    ctx: Context, client: LLMClient, scope: CallScope, router_name: str, prompt: str, text: str
) -> str | None:
    """A router's classifier prompt's label for ``text`` (None when it gives none, or fails:
    the router then goes on to its next rule, and the classifier's span says why)."""
    try:
        resolved = _resolve_prompt(ctx, prompt, None)
    except AgentOpsError as exc:
        ctx.log.warning("router classifier prompt unavailable", prompt=prompt, error=str(exc))
        return None
    v = resolved.version
    params = dict(v.params)
    model = v.output_model()
    if model is not None:
        params["response_format"] = response_format(model)
    router = ctx.services.router
    settings = router.routers.get(router_name) if router is not None else None
    call_route = (settings.classifier_route if settings else None) or v.route or router_name
    try:
        response = await client.call(
            v.render({"text": text}),
            route=call_route,
            scope=replace(scope, prompt=v.prompt, prompt_version=v.version, prompt_artifact=v.artifact_id),
            name=f"router {prompt}",
            options=CallOptions(cache=v.cache),
            **params,
        )
    except AgentOpsError as exc:  # the classifier's own span records the failure
        ctx.log.warning("router classifier failed", prompt=prompt, error=str(exc))
        return None
    ctx.totals.add(response)
    ctx.totals.ran(f"{v.prompt}@v{v.version}")
    try:
        label = json.loads(response.text or "").get("label")
    except (ValueError, AttributeError):
        return None
    return str(label) if label is not None else None


def _resolve_prompt(ctx: Context, prompt: str, label: str | None) -> Resolved:
    prompts = ctx.services.prompts
    if prompts is None:
        raise errors.ConfigError("prompt files are not loaded in this runtime")
    return prompts.resolve(prompt, ctx.user_id or ctx.task_id, label)


def _request_text(messages: list[dict[str, Any]]) -> str:
    """The text a router judges a request by: its last user message."""
    for m in reversed(messages):
        if m.get("role") == "user":
            return m["content"] if isinstance(m.get("content"), str) else str(m.get("content"))
    return ""


def _llm_json(result: LLMResult[Any]) -> dict[str, Any]:
    r = result.response
    return {
        "text": r.text,
        "output": result.output.model_dump(mode="json") if result.output is not None else None,
        "tool_calls": [{"id": t.id, "name": t.name, "arguments": t.arguments} for t in r.tool_calls],
        "usage": [r.usage.input_tokens, r.usage.output_tokens, r.usage.cached_tokens],
        "model": r.model,
        "deployment": r.deployment,
        "cost_usd": r.cost_usd,
        "priced": r.priced,
        "attempts": r.attempts,
        "retries": r.retries,
        "fallbacks": r.fallbacks,
        "latency_ms": r.latency_ms,
        "span_id": r.span_id,
        "finish_reason": r.finish_reason,
    }
