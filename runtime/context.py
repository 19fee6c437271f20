"""``ctx``: what an agent's code is given to call models and tools.

Every ``ctx.llm`` and ``ctx.tool`` is a step; a task that takes more steps than its
agent's ``max_steps`` stops with :class:`~agentops.runtime.errors.MaxStepsExceededError`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, overload

from pydantic import BaseModel, ValidationError

from agentops.runtime.errors import (
    MaxStepsExceededError,
    ToolArgumentsError,
    ToolNotAllowedError,
    ToolTimeoutError,
    ValidationGateError,
)
from agentops.runtime.gate import Check, GateFailure, repair_message, response_format, validate_reply
from agentops.runtime.llm import CallScope, LLMClient, LLMResponse
from agentops.runtime.logs import get_logger
from agentops.runtime.provider import ToolCall
from agentops.runtime.registry import AgentSpec, Registry
from agentops.runtime.tracing import Span, Tracer
from agentops.store import Store, ToolCallRecord

__all__ = ["Context", "LLMResult"]

M = TypeVar("M", bound=BaseModel)


@dataclass
class LLMResult(Generic[M]):
    """What ``ctx.llm`` returns.

    Attributes:
        text: the reply text (None when the model only called tools).
        output: the validated object when ``output=`` was given.
        tool_calls: tools the model asked to call (run them with ``ctx.tool``).
        response: the call's details: model, deployment, usage, cost, attempts.
    """

    text: str | None
    output: M | None
    tool_calls: tuple[ToolCall, ...]
    response: LLMResponse


@dataclass
class _Totals:
    steps: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float = 0.0

    def add(self, r: LLMResponse) -> None:
        self.input_tokens += r.usage.input_tokens
        self.output_tokens += r.usage.output_tokens
        self.cached_tokens += r.usage.cached_tokens
        self.cost_usd += r.cost_usd


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
    default_route: str
    max_repairs: int
    tool_timeout_s: float
    _client: Callable[[], Awaitable[LLMClient]]
    _tracer: Tracer
    _store: Store
    _registry: Registry
    totals: _Totals = field(default_factory=_Totals)

    @property
    def log(self) -> Any:
        """A structlog logger bound to this task."""
        return get_logger("agentops.agent", task_id=self.task_id, trace_id=self.trace_id)

    def _step(self, what: str) -> None:
        if self.totals.steps >= self.max_steps:
            raise MaxStepsExceededError(
                f"agent {self.spec.name!r} reached max_steps={self.max_steps} before {what}; "
                "raise max_steps on the agent or runtime.max_steps in config.toml if this is expected"
            )
        self.totals.steps += 1

    @overload
    async def llm(
        self,
        prompt: str | list[dict[str, Any]],
        *,
        output: type[M],
        system: str | None = ...,
        check: Check | None = ...,
        tools: Sequence[str] = ...,
        route: str | None = ...,
        name: str | None = ...,
        **params: Any,
    ) -> LLMResult[M]: ...

    @overload
    async def llm(
        self,
        prompt: str | list[dict[str, Any]],
        *,
        output: None = ...,
        system: str | None = ...,
        check: Check | None = ...,
        tools: Sequence[str] = ...,
        route: str | None = ...,
        name: str | None = ...,
        **params: Any,
    ) -> LLMResult[Any]: ...

    async def llm(
        self,
        prompt: str | list[dict[str, Any]],
        *,
        output: type[M] | None = None,
        system: str | None = None,
        check: Check | None = None,
        tools: Sequence[str] = (),
        route: str | None = None,
        name: str | None = None,
        **params: Any,
    ) -> LLMResult[Any]:
        """Call a model along a route (one step).

        Args:
            prompt: the user message, or a full list of chat messages.
            output: a pydantic model the reply must parse into (the validation gate).
            system: a system message put first.
            check: a further check of the parsed output (see :mod:`agentops.runtime.gate`).
            tools: names of tools to offer the model; each must be on the agent's allowlist.
            route: the fallback chain; defaults to the agent's, then ``runtime.default_route``.
            name: the span name (defaults to ``llm``).
            **params: passed to the provider (``temperature``, ``max_tokens``, ...).

        Raises:
            ValidationGateError: the reply never passed ``output``/``check``.
            LLMCallError: every deployment of the route failed.
        """
        self._step(f"LLM call {name or ''}".strip())
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
        if system:
            messages.insert(0, {"role": "system", "content": system})
        if tools:
            for t in tools:
                self._allowed(t)
            params["tools"] = [self._registry.tools[t].schema() for t in tools]
        if output is not None:
            params["response_format"] = response_format(output)
        client = await self._client()
        route = route or self.spec.route or self.default_route
        label = name or "llm"
        if output is None:
            response = await client.call(
                messages, route=route, scope=self._scope(self.span.span_id), name=label, **params
            )
            self.totals.add(response)
            return LLMResult(response.text, None, response.tool_calls, response)
        return await self._gated(client, messages, output, check, route, label, params)

    async def _gated(
        self,
        client: LLMClient,
        messages: list[dict[str, Any]],
        output: type[M],
        check: Check | None,
        route: str,
        label: str,
        params: dict[str, Any],
    ) -> LLMResult[M]:
        gate = self._tracer.start(
            f"gate {output.__name__}", "gate", trace_id=self.trace_id, parent_id=self.span.span_id, task_id=self.task_id
        )
        failures: list[str] = []
        for attempt in range(self.max_repairs + 1):
            response = await client.call(
                messages,
                route=route,
                scope=self._scope(gate.span_id),
                name=label if attempt == 0 else f"{label} (repair {attempt})",
                **params,
            )
            self.totals.add(response)
            try:
                value = validate_reply(response.text, output, check)
            except GateFailure as failure:
                failures.append(str(failure))
                messages = [*messages, {"role": "assistant", "content": response.text or ""}, repair_message(failure)]
                continue
            self._tracer.end(
                gate, "ok", attrs={"agentops.gate.attempts": attempt + 1, "agentops.gate.failures": failures}
            )
            return LLMResult(response.text, value, response.tool_calls, response)
        error = ValidationGateError(
            f"reply failed validation as {output.__name__} {len(failures)} time(s); last: {failures[-1]}",
            attempts=len(failures),
            last_reply=response.text or "",
        )
        self._tracer.end(
            gate,
            "error",
            str(error),
            attrs={"agentops.gate.attempts": len(failures), "agentops.gate.failures": failures},
        )
        raise error

    async def tool(self, name: str, **arguments: Any) -> Any:
        """Run an allowlisted tool (one step) with validated arguments and a timeout.

        Raises:
            ToolNotAllowedError: not on the agent's allowlist.
            ToolArgumentsError: the arguments fail the tool's schema.
            ToolTimeoutError: it ran past its timeout.
        """
        self._step(f"tool {name}")
        spec = self._allowed(name)
        span = self._tracer.start(
            f"tool {name}",
            "tool",
            trace_id=self.trace_id,
            parent_id=self.span.span_id,
            task_id=self.task_id,
            attrs={"gen_ai.tool.name": name, "agentops.arguments": arguments},
        )
        started = time.monotonic()
        status, result, error, error_type = "ok", None, None, None
        try:
            try:
                args = spec.args_model.model_validate(arguments)
            except ValidationError as exc:
                raise ToolArgumentsError(f"arguments for tool {name!r} are invalid: {_problems(exc)}") from None
            timeout = spec.timeout_s or self.tool_timeout_s
            try:
                result = await asyncio.wait_for(spec.fn(args), timeout)
            except TimeoutError:
                raise ToolTimeoutError(f"tool {name!r} did not finish within {timeout:g}s") from None
            if isinstance(result, BaseModel):
                result = result.model_dump(mode="json")
            return result
        except Exception as exc:
            status, error, error_type = "error", str(exc), type(exc).__name__
            raise
        finally:
            latency = (time.monotonic() - started) * 1000.0
            self._tracer.end(span, status, error, attrs={"agentops.result": result})
            await self._store.record_tool_call(
                ToolCallRecord(
                    span.span_id, self.task_id, name, arguments, status, latency, time.time(), result, error_type, error
                )
            )

    def _allowed(self, name: str) -> Any:
        if name not in self.spec.tools:
            allowed = ", ".join(sorted(self.spec.tools)) or "none"
            raise ToolNotAllowedError(f"agent {self.spec.name!r} may not call tool {name!r} (allowed: {allowed})")
        return self._registry.tools[name]

    def _scope(self, parent: str) -> CallScope:
        return CallScope(self.trace_id, parent, self.task_id, self.spec.name, self.user_id, self.session_id)


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()[:5])
