"""``ctx``: what an agent's code is given to call models and tools, and to ask a human.

Every ``ctx.llm``, ``ctx.tool`` and ``ctx.escalate`` is a step with a sequence number.
Its result is journaled under (task id, step) before the agent continues; when a task
runs again (after a crash or an approval) each journaled step returns its recorded
result instead of running. A tool's result is journaled after it runs, so a process
killed in between re-runs that one tool call: tools with side effects should make
them idempotent with :func:`current_step_key`, which is the same on every run.

A task that takes more LLM/tool steps than its agent's ``max_steps`` stops with
:class:`~agentops.runtime.errors.MaxStepsExceededError` (or escalates, if the agent
says ``escalate_on_max_steps``).
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, Generic, TypeVar, overload

from pydantic import BaseModel, ValidationError

from agentops.runtime import errors
from agentops.runtime.budgets import Budgets
from agentops.runtime.config import FlagValue
from agentops.runtime.errors import (
    AgentOpsError,
    BudgetExceededError,
    MaxStepsExceededError,
    ToolArgumentsError,
    ToolDeniedError,
    ToolNotAllowedError,
    ToolTimeoutError,
    ValidationGateError,
    describe_validation,
)
from agentops.runtime.escalation import Decision, TaskParked
from agentops.runtime.flags import Flags
from agentops.runtime.gate import Check, GateFailure, repair_message, response_format, validate_reply
from agentops.runtime.llm import CallOptions, CallScope, LLMClient, LLMResponse
from agentops.runtime.logs import get_logger
from agentops.runtime.pricing import Usage
from agentops.runtime.prompts import PromptRegistry, Resolved
from agentops.runtime.provider import ToolCall
from agentops.runtime.registry import AgentSpec, Registry, ToolSpec
from agentops.runtime.router import ModelRouter
from agentops.runtime.shadow import run_shadow
from agentops.runtime.tracing import Span, Tracer
from agentops.store import EscalationStore, Journal, JournalEntry, Store, ToolCallRecord

__all__ = ["Context", "JournalMismatchError", "LLMResult", "TaskServices", "current_step_key"]

M = TypeVar("M", bound=BaseModel)

_step_key: contextvars.ContextVar[str] = contextvars.ContextVar("agentops_step_key", default="")


def current_step_key() -> str:
    """Inside a tool: ``<task id>:<step>``, identical on every run of that step (an idempotency key)."""
    return _step_key.get()


class JournalMismatchError(AgentOpsError):
    """A resumed task's agent asked for a different step than the journal recorded."""


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


@dataclass
class _Totals:
    steps: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float = 0.0
    prompts: list[str] = field(default_factory=list)
    """``name@vN`` of each prompt version the agent ran, in the order of first use."""

    def ran(self, prompt: str | None) -> None:
        """Note that a prompt version ran (once each)."""
        if prompt and prompt not in self.prompts:
            self.prompts.append(prompt)

    def add(self, r: LLMResponse) -> None:
        self.input_tokens += r.usage.input_tokens
        self.output_tokens += r.usage.output_tokens
        self.cached_tokens += r.usage.cached_tokens
        self.cost_usd += r.cost_usd


@dataclass
class TaskServices:
    """What a task's context needs from the runtime."""

    client: Callable[[], Awaitable[LLMClient]]
    tracer: Tracer
    store: Store
    registry: Registry
    journal: Journal
    escalations: EscalationStore
    max_repairs: int
    tool_timeout_s: float
    default_route: str
    prompts: PromptRegistry | None = None
    flags: Flags | None = None
    budgets: Budgets | None = None
    router: ModelRouter | None = None


BUDGET_STEP = "budget"
"""The journal name of an escalation asking an operator to raise a budget's cap."""


@dataclass
class Context:
    """The handle an agent uses for one task."""

    task_id: str
    trace_id: str
    spec: AgentSpec
    user_id: str | None
    session_id: str | None
    span: Span
    max_steps: int
    services: TaskServices
    replay: dict[int, JournalEntry] = field(default_factory=dict)
    totals: _Totals = field(default_factory=_Totals)
    seq: int = 0

    @property
    def log(self) -> Any:
        """A structlog logger bound to this task."""
        return get_logger("agentops.agent", task_id=self.task_id, trace_id=self.trace_id)

    # -- steps and the journal -----------------------------------------------------------------

    async def _next_step(self, kind: str, name: str, counts: bool = True) -> JournalEntry | None:
        """Advance to the next step; return its journal entry if it ran before."""
        if counts and self.totals.steps >= self.max_steps:
            await self._more_steps(f"{kind} {name}")
        self.seq += 1
        if counts:
            self.totals.steps += 1
        if kind == "llm":  # budget escalations journaled before this step (one per raise asked for)
            while (e := self.replay.get(self.seq)) is not None and (e.kind, e.name) == ("escalation", BUDGET_STEP):
                decision = Decision.from_json(e.result)
                if not decision.approved:
                    raise BudgetExceededError(f"an operator declined to raise the budget's cap: {decision.comment}")
                self.seq += 1
        entry = self.replay.get(self.seq)
        if entry is not None and (entry.kind, entry.name) != (kind, name):
            raise JournalMismatchError(
                f"task {self.task_id} step {self.seq}: the journal recorded {entry.kind} {entry.name!r} but the "
                f"agent now asks for {kind} {name!r}; the agent's code changed while the task was in flight"
            )
        return entry

    async def _record(self, kind: str, name: str, status: str, result: Any) -> None:
        await self.services.journal.record(self.task_id, self.seq, kind, name, status, result)

    async def _more_steps(self, what: str) -> None:
        message = (
            f"agent {self.spec.name!r} reached max_steps={self.max_steps} before {what}; raise max_steps "
            "on the agent or runtime.max_steps in config.toml if this is expected"
        )
        if not self.spec.escalate_on_max_steps:
            raise MaxStepsExceededError(message)
        extra = self.spec.max_steps or self.max_steps
        decision = await self.escalate(
            f"reached max_steps={self.max_steps}; allow {extra} more?",
            context={"steps": self.totals.steps, "cost_usd": self.totals.cost_usd},
            proposed={"extra_steps": extra},
        )
        if not decision.approved:
            raise MaxStepsExceededError(message + (f" (operator: {decision.comment})" if decision.comment else ""))
        args = decision.args if isinstance(decision.args, dict) else {}
        self.max_steps += int(args.get("extra_steps", extra))

    # -- LLM calls ------------------------------------------------------------------------------

    @overload
    async def llm(
        self,
        prompt: str | list[dict[str, Any]],
        vars: dict[str, Any] | None = ...,
        *,
        output: type[M],
        system: str | None = ...,
        check: Check | None = ...,
        tools: Sequence[str] = ...,
        route: str | None = ...,
        name: str | None = ...,
        label: str | None = ...,
        **params: Any,
    ) -> LLMResult[M]: ...

    @overload
    async def llm(
        self,
        prompt: str | list[dict[str, Any]],
        vars: dict[str, Any] | None = ...,
        *,
        output: None = ...,
        system: str | None = ...,
        check: Check | None = ...,
        tools: Sequence[str] = ...,
        route: str | None = ...,
        name: str | None = ...,
        label: str | None = ...,
        **params: Any,
    ) -> LLMResult[Any]: ...

    async def llm(
        self,
        prompt: str | list[dict[str, Any]],
        vars: dict[str, Any] | None = None,
        *,
        output: type[M] | None = None,
        system: str | None = None,
        check: Check | None = None,
        tools: Sequence[str] = (),
        route: str | None = None,
        name: str | None = None,
        label: str | None = None,
        **params: Any,
    ) -> LLMResult[Any]:
        """Call a model along a route (one step).

        ``ctx.llm("triage.classify", {"text": ...})``: with ``vars``, ``prompt`` names a prompt
        file; the version is resolved for this task (production, or the canary for a unit in
        its bucket, or ``label``), rendered with ``vars``, and called with the version's route,
        parameters, tools and output schema (arguments given here override them). The span,
        the call and the ledger record the prompt's name, version and artifact id; an active
        shadow of the prompt receives a copy of the request afterwards.

        Args:
            prompt: the user message, a full list of chat messages, or (with ``vars``) a prompt name.
            vars: the prompt's template variables.
            output: a pydantic model the reply must parse into (the validation gate).
            system: a system message put first.
            check: a further check of the parsed output (see :mod:`agentops.runtime.gate`).
            tools: names of tools to offer the model; each must be on the agent's allowlist.
            route: the fallback chain; defaults to the agent's, then ``runtime.default_route``.
            name: the step's name in traces (defaults to ``llm``, or the prompt's name).
            label: with a prompt name: use the version this label points at (e.g. from a flag).
            **params: passed to the provider (``temperature``, ``max_tokens``, ...).

        Raises:
            ValidationGateError: the reply never passed ``output``/``check``.
            LLMCallError: every deployment of the route failed.
        """
        original = dict(params)
        resolved: Resolved | None = None
        if vars is not None:
            if not isinstance(prompt, str):
                raise TypeError("with vars, the first argument names a prompt file")
            resolved = self._resolve_prompt(prompt, label)
        step = name or (prompt if resolved is not None else "llm")
        ref = f"{resolved.version.prompt}@v{resolved.version.version}" if resolved is not None else None
        entry = await self._next_step("llm", str(step))
        if entry is not None:
            self.totals.ran(entry.result.get("prompt", ref))  # the version that ran then, not now
            return self._replay_llm(entry, output or (resolved.version.output_model() if resolved else None))
        self.totals.ran(ref)
        scope = self._scope(self.span.span_id)
        options = CallOptions()
        if resolved is not None:
            v = resolved.version
            messages = v.render(vars or {})
            tools = tools or v.tools
            output = output or v.output_model()  # type: ignore[assignment]  # the file's schema, M unknown
            route = route or v.route
            params = {**v.params, **params}
            options = CallOptions(cache=v.cache)
            scope = replace(
                scope,
                prompt=v.prompt,
                prompt_version=v.version,
                prompt_artifact=v.artifact_id,
                prompt_label=resolved.label,
            )
        else:
            messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
            if system:
                messages.insert(0, {"role": "system", "content": system})
        if tools:
            params["tools"] = [self._allowed(t).schema() for t in tools]
        if output is not None:
            params["response_format"] = response_format(output)
        client = await self.services.client()
        route = route or self.spec.route or self.services.default_route
        router = self.services.router
        if router is not None and route in router:
            choice = await router.choose(
                route,
                agent=self.spec.name,
                prompt=scope.prompt,
                text=_request_text(messages),
                classify=partial(self._classify, client, scope, route),
            )
            route, options = choice.route, replace(options, routing=choice.span_attrs())
        try:
            if output is None:
                response = await client.call(
                    messages, route=route, scope=scope, name=str(step), options=options, **params
                )
                self.totals.add(response)
                result: LLMResult[Any] = LLMResult(response.text, None, response.tool_calls, response)
            else:
                result = await self._gated(client, messages, output, check, route, str(step), params, scope, options)
        except BudgetExceededError as exc:
            if exc.action != "escalate" or self.services.budgets is None:
                await self._record("llm", str(step), "done", {"error": _error_json(exc), "prompt": ref})
                raise
            # The step did not happen: the escalation takes its place, then the step runs again.
            self.seq -= 1
            self.totals.steps -= 1
            await self._ask_budget(exc)
            return await self.llm(
                prompt,
                vars,
                output=output,
                system=system,
                check=check,
                tools=tools,
                route=route,
                name=name,
                label=label,
                **original,
            )
        except AgentOpsError as exc:
            await self._record("llm", str(step), "done", {"error": _error_json(exc), "prompt": ref})
            raise
        await self._record("llm", str(step), "done", {**_llm_json(result), "prompt": ref})
        if resolved is not None and resolved.shadow is not None and self.services.prompts is not None:
            prompts = self.services.prompts
            if prompts.wants_shadow(resolved.shadow):
                prompts.spawn(
                    run_shadow(
                        client,
                        prompts,
                        resolved.shadow,
                        vars or {},
                        result.text,
                        replace(scope, parent_span_id=result.response.span_id),
                        route,
                    )
                )
        return result

    async def _ask_budget(self, exc: BudgetExceededError) -> None:
        """Ask an operator to raise a budget's cap; on approval raise it (audited), else fail the step.

        Raises:
            TaskParked: until someone decides.
            BudgetExceededError: the operator said no.
        """
        assert self.services.budgets is not None
        proposed = round(max(exc.cap * 2, exc.used + exc.estimate * 4), 6)
        decision = await self._ask(
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
                "task_cost_usd": round(self.totals.cost_usd, 6),
                "task_tokens": self.totals.input_tokens + self.totals.output_tokens,
            },
            proposed={"cap": proposed},
        )
        if not decision.approved:
            reason = f" (operator: {decision.comment})" if decision.comment else ""
            raise BudgetExceededError(
                f"{exc}; an operator declined to raise the cap{reason}", scope=exc.scope, key=exc.key
            )
        args = decision.args if isinstance(decision.args, dict) else {}
        try:
            cap = float(args.get("cap", proposed))
        except (TypeError, ValueError):
            cap = proposed
        await self.services.budgets.set_cap(
            exc.scope,
            exc.key,
            cap,
            actor=decision.decided_by,
            via=decision.via,
            reason=f"budget escalation of task {self.task_id}",
        )

    async def _classify(
        self, client: LLMClient, scope: CallScope, router_name: str, prompt: str, text: str
    ) -> str | None:
        """A router's classifier prompt's label for ``text`` (None when it gives none, or fails:
        the router then goes on to its next rule, and the classifier's span says why)."""
        try:
            resolved = self._resolve_prompt(prompt, None)
        except AgentOpsError as exc:
            self.log.warning("router classifier prompt unavailable", prompt=prompt, error=str(exc))
            return None
        v = resolved.version
        params = dict(v.params)
        model = v.output_model()
        if model is not None:
            params["response_format"] = response_format(model)
        router = self.services.router
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
            self.log.warning("router classifier failed", prompt=prompt, error=str(exc))
            return None
        self.totals.add(response)
        self.totals.ran(f"{v.prompt}@v{v.version}")
        try:
            label = json.loads(response.text or "").get("label")
        except (ValueError, AttributeError):
            return None
        return str(label) if label is not None else None

    def _resolve_prompt(self, prompt: str, label: str | None) -> Resolved:
        prompts = self.services.prompts
        if prompts is None:
            raise errors.ConfigError("prompt files are not loaded in this runtime")
        return prompts.resolve(prompt, self.user_id or self.task_id, label)

    async def flag(self, name: str, default: FlagValue | None = None) -> FlagValue:
        """A feature flag's value for this task (its user, or the task), recorded on the task's span.

        The value is journaled: a task that resumes sees the value its first run saw.

        Args:
            name: the flag (``[flags.NAME]`` in config.toml).
            default: the value when the configuration defines no such flag (reason
                ``undefined``), so that code shipped with a flag runs where it is not configured;
                without it, an undefined flag is an error.

        Raises:
            NotFoundError: no such flag in config.toml, and no ``default``.
        """
        entry = await self._next_step("flag", name, counts=False)
        if entry is not None:
            value: FlagValue = entry.result["value"]
            return value
        flags = self.services.flags
        if flags is None:
            raise errors.ConfigError("flags are not loaded in this runtime")
        if default is not None and name not in flags.defs:
            value, reason = default, "undefined"
        else:
            evaluation = flags.evaluate(name, agent=self.spec.name, user_id=self.user_id, task_id=self.task_id)
            value, reason = evaluation.value, evaluation.reason
        self.span.attributes[f"agentops.flag.{name}"] = {"value": value, "reason": reason}
        await self._record("flag", name, "done", {"value": value, "reason": reason})
        return value

    async def _gated(
        self,
        client: LLMClient,
        messages: list[dict[str, Any]],
        output: type[M],
        check: Check | None,
        route: str,
        label: str,
        params: dict[str, Any],
        scope: CallScope,
        options: CallOptions,
    ) -> LLMResult[M]:
        gate = self.services.tracer.start(
            f"gate {output.__name__}", "gate", trace_id=self.trace_id, parent_id=self.span.span_id, task_id=self.task_id
        )
        failures: list[str] = []
        for attempt in range(self.services.max_repairs + 1):
            try:
                response = await client.call(
                    messages,
                    route=route,
                    scope=replace(scope, parent_span_id=gate.span_id),
                    name=label if attempt == 0 else f"{label} (repair {attempt})",
                    options=options,
                    **params,
                )
            except BaseException as exc:
                self.services.tracer.end(gate, "error", f"{type(exc).__name__}: {exc}")
                raise
            self.totals.add(response)
            try:
                value = validate_reply(response.text, output, check)
            except GateFailure as failure:
                failures.append(str(failure))
                client.forget_cached(response.cache_entry or response.span_id)  # never serve it again
                await self.services.store.mark_gate_failed(response.span_id)
                messages = [*messages, {"role": "assistant", "content": response.text or ""}, repair_message(failure)]
                continue
            self.services.tracer.end(
                gate, "ok", attrs={"agentops.gate.attempts": attempt + 1, "agentops.gate.failures": failures}
            )
            return LLMResult(response.text, value, response.tool_calls, response)
        error = ValidationGateError(
            f"reply failed validation as {output.__name__} {len(failures)} time(s); last: {failures[-1]}",
            attempts=len(failures),
            last_reply=response.text or "",
        )
        self.services.tracer.end(
            gate,
            "error",
            str(error),
            attrs={"agentops.gate.attempts": len(failures), "agentops.gate.failures": failures},
        )
        raise error

    def _replay_llm(self, entry: JournalEntry, output: type[M] | None) -> LLMResult[Any]:
        data = entry.result
        if "error" in data:
            raise _error_from_json(data["error"])
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
        self.totals.add(response)
        value = output.model_validate(data["output"]) if output is not None and data["output"] is not None else None
        return LLMResult(response.text, value, response.tool_calls, response, replayed=True)

    # -- tools ------------------------------------------------------------------------------------

    async def tool(self, name: str, **arguments: Any) -> Any:
        """Run an allowlisted tool (one step) with validated arguments and a timeout.

        A tool registered with ``requires_approval`` first escalates with the proposed
        arguments; an edit replaces them (validated against the tool's schema).

        Raises:
            ToolNotAllowedError: not on the agent's allowlist.
            ToolArgumentsError: the arguments fail the tool's schema.
            ToolTimeoutError: it ran past its timeout.
            ToolDeniedError: an operator denied it (the message is their reason).
        """
        spec = self._allowed(name)
        if spec.requires_approval:
            decision = await self.escalate(f"approve tool call {name}", proposed=arguments, tool=name)
            if not decision.approved:
                reason = decision.comment or ("no decision before the deadline" if decision.timed_out else "denied")
                raise ToolDeniedError(f"operator denied tool {name!r}: {reason}")
            arguments = dict(decision.args) if isinstance(decision.args, dict) else arguments
        entry = await self._next_step("tool", name)
        if entry is not None and entry.status == "done":
            if "error" in entry.result:
                raise _error_from_json(entry.result["error"])
            return entry.result["result"]
        return await self._run_tool(spec, arguments)

    async def _run_tool(self, spec: ToolSpec, arguments: dict[str, Any]) -> Any:
        name = spec.name
        tracer = self.services.tracer
        span = tracer.start(
            f"tool {name}",
            "tool",
            trace_id=self.trace_id,
            parent_id=self.span.span_id,
            task_id=self.task_id,
            attrs={"gen_ai.tool.name": name, "agentops.arguments": arguments, "agentops.step": self.seq},
        )
        started = time.monotonic()
        status, result, error, error_type = "ok", None, None, None
        try:
            try:
                args = spec.args_model.model_validate(arguments)
            except ValidationError as exc:
                raise ToolArgumentsError(
                    f"arguments for tool {name!r} are invalid: {describe_validation(exc)}"
                ) from None
            await self._record("tool", name, "started", {"args": arguments})
            timeout = spec.timeout_s or self.services.tool_timeout_s
            token = _step_key.set(f"{self.task_id}:{self.seq}")
            try:
                result = await asyncio.wait_for(spec.fn(args), timeout)
            except TimeoutError:
                raise ToolTimeoutError(f"tool {name!r} did not finish within {timeout:g}s") from None
            finally:
                _step_key.reset(token)
            if isinstance(result, BaseModel):
                result = result.model_dump(mode="json")
            await self._record("tool", name, "done", {"result": result})
            return result
        except AgentOpsError as exc:
            status, error, error_type = "error", str(exc), type(exc).__name__
            await self._record("tool", name, "done", {"error": _error_json(exc)})
            raise
        except Exception as exc:
            status, error, error_type = "error", str(exc), type(exc).__name__
            raise
        finally:
            latency = (time.monotonic() - started) * 1000.0
            tracer.end(span, status, error, attrs={"agentops.result": result})
            await self.services.store.record_tool_call(
                ToolCallRecord(
                    span.span_id, self.task_id, name, arguments, status, latency, time.time(), result, error_type, error
                )
            )

    # -- escalations ------------------------------------------------------------------------------

    async def escalate(
        self,
        reason: str,
        *,
        context: Any = None,
        proposed: Any = None,
        timeout: float | None = None,
        default: str = "deny",
        tool: str | None = None,
    ) -> Decision:
        """Ask an operator to decide; the task parks (holding no worker) until someone does.

        Args:
            reason: what the operator is asked, in one line.
            context: anything that helps them decide (shown with the escalation).
            proposed: the proposed action or arguments.
            timeout: seconds until ``default`` applies by itself (None: wait for ever).
            default: ``approve`` or ``deny``, applied at the deadline.
            tool: the tool the proposal is for (edits are validated against its schema).

        Returns:
            The decision: ``approve``, ``deny`` (``comment`` is the reason) or ``edit``.
        """
        return await self._ask(
            tool or "escalate", reason, context=context, proposed=proposed, timeout=timeout, default=default, tool=tool
        )

    async def _ask(
        self,
        step: str,
        reason: str,
        *,
        context: Any = None,
        proposed: Any = None,
        timeout: float | None = None,
        default: str = "deny",
        tool: str | None = None,
    ) -> Decision:
        """An escalation journaled under ``step`` (see :meth:`escalate`)."""
        if default not in ("approve", "deny"):
            raise ValueError(f"default must be 'approve' or 'deny', not {default!r}")
        entry = await self._next_step("escalation", step, counts=False)
        if entry is not None:
            return Decision.from_json(entry.result)
        record = await self.services.escalations.for_step(self.task_id, self.seq)
        if record is None:
            record = await self.services.escalations.open(
                task_id=self.task_id,
                seq=self.seq,
                agent=self.spec.name,
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
        await self._record("escalation", step, "done", decision.to_json())
        return decision

    # -- helpers ----------------------------------------------------------------------------------

    def _allowed(self, name: str) -> ToolSpec:
        if name not in self.spec.tools:
            allowed = ", ".join(sorted(self.spec.tools)) or "none"
            raise ToolNotAllowedError(f"agent {self.spec.name!r} may not call tool {name!r} (allowed: {allowed})")
        return self.services.registry.tools[name]

    def _scope(self, parent: str) -> CallScope:
        return CallScope(self.trace_id, parent, self.task_id, self.spec.name, self.user_id, self.session_id)


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


def _error_json(exc: AgentOpsError) -> dict[str, str]:
    return {"type": type(exc).__name__, "message": str(exc)}


def _error_from_json(data: dict[str, str]) -> AgentOpsError:
    cls = getattr(errors, data["type"], None)
    if isinstance(cls, type) and issubclass(cls, AgentOpsError):
        try:
            return cls(data["message"])
        except TypeError:  # errors with extra required arguments
            pass
    return AgentOpsError(f"{data['type']}: {data['message']}")
