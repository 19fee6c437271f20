"""What every console screen shares: header, footer, help text, live batches, read-only mode."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from agentops.console.live import LiveBatch
from agentops.console.widgets import StatusBar

if TYPE_CHECKING:
    from agentops.runtime import Control

__all__ = ["ConsoleScreen"]


class ConsoleScreen(Screen[None]):
    """A screen of the console.

    Subclasses compose their body in :meth:`compose_body`, load data in
    :meth:`connected` (called once the app has a control, at mount or later) and
    apply live changes in :meth:`apply_live`.
    """

    HELP: ClassVar[str] = ""
    """What this screen shows and its keys (shown by ``?``)."""
    WRITE_ACTIONS: ClassVar[frozenset[str]] = frozenset()
    """Actions that change the runtime: hidden and refused with ``--read-only``."""

    @property
    def control(self) -> Control | None:
        """The app's control, once connected."""
        return getattr(self.app, "control", None)

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        """The screen's own widgets, between the header and the footer."""
        yield from ()

    def on_mount(self) -> None:
        app: Any = self.app
        app.attach_view(self)

    def on_unmount(self) -> None:
        app: Any = self.app
        app.detach_view(self)

    def connected(self, control: Control) -> None:
        """The app has a control: load what the screen shows."""

    def apply_live(self, batch: LiveBatch) -> None:
        """Apply a batch of live changes (never blocks)."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action in self.WRITE_ACTIONS and getattr(self.app, "read_only", False))
