"""Human-in-the-loop through the durable queue: park, decide, resume from the journal."""

from __future__ import annotations

import asyncio
import time

import pytest
from pydantic import BaseModel, Field
from runtime_support import start as start_runtime
from runtime_support import wait_status

from agentops.runtime import Context, Registry, Runtime, agent, tool
from agentops.runtime.errors import DecisionError, ToolDeniedError
from agentops.runtime.tasks.context import current_step_key
from agentops.runtime.tasks.escalation import validate_edit
from agentops.store import AlreadyDecidedError, EscalationStore, Store


class Refund(BaseModel):
    order_id: str
    amount: float = Field(gt=0, le=1000)


class Request(BaseModel):
    order_id: str
    amount: float


def make_registry(effects: list[tuple[str, float]]) -> Registry:
    reg = Registry()

    @tool(registry=reg, requires_approval=True)
    async def refund(args: Refund) -> dict[str, float]:
        """Pay money back (a side effect)."""
        effects.append((current_step_key(), args.amount))
        return {"refunded": args.amount}

    @agent(registry=reg, tools=["refund"])
    async def refunds(ctx: Context, req: Request) -> dict[str, object]:
        plan = await ctx.llm(f"Plan a refund of {req.amount} for order {req.order_id}", name="plan")
        try:
            done = await ctx.tool("refund", order_id=req.order_id, amount=req.amount)
        except ToolDeniedError as exc:
            return {"denied": str(exc)}
        return {"done": done, "plan": plan.text}

    @agent(registry=reg)
    async def asks(ctx: Context, req: Request) -> dict[str, object]:
        decision = await ctx.escalate(
            f"ok to ship {req.order_id}?", proposed={"ship": True}, timeout=0.3, default="deny"
        )
        return {"action": decision.action, "timed_out": decision.timed_out, "by": decision.decided_by}

    return reg


def quick(make_settings, **extra):
    workers = {"concurrency": 2, "lease_s": 5, "poll_s": 0.05, **extra.pop("workers", {})}
    return make_settings(
        runtime={"agent_modules": []}, routes={"default": {"chain": ["primary"]}}, workers=workers, **extra
    )


async def start(settings, registry) -> Runtime:
    return await start_runtime(settings, registry, workers=True)


async def test_approval_resumes_the_task_without_redoing_steps(make_settings):
    effects: list[tuple[str, float]] = []
    rt = await start(quick(make_settings), make_registry(effects))
    try:
        task, _ = await rt.submit("refunds", {"order_id": "A-1", "amount": 250})
        await wait_status(rt, task.id, "waiting")
        assert rt.pool.stats().busy == 0  # a waiting task holds no worker
        (pending,) = await rt.tasks.escalations.find()
        assert pending.tool == "refund" and pending.proposed == {"order_id": "A-1", "amount": 250}
        calls_before = rt.simulator.stats.requests
        await rt.tasks.escalations.decide(pending.id, "approve", actor="ana", via="test")
        done = await wait_status(rt, task.id, "succeeded")
        assert done.output["done"] == {"refunded": 250}
        assert rt.simulator.stats.requests == calls_before  # the plan step replayed from the journal
        assert effects == [(f"{task.id}:3", 250)]  # step 1 plan, 2 escalation, 3 refund: once
    finally:
        await rt.stop()


async def test_deny_reason_reaches_the_agent(make_settings):
    effects: list[tuple[str, float]] = []
    rt = await start(quick(make_settings), make_registry(effects))
    try:
        task, _ = await rt.submit("refunds", {"order_id": "A-2", "amount": 900})
        await wait_status(rt, task.id, "waiting")
        (pending,) = await rt.tasks.escalations.find()
        await rt.tasks.escalations.decide(pending.id, "deny", actor="ana", via="test", comment="over the limit")
        done = await wait_status(rt, task.id, "succeeded")
        assert done.output == {"denied": "operator denied tool 'refund': over the limit"}
        assert effects == []
        with pytest.raises(AlreadyDecidedError):
            await rt.tasks.escalations.decide(pending.id, "approve", actor="bob", via="test")
    finally:
        await rt.stop()


async def test_an_edit_is_validated_then_used(make_settings):
    effects: list[tuple[str, float]] = []
    reg = make_registry(effects)
    rt = await start(quick(make_settings), reg)
    try:
        task, _ = await rt.submit("refunds", {"order_id": "A-3", "amount": 400})
        await wait_status(rt, task.id, "waiting")
        (pending,) = await rt.tasks.escalations.find()
        with pytest.raises(DecisionError, match=r"amount: Input should be less than or equal to 1000"):
            validate_edit(reg.tools["refund"], {"order_id": "A-3", "amount": 5000})
        args = validate_edit(reg.tools["refund"], {"order_id": "A-3", "amount": 150})
        await rt.tasks.escalations.decide(pending.id, "edit", actor="ana", via="test", args=args)
        done = await wait_status(rt, task.id, "succeeded")
        assert done.output["done"] == {"refunded": 150}
        assert [amount for _, amount in effects] == [150]
    finally:
        await rt.stop()


async def test_a_timeout_applies_the_default_and_says_so(make_settings):
    rt = await start(quick(make_settings), make_registry([]))
    try:
        task, _ = await rt.submit("asks", {"order_id": "B-1", "amount": 1})
        done = await wait_status(rt, task.id, "succeeded")
        assert done.output == {"action": "deny", "timed_out": True, "by": "timeout"}
        log = await rt.tasks.escalations.audit_log()
        assert log[0].actor == "timeout" and log[0].action == "escalation.deny"
    finally:
        await rt.stop()


async def test_an_approval_given_while_the_runtime_is_down_applies_when_it_returns(make_settings):
    effects: list[tuple[str, float]] = []
    settings = quick(make_settings)
    first = await start(settings, make_registry(effects))
    task, _ = await first.submit("refunds", {"order_id": "C-1", "amount": 75})
    await wait_status(first, task.id, "waiting")
    await first.stop()

    # Nothing runs now. An operator approves against the database file, as the CLI does.
    store = await Store.open(settings.store.path)
    (pending,) = await EscalationStore(store).find()
    await EscalationStore(store).decide(pending.id, "approve", actor="ana", via="cli")
    await store.close()

    second = await start(settings, make_registry(effects))
    try:
        done = await wait_status(second, task.id, "succeeded")
        assert done.output["done"] == {"refunded": 75}
        assert len(effects) == 1
    finally:
        await second.stop()


async def test_the_same_idempotency_key_twice_is_one_task(make_settings):
    rt = await start(quick(make_settings, workers={"concurrency": 1, "poll_s": 0.05}), make_registry([]))
    try:
        a, created = await rt.submit("asks", {"order_id": "K", "amount": 1}, idempotency_key="order-K")
        b, created_again = await rt.submit("asks", {"order_id": "K", "amount": 1}, idempotency_key="order-K")
        assert created and not created_again and a.id == b.id
    finally:
        await rt.stop()


async def test_control_decides_once_validates_edits_and_audits(make_settings):
    from agentops.runtime import LocalControl

    effects: list[tuple[str, float]] = []
    rt = await start(quick(make_settings), make_registry(effects))
    try:
        control = LocalControl.of(rt)
        task, _ = await control.submit("refunds", {"order_id": "D-1", "amount": 300}, actor="ana", via="console")
        await wait_status(rt, task.id, "waiting")
        (pending,) = await control.escalations()
        assert (await control.status()).escalations_waiting == 1
        with pytest.raises(DecisionError, match="less than or equal to 1000"):
            await control.decide(pending.id, "edit", actor="ana", args={"order_id": "D-1", "amount": 4000})
        with pytest.raises(DecisionError, match="a denial needs a reason"):
            await control.decide(pending.id, "deny", actor="ana")
        await control.decide(pending.id[:5], "edit", actor="ana", args={"order_id": "D-1", "amount": 99})
        with pytest.raises(DecisionError, match="already decided: edit by ana via console"):
            await control.decide(pending.id, "approve", actor="bob")
        await wait_status(rt, task.id, "succeeded")
        assert [a for _, a in effects] == [99]
        actions = [(a.actor, a.via, a.action) for a in await control.audit_log()]
        assert actions[:2] == [("ana", "console", "escalation.edit"), ("ana", "console", "task.submit")]
    finally:
        await rt.stop()


async def test_max_steps_asks_an_operator_for_more(make_settings):
    reg = make_registry([])

    @agent(registry=reg, max_steps=2, escalate_on_max_steps=True)
    async def chatty(ctx: Context, req: Request) -> int:
        for _ in range(3):
            await ctx.llm("again", name="step")
        return ctx.totals.steps

    rt = await start(quick(make_settings), reg)
    try:
        task, _ = await rt.submit("chatty", {"order_id": "M", "amount": 1})
        await wait_status(rt, task.id, "waiting")
        (pending,) = await rt.tasks.escalations.find()
        assert pending.reason == "reached max_steps=2; allow 2 more?" and pending.context["steps"] == 2
        await rt.tasks.escalations.decide(pending.id, "approve", actor="ana", via="test")
        done = await wait_status(rt, task.id, "succeeded")
        assert done.output == 3 and done.steps == 3
    finally:
        await rt.stop()


async def test_a_task_whose_process_died_is_resumed_by_a_worker(make_settings):
    from agentops.store import TaskRecord

    reg = make_registry([])

    @agent(registry=reg)
    async def hello(ctx: Context, req: Request) -> str:
        return (await ctx.llm(f"hello {req.order_id}")).text or ""

    rt = await start(quick(make_settings), reg)
    try:
        # As `agentops run` leaves it when killed: running, under an inline lease that expired.
        now = time.time()
        dead = TaskRecord(
            "deadbeef00000001",
            "hello",
            "running",
            {"order_id": "Z", "amount": 1},
            "ab" * 16,
            now,
            started_at=now,
            lease_owner="gone:1:abc:inline",
            lease_expires_at=now - 1,
            attempts=1,
        )
        await rt.store.insert_task(dead)
        done = await wait_status(rt, dead.id, "succeeded")
        assert done.attempts == 2 and done.output
    finally:
        await rt.stop()


async def test_a_queued_task_for_an_agent_this_process_lacks_fails_cleanly(make_settings):
    rt = await start(quick(make_settings), make_registry([]))
    try:
        task, _ = await rt.tasks.queue.submit("elsewhere", {}, trace_id="ab" * 16)
        rt.tasks.submitted.set()
        done = await wait_status(rt, task.id, "failed")
        assert done.error_type == "UnknownAgentError" and "no agent named 'elsewhere'" in done.error
    finally:
        await rt.stop()


async def test_a_drain_hands_back_a_claim_its_worker_never_saw(make_settings):
    """A claim whose commit lands as the pool stops (its worker already cancelled) is requeued by owner."""
    from agentops.runtime import Runtime

    rt = Runtime(make_settings(workers={"concurrency": 1, "poll_s": 30}), workers=True)
    await rt.start()
    try:
        await asyncio.sleep(0.2)  # the idle worker is waiting for a wake-up, which this submit does not send
        task, _ = await rt.tasks.queue.submit("drafting", {"topic": "x"}, trace_id="t" * 32)
        (claimed,) = await rt.tasks.queue.claim(f"{rt.owner}:w7", 30.0)  # as if worker 7 claimed it
        assert claimed.id == task.id and claimed.attempts == 1
    finally:
        handed = await rt.stop(grace_s=0)
    assert handed == 1
    from agentops.store import Store

    store = await Store.open(rt.settings.store.path)
    try:
        again = await store.get_task(task.id)
    finally:
        await store.close()
    assert again.status == "queued" and again.attempts == 0 and again.lease_owner is None
