"""The ``:`` command palette: jump to a screen, open a task or an escalation by id, pause, help."""

from __future__ import annotations

from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

__all__ = ["ConsoleCommands"]

_HEX = set("0123456789abcdef")


class ConsoleCommands(Provider):
    """Screens and actions by name; a task or an escalation (``e-…``) by id or id prefix."""

    def _commands(self) -> list[tuple[str, str, Any]]:
        app: Any = self.app
        return [
            ("traces", "Traces: tasks as they run", partial(app.switch_mode, "traces")),
            ("circuits", "Circuits: breakers and their transitions", partial(app.switch_mode, "circuits")),
            (
                "costs",
                "Costs and budgets: caps, response cache, spend, rate, calls per minute",
                partial(app.switch_mode, "costs"),
            ),
            (
                "escalations",
                "Escalations: decisions waiting for an operator",
                partial(app.switch_mode, "escalations"),
            ),
            (
                "prompts",
                "Prompts: versions, canaries, shadows, promote and roll back",
                partial(app.switch_mode, "prompts"),
            ),
            ("flags", "Flags: feature flags, kill switches, rollouts", partial(app.switch_mode, "flags")),
            ("alerts", "Alerts: firing and resolved, acknowledge, silence", partial(app.switch_mode, "alerts")),
            ("guards", "Guards: injections, PII, prompt echoes, behaviour", partial(app.switch_mode, "guards")),
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
        app: Any = self.app
        control = app.control
        wanted = query.strip().lower()
        if wanted.startswith("e-") and len(wanted) >= 4 and control is not None:
            async for hit in self._escalation(control, wanted):
                yield hit
            return
        prefix = wanted.removeprefix("task").strip()
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

    async def _escalation(self, control: Any, prefix: str) -> Hits:
        from agentops.runtime import DecisionError  # loaded by now: there is a control

        try:
            e = await control.get_escalation(prefix)
        except DecisionError:
            return
        app: Any = self.app
        yield Hit(
            1.0,
            f"open escalation {e.id}",
            partial(app.open_escalation, e.id),
            text=f"open escalation {e.id}",
            help=f"{e.agent} · {e.status} · {e.reason[:60]}",
        )
