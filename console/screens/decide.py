"""The confirmation modal of a decision: approve, deny (with a reason) or edit the arguments, then confirm.

The modal makes the decision itself, through ``Control.decide(..., via="console")``,
which validates it and writes the audit log. A refusal (a denial without a reason,
edited arguments that fail the tool's schema) is shown in the modal, which stays
open to fix it. A decision someone else made first (from the CLI, say) closes the
modal with an error notification; the screens then show the decision that stands.
"""

from __future__ import annotations

import json
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static, TextArea

from agentops.console.screens.escalation_text import proposal, to_json
from agentops.console.screens.modal import ActionModal

if TYPE_CHECKING:
    from collections.abc import Callable

    from textual.app import App

    from agentops.runtime import DecisionError, EscalationRecord

__all__ = ["DECIDED", "DecideScreen", "ask_decision"]

VERBS = {"approve": "Approve", "deny": "Deny", "edit": "Edit and approve"}
DECIDED = {"approve": "approved", "deny": "denied", "edit": "approved with edited arguments"}
"""How a notification names a decision that was made."""


class DecideScreen(ActionModal["EscalationRecord | None"]):
    """Confirm one decision on one escalation, with an optional comment (a denial's reason is required).

    Dismissed with the decided record, or None when cancelled or decided by someone else first.
    """

    ERROR_ID = "decide-error"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "confirm", "Confirm"),
    ]
    DEFAULT_CSS = """
    DecideScreen { align: center middle; }
    DecideScreen > Vertical {
        width: 90; max-width: 95%; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    DecideScreen.-deny > Vertical { border: round $error; }
    DecideScreen #decide-title { text-style: bold; margin-bottom: 1; }
    DecideScreen #decide-reason { margin-bottom: 1; }
    DecideScreen #decide-args { height: 12; }
    DecideScreen #decide-error { color: $error; height: auto; }
    DecideScreen #decide-buttons { height: auto; margin-top: 1; }
    DecideScreen #decide-buttons Button { margin-right: 2; }
    DecideScreen #decide-hint { color: $text-muted; }
    """

    def __init__(self, record: EscalationRecord, action: str) -> None:
        super().__init__(classes=f"-{action}")
        self.record = record
        self.action = action

    def compose(self) -> ComposeResult:
        e = self.record
        with Vertical():
            yield Static(
                Text(f"{VERBS[self.action]} escalation {e.id} · agent {e.agent} · task {e.task_id}"), id="decide-title"
            )
            yield Static(Text(e.reason), id="decide-reason")
            if self.action == "edit":
                yield Static(Text(f"arguments of {e.tool or '(no tool)'}, as JSON:", style="dim"))
                yield TextArea(to_json(e.proposed), id="decide-args", soft_wrap=True)
            else:
                shown = proposal(e)
                shown.no_wrap, shown.overflow = False, "fold"
                yield Static(shown, id="decide-proposed")
            placeholder = "reason (required: the agent receives it)" if self.action == "deny" else "comment (optional)"
            yield Input(placeholder=placeholder, id="decide-comment")
            yield Static(Text(""), id="decide-error")
            with Horizontal(id="decide-buttons"):
                yield Button(
                    VERBS[self.action], id="decide-confirm", variant="error" if self.action == "deny" else "primary"
                )
                yield Button("Cancel", id="decide-cancel")
            hint = (
                "ctrl+s: confirm · tab: next field · esc: cancel"
                if self.action == "edit"
                else "enter: confirm · esc: cancel"
            )
            yield Static(Text(hint), id="decide-hint")

    def on_mount(self) -> None:
        self.query_one("#decide-args" if self.action == "edit" else "#decide-comment").focus()

    @on(Button.Pressed, "#decide-confirm")
    @on(Input.Submitted, "#decide-comment")
    def _confirm(self) -> None:
        self.action_confirm()

    def action_confirm(self) -> None:
        """Make the decision (refusals are shown here)."""
        if self.busy:
            return
        args: Any = None
        if self.action == "edit":
            text = self.query_one("#decide-args", TextArea).text
            try:
                args = json.loads(text)
            except json.JSONDecodeError as exc:
                self.show_error(f"the arguments are not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")
                return
        comment = self.query_one("#decide-comment", Input).value.strip() or None
        app: Any = self.app
        self.submit(
            partial(
                app.control.decide,
                self.record.id,
                self.action,
                actor=self.actor(),
                via="console",
                args=args,
                comment=comment,
            ),
            "decide",
        )

    def refused(self, exc: DecisionError) -> None:
        from agentops.runtime import ConflictError

        if isinstance(exc, ConflictError):  # someone else decided first: the screens show their decision
            self.app.notify(str(exc), title="not decided", severity="error", markup=False)
            self.dismiss(None)
        else:
            super().refused(exc)

    @on(Button.Pressed, "#decide-cancel")
    def _cancel(self) -> None:
        self.action_cancel()


def ask_decision(
    app: App[Any], record: EscalationRecord, action: str, after: Callable[[EscalationRecord | None], None]
) -> None:
    """Open the modal for ``action`` on ``record``; on a decision, notify; then call ``after``."""

    def done(decided: EscalationRecord | None) -> None:
        if decided is not None:
            app.notify(
                f"{decided.id} {DECIDED.get(decided.decision or '', decided.decision or '')}; "
                f"task {decided.task_id} resumes",
                title="decided",
                markup=False,
            )
        after(decided)

    app.push_screen(DecideScreen(record, action), done)
