"""Flags: every feature flag, its state, who gets what, and how often it is evaluated, live.

``space`` / ``t`` turn a flag on or off, ``k`` flips its kill switch and ``r`` changes its
rollout percentage, each through a confirmation modal that shows what will change.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from agentops.console.format import clock_time, plain, right
from agentops.console.live import LiveBatch
from agentops.console.screens.base import ConsoleScreen
from agentops.console.screens.confirm import ConfirmScreen, ValueField
from agentops.console.screens.prompt_text import flag_detail, flag_evaluations, flag_split, flag_state, flag_value
from agentops.console.widgets import KeyTable

if TYPE_CHECKING:
    from agentops.runtime import Control
    from agentops.runtime.rollouts.flags import FlagStatus

__all__ = ["FLAG_ACTIONS", "FlagsScreen", "parse_rollout"]

COLUMNS = ("flag", "state", "rollout", "default", "rules", "evaluations", "changed by")
WIDTHS = (18, 6, 24, 9, 5, 28, 15)
FLAG_ACTIONS = frozenset({"toggle_enabled", "kill", "rollout"})


def parse_rollout(text: str) -> float:
    """A rollout percentage from 0 to 100 (a trailing ``%`` is fine).

    Raises:
        ValueError: saying what is accepted.
    """
    try:
        value = float(text.strip().removesuffix("%").strip())
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a number: type a percentage from 0 to 100") from None
    if not math.isfinite(value) or not 0 <= value <= 100:
        raise ValueError(f"{value:g}% is out of range: type a percentage from 0 to 100")
    return value


class FlagsScreen(ConsoleScreen):
    """Feature flags, changed live."""

    POLL_S = 2.0
    """How often flags and their evaluation rates are re-read while shown."""
    HELP = """\
# Flags

One row per feature flag from config.toml, with its live state: **on**, **off**
(everyone gets the default) or **KILLED** (the kill switch: the default everywhere,
rules included). *rollout* is the share of units (users, else tasks; sticky) served
the flag's value, or the variants' shares; *rules* target agents or users first.
*evaluations* are per minute over the last five minutes, by value served.
Below the table: the highlighted flag's description, rules and bucketing unit.
Refreshes every two seconds and on every flag change.

| key | action |
|---|---|
| `space` / `t` | turn the flag on or off (confirm in a modal) |
| `k` | flip the kill switch |
| `r` | change the rollout percentage (0 to 100; boolean flags) |
| `j`, `g` / `G` | move (`k` is the kill switch here; `up` moves up) |

Changes apply at once in this runtime (a runtime in another process picks them up
within a few seconds), survive a restart until config.toml's flag is edited, and
land in the audit log with your name and `via console`. With `--read-only` the
actions are hidden.
"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space,t", "toggle_enabled", "On/off", id="flag.toggle"),
        Binding("k", "kill", "Kill switch", id="flag.kill", priority=True),  # before the table's k (up)
        Binding("r", "rollout", "Rollout %", id="flag.rollout"),
    ]
    WRITE_ACTIONS = FLAG_ACTIONS

    def __init__(self) -> None:
        super().__init__()
        self.flags: dict[str, FlagStatus] = {}
        self.loads = 0
        """Completed loads (tests wait on it)."""

    def compose_body(self) -> ComposeResult:
        yield Static(Text("Flags · waiting for the runtime"), id="flags-info", classes="info")
        yield KeyTable(id="flags")
        yield Static(Text(""), id="flag-detail")

    def on_mount(self) -> None:
        table = self.table
        for name, width in zip(COLUMNS, WIDTHS, strict=True):
            table.add_column(name, width=width, key=name)
        self.query_one("#flag-detail", Static).border_title = "highlighted flag"
        table.focus()
        super().on_mount()

    @property
    def table(self) -> KeyTable:
        """The flags."""
        return self.query_one("#flags", KeyTable)

    # -- loading ------------------------------------------------------------------------

    def connected(self, control: Control) -> None:
        self.start_polling()

    def apply_live(self, batch: LiveBatch) -> None:
        if batch.flags or batch.overflow:
            self.reload()

    def reload(self) -> None:
        """Re-read the flags (one load at a time)."""
        self.request_load()

    async def load(self, control: Control) -> None:
        flags = await control.flags()
        if not self.is_mounted or not self.query("#flags"):
            return  # torn down while we waited (the app is quitting)
        self._show(flags)
        self.loads += 1

    def _cells(self, f: FlagStatus) -> tuple[object, ...]:
        d = f.definition
        changed = f"{f.updated_by} {clock_time(f.updated_at)}" if f.updated_at else f.updated_by
        return (
            Text(f.name, style="bold", no_wrap=True, overflow="ellipsis"),
            flag_state(d),
            flag_split(d),
            plain(flag_value(d.get("default"))),
            right(str(len(d.get("rules") or []))),
            flag_evaluations(f),
            Text(changed, no_wrap=True, overflow="ellipsis"),
        )

    def _show(self, flags: list[FlagStatus]) -> None:
        ordered = sorted(flags, key=lambda f: f.name)
        self.flags = {f.name: f for f in ordered}
        self.table.sync([(f.name, self._cells(f)) for f in ordered])
        killed = [f.name for f in ordered if f.definition.get("killed")]
        parts: list[tuple[str, str] | str] = ["Flags · "]
        if not ordered:
            parts.append(("none: define them under [flags.NAME] in config.toml", "yellow"))
        else:
            parts.append((f"{len(ordered)} flag{'s' if len(ordered) != 1 else ''}", "bold"))
            if killed:
                parts += [" · ", (f"killed: {', '.join(killed)}", "bold red")]
            parts.append(" · evaluations per minute over the last 5 min")
            if getattr(self.app, "read_only", False):
                parts.append(" · read-only: changes are hidden")
        self.query_one("#flags-info", Static).update(Text.assemble(*parts))
        self._show_detail()

    @on(DataTable.RowHighlighted, "#flags")
    def _show_detail(self) -> None:
        f = self.current()
        self.query_one("#flag-detail", Static).update(flag_detail(f) if f is not None else Text(""))

    def current(self) -> FlagStatus | None:
        """The highlighted flag."""
        key = self.table.cursor_key()
        return self.flags.get(key) if key is not None else None

    def _target(self) -> FlagStatus | None:
        """The highlighted flag, or None after saying why there is nothing to act on."""
        f = self.current()
        if f is None:
            why = (
                "no flags are defined: add one under [flags.NAME] in config.toml"
                if not self.flags
                else "highlight a flag first (j / k)"
            )
            self.app.notify(why, title="no flag to change", severity="warning", markup=False)
        return f

    # -- actions --------------------------------------------------------------------------

    def _ask(
        self,
        f: FlagStatus,
        title: str,
        changes: Text,
        verb: str,
        fixed: dict[str, Any] | None,
        *,
        field: ValueField | None = None,
        danger: bool = False,
    ) -> None:
        name = f.name

        async def act(control: Control, actor: str, value: Any) -> FlagStatus:
            change = fixed if fixed is not None else {"rollout": value}
            return await control.set_flag(name, change, actor=actor, via="console")

        def done(status: FlagStatus | None) -> None:
            if status is not None:
                d = status.definition
                state = "KILLED" if d["killed"] else ("on" if d["enabled"] else "off")
                self.app.notify(f"{name}: {state} · {flag_split(d).plain}", title=f"flag {name} changed", markup=False)
            self.reload()

        self.app.push_screen(ConfirmScreen(title, changes, verb, act, field=field, danger=danger), done)

    def action_toggle_enabled(self) -> None:
        f = self._target()
        if f is None:
            return
        d = f.definition
        on = not d["enabled"]
        changes = Text.assemble(("enabled  ", "bold"), f"{flag_value(d['enabled'])} → {flag_value(on)}\n\n")
        if on:
            changes.append(f"Units get the flag again: {flag_split(d).plain}, rules first.")
        else:
            changes.append(f"Everyone gets the default, {flag_value(d['default'])}.")
        if d["killed"]:
            changes.append("\nThe kill switch stays on (k releases it): the default is served until then.", "yellow")
        verb = "Turn on" if on else "Turn off"
        self._ask(f, f"{verb} flag {f.name}", changes, verb, {"enabled": on}, danger=not on)

    def action_kill(self) -> None:
        f = self._target()
        if f is None:
            return
        d = f.definition
        kill = not d["killed"]
        changes = Text.assemble(("killed  ", "bold"), f"{flag_value(d['killed'])} → {flag_value(kill)}\n\n")
        if kill:
            changes.append(f"Everyone gets the default, {flag_value(d['default'])}, rules included, at once.")
        else:
            state = f"{flag_split(d).plain}, rules first" if d["enabled"] else "the flag is off: still the default"
            changes.append(f"The flag is evaluated again: {state}.")
        verb = "Kill" if kill else "Release kill switch"
        self._ask(f, f"{verb} flag {f.name}", changes, verb, {"killed": kill}, danger=kill)

    def action_rollout(self) -> None:
        f = self._target()
        if f is None:
            return
        d = f.definition
        if d.get("variants"):
            self.app.notify(
                f"{f.name} is multi-variant ({flag_split(d).plain}): change its variants with "
                "`agentops flags set NAME variants=...`",
                title="no rollout percentage",
                severity="warning",
                markup=False,
            )
            return
        changes = Text.assemble(
            ("rollout  ", "bold"),
            f"{d['rollout']:g}% → the percentage below, of units served {flag_value(d['value'])} ",
            f"(the rest get {flag_value(d['default'])})\n\n",
            "Units stay in their bucket: raising it adds units, lowering it removes the last ones added.",
        )
        field = ValueField("rollout, percent (0 to 100):", f"{d['rollout']:g}", parse_rollout, "e.g. 25")
        self._ask(f, f"Change the rollout of flag {f.name}", changes, "Set rollout", None, field=field)
