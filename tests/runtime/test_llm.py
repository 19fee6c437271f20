"""The call path: fallback chains, context-window fallback, permanent errors, the ledger."""

from __future__ import annotations

import pytest

from agentops.runtime import CallScope, LLMCallError, PermanentProviderError
from agentops.runtime.simulator import ModelBehaviour
from agentops.runtime.tracing import new_trace_id

MSG = [{"role": "user", "content": "Where is my parcel?"}]


def scope(**kw) -> CallScope:
    return CallScope(new_trace_id(), **kw)


async def test_an_outage_of_the_primary_moves_traffic_to_the_fallback(make_settings, make_runtime):
    rt = await make_runtime(make_settings(retry={"retry_after_cap_s": 0.01}))
    rt.simulator.start_outage("gpt-4o-mini", 30)
    results = [await rt.client.call(MSG, route="default", scope=scope()) for _ in range(5)]
    assert [r.deployment for r in results] == ["fallback"] * 5
    assert results[0].fallbacks == 1
    # After the breaker opened (3 failures), the primary was not asked again.
    assert rt.simulator.stats.model("gpt-4o-mini").requests == 3
    await rt.store.writer.flush()
    rows = await rt.store.costs_by("deployment")
    assert [(r.key, r.calls) for r in rows] == [("fallback", 5)]


async def test_the_whole_chain_down_is_one_error_naming_every_deployment(make_settings, make_runtime):
    rt = await make_runtime(make_settings(retry={"retry_after_cap_s": 0.01}))
    rt.simulator.start_outage("*", 30)
    with pytest.raises(LLMCallError) as info:
        await rt.client.call(MSG, route="default", scope=scope())
    message = str(info.value)
    assert all(name in message for name in ("primary", "fallback", "emergency"))
    calls = await rt.store.llm_calls()
    assert calls[0].status == "error" and calls[0].error_type == "LLMCallError"
    assert await rt.store.ledger_rows() == []  # nothing billed


async def test_a_provider_error_reads_once_and_keeps_the_full_text_for_the_detail(make_settings, make_runtime):
    rt = await make_runtime(make_settings(retry={"max_retries": 0}, circuit={"consecutive_failures": 100}))
    rt.simulator.start_outage("*", 30)
    with pytest.raises(LLMCallError) as info:
        await rt.client.call(MSG, route="default", scope=scope(task_id="t-err"))
    message = str(info.value)
    # Deployments that failed alike are named together; the provider's words appear once.
    assert message == (
        "route 'default' failed on every deployment: primary, fallback, emergency: HTTP 503: "
        "ServiceUnavailableError: The engine is currently overloaded, please try again later."
    ), message
    assert rt.breakers["primary"].last_error.startswith("HTTP 503: ServiceUnavailableError: The engine")
    await rt.store.writer.flush()
    attempts = [s for s in await rt.store.spans_for_task("t-err") if s.kind == "attempt"]
    assert attempts and all(a.error == attempts[0].error for a in attempts)
    assert "litellm.ServiceUnavailableError" in attempts[0].attributes["agentops.error.raw"]  # the detail view


async def test_per_minute_figures_count_failed_attempts_apart_from_failed_calls(make_settings, make_runtime):
    import time

    rt = await make_runtime(make_settings(retry={"max_retries": 0}, circuit={"consecutive_failures": 100}))
    since = time.time() - 1
    rt.simulator.start_outage("gpt-4o-mini", 30)
    for _ in range(3):  # primary fails once each time, the fallback answers: no call failed
        assert (await rt.client.call(MSG, route="default", scope=scope())).deployment == "fallback"
    rt.simulator.start_outage("*", 30)
    with pytest.raises(LLMCallError):  # three failed attempts, one failed call
        await rt.client.call(MSG, route="default", scope=scope())
    await rt.store.writer.flush()
    (bucket,) = await rt.store.call_buckets(since=since, until=time.time() + 1, bucket_s=3600)
    assert (bucket.calls, bucket.errors, bucket.attempt_errors) == (4, 1, 6)


def test_provider_messages_lose_litellms_repeated_prefixes_and_json_bodies():
    from agentops.runtime.calls.provider import provider_message

    assert (
        provider_message("litellm.RateLimitError: RateLimitError: OpenAIException - slow down, please")
        == "slow down, please"
    )
    body = 'litellm.BadRequestError: OpenAIException - {"error": {"message": "bad \'tools\'", "type": "x"}}'
    assert provider_message(body) == "bad 'tools'"
    assert provider_message("Connection refused") == "Connection refused"
    assert provider_message("APIConnectionError") == "APIConnectionError"  # nothing else to keep


async def test_context_window_error_moves_to_a_larger_window(make_settings, make_runtime):
    # primary (gpt-4o-mini) has 128k in litellm's map, fallback/emergency (gpt-4.1-*) about 1M.
    settings = make_settings(
        models={"gpt-4o-mini": {"latency_ms": 0, "context_window": 50}},
        deployments={
            "primary": {"model": "openai/gpt-4o-mini", "api_base": "sim"},
            "small": {"model": "openai/gpt-4o", "api_base": "sim"},  # 128k too: must be skipped
            "fallback": {"model": "openai/gpt-4.1-mini", "api_base": "sim"},
        },
        routes={"default": {"chain": ["primary", "small", "fallback"]}},
    )
    rt = await make_runtime(settings)
    long = [{"role": "user", "content": "word " * 400}]
    result = await rt.client.call(long, route="default", scope=scope())
    assert result.deployment == "fallback"
    assert rt.simulator.stats.model("gpt-4o-mini").requests == 1  # not retried
    assert "gpt-4o" not in rt.simulator.stats.models  # smaller-or-equal window skipped


async def test_permanent_error_does_not_fall_back_by_default(make_settings, make_runtime):
    rt = await make_runtime(make_settings(models={"gpt-4o-mini": {"latency_ms": 0, "fail_statuses": [401]}}))
    with pytest.raises(PermanentProviderError) as info:
        await rt.client.call(MSG, route="default", scope=scope())
    assert info.value.status == 401
    assert "gpt-4.1-mini" not in rt.simulator.stats.models


async def test_permanent_error_falls_back_when_configured(make_settings, make_runtime):
    rt = await make_runtime(
        make_settings(
            models={"gpt-4o-mini": {"latency_ms": 0, "fail_statuses": [404]}},
            routes={"default": {"chain": ["primary", "fallback"], "fallback_on_permanent": True}},
        )
    )
    result = await rt.client.call(MSG, route="default", scope=scope())
    assert result.deployment == "fallback"
    assert rt.simulator.stats.model("gpt-4o-mini").requests == 1


async def test_each_call_is_recorded_with_attempts_and_attribution(make_settings, make_runtime):
    rt = await make_runtime(make_settings(circuit={"consecutive_failures": 100, "min_calls": 100}))
    rt.simulator.set_behaviour("gpt-4o-mini", ModelBehaviour(latency_ms=0, rate_502=0.5))
    result = await rt.client.call(MSG, route="default", scope=scope(task_id="t1", agent="a", user_id="u"))
    calls = await rt.store.llm_calls()
    assert calls[0].span_id == result.span_id
    assert calls[0].attempts == result.attempts == result.retries + 1
    ledger = await rt.store.ledger_rows()
    assert len(ledger) == 1
    row = ledger[0]
    assert (row.task_id, row.agent, row.user_id, row.deployment) == ("t1", "a", "u", "primary")
    assert row.cost_usd == pytest.approx(result.cost_usd)
