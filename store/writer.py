"""Group commit: one writer thread with its own connection, many statements per transaction.

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

The writer is a thread of its own that owns its sqlite3 connection. A durable write
is one round trip: the coroutine hands its statements to the thread (a lock and a
condition, no task of the event loop in between), the thread commits the whole
group, and one ``call_soon_threadsafe`` settles every waiter of the group. The event
loop never touches the database file. Readers keep their own connections.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

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

    def __bool__(self) -> bool:
        return bool(self.statements or self.waiters or self.jobs)


@dataclass
class _Outcome:
    """What the thread did with one batch, handed back to the event loop."""

    error: BaseException | None = None
    """Why the statements' commit failed (every waiter of the batch gets it)."""
    jobs_error: BaseException | None = None
    """Why the jobs' transaction failed as a whole (every job gets it)."""
    results: list[tuple[bool, Any]] = field(default_factory=list)


class Writer:
    """The single writer of a database: a thread owning one sqlite3 connection.

    Open it with :meth:`open` inside a running event loop and use it from that loop;
    :meth:`close` writes what is queued and stops the thread.
    """

    def __init__(
        self, connect: Callable[[], sqlite3.Connection], batch_max: int = 500, flush_interval: float = 0.05
    ) -> None:
        self._connect = connect
        self._batch_max = batch_max
        self._interval = flush_interval
        self._loop = asyncio.get_running_loop()
        self._cond = threading.Condition(threading.Lock())
        self._pending = _Batch()  # guarded by _cond
        self._urgent = False  # guarded by _cond
        self._closed = False
        self._ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._stopped: concurrent.futures.Future[None] = concurrent.futures.Future()
        self.commits = 0
        self.statements_written = 0
        self._thread = threading.Thread(target=self._run, name="agentops-store-writer", daemon=True)
        self._thread.start()

    @classmethod
    async def open(
        cls, connect: Callable[[], sqlite3.Connection], batch_max: int = 500, flush_interval: float = 0.05
    ) -> Writer:
        """Start the writer thread; ``connect`` runs on it and opens its connection.

        Raises:
            sqlite3.Error: the connection could not be opened (the thread has stopped).
        """
        writer = cls(connect, batch_max, flush_interval)
        await asyncio.wrap_future(writer._ready)
        return writer

    def enqueue(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Queue a statement; it is written in the next group commit."""
        if self._closed:
            raise RuntimeError("store writer is closed")
        with self._cond:
            pending = self._pending
            first = not pending
            pending.statements.append((sql, params))
            if len(pending.statements) >= self._batch_max and not self._urgent:
                self._urgent = True
                self._cond.notify()
            elif first:
                self._cond.notify()  # starts the flush interval

    async def write(self, *statements: Statement) -> None:
        """Write statements and wait until they are committed (durable)."""
        if self._closed:
            raise RuntimeError("store writer is closed")
        fut: asyncio.Future[None] = self._loop.create_future()
        with self._cond:
            self._pending.statements.extend(statements)
            self._pending.waiters.append(fut)
            self._urgent = True
            self._cond.notify()
        # Cancelling the caller does not take the statements back: they are committed anyway.
        await fut

    async def transact(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(conn)`` on the writer thread in an immediate transaction; return its result once committed.

        ``fn`` is plain sqlite3 code and must not block on anything but the database.
        Statements queued before the call are committed first. If ``fn`` raises, its
        changes are rolled back (to its savepoint) and the exception is raised here.
        """
        if self._closed:
            raise RuntimeError("store writer is closed")
        fut: asyncio.Future[Any] = self._loop.create_future()
        with self._cond:
            self._pending.jobs.append((fn, fut))
            self._urgent = True
            self._cond.notify()
        result: T = await fut
        return result

    async def flush(self) -> None:
        """Wait until everything queued so far is committed."""
        await self.write()

    async def close(self) -> None:
        """Write what is queued, then stop the thread and close its connection."""
        if self._closed:
            return
        await self.flush()
        with self._cond:
            self._closed = True
            self._cond.notify()
        await asyncio.wrap_future(self._stopped)

    # -- the writer thread ----------------------------------------------------------------

    def _run(self) -> None:
        try:
            conn = self._connect()
        except BaseException as exc:  # noqa: BLE001 - raised by open() on the loop
            self._closed = True
            self._ready.set_exception(exc)
            self._stopped.set_result(None)
            return
        self._ready.set_result(None)
        try:
            while (batch := self._next_batch()) is not None:
                self._write(conn, batch)
        finally:
            conn.close()
            with self._cond:
                # Stopped by something unexpected: nothing queued may wait for ever.
                self._closed = True
                left, self._pending = self._pending, _Batch()
            if left:
                stopped = RuntimeError("store writer stopped")
                self._hand_back(left, _Outcome(stopped, stopped))
            self._stopped.set_result(None)

    def _next_batch(self) -> _Batch | None:
        """Wait for work: at once for a durable write or a job, else up to the flush interval."""
        with self._cond:
            while not self._pending and not self._closed:
                self._cond.wait()
            if not self._pending:
                return None  # closed, and nothing left
            if not self._urgent and not self._closed:
                # Let more span events gather, unless a durable write arrives.
                deadline = time.monotonic() + self._interval
                while not self._urgent and not self._closed:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
            batch, self._pending = self._pending, _Batch()
            self._urgent = False
            return batch

    def _write(self, conn: sqlite3.Connection, batch: _Batch) -> None:
        outcome = _Outcome()
        finished = False
        try:
            if batch.statements:
                try:
                    _commit(conn, batch.statements)
                except Exception as exc:  # noqa: BLE001 - reported to every waiter, writer keeps going
                    log.error("store write failed (%d statements): %s", len(batch.statements), exc)
                    outcome.error = exc
                else:
                    self.commits += 1
                    self.statements_written += len(batch.statements)
            if batch.jobs:
                try:
                    outcome.results = _run_jobs(conn, [fn for fn, _ in batch.jobs])
                except Exception as exc:  # noqa: BLE001 - the commit failed: every job fails with it
                    outcome.jobs_error = exc
                else:
                    self.commits += 1
            finished = True
        finally:
            if not finished:  # something unexpected: no waiter may be told its rows are written
                stopped = RuntimeError("store writer stopped")
                outcome.error = outcome.error or stopped
                outcome.jobs_error = outcome.jobs_error or stopped
            # One wake-up of the loop settles the whole batch.
            self._hand_back(batch, outcome)

    def _hand_back(self, batch: _Batch, outcome: _Outcome) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting any more
            self._loop.call_soon_threadsafe(_settle, batch, outcome)


def _settle(batch: _Batch, outcome: _Outcome) -> None:
    """On the event loop: every waiter and job of one batch gets its outcome."""
    for fut in batch.waiters:
        if fut.done():
            continue
        if outcome.error is None:
            fut.set_result(None)
        else:
            fut.set_exception(outcome.error)
    for i, (_, job) in enumerate(batch.jobs):
        if job.done():
            continue
        if outcome.jobs_error is not None:
            job.set_exception(outcome.jobs_error)
            continue
        ok, value = outcome.results[i]
        if ok:
            job.set_result(value)
        else:
            job.set_exception(value)


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
