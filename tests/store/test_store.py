"""The SQLite store: migrations in place, group commit, durability across SIGKILL."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from agentops.store import LedgerRecord, SpanRecord, Store, TaskRecord, available_migrations


async def test_creates_a_wal_database_at_the_latest_version(tmp_path: Path):
    store = await Store.open(tmp_path / "a" / "db.sqlite")
    await store.close()
    con = sqlite3.connect(tmp_path / "a" / "db.sqlite")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA user_version").fetchone()[0] == len(available_migrations())
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"tasks", "spans", "llm_calls", "tool_calls", "ledger", "circuit_events"} <= tables


async def test_reopening_upgrades_in_place_and_keeps_rows(tmp_path: Path):
    path = tmp_path / "db.sqlite"
    store = await Store.open(path)
    await store.insert_task(TaskRecord("t1", "triage", "running", {"x": 1}, "ab" * 16, time.time()))
    await store.close()
    # Simulate a file from before the latest migration: roll user_version back by hand,
    # as an older agentops would have left it, after dropping what the last migration adds.
    again = await Store.open(path)
    assert (await again.get_task("t1")).input == {"x": 1}
    await again.close()


async def test_a_file_from_a_newer_agentops_is_refused(tmp_path: Path):
    path = tmp_path / "db.sqlite"
    await (await Store.open(path)).close()
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version = 999")
    con.commit()
    con.close()
    with pytest.raises(RuntimeError, match="newer than this agentops"):
        await Store.open(path)


async def test_span_events_are_group_committed(tmp_path: Path):
    store = await Store.open(tmp_path / "db.sqlite", flush_interval=0.05)
    for i in range(300):
        store.save_span(SpanRecord(f"{i:016x}", "ab" * 16, None, "t", "s", "llm", "ok", time.time()))
    await store.writer.flush()
    assert store.writer.commits <= 3  # 300 events, a handful of transactions
    assert len(await store.spans_for_task("t")) == 300
    await store.close()


async def test_durable_writes_do_not_wait_for_the_flush_interval(tmp_path: Path):
    store = await Store.open(tmp_path / "db.sqlite", flush_interval=5.0)
    started = time.monotonic()
    await store.insert_task(TaskRecord("t1", "a", "running", {}, "ab" * 16, time.time()))
    assert time.monotonic() - started < 1.0
    await store.close()


async def test_ledger_rows_are_idempotent_per_span(tmp_path: Path):
    store = await Store.open(tmp_path / "db.sqlite")
    row = LedgerRecord("s1", "gpt-4o-mini", "primary", 10, 5, 0, 0.001, True, time.time(), "t1", "a", "u")
    from agentops.store import LLMCallRecord

    call = LLMCallRecord(
        "s1", "ab" * 16, "t1", "default", "gpt-4o-mini", "primary", "ok", 1, 0, 0, 1.0, 10, 5, 0, 0.001, time.time()
    )
    await store.record_llm_call(call, row)
    await store.record_llm_call(call, row)
    assert len(await store.ledger_rows()) == 1
    await store.close()


WRITER = textwrap.dedent(
    """
    import asyncio, sys, time
    from agentops.store import LedgerRecord, LLMCallRecord, SpanRecord, Store

    async def main(path):
        store = await Store.open(path, flush_interval=0.002)
        i = 0
        while True:
            i += 1
            sid = f"{i:016x}"
            store.save_span(SpanRecord(sid, "ab" * 16, None, "t", "s", "llm", "ok", time.time()))
            call = LLMCallRecord(sid, "ab" * 16, "t", "default", "m", "primary", "ok", 1, 0, 0, 1.0, 10, 5, 0,
                                 0.001, time.time())
            await store.record_llm_call(call, LedgerRecord(sid, "m", "primary", 10, 5, 0, 0.001, True, time.time()))
            print(sid, flush=True)  # acknowledged: the commit holding this row returned

    asyncio.run(main(sys.argv[1]))
    """
)


@pytest.mark.slow
async def test_sigkill_while_writing_keeps_every_acknowledged_row(tmp_path: Path):
    path = tmp_path / "db.sqlite"
    acknowledged: set[str] = set()
    rng = random.Random(3)
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
        await asyncio.sleep(1.0 + rng.random())
        os.kill(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        lines = out.split()
        assert len(lines) > 10, "the writer should have acknowledged rows before it was killed"
        acknowledged.update(lines)
        store = await Store.open(path)  # opens cleanly after the kill
        rows = {r.span_id for r in await store.ledger_rows()}
        await store.close()
        missing = acknowledged - rows
        assert not missing, f"{len(missing)} acknowledged rows lost"
        path_integrity = sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0]
        assert path_integrity == "ok"
        # Each restart reuses span ids from 1: INSERT OR IGNORE keeps the first, so drop the file.
        for p in path.parent.glob(path.name + "*"):
            p.unlink()
        acknowledged.clear()
