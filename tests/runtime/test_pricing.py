"""Costs in the ledger equal hand-computed figures from litellm's price map, cached tokens included."""

from __future__ import annotations

import pytest

from agentops.runtime import CallScope, Price, PriceBook, Usage
from agentops.runtime.calls.provider import load_litellm
from agentops.runtime.tracing import new_trace_id

SYSTEM = {"role": "system", "content": "You are a meticulous assistant. " * 40}


async def test_ledger_cost_matches_the_price_map_with_cached_tokens(make_settings, make_runtime):
    rt = await make_runtime(make_settings(routes={"default": {"chain": ["primary"]}}))
    first = await rt.client.call(
        [SYSTEM, {"role": "user", "content": "one"}], route="default", scope=CallScope(new_trace_id())
    )
    second = await rt.client.call(
        [SYSTEM, {"role": "user", "content": "two"}], route="default", scope=CallScope(new_trace_id())
    )
    assert first.usage.cached_tokens == 0
    assert second.usage.cached_tokens > 0  # the simulator saw the system prompt before

    entry = load_litellm().model_cost["gpt-4o-mini"]
    for r in (first, second):
        u = r.usage
        expected = (
            (u.input_tokens - u.cached_tokens) * entry["input_cost_per_token"]
            + u.cached_tokens * entry["cache_read_input_token_cost"]
            + u.output_tokens * entry["output_cost_per_token"]
        )
        assert r.cost_usd == pytest.approx(expected, rel=1e-12)
    ledger = await rt.store.ledger_rows()
    assert [row.cost_usd for row in ledger] == pytest.approx([first.cost_usd, second.cost_usd], rel=1e-12)
    assert ledger[1].cached_tokens == second.usage.cached_tokens
    # Cached tokens are cheaper, never counted twice: same tokens all uncached would cost more.
    full = Price(entry["input_cost_per_token"], entry["output_cost_per_token"], entry["input_cost_per_token"])
    assert second.cost_usd < full.cost(second.usage)
    # The ledger shows what provider prompt caching saved: the cached tokens' discount.
    saving = second.usage.cached_tokens * (entry["input_cost_per_token"] - entry["cache_read_input_token_cost"])
    assert [row.saving_usd for row in ledger] == pytest.approx([0.0, saving], rel=1e-12)
    assert second.saving_usd == pytest.approx(full.cost(second.usage) - second.cost_usd, rel=1e-9)


async def test_cached_token_pricing_with_overrides_matches_hand_figures(make_settings, make_runtime):
    rt = await make_runtime(
        make_settings(
            routes={"default": {"chain": ["primary"]}},
            prices={"gpt-4o-mini": {"input_per_mtok": 4.0, "output_per_mtok": 8.0, "cached_input_per_mtok": 1.0}},
        )
    )
    await rt.client.call([SYSTEM, {"role": "user", "content": "one"}], route="default", scope=CallScope(new_trace_id()))
    r = await rt.client.call(
        [SYSTEM, {"role": "user", "content": "two"}], route="default", scope=CallScope(new_trace_id())
    )
    u = r.usage
    assert u.cached_tokens > 0
    assert r.cost_usd == pytest.approx(
        ((u.input_tokens - u.cached_tokens) * 4 + u.cached_tokens * 1 + u.output_tokens * 8) / 1e6
    )
    assert r.saving_usd == pytest.approx(u.cached_tokens * 3 / 1e6)
    (row,) = await rt.store.costs_by("model")
    assert row.saving_usd == pytest.approx(u.cached_tokens * 3 / 1e6)


def test_prompt_caching_markers_go_only_to_providers_that_need_them():
    from agentops.runtime.calls.client import with_cache_markers
    from agentops.runtime.calls.provider import Deployment

    params = {"temperature": 0}
    claude = Deployment("claude", "anthropic/claude-3-5-haiku-20241022", None, None, 30.0)
    marked = with_cache_markers(claude, params)
    assert marked["cache_control_injection_points"] == [{"location": "message", "role": "system"}]
    assert params == {"temperature": 0}  # the caller's parameters are left alone
    gpt = Deployment("gpt", "openai/gpt-4o-mini", None, None, 30.0)
    assert with_cache_markers(gpt, params) == params  # OpenAI caches long prefixes by itself


async def test_price_override_from_config(make_settings, make_runtime):
    rt = await make_runtime(
        make_settings(
            routes={"default": {"chain": ["primary"]}},
            prices={"gpt-4o-mini": {"input_per_mtok": 1.0, "output_per_mtok": 2.0, "cached_input_per_mtok": 0.5}},
        )
    )
    r = await rt.client.call([{"role": "user", "content": "hi"}], route="default", scope=CallScope(new_trace_id()))
    assert r.cost_usd == pytest.approx(r.usage.input_tokens * 1e-6 + r.usage.output_tokens * 2e-6)


async def test_an_unpriced_model_is_reported_not_free(make_settings, make_runtime):
    rt = await make_runtime(
        make_settings(
            deployments={"primary": {"model": "openai/house-model-7b", "api_base": "sim"}},
            routes={"default": {"chain": ["primary"]}},
        )
    )
    r = await rt.client.call([{"role": "user", "content": "hi"}], route="default", scope=CallScope(new_trace_id()))
    assert r.priced is False
    rows = await rt.store.costs_by("model")
    assert rows[0].unpriced_calls == 1


def test_cached_tokens_are_a_subset_of_input_tokens():
    book = PriceBook(
        {"m": {"input_cost_per_token": 1.0, "output_cost_per_token": 10.0, "cache_read_input_token_cost": 0.1}}
    )
    cost, priced = book.cost("openai/m", Usage(input_tokens=100, output_tokens=5, cached_tokens=60))
    assert priced
    assert cost == pytest.approx(40 * 1.0 + 60 * 0.1 + 5 * 10.0)
    assert book.cost("unknown", Usage(1, 1, 0)) == (0.0, False)
