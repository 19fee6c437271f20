"""Prompt files as immutable versions, labels that move without a restart, canaries that roll
themselves back, and shadows that are judged and never act — on real runtimes and the simulator."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from runtime_support import start

from agentops.runtime import Context, LocalControl, Registry, Runtime, agent, tool
from agentops.runtime.errors import ConfigError, DecisionError
from agentops.runtime.rollouts.prompts import bucket

GREET = """
description = "Greet someone"
template = "Say hello to {{ name }}"
[params]
temperature = 0
"""
STEP = asyncio.Event()


class Who(BaseModel):
    name: str


def greeter_registry(effects: list[dict[str, Any]] | None = None) -> Registry:
    reg = Registry()

    @tool(registry=reg)
    async def send_gift(args: Who) -> dict[str, str]:
        """A side effect only the agent's own code may cause."""
        if effects is not None:
            effects.append(args.model_dump())
        return {"sent": args.name}

    @agent(registry=reg, tools=["send_gift"])
    async def greeter(ctx: Context, who: Who) -> dict[str, Any]:
        reply = await ctx.llm("greet", {"name": who.name})
        return {"text": reply.text}

    @agent(registry=reg)
    async def two_steps(ctx: Context, who: Who) -> dict[str, Any]:
        await ctx.llm("greet", {"name": who.name}, name="first")
        await STEP.wait()
        await ctx.llm("greet", {"name": who.name}, name="second")
        return {}

    @agent(registry=reg)
    async def greet_twice_asking(ctx: Context, who: Who) -> dict[str, Any]:
        await ctx.llm("greet", {"name": who.name}, name="first")
        await ctx.escalate("greet again?", timeout=None)
        await ctx.llm("greet", {"name": who.name}, name="second")
        return {}

    return reg


def write(path: Path, name: str, text: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    (path / f"{name}.toml").write_text(text)


async def test_same_content_is_the_same_version_and_a_change_is_a_new_one(make_settings, tmp_path: Path):
    prompts = tmp_path / "prompts"
    write(prompts, "greet", GREET)
    settings = make_settings(prompts={"dir": str(prompts)})
    rt = await start(settings, greeter_registry())
    try:
        first = rt.prompts.label("greet", "production")
        again = await rt.prompts.load()
        assert ("greet", first, False) in again  # unchanged: no new version
        write(prompts, "greet", GREET.replace("Say hello", "Say hi"))
        changed = {n: (v, new) for n, v, new in await rt.prompts.load()}
        assert changed["greet"] == (first + 1, True)
        assert rt.prompts.label("greet", "production") == first  # waits to be promoted
        assert rt.prompts.label("greet", "latest") == first + 1
        v1, v2 = rt.prompts.version("greet", first), rt.prompts.version("greet", first + 1)
        assert v1.artifact_id != v2.artifact_id and len(v2.artifact_id) == 16
        assert set(v2.content) == {"prompt", "model", "code_sha256", "dependencies"}
        assert v2.content["dependencies"]["litellm"] == "1.110.2"
        write(prompts, "greet", GREET)  # back to the first content: the first version, not a third
        assert ("greet", first, False) in await rt.prompts.load()

        task = await rt.run("greeter", {"name": "Ada"}, user_id="u1")
        assert task.status == "succeeded", task.error
        spans = await rt.store.spans_for_task(task.id)
        llm = next(s for s in spans if s.kind == "llm")
        assert llm.attributes["gen_ai.prompt.name"] == "greet"
        assert llm.attributes["agentops.prompt.version"] == first
        assert llm.attributes["agentops.prompt.artifact_id"] == v1.artifact_id
        assert llm.attributes["agentops.prompt.label"] == "production"
        assert llm.attributes["gen_ai.input.messages"][-1]["content"] == "Say hello to Ada"
        (call,) = await rt.store.llm_calls(task_id=task.id)
        assert (call.prompt, call.prompt_version) == ("greet", first)
        (row,) = await LocalControl.of(rt).costs("prompt")
        assert row.key == f"greet@v{first}"
    finally:
        await rt.stop()


async def test_bad_prompt_files_fail_at_start_naming_file_and_key(make_settings, tmp_path: Path):
    prompts = tmp_path / "prompts"
    write(prompts, "greet", "temperture = 1\n" + GREET)
    with pytest.raises(ConfigError, match=r"greet.toml: unknown key\(s\) temperture"):
        await Runtime(make_settings(prompts={"dir": str(prompts)}), greeter_registry()).start()
    write(prompts, "greet", 'template = "{{ name "')
    with pytest.raises(ConfigError, match=r"greet.toml: template: .*line 1"):
        await Runtime(make_settings(prompts={"dir": str(prompts)}), greeter_registry()).start()


async def test_a_rollback_takes_effect_on_the_next_step_of_a_running_task(make_settings, tmp_path: Path):
    prompts = tmp_path / "prompts"
    write(prompts, "greet", GREET)
    settings = make_settings(prompts={"dir": str(prompts)})
    rt = await start(settings, greeter_registry())
    control = LocalControl.of(rt)
    try:
        write(prompts, "greet", GREET.replace("Say hello", "Say hi"))
        await rt.prompts.load()
        await control.prompt_action("greet", "promote", version=2, actor="ana")
        STEP.clear()
        running = asyncio.create_task(rt.run("two_steps", {"name": "Bo"}))
        for _ in range(500):
            tasks = await rt.store.list_tasks(limit=1)
            spans = await rt.store.spans_for_task(tasks[0].id) if tasks else []
            if any(s.name == "first" and s.end_time for s in spans):
                break
            await asyncio.sleep(0.02)
        await control.prompt_action("greet", "rollback", actor="ana")  # while the task waits between steps
        STEP.set()
        task = await asyncio.wait_for(running, 30)
        assert task.status == "succeeded", task.error
        spans = {s.name: s for s in await rt.store.spans_for_task(task.id) if s.kind == "llm"}
        assert spans["first"].attributes["agentops.prompt.version"] == 2
        assert spans["second"].attributes["agentops.prompt.version"] == 1
        stored = await rt.store.get_task(task.id)
        assert stored is not None and stored.prompts == task.prompts == ["greet@v2", "greet@v1"]
        audit = [(a.actor, a.action) for a in await control.audit_log()]
        assert ("ana", "prompt.promote") in audit and ("ana", "prompt.rollback") in audit
        with pytest.raises(DecisionError, match="is production already"):
            await control.prompt_action("greet", "canary.start", version=1, actor="ana")
        await control.prompt_action("greet", "canary.start", version=2, actor="ana")
        await control.prompt_action("greet", "promote", version=2, actor="ana")  # ends its canary as promoted
        assert rt.prompts.active("greet", "canary") is None and rt.prompts.label("greet", "canary") is None
        assert [r.status for r in await control.rollouts("greet")] == ["promoted"]
        with pytest.raises(DecisionError, match="takes no version"):
            await control.prompt_action("greet", "rollback", version=9, actor="ana")
    finally:
        STEP.set()
        await rt.stop()


async def test_a_task_records_the_versions_it_ran_across_a_park_and_a_label_move(make_settings, tmp_path: Path):
    from runtime_support import wait_status

    prompts = tmp_path / "prompts"
    write(prompts, "greet", GREET)
    settings = make_settings(prompts={"dir": str(prompts)}, workers={"poll_s": 0.05})
    rt = await start(settings, greeter_registry(), workers=True)
    control = LocalControl.of(rt)
    try:
        task, _ = await rt.submit("greet_twice_asking", {"name": "Al"})
        parked = await wait_status(rt, task.id, "waiting")
        assert parked.prompts == ["greet@v1"]  # kept while it waits
        write(prompts, "greet", GREET.replace("Say hello", "Say hi"))
        await rt.prompts.load()
        await control.prompt_action("greet", "promote", version=2, actor="ana")
        (pending,) = await rt.tasks.escalations.find()
        await rt.tasks.escalations.decide(pending.id, "approve", actor="ana", via="test")
        done = await wait_status(rt, task.id, "succeeded")
        # The first step replayed from the journal (v1, as it ran then); the second ran v2.
        assert done.prompts == ["greet@v1", "greet@v2"]
        assert (await control.get_task(task.id)).prompts == ["greet@v1", "greet@v2"]
    finally:
        await rt.stop()


async def test_a_failing_canary_rolls_back_at_its_first_stage(make_settings, tmp_path: Path):
    prompts = tmp_path / "prompts"
    write(prompts, "greet", GREET)
    settings = make_settings(
        models={"bad-model": {"latency_ms": 0, "rate_500": 1.0}},
        deployments={
            "primary": {"model": "openai/gpt-4o-mini", "api_base": "sim"},
            "bad": {"model": "openai/bad-model", "api_base": "sim", "price_as": "gpt-4o-mini"},
        },
        routes={"default": {"chain": ["primary"]}, "bad": {"chain": ["bad"]}},
        retry={"max_retries": 0, "base_delay_s": 0.01, "max_delay_s": 0.01, "deadline_s": 5},
        circuit={"min_calls": 1000, "consecutive_failures": 1000},
        prompts={"dir": str(prompts), "evaluate_every_s": 0.1},
        workers={"concurrency": 4, "poll_s": 0.05},
    )
    rt = await start(settings, greeter_registry(), workers=True)
    control = LocalControl.of(rt)
    events = rt.bus.subscribe(kinds=["prompt"])
    try:
        write(prompts, "greet", 'route = "bad"\n' + GREET + "[canary]\nstages = [50, 100]\nmin_calls = 4\n")
        await rt.prompts.load()
        await control.prompt_action("greet", "canary.start", version=2, actor="ana")
        for i in range(40):
            await rt.submit("greeter", {"name": f"n{i}"}, user_id=f"user-{i}")
        rolled: dict[str, Any] = {}
        for _ in range(300):
            for e in events.drain():
                if e.data.get("change") == "canary.rolled_back":
                    rolled = e.data
            if rolled:
                break
            await asyncio.sleep(0.05)
        assert rolled, "the canary was never rolled back"
        assert rolled["reason"].startswith("stage 50%: error rate 100.0% vs production 0.0%")
        (rollout,) = await control.rollouts("greet")
        assert rollout.status == "rolled_back" and rollout.stage == 0 and rollout.started_by == "ana"
        summary = next(p for p in await control.prompts() if p.name == "greet")
        assert summary.labels["production"] == 1 and "canary" not in summary.labels and summary.canary is None
        audit = [(a.actor, a.action) for a in await control.audit_log()]
        assert ("canary", "prompt.canary.rolled_back") in audit
        versions = {v.version: v for v in await control.prompt_versions("greet")}
        assert versions[2].error_rate == 1.0 and versions[2].calls >= 4
    finally:
        await rt.stop()


async def test_a_shadow_is_judged_never_acts_and_raises_an_alert_on_regression(make_settings, tmp_path: Path):
    prompts = tmp_path / "prompts"
    write(prompts, "greet", GREET)
    judge = '{"score": 0.1, "reason": "the candidate ignored the request"}'
    settings = make_settings(
        models={"judge-model": {"latency_ms": 0, "replies": [judge]}},
        deployments={
            "primary": {"model": "openai/gpt-4o-mini", "api_base": "sim"},
            "judge": {"model": "openai/judge-model", "api_base": "sim", "price_as": "gpt-4o-mini"},
        },
        routes={"default": {"chain": ["primary"]}, "judge": {"chain": ["judge"]}},
        prompts={"dir": str(prompts), "evaluate_every_s": 0.1},
        workers={"concurrency": 2, "poll_s": 0.05},
    )
    builtin_judge = (Path(__file__).parents[2] / "runtime/agents/prompts/judge.toml").read_text()
    write(prompts, "judge", 'route = "judge"\n' + builtin_judge)
    effects: list[dict[str, Any]] = []
    rt = await start(settings, greeter_registry(effects), workers=True)
    control = LocalControl.of(rt)
    alerts = rt.bus.subscribe(kinds=["prompt.alert"])
    try:
        # v2 offers the agent's side-effecting tool: the simulator answers with a call to it.
        write(prompts, "greet", 'tools = ["send_gift"]\n' + GREET + "[shadow]\nmin_judged = 3\nalert_below = 0.5\n")
        await rt.prompts.load()
        await control.prompt_action("greet", "shadow.start", version=2, actor="ana")
        for i in range(4):
            task = await rt.run("greeter", {"name": f"n{i}"}, user_id=f"u{i}")
            assert task.status == "succeeded"
            assert "send_gift" not in json.dumps(task.output)  # the user only ever sees production's reply
        await rt.prompts.drain()
        alert: list[Any] = []
        for _ in range(100):
            alert += alerts.drain()
            if alert:
                break
            await asyncio.sleep(0.05)
        assert alert and "scored 0.10 on average" in alert[0].data["reason"]
        assert effects == []  # the shadow's tool calls were never executed
        assert (await rt.store._all("SELECT COUNT(*) FROM tool_calls"))[0][0] == 0
        summary = next(p for p in await control.prompts() if p.name == "greet")
        assert summary.shadow is not None and summary.shadow.judged == 4 and summary.shadow.mean_score == 0.1
        calls = await rt.store.llm_calls()
        shadow_calls = [c for c in calls if c.prompt == "greet" and c.prompt_version == 2]
        assert len(shadow_calls) == 4  # a copy of each live request
        versions = {v.version: v for v in await control.prompt_versions("greet")}
        assert versions[2].judge_score == 0.1 and versions[1].judge_score is None
    finally:
        await rt.stop()


def test_canary_buckets_are_stable_and_match_their_shares():
    units = [f"greet:user-{i}" for i in range(10_000)]
    first = [bucket(u) for u in units]
    assert first == [bucket(u) for u in units]  # sticky
    for share in (1, 10, 50):
        inside = sum(1 for b in first if b < share)
        sigma = (10_000 * share / 100 * (1 - share / 100)) ** 0.5
        assert abs(inside - 100 * share) <= 4 * sigma, (share, inside)


async def test_a_named_label_picks_a_version_for_a_step(make_settings, tmp_path: Path):
    prompts = tmp_path / "prompts"
    write(prompts, "greet", GREET)
    rt = await start(make_settings(prompts={"dir": str(prompts)}), greeter_registry())
    control = LocalControl.of(rt)
    try:
        write(prompts, "greet", GREET.replace("Say hello", "Say hi"))
        await rt.prompts.load()
        await control.prompt_action("greet", "label", version=2, label="beta", actor="ana")
        assert rt.prompts.resolve("greet", "u1", "beta").version.version == 2
        assert rt.prompts.resolve("greet", "u1").version.version == 1  # production is unchanged
        with pytest.raises(DecisionError, match="other than canary"):
            await control.prompt_action("greet", "label", version=2, label="production", actor="ana")
        await control.prompt_action("greet", "label", label="beta", actor="ana")  # no version: removed
        assert rt.prompts.label("greet", "beta") is None
    finally:
        await rt.stop()


async def test_a_prompt_on_a_router_is_versioned_by_the_routers_rules_and_routes(make_settings, tmp_path: Path):
    prompts = tmp_path / "prompts"
    write(prompts, "greet", GREET)
    routes = {"default": {"chain": ["primary"]}, "cheap": {"chain": ["emergency"]}}

    def settings(max_chars: int) -> Any:
        router = {"default": "default", "rules": [{"max_chars": max_chars, "route": "cheap"}]}
        return make_settings(
            prompts={"dir": str(prompts)}, routes=routes, routers={"auto": router}, runtime={"default_route": "auto"}
        )

    rt = await start(settings(50), greeter_registry())
    try:
        v1 = rt.prompts.version("greet", rt.prompts.label("greet", "production"))
        model = v1.content["model"]
        assert model["route"] == "auto" and model["chain"]["router"]["rules"][0]["max_chars"] == 50
        assert [d["deployment"] for d in model["chain"]["routes"]["cheap"]] == ["emergency"]
    finally:
        await rt.stop()
    again = await start(settings(50), greeter_registry())  # the same rules: the same version
    try:
        assert again.prompts.versions_of("greet") == [1]
    finally:
        await again.stop()
    changed = await start(settings(80), greeter_registry())  # a rule changed: a new version
    try:
        assert changed.prompts.versions_of("greet") == [2, 1]
    finally:
        await changed.stop()
