"""Escalations: the queue of decisions waiting for an operator, oldest first, with age and deadline.

``enter`` opens one (reason, proposed action and arguments, the task's trace so far);
``a`` / ``d`` / ``e`` approve, deny or edit it through a confirmation modal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from agentops.console.format import plain
from agentops.console.live import LiveBatch
from agentops.console.screens.base import ConsoleScreen
from agentops.console.screens.decide import ask_decision
from agentops.console.screens.escalation_text import age, deadline_text, proposal
from agentops.console.widgets import KeyTable

if TYPE_CHECKING:
    from agentops.runtime import Control, EscalationRecord

__all__ = ["DECISION_ACTIONS", "EscalationsScreen"]

POLL_S = 5.0
"""How often the queue is re-read from the store (decisions made in another process arrive only there)."""
CLOCK_S = 1.0
"""How often ages and deadlines are redrawn."""
MAX_ESCALATIONS = 500
COLUMNS = ("escalation", "age", "deadline", "agent", "task", "reason", "proposed")
WIDTHS = (12, 6, 10, 8, 16, 28, 24)
FLEX = {"reason": 3, "proposed": 2}
"""Columns that take the width a wide terminal has to spare, in these proportions."""
DECISION_ACTIONS = frozenset({"approve", "deny", "edit"})
DECISION_BINDINGS: list[BindingType] = [
    Binding("a", "approve", "Approve", id="escalation.approve"),
    Binding("d", "deny", "Deny", id="escalation.deny"),
    Binding("e", "edit", "Edit", id="escalation.edit"),
]


class EscalationsScreen(ConsoleScreen):
    """Waiting escalations, live."""

    HELP = """\
# Escalations

Decisions agents are waiting for, oldest first: how long each has waited and how
long is left before its default applies (red under a minute). A task that escalated
holds no worker; it resumes from its journal once decided. The list updates on
escalation and task events, and every few seconds from the store (decisions made
from the CLI or another process).

| key | action |
|---|---|
| `enter` | open: reason, proposed action and arguments, the task's trace so far |
| `a` | approve (confirm in a modal; optional comment) |
| `d` | deny (the reason is required: the agent receives it) |
| `e` | edit the proposed arguments as JSON, then approve (validated against the tool) |
| `t` | open the task's full trace |
| `j` / `k`, `g` / `G` | move |

Every decision lands in the audit log with your name (`$AGENTOPS_ACTOR`, else your
login) and `via console`. With `--read-only` the actions are hidden.
"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open"),
        *DECISION_BINDINGS,
        Binding("t", "trace", "Trace"),
    ]
    WRITE_ACTIONS = DECISION_ACTIONS

    def __init__(self) -> None:
        super().__init__()
        self.escalations: dict[str, EscalationRecord] = {}
        self._cells: dict[str, tuple[object, ...]] = {}
        self.loads = 0
        """Completed loads (tests wait on it)."""

    def compose_body(self) -> ComposeResult:
        yield Static(Text("Escalations · waiting for the runtime"), id="escalations-info", classes="info")
        yield KeyTable(id="escalations")

    def on_mount(self) -> None:
        table = self.table
        table.add_fitted_columns(dict(zip(COLUMNS, WIDTHS, strict=True)), FLEX)
        table.focus()
        self.set_interval(CLOCK_S, self._redraw_times, name="escalations-clock")
        super().on_mount()

    @property
    def table(self) -> KeyTable:
        """The queue."""
        return self.query_one("#escalations", KeyTable)

    # -- loading ------------------------------------------------------------------------

    def connected(self, control: Control) -> None:
        self.reload()
        self.set_interval(POLL_S, self._poll, name="escalations-poll")

    def _poll(self) -> None:
        if not getattr(self.app, "paused", False):
            self.reload()

    def apply_live(self, batch: LiveBatch) -> None:
        waiting_tasks = {e.task_id for e in self.escalations.values()}
        if batch.escalations or batch.overflow or batch.tasks & waiting_tasks:
            self.reload()

    def reload(self) -> None:
        """Re-read the queue (one load at a time; a change during a load triggers one more)."""
        self.request_load()

    async def load(self, control: Control) -> None:
        rows = await control.escalations(status="pending", limit=MAX_ESCALATIONS)
        self._show(rows)
        self.loads += 1

    # -- the table ------------------------------------------------------------------------

    def _now(self) -> float:
        clock = getattr(self.app, "clock", None)
        return clock() if clock is not None else 0.0

    def _cells_of(self, e: EscalationRecord, now: float) -> tuple[object, ...]:
        return (
            Text(e.id),
            Text(age(now - e.created_at), justify="right"),
            deadline_text(e, now),
            plain(e.agent),
            Text(e.task_id),
            Text(e.reason.replace("\n", " "), no_wrap=True, overflow="ellipsis"),
            proposal(e),
        )

    def _show(self, rows: list[EscalationRecord]) -> None:
        table = self.table
        held = self.cursor_key()
        held_row = table.cursor_row
        now = self._now()
        fresh = {e.id: e for e in rows}
        for gone in [k for k in self._cells if k not in fresh]:
            table.remove_row(gone)
            del self._cells[gone]
        added = False
        for e in rows:
            cells = self._cells_of(e, now)
            old = self._cells.get(e.id)
            if old is None:
                table.add_row(*cells, key=e.id)
                added = True
            else:
                for name, before, after in zip(COLUMNS, old, cells, strict=True):
                    if before != after:
                        table.update_cell(e.id, name, after)
            self._cells[e.id] = cells
        self.escalations = fresh
        if added:
            table.sort("escalation", key=lambda cell: self._created(cell.plain))
        if held in self._cells:
            table.move_cursor(row=table.get_row_index(held))
        elif table.row_count:
            table.move_cursor(row=min(held_row, table.row_count - 1))
        self._update_info()

    def _created(self, escalation_id: str) -> float:
        e = self.escalations.get(escalation_id)
        return e.created_at if e is not None else 0.0

    def _redraw_times(self) -> None:
        now = self._now()
        table = self.table
        for key, e in self.escalations.items():
            old = self._cells.get(key)
            if old is None:
                continue
            cells = self._cells_of(e, now)
            for name in ("age", "deadline"):
                i = COLUMNS.index(name)
                if old[i] != cells[i]:
                    table.update_cell(key, name, cells[i])
            self._cells[key] = cells
        self._update_info()

    def _update_info(self) -> None:
        n = len(self.escalations)
        info = self.query_one("#escalations-info", Static)
        if self.control is None:
            return
        if not n:
            info.update(Text.assemble("Escalations · ", ("nothing waiting", "green")))
            return
        oldest = min(e.created_at for e in self.escalations.values())
        parts = Text.assemble(
            "Escalations · ",
            (f"{n} waiting", "bold magenta"),
            f" · oldest {age(self._now() - oldest)}",
            " · read-only: decisions are hidden" if getattr(self.app, "read_only", False) else "",
        )
        info.update(parts)

    def cursor_key(self) -> str | None:
        """The highlighted escalation's id."""
        table = self.table
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def current(self) -> EscalationRecord | None:
        """The highlighted escalation."""
        key = self.cursor_key()
        return self.escalations.get(key) if key is not None else None

    # -- actions --------------------------------------------------------------------------

    @on(DataTable.RowSelected, "#escalations")
    def _selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.open_escalation(event.row_key.value)

    def action_open(self) -> None:
        key = self.cursor_key()
        if key is not None:
            self.open_escalation(key)

    def open_escalation(self, escalation_id: str) -> None:
        """Push the detail view of one escalation."""
        from agentops.console.screens.escalation import EscalationScreen

        self.app.push_screen(EscalationScreen(escalation_id), lambda _: self.reload())

    def action_trace(self) -> None:
        e = self.current()
        if e is not None:
            from agentops.console.screens.trace import TraceScreen

            self.app.push_screen(TraceScreen(e.task_id))

    def _decide(self, action: str) -> None:
        e = self.current()
        if e is not None:
            ask_decision(self.app, e, action, lambda _: self.reload())

    def action_approve(self) -> None:
        self._decide("approve")

    def action_deny(self) -> None:
        self._decide("deny")

    def action_edit(self) -> None:
        self._decide("edit")
