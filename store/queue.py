"""The durable task queue: submit, claim with a lease, heartbeat, finish, park, requeue.

Every state change is a conditional ``UPDATE`` inside one ``BEGIN IMMEDIATE``
transaction, so two workers (in one process or several sharing the file) never
claim the same task, and a worker that lost its lease cannot overwrite the task:
every write after a claim is fenced by ``lease_owner``.

Statuses: ``queued`` -> ``running`` -> ``succeeded`` | ``failed`` | ``cancelled``;
``running`` -> ``waiting`` (parked on an escalation, holds no worker) -> ``queued``;
an expired lease puts a task back to ``queued``, or to ``dead`` after
``max_attempts`` claims.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
import uuid
from collections.abc import Sequence
from typing import Any

from agentops.store.records import TaskRecord
from agentops.store.store import Store, _task

__all__ = ["FINAL_STATUSES", "TaskQueue", "audit", "cursor"]

FINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled", "dead"})


class TaskQueue:
    """Queue operations over a :class:`~agentops.store.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def submit(
        self,
        agent: str,
        input: Any,
        *,
        trace_id: str,
        user_id: str | None = None,
        session_id: str | None = None,
        priority: int = 0,
        idempotency_key: str | None = None,
        max_attempts: int = 3,
        parent_id: str | None = None,
        parent_span_id: str | None = None,
        batch: bool = False,
    ) -> tuple[TaskRecord, bool]:
        """Queue a task (a sub-task of ``parent_id``, hanging from its span ``parent_span_id``;
        ``batch``: its LLM steps go by a provider's batch API).
        With an idempotency key already used, return that task instead.

        Returns:
            (the task, True if this call created it).
        """
        task_id = uuid.uuid4().hex[:16]
        now = time.time()

        def tx(conn: sqlite3.Connection) -> tuple[TaskRecord, bool]:
            if idempotency_key is not None:
                with _cursor(conn, "SELECT * FROM tasks WHERE idempotency_key = ?", (idempotency_key,)) as cur:
                    row = cur.fetchone()
                if row is not None:
                    return _task(row), False
            conn.execute(
                "INSERT INTO tasks (id, agent, user_id, session_id, status, input, trace_id, created_at, priority,"
                " idempotency_key, max_attempts, available_at, parent_id, parent_span_id, batch)"
                " VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    task_id,
                    agent,
                    user_id,
                    session_id,
                    self.store.dumps(input),
                    trace_id,
                    now,
                    priority,
                    idempotency_key,
                    max_attempts,
                    now,
                    parent_id,
                    parent_span_id,
                    int(batch),
                ),
            )
            with _cursor(conn, "SELECT * FROM tasks WHERE id = ?", (task_id,)) as cur:
                created = cur.fetchone()
            assert created is not None
            return _task(created), True

        return await self.store.writer.transact(tx)

    async def claim(self, owner: str, lease_s: float, limit: int = 1) -> list[TaskRecord]:
        """Take up to ``limit`` queued tasks (highest priority, then oldest) under a lease."""
        now = time.time()

        def tx(conn: sqlite3.Connection) -> list[TaskRecord]:
            with _cursor(
                conn,
                "UPDATE tasks SET status = 'running', lease_owner = ?, lease_expires_at = ?, awaiting_subtasks = 0,"
                " attempts = attempts + 1, started_at = COALESCE(started_at, ?)"
                " WHERE id IN (SELECT id FROM tasks WHERE status = 'queued' AND available_at <= ?"
                " ORDER BY priority DESC, created_at LIMIT ?) AND status = 'queued' RETURNING *",
                (owner, now + lease_s, now, now, limit),
            ) as cur:
                claimed = [_task(r) for r in cur.fetchall()]
            # RETURNING order is unspecified: hand tasks out in queue order.
            return sorted(claimed, key=lambda t: (-t.priority, t.created_at))

        return await self.store.writer.transact(tx)

    async def heartbeat(self, task_id: str, owner: str, lease_s: float) -> tuple[bool, bool]:
        """Extend a lease. Returns (still ours, cancel requested)."""

        def tx(conn: sqlite3.Connection) -> tuple[bool, bool]:
            with _cursor(
                conn,
                "UPDATE tasks SET lease_expires_at = ? WHERE id = ? AND lease_owner = ? AND status = 'running'"
                " RETURNING cancel_requested",
                (time.time() + lease_s, task_id, owner),
            ) as cur:
                row = cur.fetchone()
            return (row is not None, bool(row[0]) if row is not None else False)

        return await self.store.writer.transact(tx)

    async def finish(self, task: TaskRecord, owner: str) -> bool:
        """Record a final status, fenced by the lease. False if the lease was lost."""

        def tx(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "UPDATE tasks SET status = ?, output = ?, error_type = ?, error = ?, steps = ?, input_tokens = ?,"
                " output_tokens = ?, cached_tokens = ?, cost_usd = ?, prompts = ?, finished_at = ?, lease_owner = NULL,"
                " lease_expires_at = NULL WHERE id = ? AND lease_owner = ? AND status = 'running'",
                (
                    task.status,
                    self.store.dumps(task.output),
                    task.error_type,
                    self.store.clean(task.error),
                    task.steps,
                    task.input_tokens,
                    task.output_tokens,
                    task.cached_tokens,
                    task.cost_usd,
                    json.dumps(task.prompts),
                    task.finished_at,
                    task.id,
                    owner,
                ),
            )
            if cur.rowcount == 1:
                _wake_parent(conn, task.id)
            return cur.rowcount == 1

        return await self.store.writer.transact(tx)

    async def park_for_subtasks(self, task: TaskRecord, owner: str) -> str:
        """Park a running task until its sub-tasks end (``ctx.gather``): ``waiting``, or ``queued``
        at once when they all ended already (the check and the park are one transaction, so the
        last sub-task's end cannot slip between them). Returns the new status, or ``lost``."""

        def tx(conn: sqlite3.Connection) -> str:
            with _cursor(
                conn,
                "UPDATE tasks SET status = CASE WHEN EXISTS (SELECT 1 FROM tasks c WHERE c.parent_id = tasks.id"
                " AND c.finished_at IS NULL) THEN 'waiting' ELSE 'queued' END,"
                " awaiting_subtasks = 1, available_at = ?, lease_owner = NULL, lease_expires_at = NULL,"
                " steps = ?, input_tokens = ?, output_tokens = ?, cached_tokens = ?, cost_usd = ?, prompts = ?"
                " WHERE id = ? AND lease_owner = ? AND status = 'running' RETURNING status",
                (
                    time.time(),
                    task.steps,
                    task.input_tokens,
                    task.output_tokens,
                    task.cached_tokens,
                    task.cost_usd,
                    json.dumps(task.prompts),
                    task.id,
                    owner,
                ),
            ) as cur:
                row = cur.fetchone()
            return str(row[0]) if row else "lost"

        return await self.store.writer.transact(tx)

    async def park(self, task: TaskRecord, owner: str) -> bool:
        """Move a running task to ``waiting`` and release its lease (it holds no worker)."""

        def tx(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "UPDATE tasks SET status = 'waiting', lease_owner = NULL, lease_expires_at = NULL, steps = ?,"
                " input_tokens = ?, output_tokens = ?, cached_tokens = ?, cost_usd = ?, prompts = ?"
                " WHERE id = ? AND lease_owner = ? AND status = 'running'",
                (
                    task.steps,
                    task.input_tokens,
                    task.output_tokens,
                    task.cached_tokens,
                    task.cost_usd,
                    json.dumps(task.prompts),
                    task.id,
                    owner,
                ),
            )
            return cur.rowcount == 1

        return await self.store.writer.transact(tx)

    async def release(self, task_id: str, owner: str, *, error: str, delay_s: float = 0.0) -> str:
        """Give a claimed task back after an unexpected failure: ``queued`` again, or ``dead``.

        Returns:
            The task's new status.
        """

        def tx(conn: sqlite3.Connection) -> str:
            with _cursor(
                conn,
                "UPDATE tasks SET status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END,"
                " error = ?, error_type = 'AttemptFailed', lease_owner = NULL, lease_expires_at = NULL,"
                " available_at = ?, finished_at = CASE WHEN attempts >= max_attempts THEN ? END"
                " WHERE id = ? AND lease_owner = ? RETURNING status",
                (self.store.clean(error), time.time() + delay_s, time.time(), task_id, owner),
            ) as cur:
                row = cur.fetchone()
            if row is not None and row[0] == "dead":
                _wake_parent(conn, task_id)
            return str(row[0]) if row else "lost"

        return await self.store.writer.transact(tx)

    async def hand_back(self, owner_prefix: str) -> list[str]:
        """Requeue every running task leased by owners starting with ``owner_prefix`` (this process's
        workers, stopped on purpose: a drain), at once and without counting the attempt; they resume
        from their journals. Returns their ids."""

        def tx(conn: sqlite3.Connection) -> list[str]:
            with _cursor(
                conn,
                "UPDATE tasks SET status = 'queued', attempts = MAX(attempts - 1, 0), lease_owner = NULL,"
                " lease_expires_at = NULL, available_at = ? WHERE status = 'running'"
                " AND substr(lease_owner, 1, ?) = ? RETURNING id",
                (time.time(), len(owner_prefix), owner_prefix),
            ) as cur:
                return [str(r[0]) for r in cur.fetchall()]

        return await self.store.writer.transact(tx)

    async def reap_expired(self) -> list[tuple[str, str]]:
        """Requeue tasks whose lease expired (their worker died); dead-letter those out of attempts.

        Returns:
            (task id, new status) for each task moved.
        """
        now = time.time()

        def tx(conn: sqlite3.Connection) -> list[tuple[str, str]]:
            with _cursor(
                conn,
                "UPDATE tasks SET status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END,"
                " error = CASE WHEN attempts >= max_attempts"
                "   THEN 'lease expired on attempt ' || attempts || ' of ' || max_attempts ELSE error END,"
                " error_type = CASE WHEN attempts >= max_attempts THEN 'LeaseExpired' ELSE error_type END,"
                " finished_at = CASE WHEN attempts >= max_attempts THEN ? END,"
                " lease_owner = NULL, lease_expires_at = NULL"
                " WHERE status = 'running' AND lease_expires_at < ? RETURNING id, status",
                (now, now),
            ) as cur:
                moved = [(r[0], r[1]) for r in cur.fetchall()]
            for task_id, status in moved:
                if status == "dead":
                    _wake_parent(conn, task_id)
            return moved

        return await self.store.writer.transact(tx)

    async def cancel(self, task_id: str, *, actor: str, via: str) -> str:
        """Cancel a task: at once if queued or waiting, at its next step if running.

        Returns:
            ``cancelled``, ``cancelling`` (running: the worker stops it), or the final
            status it already had. Raises KeyError for an unknown id.
        """

        def tx(conn: sqlite3.Connection) -> str:
            with _cursor(conn, "SELECT status FROM tasks WHERE id = ?", (task_id,)) as cur:
                row = cur.fetchone()
            if row is None:
                raise KeyError(task_id)
            status = str(row[0])
            if status in FINAL_STATUSES:
                return status
            if status == "running":
                conn.execute("UPDATE tasks SET cancel_requested = 1 WHERE id = ?", (task_id,))
                outcome = "cancelling"
            else:
                conn.execute(
                    "UPDATE tasks SET status = 'cancelled', error_type = 'Cancelled', error = ?, finished_at = ?"
                    " WHERE id = ?",
                    (f"cancelled by {actor}", time.time(), task_id),
                )
                conn.execute(
                    "UPDATE escalations SET status = 'cancelled' WHERE task_id = ? AND status = 'pending'", (task_id,)
                )
                _wake_parent(conn, task_id)
                outcome = "cancelled"
            audit(conn, actor, via, "cancel", task_id, {"was": status})
            return outcome

        return await self.store.writer.transact(tx)

    async def depth(self) -> dict[str, int]:
        """How many tasks are in each non-final status."""
        rows = await self.store._all(
            "SELECT status, COUNT(*) FROM tasks WHERE status IN ('queued', 'running', 'waiting') GROUP BY status"
        )
        return {r[0]: r[1] for r in rows}


def _wake_parent(conn: sqlite3.Connection, task_id: str) -> None:
    """A task ended: if its parent waits in ``ctx.gather`` and no other sub-task of it is still
    going, queue the parent (inside the caller's transaction)."""
    conn.execute(
        "UPDATE tasks SET status = 'queued', available_at = ?, awaiting_subtasks = 0"
        " WHERE id = (SELECT parent_id FROM tasks WHERE id = ?) AND status = 'waiting' AND awaiting_subtasks = 1"
        " AND NOT EXISTS (SELECT 1 FROM tasks c WHERE c.parent_id = tasks.id AND c.finished_at IS NULL)",
        (time.time(), task_id),
    )


def audit(conn: sqlite3.Connection, actor: str, via: str, action: str, target: str, details: dict[str, Any]) -> None:
    """Append one row to the audit log inside the caller's transaction."""
    conn.execute(
        "INSERT INTO audit_log (at, actor, via, action, target, details) VALUES (?, ?, ?, ?, ?, ?)",
        (time.time(), actor, via, action, target, json.dumps(details, default=str)),
    )


def _cursor(conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> contextlib.closing[sqlite3.Cursor]:
    """A cursor that is closed after the ``with`` block."""
    return contextlib.closing(conn.execute(sql, params))


cursor = _cursor
