"""``ctx.spawn`` and ``ctx.gather``: the orchestrator-workers pattern over the durable queue.

``spawn`` is a step: it submits a sub-task (any registered agent) through the queue, with an
idempotency key made of the parent's task id and step, so a parent that runs the step again
(after a crash) gets the same sub-task, never a second one. The sub-task carries the
parent's trace id and hangs from the spawn's span, so one trace shows the whole tree.

``gather`` is a step too: once every sub-task it names has ended it returns their results,
journaled; until then the parent parks (``waiting``, holding no worker) and the end of its
last running sub-task queues it again, in the same transaction (:mod:`agentops.store.queue`).
A parent resumed after a restart replays its spawns and gathers from its journal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, cast

from pydantic import BaseModel

from agentops.runtime.errors import ConfigError

if TYPE_CHECKING:
    from agentops.runtime.tasks.context import Context

__all__ = ["Subtask", "SubtaskResult", "Subtasks", "WaitingForSubtasks", "gather_subtasks", "spawn_subtask"]


@dataclass(frozen=True)
class Subtask:
    """A spawned sub-task: pass it to ``ctx.gather``."""

    task_id: str
    agent: str


@dataclass(frozen=True)
class SubtaskResult:
    """How a sub-task ended."""

    task_id: str
    agent: str
    status: str
    """``succeeded``, ``failed``, ``cancelled`` or ``dead``."""
    output: Any = None
    error_type: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether it succeeded."""
        return self.status == "succeeded"


class WaitingForSubtasks(BaseException):
    """Raised inside a task to park it until its sub-tasks end (a BaseException, so that an
    agent's ``except Exception`` cannot swallow it)."""

    def __init__(self, task_ids: Sequence[str]) -> None:
        super().__init__(f"waiting for {len(task_ids)} sub-task(s): {', '.join(task_ids)}")
        self.task_ids = list(task_ids)


async def spawn_subtask(ctx: Context, agent: str, input: Any, *, priority: int = 0) -> Subtask:
    """The body of :meth:`Context.spawn <agentops.runtime.tasks.context.Context.spawn>`."""
    entry = await ctx._next_step("spawn", agent, counts=False)
    if entry is not None:
        return Subtask(entry.result["task_id"], agent)
    submit = ctx.services.submit
    if submit is None:
        raise ConfigError("this runtime cannot queue sub-tasks (no task runner)")
    tracer = ctx.services.tracer
    span = tracer.start(
        f"spawn {agent}",
        "spawn",
        trace_id=ctx.trace_id,
        parent_id=ctx.span.span_id,
        task_id=ctx.task_id,
        attrs={"agentops.agent": agent, "agentops.step": ctx.seq},
    )
    payload = input.model_dump(mode="json") if isinstance(input, BaseModel) else input
    try:
        task, _ = await submit(
            agent,
            payload,
            user_id=ctx.user_id,
            session_id=ctx.session_id,
            priority=priority,
            idempotency_key=f"spawn:{ctx.task_id}:{ctx.seq}",
            trace_id=ctx.trace_id,
            parent_id=ctx.task_id,
            parent_span_id=span.span_id,
        )
    except BaseException as exc:
        tracer.end(span, "error", f"{type(exc).__name__}: {exc}")
        raise
    tracer.end(span, "ok", attrs={"agentops.subtask": task.id})
    await ctx._record("spawn", agent, "done", {"task_id": task.id})
    return Subtask(task.id, agent)


async def gather_subtasks(ctx: Context, subtasks: Sequence[Subtask]) -> list[SubtaskResult]:
    """The body of :meth:`Context.gather <agentops.runtime.tasks.context.Context.gather>`.

    Raises:
        WaitingForSubtasks: some have not ended yet (the task parks until they have).
    """
    name = ",".join(s.agent for s in subtasks)
    entry = await ctx._next_step("gather", name, counts=False)
    if entry is not None:
        return [SubtaskResult(**r) for r in entry.result["results"]]
    ids = [s.task_id for s in subtasks]
    records = {t.id: t for t in await ctx.services.store.get_tasks(ids)}
    missing = [i for i in ids if i not in records]
    if missing:
        raise ConfigError(f"gather: no sub-task {', '.join(missing)} (spawn them with ctx.spawn)")
    pending = [i for i in ids if records[i].finished_at is None]
    if pending:  # the task runs again once they have ended, and this step with it
        raise WaitingForSubtasks(pending)
    results = [
        SubtaskResult(t.id, t.agent, t.status, t.output, t.error_type, t.error) for t in (records[i] for i in ids)
    ]
    ctx.span.attributes["agentops.gathered"] = {r.task_id: r.status for r in results}
    await ctx._record("gather", name, "done", {"results": [asdict(r) for r in results]})
    return results


class Subtasks:
    """``ctx.spawn`` and ``ctx.gather`` (a part of :class:`Context
    <agentops.runtime.tasks.context.Context>`)."""

    async def spawn(self, agent: str, input: Any, *, priority: int = 0) -> Subtask:
        """Queue a sub-task (any registered agent) through the durable queue, once: a resumed
        task gets the same sub-task back. Its trace is this task's. Collect it with :meth:`gather`."""
        return await spawn_subtask(cast("Context", self), agent, input, priority=priority)

    async def gather(self, *subtasks: Subtask) -> list[SubtaskResult]:
        """The results of sub-tasks, in order, once they have all ended: until then this task
        waits (``waiting``, holding no worker) and is queued again when the last one ends."""
        return await gather_subtasks(cast("Context", self), subtasks)
