"""Pilot tests: navigation, filtering, pausing, drill-down and live circuits, on a real runtime."""

from __future__ import annotations

import asyncio

import pytest
from console_support import control_of, wait_for

from agentops.console.app import ConsoleApp
from agentops.console.screens import CircuitsScreen, HelpScreen, TraceScreen, TracesScreen
from agentops.runtime import Runtime

TICKETS = [
    ("triage", {"text": "I was charged twice this month."}, "u-alice"),
    ("triage", {"text": "The export button does nothing."}, "u-bob"),
    ("drafting", {"topic": "dark mode"}, "u-alice"),
    ("triage", {"text": "Please change my email address."}, "u-carol"),
    ("drafting", {"topic": "maintenance window"}, "u-bob"),
]


async def run_tasks(rt: Runtime, items=TICKETS) -> list[str]:
    done = await asyncio.gather(*(rt.run(a, i, user_id=u) for a, i, u in items))
    return [t.id for t in done]


def traces(app: ConsoleApp) -> TracesScreen:
    screen = app.screen
    assert isinstance(screen, TracesScreen)
    return screen


@pytest.fixture
async def rt(make_settings, make_runtime) -> Runtime:
    return await make_runtime(make_settings())


async def test_screens_by_number_keys_and_palette(rt):
    app = ConsoleApp(control_of(rt))
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.phase == "ready", what="runtime ready")
        assert app.current_mode == "traces"
        await pilot.press("2")
        assert app.current_mode == "circuits"
        await pilot.press("3")
        assert app.current_mode == "costs"
        await pilot.press("1")
        assert app.current_mode == "traces"
        await pilot.press("colon")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "CommandPalette", what="palette")
        await pilot.press(*"circuits")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.current_mode == "circuits", what="palette jump")
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, CircuitsScreen)


async def test_new_tasks_stream_in_newest_first_and_filter_narrows(rt):
    app = ConsoleApp(control_of(rt))
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.control is not None)
        ids = await run_tasks(rt)
        screen = traces(app)
        await wait_for(
            pilot,
            lambda: (
                len(screen._cells) == 5 and all(screen.tasks[i].status == "succeeded" for i in ids if i in screen.tasks)
            ),
            what="5 finished rows",
        )
        newest = max(screen.tasks.values(), key=lambda t: t.created_at)
        assert screen.table.coordinate_to_cell_key((0, 0)).row_key.value == newest.id
        await pilot.press("slash", *"agent:drafting")
        await wait_for(pilot, lambda: screen.table.row_count == 2, what="filtered rows")
        await pilot.press("enter", "escape")
        assert screen.table.row_count == 5
        await pilot.press("slash", *"!u-alice")
        await wait_for(pilot, lambda: screen.table.row_count == 3, what="negated filter")


async def test_pause_holds_updates_until_resumed(rt):
    app = ConsoleApp(control_of(rt))
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.control is not None)
        await pilot.press("p")
        assert app.paused
        await run_tasks(rt, TICKETS[:2])
        await pilot.pause(0.5)
        screen = traces(app)
        assert screen.table.row_count == 0  # events arrived but are held
        await pilot.press("p")
        await wait_for(pilot, lambda: screen.table.row_count == 2, what="rows after resume")


async def test_cursor_holds_position_off_the_top(rt):
    app = ConsoleApp(control_of(rt))
    await run_tasks(rt, TICKETS[:3])
    async with app.run_test(size=(120, 36)) as pilot:
        screen = traces(app)
        await wait_for(pilot, lambda: screen.table.row_count == 3)
        await pilot.press("j")
        held = screen._cursor_key()
        await run_tasks(rt, TICKETS[3:])
        await wait_for(pilot, lambda: screen.table.row_count == 5)
        assert screen._cursor_key() == held  # not dragged to the newest
        await pilot.press("g")
        await run_tasks(rt, TICKETS[:1])
        await wait_for(pilot, lambda: screen.table.row_count == 6)
        newest = max(screen.tasks.values(), key=lambda t: t.created_at)
        assert screen._cursor_key() == newest.id  # at the top: follows


async def test_drill_down_shows_span_tree_and_back(rt):
    (task_id,) = await run_tasks(rt, TICKETS[:1])
    app = ConsoleApp(control_of(rt))
    async with app.run_test(size=(120, 36)) as pilot:
        screen = traces(app)
        await wait_for(pilot, lambda: screen.table.row_count == 1)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TraceScreen) and app.screen.spans, what="spans")
        trace = app.screen
        assert trace.task_id == task_id
        kinds = {s.kind for s in trace.spans}
        assert {"task", "llm", "attempt"} <= kinds
        detail = str(trace.query_one("#span-detail").render())
        assert "deployment" in detail and "tokens" in detail
        await pilot.press("escape")
        assert isinstance(app.screen, TracesScreen)


async def test_circuit_transition_appears_on_circuits_screen(make_settings, make_runtime):
    rt = await make_runtime(make_settings(circuit={"cooldown_s": 30.0}))
    app = ConsoleApp(control_of(rt))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("2")
        screen = app.screen
        assert isinstance(screen, CircuitsScreen)
        await wait_for(pilot, lambda: screen.states.get("primary") == "closed", what="breakers shown")
        assert rt.simulator is not None
        rt.simulator.start_outage("gpt-4o-mini", 30)
        await run_tasks(rt, TICKETS[:2])  # primary fails, traffic falls back
        await wait_for(pilot, lambda: screen.states.get("primary") == "open", timeout=5, what="open on screen")
        # The state comes from a poll, the history from the live event: either may land first.
        await wait_for(
            pilot,
            lambda: any(h[1] == "primary" and h[3] == "open" for h in screen.history),
            timeout=5,
            what="the transition in the history",
        )
        assert app.runtime_status is not None


async def test_toasts_are_capped_and_kept_off_an_open_modal(rt):
    from rich.text import Text

    from agentops.console.app import MAX_TOASTS
    from agentops.console.screens import ConfirmScreen

    async def act(control, actor, value):
        return None

    app = ConsoleApp(control_of(rt))
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.control is not None, what="connected")
        for n in range(MAX_TOASTS + 3):
            app.alert(f"event {n}", title=f"circuit d{n} opened")
        await pilot.pause(0.2)
        assert [t.message for t in app._notifications] == [f"event {n}" for n in range(3, MAX_TOASTS + 3)]
        app.push_screen(ConfirmScreen("Change something", Text("what changes"), "Change", act))
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the modal")
        await wait_for(pilot, lambda: not len(app._notifications), what="toasts off the modal")
        for n in range(3):
            app.alert(f"later {n}", title="Escalation waiting (4: Escalations)")
        await pilot.pause(0.2)
        assert not len(app._notifications)  # held while the operator answers the dialog
        await pilot.press("escape")
        await wait_for(pilot, lambda: len(app._notifications) == 1, what="the held notices, summed up")
        (summary,) = app._notifications
        assert summary.title == f"{MAX_TOASTS + 3} notices while the dialog was open"
        assert "Escalation waiting (4: Escalations)" in summary.message and "circuit d3 opened" in summary.message


async def test_read_only_flag_is_shown_and_refuses_write_actions(rt):
    app = ConsoleApp(control_of(rt), read_only=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.control is not None)
        screen = traces(app)
        screen.WRITE_ACTIONS = frozenset({"open"})  # as a later action (e.g. approve) will declare
        assert screen.check_action("open", ()) is False
        assert "read-only" in str(screen.query_one("StatusBar").render())


async def test_header_says_starting_until_connected():
    gate = asyncio.Event()

    async def slow_connect():
        await gate.wait()
        raise RuntimeError("never connects in this test")

    app = ConsoleApp(slow_connect)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.2)
        assert "starting runtime" in str(app.screen.query_one("StatusBar").render())
        assert app.first_paint_at is not None
        gate.set()
        await wait_for(pilot, lambda: app.phase.startswith("error"))
