"""The ``:`` command palette: jump to a screen, open a task by id, pause, help."""

from __future__ import annotations

from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

__all__ = ["ConsoleCommands"]

_HEX = set("0123456789abcdef")


class ConsoleCommands(Provider):
    """Screens and actions by name; a task by id or id prefix."""

    def _commands(self) -> list[tuple[str, str, Any]]:
        app: Any = self.app
        return [
            ("traces", "Traces: tasks as they run", partial(app.switch_mode, "traces")),
            ("circuits", "Circuits: breakers and their transitions", partial(app.switch_mode, "circuits")),
            ("costs", "Costs and budgets: spend, rate, calls per minute", partial(app.switch_mode, "costs")),
            ("pause", "Pause or resume live updates", app.action_toggle_pause),
            ("help", "Keys of the current screen", app.action_help),
        ]

    async def discover(self) -> Hits:
        for name, help_text, command in self._commands():
            yield DiscoveryHit(name, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, command in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), command, text=name, help=help_text)
        prefix = query.strip().lower().removeprefix("task").strip()
        app: Any = self.app
        control = app.control
        if len(prefix) >= 4 and set(prefix) <= _HEX and control is not None:
            task = await control.get_task(prefix)
            if task is not None:
                yield Hit(
                    1.0,
                    f"open task {task.id}",
                    partial(app.open_task, task.id),
                    text=f"open task {task.id}",
                    help=f"{task.agent} · {task.user_id or '-'} · {task.status}",
                )
