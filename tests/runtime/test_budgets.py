"""Budgets: reserve-then-settle under concurrency, block, downgrade, escalate, live caps."""

from __future__ import annotations

import asyncio
import json

import pytest
from pydantic import BaseModel
from runtime_support import start, wait_status

from agentops.runtime import CallScope, Context, LocalControl, Registry, Runtime, agent
from agentops.runtime.errors import BudgetExceededError, ConfigError
from agentops.runtime.tracing import new_trace_id

MSG = [{"role": "user", "content": "Where is my parcel?"}]


class Ask(BaseModel):
    question: str


def scope(**kw) -> CallScope:
    return CallScope(new_trace_id(), **kw)


async def test_a_cap_holds_under_100_concurrent_calls(make_settings, make_runtime):
    cap = 0.0005
    rt = await make_runtime(make_settings(routes={"default": {"chain": ["primary"]}}, budgets={"global_day_usd": cap}))
    results = await asyncio.gather(
        *(rt.client.call(MSG, route="default", scope=scope(user_id=f"u{i}"), max_tokens=50) for i in range(100)),
        return_exceptions=True,
    )
    ok = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BudgetExceededError)]
    assert len(ok) + len(refused) == 100 and ok and refused
    assert refused[0].scope == "global-day" and refused[0].action == "block"
    one_reservation = max(r.estimate for r in refused)
    await rt.store.writer.flush()
    spent = await rt.store.spend(since=0)
    assert spent <= cap + one_reservation
    # Only the calls that fitted reached the provider; the rest were refused before sending.
    assert rt.simulator.stats.requests == len(ok)
    (status,) = await LocalControl.of(rt).budgets()
    assert (status.scope, status.key, status.unit) == ("global-day", "*", "USD")
    assert status.used == pytest.approx(spent) and status.reserved == 0


async def test_downgrade_sends_the_call_to_the_cheaper_route(make_settings, make_runtime):
    # default's dearest model (gpt-4.1-mini) needs ~$0.00009 for this call; the nano route ~$0.00002.
    rt = await make_runtime(
        make_settings(
            routes={"default": {"chain": ["primary", "fallback"]}, "cheap": {"chain": ["emergency"]}},
            budgets={"global_day_usd": 0.00005, "action": "downgrade", "downgrade_route": "cheap"},
        )
    )
    result = await rt.client.call(MSG, route="default", scope=scope(), max_tokens=50)
    assert result.deployment == "emergency"
    await rt.store.writer.flush()
    calls = await rt.store.llm_calls()
    assert calls[0].route == "cheap" and calls[0].model == "openai/gpt-4.1-nano"
    rows = await rt.store._all("SELECT attributes FROM spans WHERE span_id = ?", (result.span_id,))
    downgraded = json.loads(rows[0][0])["agentops.budget.downgraded"]
    assert downgraded == {"from": "default", "to": "cheap", "scope": "global-day"}


async def test_block_names_the_budget_and_what_the_call_needed(make_settings, make_runtime):
    rt = await make_runtime(make_settings(budgets={"user_day_usd": 0.00001}))
    with pytest.raises(BudgetExceededError) as info:
        await rt.client.call(MSG, route="default", scope=scope(user_id="ana"), max_tokens=500)
    assert "user-day 'ana'" in str(info.value) and "needs up to $" in str(info.value)
    calls = await rt.store.llm_calls()
    assert calls[0].status == "error" and calls[0].error_type == "BudgetExceededError"
    assert rt.simulator.stats.requests == 0


def asking_registry() -> Registry:
    reg = Registry()

    @agent(registry=reg)
    async def chatty(ctx: Context, ask: Ask) -> dict[str, object]:
        texts = []
        for i in range(3):
            r = await ctx.llm(f"{ask.question} ({i})", name=f"ask {i}", max_tokens=40)
            texts.append(r.text)
        return {"answers": len(texts)}

    return reg


def escalating(make_settings):
    return make_settings(
        runtime={"agent_modules": []},
        routes={"default": {"chain": ["primary"]}},
        workers={"concurrency": 2, "lease_s": 5, "poll_s": 0.05},
        budgets={"task_tokens": 80, "action": "escalate"},
    )


async def test_escalate_asks_an_operator_who_raises_the_cap_and_the_task_goes_on(make_settings):
    rt = await start(escalating(make_settings), asking_registry(), workers=True)
    try:
        control = LocalControl.of(rt)
        task, _ = await rt.submit("chatty", {"question": "Where is my parcel?"})
        await wait_status(rt, task.id, "waiting")
        (pending,) = await control.escalations()
        assert pending.context["scope"] == "task" and pending.context["key"] == task.id
        assert pending.context["unit"] == "tokens" and pending.context["cap"] == 80
        assert pending.context["used"] > 0  # the spend so far
        await control.decide(pending.id, "edit", actor="ana", args={"cap": 10_000})
        done = await wait_status(rt, task.id, "succeeded")
        assert done.output == {"answers": 3}
        audit = await control.audit_log()
        raised = [a for a in audit if a.action == "budget.cap"]
        assert raised[0].actor == "ana" and raised[0].target == f"task:{task.id}" and raised[0].details["to"] == 10_000
        assert rt.budgets.cap("task", task.id) == 10_000
        gauges = {(b.scope, b.key): b for b in await control.budgets()}
        gauge = gauges[("task", task.id)]
        assert (gauge.cap, gauge.unit, gauge.reserved) == (10_000, "tokens", 0)
        assert gauge.used == sum(c.input_tokens + c.output_tokens for c in await rt.store.llm_calls(task_id=task.id))
    finally:
        await rt.stop()


async def test_escalate_denied_fails_the_task_with_the_budget_error(make_settings):
    rt = await start(escalating(make_settings), asking_registry(), workers=True)
    try:
        control = LocalControl.of(rt)
        task, _ = await rt.submit("chatty", {"question": "Where is my parcel?"})
        await wait_status(rt, task.id, "waiting")
        (pending,) = await control.escalations()
        await control.decide(pending.id, "deny", actor="ana", comment="no more for this one")
        failed = await wait_status(rt, task.id, "failed")
        assert failed.error_type == "BudgetExceededError" and "no more for this one" in failed.error
    finally:
        await rt.stop()


async def test_a_cap_changed_live_is_audited_and_applies_to_the_next_call(make_settings, make_runtime):
    rt = await make_runtime(make_settings(budgets={"user_day_usd": 0.00001}))
    control = LocalControl.of(rt)
    with pytest.raises(BudgetExceededError):
        await rt.client.call(MSG, route="default", scope=scope(user_id="ana"), max_tokens=50)
    await control.set_budget("user-day", "ana", 1.0, actor="ops", via="cli")
    result = await rt.client.call(MSG, route="default", scope=scope(user_id="ana"), max_tokens=50)
    assert result.cost_usd > 0
    statuses = {(b.scope, b.key): b for b in await control.budgets()}
    assert statuses[("user-day", "ana")].cap == 1.0
    assert statuses[("user-day", "ana")].rate_per_h > 0 and statuses[("user-day", "ana")].eta_s is not None
    (entry,) = [a for a in await control.audit_log() if a.action == "budget.cap"]
    assert (entry.actor, entry.via, entry.target) == ("ops", "cli", "user-day:ana")
    with pytest.raises(ConfigError, match="unknown budget scope"):
        await control.set_budget("month", "ana", 1.0, actor="ops")
    with pytest.raises(ConfigError, match="positive"):
        await control.set_budget("user-day", "ana", 0, actor="ops")


def test_a_downgrade_without_a_route_is_refused_at_start(make_settings):
    with pytest.raises(Exception, match="downgrade_route"):
        make_settings(budgets={"global_day_usd": 1.0, "action": "downgrade"})


async def test_a_cap_holds_when_calls_set_no_max_tokens_and_replies_run_long(make_settings, make_runtime):
    cap = 0.005
    rt = await make_runtime(
        make_settings(
            models={"gpt-4o-mini": {"latency_ms": 0, "replies": ["word " * 6000]}},
            routes={"default": {"chain": ["primary"]}},
            budgets={"global_day_usd": cap},
        )
    )
    results = await asyncio.gather(
        *(rt.client.call(MSG, route="default", scope=scope()) for _ in range(100)), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, BudgetExceededError)]
    ok = [r for r in results if not isinstance(r, BaseException)]
    assert ok and refused
    # The reservation's output tokens are sent as max_tokens: a reply cannot outrun its estimate.
    assert all(r.usage.output_tokens <= 1024 for r in ok)
    await rt.store.writer.flush()
    assert await rt.store.spend(since=0) <= cap + max(r.estimate for r in refused)


async def test_a_call_cancelled_in_flight_gives_its_reservation_back(make_settings, make_runtime):
    rt = await make_runtime(
        make_settings(
            models={"gpt-4o-mini": {"latency_ms": 400, "latency_sigma": 0}},
            routes={"default": {"chain": ["primary"]}},
            budgets={"global_day_usd": 1.0},
        )
    )
    call = asyncio.create_task(rt.client.call(MSG, route="default", scope=scope(), max_tokens=50))
    await asyncio.sleep(0.1)
    assert (await LocalControl.of(rt).budgets())[0].reserved > 0
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert (await LocalControl.of(rt).budgets())[0].reserved == 0


def twice_registry() -> Registry:
    reg = Registry()

    @agent(registry=reg)
    async def careful(ctx: Context, ask: Ask) -> dict[str, object]:
        await ctx.llm(ask.question, name="ask", max_tokens=40)
        decision = await ctx.escalate("send the answer?")
        return {"sent": decision.approved}

    return reg


async def test_two_raises_on_one_step_replay_when_the_task_resumes_later(make_settings):
    settings = make_settings(
        runtime={"agent_modules": []},
        routes={"default": {"chain": ["primary"]}},
        workers={"concurrency": 2, "lease_s": 5, "poll_s": 0.05},
        budgets={"task_tokens": 10, "action": "escalate"},
    )
    rt = await start(settings, twice_registry(), workers=True)
    try:
        control = LocalControl.of(rt)
        task, _ = await rt.submit("careful", {"question": "Where is my parcel?"})
        for cap in (20, 10_000):  # the first raise is still too small: the operator is asked again
            await wait_status(rt, task.id, "waiting")
            (pending,) = await control.escalations()
            assert pending.context["kind"] == "budget"
            await control.decide(pending.id, "edit", actor="ana", args={"cap": cap})
            await asyncio.sleep(0.2)
        await wait_status(rt, task.id, "waiting")
        (pending,) = await control.escalations()
        assert pending.reason == "send the answer?"  # the step ran; now the task's own question
        calls = rt.simulator.stats.requests
        await control.decide(pending.id, "approve", actor="ana")
        done = await wait_status(rt, task.id, "succeeded")
        assert done.output == {"sent": True}
        assert rt.simulator.stats.requests == calls  # both raises and the call replayed from the journal
    finally:
        await rt.stop()


def test_a_usd_cap_over_an_unpriced_model_is_refused(make_settings):
    async def go() -> None:
        settings = make_settings(
            deployments={"primary": {"model": "openai/house-model-7b", "api_base": "sim"}},
            routes={"default": {"chain": ["primary"]}},
            budgets={"user_day_usd": 1.0},
        )
        rt = Runtime(settings)
        await rt.start()
        try:
            with pytest.raises(ConfigError, match=r"budgets\.user_day_usd cannot limit deployment\(s\) primary"):
                await rt.wait_ready()
        finally:
            await rt.stop()

    asyncio.run(go())
