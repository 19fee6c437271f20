"""The path of one LLM call, as the stages :meth:`LLMClient.call` runs in order.

1. **resolve the route**: a route name, or a router's default where a router is named at a
   call site that chose no route (:meth:`LLMClient.resolve`); the call's span opens.
2. **look up the cache** (:func:`~.caching.lookup_cache`): exact, then semantic; a hit is
   recorded and returned, spending nothing.
3. **wait for the rate limits** (:func:`~.spending.wait_for_rate`): the user's and agent's
   token buckets, never past the deadline.
4. **reserve the budget** (:func:`~.spending.reserve_budget`): the estimated maximum against
   every budget that applies; over a cap, block or downgrade.
5. **walk the route** (:func:`~.fallback.walk_route`): each deployment of the fallback chain
   behind its circuit breaker, with retries, through litellm.
6. **filter the reply** (:func:`~.guarding.filter_output`): the output guard redacts personal
   data and secrets, or blocks the reply (raised once the billed call is recorded).
7. **record the reply** (:func:`~.recording.record_reply`): price it, close the span, write
   the ``llm_calls`` and ledger rows in one durable commit; a failure is recorded instead
   (:func:`~.recording.record_failure`).
8. **settle the budget** (:func:`~.spending.settle_budget`), on every path.
9. **store the answer** (:func:`~.caching.store_in_cache`) for the next identical or similar
   request.

The whole call never runs past its deadline; every attempt is a child span of the call's span.
"""

from __future__ import annotations

import time
from typing import Any

from agentops.runtime.calls.budgets import Budgets
from agentops.runtime.calls.cache import ResponseCache
from agentops.runtime.calls.caching import lookup_cache, store_in_cache
from agentops.runtime.calls.circuit import CircuitBreaker
from agentops.runtime.calls.fallback import walk_route, with_cache_markers
from agentops.runtime.calls.guarding import filter_output
from agentops.runtime.calls.pacing import DeploymentLimits, Pacer
from agentops.runtime.calls.pricing import PriceBook
from agentops.runtime.calls.provider import Deployment
from agentops.runtime.calls.recording import clip_messages, record_failure, record_reply
from agentops.runtime.calls.retry import RetryPolicy
from agentops.runtime.calls.spending import estimate_tokens, reserve_budget, settle_budget, wait_for_rate
from agentops.runtime.calls.types import Call, CallOptions, CallScope, LLMResponse, Route
from agentops.runtime.errors import AgentOpsError, ConfigError
from agentops.runtime.guards import Guards
from agentops.runtime.tracing import Tracer
from agentops.store import Store

__all__ = ["CallOptions", "CallScope", "LLMClient", "LLMResponse", "Route", "with_cache_markers"]


class LLMClient:
    """Makes LLM calls along routes, with the cache, budgets, rate limits, breakers, retries,
    tracing and the ledger (the stages of :meth:`call`)."""

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
        guards: Guards | None = None,
    ) -> None:
        self.deployments = deployments
        self.routes = routes
        self.breakers = breakers
        self.retry = retry
        self.prices = prices
        self.tracer = tracer
        self.store = store
        self.deadline_s = deadline_s
        self.budgets = budgets
        self.pacer = pacer
        self.limits = limits or {}
        self.cache = cache
        self.estimate_output_tokens = estimate_output_tokens
        self.router_defaults = router_defaults or {}
        self.guards = guards
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
            GuardBlockedError: the output guard blocked the reply (the call is recorded and billed).
        """
        call = self._begin(messages, route, scope, name, deadline_s, options or CallOptions(), params)
        try:
            hit = await lookup_cache(self, call)
            if hit is not None:
                return hit
            await wait_for_rate(self, call)  # first: a waiting call holds no budget
            await reserve_budget(self, call)
            await walk_route(self, call)
            blocked = await filter_output(self, call)
            response = await record_reply(self, call, blocked)
        except AgentOpsError as exc:
            await record_failure(self, call, exc)
            raise
        except BaseException as exc:
            self.tracer.end(call.span, "error", f"{type(exc).__name__}: cancelled")
            raise
        finally:
            settle_budget(self, call)  # on every path (cancelled while recording included)
        if blocked is not None:
            raise blocked
        await store_in_cache(self, call, response)
        return response

    def _begin(
        self,
        messages: list[dict[str, Any]],
        route: str,
        scope: CallScope,
        name: str,
        deadline_s: float | None,
        options: CallOptions,
        params: dict[str, Any],
    ) -> Call:
        """Resolve the route, open the call's span and estimate its tokens."""
        route, routing = self.resolve(route, options.routing)
        started = time.monotonic()
        span = self.tracer.start(
            name,
            "llm",
            trace_id=scope.trace_id,
            parent_id=scope.parent_span_id,
            task_id=scope.task_id,
            attrs={
                "gen_ai.operation.name": "chat",
                "agentops.route": route,
                "gen_ai.input.messages": clip_messages(messages),
                **scope.span_attrs(),
                **(routing or {}),
                **(options.span_attrs or {}),
            },
        )
        deadline = started + (deadline_s if deadline_s is not None else self.deadline_s)
        call = Call(messages, params, self.routes[route], scope, options, span, started, deadline)
        call.tokens_in, call.tokens_out = estimate_tokens(messages, params, self.estimate_output_tokens)
        return call

    def resolve(self, route: str, routing: dict[str, str] | None) -> tuple[str, dict[str, str] | None]:
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
