"""Workers over the durable queue: claim with a lease, heartbeat, run, repeat.

``concurrency`` workers each claim one task at a time. A running task's lease is
extended every third of its length; if the heartbeat finds the lease gone (another
process reaped it) the run is abandoned, and if an operator asked to cancel, the run
stops at once and the task is recorded as cancelled. A maintenance loop, every
``poll_s``: requeues tasks whose lease expired (their process died), applies the
default decision to escalations past their deadline, compacts old journals, and
wakes the workers when another process (the CLI, say) made work ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from agentops.runtime.logs import get_logger
from agentops.runtime.tasks.escalation import Decision
from agentops.runtime.tasks.runner import TaskRunner
from agentops.store import AlreadyDecidedError, TaskRecord

__all__ = ["PoolStats", "WorkerPool"]

log = get_logger("agentops.workers")


@dataclass(frozen=True)
class PoolStats:
    """What the workers are doing."""

    workers: int
    busy: int
    queued: int
    waiting: int
    completed: int
    failed: int

    @property
    def idle(self) -> int:
        """Workers with nothing to do."""
        return self.workers - self.busy


class WorkerPool:
    """The durable queue's workers in this process."""

    def __init__(
        self,
        tasks: TaskRunner,
        *,
        concurrency: int = 4,
        lease_s: float = 30.0,
        poll_s: float = 0.5,
        journal_retention_s: float = 7 * 86400.0,
    ) -> None:
        self.tasks = tasks
        self.concurrency = concurrency
        self.lease_s = lease_s
        self.poll_s = poll_s
        self.journal_retention_s = journal_retention_s
        self._running: dict[str, asyncio.Task[TaskRecord]] = {}
        self._loops: list[asyncio.Task[None]] = []
        self._claiming = True
        self._depth: dict[str, int] = {}
        self.completed = 0
        self.failed = 0
        self._last_compaction = 0.0

    async def start(self) -> None:
        """Start the workers and the maintenance loop."""
        loop = asyncio.get_running_loop()
        self._claiming = True
        self._loops = [loop.create_task(self._work(i), name=f"agentops-worker-{i}") for i in range(self.concurrency)]
        self._loops.append(loop.create_task(self._maintain(), name="agentops-queue-maintenance"))

    async def stop(self, grace_s: float = 10.0) -> int:
        """Drain: stop claiming, let running tasks finish for up to ``grace_s``, then interrupt the rest.

        An interrupted task is handed back to the queue at once (its attempt not counted), so
        a worker here after a restart, or in another process, resumes it from its journal.
        A task whose hand-back fails (the store is gone) is requeued when its lease expires.

        Returns:
            How many tasks were interrupted.
        """
        self._claiming = False
        self.tasks.submitted.set()
        if self._running:
            await asyncio.wait(list(self._running.values()), timeout=grace_s)
        for loop_task in self._loops:
            loop_task.cancel()
        for run in self._running.values():
            run.cancel()
        await asyncio.gather(*self._loops, *self._running.values(), return_exceptions=True)
        self._loops.clear()
        # By owner, not by what this object saw: a claim whose commit was in flight when its
        # worker was cancelled (the writer finishes it) is handed back too.
        try:
            handed = await self.tasks.queue.hand_back(f"{self.tasks.owner}:w")
        except Exception as exc:  # noqa: BLE001 - the leases expire instead
            log.warning("could not hand tasks back; they are requeued when their leases expire", error=str(exc))
            return 0
        for task_id in handed:
            self.tasks.bus.publish("task.requeued", task_id=task_id, status="queued", reason="drain")
        if handed:
            log.warning("drain interrupted running tasks; they were requeued", tasks=len(handed))
        return len(handed)

    def stats(self) -> PoolStats:
        """Busy workers, queue depth (as of the last poll) and totals."""
        return PoolStats(
            self.concurrency,
            len(self._running),
            self._depth.get("queued", 0),
            self._depth.get("waiting", 0),
            self.completed,
            self.failed,
        )

    def cancel(self, task_id: str) -> bool:
        """Stop a task running here now (an operator asked). False if it is not running here."""
        run = self._running.get(task_id)
        if run is None:
            return False
        self.tasks.cancel_requested.add(task_id)
        run.cancel()
        return True

    async def _work(self, index: int) -> None:
        owner = f"{self.tasks.owner}:w{index}"
        while self._claiming:
            claimed = await self.tasks.queue.claim(owner, self.lease_s)
            if not claimed:
                self.tasks.submitted.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.tasks.submitted.wait(), self.poll_s)
                continue
            task = claimed[0]
            run = asyncio.get_running_loop().create_task(self.tasks.execute(task, owner), name=f"task-{task.id}")
            self._running[task.id] = run
            beat = asyncio.get_running_loop().create_task(self._heartbeat(task.id, owner))
            try:
                done = await asyncio.shield(run)
                self._running.pop(task.id, None)  # not busy any more before it counts as done
                if done.status == "failed":
                    self.failed += 1
                elif done.status in ("succeeded", "cancelled"):
                    self.completed += 1
            except asyncio.CancelledError:
                if not run.done():
                    raise
            except Exception as exc:  # noqa: BLE001 - the store failed under us: give the task back
                log.error("task run failed", task_id=task.id, error=str(exc))
                with contextlib.suppress(Exception):
                    await self.tasks.queue.release(task.id, owner, error=str(exc), delay_s=1.0)
            finally:
                beat.cancel()
                self._running.pop(task.id, None)

    async def _heartbeat(self, task_id: str, owner: str) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            try:
                ours, cancel = await self.tasks.queue.heartbeat(task_id, owner, self.lease_s)
            except Exception as exc:  # noqa: BLE001 - try again at the next beat
                log.warning("heartbeat failed", task_id=task_id, error=str(exc))
                continue
            if not ours:
                log.warning("lease lost; abandoning the run", task_id=task_id)
                run = self._running.get(task_id)
                if run is not None:
                    run.cancel()
                return
            if cancel:
                self.cancel(task_id)
                return

    async def _maintain(self) -> None:
        while True:
            try:
                await self._maintain_once()
            except Exception as exc:  # noqa: BLE001 - keep maintaining
                log.error("queue maintenance failed", error=str(exc))
            await asyncio.sleep(self.poll_s)

    async def _maintain_once(self) -> None:
        tasks = self.tasks
        for task_id, status in await tasks.queue.reap_expired():
            tasks.bus.publish("task.requeued" if status == "queued" else "task.dead", task_id=task_id, status=status)
        for esc in await tasks.escalations.overdue():
            try:
                decided = await tasks.escalations.decide(
                    esc.id,
                    esc.default_action,
                    actor="timeout",
                    via="runtime",
                    comment=f"no decision within the deadline; default {esc.default_action} applied",
                )
            except AlreadyDecidedError:
                continue
            tasks.bus.publish(
                "escalation.decided", escalation_id=esc.id, task_id=esc.task_id, **Decision.of(decided).to_json()
            )
        running_here = set(self._running)
        for task_id in list(tasks.cancel_requested - running_here):
            tasks.cancel_requested.discard(task_id)
        self._depth = await tasks.queue.depth()
        if self._depth.get("queued", 0):
            tasks.submitted.set()
        now = time.time()
        if now - self._last_compaction > 3600:
            self._last_compaction = now
            await tasks.journal.compact(now - self.journal_retention_s)
