"""Queue claims per second and journal writes per second on SQLite, in one run.

    uv run python bench/taskqueue.py [--tasks 3000] [--workers 1 8 32]

Claims: N tasks are submitted, then W concurrent claimers (each claim = one
BEGIN IMMEDIATE transaction with a conditional UPDATE ... RETURNING) drain the queue;
claims/s = N / wall time, for single-task claims and for batches of 10. Journal:
concurrent tasks each write their steps (durable: each await returns after its commit,
group-committed with whatever else is waiting). The baseline is one plain INSERT per
transaction on the same file, so the figures read as ratios on any machine.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path

from agentops.store import Journal, Store, TaskQueue


async def baseline(path: Path, n: int) -> float:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("CREATE TABLE IF NOT EXISTS t (i INTEGER)")
    started = time.perf_counter()
    for i in range(n):
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO t VALUES (?)", (i,))
        con.execute("COMMIT")
    elapsed = time.perf_counter() - started
    con.close()
    return n / elapsed


async def claims(path: Path, n: int, workers: int, batch: int) -> float:
    store = await Store.open(path)
    queue = TaskQueue(store)
    for i in range(n):
        await queue.submit("bench", {"i": i}, trace_id=f"{i:032x}")
    claimed = 0

    async def claimer(w: int) -> None:
        nonlocal claimed
        while True:
            got = await queue.claim(f"w{w}", 60, limit=batch)
            if not got:
                return
            claimed += len(got)

    started = time.perf_counter()
    await asyncio.gather(*(claimer(w) for w in range(workers)))
    elapsed = time.perf_counter() - started
    await store.close()
    assert claimed == n, (claimed, n)
    return n / elapsed


async def journal_writes(path: Path, tasks: int, steps: int) -> float:
    store = await Store.open(path)
    journal = Journal(store)

    async def run(t: int) -> None:
        for s in range(1, steps + 1):
            await journal.record(f"task{t}", s, "tool", "charge", "done", {"result": {"ok": True, "step": s}})

    started = time.perf_counter()
    await asyncio.gather(*(run(t) for t in range(tasks)))
    elapsed = time.perf_counter() - started
    await store.close()
    return tasks * steps / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=3000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 8, 32])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        base = await baseline(root / "base.db", args.tasks)
        print(f"baseline: one INSERT per BEGIN IMMEDIATE transaction (sqlite3, same machine): {base:,.0f}/s")
        print(f"{'claimers':>8} {'batch':>5} {'claims/s':>10} {'x baseline':>10}")
        for w in args.workers:
            for batch in (1, 10):
                rate = await claims(root / f"claims-{w}-{batch}.db", args.tasks, w, batch)
                print(f"{w:>8} {batch:>5} {rate:>10,.0f} {rate / base:>10.2f}")
        print(f"{'tasks':>8} {'steps':>5} {'writes/s':>10} {'x baseline':>10}")
        for tasks in (1, 32, 256):
            rate = await journal_writes(root / f"journal-{tasks}.db", tasks, max(4, args.tasks // tasks // 4))
            print(f"{tasks:>8} {'-':>5} {rate:>10,.0f} {rate / base:>10.2f}")


if __name__ == "__main__":
    asyncio.run(main())
