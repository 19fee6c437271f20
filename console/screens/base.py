"""What every console screen shares: header, footer, help text, live batches, read-only mode."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer

from agentops.console.live import LiveBatch
from agentops.console.widgets import StatusBar

if TYPE_CHECKING:
    from agentops.runtime import Control

__all__ = ["ConsoleScreen", "is_link_error", "is_refusal"]


def is_link_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a remote control's request failing for a while: the server is unreachable,
    failing (5xx) or asking us to slow down (429). The next poll retries."""
    from agentops.runtime.errors import RemoteError  # loaded by now: a control exists

    return isinstance(exc, RemoteError) and (exc.status is None or exc.status >= 500 or exc.status == 429)


def is_refusal(exc: BaseException) -> bool:
    """Whether ``exc`` is the server refusing one request (403, 404, ...): worth telling, not fatal."""
    from agentops.runtime.errors import RemoteError

    return isinstance(exc, RemoteError) and not is_link_error(exc)


class ConsoleScreen(Screen[None]):
    """A screen of the console.

    Subclasses compose their body in :meth:`compose_body`, load data in
    :meth:`connected` (called once the app has a control, at mount or later) and
    apply live changes in :meth:`apply_live`.
    """

    _load_stale = False
    _load_running = False

    HELP: ClassVar[str] = ""
    """What this screen shows and its keys (shown by ``?``)."""
    WRITE_ACTIONS: ClassVar[frozenset[str]] = frozenset()
    """Actions that change the runtime: hidden and refused with ``--read-only``."""
    POLL_S: ClassVar[float | None] = None
    """With a value, :meth:`start_polling` re-reads the screen (:meth:`poll`) this often while
    it is shown and live updates are not paused, and again whenever it is shown."""

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

    def start_polling(self) -> None:
        """Read now, then every :attr:`POLL_S` seconds while shown (call from :meth:`connected`)."""
        assert self.POLL_S is not None, f"{type(self).__name__} sets no POLL_S"
        self.poll()
        self.set_interval(self.POLL_S, self._poll_if_shown, name=f"{type(self).__name__}-poll")

    def poll(self) -> None:
        """Re-read what the screen shows (default: :meth:`request_load`)."""
        self.request_load()

    def _poll_if_shown(self) -> None:
        if self.is_current and not getattr(self.app, "paused", False):
            self.poll()

    def on_screen_resume(self) -> None:
        app: Any = self.app
        if hasattr(app, "release_held_notices"):
            app.release_held_notices()  # background notices held back while a modal was open
        if self.POLL_S is not None:
            self.poll()

    def run_load(self, work: Callable[[], Awaitable[None]], group: str, *, exclusive: bool = True) -> None:
        """Run a read of the control in a worker; a lost connection is reported in the header, not fatal."""

        async def guarded() -> None:
            try:
                await work()
            except Exception as exc:
                app: Any = self.app
                if is_link_error(exc):
                    app.link_lost(exc)
                elif is_refusal(exc):
                    app.notify(str(exc), title="the server refused", severity="error", markup=False)
                else:
                    raise

        self.run_worker(guarded, group=group, exclusive=exclusive)

    def request_load(self) -> None:
        """Run :meth:`load` in a worker: one load at a time, and a request that arrives during
        a load triggers one more (never a cancel: under a steady stream of changes, cancelling
        would starve the view)."""
        control = self.control
        if control is None:
            return
        self._load_stale = True
        if not self._load_running:
            self._load_running = True
            self.run_load(partial(self._load_while_stale, control), f"{type(self).__name__}-load", exclusive=False)

    async def _load_while_stale(self, control: Control) -> None:
        try:
            while self._load_stale:
                self._load_stale = False
                try:
                    await self.load(control)
                except NoMatches:
                    if self.is_mounted and not self.app._exit:
                        raise
                    return  # torn down (or the app is exiting) while the load waited on the store
        finally:
            self._load_running = False

    async def load(self, control: Control) -> None:
        """Read what the screen shows and display it (see :meth:`request_load`)."""

    def apply_live(self, batch: LiveBatch) -> None:
        """Apply a batch of live changes (never blocks)."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action in self.WRITE_ACTIONS and getattr(self.app, "read_only", False))
