"""An LLM step by a provider's batch API: the step's call is a batch request, and the task
waits for its answer holding no worker.

The first run of the step defers the call (:func:`~agentops.runtime.calls.defer_call`: a cache
hit or a route that cannot batch answers at once) and parks the task on the request, keyed by
the step. The batcher queues the task again once the request is answered (or has failed for
good); the step then runs again, finds its request and returns its answer, already recorded
and billed at the batch rate. A request whose every attempt failed is called at once through
the normal call path (``[batch] on_failure = "call"``), or fails the step (``"fail"``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentops.runtime.calls import (
    CallOptions,
    CallScope,
    Deferred,
    LLMClient,
    LLMResponse,
    ToolCall,
    Usage,
    defer_call,
)
from agentops.runtime.errors import LLMCallError
from agentops.runtime.tasks.journal import error_from_json
from agentops.store import BatchRequestRecord

if TYPE_CHECKING:
    from agentops.runtime.tasks.context import Context

__all__ = ["WaitingForBatch", "batched", "call_maybe_batched"]


class WaitingForBatch(BaseException):
    """Raised inside a task to park it until its batch request is answered (a BaseException,
    so that an agent's ``except Exception`` cannot swallow it)."""

    def __init__(self, request_id: str) -> None:
        super().__init__(f"waiting for batch request {request_id}")
        self.request_id = request_id


def batched(ctx: Context, asked: bool | None) -> bool:
    """Whether this step goes by batch: as it asks, else as its task or agent is set up."""
    settings, store = ctx.services.batch, ctx.services.batches
    if settings is None or store is None or not settings.enabled:
        return False
    if asked is not None:
        return asked
    return ctx.batch or ctx.spec.name in settings.agents


async def call_maybe_batched(
    ctx: Context,
    client: LLMClient,
    messages: list[dict[str, Any]],
    *,
    batch: bool,
    route: str,
    scope: CallScope,
    name: str,
    options: CallOptions,
    params: dict[str, Any],
) -> LLMResponse:
    """The step's call: at once, or by batch (see the module).

    Raises:
        WaitingForBatch: the request is not answered yet (the task parks).
        LLMCallError: by batch, every attempt failed and ``on_failure`` is ``fail``.
    """
    store, settings = ctx.services.batches, ctx.services.batch
    if not batch or store is None or settings is None:
        return await client.call(messages, route=route, scope=scope, name=name, options=options, **params)
    request = await store.request_for(ctx.task_id, ctx.seq)
    if request is None:
        deferred = await defer_call(
            client,
            store,
            messages,
            route=route,
            scope=scope,
            task_id=ctx.task_id,
            seq=ctx.seq,
            name=name,
            options=options,
            **params,
        )
        if not isinstance(deferred, Deferred):
            return deferred  # a cache hit, or a route that cannot batch
        request = deferred.request
    if not request.final:
        raise WaitingForBatch(request.id)
    if request.status == "done" and request.result is not None:
        return _response(request)
    if settings.on_failure == "fail":
        raise LLMCallError(
            f"batch request {request.id} failed after {request.attempts} job(s): {request.error}"
            ' ([batch] on_failure = "call" would make the call at once instead)'
        )
    ctx.log.warning("batch request failed; calling at once", request=request.id, error=request.error)
    return await client.call(messages, route=route, scope=scope, name=name, options=options, **params)


def _response(request: BatchRequestRecord) -> LLMResponse:
    r = request.result
    assert r is not None
    if r.get("blocked"):  # the output guard refused the answer (it was billed all the same)
        raise error_from_json(r["blocked"])
    return LLMResponse(
        r["text"],
        tuple(ToolCall(**t) for t in r["tool_calls"]),
        Usage(*r["usage"]),
        r["model"],
        r["deployment"],
        r["cost_usd"],
        r["priced"],
        r["attempts"],
        max(0, r["attempts"] - 1),
        0,
        r["latency_ms"],
        r["span_id"],
        r.get("finish_reason"),
        saving_usd=r.get("saving_usd", 0.0),
    )
