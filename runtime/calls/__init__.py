"""The path of one LLM call and every policy on it.

:class:`LLMClient.call <agentops.runtime.calls.client.LLMClient.call>` runs the call's stages
in order (:mod:`.client`): look the answer up in the response cache (:mod:`.caching`, over
:mod:`.cache`), wait for the user's and agent's rate limits, reserve the call's budget
(:mod:`.spending`, over :mod:`.pacing`, :mod:`.ratelimit`, :mod:`.budgets`), walk the route's
fallback chain, each deployment behind its circuit breaker with retries (:mod:`.fallback`,
over :mod:`.circuit`, :mod:`.retry`, :mod:`.provider`), price and record the reply
(:mod:`.recording`, over :mod:`.pricing`), settle the budget and store the answer. Also here:
the validation gate a step's reply must pass (:mod:`.gate`), the model router that picks a
route per request (:mod:`.router`), and calls by a provider's batch API: deferring a call into
a batch request and the :class:`Batcher` that sends, polls and settles jobs (:mod:`.batching`,
over :mod:`.batches`). What a call is made of and returns is in :mod:`.types`.

May import: the foundations (``errors``, ``events``, ``logs``, ``tracing``, ``config``) and
the store. Never tasks, rollouts, control or the console (import-linter checks it).
"""

from agentops.runtime.calls.batches import can_batch
from agentops.runtime.calls.batching import Batcher, Deferred, defer_call
from agentops.runtime.calls.budgets import Budgets, BudgetStatus, Reservation, start_of_day
from agentops.runtime.calls.circuit import CircuitBreaker, CircuitState, Transition, TransitionListener
from agentops.runtime.calls.client import CallOptions, CallScope, LLMClient, LLMResponse, Route, with_cache_markers
from agentops.runtime.calls.fallback import COUNTS_AGAINST_DEPLOYMENT, walk_route
from agentops.runtime.calls.gate import Check, GateFailure, repair_message, response_format, validate_reply
from agentops.runtime.calls.pacing import DeploymentLimits, Pacer, wait_for_slot
from agentops.runtime.calls.pricing import Price, PriceBook, Usage
from agentops.runtime.calls.provider import (
    Deployment,
    ProviderReply,
    ToolCall,
    complete,
    litellm_loaded,
    load_litellm,
    load_litellm_async,
)
from agentops.runtime.calls.ratelimit import SlidingWindow, TokenBucket
from agentops.runtime.calls.retry import PERMANENT_STATUSES, TRANSIENT_STATUSES, RetryPolicy, is_transient_status
from agentops.runtime.calls.router import Classify, ModelRouter, RouteChoice
from agentops.runtime.calls.spending import estimate_tokens, reserve_budget, settle_budget, wait_for_rate
from agentops.runtime.calls.types import Call

__all__ = [
    "COUNTS_AGAINST_DEPLOYMENT",
    "PERMANENT_STATUSES",
    "TRANSIENT_STATUSES",
    "Batcher",
    "BudgetStatus",
    "Budgets",
    "Call",
    "CallOptions",
    "CallScope",
    "Check",
    "CircuitBreaker",
    "CircuitState",
    "Classify",
    "Deferred",
    "Deployment",
    "DeploymentLimits",
    "GateFailure",
    "LLMClient",
    "LLMResponse",
    "ModelRouter",
    "Pacer",
    "Price",
    "PriceBook",
    "ProviderReply",
    "Reservation",
    "RetryPolicy",
    "Route",
    "RouteChoice",
    "SlidingWindow",
    "TokenBucket",
    "ToolCall",
    "Transition",
    "TransitionListener",
    "Usage",
    "can_batch",
    "complete",
    "defer_call",
    "estimate_tokens",
    "is_transient_status",
    "litellm_loaded",
    "load_litellm",
    "load_litellm_async",
    "repair_message",
    "reserve_budget",
    "response_format",
    "settle_budget",
    "start_of_day",
    "validate_reply",
    "wait_for_rate",
    "wait_for_slot",
    "walk_route",
    "with_cache_markers",
]
