"""Model routing: rules pick the route (agent, prompt, length, a classifier prompt's label) and the
decision and its reason are recorded on the call's span."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from agentops.runtime import Context, Registry, Runtime, agent
from agentops.runtime.calls.router import ModelRouter
from agentops.runtime.config import Settings
from agentops.runtime.config.costs import RouterSettings

RULES = {
    "auto": RouterSettings(
        default="strong",
        rules=[
            {"agent": "drafting", "route": "strong"},
            {"prompt": "triage.classify", "route": "cheap"},
            {"max_chars": 40, "route": "cheap"},
            {"min_chars": 2000, "route": "strong"},
            {"classifier": "router.classify", "labels": {"simple": "cheap", "complex": "strong"}},
        ],
    )
}


async def never(prompt: str, text: str) -> str | None:
    raise AssertionError("the classifier must not run when an earlier rule decides")


@pytest.mark.parametrize(
    ("agent_name", "prompt", "text", "route", "reason"),
    [
        ("drafting", None, "x" * 10, "strong", "rule 1: agent drafting"),
        ("triage", "triage.classify", "x" * 500, "cheap", "rule 2: prompt triage.classify"),
        ("triage", None, "x" * 40, "cheap", "rule 3: 40 chars <= 40"),
        ("triage", None, "x" * 2000, "strong", "rule 4: 2000 chars >= 2000"),
    ],
)
async def test_the_first_matching_rule_decides(agent_name, prompt, text, route, reason):
    choice = await ModelRouter(RULES).choose("auto", agent=agent_name, prompt=prompt, text=text, classify=never)
    assert (choice.route, choice.reason) == (route, reason)


@pytest.mark.parametrize(
    ("label", "route", "reason"),
    [
        ("simple", "cheap", "rule 5: classifier router.classify said 'simple'"),
        ("complex", "strong", "rule 5: classifier router.classify said 'complex'"),
        ("gibberish", "strong", "no rule matched: default"),
        (None, "strong", "no rule matched: default"),
    ],
)
async def test_a_classifier_label_picks_the_route_and_an_unknown_one_falls_through(label, route, reason):
    asked: list[tuple[str, str]] = []

    async def classify(prompt: str, text: str) -> str | None:
        asked.append((prompt, text))
        return label

    choice = await ModelRouter(RULES).choose("auto", agent="triage", prompt=None, text="y" * 100, classify=classify)
    assert (choice.route, choice.reason) == (route, reason)
    assert asked == [("router.classify", "y" * 100)]


def test_a_router_naming_an_unknown_route_is_refused(make_settings):
    with pytest.raises(Exception, match=r"routers\.auto names route 'nowhere'"):
        make_settings(routers={"auto": {"default": "nowhere"}})
    with pytest.raises(Exception, match="a classifier rule needs labels"):
        make_settings(routers={"auto": {"default": "default", "rules": [{"classifier": "c"}]}})


class Difficulty(BaseModel):
    label: Literal["simple", "complex"]


CLASSIFIER = f"""
description = "Is this request simple or complex?"
output = "{__name__}:Difficulty"
route = "cheap"
template = "Classify: {{{{ text }}}}"
[params]
temperature = 0
"""


class Ask(BaseModel):
    text: str


def routed_registry() -> Registry:
    reg = Registry()

    @agent(registry=reg, route="auto")
    async def helper(ctx: Context, ask: Ask) -> dict[str, Any]:
        reply = await ctx.llm(ask.text, name="answer")
        return {"deployment": reply.response.deployment}

    return reg


def routed_settings(make_settings, prompts: Path) -> Settings:
    return make_settings(
        runtime={"agent_modules": []},
        prompts={"dir": str(prompts)},
        routes={
            "strong": {"chain": ["fallback"]},
            "cheap": {"chain": ["emergency"]},
            "default": {"chain": ["primary"]},
        },
        routers={
            "auto": {
                "default": "strong",
                "rules": [
                    {"max_chars": 30, "route": "cheap"},
                    {"classifier": "router.classify", "labels": {"simple": "cheap", "complex": "strong"}},
                ],
            }
        },
    )


async def test_an_agent_on_a_router_gets_the_chosen_route_and_the_span_says_why(make_settings, tmp_path: Path):
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "router.classify.toml").write_text(CLASSIFIER)
    rt = Runtime(routed_settings(make_settings, prompts), routed_registry())
    await rt.start()
    await rt.wait_ready()
    try:
        short = await rt.run("helper", {"text": "Hi there"})
        assert short.output == {"deployment": "emergency"}
        long_text = "Please explain, step by step, how the invoice total is computed for the team plan."
        long = await rt.run("helper", {"text": long_text})
        await rt.store.writer.flush()
        spans = {s.name: s for s in await rt.store.spans_for_task(long.id)}
        classify_reply = json.loads(spans["router router.classify"].attributes["gen_ai.output.messages"])
        expected = {"simple": "emergency", "complex": "fallback"}[classify_reply["label"]]
        assert long.output == {"deployment": expected}
        answer = spans["answer"].attributes
        assert answer["agentops.router"] == "auto"
        assert answer["agentops.router.route"] == {"emergency": "cheap", "fallback": "strong"}[expected]
        assert (
            answer["agentops.router.reason"] == f"rule 2: classifier router.classify said {classify_reply['label']!r}"
        )
        short_spans = {s.name: s for s in await rt.store.spans_for_task(short.id)}
        assert short_spans["answer"].attributes["agentops.router.reason"] == "rule 1: 8 chars <= 30"
        assert "router router.classify" not in short_spans  # no classifier call when a rule decides first
    finally:
        await rt.stop()


async def test_a_failing_classifier_falls_through_to_the_default_route(make_settings, tmp_path: Path):
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "router.classify.toml").write_text(CLASSIFIER)
    settings = routed_settings(make_settings, prompts)
    rt = Runtime(settings, routed_registry())
    await rt.start()
    await rt.wait_ready()
    try:
        rt.simulator.start_outage("gpt-4.1-nano", 60)  # the classifier's route (cheap) is down
        task = await rt.run("helper", {"text": "Please explain how the invoice total is computed for my plan."})
        assert task.status == "succeeded" and task.output == {"deployment": "fallback"}  # strong, the default
        await rt.store.writer.flush()
        spans = {s.name: s for s in await rt.store.spans_for_task(task.id)}
        assert spans["router router.classify"].status == "error"
        assert spans["answer"].attributes["agentops.router.reason"] == "no rule matched: default"
    finally:
        await rt.stop()


async def test_a_router_named_where_no_rules_run_uses_its_default(make_settings, tmp_path: Path):
    from agentops.runtime import CallScope
    from agentops.runtime.tracing import new_trace_id

    rt = Runtime(routed_settings(make_settings, tmp_path), routed_registry())
    await rt.start()
    await rt.wait_ready()
    try:
        reply = await rt.client.call([{"role": "user", "content": "hi"}], route="auto", scope=CallScope(new_trace_id()))
        assert reply.deployment == "fallback"  # the router's default, strong
        with pytest.raises(Exception, match="route 'nowhere' is not defined"):
            await rt.client.call([{"role": "user", "content": "hi"}], route="nowhere", scope=CallScope(new_trace_id()))
    finally:
        await rt.stop()
