"""What the console's action modals share: make one change through the control, show a refusal in place.

The decision modal (:mod:`~agentops.console.screens.decide`) and the confirmation modal
(:mod:`~agentops.console.screens.confirm`) both run their change in a worker, once at a
time; a refusal from the control (``DecisionError``) or any other failure is shown in the
modal, which stays open to fix it or cancel; success dismisses it with the result.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, ClassVar, TypeVar

from rich.text import Text
from textual.screen import ModalScreen
from textual.widgets import Static

if TYPE_CHECKING:
    from agentops.runtime import DecisionError

__all__ = ["ActionModal"]

T = TypeVar("T")


class ActionModal(ModalScreen[T]):
    """A modal whose confirmation makes one change; ``ERROR_ID`` names its refusal line."""

    ERROR_ID: ClassVar[str]
    """The id of the Static that shows a refusal."""

    def __init__(self, *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self.busy = False
        """A change is being made (a second confirm is ignored until it ends)."""

    def on_screen_resume(self) -> None:
        hold = getattr(self.app, "hold_toasts", None)
        if hold is not None:
            hold()  # toasts already up leave the dialog's way; they come back when it closes

    @property
    def error(self) -> str:
        """The refusal shown, if any."""
        return str(self.query_one(f"#{self.ERROR_ID}", Static).render())

    def show_error(self, message: str) -> None:
        """Show why the change was refused (the modal stays open)."""
        if self.is_mounted:
            self.query_one(f"#{self.ERROR_ID}", Static).update(Text(message))

    def submit(self, work: Callable[[], Awaitable[T]], group: str) -> None:
        """Make the change in a worker: dismissed with its result, or the refusal shown here."""
        self.busy = True
        self.show_error("")
        self.run_worker(partial(self._make, work), group=group, exclusive=True, exit_on_error=False)

    async def _make(self, work: Callable[[], Awaitable[T]]) -> None:
        from agentops.runtime import DecisionError  # loaded by now: the app is connected

        try:
            result = await work()
        except DecisionError as exc:  # refused: nothing changed
            self.refused(exc)
            return
        except Exception as exc:  # noqa: BLE001 - shown to the operator, who can retry or cancel
            self.show_error(f"{type(exc).__name__}: {exc}")
            return
        finally:
            self.busy = False
        self.dismiss(result)

    def refused(self, exc: DecisionError) -> None:
        """The control refused the change: say why, in the modal."""
        self.show_error(str(exc))

    def action_cancel(self) -> None:
        """Close without changing anything."""
        self.dismiss(None)

    @staticmethod
    def actor() -> str:
        """The operator's name for the audit log."""
        from agentops.runtime.control.operations import current_actor

        return current_actor()
