"""The production patterns as Context helpers, through the simulator over real HTTP: parallel
branches, votes, evaluator-optimizer refinement and sub-tasks through the durable queue, each
journaled so that a task restarted in the middle replays what already ran."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from runtime_support import start, wait_status

from agentops.runtime import Context, Critique, Registry, agent, tool

GATE: dict[str, asyncio.Event] = {}
"""The slow tools wait on GATE["step"] (a new event for each test: an event belongs to one loop)."""
SEEN: list[str] = []
"""Side effects of the tools below, in the order they happened."""
INFLIGHT = {"now": 0, "most": 0}


class Note(BaseModel):
    text: str


class Topics(BaseModel):
    topics: list[str]


def patterns_registry() -> Registry:
    reg = Registry()

    @tool(registry=reg)
    async def record(args: Note) -> dict[str, str]:
        """A side effect, counted; holds the branch a moment to overlap with the others."""
        INFLIGHT["now"] += 1
        INFLIGHT["most"] = max(INFLIGHT["most"], INFLIGHT["now"])
        await asyncio.sleep(0.05)
        INFLIGHT["now"] -= 1
        SEEN.append(args.text)
        return {"recorded": args.text}

    @tool(registry=reg, timeout_s=60)
    async def wait_then_record(args: Note) -> dict[str, str]:
        """A side effect that waits for the test to let it go."""
        await GATE["step"].wait()
        SEEN.append(args.text)
        return {"recorded": args.text}

    @agent(registry=reg, tools=["record"], max_steps=20)
    async def fan_out(ctx: Context, note: Note) -> dict[str, Any]:
        branches = [lambda c, i=i: c.tool("record", text=f"{note.text}-{i}") for i in range(6)]
        results = await ctx.parallel(*branches, limit=2, name="record all")
        return {"results": results}

    @agent(registry=reg, tools=["record", "wait_then_record"], max_steps=20)
    async def mixed(ctx: Context, note: Note) -> dict[str, Any]:
        async def ask_model(c: Context) -> str | None:
            return (await c.llm(f"Summarise {note.text}", name="summarise")).text

        results = await ctx.parallel(
            ask_model,
            lambda c: c.tool("record", text="fast"),
            lambda c: c.tool("wait_then_record", text="slow"),
            name="sections",
        )
        return {"summary": results[0], "fast": results[1], "slow": results[2]}

    @agent(registry=reg)
    async def voter(ctx: Context, note: Note) -> dict[str, Any]:
        vote = await ctx.vote(f"Which colour? {note.text}", n=5, quorum=0.5, escalate=True, limit=2)
        return {
            "value": vote.value,
            "agreement": vote.agreement,
            "counts": vote.counts,
            "replayed": sum(b.replayed for b in vote.ballots),
            "quorum_met": vote.quorum_met,
            "decided_by": vote.decided_by,
        }

    @agent(registry=reg)
    async def refiner(ctx: Context, note: Note) -> dict[str, Any]:
        async def generate(c: Context, feedback: str | None) -> str:
            ask = f"Write a reply about {note.text}" + (f". Feedback: {feedback}" if feedback else "")
            return (await c.llm(ask, name="draft")).text or ""

        async def critique(c: Context, draft: str) -> Critique:
            verdict = await c.llm(f"Judge this reply: {draft}", output=Verdict, route="critic", name="critique")
            assert verdict.output is not None
            return Critique(verdict.output.passed, verdict.output.feedback)

        refined = await ctx.refine(generate, critique, max_rounds=3)
        return {"passed": refined.passed, "rounds": refined.rounds, "history": refined.history}

    @agent(registry=reg, tools=["wait_then_record"])
    async def worker(ctx: Context, note: Note) -> dict[str, Any]:
        done = await ctx.tool("wait_then_record", text=note.text)
        return {"worked": done["recorded"]}

    @agent(registry=reg, max_steps=20)
    async def orchestrator(ctx: Context, note: Note) -> dict[str, Any]:
        handles = [await ctx.spawn("worker", {"text": f"{note.text}-{i}"}) for i in range(3)]
        results = await ctx.gather(*handles)
        return {"outputs": [r.output for r in results], "statuses": [r.status for r in results]}

    return reg


class Verdict(BaseModel):
    passed: bool
    feedback: str


@pytest.fixture(autouse=True)
def _reset() -> None:
    GATE["step"] = asyncio.Event()
    SEEN.clear()
    INFLIGHT.update(now=0, most=0)


def settings(make_settings: Any, **sections: Any) -> Any:
    return make_settings(
        runtime={"agent_modules": []},
        routes={"default": {"chain": ["primary"]}, "critic": {"chain": ["emergency"]}},
        workers={"concurrency": 4, "poll_s": 0.05, "lease_s": 5},
        **sections,
    )


async def test_parallel_runs_branches_at_once_within_the_limit_in_order_with_a_span_each(make_settings):
    rt = await start(settings(make_settings), patterns_registry())
    try:
        task = await rt.run("fan_out", {"text": "n"})
        assert task.status == "succeeded", task.error
        assert task.output["results"] == [{"recorded": f"n-{i}"} for i in range(6)]  # in branch order
        assert INFLIGHT["most"] == 2  # two at once, never more
        spans = await rt.store.spans_for_task(task.id)
        (parallel,) = [s for s in spans if s.kind == "parallel"]
        branches = [s for s in spans if s.kind == "branch"]
        assert parallel.name == "record all" and parallel.attributes["agentops.branches"] == 6
        assert len(branches) == 6 and all(b.parent_id == parallel.span_id for b in branches)
        tools = [s for s in spans if s.kind == "tool"]
        assert {t.parent_id for t in tools} == {b.span_id for b in branches}  # one tool under each branch
        assert task.steps == 6  # every branch's step counts against max_steps
    finally:
        await rt.stop()


async def test_a_parallel_restarted_in_the_middle_replays_the_branches_that_ran(make_settings):
    s = settings(make_settings)
    first = await start(s, patterns_registry(), workers=True)
    try:
        task, _ = await first.submit("mixed", {"text": "the outage"})
        for _ in range(400):  # the fast branches are journaled; the slow one waits
            entries = await first.tasks.journal.load(task.id)
            if sum(e.status == "done" for e in entries.values()) >= 2:
                break
            await asyncio.sleep(0.02)
        assert SEEN == ["fast"]
    finally:
        await first.stop(grace_s=0)  # the process goes: the running task is handed back
    second = await start(s, patterns_registry(), workers=True)
    try:
        GATE["step"].set()
        done = await wait_status(second, task.id, "succeeded", timeout=30)
        assert done.output["fast"] == {"recorded": "fast"} and done.output["slow"] == {"recorded": "slow"}
        assert done.output["summary"]
        assert SEEN == ["fast", "slow"]  # the fast tool did not run again
        assert second.simulator.stats.model("gpt-4o-mini").requests == 0  # the summary replayed
    finally:
        await second.stop()


async def test_a_vote_takes_the_majority_of_distinct_ballots(make_settings):
    replies = ["blue", "blue", "red", "blue", "green"]
    rt = await start(
        settings(make_settings, models={"gpt-4o-mini": {"latency_ms": 0, "replies": replies}}), patterns_registry()
    )
    try:
        task = await rt.run("voter", {"text": "sky"})
        assert task.status == "succeeded", task.error
        out = task.output
        assert out["value"] == "blue" and out["agreement"] == 0.6 and out["quorum_met"] is True
        assert out["counts"] == {"blue": 3, "red": 1, "green": 1}
        assert rt.simulator.stats.model("gpt-4o-mini").requests == 5
        spans = await rt.store.spans_for_task(task.id)
        (vote,) = [s for s in spans if s.kind == "parallel"]
        assert vote.attributes["agentops.vote.winner"] == "blue" and vote.attributes["agentops.vote.agreement"] == 0.6
        llm = [s for s in spans if s.kind == "llm"]
        assert sorted(s.name for s in llm) == [f"vote ballot {i}" for i in range(1, 6)]
        assert {s.parent_id for s in llm} <= {s.span_id for s in spans if s.kind == "branch"}
    finally:
        await rt.stop()


async def test_distinct_seeds_draw_distinct_answers_from_the_simulator(make_settings):
    rt = await start(settings(make_settings), patterns_registry())
    try:
        task = await rt.run("voter", {"text": "sea"})
        assert task.status in ("succeeded", "waiting"), task.error
        spans = [s for s in await rt.store.spans_for_task(task.id) if s.kind == "llm"]
        answers = {s.attributes.get("gen_ai.output.messages") for s in spans}
        assert len(spans) == 5 and len(answers) > 1  # not one reply five times
    finally:
        await rt.stop()


async def test_a_vote_below_its_quorum_asks_an_operator_and_a_restart_replays_the_ballots(make_settings):
    replies = ["blue", "red", "green", "amber", "violet"]  # five answers, one each: 20 % agreement
    s = settings(make_settings, models={"gpt-4o-mini": {"latency_ms": 0, "replies": replies}})
    rt = await start(s, patterns_registry(), workers=True)
    try:
        task, _ = await rt.submit("voter", {"text": "dusk"})
        await wait_status(rt, task.id, "waiting")
        (pending,) = await rt.tasks.escalations.find()
        assert "1 of 5 ballots agree, below the quorum of 50%" in pending.reason
        assert pending.context["counts"] == dict.fromkeys(replies, 1)
    finally:
        await rt.stop()
    again = await start(s, patterns_registry(), workers=True)  # a restart while it waits
    try:
        await again.tasks.escalations.decide(pending.id, "edit", actor="ana", via="test", args={"value": "teal"})
        done = await wait_status(again, task.id, "succeeded")
        assert done.output["value"] == "teal" and done.output["decided_by"] == "ana"
        assert done.output["replayed"] == 5  # every ballot came from the journal
        assert again.simulator.stats.model("gpt-4o-mini").requests == 0
    finally:
        await again.stop()


async def test_a_rejected_vote_fails_the_task_with_the_operators_reason(make_settings):
    replies = ["blue", "red", "green", "amber", "violet"]
    s = settings(make_settings, models={"gpt-4o-mini": {"latency_ms": 0, "replies": replies}})
    rt = await start(s, patterns_registry(), workers=True)
    try:
        task, _ = await rt.submit("voter", {"text": "dawn"})
        await wait_status(rt, task.id, "waiting")
        (pending,) = await rt.tasks.escalations.find()
        await rt.tasks.escalations.decide(pending.id, "deny", actor="ana", via="test", comment="ask a human")
        done = await wait_status(rt, task.id, "failed")
        assert done.error_type == "QuorumError" and "ask a human" in done.error
    finally:
        await rt.stop()


async def test_refine_stops_when_the_critic_passes_and_records_every_round(make_settings):
    verdicts = [
        json.dumps({"passed": False, "feedback": "name the ticket"}),
        json.dumps({"passed": True, "feedback": ""}),
    ]
    models = {"gpt-4.1-nano": {"latency_ms": 0, "replies": verdicts}}
    rt = await start(settings(make_settings, models=models), patterns_registry())
    try:
        task = await rt.run("refiner", {"text": "a refund"})
        assert task.status == "succeeded", task.error
        assert task.output["passed"] is True and task.output["rounds"] == 2
        assert task.output["history"] == [
            {"round": 1, "passed": False, "feedback": "name the ticket"},
            {"round": 2, "passed": True, "feedback": ""},
        ]
        spans = await rt.store.spans_for_task(task.id)
        (refine,) = [s for s in spans if s.kind == "refine"]
        assert refine.attributes["agentops.refine.rounds"] == task.output["history"]
        calls = [s for s in spans if s.kind == "llm"]
        assert [c.name for c in calls] == ["draft", "critique", "draft", "critique"]
        assert all(c.parent_id in (refine.span_id, *(g.span_id for g in spans if g.kind == "gate")) for c in calls)
        drafts = [c for c in calls if c.name == "draft"]
        assert "Feedback: name the ticket" in json.dumps(drafts[1].attributes["gen_ai.input.messages"])
    finally:
        await rt.stop()


async def test_refine_gives_up_after_its_rounds(make_settings):
    models = {"gpt-4.1-nano": {"latency_ms": 0, "replies": [json.dumps({"passed": False, "feedback": "no"})]}}
    rt = await start(settings(make_settings, models=models), patterns_registry())
    try:
        task = await rt.run("refiner", {"text": "a delay"})
        assert task.output["passed"] is False and task.output["rounds"] == 3
        drafts = [s for s in await rt.store.spans_for_task(task.id) if s.name == "draft"]
        assert len(drafts) == 3  # no draft after the last critique
    finally:
        await rt.stop()


async def test_sub_tasks_run_through_the_queue_in_the_parents_trace_and_survive_its_restart(
    make_settings, tmp_path: Path
):
    s = settings(make_settings)
    first = await start(s, patterns_registry(), workers=True)
    try:
        parent, _ = await first.submit("orchestrator", {"text": "brief"}, user_id="u-1")
        waiting = await wait_status(first, parent.id, "waiting")
        assert waiting.awaiting_subtasks == 1  # parked, holding no worker, while its workers run
        children = [t for t in await first.store.list_tasks(limit=50) if t.parent_id == parent.id]
        assert len(children) == 3
    finally:
        await first.stop(grace_s=0)  # the process goes with the workers mid-task
    second = await start(s, patterns_registry(), workers=True)
    try:
        GATE["step"].set()
        done = await wait_status(second, parent.id, "succeeded", timeout=30)
        assert done.output["outputs"] == [{"worked": f"brief-{i}"} for i in range(3)]
        assert done.output["statuses"] == ["succeeded"] * 3
        children = [t for t in await second.store.list_tasks(limit=50) if t.parent_id == parent.id]
        assert len(children) == 3  # the resumed parent spawned no second set
        assert sorted(SEEN) == [f"brief-{i}" for i in range(3)]  # each worker's side effect once
        spawns = [sp for sp in await second.store.spans_for_task(parent.id) if sp.kind == "spawn"]
        for child in children:
            assert child.trace_id == parent.trace_id and child.user_id == "u-1"
            roots = [sp for sp in await second.store.spans_for_task(child.id) if sp.kind == "task"]
            assert roots and all(r.parent_id in {sp.span_id for sp in spawns} for r in roots)  # one trace, one tree
    finally:
        await second.stop()


async def test_a_gather_after_its_sub_tasks_ended_returns_at_once(make_settings):
    GATE["step"].set()  # the workers do not wait
    rt = await start(settings(make_settings), patterns_registry(), workers=True)
    try:
        parent, _ = await rt.submit("orchestrator", {"text": "quick"})
        done = await wait_status(rt, parent.id, "succeeded", timeout=30)
        assert done.output["statuses"] == ["succeeded"] * 3
    finally:
        await rt.stop()


async def test_parallel_with_no_branches_fails_the_task_saying_why(make_settings):
    reg = Registry()

    @agent(registry=reg)
    async def nothing(ctx: Context, note: Note) -> dict[str, Any]:
        await ctx.parallel(limit=2)
        return {}

    rt = await start(settings(make_settings), reg)
    try:
        task = await rt.run("nothing", {"text": "x"})
        assert task.status == "failed" and "parallel takes 1 to 100 branches, not 0" in task.error
    finally:
        await rt.stop()
