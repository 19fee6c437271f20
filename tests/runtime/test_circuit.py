"""The circuit breaker's state machine, and the breaker seen through the simulator."""

from __future__ import annotations

import asyncio
import time

import pytest

from agentops.runtime import CallScope, CircuitBreaker, CircuitOpenError, CircuitState, Transition
from agentops.runtime.tracing import new_trace_id


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def breaker(**kw) -> tuple[CircuitBreaker, list[Transition], Clock]:
    seen: list[Transition] = []
    clock = Clock()
    params = {
        "window_s": 60,
        "min_calls": 4,
        "failure_rate": 0.5,
        "consecutive_failures": 3,
        "cooldown_s": 10,
        "half_open_probes": 1,
        "close_after": 2,
    } | kw
    return CircuitBreaker("primary", listener=seen.append, clock=clock, **params), seen, clock


def call(b: CircuitBreaker, ok: bool) -> None:
    probe = b.acquire()
    if ok:
        b.record_success(probe)
    else:
        b.record_failure("503", probe)


def test_trips_on_consecutive_failures_with_the_reason():
    b, seen, _ = breaker()
    for _ in range(3):
        call(b, False)
    assert b.state is CircuitState.OPEN
    assert seen[-1].to_state is CircuitState.OPEN
    assert "3 consecutive failures" in seen[-1].reason


def test_trips_on_failure_rate_once_enough_calls_are_seen():
    b, seen, _ = breaker(consecutive_failures=100)
    for ok in (False, True, False):
        call(b, ok)
    assert b.state is CircuitState.CLOSED  # 3 calls < min_calls
    call(b, True)
    assert b.state is CircuitState.CLOSED  # 2/4 failed, but the last call succeeded
    call(b, False)
    assert b.state is CircuitState.OPEN  # 3/5 = 60% >= 50%
    assert "failure rate 60% over 5 calls" in seen[-1].reason


def test_old_failures_leave_the_window():
    b, _, clock = breaker(consecutive_failures=100, window_s=60)
    for _ in range(3):
        call(b, False)
    clock.now += 61
    call(b, True)
    assert b.window_counts() == (1, 0)
    assert b.state is CircuitState.CLOSED


def test_open_refuses_until_cooldown_then_probes_are_bounded():
    b, seen, clock = breaker()
    for _ in range(3):
        call(b, False)
    with pytest.raises(CircuitOpenError) as info:
        b.acquire()
    assert 9.9 < info.value.retry_in <= 10
    clock.now += 10
    probe = b.acquire()
    assert probe and b.state is CircuitState.HALF_OPEN
    assert "cooldown" in seen[-1].reason
    with pytest.raises(CircuitOpenError):
        b.acquire()  # one probe at a time
    b.record_success(probe)
    assert b.state is CircuitState.HALF_OPEN  # close_after=2
    call(b, True)
    assert b.state is CircuitState.CLOSED
    assert "2 probe(s) succeeded" in seen[-1].reason


def test_a_failed_probe_opens_again():
    b, seen, clock = breaker()
    for _ in range(3):
        call(b, False)
    clock.now += 10
    call(b, False)
    assert b.state is CircuitState.OPEN
    assert seen[-1].reason.startswith("probe failed")
    assert [t.to_state for t in seen] == [CircuitState.OPEN, CircuitState.HALF_OPEN, CircuitState.OPEN]


async def test_outage_opens_half_opens_and_closes_through_the_simulator(make_settings, make_runtime):
    # The simulator's 503s say Retry-After: 1; cap it so the retries hit the outage, not wait it out.
    rt = await make_runtime(make_settings(retry={"retry_after_cap_s": 0.01}))
    events = rt.bus.subscribe(kinds=["circuit"])
    scope = CallScope(new_trace_id())
    msg = [{"role": "user", "content": "status?"}]
    outage_ends = time.monotonic() + 2.0
    rt.simulator.start_outage("gpt-4o-mini", 2.0)
    first = await rt.client.call(msg, route="default", scope=scope)
    assert first.deployment == "fallback"  # 3 consecutive 503s tripped primary; traffic moved on
    assert rt.breakers["primary"].state is CircuitState.OPEN
    before = rt.simulator.stats.model("gpt-4o-mini").requests
    again = await rt.client.call(msg, route="default", scope=scope)
    assert again.deployment == "fallback" and again.attempts == 1  # open: primary not even tried
    assert rt.simulator.stats.model("gpt-4o-mini").requests == before
    await asyncio.sleep(outage_ends - time.monotonic() + 0.1)  # outage over, cooldown (0.3 s) long elapsed
    recovered = await rt.client.call(msg, route="default", scope=scope)
    assert recovered.deployment == "primary"
    assert rt.breakers["primary"].state is CircuitState.CLOSED  # close_after=1 in test settings
    states = [(e.data["from_state"], e.data["to_state"]) for e in events.drain()]
    assert states == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]
    await rt.store.writer.flush()
    stored = await rt.store.circuit_events()
    assert [e.to_state for e in reversed(stored)] == ["open", "half_open", "closed"]


@pytest.mark.parametrize(
    ("statuses", "opens"),
    [([400], False), ([422], False), ([400, 422], False), ([401], True), ([403], True), ([404], True)],
)
async def test_which_permanent_errors_count_against_a_deployment(make_settings, make_runtime, statuses, opens):
    """400 and 422 are the request's fault: never retried, never counted, so no run of them opens the
    breaker. 401, 403 and 404 say the deployment is broken (key, permissions, model or URL): never
    retried either, but counted, so a run of them opens it (3 in a row in the test settings)."""
    from agentops.runtime import LLMCallError, PermanentProviderError

    rt = await make_runtime(
        make_settings(
            circuit={"cooldown_s": 60},
            routes={"default": {"chain": ["primary"]}},
            models={"gpt-4o-mini": {"latency_ms": 0, "fail_statuses": statuses}},
        )
    )
    msg = [{"role": "user", "content": "hello"}]
    for _ in range(20):
        with pytest.raises((PermanentProviderError, LLMCallError)):  # the latter: open, nothing sent
            await rt.client.call(msg, route="default", scope=CallScope(new_trace_id()))
    sent = rt.simulator.stats.model("gpt-4o-mini").requests
    if opens:
        assert rt.breakers["primary"].state is CircuitState.OPEN
        assert sent == 3  # counted until the breaker opened; then refused without a request
    else:
        assert rt.breakers["primary"].state is CircuitState.CLOSED
        assert sent == 20  # each call sent once: a permanent error is never retried
