"""An in-process worker pool: a bounded queue of task submissions and N workers.

Each worker takes a submission off the queue and runs it to its end with
:meth:`Runtime.run <agentops.runtime.runtime.Runtime.run>`. Nothing here is durable:
a submission still queued when the process stops is lost. The durable queue (claims
with a lease in the store) replaces this pool behind the same small interface:
:meth:`~WorkerPool.submit`, :meth:`~WorkerPool.start`, :meth:`~WorkerPool.stop` and
:meth:`~WorkerPool.stats`.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentops.runtime.errors import AgentOpsError
from agentops.runtime.logs import get_logger

if TYPE_CHECKING:
    from agentops.runtime.runtime import Runtime

__all__ = ["Submission", "WorkerPool", "WorkerStats"]

log = get_logger("agentops.workers")


@dataclass(frozen=True)
class Submission:
    """One task waiting for a worker."""

    agent: str
    input: Any
    user_id: str | None = None
    session_id: str | None = None


@dataclass(frozen=True)
class WorkerStats:
    """A snapshot of the pool.

    Attributes:
        workers: how many workers the pool runs.
        busy: workers running a task now.
        queue_depth: submissions waiting for a worker.
        submitted: submissions accepted since start.
        rejected: submissions refused because the queue was full.
        completed: tasks that ended ``succeeded``.
        failed: tasks that ended otherwise, or were refused by the runtime (bad input).
    """

    workers: int
    busy: int
    queue_depth: int
    submitted: int
    rejected: int
    completed: int
    failed: int

    @property
    def idle(self) -> int:
        """Workers waiting for a submission."""
        return self.workers - self.busy


class WorkerPool:
    """Runs submitted tasks on ``workers`` concurrent asyncio workers.

    Args:
        runtime: a started runtime.
        workers: how many tasks run at once.
        max_queue: most submissions waiting; past it :meth:`submit` refuses.
    """

    def __init__(self, runtime: Runtime, workers: int = 8, max_queue: int = 1000) -> None:
        if workers < 1:
            raise ValueError(f"a worker pool needs at least one worker, not {workers}")
        self._runtime = runtime
        self._size = workers
        self._queue: asyncio.Queue[Submission] = asyncio.Queue(max_queue)
        self._tasks: list[asyncio.Task[None]] = []
        self._busy = 0
        self._submitted = self._rejected = self._completed = self._failed = 0

    def submit(self, agent: str, input: Any, *, user_id: str | None = None, session_id: str | None = None) -> bool:
        """Queue a task without waiting.

        Returns:
            False when the queue is full (the submission is dropped and counted).
        """
        try:
            self._queue.put_nowait(Submission(agent, input, user_id, session_id))
        except asyncio.QueueFull:
            self._rejected += 1
            return False
        self._submitted += 1
        return True

    async def start(self) -> None:
        """Start the workers (idempotent)."""
        if self._tasks:
            return
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._work(), name=f"agentops-worker-{i}") for i in range(self._size)]

    async def stop(self, *, drain_s: float = 0.0) -> None:
        """Stop the workers, first waiting up to ``drain_s`` for queued and running tasks."""
        if drain_s > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), drain_s)
        tasks, self._tasks = self._tasks, []
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def stats(self) -> WorkerStats:
        """Busy and idle workers, queue depth and totals."""
        return WorkerStats(
            self._size if self._tasks else 0,
            self._busy,
            self._queue.qsize(),
            self._submitted,
            self._rejected,
            self._completed,
            self._failed,
        )

    async def _work(self) -> None:
        while True:
            sub = await self._queue.get()
            self._busy += 1
            try:
                task = await self._runtime.run(sub.agent, sub.input, user_id=sub.user_id, session_id=sub.session_id)
            except AgentOpsError as exc:  # unknown agent, invalid input: nothing ran
                self._failed += 1
                log.warning("submission refused", agent=sub.agent, error=str(exc))
            except asyncio.CancelledError:
                raise
            except Exception:
                self._failed += 1
                log.exception("worker: task raised", agent=sub.agent)
            else:
                if task.status == "succeeded":
                    self._completed += 1
                else:
                    self._failed += 1
            finally:
                self._busy -= 1
                self._queue.task_done()
