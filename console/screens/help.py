"""``?``: the keys of the current screen and of the whole console."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen

__all__ = ["GLOBAL_HELP", "HelpScreen"]

GLOBAL_HELP = """\
# Everywhere

| key | action |
|---|---|
| `:` | command palette: jump to a screen, or type a task id (or an `e-…` escalation id) to open it |
| `1` … `6` | Traces, Circuits, Costs, Escalations, Prompts, Flags |
| `p` | pause or resume live updates (events are kept and applied on resume) |
| `?` | this help |
| `esc` | back |
| `q` | quit |

Live events are coalesced and applied at most ten times a second. A new
escalation raises a notification on any screen, even while paused. With
`--read-only`, every action that would change the runtime is hidden.
"""


class HelpScreen(ModalScreen[None]):
    """Help for the screen below it, then the global keys."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "close", "Close"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90; max-width: 95%; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, screen_help: str) -> None:
        super().__init__()
        self.screen_help = screen_help

    def compose(self) -> ComposeResult:
        from textual.widgets import Markdown  # markdown-it is slow to import: not before the first paint

        with VerticalScroll():
            yield Markdown(self.screen_help + "\n" + GLOBAL_HELP)

    def action_close(self) -> None:
        self.dismiss()
