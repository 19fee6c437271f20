"""Group commit: one writer connection, many statements per transaction.

Two kinds of write share one queue:

- :meth:`Writer.enqueue` — fire and forget (span events). Written within
  ``flush_interval`` or as soon as ``batch_max`` statements are waiting.
- :meth:`Writer.write` — durable: returns only after the transaction holding the
  statements has committed. Anything waiting goes into the same commit at once, so
  durable writes do not wait for the flush interval.

Statements of one :meth:`write` call always land in the same transaction.
:meth:`Writer.transact` runs a function inside its own ``BEGIN IMMEDIATE``
transaction on the writer connection, for reads that must be followed by writes
without another writer in between (queue claims, decisions); it returns the
function's result once committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiosqlite

__all__ = ["Statement", "Writer"]

log = logging.getLogger("agentops.store")

Statement = tuple[str, Sequence[Any]]
"""SQL text and its parameters."""

T = TypeVar("T")
Transaction = Callable[[aiosqlite.Connection], Awaitable[Any]]


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

    async def transact(self, fn: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        """Run ``fn(conn)`` in its own immediate transaction; return its result once committed.

        Statements queued before the call are committed first. If ``fn`` raises, its
        transaction is rolled back and the exception is raised here.
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
        """Run every waiting job in one transaction, each inside its own savepoint.

        A job that raises is rolled back to its savepoint alone and gets the exception;
        the others commit together (group commit for read-then-write transactions).
        """
        results: list[tuple[asyncio.Future[Any], bool, Any]] = []
        try:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                for fn, fut in jobs:
                    await self._conn.execute("SAVEPOINT job")
                    try:
                        value = await fn(self._conn)
                    except Exception as exc:  # noqa: BLE001 - handed to that job's caller
                        await self._conn.execute("ROLLBACK TO job")
                        await self._conn.execute("RELEASE job")
                        results.append((fut, False, exc))
                        continue
                    await self._conn.execute("RELEASE job")
                    results.append((fut, True, value))
                await self._conn.execute("COMMIT")
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
        except Exception as exc:  # noqa: BLE001 - the commit failed: every job fails with it
            for _, fut in jobs:
                if not fut.done():
                    fut.set_exception(exc)
            return
        self.commits += 1
        for fut, ok, value in results:
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
        await self._conn.execute("BEGIN IMMEDIATE")
        try:
            # Consecutive statements with the same SQL go to the driver in one call.
            i = 0
            while i < len(statements):
                sql = statements[i][0]
                j = i
                while j < len(statements) and statements[j][0] == sql:
                    j += 1
                if j - i == 1:
                    await self._conn.execute(sql, statements[i][1])
                else:
                    await self._conn.executemany(sql, [p for _, p in statements[i:j]])
                i = j
            await self._conn.execute("COMMIT")
        except BaseException:
            await self._conn.execute("ROLLBACK")
            raise
        self.commits += 1
        self.statements_written += len(statements)
