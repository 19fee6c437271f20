"""Retries through litellm against the simulator: count what the server saw, measure the waits."""

from __future__ import annotations

import random
import time

import pytest

from agentops.runtime import (
    CallScope,
    DeadlineExceededError,
    LLMCallError,
    PermanentProviderError,
    RetryPolicy,
    TransientProviderError,
)
from agentops.runtime.tracing import new_trace_id

MSG = [{"role": "user", "content": "hello there"}]
ONLY_PRIMARY = {"default": {"chain": ["primary"]}}
NO_TRIP = {"consecutive_failures": 1000, "min_calls": 1000}  # keep breakers out of retry tests


def scope() -> CallScope:
    return CallScope(new_trace_id())


async def test_transient_errors_are_retried_until_success(make_settings, make_runtime):
    rt = await make_runtime(make_settings(routes=ONLY_PRIMARY, circuit=NO_TRIP))
    rt.simulator.set_behaviour("gpt-4o-mini", _behaviour(rate_503=1.0))
    with pytest.raises(LLMCallError):
        await rt.client.call(MSG, route="default", scope=scope())
    # max_retries=3 in the test settings: one attempt and three retries, no more.
    assert rt.simulator.stats.model("gpt-4o-mini").requests == 4


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_permanent_errors_are_not_retried(make_settings, make_runtime, status):
    rt = await make_runtime(
        make_settings(
            routes=ONLY_PRIMARY, circuit=NO_TRIP, models={"gpt-4o-mini": {"latency_ms": 0, "fail_statuses": [status]}}
        )
    )
    with pytest.raises(PermanentProviderError) as info:
        await rt.client.call(MSG, route="default", scope=scope())
    assert info.value.status == status
    assert rt.simulator.stats.model("gpt-4o-mini").requests == 1


async def test_recovers_after_a_transient_error(make_settings, make_runtime):
    rt = await make_runtime(make_settings(routes=ONLY_PRIMARY, circuit=NO_TRIP, retry={"max_retries": 8}))
    rt.simulator.set_behaviour("gpt-4o-mini", _behaviour(rate_500=0.4))
    results = [await rt.client.call(MSG, route="default", scope=scope()) for _ in range(10)]
    stats = rt.simulator.stats.model("gpt-4o-mini")
    assert stats.statuses.get(500, 0) > 0, "the fault should have fired"
    assert sum(r.retries for r in results) == stats.statuses[500]
    assert all(r.deployment == "primary" for r in results)


async def test_retry_after_is_honoured(make_settings, make_runtime):
    rt = await make_runtime(
        make_settings(
            routes=ONLY_PRIMARY, circuit=NO_TRIP, retry={"max_retries": 2, "base_delay_s": 0.001, "max_delay_s": 0.001}
        )
    )
    rt.simulator.set_behaviour("gpt-4o-mini", _behaviour(rate_429=1.0, retry_after_s=0.4))
    started = time.monotonic()
    with pytest.raises(LLMCallError):
        await rt.client.call(MSG, route="default", scope=scope())
    elapsed = time.monotonic() - started
    # Two waits of 0.4 s (Retry-After), not the 1 ms backoff; and none after the last attempt.
    assert rt.simulator.stats.model("gpt-4o-mini").requests == 3
    assert 0.8 <= elapsed < 1.15


async def test_deadline_caps_the_whole_call(make_settings, make_runtime):
    rt = await make_runtime(
        make_settings(
            circuit=NO_TRIP, retry={"max_retries": 50, "base_delay_s": 0.2, "max_delay_s": 0.2, "deadline_s": 1.0}
        )
    )
    for model in ("gpt-4o-mini", "gpt-4.1-mini", "gpt-4.1-nano"):
        rt.simulator.set_behaviour(model, _behaviour(rate_429=1.0, retry_after_s=0.3))
    started = time.monotonic()
    with pytest.raises(LLMCallError):
        await rt.client.call(MSG, route="default", scope=scope())
    assert time.monotonic() - started < 1.3


async def test_deadline_error_when_no_time_is_left(make_settings, make_runtime):
    rt = await make_runtime(make_settings(routes=ONLY_PRIMARY))
    rt.simulator.set_behaviour("gpt-4o-mini", _behaviour(rate_timeout=1.0, timeout_stall_s=5.0))
    started = time.monotonic()
    with pytest.raises((DeadlineExceededError, LLMCallError)):
        await rt.client.call(MSG, route="default", scope=scope(), deadline_s=0.5)
    assert time.monotonic() - started < 1.5


def test_full_jitter_stays_under_the_growing_ceiling():
    policy = RetryPolicy(max_retries=5, base_delay_s=0.5, max_delay_s=4.0, rng=random.Random(7))
    err = TransientProviderError("503", status=503)
    for n, ceiling in enumerate([0.5, 1.0, 2.0, 4.0, 4.0]):
        delays = [policy.delay(err, n) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # jitter spreads over the whole range


def test_retry_after_is_capped():
    policy = RetryPolicy(retry_after_cap_s=5.0)
    assert policy.delay(TransientProviderError("429", status=429, retry_after=120), 0) == 5.0
    assert policy.delay(TransientProviderError("429", status=429, retry_after=2), 0) == 2.0


def test_only_transient_errors_are_retried():
    policy = RetryPolicy(max_retries=2)
    assert policy.should_retry(TransientProviderError("x", status=503), 1)
    assert not policy.should_retry(TransientProviderError("x", status=503), 2)
    assert not policy.should_retry(PermanentProviderError("x", status=400), 0)


def _behaviour(**faults):
    from agentops.runtime.simulator import ModelBehaviour

    return ModelBehaviour(latency_ms=0, latency_sigma=0, **faults)
