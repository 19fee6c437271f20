"""The durable queue, journal and escalations at the store level."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from agentops.store import AlreadyDecidedError, EscalationStore, Journal, Store, TaskQueue


@pytest.fixture
async def store(tmp_path: Path):
    s = await Store.open(tmp_path / "db.sqlite")
    yield s
    await s.close()


async def submit(q: TaskQueue, n: int = 1, **kw) -> list[str]:
    return [(await q.submit("a", {"i": i}, trace_id="ab" * 16, **kw))[0].id for i in range(n)]


async def test_idempotency_key_returns_the_same_task(store):
    q = TaskQueue(store)
    first, created = await q.submit("a", {}, trace_id="ab" * 16, idempotency_key="k1")
    again, created_again = await q.submit("a", {"other": 1}, trace_id="cd" * 16, idempotency_key="k1")
    assert created and not created_again
    assert again.id == first.id and again.input == {}


async def test_claims_are_exclusive_under_concurrency(store):
    q = TaskQueue(store)
    ids = await submit(q, 50)
    claims = await asyncio.gather(*(q.claim(f"w{i}", 30, limit=3) for i in range(40)))
    claimed = [t.id for batch in claims for t in batch]
    assert sorted(claimed) == sorted(ids)  # every task once, none twice


async def test_priority_then_age(store):
    q = TaskQueue(store)
    low = (await submit(q, 1))[0]
    high = (await submit(q, 1, priority=5))[0]
    assert [t.id for t in await q.claim("w", 30, limit=2)] == [high, low]


async def test_expired_lease_requeues_then_dead_letters(store):
    q = TaskQueue(store)
    (tid,) = await submit(q, 1, max_attempts=2)
    for attempt in (1, 2):
        (task,) = await q.claim(f"w{attempt}", lease_s=0.01)
        assert task.attempts == attempt
        await asyncio.sleep(0.02)
        moved = await q.reap_expired()
        assert moved == [(tid, "queued" if attempt == 1 else "dead")]
    dead = await store.get_task(tid)
    assert dead.status == "dead" and dead.error_type == "LeaseExpired" and "attempt 2 of 2" in dead.error


async def test_a_worker_that_lost_its_lease_cannot_finish(store):
    q = TaskQueue(store)
    await submit(q, 1)
    (task,) = await q.claim("old", lease_s=0.01)
    await asyncio.sleep(0.02)
    await q.reap_expired()
    (again,) = await q.claim("new", lease_s=30)
    task.status, task.finished_at = "succeeded", time.time()
    assert await q.finish(task, "old") is False
    assert (await q.heartbeat(task.id, "old", 30)) == (False, False)
    again.status, again.finished_at = "succeeded", time.time()
    assert await q.finish(again, "new") is True


async def test_decisions_are_written_once_and_requeue_the_task(store):
    q, esc = TaskQueue(store), EscalationStore(store)
    (tid,) = await submit(q, 1)
    (task,) = await q.claim("w", 30)
    e = await esc.open(
        task_id=tid,
        seq=2,
        agent="a",
        reason="refund $900",
        context={"x": 1},
        proposed={"amount": 900},
        tool="refund",
        default_action="deny",
        timeout_s=60,
    )
    assert await q.park(task, "w")
    assert (await store.get_task(tid)).status == "waiting"
    decided = await esc.decide(e.id[:6], "approve", actor="ana", via="cli", comment="ok")
    assert decided.decision == "approve" and decided.decided_by == "ana"
    assert (await store.get_task(tid)).status == "queued"
    with pytest.raises(AlreadyDecidedError, match="already decided: approve by ana via cli"):
        await esc.decide(e.id, "deny", actor="bob", via="console")
    log = await esc.audit_log()
    assert [(a.actor, a.via, a.action, a.target) for a in log] == [("ana", "cli", "escalation.approve", e.id)]


async def test_reopening_an_escalation_for_the_same_step_returns_it(store):
    esc = EscalationStore(store)
    kw = {
        "task_id": "t",
        "seq": 1,
        "agent": "a",
        "reason": "r",
        "context": None,
        "proposed": None,
        "tool": None,
        "default_action": "deny",
        "timeout_s": None,
    }
    assert (await esc.open(**kw)).id == (await esc.open(**kw)).id


async def test_journal_round_trip_and_compaction(store):
    q, journal = TaskQueue(store), Journal(store)
    (tid,) = await submit(q, 1)
    await journal.record(tid, 1, "tool", "refund", "done", {"ok": True})
    assert (await journal.load(tid))[1].result == {"ok": True}
    (task,) = await q.claim("w", 30)
    task.status, task.finished_at = "succeeded", time.time() - 100
    await q.finish(task, "w")
    assert await journal.compact(finished_before=time.time() - 50) == 1
    assert await journal.load(tid) == {}


async def test_cancel_queued_at_once_running_at_next_step(store):
    q = TaskQueue(store)
    queued, _ = await submit(q, 2)
    assert await q.cancel(queued, actor="ana", via="cli") == "cancelled"
    assert (await store.get_task(queued)).status == "cancelled"
    (running,) = await q.claim("w", 30)
    assert await q.cancel(running.id, actor="ana", via="cli") == "cancelling"
    assert await q.heartbeat(running.id, "w", 30) == (True, True)


async def test_deciding_on_a_cancelled_task_says_it_was_withdrawn(store):
    q, esc = TaskQueue(store), EscalationStore(store)
    (tid,) = await submit(q, 1)
    (task,) = await q.claim("w", 30)
    e = await esc.open(
        task_id=tid,
        seq=1,
        agent="a",
        reason="r",
        context=None,
        proposed=None,
        tool=None,
        default_action="deny",
        timeout_s=None,
    )
    await q.park(task, "w")
    assert await q.cancel(tid, actor="ana", via="cli") == "cancelled"
    with pytest.raises(AlreadyDecidedError, match=f"was withdrawn: its task {tid} was cancelled"):
        await esc.decide(e.id, "approve", actor="bob", via="cli")
