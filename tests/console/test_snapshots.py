"""Snapshots of each screen at 120x36 on fixed sample data and a frozen clock (Textual is pinned exactly).

Review changes with ``uv run pytest tests/console/test_snapshots.py --snapshot-update`` and the
HTML report; never update blindly.
"""

from __future__ import annotations

from typing import Any

import pytest
from console_sample import NOW, TASKS, TRACE, open_primary, write_sample
from console_support import ConsoleTestApp, wait_for

from agentops.console.screens import CircuitsScreen, CostsScreen, TraceScreen, TracesScreen
from agentops.runtime import Runtime
from agentops.runtime.calls.budgets import Budgets
from agentops.store import LedgerRecord, LLMCallRecord, Store
from agentops.store.costs import CacheEntryRecord, CostStore

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


async def write_cost_control_sample(store: Store) -> None:
    """Cache hits (8 exact, 2 semantic), two calls that provider prompt caching made cheaper, three
    cache entries, two caps set live (u-carol's lowered below her spend, u-dave's raised), two calls
    billed by a settled batch job and a batch job in flight."""
    for i in range(12):
        tid, agent, user = TASKS[i % 2][0], TASKS[i % 2][1], TASKS[i % 2][2]
        at = NOW - 600 + i * 40
        kind = None if i >= 10 else "semantic" if i >= 8 else "exact"
        cost, saving = (0.00006, 0.00002) if kind is None else (0.0, 0.00005)
        call = LLMCallRecord(
            f"h{i:015d}",
            TRACE,
            tid,
            "default",
            "openai/gpt-4o-mini",
            "primary",
            "ok",
            1,
            0,
            0,
            2.0,
            150,
            40,
            64 if kind is None else 0,
            cost,
            at,
            cache=kind,
        )
        ledger = LedgerRecord(
            call.span_id,
            "openai/gpt-4o-mini",
            "primary",
            150,
            40,
            call.cached_tokens,
            cost,
            True,
            at,
            tid,
            agent,
            user,
            cache=kind,
            saving_usd=saving,
        )
        await store.record_llm_call(call, ledger)
    costs = CostStore(store)
    for i in range(3):
        costs.put_entry(CacheEntryRecord(f"entry-{i}", "exact", f"key-{i}", {"content": "cached"}, 0.00005, NOW - 900))
    await costs.set_cap("user-day", "u-carol", 0.001, actor="ana", via="console")
    await costs.set_cap("user-day", "u-dave", 0.004, actor="ana", via="console")
    # A settled batch job (its two calls billed at the batch rate) and one in flight.
    for i in range(2):
        tid, agent, user = TASKS[0][0], TASKS[0][1], TASKS[0][2]
        call = LLMCallRecord(
            f"b{i:015d}", TRACE, tid, "default", "openai/gpt-4o-mini", "primary", "ok", 1, 0, 0, 900_000.0,
            150, 40, 0, 0.00003, NOW - 300, batch_job="job-settled",
        )  # fmt: skip
        ledger = LedgerRecord(
            call.span_id, "openai/gpt-4o-mini", "primary", 150, 40, 0, 0.00003, True, NOW - 300, tid, agent, user,
            saving_usd=0.00003, batch_job="job-settled",
        )  # fmt: skip
        await store.record_llm_call(call, ledger)
    await store.writer.write(
        (
            "INSERT INTO batch_jobs (id, deployment, status, provider_batch_id, requests, succeeded, next_poll_at,"
            " polls, created_at, submitted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ("job-4f2a9c1e", "primary", "in_progress", "batch_abc", 40, 0, NOW + 30, 12, NOW - 1500, NOW - 1490),
        )
    )
    await store.writer.flush()


@pytest.fixture
def costs_app(make_settings: Any) -> ConsoleTestApp:
    """The sample with a global and a per-user daily cap, cache hits and savings; budgets on the frozen clock."""
    budgets = {"global_day_usd": 0.006, "user_day_usd": 0.0012, "actions": {"user-day": "escalate"}}
    settings = make_settings(circuit={"cooldown_s": 15.0, "consecutive_failures": 4}, budgets=budgets)

    async def start() -> Runtime:
        rt = Runtime(settings)
        await rt.start()
        assert rt.store is not None
        await write_sample(rt.store)
        await write_cost_control_sample(rt.store)
        rt.budgets = Budgets(settings.budgets, CostStore(rt.store), clock=lambda: NOW)
        await rt.budgets.load()
        open_primary(rt)
        await rt.wait_ready()
        return rt

    return ConsoleTestApp(start, clock=lambda: NOW)


def test_costs(snap_compare: Any, costs_app: ConsoleTestApp) -> None:
    async def run(pilot: Any) -> None:
        await _ready(pilot)
        await pilot.press("3")
        screen = pilot.app.screen
        assert isinstance(screen, CostsScreen)
        await wait_for(pilot, lambda: screen.loads > 0 and screen.budgets_table.row_count == 5, what="costs")
        await pilot.pause(0.1)

    assert snap_compare(costs_app, terminal_size=SIZE, run_before=run)


def test_help(snap_compare: Any, sample_app: ConsoleTestApp) -> None:
    async def run(pilot: Any) -> None:
        await _traces_loaded(pilot)
        await pilot.press("question_mark")

    assert snap_compare(sample_app, terminal_size=SIZE, run_before=run)
