"""Rate limits: a deployment's provider window paces calls before the provider says 429;
user and agent token buckets wait within the call's deadline, then refuse."""

from __future__ import annotations

import asyncio

import pytest

from agentops.runtime import CallScope
from agentops.runtime.calls.ratelimit import SlidingWindow, TokenBucket
from agentops.runtime.errors import RateLimitedError
from agentops.runtime.tracing import new_trace_id

MSG = [{"role": "user", "content": "Where is my parcel?"}]


def scope(**kw) -> CallScope:
    return CallScope(new_trace_id(), **kw)


def limited(make_settings, *, paced: bool):
    deployment = {"model": "openai/gpt-4o-mini", "api_base": "sim"}
    if paced:
        deployment |= {"rpm": 4, "rate_window_s": 1.0}
    return make_settings(
        models={"gpt-4o-mini": {"latency_ms": 0, "rpm_limit": 4, "rpm_window_s": 1.0}},
        deployments={"primary": deployment},
        routes={"default": {"chain": ["primary"]}},
        retry={"max_retries": 0, "deadline_s": 30.0},
    )


async def test_the_provider_limit_paces_calls_so_the_provider_returns_no_429(make_settings, make_runtime):
    rt = await make_runtime(limited(make_settings, paced=True))
    results = await asyncio.gather(*(rt.client.call(MSG, route="default", scope=scope()) for _ in range(14)))
    assert all(r.retries == 0 and r.deployment == "primary" for r in results)
    stats = rt.simulator.stats.model("gpt-4o-mini")
    assert stats.requests == 14 and stats.status(429) == 0


async def test_without_the_limit_the_same_load_gets_429s(make_settings, make_runtime):
    rt = await make_runtime(limited(make_settings, paced=False))
    results = await asyncio.gather(
        *(rt.client.call(MSG, route="default", scope=scope()) for _ in range(14)), return_exceptions=True
    )
    assert any(isinstance(r, BaseException) for r in results)
    assert rt.simulator.stats.model("gpt-4o-mini").status(429) > 0


async def test_a_user_limit_refuses_when_the_next_slot_is_past_the_deadline(make_settings, make_runtime):
    rt = await make_runtime(make_settings(rate_limits={"user_rpm": 6, "burst_s": 1}))  # one call per 10 s
    await rt.client.call(MSG, route="default", scope=scope(user_id="ana"))
    with pytest.raises(RateLimitedError) as info:
        await rt.client.call(MSG, route="default", scope=scope(user_id="ana"), deadline_s=1.0)
    assert "user 'ana' requests/min" in str(info.value) and info.value.wait_s > 1.0
    # Another user has a bucket of their own.
    other = await rt.client.call(MSG, route="default", scope=scope(user_id="bob"), deadline_s=1.0)
    assert other.text
    calls = await rt.store.llm_calls()
    assert [c.error_type for c in calls if c.status == "error"] == ["RateLimitedError"]


async def test_a_user_limit_waits_when_the_slot_comes_before_the_deadline(make_settings, make_runtime):
    rt = await make_runtime(make_settings(rate_limits={"agent_rpm": 300, "burst_s": 0.2}))  # 5/s, burst 1
    results = await asyncio.gather(
        *(rt.client.call(MSG, route="default", scope=scope(agent="triage"), deadline_s=10) for _ in range(4))
    )
    assert len(results) == 4
    await rt.store.writer.flush()
    rows = await rt.store._all("SELECT attributes FROM spans WHERE kind = 'llm'")
    assert sum('"agentops.rate_limit.waited_s"' in r[0] for r in rows) == 3  # all but the first waited


def test_a_sliding_window_admits_at_most_its_limit_in_any_window():
    now = [0.0]
    window = SlidingWindow(3, 1.0, clock=lambda: now[0])
    assert [window.try_take()[0] for _ in range(3)] == [0.0, 0.0, 0.0]
    wait, handle = window.try_take()
    assert handle is None and wait == pytest.approx(1.0)
    now[0] = 0.5
    assert window.wait_time() == pytest.approx(0.5)
    now[0] = 1.0
    assert window.try_take()[0] == 0.0


def test_a_token_window_settles_an_estimate_to_the_real_figure():
    now = [0.0]
    window = SlidingWindow(100, 60.0, clock=lambda: now[0])
    _, handle = window.try_take(80)
    assert window.wait_time(30) > 0
    now[0] = 5.0  # the answer came back: 20 tokens used, not the 80 estimated; counted from now
    window.settle(handle, 20)
    assert window.wait_time(30) == 0.0
    window.try_take(30)
    assert window.wait_time(60) == pytest.approx(60.0)  # both takes leave the window at 65 s


def test_a_token_bucket_reports_its_wait_without_taking():
    now = [0.0]
    bucket = TokenBucket(1.0, 1, clock=lambda: now[0])
    assert bucket.wait_time() == 0.0 and bucket.wait_time() == 0.0
    assert bucket.try_take() == 0.0
    assert bucket.wait_time() == pytest.approx(1.0)
