"""The path of one LLM call: route -> circuit breaker -> retries -> litellm -> cost -> ledger.

A route is a fallback chain of deployments (primary -> fallback -> emergency). For
each deployment in turn: the breaker may refuse at once (open), otherwise attempts are
made under the retry policy until one succeeds, a permanent error stops them, or the
retries are spent; then the next deployment is tried. A context-window error skips to
a deployment with a larger window. The whole call never runs past its deadline.

Every attempt is a child span of the call's span; the call itself is recorded in the
``llm_calls`` table and, when billed, in the cost ledger, in one durable commit.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from agentops.runtime.circuit import CircuitBreaker
from agentops.runtime.errors import (
    AgentOpsError,
    CircuitOpenError,
    ContextWindowError,
    DeadlineExceededError,
    LLMCallError,
    PermanentProviderError,
    ProviderError,
)
from agentops.runtime.pricing import PriceBook, Usage
from agentops.runtime.provider import Deployment, ProviderReply, ToolCall, complete
from agentops.runtime.retry import RetryPolicy
from agentops.runtime.tracing import Span, Tracer
from agentops.store import LedgerRecord, LLMCallRecord, Store

__all__ = ["CallScope", "LLMClient", "LLMResponse", "Route"]

_COUNTS_AGAINST_DEPLOYMENT = frozenset({401, 403, 404})
"""Permanent statuses that say the deployment itself is broken (key, model name, URL)."""


@dataclass(frozen=True)
class Route:
    """A named fallback chain."""

    name: str
    chain: tuple[str, ...]
    fallback_on_permanent: bool = False


@dataclass(frozen=True)
class CallScope:
    """Who a call is for: the attribution of its span and ledger row."""

    trace_id: str
    parent_span_id: str | None = None
    task_id: str | None = None
    agent: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    prompt: str | None = None
    """The prompt file the call renders, if any (recorded on the span, the call and the ledger)."""
    prompt_version: int | None = None
    prompt_artifact: str | None = None
    prompt_label: str | None = None
    """Why this version: ``production``, ``canary``, ``shadow`` or a label asked for."""

    def span_attrs(self) -> dict[str, Any]:
        """The prompt's span attributes (none without a prompt)."""
        if self.prompt is None:
            return {}
        return {
            "gen_ai.prompt.name": self.prompt,
            "agentops.prompt.version": self.prompt_version,
            "agentops.prompt.artifact_id": self.prompt_artifact,
            "agentops.prompt.label": self.prompt_label,
        }


@dataclass
class LLMResponse:
    """The result of a successful call."""

    text: str | None
    tool_calls: tuple[ToolCall, ...]
    usage: Usage
    model: str
    deployment: str
    cost_usd: float
    priced: bool
    attempts: int
    retries: int
    fallbacks: int
    latency_ms: float
    span_id: str
    finish_reason: str | None = None


@dataclass
class _Progress:
    attempts: int = 0
    retries: int = 0
    deployments_tried: list[str] = field(default_factory=list)
    errors: list[AgentOpsError] = field(default_factory=list)


class LLMClient:
    """Makes LLM calls along routes, with breakers, retries, tracing and the ledger."""

    def __init__(
        self,
        *,
        deployments: dict[str, Deployment],
        routes: dict[str, Route],
        breakers: dict[str, CircuitBreaker],
        retry: RetryPolicy,
        prices: PriceBook,
        tracer: Tracer,
        store: Store,
        deadline_s: float = 60.0,
    ) -> None:
        self.deployments = deployments
        self.routes = routes
        self.breakers = breakers
        self.retry = retry
        self.prices = prices
        self._tracer = tracer
        self._store = store
        self.deadline_s = deadline_s

    async def call(
        self,
        messages: list[dict[str, Any]],
        *,
        route: str,
        scope: CallScope,
        name: str = "llm",
        deadline_s: float | None = None,
        **params: Any,
    ) -> LLMResponse:
        """Make one call along ``route``.

        Raises:
            LLMCallError: every deployment failed (``errors`` says why each did).
            DeadlineExceededError: the deadline ran out first.
            PermanentProviderError: a permanent error on a route that does not fall back on them.
        """
        chain = self.routes[route]
        started = time.monotonic()
        deadline = started + (deadline_s if deadline_s is not None else self.deadline_s)
        span = self._tracer.start(
            name,
            "llm",
            trace_id=scope.trace_id,
            parent_id=scope.parent_span_id,
            task_id=scope.task_id,
            attrs={
                "gen_ai.operation.name": "chat",
                "agentops.route": route,
                "gen_ai.input.messages": _clip(messages),
                **scope.span_attrs(),
            },
        )
        progress = _Progress()
        try:
            dep, reply = await self._walk(chain, messages, params, deadline, span, progress)
        except AgentOpsError as exc:
            await self._record_failure(span, scope, route, progress, exc, started)
            raise
        except BaseException as exc:
            self._tracer.end(span, "error", f"{type(exc).__name__}: cancelled")
            raise
        return await self._record_success(span, scope, route, progress, dep, reply, started)

    async def _walk(
        self,
        route: Route,
        messages: list[dict[str, Any]],
        params: dict[str, Any],
        deadline: float,
        span: Span,
        progress: _Progress,
    ) -> tuple[Deployment, ProviderReply]:
        min_window = 0  # after a context-window error, only larger windows are worth trying
        for dep_name in route.chain:
            dep = self.deployments[dep_name]
            if min_window and (dep.context_window or 0) <= min_window:
                continue
            progress.deployments_tried.append(dep_name)
            try:
                return dep, await self._attempts(dep, messages, params, deadline, span, progress)
            except CircuitOpenError as exc:
                progress.errors.append(exc)
            except ContextWindowError as exc:
                progress.errors.append(exc)
                min_window = dep.context_window or 1
            except PermanentProviderError as exc:
                progress.errors.append(exc)
                if not route.fallback_on_permanent:
                    raise
            except DeadlineExceededError as exc:
                progress.errors.append(exc)
                raise DeadlineExceededError(str(exc), progress.errors) from None
            except ProviderError as exc:
                progress.errors.append(exc)
        reasons = "; ".join(f"{getattr(e, 'deployment', '?')}: {e}" for e in progress.errors) or "no deployment fits"
        raise LLMCallError(f"route {route.name!r} failed on every deployment: {reasons}", progress.errors)

    async def _attempts(
        self,
        dep: Deployment,
        messages: list[dict[str, Any]],
        params: dict[str, Any],
        deadline: float,
        parent: Span,
        progress: _Progress,
    ) -> ProviderReply:
        breaker = self.breakers[dep.name]
        retries = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeadlineExceededError(f"deadline passed before an attempt on {dep.name}")
            probe = breaker.acquire()  # raises CircuitOpenError when open
            progress.attempts += 1
            attempt = self._tracer.start(
                f"attempt {dep.name}",
                "attempt",
                trace_id=parent.trace_id,
                parent_id=parent.span_id,
                task_id=parent.task_id,
                attrs={
                    "agentops.deployment": dep.name,
                    "gen_ai.request.model": dep.model,
                    "gen_ai.provider.name": dep.provider,
                    "agentops.probe": probe,
                },
            )
            try:
                reply = await complete(dep, messages, timeout=min(dep.timeout_s, remaining), **params)
            except ProviderError as exc:
                self._settle_breaker(breaker, exc, probe)
                self._tracer.end(attempt, "error", str(exc), attrs={"http.response.status_code": exc.status})
                if not self.retry.should_retry(exc, retries):
                    raise
                wait = self.retry.delay(exc, retries)
                if time.monotonic() + wait >= deadline:
                    raise  # no time to wait: let the next deployment try at once
                retries += 1
                progress.retries += 1
                await asyncio.sleep(wait)
                continue
            except BaseException:
                breaker.release(probe)
                self._tracer.end(attempt, "error", "cancelled")
                raise
            breaker.record_success(probe)
            self._tracer.end(attempt, "ok")
            return reply

    @staticmethod
    def _settle_breaker(breaker: CircuitBreaker, exc: ProviderError, probe: bool) -> None:
        if isinstance(exc, PermanentProviderError) and exc.status not in _COUNTS_AGAINST_DEPLOYMENT:
            breaker.release(probe)  # the request's fault (400, 422, too long), not the deployment's
        else:
            breaker.record_failure(exc.kind + ": " + str(exc)[:120], probe)

    async def _record_success(
        self,
        span: Span,
        scope: CallScope,
        route: str,
        progress: _Progress,
        dep: Deployment,
        reply: ProviderReply,
        started: float,
    ) -> LLMResponse:
        latency_ms = (time.monotonic() - started) * 1000.0
        cost, priced = self.prices.cost(dep.price_model or dep.model, reply.usage)
        fallbacks = len(progress.deployments_tried) - 1
        self._tracer.end(
            span,
            "ok",
            attrs={
                "agentops.deployment": dep.name,
                "gen_ai.request.model": dep.model,
                "gen_ai.provider.name": dep.provider,
                "gen_ai.response.model": reply.response_model,
                "gen_ai.usage.input_tokens": reply.usage.input_tokens,
                "gen_ai.usage.output_tokens": reply.usage.output_tokens,
                "gen_ai.usage.cache_read.input_tokens": reply.usage.cached_tokens,
                "gen_ai.response.finish_reasons": [reply.finish_reason],
                "gen_ai.output.messages": _clip_text(reply.text),
                "agentops.tool_calls": [{"name": t.name, "arguments": t.arguments} for t in reply.tool_calls],
                "agentops.cost_usd": cost,
                "agentops.priced": priced,
                "agentops.attempts": progress.attempts,
                "agentops.retries": progress.retries,
                "agentops.fallbacks": fallbacks,
                "agentops.deployments_tried": progress.deployments_tried,
            },
        )
        now = time.time()
        call = LLMCallRecord(
            span.span_id,
            scope.trace_id,
            scope.task_id,
            route,
            dep.model,
            dep.name,
            "ok",
            progress.attempts,
            progress.retries,
            fallbacks,
            latency_ms,
            reply.usage.input_tokens,
            reply.usage.output_tokens,
            reply.usage.cached_tokens,
            cost,
            now,
            prompt=scope.prompt,
            prompt_version=scope.prompt_version,
        )
        ledger = LedgerRecord(
            span.span_id,
            dep.model,
            dep.name,
            reply.usage.input_tokens,
            reply.usage.output_tokens,
            reply.usage.cached_tokens,
            cost,
            priced,
            now,
            scope.task_id,
            scope.agent,
            scope.user_id,
            scope.session_id,
            f"{scope.prompt}@v{scope.prompt_version}" if scope.prompt else None,
        )
        await self._store.record_llm_call(call, ledger)
        self._publish(call)
        return LLMResponse(
            reply.text,
            reply.tool_calls,
            reply.usage,
            dep.model,
            dep.name,
            cost,
            priced,
            progress.attempts,
            progress.retries,
            fallbacks,
            latency_ms,
            span.span_id,
            reply.finish_reason,
        )

    async def _record_failure(
        self, span: Span, scope: CallScope, route: str, progress: _Progress, exc: AgentOpsError, started: float
    ) -> None:
        latency_ms = (time.monotonic() - started) * 1000.0
        self._tracer.end(
            span,
            "error",
            str(exc),
            attrs={
                "error.type": type(exc).__name__,
                "agentops.attempts": progress.attempts,
                "agentops.retries": progress.retries,
                "agentops.deployments_tried": progress.deployments_tried,
            },
        )
        call = LLMCallRecord(
            span.span_id,
            scope.trace_id,
            scope.task_id,
            route,
            None,
            progress.deployments_tried[-1] if progress.deployments_tried else None,
            "error",
            progress.attempts,
            progress.retries,
            max(0, len(progress.deployments_tried) - 1),
            latency_ms,
            0,
            0,
            0,
            0.0,
            time.time(),
            type(exc).__name__,
            str(exc)[:2000],
            scope.prompt,
            scope.prompt_version,
        )
        await self._store.record_llm_call(call, None)
        self._publish(call)

    def _publish(self, call: LLMCallRecord) -> None:
        """One ``llm.call`` event per finished call (metrics count them); no message text."""
        self._tracer.bus.publish(
            "llm.call",
            task_id=call.task_id,
            route=call.route,
            model=call.model,
            deployment=call.deployment,
            status=call.status,
            attempts=call.attempts,
            retries=call.retries,
            fallbacks=call.fallbacks,
            latency_ms=call.latency_ms,
            input_tokens=call.input_tokens,
            output_tokens=call.output_tokens,
            cached_tokens=call.cached_tokens,
            cost_usd=call.cost_usd,
            error_type=call.error_type,
        )


def _clip_text(text: str | None, limit: int = 8000) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[:limit] + f"... [{len(text) - limit} more characters]"


def _clip(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for m in messages:
        m2 = dict(m)
        if isinstance(m2.get("content"), str):
            m2["content"] = _clip_text(m2["content"])
        out.append(m2)
    return out
