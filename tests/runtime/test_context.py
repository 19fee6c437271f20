"""What agents see through ctx: the validation gate, tools, allowlists, max_steps, task records."""

from __future__ import annotations

import asyncio
import json

import pytest
from pydantic import BaseModel

from agentops.runtime import Context, Registry, TaskInputError, UnknownAgentError, ValidationGateError, agent, tool


class Verdict(BaseModel):
    label: str
    score: int


class Echo(BaseModel):
    text: str


class Job(BaseModel):
    text: str = "hello"


def make_registry() -> Registry:
    reg = Registry()

    @tool(registry=reg)
    async def echo(args: Echo) -> dict[str, str]:
        """Echo the text back."""
        return {"echo": args.text}

    @tool(registry=reg, timeout_s=0.1)
    async def slow(args: Echo) -> str:
        await asyncio.sleep(5)
        return args.text

    @agent(registry=reg, tools=["echo", "slow"], max_steps=3)
    async def worker(ctx: Context, job: Job) -> dict[str, object]:
        return {"echo": await ctx.tool("echo", text=job.text)}

    @agent(registry=reg, tools=["echo"])
    async def sneaky(ctx: Context, job: Job) -> object:
        return await ctx.tool("slow", text=job.text)

    @agent(registry=reg, tools=["echo"], max_steps=3)
    async def looper(ctx: Context, job: Job) -> None:
        while True:
            await ctx.tool("echo", text="again")

    @agent(registry=reg, tools=["echo", "slow"])
    async def misuse(ctx: Context, job: Job) -> object:
        if job.text == "timeout":
            return await ctx.tool("slow", text="x")
        return await ctx.tool("echo", txt="wrong field")

    @agent(registry=reg)
    async def judge(ctx: Context, job: Job) -> Verdict:
        result = await ctx.llm(job.text, output=Verdict, check=lambda v: v.score >= 0 or "score must be >= 0")
        assert result.output is not None
        return result.output

    return reg


def settings_for(make_settings, replies):
    return make_settings(
        runtime={"agent_modules": []},
        routes={"default": {"chain": ["primary"]}},
        models={"gpt-4o-mini": {"latency_ms": 0, "replies": replies}},
    )


async def test_a_bad_reply_is_repaired_with_the_error_fed_back(make_settings, make_runtime):
    replies = ['{"label": "spam"}', '{"label": "spam", "score": -1}', '{"label": "spam", "score": 3}']
    rt = await make_runtime(settings_for(make_settings, replies), make_registry())
    task = await rt.run("judge", {"text": "is this spam?"})
    assert task.status == "succeeded", task.error
    assert task.output == {"label": "spam", "score": 3}
    assert task.steps == 1  # one step, three calls
    spans = await rt.store.spans_for_task(task.id)
    gate = next(s for s in spans if s.kind == "gate")
    assert gate.attributes["agentops.gate.attempts"] == 3
    failures = gate.attributes["agentops.gate.failures"]
    assert "score: Field required" in failures[0]
    assert "score must be >= 0" in failures[1]
    llm = [s for s in spans if s.kind == "llm"]
    assert len(llm) == 3 and all(s.parent_id == gate.span_id for s in llm)
    # The second request carried the first failure back to the model.
    second_input = llm[1].attributes["gen_ai.input.messages"]
    assert "Field required" in second_input[-1]["content"]


async def test_a_reply_that_never_passes_is_a_typed_recorded_failure(make_settings, make_runtime):
    rt = await make_runtime(settings_for(make_settings, ["not json at all"]), make_registry())
    task = await rt.run("judge", {"text": "?"})
    assert task.status == "failed"
    assert task.error_type == "ValidationGateError"
    assert "3 time(s)" in task.error  # max_repairs=2: three replies in all
    spans = await rt.store.spans_for_task(task.id)
    assert next(s for s in spans if s.kind == "gate").status == "error"


async def test_gate_error_can_be_caught_by_the_agent(make_settings, make_runtime):
    reg = make_registry()

    @agent(registry=reg)
    async def careful(ctx: Context, job: Job) -> str:
        try:
            await ctx.llm(job.text, output=Verdict)
        except ValidationGateError as exc:
            return f"gave up after {exc.attempts}"
        return "ok"

    rt = await make_runtime(settings_for(make_settings, ["nope"]), reg)
    task = await rt.run("careful", {"text": "?"})
    assert (task.status, task.output) == ("succeeded", "gave up after 3")


async def test_tools_run_with_validated_arguments_and_are_recorded(make_settings, make_runtime):
    rt = await make_runtime(settings_for(make_settings, []), make_registry())
    task = await rt.run("worker", {"text": "ping"})
    assert task.output == {"echo": {"echo": "ping"}}
    spans = await rt.store.spans_for_task(task.id)
    tool_span = next(s for s in spans if s.kind == "tool")
    assert tool_span.attributes["agentops.result"] == {"echo": "ping"}


async def test_a_tool_off_the_allowlist_is_refused(make_settings, make_runtime):
    rt = await make_runtime(settings_for(make_settings, []), make_registry())
    task = await rt.run("sneaky", {"text": "x"})
    assert task.error_type == "ToolNotAllowedError"
    assert "may not call tool 'slow' (allowed: echo)" in task.error


async def test_bad_tool_arguments_and_timeouts_are_typed_errors(make_settings, make_runtime):
    rt = await make_runtime(settings_for(make_settings, []), make_registry())
    bad = await rt.run("misuse", {"text": "args"})
    assert bad.error_type == "ToolArgumentsError" and "text: Field required" in bad.error
    slow = await rt.run("misuse", {"text": "timeout"})
    assert slow.error_type == "ToolTimeoutError" and "0.1s" in slow.error


async def test_max_steps_stops_a_runaway_loop(make_settings, make_runtime):
    rt = await make_runtime(settings_for(make_settings, []), make_registry())
    task = await rt.run("looper", {})
    assert task.status == "failed"
    assert task.error_type == "MaxStepsExceededError"
    assert task.steps == 3


async def test_bad_input_and_unknown_agents_are_refused_before_anything_runs(make_settings, make_runtime):
    rt = await make_runtime(settings_for(make_settings, []), make_registry())
    with pytest.raises(TaskInputError, match="text: Input should be a valid string"):
        await rt.run("worker", {"text": 5})
    with pytest.raises(UnknownAgentError, match="known: judge, looper, misuse, sneaky, worker"):
        await rt.run("nobody", {})
    assert await rt.store.list_tasks() == []


async def test_sample_agents_run_on_the_simulator(runtime):
    triage = await runtime.run("triage", {"text": "My invoice shows the wrong amount"}, user_id="u1")
    drafting = await runtime.run("drafting", {"topic": "a new dark mode"}, user_id="u2")
    for task in (triage, drafting):
        assert task.status == "succeeded", task.error
        assert task.cost_usd > 0 and task.steps >= 3
    assert triage.output["category"] in {"billing", "technical", "account"}
    assert drafting.output["text"]
    json.dumps([triage.output, drafting.output])
    rows = await runtime.store.costs_by("user")
    assert {r.key for r in rows} == {"u1", "u2"}
