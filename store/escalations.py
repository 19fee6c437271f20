"""Escalations: a row per decision a task waits for, decided once, audited.

A decision is one transaction: the escalation row changes from ``pending`` only if it
still is (so a second decision is refused), the audit log gets a row, and the waiting
task goes back to the queue. It works the same from the runtime's process, the CLI in
another process, or the control API.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from typing import Any

from agentops.store.queue import audit
from agentops.store.queue import cursor as _cursor
from agentops.store.records import AuditRecord, EscalationRecord
from agentops.store.store import Store

__all__ = ["AlreadyDecidedError", "EscalationStore", "NoSuchEscalationError"]


class NoSuchEscalationError(LookupError):
    """No escalation has that id (or the prefix is not unique)."""


class AlreadyDecidedError(RuntimeError):
    """The escalation was decided before; the first decision stands."""

    def __init__(self, record: EscalationRecord) -> None:
        if record.status == "cancelled":
            message = f"escalation {record.id} was withdrawn: its task {record.task_id} was cancelled"
        else:
            message = (
                f"escalation {record.id} was already decided: {record.decision} by {record.decided_by}"
                f" via {record.decided_via} at {time.strftime('%H:%M:%S', time.localtime(record.decided_at or 0))}"
            )
        super().__init__(message)
        self.record = record


def _escalation(r: sqlite3.Row) -> EscalationRecord:
    d = dict(r)
    for key in ("context", "proposed", "decided_args"):
        d[key] = json.loads(d[key]) if d[key] is not None else None
    return EscalationRecord(**d)


class EscalationStore:
    """Escalation rows and the audit log over a :class:`~agentops.store.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def open(
        self,
        *,
        task_id: str,
        seq: int,
        agent: str,
        reason: str,
        context: Any,
        proposed: Any,
        tool: str | None,
        default_action: str,
        timeout_s: float | None,
    ) -> EscalationRecord:
        """Create the escalation for (task, step), or return the one that exists."""
        now = time.time()
        new_id = "e-" + uuid.uuid4().hex[:10]

        def tx(conn: sqlite3.Connection) -> EscalationRecord:
            conn.execute(
                "INSERT OR IGNORE INTO escalations (id, task_id, seq, agent, reason, context, proposed, tool, status,"
                " default_action, created_at, deadline) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
                (
                    new_id,
                    task_id,
                    seq,
                    agent,
                    self.store.clean(reason),
                    self.store.dumps(context),
                    self.store.dumps(proposed),
                    tool,
                    default_action,
                    now,
                    now + timeout_s if timeout_s else None,
                ),
            )
            with _cursor(conn, "SELECT * FROM escalations WHERE task_id = ? AND seq = ?", (task_id, seq)) as cur:
                row = cur.fetchone()
            assert row is not None
            return _escalation(row)

        return await self.store.writer.transact(tx)

    async def for_step(self, task_id: str, seq: int) -> EscalationRecord | None:
        """The escalation of one step of a task, if any."""
        rows = await self.store._all("SELECT * FROM escalations WHERE task_id = ? AND seq = ?", (task_id, seq))
        return _escalation(rows[0]) if rows else None

    async def get(self, escalation_id: str) -> EscalationRecord:
        """An escalation by id or unique id prefix."""
        rows = await self.store._all(
            "SELECT * FROM escalations WHERE id = ? OR id LIKE ? LIMIT 2", (escalation_id, escalation_id + "%")
        )
        exact = [r for r in rows if r["id"] == escalation_id]
        if exact or len(rows) == 1:
            return _escalation((exact or rows)[0])
        raise NoSuchEscalationError(
            f"no escalation {escalation_id!r}" + (" (the prefix is not unique)" if rows else "")
        )

    async def find(self, *, status: str | None = "pending", limit: int = 200) -> list[EscalationRecord]:
        """Escalations, oldest first (``status=None``: all, newest first)."""
        if status is None:
            rows = await self.store._all("SELECT * FROM escalations ORDER BY created_at DESC LIMIT ?", (limit,))
        else:
            rows = await self.store._all(
                "SELECT * FROM escalations WHERE status = ? ORDER BY created_at LIMIT ?", (status, limit)
            )
        return [_escalation(r) for r in rows]

    async def decide(
        self, escalation_id: str, decision: str, *, actor: str, via: str, args: Any = None, comment: str | None = None
    ) -> EscalationRecord:
        """Write a decision once, audit it, and requeue the waiting task.

        Raises:
            NoSuchEscalationError: unknown id.
            AlreadyDecidedError: a decision was written before.
        """
        current = await self.get(escalation_id)
        now = time.time()

        def tx(conn: sqlite3.Connection) -> EscalationRecord:
            with _cursor(
                conn,
                "UPDATE escalations SET status = 'decided', decision = ?, decided_args = ?, comment = ?,"
                " decided_by = ?, decided_via = ?, decided_at = ? WHERE id = ? AND status = 'pending' RETURNING *",
                (decision, self.store.dumps(args), self.store.clean(comment), actor, via, now, current.id),
            ) as cur:
                row = cur.fetchone()
            if row is None:
                with _cursor(conn, "SELECT * FROM escalations WHERE id = ?", (current.id,)) as cur:
                    existing = cur.fetchone()
                assert existing is not None
                raise AlreadyDecidedError(_escalation(existing))
            conn.execute(
                "UPDATE tasks SET status = 'queued', available_at = ? WHERE id = ? AND status = 'waiting'",
                (now, current.task_id),
            )
            audit(
                conn,
                actor,
                via,
                f"escalation.{decision}",
                current.id,
                {"task_id": current.task_id, "args": args, "comment": comment}
                if self.store.redact is None
                else self.store.redact({"task_id": current.task_id, "args": args, "comment": comment}),
            )
            return _escalation(row)

        return await self.store.writer.transact(tx)

    async def overdue(self, now: float | None = None) -> list[EscalationRecord]:
        """Pending escalations past their deadline."""
        rows = await self.store._all(
            "SELECT * FROM escalations WHERE status = 'pending' AND deadline IS NOT NULL AND deadline <= ?",
            (now if now is not None else time.time(),),
        )
        return [_escalation(r) for r in rows]

    async def audit_log(self, *, limit: int = 200) -> list[AuditRecord]:
        """Recent operator actions, newest first."""
        rows = await self.store._all(
            "SELECT at, actor, via, action, target, details FROM audit_log ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [AuditRecord(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]

    async def record_action(self, actor: str, via: str, action: str, target: str, details: dict[str, Any]) -> None:
        """Audit an operator action that changes nothing in the store itself."""

        def tx(conn: sqlite3.Connection) -> None:
            audit(conn, actor, via, action, target, details)

        await self.store.writer.transact(tx)
