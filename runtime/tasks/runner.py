"""Running tasks: validate input, submit to the durable queue, execute with the journal.

:meth:`TaskRunner.execute` runs one claimed task's agent function. Its steps replay
from the journal, so running a task again (after a crash, or after an escalation was
decided) continues where it stopped. Outcomes: ``succeeded``; ``failed`` (a typed
error, or a bug in the agent); ``waiting`` (parked on an escalation, on sub-tasks or on a
batch request: the lease is released and no worker is held); ``cancelled`` (an operator asked).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from agentops.runtime.calls.budgets import Budgets
from agentops.runtime.calls.client import LLMClient
from agentops.runtime.calls.router import ModelRouter
from agentops.runtime.config import Settings
from agentops.runtime.errors import AgentOpsError, TaskInputError, describe_validation
from agentops.runtime.events import EventBus
from agentops.runtime.guards import Guards
from agentops.runtime.guards.fence import SCREENED_CHARS, untrusted_strings
from agentops.runtime.logs import bound_task, get_logger
from agentops.runtime.registry import AgentSpec, Registry
from agentops.runtime.rollouts.flags import Flags
from agentops.runtime.rollouts.prompts import PromptRegistry
from agentops.runtime.tasks.batch_step import WaitingForBatch
from agentops.runtime.tasks.context import Context, TaskServices
from agentops.runtime.tasks.escalation import TaskParked
from agentops.runtime.tasks.subtasks import WaitingForSubtasks
from agentops.runtime.tracing import Tracer, new_trace_id
from agentops.store import BatchStore, EscalationStore, Journal, Store, TaskQueue, TaskRecord

__all__ = ["TaskRunner", "validate_input"]

log = get_logger("agentops.runtime")


def validate_input(registry: Registry, agent: str, input: Any) -> tuple[AgentSpec, Any]:
    """The agent and its validated input.

    Raises:
        UnknownAgentError: no such agent.
        TaskInputError: the input fails the agent's input model.
    """
    spec = registry.get_agent(agent)
    if spec.input_model is None:
        return spec, input
    try:
        return spec, spec.input_model.model_validate(input)
    except ValidationError as exc:
        raise TaskInputError(f"input for agent {agent!r} is invalid: {describe_validation(exc)}") from None


class TaskRunner:
    """Submits and executes tasks for one runtime."""

    def __init__(
        self,
        settings: Settings,
        registry: Registry,
        store: Store,
        bus: EventBus,
        client: Callable[[], Awaitable[LLMClient]],
        owner: str,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.store = store
        self.bus = bus
        self.prompts: PromptRegistry | None = None
        self.flags: Flags | None = None
        self.budgets: Budgets | None = None
        self.router: ModelRouter | None = None
        self.guards: Guards | None = None
        self.queue = TaskQueue(store)
        self.journal = Journal(store)
        self.escalations = EscalationStore(store)
        self.batches = BatchStore(store)
        self.batch_added: asyncio.Event | None = None
        """Set when a step wrote a batch request (wakes the batcher)."""
        self.owner = owner
        self._tracer = Tracer(store, bus)
        self._client = client
        self.cancel_requested: set[str] = set()
        """Tasks whose cancellation was asked by an operator (not shutdown)."""
        self.submitted = asyncio.Event()
        """Set whenever this process queued a task: wakes idle workers."""

    def validate(self, agent: str, input: Any) -> tuple[AgentSpec, Any]:
        """The agent and its validated input; see :func:`validate_input`."""
        return validate_input(self.registry, agent, input)

    async def submit(
        self,
        agent: str,
        input: Any,
        *,
        user_id: str | None = None,
        session_id: str | None = None,
        priority: int = 0,
        idempotency_key: str | None = None,
        trace_id: str | None = None,
        parent_id: str | None = None,
        parent_span_id: str | None = None,
        batch: bool = False,
    ) -> tuple[TaskRecord, bool]:
        """Queue a task for the workers. The same idempotency key twice returns the first task.

        A sub-task (``ctx.spawn``) names its parent task and the span it hangs from, and takes
        the parent's trace id. With ``batch`` its LLM steps go by the provider's batch API.

        Returns:
            (the task, whether this call created it).
        """
        self.validate(agent, input)
        task, created = await self.queue.submit(
            agent,
            input,
            trace_id=trace_id or new_trace_id(),
            user_id=user_id,
            session_id=session_id,
            priority=priority,
            idempotency_key=idempotency_key,
            max_attempts=self.settings.workers.max_attempts,
            parent_id=parent_id,
            parent_span_id=parent_span_id,
            batch=batch,
        )
        if created:
            self.bus.publish("task.queued", task_id=task.id, agent=agent, user_id=user_id, trace_id=task.trace_id)
            self.submitted.set()
        return task, created

    async def run(
        self, agent: str, input: Any, *, user_id: str | None = None, session_id: str | None = None
    ) -> TaskRecord:
        """Run one task now, in the caller's coroutine, outside the queue.

        Returns:
            The task record: ``succeeded``, ``failed``, or ``waiting`` (parked on an
            escalation; a worker resumes it after the decision).
        """
        self.validate(agent, input)
        now = time.time()
        owner = f"{self.owner}:inline"
        task = TaskRecord(
            uuid.uuid4().hex[:16],
            agent,
            "running",
            input,
            new_trace_id(),
            now,
            user_id,
            session_id,
            started_at=now,
            lease_owner=owner,
            lease_expires_at=now + self.settings.workers.lease_s,
            attempts=1,
        )
        await self.store.insert_task(task)
        # Held under a lease like a claimed task: if this process dies, a worker resumes it.
        beat = asyncio.get_running_loop().create_task(self._keep_lease(task.id, owner))
        try:
            return await self.execute(task, owner)
        finally:
            beat.cancel()

    async def _keep_lease(self, task_id: str, owner: str) -> None:
        lease_s = self.settings.workers.lease_s
        while True:
            await asyncio.sleep(lease_s / 3)
            ours, _ = await self.queue.heartbeat(task_id, owner, lease_s)
            if not ours:
                return

    async def execute(self, task: TaskRecord, owner: str) -> TaskRecord:
        """Run a claimed task's agent (replaying its journal) and record the outcome, fenced by ``owner``."""
        try:
            spec, value = self.validate(task.agent, task.input)
        except AgentOpsError as exc:  # submitted by a process that knows agents this one does not
            task.status, task.error_type, task.error = "failed", type(exc).__name__, str(exc)
            await self._finish(task, owner)
            return task
        replay = await self.journal.load(task.id)
        s = self.settings
        services = TaskServices(
            self._client,
            self._tracer,
            self.store,
            self.registry,
            self.journal,
            self.escalations,
            s.gate.max_repairs,
            s.runtime.tool_timeout_s,
            s.runtime.default_route,
            self.prompts,
            self.flags,
            self.budgets,
            self.router,
            self.submit,
            self.guards,
            self.batches if s.batch.enabled else None,
            s.batch,
        )
        span = self._tracer.start(
            f"task {task.agent}",
            "task",
            trace_id=task.trace_id,
            parent_id=task.parent_span_id,  # a sub-task's trace hangs from its parent's spawn
            task_id=task.id,
            attrs={
                "agentops.parent_task": task.parent_id,
                "agentops.agent": task.agent,
                "enduser.id": task.user_id,
                "session.id": task.session_id,
                "agentops.attempt": task.attempts,
                "agentops.resumed": bool(replay),
            },
        )
        ctx = Context(
            task.id,
            task.trace_id,
            spec,
            task.user_id,
            task.session_id,
            span,
            spec.max_steps or s.runtime.max_steps,
            services,
            replay,
            batch=bool(task.batch),
        )
        ctx.untrusted.extend(("input", text) for text in untrusted_strings(task.input, SCREENED_CHARS))
        self.bus.publish(
            "task.started",
            task_id=task.id,
            agent=task.agent,
            user_id=task.user_id,
            trace_id=task.trace_id,
            resumed=bool(replay),
        )
        parked: TaskParked | WaitingForSubtasks | WaitingForBatch | None = None
        with bound_task(task.id, task.trace_id):
            try:
                result = await spec.fn(ctx, value)
                task.output = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
                task.status, task.error_type, task.error = "succeeded", None, None
            except (TaskParked, WaitingForSubtasks, WaitingForBatch) as signal:
                parked = signal
                task.status = "waiting"
            except AgentOpsError as exc:
                task.status, task.error_type, task.error = "failed", type(exc).__name__, str(exc)
                log.warning("task failed", error_type=task.error_type, error=task.error)
            except asyncio.CancelledError:
                if task.id not in self.cancel_requested:
                    self._tracer.end(span, "error", "interrupted")
                    raise  # shutdown or a lost lease: the task stays claimed and its lease expires
                self.cancel_requested.discard(task.id)
                current = asyncio.current_task()
                if current is not None:
                    current.uncancel()
                task.status, task.error_type, task.error = "cancelled", "Cancelled", "cancelled by an operator"
            except Exception as exc:
                task.status, task.error_type, task.error = "failed", type(exc).__name__, str(exc)
                log.exception("agent raised")
            t = ctx.totals
            task.steps, task.input_tokens, task.output_tokens = t.steps, t.input_tokens, t.output_tokens
            task.cached_tokens, task.cost_usd, task.prompts = t.cached_tokens, t.cost_usd, list(t.prompts)
            await asyncio.shield(self._settle(task, owner, parked, span))
        return task

    async def _settle(
        self, task: TaskRecord, owner: str, parked: TaskParked | WaitingForSubtasks | WaitingForBatch | None, span: Any
    ) -> None:
        attrs = {"agentops.steps": task.steps, "agentops.cost_usd": task.cost_usd}
        if isinstance(parked, WaitingForBatch):
            self._tracer.end(span, "ok", attrs={**attrs, "agentops.waiting_on": f"batch {parked.request_id}"})
            status = await self.batches.park(task, owner, parked.request_id)
            if status == "queued":  # answered meanwhile: run again now
                self.submitted.set()
            if self.batch_added is not None:
                self.batch_added.set()
            self.bus.publish("task.waiting", task_id=task.id, agent=task.agent, batch_request=parked.request_id)
            return
        if isinstance(parked, WaitingForSubtasks):
            self._tracer.end(span, "ok", attrs={**attrs, "agentops.waiting_on": parked.task_ids})
            status = await self.queue.park_for_subtasks(task, owner)
            if status == "queued":  # they had all ended meanwhile: run again now
                self.submitted.set()
            self.bus.publish("task.waiting", task_id=task.id, agent=task.agent, subtasks=parked.task_ids)
            return
        if parked is not None:
            e = parked.escalation
            self._tracer.end(span, "ok", attrs={**attrs, "agentops.waiting_on": e.id})
            await self.queue.park(task, owner)
            self.bus.publish(
                "escalation.opened",
                escalation_id=e.id,
                task_id=task.id,
                agent=task.agent,
                reason=e.reason,
                tool=e.tool,
                deadline=e.deadline,
            )
            self.bus.publish("task.waiting", task_id=task.id, agent=task.agent, escalation_id=e.id)
            return
        self._tracer.end(span, "ok" if task.status == "succeeded" else "error", task.error, attrs=attrs)
        await self._finish(task, owner)

    async def _finish(self, task: TaskRecord, owner: str) -> None:
        """Record the final status (fenced by the lease) and announce it."""
        task.finished_at = time.time()
        if not await self.queue.finish(task, owner):
            log.warning("lease lost before the task finished; its result is discarded", task_id=task.id)
            return
        if task.parent_id is not None:
            self.submitted.set()  # its parent may be queued again (the last of its sub-tasks ended)
        self.bus.publish(
            "task.finished",
            task_id=task.id,
            agent=task.agent,
            status=task.status,
            cost_usd=task.cost_usd,
            steps=task.steps,
            error_type=task.error_type,
        )
