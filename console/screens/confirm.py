"""The confirmation modal of a change to a prompt or a flag: what will change, an optional value, confirm.

Like the decision modal, it makes the change itself (the ``act`` it is given calls the
control with the operator's name and ``via="console"``, so the change is audited). A
refusal from the control (a canary already running, a value out of range) is shown in
the modal, which stays open to fix it or cancel; nothing was changed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static

from agentops.console.screens.modal import ActionModal

if TYPE_CHECKING:
    from agentops.runtime import Control

__all__ = ["Act", "ConfirmScreen", "ValueField"]

Act = Callable[["Control", str, Any], Awaitable[Any]]
"""Makes the change: ``act(control, actor, value)`` (value: the parsed field, or None); returns the result."""


@dataclass(frozen=True)
class ValueField:
    """A value the operator types in the modal (a rollout percentage, say)."""

    label: str
    value: str
    parse: Callable[[str], Any]
    """Turns the text into the value; raises ValueError with the message to show."""
    placeholder: str = ""


class ConfirmScreen(ActionModal[Any]):
    """Confirm one change; dismissed with what ``act`` returned, or None when cancelled."""

    ERROR_ID = "confirm-error"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: 90; max-width: 95%; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    ConfirmScreen.-danger > Vertical { border: round $error; }
    ConfirmScreen #confirm-title { text-style: bold; margin-bottom: 1; }
    ConfirmScreen #confirm-changes { margin-bottom: 1; }
    ConfirmScreen #confirm-error { color: $error; height: auto; }
    ConfirmScreen #confirm-buttons { height: auto; margin-top: 1; }
    ConfirmScreen #confirm-buttons Button { margin-right: 2; }
    ConfirmScreen #confirm-hint { color: $text-muted; }
    """

    def __init__(
        self, title: str, changes: Text, verb: str, act: Act, *, field: ValueField | None = None, danger: bool = False
    ) -> None:
        super().__init__(classes="-danger" if danger else None)
        self.title_text = title
        self.changes = changes
        self.verb = verb
        self.act = act
        self.field = field
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.title_text), id="confirm-title")
            yield Static(self.changes, id="confirm-changes")
            if self.field is not None:
                yield Static(Text(self.field.label, style="dim"))
                yield Input(self.field.value, placeholder=self.field.placeholder, id="confirm-value")
            yield Static(Text(""), id="confirm-error")
            with Horizontal(id="confirm-buttons"):
                yield Button(self.verb, id="confirm-ok", variant="error" if self.danger else "primary")
                yield Button("Cancel", id="confirm-cancel")
            yield Static(Text("enter: confirm · esc: cancel"), id="confirm-hint")

    def on_mount(self) -> None:
        self.query_one("#confirm-value" if self.field is not None else "#confirm-ok").focus()

    @on(Button.Pressed, "#confirm-ok")
    @on(Input.Submitted, "#confirm-value")
    def _confirm(self) -> None:
        self.action_confirm()

    def action_confirm(self) -> None:
        """Make the change (refusals are shown here)."""
        if self.busy:
            return
        value: Any = None
        if self.field is not None:
            try:
                value = self.field.parse(self.query_one("#confirm-value", Input).value)
            except ValueError as exc:
                self.show_error(str(exc))
                return
        app: Any = self.app
        self.submit(partial(self.act, app.control, self.actor(), value), "confirm")

    @on(Button.Pressed, "#confirm-cancel")
    def _cancel(self) -> None:
        self.action_cancel()
