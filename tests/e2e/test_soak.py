"""Soak: hundreds of side-effecting tasks through worker processes killed with SIGKILL, restarted.

Afterwards every task reached a final state, none was lost, no side effect happened
twice, and no ledger row is duplicated.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentops.store import FINAL_STATUSES, Store, TaskQueue

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

HERE = Path(__file__).resolve().parent
TASKS = 300

WORKER = """
import asyncio, os, signal, sys
from agentops.runtime import Runtime, load_settings

async def main():
    settings = load_settings(None, **__import__('json').loads(os.environ['SOAK_SETTINGS']))
    rt = Runtime(settings, workers=True)
    await rt.start()
    await rt.wait_ready()
    print('ready', flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await rt.stop()

asyncio.run(main())
"""


def start_worker(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", WORKER], env=env, stdout=subprocess.PIPE, text=True)


def wait_ready(proc: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.strip() == "ready":
            return
        if proc.poll() is not None:
            raise AssertionError(f"worker exited with {proc.returncode} before it was ready")
    raise AssertionError("worker not ready in time")


def counts(db: Path) -> dict[str, int]:
    con = sqlite3.connect(db)
    try:
        return dict(con.execute("SELECT status, COUNT(*) FROM tasks GROUP BY status").fetchall())
    finally:
        con.close()


async def test_sigkill_soak(tmp_path: Path):
    db, effects = tmp_path / "agentops.db", tmp_path / "effects.db"
    settings = {
        "store": {"path": str(db)},
        "runtime": {"agent_modules": ["soak_agent"]},
        "workers": {"concurrency": 8, "lease_s": 2.0, "poll_s": 0.2, "max_attempts": 20},
        "routes": {"default": {"chain": ["primary", "fallback"]}},
        "simulator": {"seed": 7, "default": {"latency_ms": 15, "latency_sigma": 0.5, "rate_503": 0.02}},
        "retry": {"base_delay_s": 0.01, "max_delay_s": 0.05},
    }
    env = {
        **os.environ,
        "SOAK_SETTINGS": json.dumps(settings),
        "SOAK_EFFECTS_DB": str(effects),
        "PYTHONPATH": str(HERE) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }

    store = await Store.open(db)
    queue = TaskQueue(store)
    for n in range(TASKS):
        await queue.submit("soak", {"n": n}, trace_id=f"{n:032x}", max_attempts=20)
    await store.close()

    rng = random.Random(11)
    kills = 0
    for _ in range(4):
        proc = start_worker(env)
        wait_ready(proc)
        await asyncio.sleep(rng.uniform(0.3, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        kills += 1
        if counts(db).get("queued", 0) == 0 and counts(db).get("running", 0) == 0:
            break

    final = start_worker(env)
    try:
        wait_ready(final)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            c = counts(db)
            if sum(v for k, v in c.items() if k in FINAL_STATUSES) == TASKS:
                break
            await asyncio.sleep(0.5)
    finally:
        final.send_signal(signal.SIGTERM)
        final.wait(30)

    con = sqlite3.connect(db)
    statuses = dict(con.execute("SELECT status, COUNT(*) FROM tasks GROUP BY status").fetchall())
    assert statuses == {"succeeded": TASKS}, statuses  # none lost, none stuck, none failed
    ledger_dupes = con.execute("SELECT COUNT(*) - COUNT(DISTINCT span_id) FROM ledger").fetchone()[0]
    assert ledger_dupes == 0
    orphan_rows = con.execute(
        "SELECT COUNT(*) FROM ledger WHERE span_id NOT IN (SELECT span_id FROM llm_calls)"
    ).fetchone()[0]
    assert orphan_rows == 0
    outputs = [json.loads(r[0]) for r in con.execute("SELECT output FROM tasks")]
    assert sorted(o["n"] for o in outputs) == list(range(TASKS))
    resumed = con.execute("SELECT COUNT(*) FROM tasks WHERE attempts > 1").fetchone()[0]
    con.close()

    fx = sqlite3.connect(effects)
    per_task = fx.execute("SELECT n, COUNT(*) FROM effects GROUP BY n HAVING COUNT(*) != 1").fetchall()
    assert per_task == []  # exactly one effect per task
    assert fx.execute("SELECT COUNT(*) FROM effects").fetchone()[0] == TASKS
    executions = fx.execute("SELECT COUNT(*) FROM executions").fetchone()[0]
    fx.close()
    assert kills >= 1 and resumed >= 1, "the kills should have interrupted some tasks"
    print(f"soak: {TASKS} tasks, {kills} SIGKILLs, {resumed} tasks resumed, {executions} tool executions")
