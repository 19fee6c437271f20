"""The sample agents: triage's refund path escalates above the threshold and resumes."""

from __future__ import annotations

import asyncio
import json
import time

from agentops.runtime import Runtime

BILLING = json.dumps({"category": "billing", "urgency": "high", "summary": "customer wants a refund"})


def settings(make_settings):
    # The classifier's reply is scripted so the ticket is billing; later replies repeat it as text.
    return make_settings(
        routes={"default": {"chain": ["primary"]}},
        workers={"concurrency": 2, "poll_s": 0.05},
        models={"gpt-4o-mini": {"latency_ms": 0, "replies": [BILLING]}},
    )


async def until(rt: Runtime, task_id: str, status: str) -> object:
    for _ in range(400):
        task = await rt.store.get_task(task_id)
        if task.status == status:
            return task
        await asyncio.sleep(0.025)
    raise AssertionError(f"{task_id} is {task.status}, not {status}")


async def test_a_large_refund_waits_for_approval(make_settings):
    rt = Runtime(settings(make_settings), workers=True)
    await rt.start()
    await rt.wait_ready()  # litellm's import can take longer than the polls below on a busy machine
    try:
        # c-0001's invoice is $141.07, above the $100 approval threshold.
        task, _ = await rt.submit("triage", {"text": "Please refund my last invoice", "customer_id": "c-0001"})
        await until(rt, task.id, "waiting")
        (esc,) = await rt.tasks.escalations.find()
        assert esc.tool == "issue_refund" and esc.proposed["amount_usd"] == 141.07
        assert "refund $141.07" in esc.reason and esc.deadline > time.time()
        await rt.tasks.escalations.decide(esc.id, "approve", actor="ana", via="test")
        done = await until(rt, task.id, "succeeded")
        assert done.output["category"] == "billing"
        spans = await rt.store.spans_for_task(task.id)
        refunds = [s for s in spans if s.name == "tool issue_refund"]
        assert len(refunds) == 1 and refunds[0].attributes["agentops.result"]["status"] == "issued"
    finally:
        await rt.stop()


async def test_a_small_refund_needs_no_approval(make_settings):
    rt = Runtime(settings(make_settings))
    await rt.start()
    try:
        # c-0002's invoice is $97.27.
        task = await rt.run("triage", {"text": "refund please", "customer_id": "c-0002"})
        assert task.status == "succeeded", task.error
        assert await rt.tasks.escalations.find() == []
    finally:
        await rt.stop()


async def test_the_pattern_agents_run_on_the_simulator(make_settings):
    from runtime_support import start, wait_status

    s = make_settings(workers={"concurrency": 4, "poll_s": 0.05})
    rt = await start(s, None, workers=True)
    try:
        review = await rt.run(
            "review", {"ticket": "I was charged twice.", "reply": "We refunded the duplicate charge."}
        )
        assert review.status in ("succeeded", "waiting"), review.error  # waiting: a split vote asks an operator
        spans = await rt.store.spans_for_task(review.id)
        branches = sorted(s.name for s in spans if s.kind == "branch")
        assert branches == ["branch 1", "branch 1", "branch 2", "branch 2", "branch 3", "branch 3"]  # checks, ballots
        polish = await rt.run("polishing", {"ticket": "The export button does nothing."})
        assert polish.status == "succeeded", polish.error
        assert 1 <= polish.output["rounds"] <= 3
        parent, _ = await rt.submit("briefing", {"topic": "the end of support for API v1"})
        done = await wait_status(rt, parent.id, "succeeded", timeout=60)
        children = [t for t in await rt.store.list_tasks(limit=50) if t.parent_id == parent.id]
        assert len(children) == len(done.output["sections"]) == done.output["written"]
        assert {c.agent for c in children} == {"drafting"} and {c.trace_id for c in children} == {parent.trace_id}
    finally:
        await rt.stop()
