"""The call path's cache stages: answer from the response cache first, store the answer last.

A hit spends nothing, so no rate limit or budget holds it back. A lookup or a store that
fails is a miss or a later miss, never a failed call. Downgraded, fallback and cut-off
answers are not stored: they are not what the request's route would answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentops.runtime.calls.cache import cache_policy, request_keys
from agentops.runtime.calls.guarding import keeps_pii
from agentops.runtime.calls.recording import record_hit
from agentops.runtime.calls.types import Call, LLMResponse
from agentops.runtime.logs import get_logger

if TYPE_CHECKING:
    from agentops.runtime.calls.client import LLMClient

__all__ = ["lookup_cache", "store_in_cache"]

log = get_logger("agentops.llm")


async def lookup_cache(client: LLMClient, call: Call) -> LLMResponse | None:
    """The stored answer to this request (exact, then semantic), recorded as a hit; or None."""
    cache = client.cache
    if cache is None:
        return None
    call.policy = cache_policy(cache.settings, call.options.cache, call.params)
    if call.policy is None:
        return None
    scope = call.scope
    call.keys = request_keys(
        cache.settings,
        call.messages,
        call.params,
        [client.deployments[d].model for d in call.route.chain],
        call.policy,
        user_id=scope.user_id,
        session_id=scope.session_id,
        task_id=scope.task_id,
        artifact=scope.prompt_artifact,
    )
    rejected: list[dict[str, Any]] = []
    try:
        hit = await cache.lookup(call.keys, call.policy, rejected)
    except Exception as exc:  # noqa: BLE001 - a broken cache is a miss, not a failed call
        log.warning("cache lookup failed; calling the provider", error=str(exc), span_id=call.span.span_id)
        return None
    if hit is not None:
        return await record_hit(client, call, hit)
    if rejected:
        call.span.attributes["agentops.cache.rejected"] = rejected[:4]
    return None


async def store_in_cache(client: LLMClient, call: Call, response: LLMResponse) -> None:
    """Keep the answer for the next identical or similar request, when it is the route's own."""
    cache, reply = client.cache, call.reply
    if cache is None or call.policy is None or call.keys is None or reply is None:
        return
    if reply.finish_reason == "length" or call.downgraded or response.fallbacks:
        return
    if keeps_pii(client, call):  # redact_pii: a request with personal data leaves nothing in the cache
        return
    try:
        await cache.store(
            call.keys, call.policy, call.span.span_id, _cached_json(response), response.cost_usd, call.scope.prompt_ref
        )
    except Exception as exc:  # noqa: BLE001 - a cache that cannot store is a later miss, not a failed call
        log.warning("response not cached", error=str(exc), span_id=call.span.span_id)


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
