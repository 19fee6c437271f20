"""The path of one LLM call: cache -> budget -> rate limits -> route -> breaker -> retries -> litellm -> ledger.

The response cache answers first (a hit spends nothing, so no budget or rate limit
holds it back). A miss reserves its estimated maximum against the budgets (over a cap:
block, or downgrade to a cheaper route; ``escalate`` is the caller's to handle), waits
for a slot in the user's and agent's rate limits, then walks the route.

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

from agentops.runtime.budgets import Budgets, Reservation
from agentops.runtime.cache import CacheHit, CachePolicy, RequestKeys, ResponseCache
from agentops.runtime.circuit import CircuitBreaker
from agentops.runtime.errors import (
    AgentOpsError,
    BudgetExceededError,
    CircuitOpenError,
    ConfigError,
    ContextWindowError,
    DeadlineExceededError,
    LLMCallError,
    PermanentProviderError,
    ProviderError,
    RateLimitedError,
)
from agentops.runtime.logs import get_logger
from agentops.runtime.pacing import DeploymentLimits, Pacer, wait_for_slot
from agentops.runtime.pricing import Price, PriceBook, Usage
from agentops.runtime.provider import Deployment, ProviderReply, ToolCall, complete
from agentops.runtime.retry import RetryPolicy
from agentops.runtime.tracing import Span, Tracer
from agentops.store import LedgerRecord, LLMCallRecord, Store

log = get_logger("agentops.llm")

__all__ = ["CallOptions", "CallScope", "LLMClient", "LLMResponse", "Route", "with_cache_markers"]

_COUNTS_AGAINST_DEPLOYMENT = frozenset({401, 403, 404})
"""Permanent statuses that say the deployment itself is broken (key, model name, URL)."""

_MARKER_PROVIDERS = frozenset({"anthropic", "bedrock", "vertex_ai", "vertex_ai_beta", "gemini", "databricks"})
"""Providers whose prompt caching needs cache-control markers (OpenAI, DeepSeek and others cache by themselves)."""


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
    cache: str | None = None
    """``exact`` or ``semantic`` when the answer came from the response cache."""
    saving_usd: float = 0.0
    """What caching saved on this call (a cached answer's cost, or cached input tokens' discount)."""
    cache_entry: str | None = None
    """The cache entry that answered (a hit)."""


@dataclass(frozen=True)
class CallOptions:
    """Per-call choices beyond the provider parameters."""

    cache: dict[str, Any] | None = None
    """The prompt file's ``[cache]`` table (None: the configuration's defaults)."""
    routing: dict[str, str] | None = None
    """A router's decision, recorded on the span."""


@dataclass
class _Progress:
    attempts: int = 0
    retries: int = 0
    deployments_tried: list[str] = field(default_factory=list)
    errors: list[AgentOpsError] = field(default_factory=list)
    tokens: float = 0.0
    """Estimated tokens (input + max output): what rate limits take."""
    prompt_caching: bool = False
    downgraded: str | None = None


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
        budgets: Budgets | None = None,
        pacer: Pacer | None = None,
        limits: dict[str, DeploymentLimits] | None = None,
        cache: ResponseCache | None = None,
        estimate_output_tokens: int = 1024,
        router_defaults: dict[str, str] | None = None,
    ) -> None:
        self.deployments = deployments
        self.routes = routes
        self.breakers = breakers
        self.retry = retry
        self.prices = prices
        self._tracer = tracer
        self._store = store
        self.deadline_s = deadline_s
        self.budgets = budgets
        self.pacer = pacer
        self.limits = limits or {}
        self.cache = cache
        self.estimate_output_tokens = estimate_output_tokens
        self.router_defaults = router_defaults or {}
        """Router name -> its default route, for call sites that name a router without its rules."""

    async def call(
        self,
        messages: list[dict[str, Any]],
        *,
        route: str,
        scope: CallScope,
        name: str = "llm",
        deadline_s: float | None = None,
        options: CallOptions | None = None,
        **params: Any,
    ) -> LLMResponse:
        """Make one call along ``route``.

        Raises:
            LLMCallError: every deployment failed (``errors`` says why each did).
            DeadlineExceededError: the deadline ran out first.
            PermanentProviderError: a permanent error on a route that does not fall back on them.
            BudgetExceededError: a budget's cap would be passed and its action could not help.
            RateLimitedError: the user's or agent's rate limit had no slot before the deadline.
        """
        options = options or CallOptions()
        route, routing = self._concrete(route, options.routing)
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
                **(routing or {}),
            },
        )
        progress = _Progress(prompt_caching=bool((options.cache or {}).get("prompt_caching")))
        reservation: Reservation | None = None
        reply: ProviderReply | None = None
        cost = 0.0
        policy: CachePolicy | None = None
        keys: RequestKeys | None = None
        try:
            if self.cache is not None:
                policy = self.cache.policy(options.cache, params)
                if policy is not None:
                    models = [self.deployments[d].model for d in chain.chain]
                    keys = self.cache.keys(
                        messages,
                        params,
                        models,
                        policy,
                        user_id=scope.user_id,
                        session_id=scope.session_id,
                        task_id=scope.task_id,
                        artifact=scope.prompt_artifact,
                    )
                    rejected: list[dict[str, Any]] = []
                    try:
                        hit = await self.cache.lookup(keys, policy, rejected)
                    except Exception as exc:  # noqa: BLE001 - a broken cache is a miss, not a failed call
                        log.warning("cache lookup failed; calling the provider", error=str(exc), span_id=span.span_id)
                        hit = None
                    if hit is not None:
                        return await self._record_hit(span, scope, route, hit, started)
                    if rejected:
                        span.attributes["agentops.cache.rejected"] = rejected[:4]
            tokens_in, tokens_out = _estimate_tokens(messages, params, self.estimate_output_tokens)
            progress.tokens = tokens_in + tokens_out
            if self.pacer is not None and self.pacer.enabled:  # wait first: a waiting call holds no budget
                waited = await self.pacer.acquire(
                    user_id=scope.user_id, agent=scope.agent, tokens=progress.tokens, deadline=deadline
                )
                if waited:
                    span.attributes["agentops.rate_limit.waited_s"] = round(waited, 3)
            chain, reservation = await self._reserve(chain, scope, tokens_in, tokens_out, progress, span)
            if reservation is not None and not _has_output_limit(params):
                # The reservation counted this many output tokens: hold the provider to them.
                params = {**params, "max_tokens": tokens_out}
            dep, reply = await self._walk(chain, messages, params, deadline, span, progress)
            price = self.prices.price(dep.price_model or dep.model)
            cost = price.cost(reply.usage) if price is not None else 0.0  # settled below whatever happens next
            response = await self._record_success(span, scope, chain.name, progress, dep, reply, price, started)
        except AgentOpsError as exc:
            await self._record_failure(span, scope, chain.name, progress, exc, started)
            raise
        except BaseException as exc:
            self._tracer.end(span, "error", f"{type(exc).__name__}: cancelled")
            raise
        finally:
            # Settled on every path (cancelled while recording included): what was spent, or nothing.
            if reservation is not None and self.budgets is not None:
                used = reply.usage.input_tokens + reply.usage.output_tokens if reply is not None else 0
                self.budgets.settle(reservation, tokens=used, usd=cost)
        cacheable = reply.finish_reason != "length" and not progress.downgraded and response.fallbacks == 0
        if self.cache is not None and policy is not None and keys is not None and cacheable:
            try:
                await self.cache.store(
                    keys, policy, span.span_id, _cached_json(response), response.cost_usd, _prompt_ref(scope)
                )
            except Exception as exc:  # noqa: BLE001 - a cache that cannot store is a later miss, not a failed call
                log.warning("response not cached", error=str(exc), span_id=span.span_id)
        return response

    def _concrete(self, route: str, routing: dict[str, str] | None) -> tuple[str, dict[str, str] | None]:
        """A route name, or a router's default route where a router was named without choosing.

        Raises:
            ConfigError: neither a route nor a router of that name.
        """
        if route in self.routes:
            return route, routing
        default = self.router_defaults.get(route)
        if default is None:
            known = ", ".join(sorted(self.routes)) or "none"
            raise ConfigError(f"route {route!r} is not defined under [routes] or [routers] (routes: {known})")
        return default, {
            "agentops.router": route,
            "agentops.router.route": default,
            "agentops.router.reason": "the router's default (no rules at this call site)",
        }

    def forget_cached(self, span_id: str) -> None:
        """Drop a cached answer that failed its validation gate."""
        if self.cache is not None:
            self.cache.forget(span_id)

    async def _reserve(
        self, chain: Route, scope: CallScope, tokens_in: int, tokens_out: int, progress: _Progress, span: Span
    ) -> tuple[Route, Reservation | None]:
        """Hold the call's estimated maximum against its budgets; downgrade the route if that is the action."""
        budgets = self.budgets
        if budgets is None or not budgets.enabled:
            return chain, None
        keys = budgets.keys(
            task_id=scope.task_id, session_id=scope.session_id, user_id=scope.user_id, agent=scope.agent
        )
        if not keys:
            return chain, None
        tokens = float(tokens_in + tokens_out)
        try:
            return chain, await budgets.reserve(keys, tokens=tokens, usd=self._max_cost(chain, tokens_in, tokens_out))
        except BudgetExceededError as exc:
            cheaper = budgets.settings.downgrade_route
            if exc.action != "downgrade" or cheaper is None or cheaper == chain.name:
                raise
            span.attributes["agentops.budget.downgraded"] = {"from": chain.name, "to": cheaper, "scope": exc.scope}
            progress.downgraded = cheaper
            down = self.routes[cheaper]
            try:
                usd = self._max_cost(down, tokens_in, tokens_out)
                return down, await budgets.reserve(keys, tokens=tokens, usd=usd)
            except BudgetExceededError as again:
                again.args = (f"{again.args[0]} (also on the downgrade route {cheaper!r})",)
                again.action = "block"
                raise again from None

    def _max_cost(self, chain: Route, tokens_in: int, tokens_out: int) -> float:
        """The dearest the call could be on this route (any deployment of it may answer)."""
        usage = Usage(tokens_in, tokens_out, 0)
        return max(self.prices.cost(self.deployments[d].price_model, usage)[0] for d in chain.chain)

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
            except (CircuitOpenError, RateLimitedError) as exc:
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
        reasons = _reasons(progress.errors) or "no deployment fits"
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
        limits = self.limits.get(dep.name)
        params = with_cache_markers(dep, params) if progress.prompt_caching else params
        retries = 0
        while True:
            if deadline - time.monotonic() <= 0:
                raise DeadlineExceededError(f"deadline passed before an attempt on {dep.name}")
            probe = breaker.acquire()  # raises CircuitOpenError when open: no waiting for a slot there
            handles: list[list[float] | None] = []
            if limits is not None:
                try:  # RateLimitedError (no slot before the deadline): the next deployment
                    waited, handles = await wait_for_slot(limits, progress.tokens, deadline)
                except BaseException:
                    breaker.release(probe)
                    raise
                if waited:
                    parent.attributes["agentops.rate_limit.waited_s"] = round(
                        waited + parent.attributes.get("agentops.rate_limit.waited_s", 0.0), 3
                    )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                breaker.release(probe)
                if limits is not None:
                    limits.release(handles)  # nothing was sent
                raise DeadlineExceededError(f"deadline passed before an attempt on {dep.name}")
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
                if limits is not None:
                    limits.done(handles, None)
                self._settle_breaker(breaker, exc, probe)
                attrs: dict[str, Any] = {"http.response.status_code": exc.status}
                if exc.raw and exc.raw != str(exc):
                    attrs["agentops.error.raw"] = exc.raw[:2000]
                self._tracer.end(attempt, "error", str(exc), attrs=attrs)
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
                if limits is not None:
                    limits.done(handles, None)
                breaker.release(probe)
                self._tracer.end(attempt, "error", "cancelled")
                raise
            breaker.record_success(probe)
            self._tracer.end(attempt, "ok")
            if limits is not None:
                limits.done(handles, reply.usage.input_tokens + reply.usage.output_tokens)
            return reply

    @staticmethod
    def _settle_breaker(breaker: CircuitBreaker, exc: ProviderError, probe: bool) -> None:
        if isinstance(exc, PermanentProviderError) and exc.status not in _COUNTS_AGAINST_DEPLOYMENT:
            breaker.release(probe)  # the request's fault (400, 422, too long), not the deployment's
        else:
            breaker.record_failure(str(exc)[:160], probe)  # "HTTP 503: ServiceUnavailableError: ..."

    async def _record_success(
        self,
        span: Span,
        scope: CallScope,
        route: str,
        progress: _Progress,
        dep: Deployment,
        reply: ProviderReply,
        price: Price | None,
        started: float,
    ) -> LLMResponse:
        latency_ms = (time.monotonic() - started) * 1000.0
        cost, priced = (price.cost(reply.usage), True) if price is not None else (0.0, False)
        saving = reply.usage.cached_tokens * (price.input - price.cached_input) if price is not None else 0.0
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
                "agentops.prompt_cache.saving_usd": saving,
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
            _prompt_ref(scope),
            saving_usd=saving,
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
            saving_usd=saving,
        )

    async def _record_hit(self, span: Span, scope: CallScope, route: str, hit: CacheHit, started: float) -> LLMResponse:
        """Answer from the cache: the span, the call and a ledger row (cost 0, the saving recorded)."""
        r = hit.response
        usage = Usage()  # nothing was spent: the tokens are the original call's, in its own ledger row
        latency_ms = (time.monotonic() - started) * 1000.0
        self._tracer.end(
            span,
            "ok",
            attrs={
                "agentops.cache.hit": hit.kind,
                "agentops.cache.entry": hit.entry_id,
                "agentops.cache.similarity": hit.similarity,
                "agentops.cache.matched_text": _clip_text(hit.matched_text, 500),
                "agentops.cache.entry_created_at": hit.created_at,
                "agentops.cache.saving_usd": hit.cost_usd,
                "gen_ai.request.model": r["model"],
                "gen_ai.output.messages": _clip_text(r["text"]),
                "agentops.tool_calls": r["tool_calls"],
                "agentops.cost_usd": 0.0,
                "agentops.attempts": 0,
            },
        )
        now = time.time()
        call = LLMCallRecord(
            span.span_id,
            scope.trace_id,
            scope.task_id,
            route,
            r["model"],
            "cache",
            "ok",
            0,
            0,
            0,
            latency_ms,
            0,
            0,
            0,
            0.0,
            now,
            prompt=scope.prompt,
            prompt_version=scope.prompt_version,
            cache=hit.kind,
        )
        ledger = LedgerRecord(
            span.span_id,
            r["model"],
            "cache",
            0,
            0,
            0,
            0.0,
            True,
            now,
            scope.task_id,
            scope.agent,
            scope.user_id,
            scope.session_id,
            _prompt_ref(scope),
            cache=hit.kind,
            saving_usd=hit.cost_usd,
        )
        await self._store.record_llm_call(call, ledger)
        self._publish(call)
        return LLMResponse(
            r["text"],
            tuple(ToolCall(**t) for t in r["tool_calls"]),
            usage,
            r["model"],
            "cache",
            0.0,
            True,
            0,
            0,
            0,
            latency_ms,
            span.span_id,
            r.get("finish_reason"),
            cache=hit.kind,
            saving_usd=hit.cost_usd,
            cache_entry=hit.entry_id,
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


def with_cache_markers(dep: Deployment, params: dict[str, Any]) -> dict[str, Any]:
    """Parameters asking litellm to mark the system message as a cache breakpoint, for providers whose
    prompt caching needs markers (Anthropic, Bedrock, Vertex, Gemini); others cache by themselves."""
    if dep.provider not in _MARKER_PROVIDERS:
        return params
    return {**params, "cache_control_injection_points": [{"location": "message", "role": "system"}]}


def _prompt_ref(scope: CallScope) -> str | None:
    return f"{scope.prompt}@v{scope.prompt_version}" if scope.prompt else None


def _cached_json(r: LLMResponse) -> dict[str, Any]:
    """What a cache entry keeps of a response."""
    return {
        "text": r.text,
        "tool_calls": [{"id": t.id, "name": t.name, "arguments": t.arguments} for t in r.tool_calls],
        "usage": [r.usage.input_tokens, r.usage.output_tokens, r.usage.cached_tokens],
        "model": r.model,
        "deployment": r.deployment,
        "finish_reason": r.finish_reason,
    }


def _has_output_limit(params: dict[str, Any]) -> bool:
    return bool(params.get("max_tokens") or params.get("max_completion_tokens"))


_IMAGE_TOKENS = 1_500
"""What an image part is reserved at (a high-detail image is about 1,100 tokens at most providers)."""


def _estimate_tokens(messages: list[dict[str, Any]], params: dict[str, Any], default_out: int) -> tuple[int, int]:
    """An upper estimate of a request's input tokens and its output tokens (``max_tokens``, else the
    configured default, which the call is then held to when a budget applies).

    ASCII text is counted at 3 characters a token (English runs about 4), any other character at
    a token each (CJK text runs about one), images at a fixed allowance; tools are counted as text.
    """
    tokens = 8 + 4 * len(messages)
    texts: list[str] = []
    for m in messages:
        content = m.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and part.get("type") in ("image_url", "image", "input_image"):
                    tokens += _IMAGE_TOKENS
                elif isinstance(part, dict):
                    texts.append(str(part.get("text", "")))
        elif content is not None:
            texts.append(str(content))
        if m.get("tool_calls"):
            texts.append(str(m["tool_calls"]))
    if params.get("tools"):
        texts.append(str(params["tools"]))
    for text in texts:
        wide = sum(1 for c in text if ord(c) > 127) if not text.isascii() else 0
        tokens += (len(text) - wide) // 3 + 1 + wide
    out = params.get("max_tokens") or params.get("max_completion_tokens") or default_out
    return tokens, int(out)


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


def _reasons(errors: list[AgentOpsError]) -> str:
    """Why each deployment failed, deployments that failed alike named together:
    ``primary, fallback: HTTP 503: ServiceUnavailableError: overloaded``."""
    alike: dict[str, list[str]] = {}
    for e in errors:
        alike.setdefault(str(e), []).append(getattr(e, "deployment", "") or "?")
    return "; ".join(f"{', '.join(dict.fromkeys(deps))}: {why}" for why, deps in alike.items())
