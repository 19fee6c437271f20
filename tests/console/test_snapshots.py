"""Snapshots of each screen at 120x36 on fixed sample data and a frozen clock (Textual is pinned exactly).

Review changes with ``uv run pytest tests/console/test_snapshots.py --snapshot-update`` and the
HTML report; never update blindly.
"""

from __future__ import annotations

from typing import Any

import pytest
from console_sample import NOW, open_primary, write_sample
from console_support import ConsoleTestApp, wait_for

from agentops.console.screens import CircuitsScreen, CostsScreen, TraceScreen, TracesScreen
from agentops.runtime import Runtime

SIZE = (120, 36)


@pytest.fixture
def sample_app(make_settings: Any) -> ConsoleTestApp:
    settings = make_settings(circuit={"cooldown_s": 15.0, "consecutive_failures": 4})

    async def start() -> Runtime:
        rt = Runtime(settings)
        await rt.start()
        assert rt.store is not None
        await write_sample(rt.store)
        open_primary(rt)
        await rt.wait_ready()
        return rt

    return ConsoleTestApp(start, clock=lambda: NOW)


async def _ready(pilot: Any) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: app.phase == "ready" and app.runtime_status is not None, what="ready")


async def _traces_loaded(pilot: Any) -> None:
    await _ready(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, TracesScreen)
    await wait_for(pilot, lambda: screen.table.row_count == 5, what="5 rows")


def test_traces(snap_compare: Any, sample_app: ConsoleTestApp) -> None:
    assert snap_compare(sample_app, terminal_size=SIZE, run_before=_traces_loaded)


def test_traces_filtered(snap_compare: Any, sample_app: ConsoleTestApp) -> None:
    async def run(pilot: Any) -> None:
        await _traces_loaded(pilot)
        await pilot.press("slash", *"triage !running")
        await wait_for(pilot, lambda: pilot.app.screen.table.row_count == 2, what="filtered")

    assert snap_compare(sample_app, terminal_size=SIZE, run_before=run)


def test_trace_detail(snap_compare: Any, sample_app: ConsoleTestApp) -> None:
    async def run(pilot: Any) -> None:
        await _traces_loaded(pilot)
        await pilot.press("G", "enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, TraceScreen) and pilot.app.screen.spans)
        await pilot.pause(0.1)

    assert snap_compare(sample_app, terminal_size=SIZE, run_before=run)


def test_circuits(snap_compare: Any, sample_app: ConsoleTestApp) -> None:
    async def run(pilot: Any) -> None:
        await _ready(pilot)
        await pilot.press("2")
        screen = pilot.app.screen
        assert isinstance(screen, CircuitsScreen)
        await wait_for(pilot, lambda: screen.states.get("primary") == "open" and len(screen.history) == 6)

    assert snap_compare(sample_app, terminal_size=SIZE, run_before=run)


def test_costs(snap_compare: Any, sample_app: ConsoleTestApp) -> None:
    async def run(pilot: Any) -> None:
        await _ready(pilot)
        await pilot.press("3")
        screen = pilot.app.screen
        assert isinstance(screen, CostsScreen)
        await wait_for(pilot, lambda: "today" in str(screen.query_one("#costs-info").render()), what="costs")

    assert snap_compare(sample_app, terminal_size=SIZE, run_before=run)


def test_help(snap_compare: Any, sample_app: ConsoleTestApp) -> None:
    async def run(pilot: Any) -> None:
        await _traces_loaded(pilot)
        await pilot.press("question_mark")

    assert snap_compare(sample_app, terminal_size=SIZE, run_before=run)
