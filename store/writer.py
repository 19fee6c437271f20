"""Group commit: one writer connection, many statements per transaction.

Two kinds of write share one queue:

- :meth:`Writer.enqueue` — fire and forget (span events). Written within
  ``flush_interval`` or as soon as ``batch_max`` statements are waiting.
- :meth:`Writer.write` — durable: returns only after the transaction holding the
  statements has committed. Anything waiting goes into the same commit at once, so
  durable writes do not wait for the flush interval.

Statements of one :meth:`write` call always land in the same transaction.
:meth:`Writer.transact` runs a function (plain, synchronous sqlite3 code) inside the
writer's ``BEGIN IMMEDIATE`` transaction, for reads that must be followed by writes
without another writer in between (queue claims, decisions); it returns the function's
result once committed. Transactions waiting together commit together, each in its
own savepoint.

Each commit is one trip to the database thread: the whole transaction runs there as
one function (through aiosqlite's queue, pinned at 0.21.0), instead of one trip per
statement. On this machine that took the durable commit of an LLM call from about
3 ms to well under 1 ms (docs/performance.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiosqlite

__all__ = ["Statement", "Writer"]

log = logging.getLogger("agentops.store")

Statement = tuple[str, Sequence[Any]]
"""SQL text and its parameters."""

T = TypeVar("T")
Transaction = Callable[[sqlite3.Connection], Any]


@dataclass
class _Batch:
    statements: list[Statement] = field(default_factory=list)
    waiters: list[asyncio.Future[None]] = field(default_factory=list)
    jobs: list[tuple[Transaction, asyncio.Future[Any]]] = field(default_factory=list)


class Writer:
    """The single writer of a database. Create it inside a running event loop."""

    def __init__(self, conn: aiosqlite.Connection, batch_max: int = 500, flush_interval: float = 0.05) -> None:
        self._conn = conn
        self._batch_max = batch_max
        self._interval = flush_interval
        self._pending = _Batch()
        self._wake = asyncio.Event()
        self._urgent = False
        self._closed = False
        self._task = asyncio.get_running_loop().create_task(self._run(), name="agentops-store-writer")
        self.commits = 0
        self.statements_written = 0

    def enqueue(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Queue a statement; it is written in the next group commit."""
        if self._closed:
            raise RuntimeError("store writer is closed")
        self._pending.statements.append((sql, params))
        if len(self._pending.statements) >= self._batch_max:
            self._urgent = True
        self._wake.set()

    async def write(self, *statements: Statement) -> None:
        """Write statements and wait until they are committed (durable)."""
        if self._closed:
            raise RuntimeError("store writer is closed")
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.statements.extend(statements)
        self._pending.waiters.append(fut)
        self._urgent = True
        self._wake.set()
        await asyncio.shield(fut)

    async def transact(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(conn)`` on the database thread in an immediate transaction; return its result once committed.

        ``fn`` is plain sqlite3 code and must not block on anything but the database.
        Statements queued before the call are committed first. If ``fn`` raises, its
        changes are rolled back (to its savepoint) and the exception is raised here.
        """
        if self._closed:
            raise RuntimeError("store writer is closed")
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.jobs.append((fn, fut))
        self._urgent = True
        self._wake.set()
        result: T = await asyncio.shield(fut)
        return result

    async def flush(self) -> None:
        """Wait until everything queued so far is committed."""
        await self.write()

    async def close(self) -> None:
        """Write what is queued, then stop."""
        if self._closed:
            return
        await self.flush()
        self._closed = True
        self._wake.set()
        await self._task

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            if self._closed and not (self._pending.statements or self._pending.waiters or self._pending.jobs):
                return
            if not self._urgent:
                # Let more span events gather, unless a durable write arrives.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wait_urgent(), self._interval)
            batch, self._pending = self._pending, _Batch()
            self._wake.clear()
            self._urgent = False
            error: Exception | None = None
            try:
                await self._commit(batch.statements)
            except Exception as exc:  # noqa: BLE001 - reported to every waiter, writer keeps going
                log.error("store write failed (%d statements): %s", len(batch.statements), exc)
                error = exc
            for fut in batch.waiters:
                if fut.done():
                    continue
                if error is None:
                    fut.set_result(None)
                else:
                    fut.set_exception(error)
            if batch.jobs:
                await self._run_jobs(batch.jobs)

    async def _run_jobs(self, jobs: list[tuple[Transaction, asyncio.Future[Any]]]) -> None:
        """Run every waiting job in one transaction on the database thread."""
        try:
            results = await self._in_thread(_run_jobs, [fn for fn, _ in jobs])
        except Exception as exc:  # noqa: BLE001 - the commit failed: every job fails with it
            for _, fut in jobs:
                if not fut.done():
                    fut.set_exception(exc)
            return
        self.commits += 1
        for (_, fut), (ok, value) in zip(jobs, results, strict=True):
            if fut.done():
                continue
            if ok:
                fut.set_result(value)
            else:
                fut.set_exception(value)

    async def _wait_urgent(self) -> None:
        while not self._urgent:
            self._wake.clear()
            await self._wake.wait()

    async def _commit(self, statements: list[Statement]) -> None:
        if not statements:
            return
        await self._in_thread(_commit, statements)
        self.commits += 1
        self.statements_written += len(statements)

    async def _in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        # aiosqlite's own queue to its thread: the function runs with the sqlite3
        # connection, between the statements any other coroutine sends it.
        raw = self._conn._conn
        result: T = await self._conn._execute(fn, raw, *args)  # type: ignore[no-untyped-call]
        return result


def _commit(conn: sqlite3.Connection, statements: list[Statement]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Consecutive statements with the same SQL go to the driver in one call.
        i = 0
        while i < len(statements):
            sql = statements[i][0]
            j = i
            while j < len(statements) and statements[j][0] == sql:
                j += 1
            if j - i == 1:
                conn.execute(sql, statements[i][1])
            else:
                conn.executemany(sql, [p for _, p in statements[i:j]])
            i = j
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _run_jobs(conn: sqlite3.Connection, jobs: list[Transaction]) -> list[tuple[bool, Any]]:
    """Each job in its own savepoint; a job that raises is rolled back alone."""
    results: list[tuple[bool, Any]] = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        for fn in jobs:
            conn.execute("SAVEPOINT job")
            try:
                value = fn(conn)
            except Exception as exc:  # noqa: BLE001 - handed to that job's caller
                conn.execute("ROLLBACK TO job")
                conn.execute("RELEASE job")
                results.append((False, exc))
                continue
            conn.execute("RELEASE job")
            results.append((True, value))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return results
