"""The store's writer thread: one round trip per durable write, rows durable on return,
failures handed to the right callers, nothing queued lost at close."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from agentops.store.writer import Writer


def connector(path: Path):
    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    return connect


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "w.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)")
    return path


def rows(path: Path) -> dict[str, int]:
    """What another process reading the file sees now."""
    conn = sqlite3.connect(path)
    try:
        return dict(conn.execute("SELECT k, v FROM t").fetchall())
    finally:
        conn.close()


async def test_a_durable_write_is_on_disk_when_it_returns_and_takes_one_commit(db: Path):
    writer = await Writer.open(connector(db), flush_interval=10.0)  # span events would wait 10 s
    try:
        for i in range(20):
            before = writer.commits
            await writer.write(
                ("INSERT INTO t VALUES (?, ?)", (f"call-{i}", i)), ("INSERT INTO t VALUES (?, ?)", (f"ledger-{i}", i))
            )
            assert writer.commits == before + 1  # both rows in one transaction
            assert rows(db)[f"call-{i}"] == i and rows(db)[f"ledger-{i}"] == i
    finally:
        await writer.close()


async def test_concurrent_writers_share_commits_and_queued_events_ride_along(db: Path):
    writer = await Writer.open(connector(db), flush_interval=10.0)
    try:
        for i in range(50):
            writer.enqueue("INSERT INTO t VALUES (?, ?)", (f"event-{i}", i))
        await asyncio.gather(*(writer.write(("INSERT INTO t VALUES (?, ?)", (f"w-{i}", i))) for i in range(100)))
        assert len(rows(db)) == 150  # the queued events went with the first durable write
        assert writer.commits < 100  # writes that waited together committed together
        assert writer.statements_written == 150
    finally:
        await writer.close()


async def test_a_failed_commit_fails_its_own_waiters_and_the_writer_goes_on(db: Path):
    writer = await Writer.open(connector(db))
    try:
        await writer.write(("INSERT INTO t VALUES (?, ?)", ("a", 1)))
        with pytest.raises(sqlite3.IntegrityError):
            await writer.write(("INSERT INTO t VALUES (?, ?)", ("b", 2)), ("INSERT INTO t VALUES (?, ?)", ("a", 3)))
        assert rows(db) == {"a": 1}  # the whole failed transaction rolled back, "b" too
        await writer.write(("INSERT INTO t VALUES (?, ?)", ("c", 4)))
        assert rows(db) == {"a": 1, "c": 4}
    finally:
        await writer.close()


async def test_transactions_run_on_the_writer_thread_each_in_its_own_savepoint(db: Path):
    writer = await Writer.open(connector(db))

    def bump(key: str):
        def fn(conn: sqlite3.Connection) -> int:
            conn.execute("INSERT INTO t VALUES (?, 1) ON CONFLICT (k) DO UPDATE SET v = v + 1", (key,))
            (value,) = conn.execute("SELECT v FROM t WHERE k = ?", (key,)).fetchone()
            return int(value)

        return fn

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO t VALUES ('x', 9)")
        raise ValueError("refused")

    try:
        results = await asyncio.gather(
            writer.transact(bump("n")), writer.transact(broken), writer.transact(bump("n")), return_exceptions=True
        )
        assert results[0] == 1 and results[2] == 2
        assert isinstance(results[1], ValueError) and str(results[1]) == "refused"
        assert rows(db) == {"n": 2}  # the broken job's row rolled back alone
    finally:
        await writer.close()


async def test_a_cancelled_caller_does_not_take_its_rows_back_and_close_writes_what_is_queued(db: Path):
    writer = await Writer.open(connector(db), flush_interval=10.0)
    task = asyncio.create_task(writer.write(("INSERT INTO t VALUES (?, ?)", ("kept", 1))))
    await asyncio.sleep(0)
    task.cancel()
    writer.enqueue("INSERT INTO t VALUES (?, ?)", ("queued", 2))
    await writer.close()
    assert rows(db) == {"kept": 1, "queued": 2}
    with pytest.raises(RuntimeError, match="closed"):
        await writer.write(("INSERT INTO t VALUES (?, ?)", ("late", 3)))


async def test_a_connection_that_cannot_open_fails_open_with_its_error(tmp_path: Path):
    def connect() -> sqlite3.Connection:
        return sqlite3.connect(f"file:{tmp_path / 'missing' / 'x.db'}?mode=rw", uri=True)

    with pytest.raises(sqlite3.OperationalError, match="unable to open"):
        await Writer.open(connect)
