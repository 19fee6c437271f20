"""The response cache in the call path: exact hits and misses, scope isolation, TTL, restarts,
invalidation by prompt version, and what the span and the ledger say of a hit."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from agentops.runtime import CallScope, Context, LocalControl, Registry, Runtime, agent
from agentops.runtime.tracing import new_trace_id

MSG = [{"role": "user", "content": "What are your opening hours on Sunday?"}]


def scope(**kw) -> CallScope:
    return CallScope(new_trace_id(), **kw)


async def span_attrs(rt: Runtime, span_id: str) -> dict[str, Any]:
    await rt.store.writer.flush()
    rows = await rt.store._all("SELECT attributes FROM spans WHERE span_id = ?", (span_id,))
    return json.loads(rows[0][0])


async def test_a_repeated_deterministic_request_is_answered_from_the_cache(make_settings, make_runtime):
    rt = await make_runtime(make_settings())
    first = await rt.client.call(MSG, route="default", scope=scope(user_id="ana"), temperature=0)
    again = await rt.client.call(MSG, route="default", scope=scope(user_id="ana"), temperature=0)
    assert rt.simulator.stats.requests == 1
    assert (again.text, again.cache, again.deployment, again.cost_usd) == (first.text, "exact", "cache", 0.0)
    assert again.saving_usd == first.cost_usd > 0
    attrs = await span_attrs(rt, again.span_id)
    assert attrs["agentops.cache.hit"] == "exact" and attrs["agentops.cache.entry"] == first.span_id
    await rt.store.writer.flush()
    (row,) = [r for r in await rt.store.ledger_rows() if r.cache == "exact"]
    assert (row.cost_usd, row.saving_usd, row.user_id) == (0.0, first.cost_usd, "ana")
    (by_user,) = await rt.store.costs_by("user")
    assert (by_user.calls, by_user.cache_hits, by_user.saving_usd) == (2, 1, first.cost_usd)
    stats = await LocalControl.of(rt).cache_stats(since=0)
    assert (stats.calls, stats.exact_hits, stats.entries) == (2, 1, 1) and stats.hit_rate == 0.5


async def test_what_is_not_deterministic_or_differs_is_not_served(make_settings, make_runtime):
    rt = await make_runtime(make_settings())
    await rt.client.call(MSG, route="default", scope=scope(user_id="ana"), temperature=0)
    await rt.client.call(MSG, route="default", scope=scope(user_id="ana"), temperature=0.7)  # sampled
    await rt.client.call(MSG, route="default", scope=scope(user_id="ana"))  # default temperature: 1
    await rt.client.call(MSG, route="default", scope=scope(user_id="bob"), temperature=0)  # another user
    await rt.client.call(MSG, route="default", scope=scope(user_id="ana"), temperature=0, max_tokens=9)
    other = [{"role": "user", "content": "What are your opening hours on Monday?"}]
    await rt.client.call(other, route="default", scope=scope(user_id="ana"), temperature=0)
    assert rt.simulator.stats.requests == 6


async def test_a_shared_scope_serves_every_user(make_settings, make_runtime):
    rt = await make_runtime(make_settings(cache={"scope": "shared"}))
    await rt.client.call(MSG, route="default", scope=scope(user_id="ana"), temperature=0)
    hit = await rt.client.call(MSG, route="default", scope=scope(user_id="bob"), temperature=0)
    assert hit.cache == "exact" and rt.simulator.stats.requests == 1


async def test_entries_expire_and_survive_a_restart(make_settings, make_runtime):
    settings = make_settings(cache={"ttl_s": 0.3})
    rt = await make_runtime(settings)
    await rt.client.call(MSG, route="default", scope=scope(), temperature=0)
    await rt.stop()
    rt = await make_runtime(settings)  # the same store file
    assert (await rt.client.call(MSG, route="default", scope=scope(), temperature=0)).cache == "exact"
    await asyncio.sleep(0.35)
    assert (await rt.client.call(MSG, route="default", scope=scope(), temperature=0)).cache is None


async def test_the_cache_is_bounded_least_recently_used_first(make_settings, make_runtime):
    rt = await make_runtime(make_settings(cache={"max_entries": 2}))
    asks = [[{"role": "user", "content": f"question {i}"}] for i in range(3)]
    await rt.client.call(asks[0], route="default", scope=scope(), temperature=0)
    await rt.client.call(asks[1], route="default", scope=scope(), temperature=0)
    await rt.client.call(asks[0], route="default", scope=scope(), temperature=0)  # a hit: 0 is used again
    await rt.client.call(asks[2], route="default", scope=scope(), temperature=0)  # evicts 1, not 0
    assert len(rt.cache) == 2
    assert (await rt.client.call(asks[0], route="default", scope=scope(), temperature=0)).cache == "exact"
    assert (await rt.client.call(asks[1], route="default", scope=scope(), temperature=0)).cache is None


PROMPT = """
template = "Answer briefly: {{ question }}"
[params]
temperature = 0
"""


class Question(BaseModel):
    question: str


def asker() -> Registry:
    reg = Registry()

    @agent(registry=reg)
    async def ask(ctx: Context, q: Question) -> dict[str, Any]:
        reply = await ctx.llm("answer", {"question": q.question})
        return {"text": reply.text, "cache": reply.response.cache}

    return reg


async def test_a_new_prompt_version_is_never_served_its_predecessors_answers(make_settings, tmp_path: Path):
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "answer.toml").write_text(PROMPT)
    settings = make_settings(prompts={"dir": str(prompts)}, runtime={"agent_modules": []})
    rt = Runtime(settings, asker())
    await rt.start()
    await rt.wait_ready()
    try:
        first = await rt.run("ask", {"question": "When do you open?"}, user_id="u1")
        second = await rt.run("ask", {"question": "When do you open?"}, user_id="u1")
        assert (first.output["cache"], second.output["cache"]) == (None, "exact")
        # Only the description changes: the same messages, but a new version (a new artifact id).
        (prompts / "answer.toml").write_text('description = "answers, reviewed"\n' + PROMPT)
        await rt.prompts.load()
        await LocalControl.of(rt).prompt_action("answer", "promote", version=2, actor="ana")
        third = await rt.run("ask", {"question": "When do you open?"}, user_id="u1")
        assert third.output["cache"] is None
        assert rt.simulator.stats.requests == 2
    finally:
        await rt.stop()


async def test_clearing_a_prompts_entries_is_audited(make_settings, tmp_path: Path):
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "answer.toml").write_text(PROMPT)
    rt = Runtime(make_settings(prompts={"dir": str(prompts)}, runtime={"agent_modules": []}), asker())
    await rt.start()
    await rt.wait_ready()
    try:
        await rt.run("ask", {"question": "When do you open?"}, user_id="u1")
        await rt.client.call(MSG, route="default", scope=scope(), temperature=0)  # not the prompt's
        control = LocalControl.of(rt)
        assert await control.clear_cache(prompt="answer", actor="ana") == 1
        assert len(rt.cache) == 1
        (entry,) = [a for a in await control.audit_log() if a.action == "cache.clear"]
        assert (entry.actor, entry.target, entry.details) == ("ana", "answer", {"entries": 1})
    finally:
        await rt.stop()


SEMANTIC = """
template = "{{ question }}"
[params]
temperature = 0
[cache]
semantic = true
"""


async def semantic_runtime(make_settings, tmp_path: Path) -> Runtime:
    prompts = tmp_path / "prompts"
    prompts.mkdir(exist_ok=True)
    (prompts / "answer.toml").write_text(SEMANTIC)
    rt = Runtime(make_settings(prompts={"dir": str(prompts)}, runtime={"agent_modules": []}), asker())
    await rt.start()
    await rt.wait_ready()
    return rt


async def test_a_paraphrase_is_served_with_its_entry_and_similarity_on_the_span(make_settings, tmp_path: Path):
    rt = await semantic_runtime(make_settings, tmp_path)
    try:
        first = await rt.run("ask", {"question": "How do I reset my password?"}, user_id="u1")
        again = await rt.run("ask", {"question": "How can I reset my password?"}, user_id="u1")
        assert (first.output["cache"], again.output["cache"]) == (None, "semantic")
        assert again.output["text"] == first.output["text"]
        assert rt.simulator.stats.requests == 1
        await rt.store.writer.flush()
        (span,) = [s for s in await rt.store.spans_for_task(again.id) if s.kind == "llm"]
        a = span.attributes
        assert a["agentops.cache.hit"] == "semantic" and a["agentops.cache.entry"].endswith(":s")
        assert 0.9 <= a["agentops.cache.similarity"] <= 1.0
        assert a["agentops.cache.matched_text"] == "How do I reset my password?"
        stats = await LocalControl.of(rt).cache_stats(since=0)
        assert stats.semantic_hits == 1 and stats.saving_usd > 0
    finally:
        await rt.stop()


async def test_a_near_identical_question_with_another_number_is_not_served(make_settings, tmp_path: Path):
    rt = await semantic_runtime(make_settings, tmp_path)
    try:
        await rt.run("ask", {"question": "Can I get a refund within 30 days of purchase?"}, user_id="u1")
        other = await rt.run("ask", {"question": "Can I get a refund within 60 days of purchase?"}, user_id="u1")
        assert other.output["cache"] is None and rt.simulator.stats.requests == 2
        await rt.store.writer.flush()
        (span,) = [s for s in await rt.store.spans_for_task(other.id) if s.kind == "llm"]
        rejected = span.attributes.get("agentops.cache.rejected", [])
        assert all("numbers differ" in r["reason"] for r in rejected)  # why a close match was refused
    finally:
        await rt.stop()


async def test_no_answer_crosses_users_and_semantic_entries_survive_a_restart(make_settings, tmp_path: Path):
    rt = await semantic_runtime(make_settings, tmp_path)
    try:
        await rt.run("ask", {"question": "How do I reset my password?"}, user_id="u1")
        other_user = await rt.run("ask", {"question": "How can I reset my password?"}, user_id="u2")
        assert other_user.output["cache"] is None
    finally:
        await rt.stop()
    rt = await semantic_runtime(make_settings, tmp_path)  # the same store: entries reloaded with their vectors
    try:
        again = await rt.run("ask", {"question": "How can I reset my password?"}, user_id="u1")
        assert again.output["cache"] in ("semantic", "exact")
        assert rt.simulator.stats.requests == 0
    finally:
        await rt.stop()


async def test_a_clear_made_on_the_store_file_reaches_a_running_runtime(make_settings):
    settings = make_settings(prompts={"evaluate_every_s": 0.1}, workers={"poll_s": 0.05})
    rt = Runtime(settings, workers=True)
    await rt.start()
    await rt.wait_ready()
    try:
        await rt.client.call(MSG, route="default", scope=scope(), temperature=0)
        assert len(rt.cache) == 1
        await rt.store.writer.flush()
        other = await LocalControl.open_store(settings)  # what `agentops cache clear` does
        try:
            assert await other.clear_cache(actor="ops", via="cli") == 1
        finally:
            await other.close()
        for _ in range(50):
            if len(rt.cache) == 0:
                break
            await asyncio.sleep(0.05)
        assert len(rt.cache) == 0
        assert (await rt.client.call(MSG, route="default", scope=scope(), temperature=0)).cache is None
    finally:
        await rt.stop()
