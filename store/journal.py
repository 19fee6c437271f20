"""The step journal: each step's result, under (task id, step sequence).

A task that runs again (after a crash, or after an approval) re-runs its agent
function; each step finds its recorded result here and returns it instead of running.
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from agentops.store.records import JournalEntry
from agentops.store.store import Store

__all__ = ["Journal"]


class Journal:
    """Journal reads and writes over a :class:`~agentops.store.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def record(self, task_id: str, seq: int, kind: str, name: str, status: str, result: Any = None) -> None:
        """Write (or overwrite) one step's entry; durable when this returns."""
        await self.store.writer.write(
            (
                "INSERT OR REPLACE INTO journal (task_id, seq, kind, name, status, result, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (task_id, seq, kind, name, status, self.store.dumps(result), time.time()),
            )
        )

    async def load(self, task_id: str) -> dict[int, JournalEntry]:
        """Every entry of a task by sequence number."""
        rows = await self.store._all("SELECT * FROM journal WHERE task_id = ? ORDER BY seq", (task_id,))
        return {
            r["seq"]: JournalEntry(
                r["task_id"],
                r["seq"],
                r["kind"],
                r["name"],
                r["status"],
                json.loads(r["result"]) if r["result"] is not None else None,
                r["created_at"],
            )
            for r in rows
        }

    async def compact(self, finished_before: float) -> int:
        """Delete the journals of tasks that finished before a time. Returns rows deleted."""
        deleted = 0

        def tx(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "DELETE FROM journal WHERE task_id IN (SELECT id FROM tasks WHERE finished_at IS NOT NULL"
                " AND finished_at < ? AND status IN ('succeeded', 'failed', 'cancelled', 'dead'))",
                (finished_before,),
            )
            return int(cur.rowcount)

        deleted = await self.store.writer.transact(tx)
        return deleted
