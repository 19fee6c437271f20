"""The call path's provider stage: walk the route's fallback chain, each deployment behind its
circuit breaker, with retries, until one answers.

For each deployment in turn: the breaker may refuse at once (open: the next deployment, no
waiting); otherwise the deployment's provider limits (``rpm``/``tpm``) give the attempt a
slot, and attempts are made under the retry policy until one succeeds, a permanent error
stops them, or the retries are spent. Transient errors retry with backoff and full jitter,
honouring Retry-After, never past the deadline. A context-window error skips to a
deployment with a larger window; other permanent errors end the call unless the route says
``fallback_on_permanent``. 401, 403 and 404 count against the deployment's breaker (the
deployment is broken); 400 and 422 do not (the request is).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from agentops.runtime.calls.circuit import CircuitBreaker
from agentops.runtime.calls.pacing import wait_for_slot
from agentops.runtime.calls.provider import Deployment, ProviderReply, complete
from agentops.runtime.calls.types import Call
from agentops.runtime.errors import (
    AgentOpsError,
    CircuitOpenError,
    ContextWindowError,
    DeadlineExceededError,
    LLMCallError,
    PermanentProviderError,
    ProviderError,
    RateLimitedError,
)
from agentops.runtime.tracing import Span

if TYPE_CHECKING:
    from agentops.runtime.calls.client import LLMClient

__all__ = ["COUNTS_AGAINST_DEPLOYMENT", "walk_route", "with_cache_markers"]

COUNTS_AGAINST_DEPLOYMENT = frozenset({401, 403, 404})
"""Permanent statuses that say the deployment itself is broken (key, permission, model name, URL)."""

_MARKER_PROVIDERS = frozenset({"anthropic", "bedrock", "vertex_ai", "vertex_ai_beta", "gemini", "databricks"})
"""Providers whose prompt caching needs cache-control markers (OpenAI, DeepSeek and others cache by themselves)."""


async def walk_route(client: LLMClient, call: Call) -> None:
    """Try the route's deployments in order until one answers (``call.deployment``, ``call.reply``).

    Raises:
        LLMCallError: every deployment failed (``errors`` says why each did).
        DeadlineExceededError: the deadline ran out first.
        PermanentProviderError: a permanent error on a route that does not fall back on them.
    """
    min_window = 0  # after a context-window error, only larger windows are worth trying
    for name in call.route.chain:
        dep = client.deployments[name]
        if min_window and (dep.context_window or 0) <= min_window:
            continue
        call.deployments_tried.append(name)
        try:
            call.reply = await _attempts(client, call, dep)
            call.deployment = dep
            return
        except (CircuitOpenError, RateLimitedError) as exc:
            call.errors.append(exc)
        except ContextWindowError as exc:
            call.errors.append(exc)
            min_window = dep.context_window or 1
        except PermanentProviderError as exc:
            call.errors.append(exc)
            if not call.route.fallback_on_permanent:
                raise
        except DeadlineExceededError as exc:
            call.errors.append(exc)
            raise DeadlineExceededError(str(exc), call.errors) from None
        except ProviderError as exc:
            call.errors.append(exc)
    reasons = _reasons(call.errors) or "no deployment fits"
    raise LLMCallError(f"route {call.route.name!r} failed on every deployment: {reasons}", call.errors)


async def _attempts(client: LLMClient, call: Call, dep: Deployment) -> ProviderReply:
    """Attempts on one deployment under the retry policy; each attempt is a child span of the call's."""
    breaker = client.breakers[dep.name]
    limits = client.limits.get(dep.name)
    params = with_cache_markers(dep, call.params) if call.prompt_caching else call.params
    parent, deadline, tracer = call.span, call.deadline, client.tracer
    retries = 0
    while True:
        if deadline - time.monotonic() <= 0:
            raise DeadlineExceededError(f"deadline passed before an attempt on {dep.name}")
        probe = breaker.acquire()  # raises CircuitOpenError when open: no waiting for a slot there
        handles: list[list[float] | None] = []
        if limits is not None:
            try:  # RateLimitedError (no slot before the deadline): the next deployment
                waited, handles = await wait_for_slot(limits, call.tokens, deadline)
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
        call.attempts += 1
        attempt = tracer.start(
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
            reply = await complete(
                dep, call.messages, timeout=min(dep.timeout_s, remaining), **_traced(params, attempt)
            )
        except ProviderError as exc:
            if limits is not None:
                limits.done(handles, None)
            _settle_breaker(breaker, exc, probe)
            attrs: dict[str, Any] = {"http.response.status_code": exc.status}
            if exc.raw and exc.raw != str(exc):
                attrs["agentops.error.raw"] = exc.raw[:2000]
            tracer.end(attempt, "error", str(exc), attrs=attrs)
            if not client.retry.should_retry(exc, retries):
                raise
            wait = client.retry.delay(exc, retries)
            if time.monotonic() + wait >= deadline:
                raise  # no time to wait: let the next deployment try at once
            retries += 1
            call.retries += 1
            await asyncio.sleep(wait)
            continue
        except BaseException:
            if limits is not None:
                limits.done(handles, None)
            breaker.release(probe)
            tracer.end(attempt, "error", "cancelled")
            raise
        breaker.record_success(probe)
        tracer.end(attempt, "ok")
        if limits is not None:
            limits.done(handles, reply.usage.input_tokens + reply.usage.output_tokens)
        return reply


def _traced(params: dict[str, Any], attempt: Span) -> dict[str, Any]:
    """The parameters with a W3C ``traceparent`` header naming the attempt's span, so a provider's
    (or a proxy's) own traces join ours."""
    headers = {**(params.get("extra_headers") or {}), "traceparent": f"00-{attempt.trace_id}-{attempt.span_id}-01"}
    return {**params, "extra_headers": headers}


def _settle_breaker(breaker: CircuitBreaker, exc: ProviderError, probe: bool) -> None:
    if isinstance(exc, PermanentProviderError) and exc.status not in COUNTS_AGAINST_DEPLOYMENT:
        breaker.release(probe)  # the request's fault (400, 422, too long), not the deployment's
    else:
        breaker.record_failure(str(exc)[:160], probe)  # "HTTP 503: ServiceUnavailableError: ..."


def with_cache_markers(dep: Deployment, params: dict[str, Any]) -> dict[str, Any]:
    """Parameters asking litellm to mark the system message as a cache breakpoint, for providers whose
    prompt caching needs markers (Anthropic, Bedrock, Vertex, Gemini); others cache by themselves."""
    if dep.provider not in _MARKER_PROVIDERS:
        return params
    return {**params, "cache_control_injection_points": [{"location": "message", "role": "system"}]}


def _reasons(errors: list[AgentOpsError]) -> str:
    """Why each deployment failed, deployments that failed alike named together:
    ``primary, fallback: HTTP 503: ServiceUnavailableError: overloaded``."""
    alike: dict[str, list[str]] = {}
    for e in errors:
        alike.setdefault(str(e), []).append(getattr(e, "deployment", "") or "?")
    return "; ".join(f"{', '.join(dict.fromkeys(deps))}: {why}" for why, deps in alike.items())
