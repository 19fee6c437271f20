"""Calls that go by a provider's batch API: deferring a call into a batch request, and the
:class:`Batcher` that collects requests into jobs, polls them and settles their answers.

**Deferring** (:func:`defer_call`) runs the first stages of a call as
:meth:`LLMClient.call <agentops.runtime.calls.client.LLMClient.call>` does: the route, the
call's span, the response cache (a hit answers at once, as always) and the budget check
(a cap that would be passed refuses the call now). Then, instead of walking the route, it
writes a batch request for the route's first deployment that can batch and is not open,
durable before it returns; the caller (a task's LLM step) parks until it is answered.
A route with no deployment that can batch is called at once.

**The batcher** runs in every runtime that has workers:

- *collect*: a deployment's pending requests go into a job once there are ``max_requests``
  of them or the oldest has waited ``max_wait_s``; the job's row holds them before anything
  is sent;
- *send*: upload the JSONL file and create the provider job, tagged with the job's id in its
  metadata; a job found ``submitting`` (this process crashed, or the provider did not answer)
  is looked up by that tag first, so a job is never created twice;
- *poll* every ``poll_s``, under a lease on the job, so that after a crash another process
  (or this one restarted) polls on;
- *settle* a finished job in one transaction (:meth:`BatchStore.finish_job
  <agentops.store.BatchStore.finish_job>`): each answer through the output filter, priced at
  the batch rate (the saving against the full rate on its ledger row), its ``llm_calls`` and
  ledger rows written once (keyed by the span id given at deferral); each failed line back in
  the queue for the next job until ``max_attempts``; the waiting tasks queued again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from agentops.runtime.calls.batches import JobState, LineResult, can_batch, create_job, find_job, job_state, read_lines
from agentops.runtime.calls.budgets import Reservation
from agentops.runtime.calls.caching import lookup_cache
from agentops.runtime.calls.guarding import filter_output
from agentops.runtime.calls.recording import clip_text, publish
from agentops.runtime.calls.spending import reserve_budget, settle_budget
from agentops.runtime.calls.types import Call, CallOptions, CallScope, LLMResponse
from agentops.runtime.config.costs import BatchSettings
from agentops.runtime.errors import AgentOpsError, PermanentProviderError, ProviderError
from agentops.runtime.logs import get_logger
from agentops.runtime.tracing import Span
from agentops.store import BatchJobRecord, BatchRequestRecord, BatchStore, LedgerRecord, LineOutcome, LLMCallRecord

if TYPE_CHECKING:
    from agentops.runtime.calls.client import LLMClient

__all__ = ["Batcher", "Deferred", "defer_call"]

log = get_logger("agentops.batch")


@dataclass(frozen=True)
class Deferred:
    """A call written as a batch request: the task waits for ``request``."""

    request: BatchRequestRecord


async def defer_call(
    client: LLMClient,
    batches: BatchStore,
    messages: list[dict[str, Any]],
    *,
    route: str,
    scope: CallScope,
    task_id: str,
    seq: int,
    name: str = "llm",
    options: CallOptions | None = None,
    **params: Any,
) -> LLMResponse | Deferred:
    """A cache hit (answered now), or the batch request written for the call; see the module.
    A route with no deployment that can batch (or all open) is called at once: its response.

    Raises:
        BudgetExceededError: a budget's cap would be passed.
    """
    call = client._begin(messages, route, scope, name, None, options or CallOptions(), params)
    call.span.attributes["agentops.batch"] = True
    try:
        hit = await lookup_cache(client, call)
        if hit is not None:
            return hit
        await reserve_budget(client, call)  # a check: a waiting request holds nothing
    except AgentOpsError as exc:
        client.tracer.end(call.span, "error", str(exc))
        raise
    finally:
        settle_budget(client, call)
    dep = next(
        (
            client.deployments[d]
            for d in call.route.chain
            if can_batch(client.deployments[d]) and client.breakers[d].state.value != "open"
        ),
        None,
    )
    if dep is None:
        client.tracer.end(call.span, "ok", attrs={"agentops.batch": "no deployment of the route can batch"})
        return await client.call(messages, route=route, scope=scope, name=name, options=options, **params)
    body = {"model": dep.model.split("/", 1)[-1], "messages": messages, **call.params}
    request = BatchRequestRecord(
        id=uuid.uuid4().hex[:16],
        task_id=task_id,
        seq=seq,
        span_id=call.span.span_id,
        parent_span_id=call.span.parent_id,
        trace_id=call.span.trace_id,
        name=name,
        route=call.route.name,
        deployment=dep.name,
        body=body,
        scope=asdict(scope),
        status="pending",
        created_at=time.time(),
    )
    stored = await batches.add_request(request)
    call.span.attributes.update({"agentops.batch.request": stored.id, "agentops.deployment": dep.name})
    # The span stays open while the request waits; the batcher ends it (same id) when it is answered.
    client.tracer.checkpoint(call.span)
    return Deferred(stored)


class Batcher:
    """Collects batch requests into provider jobs, polls them and settles them (see the module).

    Args:
        client: the runtime's LLM client (deployments, prices, guards, tracer, store).
        batches: the batch store.
        settings: ``[batch]``.
        owner: this process's name, for job leases.
        on_wake: called when a settled job queued tasks again (wakes idle workers).
    """

    def __init__(
        self,
        client: LLMClient,
        batches: BatchStore,
        settings: BatchSettings,
        owner: str,
        on_wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.client = client
        self.batches = batches
        self.settings = settings
        self.owner = f"{owner}:batch"
        self.on_wake = on_wake
        self.wake = asyncio.Event()
        """Set to collect and poll now (a request was added)."""

    @property
    def tick_s(self) -> float:
        """How often the loop looks for work."""
        s = self.settings
        return max(0.05, min(1.0, s.poll_s, s.max_wait_s or 1.0))

    async def run(self) -> None:
        """Collect, send, poll and settle until cancelled; then give up this process's leases
        (another process, or this one restarted, polls on at once instead of after ``lease_s``)."""
        try:
            while True:
                try:
                    await self.step()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.exception("batch loop failed; trying again", error=str(exc))
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), self.tick_s)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.batches.release_jobs(self.owner))

    async def step(self) -> None:
        """One round: open the jobs that are due, then poll (or send) every job that is due."""
        s, now = self.settings, time.time()
        for deployment in await self.batches.ready_deployments(
            now=now, max_wait_s=s.max_wait_s, max_requests=s.max_requests
        ):
            opened = await self.batches.open_job(deployment, limit=s.max_requests, owner=self.owner, lease_s=s.lease_s)
            if opened is not None:
                job, requests = opened
                await self._send(job, requests, fresh=True)
        for job in await self.batches.claim_jobs(self.owner, lease_s=s.lease_s, now=time.time()):
            requests = await self.batches.requests_of(job.id)
            if job.status == "submitting":
                await self._send(job, requests, fresh=False)
            else:
                await self._poll(job, requests)

    async def _send(self, job: BatchJobRecord, requests: list[BatchRequestRecord], *, fresh: bool) -> None:
        dep = self.client.deployments.get(job.deployment)
        if dep is None:
            await self._fail(job, requests, f"deployment {job.deployment!r} is no longer configured")
            return
        try:
            state = None if fresh else await find_job(dep, job.id)
            file_id = None
            if state is None:
                lines = [{"custom_id": _custom_id(r), "body": r.body} for r in requests]
                state, file_id = await create_job(dep, lines, job.id)
        except PermanentProviderError as exc:
            await self._fail(job, requests, f"the provider refused the batch: {exc}")
            return
        except ProviderError as exc:
            log.warning("batch job not sent; trying again", job=job.id, deployment=dep.name, error=str(exc))
            await self.batches.poll_later(
                job.id, next_poll_at=time.time() + min(self.settings.poll_s, 5.0), error=str(exc)
            )
            return
        await self.batches.mark_submitted(
            job.id, provider_batch_id=state.batch_id, input_file_id=file_id, at=time.time()
        )
        await self.batches.poll_later(job.id, next_poll_at=time.time() + self.settings.poll_s)
        self.client.tracer.bus.publish(
            "batch.submitted", job_id=job.id, deployment=dep.name, requests=len(requests), batch_id=state.batch_id
        )
        log.info("batch job sent", job=job.id, deployment=dep.name, requests=len(requests), batch_id=state.batch_id)

    async def _poll(self, job: BatchJobRecord, requests: list[BatchRequestRecord]) -> None:
        dep = self.client.deployments.get(job.deployment)
        if dep is None or job.provider_batch_id is None:
            await self._fail(job, requests, f"deployment {job.deployment!r} is no longer configured")
            return
        try:
            state = await job_state(dep, job.provider_batch_id)
            lines = await read_lines(dep, state) if state.final else []
        except ProviderError as exc:
            log.warning("batch poll failed; trying again", job=job.id, error=str(exc))
            await self.batches.poll_later(job.id, next_poll_at=time.time() + self.settings.poll_s, error=str(exc))
            return
        if not state.final:
            await self.batches.poll_later(job.id, next_poll_at=time.time() + self.settings.poll_s)
            return
        await self._settle(job, requests, state, lines)

    async def _fail(self, job: BatchJobRecord, requests: list[BatchRequestRecord], error: str) -> None:
        outcomes = [LineOutcome(r.id, error=error) for r in requests]
        woken = await self.batches.finish_job(
            job.id, "failed", outcomes, max_attempts=self.settings.max_attempts, error=error
        )
        self._woke(job, woken, 0, len(requests))

    async def _settle(
        self, job: BatchJobRecord, requests: list[BatchRequestRecord], state: JobState, lines: list[LineResult]
    ) -> None:
        by_id = {_custom_id(r): r for r in requests}
        answered: dict[str, LineResult] = {ln.custom_id: ln for ln in lines if ln.custom_id in by_id}
        outcomes: list[LineOutcome] = []
        ended: list[tuple[Call, LLMCallRecord]] = []
        for custom_id, request in by_id.items():
            line = answered.get(custom_id)
            if line is None or line.reply is None:
                why = line.error if line is not None else f"not answered (the job ended {state.status})"
                outcomes.append(LineOutcome(request.id, error=why))
                continue
            outcome, call, row = await self._answer(job, request, line)
            outcomes.append(outcome)
            ended.append((call, row))
        status = state.status if state.status != "completed" else "completed"
        woken = await self.batches.finish_job(job.id, status, outcomes, max_attempts=self.settings.max_attempts)
        for call, row in ended:  # after the commit: spans (same ids), events, budgets
            self.client.tracer.end(call.span, "ok" if row.error is None else "error", row.error)
            publish(self.client, row)
            self._charge(call, row)
        done = sum(1 for o in outcomes if o.result is not None)
        self._woke(job, woken, done, len(outcomes) - done)

    async def _answer(
        self, job: BatchJobRecord, request: BatchRequestRecord, line: LineResult
    ) -> tuple[LineOutcome, Call, LLMCallRecord]:
        client = self.client
        dep = client.deployments[request.deployment]
        scope = CallScope(**request.scope)
        body = dict(request.body)
        messages = body.pop("messages")
        body.pop("model", None)
        span = Span(
            request.span_id,
            request.trace_id,
            request.parent_span_id,
            request.task_id,
            request.name,
            "llm",
            request.created_at,
            {"agentops.batch": True, "agentops.batch.request": request.id, "agentops.batch.job": job.id},
        )
        route = client.routes.get(request.route) or next(iter(client.routes.values()))
        call = Call(messages, body, route, scope, CallOptions(), span, time.monotonic(), time.monotonic())
        call.deployment, call.reply, call.attempts = dep, line.reply, request.attempts
        blocked = await filter_output(client, call)
        reply = call.reply
        assert reply is not None
        model = dep.price_model or dep.model
        full = client.prices.price(model)
        price = client.prices.batch_price(model, self.settings.price_discount)
        cost = price.cost(reply.usage) if price is not None else 0.0
        saving = (full.cost(reply.usage) - cost) if full is not None else 0.0
        now = time.time()
        latency_ms = (now - request.created_at) * 1000.0
        usage = reply.usage
        span.attributes.update(
            {
                "agentops.deployment": dep.name,
                "gen_ai.request.model": dep.model,
                "gen_ai.provider.name": dep.provider,
                "gen_ai.response.model": reply.response_model,
                "gen_ai.usage.input_tokens": usage.input_tokens,
                "gen_ai.usage.output_tokens": usage.output_tokens,
                "gen_ai.response.finish_reasons": [reply.finish_reason],
                "gen_ai.output.messages": clip_text(reply.text),
                "agentops.cost_usd": cost,
                "agentops.priced": price is not None,
                "agentops.batch.saving_usd": saving,
                "agentops.attempts": request.attempts,
            }
        )
        row = LLMCallRecord(
            span_id=request.span_id,
            trace_id=request.trace_id,
            task_id=request.task_id,
            route=request.route,
            model=dep.model,
            deployment=dep.name,
            status="ok",
            attempts=request.attempts,
            retries=request.attempts - 1,
            fallbacks=0,
            latency_ms=latency_ms,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cached_tokens=usage.cached_tokens,
            cost_usd=cost,
            created_at=now,
            error_type=None if blocked is None else type(blocked).__name__,
            error=None if blocked is None else str(blocked),
            prompt=scope.prompt,
            prompt_version=scope.prompt_version,
            batch_job=job.id,
        )
        ledger = LedgerRecord(
            span_id=request.span_id,
            model=dep.model,
            deployment=dep.name,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cached_tokens=usage.cached_tokens,
            cost_usd=cost,
            priced=price is not None,
            created_at=now,
            task_id=request.task_id,
            agent=scope.agent,
            user_id=scope.user_id,
            session_id=scope.session_id,
            prompt=scope.prompt_ref,
            saving_usd=saving,
            batch_job=job.id,
        )
        result = {
            "text": reply.text,
            "tool_calls": [{"id": t.id, "name": t.name, "arguments": t.arguments} for t in reply.tool_calls],
            "usage": [usage.input_tokens, usage.output_tokens, usage.cached_tokens],
            "model": dep.model,
            "deployment": dep.name,
            "cost_usd": cost,
            "priced": price is not None,
            "attempts": request.attempts,
            "latency_ms": latency_ms,
            "span_id": request.span_id,
            "finish_reason": reply.finish_reason,
            "saving_usd": saving,
            "job": job.id,
            "blocked": None if blocked is None else {"type": type(blocked).__name__, "message": str(blocked)},
        }
        return LineOutcome(request.id, result=result, call=row, ledger=ledger), call, row

    def _charge(self, call: Call, row: LLMCallRecord) -> None:
        """Count the answer's spend in this process's budgets (its tokens and cost)."""
        budgets = self.client.budgets
        if budgets is None or not budgets.enabled:
            return
        s = call.scope
        keys = budgets.keys(task_id=s.task_id, session_id=s.session_id, user_id=s.user_id, agent=s.agent)
        if keys:
            budgets.settle(Reservation(0.0, 0.0, keys), tokens=row.input_tokens + row.output_tokens, usd=row.cost_usd)

    def _woke(self, job: BatchJobRecord, woken: list[str], done: int, failed: int) -> None:
        self.client.tracer.bus.publish(
            "batch.finished", job_id=job.id, deployment=job.deployment, succeeded=done, failed=failed
        )
        log.info("batch job settled", job=job.id, succeeded=done, failed=failed, tasks_queued=len(woken))
        if woken:
            self.on_wake()


def _custom_id(request: BatchRequestRecord) -> str:
    """A line's id: the request and its attempt (a line of an earlier job is never taken for this one's)."""
    return f"{request.id}.{request.attempts}"
