"""The event bus: fan-out, kind filters, and bounded buffers that never block the publisher."""

from __future__ import annotations

import asyncio

from agentops.runtime import EventBus


async def test_every_subscriber_gets_every_event_in_order():
    bus = EventBus()
    a, b = bus.subscribe(), bus.subscribe()
    for i in range(3):
        bus.publish("task.started", n=i)
    assert [e.data["n"] for e in a.drain()] == [0, 1, 2]
    assert [e.seq for e in b.drain()] == [1, 2, 3]


async def test_kind_prefixes_filter():
    bus = EventBus()
    circuits = bus.subscribe(kinds=["circuit"])
    bus.publish("span.started")
    bus.publish("circuit.transition", to_state="open")
    assert [e.kind for e in circuits.drain()] == ["circuit.transition"]


async def test_a_slow_subscriber_loses_its_oldest_events_and_never_blocks():
    bus = EventBus()
    slow = bus.subscribe(maxsize=100)
    for i in range(10_000):
        bus.publish("span.ended", n=i)  # returns at once: nothing awaits the subscriber
    events = slow.drain()
    assert len(events) == 100
    assert events[0].data["n"] == 9_900  # the newest are kept
    assert slow.dropped == 9_900


async def test_waiting_wakes_on_publish_and_close_ends_iteration():
    bus = EventBus()
    sub = bus.subscribe()
    got: list[str] = []

    async def consume() -> None:
        async for event in sub:
            got.append(event.kind)

    task = asyncio.create_task(consume())
    await asyncio.sleep(0)
    bus.publish("task.finished")
    await asyncio.sleep(0.01)
    sub.close()
    await asyncio.wait_for(task, 1)
    assert got == ["task.finished"]
    assert bus.subscriber_count == 0
