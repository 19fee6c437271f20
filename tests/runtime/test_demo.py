"""The durable queue's worker pool, and the demo's traffic and fault schedule."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from agentops.runtime import LocalControl, Runtime
from agentops.runtime.demo import Demo, FaultSchedule, demo_settings


async def test_pool_runs_submissions_and_counts(make_settings):
    runtime = Runtime(make_settings(workers={"concurrency": 3, "poll_s": 0.05}), workers=True)
    await runtime.start()
    try:
        for n in range(5):
            await runtime.submit("triage", {"text": f"ticket {n}"}, user_id="u-a")
        for _ in range(600):
            if runtime.pool.stats().completed == 5:
                break
            await asyncio.sleep(0.02)
        s = runtime.pool.stats()
        assert (s.completed, s.failed, s.busy, s.idle) == (5, 0, 0, 3)
        status = await LocalControl.of(runtime).status()
        assert (status.workers, status.workers_busy, status.workers_idle, status.queue_depth) == (3, 0, 3, 0)
    finally:
        await runtime.stop()


def test_fault_schedule_starts_early_and_repeats():
    events = FaultSchedule().events(300)
    assert events[0] == (20.0, "outage-start")
    assert (50.0, "outage-end") in events and (140.0, "outage-start") in events
    assert any(kind == "burst-start" for _, kind in events)


def test_traffic_is_reproducible_for_a_seed(tmp_path: Path):
    def first(seed: int) -> list:
        d = Demo(seed=seed, store_path=tmp_path / "d.db")
        return [d.next_submission() for _ in range(20)]

    assert first(1) == first(1)
    assert first(1) != first(2)
    d = Demo(seed=1, store_path=tmp_path / "d.db")
    agents = {d.next_submission()[0] for _ in range(200)}
    assert agents == {"triage", "drafting", "review", "polishing", "briefing"}  # every sample agent


def test_demo_settings_keep_their_own_store(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("AGENTOPS_STORE__PATH", str(tmp_path / "precious.db"))
    assert demo_settings(1, tmp_path / "demo.db").store.path == tmp_path / "demo.db"


async def test_demo_opens_a_circuit_during_the_scheduled_outage(tmp_path: Path):
    demo = Demo(
        seed=1,
        rate=8,
        store_path=tmp_path / "demo.db",
        schedule=FaultSchedule(outage_first_s=0.5, outage_duration_s=30, burst_first_s=1000),
    )
    for model in demo.settings.simulator.models.values():
        model.latency_ms = 20
    control = await demo.start()
    try:
        for _ in range(600):
            if any(c.state != "closed" for c in await control.circuits()):
                break
            await asyncio.sleep(0.1)
        line = await demo.summary()
        assert "circuits not closed: primary" in line, line
    finally:
        await demo.stop()


async def test_headless_run_prints_summary_lines(tmp_path: Path):
    from agentops.runtime.demo import run_headless

    lines: list[str] = []
    demo = Demo(seed=1, rate=4, store_path=tmp_path / "demo.db")
    await run_headless(demo, duration_s=1.5, every_s=0.5, emit=lines.append)
    assert lines[0].startswith("agentops demo: seed 1, 4 tasks/s")
    assert len(lines) >= 4
    # The last line is the totals at the end of the run, not a repeat of the line before it.
    assert lines[-1].startswith("totals: [    2s]"), lines[-1]
    assert not lines[-2].startswith("totals") and "[    2s]" not in lines[-2], lines[-2]


async def test_the_demos_agents_read_its_flags_and_a_kill_switch_changes_what_they_do(tmp_path: Path):
    demo = Demo(seed=3, rate=20, store_path=tmp_path / "demo.db", schedule=FaultSchedule(outage_first_s=1000))
    for model in demo.settings.simulator.models.values():
        model.latency_ms = 5
    control = await demo.start()
    try:
        for _ in range(300):  # every flag evaluated by the traffic: the Flags screen is never empty
            flags = {f.name: f for f in await control.flags()}
            if flags and all(sum(f.per_minute.values()) > 0 for f in flags.values()):
                break
            await asyncio.sleep(0.1)
        assert set(flags) == {"reply_style", "polish_drafts", "kb_search"}
        assert all(sum(f.per_minute.values()) > 0 for f in flags.values()), flags
        assert len(flags["reply_style"].per_minute) >= 2  # several variants served
        sim = demo.runtime.simulator
        assert sim is not None  # the classifier (the cheap route's first model) says "technical" from now on
        verdict = '{"category": "technical", "urgency": "normal", "summary": "export broken"}'
        sim.set_behaviour(
            "gpt-4.1-nano", sim.config.behaviour("gpt-4.1-nano").model_copy(update={"replies": [verdict]})
        )

        async def technical_ticket(text: str) -> tuple[Any, list[Any]]:
            assert len(text) > 50  # past the router's short-ticket rule: answered on the default route
            task, _ = await demo.runtime.submit("triage", {"text": text})
            for _ in range(300):
                done = await control.get_task(task.id)
                if done is not None and done.finished_at is not None:
                    break
                await asyncio.sleep(0.05)
            assert done is not None and done.status == "succeeded", done
            assert done.output["category"] == "technical"
            return done, await control.task_spans(task.id)

        _, spans = await technical_ticket("The export button does nothing when I click it, in every browser.")
        (root,) = [s for s in spans if s.kind == "task"]
        assert root.attributes["agentops.flag.kb_search"]["value"] is True
        assert any(s.kind == "tool" and s.name == "tool search_kb" for s in spans)  # offered, and called
        assert "agentops.flag.reply_style" in root.attributes
        await control.set_flag("kb_search", {"killed": True}, actor="test", via="test")
        _, spans = await technical_ticket("Sync has been stuck at ninety-nine percent since early this morning.")
        (root,) = [s for s in spans if s.kind == "task"]
        assert root.attributes["agentops.flag.kb_search"] == {"value": False, "reason": "kill"}
        assert not any(s.kind == "tool" for s in spans)  # the knowledge-base tool was not offered
    finally:
        await demo.stop()


async def test_a_headless_demo_that_cannot_start_says_why_and_ends(tmp_path: Path):
    from agentops.runtime.demo import run_headless
    from agentops.runtime.errors import ConfigError

    demo = Demo(seed=1, store_path=tmp_path / "demo.db")

    async def never_ready() -> None:
        raise ConfigError("providers did not load")

    demo.runtime.wait_ready = never_ready  # type: ignore[method-assign]
    lines: list[str] = []
    await asyncio.wait_for(run_headless(demo, duration_s=1.0, every_s=0.1, emit=lines.append), 30)
    assert "the demo could not start: ConfigError: providers did not load" in lines
