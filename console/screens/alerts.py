"""Alerts: what is firing now and the history, with the figures that fired each alert, live.

``a`` acknowledges the highlighted alert and ``s`` silences its rule and key for a while, each
through a confirmation modal; both land in the audit log.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from agentops.console.format import clock_time, plain
from agentops.console.live import LiveBatch
from agentops.console.render import parse_since
from agentops.console.screens.base import ConsoleScreen
from agentops.console.screens.confirm import ConfirmScreen, ValueField
from agentops.console.widgets import KeyTable

if TYPE_CHECKING:
    from agentops.runtime import Control
    from agentops.store import AlertRecord

__all__ = ["ALERT_ACTIONS", "AlertsScreen", "parse_duration"]

COLUMNS = ("alert", "state", "severity", "rule", "key", "fired", "resolved", "summary")
WIDTHS = (12, 16, 8, 17, 18, 8, 8, 20)
FLEX = {"summary": 1}
ALERT_ACTIONS = frozenset({"acknowledge", "silence"})
MAX_ALERTS = 500
STATE_STYLES = {"firing": "bold red", "resolved": "green"}


def parse_duration(text: str) -> float:
    """Seconds in a span such as ``30m``, ``4h`` or ``1d`` (up to 30 days).

    Raises:
        ValueError: saying what is accepted.
    """
    try:
        seconds = parse_since(text.strip())
    except ValueError:
        raise ValueError(f"{text.strip()!r}: type a span such as 30m, 4h or 1d") from None
    if not 0 < seconds <= 30 * 86400:
        raise ValueError("a silence lasts from a second to 30 days")
    return seconds


def _state(a: AlertRecord) -> Text:
    out = Text(a.status, style=STATE_STYLES.get(a.status, ""))
    if a.acked_by:
        out.append(" acked", style="dim")
    if a.silenced_until:
        out.append(" quiet", style="yellow")
    return out


def alert_detail(a: AlertRecord) -> Text:
    """Everything about one alert: its summary, the figures that fired it, who acted on it."""
    out = Text()
    out.append(f"{a.id}  ", style="bold")
    out.append_text(_state(a))
    out.append(f"  {a.severity}  {a.rule}  {a.key}\n", style="dim")
    out.append(a.summary + "\n")  # the summary names agents, tasks and prompts: literal text, never markup
    out.append(f"pending since {clock_time(a.pending_since)} · fired {clock_time(a.fired_at)}", style="dim")
    if a.resolved_at:
        out.append(f" · resolved {clock_time(a.resolved_at)} ({a.resolution})", style="dim")
    if a.acked_by:
        out.append(f" · acknowledged by {a.acked_by} at {clock_time(a.acked_at)}", style="dim")
    if a.silenced_until:
        out.append(f" · silenced until {clock_time(a.silenced_until)}", style="yellow")
    out.append("\n\n" + json.dumps(a.figures, indent=2, default=str), style="dim")
    return out


class AlertsScreen(ConsoleScreen):
    """Alerts firing and resolved, live."""

    POLL_S = 5.0
    """How often alerts are re-read while shown (another process may fire or resolve them)."""
    HELP = """\
# Alerts

Alerts firing now first, then the history, newest first. An alert rule's condition
must hold for `alerts.for_s` before it fires (a blip does not page); it is written once
per firing with the figures that fired it, delivered to the webhook and command
configured under `[alerts]` (unless silenced), and resolves when the condition stops
holding. Built in: tool-call error rate, P95 latency against its baseline, daily cost
against its 7-day average, tokens of one task against its agent's mean; canary rollbacks
and shadow regressions are alerts too, and resolve when acknowledged.
The header's badge on `7` counts the alerts firing.

| key | action |
|---|---|
| `a` | acknowledge the highlighted alert (confirm in a modal) |
| `s` | silence its rule and key for a while (30m, 4h, 1d): firings are recorded, not delivered |
| `j` / `k`, `g` / `G` | move |

Both land in the audit log with your name and `via console`. With `--read-only` the
actions are hidden.
"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "acknowledge", "Acknowledge", id="alert.ack"),
        Binding("s", "silence", "Silence", id="alert.silence"),
    ]
    WRITE_ACTIONS = ALERT_ACTIONS

    def __init__(self) -> None:
        super().__init__()
        self.alerts: dict[str, AlertRecord] = {}
        self.loads = 0
        """Completed loads (tests wait on it)."""

    def compose_body(self) -> ComposeResult:
        yield Static(Text("Alerts · waiting for the runtime"), id="alerts-info", classes="info")
        yield KeyTable(id="alerts")
        yield Static(Text(""), id="alert-detail")

    def on_mount(self) -> None:
        self.table.add_fitted_columns(dict(zip(COLUMNS, WIDTHS, strict=True)), FLEX)
        self.query_one("#alert-detail", Static).border_title = "highlighted alert"
        self.table.focus()
        super().on_mount()

    @property
    def table(self) -> KeyTable:
        """The alerts."""
        return self.query_one("#alerts", KeyTable)

    def connected(self, control: Control) -> None:
        self.start_polling()

    def apply_live(self, batch: LiveBatch) -> None:
        if batch.alerts or batch.overflow:
            self.request_load()

    async def load(self, control: Control) -> None:
        rows = await control.alerts(limit=MAX_ALERTS)
        if not self.is_mounted or not self.query("#alerts"):
            return
        firing = sorted((a for a in rows if a.status == "firing"), key=lambda a: -a.fired_at)
        ordered = firing + [a for a in rows if a.status != "firing"]
        self.alerts = {a.id: a for a in ordered}
        self.table.sync([(a.id, self._cells(a)) for a in ordered])
        parts: list[tuple[str, str] | str] = ["Alerts · "]
        parts.append((f"{len(firing)} firing", "bold red") if firing else ("none firing", "green"))
        parts.append(f" · {len(ordered) - len(firing)} resolved")
        if getattr(self.app, "read_only", False):
            parts.append(" · read-only: actions are hidden")
        self.query_one("#alerts-info", Static).update(Text.assemble(*parts))
        self._show_detail()
        self.loads += 1

    @staticmethod
    def _cells(a: AlertRecord) -> tuple[object, ...]:
        return (
            Text(a.id),
            _state(a),
            plain(a.severity, "bold red" if a.severity == "critical" else ""),
            plain(a.rule),
            Text(a.key, no_wrap=True, overflow="ellipsis"),
            clock_time(a.fired_at),
            clock_time(a.resolved_at) if a.resolved_at else "-",
            Text(a.summary, no_wrap=True, overflow="ellipsis"),
        )

    @on(DataTable.RowHighlighted, "#alerts")
    def _show_detail(self) -> None:
        a = self.current()
        self.query_one("#alert-detail", Static).update(alert_detail(a) if a is not None else Text(""))

    def current(self) -> AlertRecord | None:
        """The highlighted alert."""
        key = self.table.cursor_key()
        return self.alerts.get(key) if key is not None else None

    def _target(self) -> AlertRecord | None:
        a = self.current()
        if a is None:
            self.app.notify("no alert is highlighted (none has fired)", title="nothing to act on", markup=False)
        return a

    def action_acknowledge(self) -> None:
        a = self._target()
        if a is None:
            return
        after = (
            "it resolves (an alert raised by an event)"
            if a.rule in ("canary_rollback", "shadow_regression", "agent_behaviour")
            else ("it stays firing until its condition stops holding")
        )
        changes = Text.assemble((f"{a.rule} {a.key}\n", "bold"), a.summary, f"\n\nAcknowledged, {after}.")
        alert_id = a.id

        async def act(control: Control, actor: str, _value: Any) -> AlertRecord:
            return await control.acknowledge_alert(alert_id, actor=actor, via="console")

        self.app.push_screen(ConfirmScreen(f"Acknowledge alert {a.id}", changes, "Acknowledge", act), self._done)

    def action_silence(self) -> None:
        a = self._target()
        if a is None:
            return
        changes = Text.assemble(
            (f"{a.rule} {a.key}\n", "bold"),
            a.summary,
            "\n\nIts firings are still recorded and shown, but not delivered to the webhook or command.",
        )
        alert_id = a.id
        field = ValueField("silence for (30m, 4h, 1d):", "1h", parse_duration, "e.g. 4h")

        async def act(control: Control, actor: str, seconds: Any) -> AlertRecord:
            return await control.silence_alert(alert_id, float(seconds), actor=actor, via="console")

        self.app.push_screen(
            ConfirmScreen(f"Silence {a.rule} {a.key}", changes, "Silence", act, field=field), self._done
        )

    def _done(self, result: Any) -> None:
        if result is not None:
            self.app.notify(
                f"{result.rule} {result.key}: {_state(result).plain}", title=f"alert {result.id}", markup=False
            )
        self.request_load()
