"""The Alerts screen on a real runtime: firing first with the figures, acknowledge and silence
through the modals (audited), the header's badge, and a toast when an alert fires."""

from __future__ import annotations

from typing import Any

import pytest
from console_support import control_of, wait_for

from agentops.console.app import ConsoleApp
from agentops.console.screens import AlertsScreen, ConfirmScreen
from agentops.console.screens.alerts import parse_duration
from agentops.runtime import LocalControl, Runtime

SIZE = (140, 36)


@pytest.fixture
async def rt(make_settings: Any, make_runtime: Any, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    monkeypatch.setenv("AGENTOPS_ACTOR", "ana")
    return await make_runtime(make_settings())


async def fire(rt: Runtime, key: str = "deployment=primary") -> Any:
    assert rt.alerts is not None
    figures = {"p95_ms": 2400.0, "baseline_ms": 600.0}
    alert = await rt.alerts.alerts.fire("latency_p95", key, "warning", f"{key} P95 2,400 ms, 4.0x", figures, 0.0)
    rt.bus.publish("alert.firing", id=alert.id, rule="latency_p95", key=key, severity="warning", summary=alert.summary)
    return alert


async def alerts_screen(pilot: Any) -> AlertsScreen:
    await wait_for(pilot, lambda: pilot.app.control is not None, what="connected")
    await pilot.press("7")
    screen = pilot.app.screen
    assert isinstance(screen, AlertsScreen)
    return screen


async def test_the_screen_lists_alerts_and_acknowledges_and_silences_through_the_modals(rt: Runtime) -> None:
    alert = await fire(rt)
    app = ConsoleApp(control_of(rt))
    async with app.run_test(size=SIZE) as pilot:
        screen = await alerts_screen(pilot)
        await wait_for(pilot, lambda: alert.id in screen.alerts, what="the alert")
        row = [str(c) for c in screen.table.get_row(alert.id)]
        assert row[1] == "firing" and row[3] == "latency_p95" and row[4] == "deployment=primary"
        detail = str(screen.query_one("#alert-detail").render())
        assert '"baseline_ms": 600.0' in detail and "P95 2,400 ms" in detail
        await wait_for(pilot, lambda: "7 Alerts  1 " in str(screen.query_one("StatusBar").render()), what="badge")

        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the acknowledge modal")
        assert "it stays firing until its condition stops holding" in str(
            app.screen.query_one("#confirm-changes").render()
        )
        await pilot.press("enter")
        await wait_for(pilot, lambda: "acked" in str(screen.table.get_row(alert.id)[1]), what="acknowledged")

        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the silence modal")
        await pilot.press("ctrl+a", "ctrl+k", *"2h", "enter")
        await wait_for(pilot, lambda: "quiet" in str(screen.table.get_row(alert.id)[1]), what="silenced")
        audit = [(a.actor, a.via, a.action) for a in await LocalControl.of(rt).audit_log()]
        assert audit[:2] == [("ana", "console", "alert.silence"), ("ana", "console", "alert.ack")]


async def test_an_alert_firing_raises_a_toast_on_any_screen(rt: Runtime) -> None:
    app = ConsoleApp(control_of(rt))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.control is not None, what="connected")
        await fire(rt, "deployment=fallback")
        await wait_for(pilot, lambda: any("latency_p95" in n.title for n in app._notifications), what="the toast")
        (toast,) = [n for n in app._notifications if "latency_p95" in n.title]
        assert toast.title == "alert latency_p95 firing (7: Alerts)" and "deployment=fallback" in toast.message


async def test_read_only_hides_the_actions(rt: Runtime) -> None:
    await fire(rt)
    app = ConsoleApp(control_of(rt), read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await alerts_screen(pilot)
        await wait_for(pilot, lambda: screen.alerts, what="the alert")
        await pilot.press("a")
        await pilot.pause(0.2)
        assert app.screen is screen  # refused: no modal


def test_silences_take_a_span_up_to_thirty_days() -> None:
    assert parse_duration("30m") == 1800 and parse_duration(" 4h ") == 14400
    with pytest.raises(ValueError, match="type a span such as 30m, 4h or 1d"):
        parse_duration("soon")
    with pytest.raises(ValueError, match="from a second to 30 days"):
        parse_duration("31d")
