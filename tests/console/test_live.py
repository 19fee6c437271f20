"""Coalescing of events into batches, pausing, and the import hygiene of the core."""

from __future__ import annotations

import subprocess
import sys

from agentops.console.live import MAX_TRANSITIONS, LiveBatch, LiveFeed
from agentops.runtime import EventBus


class Recorder:
    def __init__(self) -> None:
        self.batches: list[LiveBatch] = []

    def apply_live(self, batch: LiveBatch) -> None:
        self.batches.append(batch)


def publish_task(bus: EventBus, task_id: str, spans: int) -> None:
    bus.publish("task.started", task_id=task_id, agent="triage")
    for i in range(spans):
        bus.publish("span.started", span_id=f"{task_id}-{i}", task_id=task_id, kind="llm")
        bus.publish("span.ended", span_id=f"{task_id}-{i}", task_id=task_id, kind="llm", status="ok")


def test_a_burst_becomes_one_batch_per_tick():
    bus = EventBus()
    feed, view = LiveFeed(bus.subscribe(100_000)), Recorder()
    feed.attach(view)
    for n in range(1000):
        publish_task(bus, f"t{n}", spans=2)
    feed.tick()
    (batch,) = view.batches
    assert batch.events == 5000
    assert len(batch.tasks) == 1000
    assert batch.steps["t7"] == 2


def test_paused_feed_holds_and_delivers_merged_on_resume():
    bus = EventBus()
    feed, view = LiveFeed(bus.subscribe()), Recorder()
    feed.attach(view)
    feed.paused = True
    publish_task(bus, "a", 1)
    feed.tick()
    publish_task(bus, "b", 3)
    feed.tick()
    assert view.batches == []
    feed.paused = False
    feed.tick()
    (batch,) = view.batches
    assert batch.tasks == {"a", "b"} and batch.steps == {"a": 1, "b": 3}


def test_held_batches_are_bounded():
    held = LiveBatch()
    for n in range(300):
        held.merge(LiveBatch(transitions=[{"n": n}], events=1))
    assert len(held.transitions) == MAX_TRANSITIONS
    assert held.transitions[-1] == {"n": 299}
    big = LiveBatch(tasks={f"t{n}" for n in range(6000)}, events=6000)
    held.merge(big)
    assert held.overflow and not held.tasks  # views reload instead


def test_importing_the_runtime_loads_no_ui_library():
    code = (
        "import sys, agentops.runtime, agentops.runtime.demo, agentops.runtime.tasks.pool;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'));"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_cli_module_loads_neither_textual_nor_the_runtime():
    code = (
        "import sys, agentops.console.cli;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'textual' or m == 'agentops.runtime');"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
