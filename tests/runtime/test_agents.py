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
