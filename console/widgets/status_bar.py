"""The header line: where the console is connected, the runtime's headline figures, the screens."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widget import Widget

from agentops.console.format import money

__all__ = ["SCREEN_TABS", "StatusBar"]

SCREEN_TABS = (
    ("traces", "1", "Traces"),
    ("circuits", "2", "Circuits"),
    ("costs", "3", "Costs"),
    ("escalations", "4", "Escalations"),
    ("prompts", "5", "Prompts"),
    ("flags", "6", "Flags"),
    ("alerts", "7", "Alerts"),
    ("guards", "8", "Guards"),
)
_SEP = (" │ ", "dim")


class StatusBar(Widget):
    """One line: screens (with the counts of escalations waiting and alerts firing), connection and
    phase, workers, queue, open circuits, today's spend. When that does not fit, only the current
    screen's tab keeps its name.

    It reads the app's ``runtime_status``, ``phase``, ``paused`` and ``read_only`` and
    redraws when they change.
    """

    DEFAULT_CSS = """
    StatusBar {
        dock: top;
        height: 1;
        background: $panel;
        color: $foreground;
    }
    """

    def on_mount(self) -> None:
        for name in ("runtime_status", "phase", "paused"):
            self.watch(self.app, name, self._changed, init=False)

    def _changed(self, _value: object) -> None:
        self.refresh()

    def render(self) -> Text:
        app: Any = self.app
        st = app.runtime_status
        status = self._status(app, st)
        badges = {
            "escalations": (st.escalations_waiting if st is not None else 0, "bold reverse magenta"),
            "alerts": (st.alerts_firing if st is not None else 0, "bold reverse red"),
        }
        line = Text.assemble(*self._tabs(app.current_mode, badges, compact=False), *status)
        if line.cell_len > self.size.width > 0:  # too narrow: name only the current screen, the others by key
            line = Text.assemble(*self._tabs(app.current_mode, badges, compact=True), *status)
        line.no_wrap, line.overflow = True, "ellipsis"
        return line

    @staticmethod
    def _tabs(mode: str, badges: dict[str, tuple[int, str]], *, compact: bool) -> list[tuple[str, str] | str]:
        parts: list[tuple[str, str] | str] = [(" agentops ", "bold reverse"), " "]
        for name, key, label in SCREEN_TABS:
            if name == mode:
                parts += [(key, "dim"), (f" {label} ", "bold underline")]
            else:
                parts += [(key, "dim")] if compact else [(key, "dim"), f" {label} "]
            count, style = badges.get(name, (0, ""))
            if count:  # a badge on the tab that shows them: early in the line, so a narrow terminal keeps it
                parts.append((f" {count} ", style))
            parts.append(" ")
        return parts

    @staticmethod
    def _status(app: Any, st: Any) -> list[tuple[str, str] | str]:
        parts: list[tuple[str, str] | str] = [_SEP]
        parts.append((f"● {app.connection}", "green" if st is not None and st.live else "yellow"))
        if app.read_only:  # early in the line: a narrow terminal keeps it
            parts += [" ", ("read-only", "bold reverse")]
        phase = app.phase
        if phase != "ready":
            alarming = phase.startswith(("error", "connection lost"))
            parts += [_SEP, (phase, "bold red" if alarming else "bold yellow")]
        if st is not None:
            if st.workers:
                parts += [_SEP, f"workers {st.workers_busy}/{st.workers} busy · queue {st.queue_depth}"]
            else:
                parts += [_SEP, f"{st.tasks_running} running"]
            opened = st.open_circuits
            parts += [
                _SEP,
                (f"{opened} circuit{'s' if opened != 1 else ''} open", "bold red")
                if opened
                else ("circuits ok", "green"),
                _SEP,
                f"today {money(st.spend_today_usd)}",
            ]
        if app.paused:
            parts += [_SEP, ("⏸ PAUSED (p)", "bold reverse yellow")]
        return parts
