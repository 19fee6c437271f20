"""The operations console: a Textual app over a :class:`~agentops.runtime.Control`.

It paints first and connects second: the app is given a coroutine function that
returns a control (starting an in-process runtime, say), runs it in a worker after
the first frame, and shows "starting runtime" in the header until the runtime
reports ready. It never touches the store or the runtime's internals.

Live events reach the screens through a :class:`~agentops.console.live.LiveFeed`,
drained every ``tick_s`` (0.1 s): however many events arrive, each screen applies
at most ~10 batches a second, so input stays responsive under a burst.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.notifications import Notify, SeverityLevel
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widgets._toast import ToastRack  # the pinned Textual's toast container (no public name)

from agentops.console.commands import ConsoleCommands
from agentops.console.format import day_start
from agentops.console.live import LiveBatch, LiveFeed
from agentops.console.screens import (
    AlertsScreen,
    CircuitsScreen,
    ConsoleScreen,
    CostsScreen,
    EscalationScreen,
    EscalationsScreen,
    FlagsScreen,
    GuardsScreen,
    HelpScreen,
    PromptsScreen,
    TraceScreen,
    TracesScreen,
)
from agentops.console.screens.base import is_link_error

if TYPE_CHECKING:
    from agentops.runtime import Control, RuntimeStatus

__all__ = ["ConnectError", "ConsoleApp"]

Connect = Callable[[], Awaitable["Control"]]
MAX_NOTICES_PER_TICK = 3
MAX_TOASTS = 4
"""Toasts shown at once: a new one beyond these dismisses the oldest."""
MAX_HELD = 20


class ConnectError(Exception):
    """Connecting failed in a way the operator must fix (e.g. bad configuration): exit with this message."""


class ConsoleApp(App[int]):
    """The agentops console.

    Args:
        connect: returns the control to show (called once, after the first paint).
        connection: how the header names the connection (``in-process``, a host).
        read_only: hide every action that would change the runtime.
        clock: wall clock for "today" and the per-minute charts (frozen in snapshot tests).
        tick_s: how often live events are applied.
        status_s: how often the header's figures are re-read.
    """

    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "agentops"
    MODES: ClassVar[dict[str, Any]] = {
        "traces": TracesScreen,
        "circuits": CircuitsScreen,
        "costs": CostsScreen,
        "escalations": EscalationsScreen,
        "prompts": PromptsScreen,
        "flags": FlagsScreen,
        "alerts": AlertsScreen,
        "guards": GuardsScreen,
    }
    DEFAULT_MODE = "traces"
    COMMAND_PALETTE_BINDING = "colon"
    COMMANDS = App.COMMANDS | {ConsoleCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "switch_mode('traces')", "Traces", show=False, id="screen.traces"),
        Binding("2", "switch_mode('circuits')", "Circuits", show=False, id="screen.circuits"),
        Binding("3", "switch_mode('costs')", "Costs", show=False, id="screen.costs"),
        Binding("4", "switch_mode('escalations')", "Escalations", show=False, id="screen.escalations"),
        Binding("5", "switch_mode('prompts')", "Prompts", show=False, id="screen.prompts"),
        Binding("6", "switch_mode('flags')", "Flags", show=False, id="screen.flags"),
        Binding("7", "switch_mode('alerts')", "Alerts", show=False, id="screen.alerts"),
        Binding("8", "switch_mode('guards')", "Guards", show=False, id="screen.guards"),
        Binding("p", "toggle_pause", "Pause", id="live.pause"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("q", "quit", "Quit", id="quit"),
    ]

    runtime_status: reactive[RuntimeStatus | None] = reactive(None)
    phase: reactive[str] = reactive("starting runtime")
    paused: reactive[bool] = reactive(False)

    def __init__(
        self,
        connect: Connect,
        *,
        connection: str = "in-process",
        read_only: bool = False,
        clock: Callable[[], float] = time.time,
        tick_s: float = 0.1,
        status_s: float = 1.0,
    ) -> None:
        super().__init__()
        self._connect_fn = connect
        self.connection = connection
        self.read_only = read_only
        self.clock = clock
        self.tick_s, self.status_s = tick_s, status_s
        self.control: Control | None = None
        self.feed = LiveFeed(None)
        self.exit_after: float | None = None
        """Quit this many seconds after start (tests, timed demos)."""
        self.first_paint_at: float | None = None
        """``time.perf_counter()`` of the first frame (for bench/console.py)."""
        self._views: list[ConsoleScreen] = []
        self._held: list[dict[str, Any]] = []
        """Background notices that arrived while a modal was open (shown when it closes)."""
        self._held_dropped = 0

    # -- start ----------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.call_after_refresh(self._painted)
        if self.exit_after is not None:
            self.set_timer(self.exit_after, self.exit)

    def _painted(self) -> None:
        self.first_paint_at = time.perf_counter()
        self.run_worker(self._connect, name="connect", group="connect", exit_on_error=False)

    async def _connect(self) -> None:
        try:
            control = await self._connect_fn()
        except ConnectError as exc:
            self.exit(2, message=str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - shown to the operator, who can still quit
            self.phase = f"error: {type(exc).__name__}: {exc}"
            self.notify(str(exc), title="cannot start the runtime", severity="error", timeout=30)
            return
        self.control = control
        self.feed = LiveFeed(control.subscribe(maxsize=20_000))
        self.feed.paused = self.paused
        for view in list(self._views):
            self.feed.attach(view)
            view.connected(control)
        self.set_interval(self.tick_s, self._tick, name="live-tick")
        self.set_interval(self.status_s, self._poll_status, name="status")
        await self._read_status(control)

    def attach_view(self, view: ConsoleScreen) -> None:
        """A screen mounted: feed it live batches, and hand it the control when there is one."""
        self._views.append(view)
        if self.control is not None:
            self.feed.attach(view)
            view.connected(self.control)

    def detach_view(self, view: ConsoleScreen) -> None:
        """A screen unmounted: stop feeding it."""
        if view in self._views:
            self._views.remove(view)
        self.feed.detach(view)

    # -- notices --------------------------------------------------------------------------

    def alert(self, message: str, *, title: str, severity: SeverityLevel = "warning", timeout: float = 5) -> None:
        """A background event's notice (never markup). While a modal is open it waits, so that
        toasts never cover the dialog the operator is answering."""
        notice = {"message": message, "title": title, "severity": severity, "timeout": timeout, "markup": False}
        if isinstance(self.screen, ModalScreen):
            self._hold(notice)
            return
        self.notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def _hold(self, notice: dict[str, Any]) -> None:
        if len(self._held) < MAX_HELD:
            self._held.append(notice)
        else:
            self._held_dropped += 1

    def hold_toasts(self) -> None:
        """A modal is open: take the toasts off it; they come back when it closes."""
        if not isinstance(self.screen, ModalScreen) or not len(self._notifications):
            return
        for n in self._notifications:
            left = max(1.0, n.time_left)
            self._hold(
                {"message": n.message, "title": n.title, "severity": n.severity, "timeout": left, "markup": n.markup}
            )
        self.clear_notifications()
        # The screens under the modal show through it, their toasts too: empty their racks as well.
        for screen in self.screen_stack[:-1]:
            for rack in screen.query(ToastRack):
                rack.show(self._notifications)

    def release_held_notices(self) -> None:
        """Show what was held back while a modal was open: a few as they came, more as one summary."""
        if isinstance(self.screen, ModalScreen) or not self._held:
            return
        held, dropped = self._held, self._held_dropped
        self._held, self._held_dropped = [], 0
        if len(held) + dropped <= 2:
            for n in held:
                self.notify(**n)
            return
        titles = list(dict.fromkeys(n["title"] for n in held))
        severities = {n["severity"] for n in held}
        severity: SeverityLevel = (
            "error" if "error" in severities else "warning" if "warning" in severities else "information"
        )
        self.notify(
            "\n".join(titles[:5]) + (f"\n... and {len(titles) - 5} more" if len(titles) > 5 else ""),
            title=f"{len(held) + dropped} notices while the dialog was open",
            severity=severity,
            timeout=10,
            markup=False,
        )

    def _on_notify(self, event: Notify) -> None:
        super()._on_notify(event)
        # At most MAX_TOASTS on screen: the oldest go first (the pinned Textual's notification store).
        extra = list(self._notifications)[:-MAX_TOASTS]
        for n in extra:
            self._unnotify(n, refresh=False)
        if extra:
            self._refresh_notifications()

    # -- live -----------------------------------------------------------------------------

    def _tick(self) -> None:
        batch = self.feed.tick()
        # New escalations are alerts: raised on any screen, paused or not.
        opened = self.feed.take_opened()
        for e in opened[-MAX_NOTICES_PER_TICK:]:
            self.alert(
                f"{e.get('agent', '?')}: {str(e.get('reason', ''))[:160]}",
                title="Escalation waiting (4: Escalations)",
                timeout=10,
            )
        if batch is not None:
            self._notice(batch)
        elif opened:
            self._poll_status()

    def _notice(self, batch: LiveBatch) -> None:
        for t in batch.transitions[-MAX_NOTICES_PER_TICK:]:
            to, reason = t["to_state"], t["reason"].split(" (last:", 1)[0][:120]
            if to == "open":
                self.alert(reason, title=f"circuit {t['deployment']} opened")
            elif to == "closed":
                self.alert(reason, title=f"circuit {t['deployment']} closed", severity="information")
        rolled_back = [c for c in batch.prompt_changes if c.get("change") == "canary.rolled_back"]
        for c in rolled_back[-MAX_NOTICES_PER_TICK:]:
            self.alert(
                str(c.get("reason", ""))[:200],
                title=f"canary of {c.get('prompt')} v{c.get('version')} rolled back (5: Prompts)",
            )
        for a in batch.prompt_alerts[-MAX_NOTICES_PER_TICK:]:
            self.alert(
                str(a.get("reason", ""))[:200],
                title=f"shadow of {a.get('prompt')} v{a.get('version')} regressed (5: Prompts)",
                timeout=10,
            )
        for a in [a for a in batch.alerts if a["event"] == "firing"][-MAX_NOTICES_PER_TICK:]:
            if a.get("rule") in ("canary_rollback", "shadow_regression"):
                continue  # told above, from the rollout's own event
            self.alert(str(a.get("summary", ""))[:200], title=f"alert {a.get('rule')} firing (7: Alerts)", timeout=10)
        if batch.ready or batch.transitions or batch.escalations or batch.alerts:
            self._poll_status()

    def _poll_status(self) -> None:
        if self.control is not None:
            self.run_worker(
                partial(self._read_status, self.control), group="status", exclusive=True, exit_on_error=False
            )

    async def _read_status(self, control: Control) -> None:
        try:
            st = await control.status(day_start=day_start(self.clock()))
        except Exception as exc:
            if not is_link_error(exc):
                raise
            self.link_lost(exc)
            return
        self.runtime_status = st
        link = control.connection_state  # a remote control's event stream
        if link != "connected":
            self.phase = f"live stream {link}"
        elif not st.live:
            self.phase = "store only (not live)"
        else:
            self.phase = "ready" if st.ready else "starting runtime (loading providers)"

    def link_lost(self, exc: BaseException) -> None:
        """A remote control's request failed: say so in the header (the next poll retries)."""
        self.phase = f"connection lost: {str(exc)[:100]} (retrying)"

    # -- actions --------------------------------------------------------------------------

    def action_toggle_pause(self) -> None:
        """Pause or resume applying live updates (events keep being collected)."""
        self.paused = not self.paused
        self.feed.paused = self.paused
        if not self.paused:
            self._tick()

    def action_help(self) -> None:
        """Help for the current screen."""
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(getattr(self.screen, "HELP", "")))

    async def open_task(self, task_id: str) -> None:
        """Show one task's span tree (from anywhere)."""
        if self.current_mode != "traces":
            await self.switch_mode("traces")
        await self.push_screen(TraceScreen(task_id))

    async def open_escalation(self, escalation_id: str) -> None:
        """Show one escalation (from anywhere)."""
        if self.current_mode != "escalations":
            await self.switch_mode("escalations")
        await self.push_screen(EscalationScreen(escalation_id))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (self.read_only and action in getattr(self.screen, "WRITE_ACTIONS", ()))
