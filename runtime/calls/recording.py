"""The call path's last stage: price the reply, close the call's span, and write its ``llm_calls``
row and its ledger row in one durable commit before the call returns; then announce it.

A cache hit is recorded too (cost 0, the saving it made on the ledger row), and so is a
failure (its row says why; nothing is billed). Prices are litellm's bundled map or a
``[prices.MODEL]`` override; cached input tokens are priced as cached, never counted
twice; a model with no known price is recorded as unpriced, not as free.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from agentops.runtime.calls.pricing import Usage
from agentops.runtime.calls.provider import ToolCall
from agentops.runtime.calls.types import Call, LLMResponse
from agentops.runtime.errors import AgentOpsError, GuardBlockedError
from agentops.store import LedgerRecord, LLMCallRecord

if TYPE_CHECKING:
    from agentops.runtime.calls.cache import CacheHit
    from agentops.runtime.calls.client import LLMClient

__all__ = ["clip_messages", "clip_text", "record_failure", "record_hit", "record_reply"]


async def record_reply(client: LLMClient, call: Call, blocked: GuardBlockedError | None = None) -> LLMResponse:
    """The provider answered: price it, close the span, write the call and its ledger row
    (``blocked``: the output guard refused the reply; it is billed all the same)."""
    dep, reply = call.deployment, call.reply
    assert dep is not None and reply is not None
    price = client.prices.price(dep.price_model or dep.model)
    cost, priced = (price.cost(reply.usage), True) if price is not None else (0.0, False)
    call.cost_usd = cost  # settled against the budget whatever happens next
    saving = reply.usage.cached_tokens * (price.input - price.cached_input) if price is not None else 0.0
    latency_ms = (time.monotonic() - call.started) * 1000.0
    usage = reply.usage
    client.tracer.end(
        call.span,
        "ok" if blocked is None else "error",
        None if blocked is None else str(blocked),
        attrs={
            "agentops.deployment": dep.name,
            "gen_ai.request.model": dep.model,
            "gen_ai.provider.name": dep.provider,
            "gen_ai.response.model": reply.response_model,
            "gen_ai.usage.input_tokens": usage.input_tokens,
            "gen_ai.usage.output_tokens": usage.output_tokens,
            "gen_ai.usage.cache_read.input_tokens": usage.cached_tokens,
            "gen_ai.response.finish_reasons": [reply.finish_reason],
            "gen_ai.output.messages": clip_text(reply.text),
            "agentops.tool_calls": [{"name": t.name, "arguments": t.arguments} for t in reply.tool_calls],
            "agentops.cost_usd": cost,
            "agentops.priced": priced,
            "agentops.prompt_cache.saving_usd": saving,
            "agentops.attempts": call.attempts,
            "agentops.retries": call.retries,
            "agentops.fallbacks": call.fallbacks,
            "agentops.deployments_tried": call.deployments_tried,
        },
    )
    s, now = call.scope, time.time()
    row = LLMCallRecord(
        span_id=call.span.span_id,
        trace_id=s.trace_id,
        task_id=s.task_id,
        route=call.route.name,
        model=dep.model,
        deployment=dep.name,
        status="ok",
        attempts=call.attempts,
        retries=call.retries,
        fallbacks=call.fallbacks,
        latency_ms=latency_ms,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cached_tokens=usage.cached_tokens,
        cost_usd=cost,
        created_at=now,
        error_type=None if blocked is None else type(blocked).__name__,
        error=None if blocked is None else str(blocked),
        prompt=s.prompt,
        prompt_version=s.prompt_version,
    )
    await client.store.record_llm_call(row, _ledger(call, dep.model, dep.name, usage, cost, priced, now, saving))
    publish(client, row)
    return LLMResponse(
        reply.text,
        reply.tool_calls,
        usage,
        dep.model,
        dep.name,
        cost,
        priced,
        call.attempts,
        call.retries,
        call.fallbacks,
        latency_ms,
        call.span.span_id,
        reply.finish_reason,
        saving_usd=saving,
    )


async def record_hit(client: LLMClient, call: Call, hit: CacheHit) -> LLMResponse:
    """Answered from the cache: the span, the call and a ledger row (cost 0, the saving recorded)."""
    r = hit.response
    latency_ms = (time.monotonic() - call.started) * 1000.0
    client.tracer.end(
        call.span,
        "ok",
        attrs={
            "agentops.cache.hit": hit.kind,
            "agentops.cache.entry": hit.entry_id,
            "agentops.cache.similarity": hit.similarity,
            "agentops.cache.matched_text": clip_text(hit.matched_text, 500),
            "agentops.cache.entry_created_at": hit.created_at,
            "agentops.cache.saving_usd": hit.cost_usd,
            "gen_ai.request.model": r["model"],
            "gen_ai.output.messages": clip_text(r["text"]),
            "agentops.tool_calls": r["tool_calls"],
            "agentops.cost_usd": 0.0,
            "agentops.attempts": 0,
        },
    )
    s, now = call.scope, time.time()
    row = LLMCallRecord(
        span_id=call.span.span_id,
        trace_id=s.trace_id,
        task_id=s.task_id,
        route=call.route.name,
        model=r["model"],
        deployment="cache",
        status="ok",
        attempts=0,
        retries=0,
        fallbacks=0,
        latency_ms=latency_ms,
        input_tokens=0,
        output_tokens=0,
        cached_tokens=0,
        cost_usd=0.0,
        created_at=now,
        prompt=s.prompt,
        prompt_version=s.prompt_version,
        cache=hit.kind,
    )
    # Nothing was spent: the tokens are the original call's, in its own ledger row.
    ledger = _ledger(call, r["model"], "cache", Usage(), 0.0, True, now, hit.cost_usd, cache=hit.kind)
    await client.store.record_llm_call(row, ledger)
    publish(client, row)
    return LLMResponse(
        r["text"],
        tuple(ToolCall(**t) for t in r["tool_calls"]),
        Usage(),
        r["model"],
        "cache",
        0.0,
        True,
        0,
        0,
        0,
        latency_ms,
        call.span.span_id,
        r.get("finish_reason"),
        cache=hit.kind,
        saving_usd=hit.cost_usd,
        cache_entry=hit.entry_id,
    )


async def record_failure(client: LLMClient, call: Call, exc: AgentOpsError) -> None:
    """The call failed: close the span with why, and write its row (nothing billed)."""
    latency_ms = (time.monotonic() - call.started) * 1000.0
    client.tracer.end(
        call.span,
        "error",
        str(exc),
        attrs={
            "error.type": type(exc).__name__,
            "agentops.attempts": call.attempts,
            "agentops.retries": call.retries,
            "agentops.deployments_tried": call.deployments_tried,
        },
    )
    s = call.scope
    row = LLMCallRecord(
        span_id=call.span.span_id,
        trace_id=s.trace_id,
        task_id=s.task_id,
        route=call.route.name,
        model=None,
        deployment=call.deployments_tried[-1] if call.deployments_tried else None,
        status="error",
        attempts=call.attempts,
        retries=call.retries,
        fallbacks=call.fallbacks,
        latency_ms=latency_ms,
        input_tokens=0,
        output_tokens=0,
        cached_tokens=0,
        cost_usd=0.0,
        created_at=time.time(),
        error_type=type(exc).__name__,
        error=str(exc)[:2000],
        prompt=s.prompt,
        prompt_version=s.prompt_version,
    )
    await client.store.record_llm_call(row, None)
    publish(client, row)


def _ledger(
    call: Call,
    model: str,
    deployment: str,
    usage: Usage,
    cost: float,
    priced: bool,
    at: float,
    saving: float,
    cache: str | None = None,
) -> LedgerRecord:
    s = call.scope
    return LedgerRecord(
        span_id=call.span.span_id,
        model=model,
        deployment=deployment,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cached_tokens=usage.cached_tokens,
        cost_usd=cost,
        priced=priced,
        created_at=at,
        task_id=s.task_id,
        agent=s.agent,
        user_id=s.user_id,
        session_id=s.session_id,
        prompt=s.prompt_ref,
        cache=cache,
        saving_usd=saving,
    )


def publish(client: LLMClient, row: LLMCallRecord) -> None:
    """One ``llm.call`` event per finished call (metrics count them); no message text."""
    client.tracer.bus.publish(
        "llm.call",
        task_id=row.task_id,
        route=row.route,
        model=row.model,
        deployment=row.deployment,
        status=row.status,
        attempts=row.attempts,
        retries=row.retries,
        fallbacks=row.fallbacks,
        latency_ms=row.latency_ms,
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        cached_tokens=row.cached_tokens,
        cost_usd=row.cost_usd,
        error_type=row.error_type,
        batch_job=row.batch_job,
    )


def clip_text(text: str | None, limit: int = 8000) -> str | None:
    """Text as a span keeps it: at most ``limit`` characters, saying how many more there were."""
    if text is None or len(text) <= limit:
        return text
    return text[:limit] + f"... [{len(text) - limit} more characters]"


def clip_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chat messages as a span keeps them (each text clipped)."""
    out = []
    for m in messages:
        m2 = dict(m)
        if isinstance(m2.get("content"), str):
            m2["content"] = clip_text(m2["content"])
        out.append(m2)
    return out
