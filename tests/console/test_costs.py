"""The Costs screen on a real runtime: budget gauges, changing a cap through the modal, read-only, the cache panel.

Spend and cache hits are made by real calls through the runtime's LLM client against the
simulator: a deterministic request (temperature 0) asked twice is answered from the
response cache the second time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from console_support import control_of, wait_for
from rich.text import Text
from textual.widgets import Input

from agentops.console.app import ConsoleApp
from agentops.console.format import gauge
from agentops.console.render import amount, eta, of_cap, parse_cap, to_cap
from agentops.console.screens import ConfirmScreen, CostsScreen
from agentops.runtime import BudgetStatus, CallScope, LocalControl, Runtime
from agentops.runtime.tracing import new_trace_id

SIZE = (120, 36)
ACTOR = "ana"
BUDGETS = {"global_day_usd": 1.0, "user_day_usd": 0.5, "actions": {"user-day": "escalate"}}


async def ask(rt: Runtime, user: str, content: str = "Where is my parcel?") -> None:
    msg = [{"role": "user", "content": content}]
    await rt.client.call(msg, route="default", scope=CallScope(new_trace_id(), user_id=user), temperature=0)


@pytest.fixture
async def rt(make_settings: Any, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    """A global and a per-user daily cap; three calls by u-ana (the last a cache hit) and one by u-bob."""
    monkeypatch.setenv("AGENTOPS_ACTOR", ACTOR)
    runtime = Runtime(make_settings(routes={"default": {"chain": ["primary"]}}, budgets=BUDGETS))
    await runtime.start()
    await runtime.wait_ready()
    await ask(runtime, "u-ana")
    await ask(runtime, "u-ana", "And my refund?")
    await ask(runtime, "u-ana")  # the same request again: the cache answers
    await ask(runtime, "u-bob")  # another user's: not shared (cache scope: user)
    assert runtime.store is not None
    await runtime.store.writer.flush()
    yield runtime
    await runtime.stop()


def control(rt: Runtime) -> LocalControl:
    return LocalControl.of(rt)


async def costs_screen(pilot: Any) -> CostsScreen:
    app = pilot.app
    await wait_for(pilot, lambda: app.control is not None, what="connected")
    await pilot.press("3")
    screen = app.screen
    assert isinstance(screen, CostsScreen)
    await wait_for(pilot, lambda: screen.loads > 0, what="the first load")
    return screen


def cells(screen: CostsScreen, table: str, key: str) -> list[Text]:
    return list(screen.query_one(table).get_row(key))


def text_of(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector).render())


async def audit(rt: Runtime, action: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    return [
        (a.actor, a.via, a.target, a.details) for a in reversed(await control(rt).audit_log()) if a.action == action
    ]


async def test_gauges_show_every_budget_with_the_controls_figures(rt: Runtime) -> None:
    ana = next(b for b in await control(rt).budgets() if b.key == "u-ana")
    await control(rt).set_budget("user-day", "u-ana", ana.used / 0.9, actor="setup", via="cli")  # 90%: warning
    bob = next(b for b in await control(rt).budgets() if b.key == "u-bob")
    await control(rt).set_budget("user-day", "u-bob", bob.used / 2, actor="setup", via="cli")  # 200%: over
    app = ConsoleApp(control_of(rt))
    async with app.run_test(size=SIZE) as pilot:
        screen = await costs_screen(pilot)
        budgets = await control(rt).budgets()
        assert [f"{b.scope}:{b.key}" for b in budgets] == ["user-day:u-bob", "user-day:u-ana", "global-day:*"]
        assert screen.budgets_table.display and not screen.query_one("#no-budgets").display
        for b in budgets:
            row = cells(screen, "#budgets", f"{b.scope}:{b.key}")
            shown = [c.plain for c in row]
            assert shown[:2] == [b.scope, b.key]
            assert shown[2] == gauge(b.fraction, "").plain and shown[2].endswith(f"{b.fraction:.0%}")
            assert shown[3] == f"{amount(b.used, 'USD')} / {amount(b.cap, 'USD')}"
            assert shown[4] == amount(b.remaining, "USD")
            assert shown[5] == f"{amount(b.rate_per_h, 'USD')}/h" and b.rate_per_h > 0
            assert shown[6] == to_cap(b.remaining, b.eta_s) and shown[7] == b.action
        assert [c.plain for c in cells(screen, "#budgets", "user-day:u-bob")][2].endswith("200%")
        assert cells(screen, "#budgets", "user-day:u-bob")[6].plain == "reached"
        assert cells(screen, "#budgets", "user-day:u-bob")[0].style == "bold red"
        assert cells(screen, "#budgets", "user-day:u-ana")[0].style == "yellow"
        assert cells(screen, "#budgets", "global-day:*")[0].style == ""
        assert cells(screen, "#budgets", "global-day:*")[7].plain == "block"
        assert cells(screen, "#budgets", "user-day:u-ana")[7].plain == "escalate"
        assert screen.budgets_table.has_focus  # the table `c` works on


async def test_the_cache_panel_and_the_cost_tables_show_hits_and_savings(rt: Runtime) -> None:
    app = ConsoleApp(control_of(rt))
    async with app.run_test(size=SIZE) as pilot:
        screen = await costs_screen(pilot)
        stats = await control(rt).cache_stats(since=0)
        assert (stats.calls, stats.exact_hits, stats.semantic_hits, stats.entries) == (4, 1, 0, 3)
        assert screen.cache == stats
        panel = text_of(screen, "#cache").splitlines()
        assert panel[0].split() == ["calls", "4"]
        assert panel[1].split() == ["hit", "rate", "25.0%", "exact", "25.0%", "·", "semantic", "0.0%"]
        assert panel[2].split()[:2] == ["saved", amount(stats.saving_usd, "USD")] and stats.saving_usd > 0
        assert panel[4].split() == ["entries", "3"]
        by_user = {r.key: r for r in await control(rt).costs("user")}
        ana = [c.plain for c in cells(screen, "#by-user", "u-ana")]
        assert ana == [
            "u-ana",
            "3",
            "1",
            amount(by_user["u-ana"].cost_usd, "USD"),
            amount(by_user["u-ana"].saving_usd, "USD"),
        ]
        assert [c.plain for c in cells(screen, "#by-user", "u-bob")][1:3] == ["1", "0"]


async def test_raise_a_cap_through_the_modal(rt: Runtime) -> None:
    app = ConsoleApp(control_of(rt))
    async with app.run_test(size=SIZE) as pilot:
        screen = await costs_screen(pilot)
        table = screen.budgets_table
        table.move_cursor(row=table.get_row_index("user-day:u-ana"))
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the modal")
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        assert "Change the cap of budget user-day u-ana" in text_of(confirm, "#confirm-title")
        changes = text_of(confirm, "#confirm-changes")
        assert "cap  $0.5000 → the value below (USD per day)" in changes
        assert "Calls over the cap wait for an operator to raise the cap." in changes
        box = confirm.query_one("#confirm-value", Input)
        assert box.value == "0.5"
        for bad, why in (("lots", "is not a number"), ("0", "must be a positive number"), ("-2", "positive")):
            box.value = bad
            await pilot.press("enter")
            await wait_for(pilot, lambda why=why: why in confirm.error, what=f"refusal of {bad!r}")
            assert app.screen is confirm
        assert await audit(rt, "budget.cap") == []
        box.value = "$2.5"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen, what="the modal to close")
        await wait_for(
            pilot,
            lambda: cells(screen, "#budgets", "user-day:u-ana")[3].plain.endswith("/ $2.5000"),
            what="the new cap",
        )
        assert any(n.title == "budget cap changed" for n in app._notifications)
        assert await audit(rt, "budget.cap") == [
            (ACTOR, "console", "user-day:u-ana", {"scope": "user-day", "from": None, "to": 2.5})
        ]
        (ana,) = [b for b in await control(rt).budgets() if b.key == "u-ana"]
        assert ana.cap == 2.5

        await pilot.press("c")  # cancelled: nothing changes
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the modal again")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, what="cancelled")
        assert len(await audit(rt, "budget.cap")) == 1


async def test_read_only_cannot_change_a_cap(rt: Runtime) -> None:
    app = ConsoleApp(control_of(rt), read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await costs_screen(pilot)
        assert screen.budgets_table.row_count == 3
        assert screen.check_action("raise_cap", ()) is False
        await pilot.pause(0.1)
        footer = {str(k.description) for k in screen.query("FooterKey")}
        assert "Refresh" in footer and "Raise cap" not in footer
        await pilot.press("c")
        await pilot.pause(0.2)
        assert app.screen is screen
        assert "read-only" in text_of(screen, "#costs-info")
    assert await audit(rt, "budget.cap") == []


async def test_without_budgets_the_screen_says_how_to_set_them(make_settings: Any, make_runtime: Any) -> None:
    bare = await make_runtime(make_settings())
    app = ConsoleApp(control_of(bare))
    async with app.run_test(size=SIZE) as pilot:
        screen = await costs_screen(pilot)
        assert not screen.budgets_table.display and screen.query_one("#no-budgets").display
        assert "[budgets] in config.toml" in text_of(screen, "#no-budgets")
        await pilot.press("c")
        await pilot.pause(0.1)
        assert app.screen is screen
        assert any(n.title == "no budget" for n in app._notifications)


def test_caps_gauges_and_times_to_the_cap_read_well() -> None:
    assert parse_cap(" 5 ") == 5.0 and parse_cap("$2.50") == 2.5 and parse_cap("50,000") == 50_000
    for bad, message in (("0", "positive"), ("-1", "positive"), ("inf", "positive"), ("five", "not a number")):
        with pytest.raises(ValueError, match=message):
            parse_cap(bad)
    assert [eta(s) for s in (None, 0.2, 42, 185, 7800, 200_000)] == ["idle", "now", "~42s", "~3m05s", "~2h10m", "~2d7h"]
    assert to_cap(0.0, 0.0) == "reached" and to_cap(0.1, None) == "idle" and to_cap(0.1, 90) == "~1m30s"
    assert gauge(0.5, "").plain == "█████░░░░░  50%" and gauge(1.7, "bold red").plain == "██████████ 170%"
    assert gauge(float("inf"), "bold red").plain == "██████████    -"
    assert amount(1234.4, "tokens") == "1,234 tok" and amount(0.5, "USD") == "$0.5000"
    assert of_cap(1234, 50_000, "tokens") == "1,234 / 50,000 tok" and of_cap(0, 2, "USD") == "$0 / $2.0000"
    status = BudgetStatus("task", "t-1", 900, 1000, "tokens", reserved=50)
    assert (status.fraction, status.remaining) == (0.9, 50)
