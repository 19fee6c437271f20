"""Circuits: every deployment's breaker, live, and the history of transitions with reasons."""

from __future__ import annotations

from collections import deque
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from agentops.console.format import clock_time, plain, seconds, state_text
from agentops.console.live import LiveBatch
from agentops.console.screens.base import ConsoleScreen
from agentops.console.widgets import KeyTable

if TYPE_CHECKING:
    from agentops.runtime import CircuitStatus, Control

__all__ = ["CircuitsScreen"]

POLL_S = 0.5
"""How often breaker figures (window counts, time to the next probe) are re-read."""
MAX_HISTORY = 500
COLUMNS = ("deployment", "model", "state", "failure rate", "calls", "failures", "total", "next probe", "last error")


class CircuitsScreen(ConsoleScreen):
    """Breakers: closed, open or half-open, and why."""

    HELP = """\
# Circuits

One row per deployment (provider + model + endpoint), with its breaker state:
**closed** (healthy), **open** (refusing calls: traffic goes to the next deployment
of the route) or **half-open** (letting a probe through after the cooldown).
Failure rate and calls are over the rolling window. Below: every transition, newest
first, with the reason it happened. A change appears within half a second.

| key | action |
|---|---|
| `tab` | switch between the breakers and the history |
| `j` / `k`, `g` / `G` | move |
"""
    BINDINGS: ClassVar[list[BindingType]] = [Binding("tab", "app.focus_next", "Next pane")]

    def __init__(self) -> None:
        super().__init__()
        self.history: deque[tuple[float, str, str, str, str]] = deque(maxlen=MAX_HISTORY)
        self.states: dict[str, str] = {}
        self._rows: dict[str, tuple[object, ...]] = {}

    def compose_body(self) -> ComposeResult:
        yield Static(Text("Circuits · waiting for the runtime"), id="circuits-info", classes="info")
        yield KeyTable(id="circuits")
        yield Static(Text("Transitions, newest first"), classes="info")
        yield KeyTable(id="history")

    def on_mount(self) -> None:
        breakers = self.query_one("#circuits", KeyTable)
        for name in COLUMNS:
            breakers.add_column(name, key=name)
        history = self.query_one("#history", KeyTable)
        for name in ("at", "deployment", "from", "to", "reason"):
            history.add_column(name, key=name)
        breakers.focus()
        super().on_mount()

    def connected(self, control: Control) -> None:
        self.run_load(partial(self._load, control), "circuits-load")
        self.set_interval(POLL_S, self._poll)

    async def _load(self, control: Control) -> None:
        events = await control.circuit_events(limit=MAX_HISTORY)
        for e in reversed(events):
            self.history.append((e.at, e.deployment, e.from_state, e.to_state, e.reason))
        self._show_history()
        await self._refresh(control)

    def _poll(self) -> None:
        if self.control is not None and not getattr(self.app, "paused", False):
            self.run_load(partial(self._refresh, self.control), "circuits-poll")

    async def _refresh(self, control: Control) -> None:
        self._show(await control.circuits())

    def apply_live(self, batch: LiveBatch) -> None:
        if not batch.transitions:
            return
        for t in batch.transitions:
            self.history.append((t["at"], t["deployment"], t["from_state"], t["to_state"], t["reason"]))
        self._show_history()
        if self.control is not None:
            self.run_load(partial(self._refresh, self.control), "circuits-poll")

    def _cells(self, c: CircuitStatus) -> tuple[object, ...]:
        rate = f"{c.failure_rate:.0%}" if c.calls_in_window else "-"
        probe = seconds(c.retry_in_s) if c.state == "open" else ("now" if c.state == "half_open" else "-")
        return (
            plain(c.deployment, "bold"),
            plain(c.model),
            state_text(c.state),
            Text(rate, style="red" if c.failure_rate >= 0.5 and c.calls_in_window else ""),
            str(c.calls_in_window),
            str(c.failures_in_window),
            f"{c.calls_total:,}",
            probe,
            plain(c.last_error[:80] if c.last_error else "-", "dim"),
        )

    def _show(self, circuits: list[CircuitStatus]) -> None:
        table = self.query_one("#circuits", KeyTable)
        for c in circuits:
            cells = self._cells(c)
            old = self._rows.get(c.deployment)
            if old is None:
                table.add_row(*cells, key=c.deployment)
            else:
                for name, before, after in zip(COLUMNS, old, cells, strict=True):
                    if before != after:
                        table.update_cell(c.deployment, name, after)
            self._rows[c.deployment] = cells
            self.states[c.deployment] = c.state
        opened = [c.deployment for c in circuits if c.state != "closed"]
        if not circuits:
            info = Text("Circuits · no live runtime (breakers live in the runtime's process)", style="yellow")
        elif opened:
            info = Text.assemble(
                "Circuits · ", (f"not closed: {', '.join(opened)}", "bold red"), " · traffic fails over along routes"
            )
        else:
            info = Text.assemble("Circuits · ", ("all closed", "green"), f" · {len(circuits)} deployments")
        self.query_one("#circuits-info", Static).update(info)

    def _show_history(self) -> None:
        table = self.query_one("#history", KeyTable)
        table.clear()
        rows: list[Any] = [
            (clock_time(at), plain(dep, "bold"), state_text(a), state_text(b), plain(reason))
            for at, dep, a, b, reason in reversed(self.history)
        ]
        table.add_rows(rows)
