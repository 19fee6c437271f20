"""Traces: tasks as they run, newest first, filterable; ``enter`` opens one's span tree."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Input, Static

from agentops.console.format import clock_time, money, ms, plain, prompts_cell, right, status_text, tokens
from agentops.console.live import LiveBatch
from agentops.console.screens.base import ConsoleScreen
from agentops.console.widgets import KeyTable

if TYPE_CHECKING:
    from agentops.runtime import Control, TaskRecord

__all__ = ["MAX_TASKS", "TaskFilter", "TracesScreen"]

MAX_TASKS = 2000
"""Tasks the screen keeps; older ones drop off the end."""
INITIAL_TASKS = 500
COLUMNS = ("task", "agent", "user", "status", "steps", "tokens", "cost", "latency", "prompt", "started")
WIDTHS = (12, 9, 9, 9, 5, 17, 9, 8, 12, 8)
ID_CHARS = 12
"""Characters of a task id shown: a unique prefix is enough everywhere an id is typed."""
FLEX = {"prompt": 1}
"""The prompt column takes the width a wide terminal has to spare."""
FIELDS = {"agent", "user", "status", "id", "task", "error"}


class TaskFilter:
    """A filter typed after ``/``: words match anywhere; ``field:value`` matches one field.

    Fields: ``agent``, ``user``, ``status``, ``id`` (or ``task``), ``error`` (type). A
    leading ``!`` negates a term. Matching is case-insensitive, by substring.
    """

    def __init__(self, text: str = "") -> None:
        self.text = text.strip()
        self.terms: list[tuple[str | None, str, bool]] = []
        for word in self.text.lower().split():
            negate = word.startswith("!")
            term = word.lstrip("!")
            field, sep, value = term.partition(":")
            if sep and field in FIELDS:
                self.terms.append(("id" if field == "task" else field, value, negate))
            elif term:
                self.terms.append((None, term, negate))

    def __bool__(self) -> bool:
        return bool(self.terms)

    def matches(self, t: TaskRecord) -> bool:
        """Whether a task passes every term."""
        values = {
            "agent": t.agent,
            "user": t.user_id or "",
            "status": t.status,
            "id": t.id,
            "error": t.error_type or "",
        }
        for field, value, negate in self.terms:
            hay = values[field] if field else " ".join(values.values())
            if (value in hay.lower()) == negate:
                return False
        return True


class TracesScreen(ConsoleScreen):
    """Recent tasks, live."""

    HELP = """\
# Traces

Tasks as they run, newest first. The list follows new tasks while the cursor is on
the top row; move down and it holds still. Running tasks count their steps live.

| key | action |
|---|---|
| `enter` | open the task's span tree |
| `/` | filter (below) |
| `esc` | clear the filter |
| `j` / `k` | down / up |
| `g` / `G` | top (and follow) / bottom |

Filter: words match anywhere; `status:failed`, `agent:triage`, `user:alice`,
`id:3fa`, `error:Circuit` match one field; a leading `!` negates a term.
"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open trace"),
        Binding("slash", "filter", "Filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.tasks: dict[str, TaskRecord] = {}
        self.filter = TaskFilter()
        self._live_steps: dict[str, int] = {}
        self._cells: dict[str, tuple[object, ...]] = {}
        self._order: dict[str, float] = {}
        self._wanted: set[str] = set()
        self._fetching = False

    def compose_body(self) -> ComposeResult:
        yield Static("Traces · waiting for the runtime", id="traces-info", classes="info")
        yield KeyTable(id="tasks")
        yield Input(
            placeholder="filter: words, or status:failed agent:triage user:alice  (enter: done, esc: clear)",
            id="filter",
        )

    def on_mount(self) -> None:
        table = self.query_one("#tasks", KeyTable)
        table.add_fitted_columns(dict(zip(COLUMNS, WIDTHS, strict=True)), FLEX)
        table.focus()
        super().on_mount()

    # -- loading ------------------------------------------------------------------------

    def connected(self, control: Control) -> None:
        self.run_load(partial(self._load, control), "traces-load")

    async def _load(self, control: Control) -> None:
        self._upsert(await control.list_tasks(limit=INITIAL_TASKS))
        self._update_info()

    def apply_live(self, batch: LiveBatch) -> None:
        if batch.overflow:
            self._wanted |= set(self.tasks)
        for task_id, n in batch.steps.items():
            t = self.tasks.get(task_id)
            if t is not None and t.status == "running":
                self._live_steps[task_id] = self._live_steps.get(task_id, 0) + n
                self._render_row(t)
        self._wanted |= batch.tasks
        if self._wanted and not self._fetching and self.control is not None:
            self._fetching = True
            self.run_load(partial(self._fetch, self.control), "traces-fetch", exclusive=False)

    async def _fetch(self, control: Control) -> None:
        try:
            while self._wanted:
                ids, self._wanted = list(self._wanted), set()
                tasks = await control.get_tasks(ids)
                if not self.is_mounted or not self.query("#tasks"):
                    # Not composed yet, or torn down while we waited: fetch again when shown.
                    self._wanted |= set(ids)
                    return
                self._upsert(tasks)
        finally:
            self._fetching = False

    # -- the table ------------------------------------------------------------------------

    @property
    def table(self) -> KeyTable:
        """The task table."""
        return self.query_one("#tasks", KeyTable)

    def _cells_of(self, t: TaskRecord) -> tuple[object, ...]:
        done = t.finished_at is not None
        steps = max(t.steps, self._live_steps.get(t.id, 0))
        return (
            Text(t.id[:ID_CHARS]),
            plain(t.agent),
            plain(t.user_id),
            status_text(t.status),
            right(str(steps)),
            right(tokens(t.input_tokens, t.output_tokens, t.cached_tokens) if done else "-"),
            right(money(t.cost_usd) if done else "-"),
            right(ms(t.latency_ms) if done else "…"),
            prompts_cell(t.prompts, t.agent) if done or t.prompts else plain("…"),
            clock_time(t.created_at),
        )

    def _render_row(self, t: TaskRecord) -> bool:
        """Add or update ``t``'s row; True when a row was added."""
        table = self.table
        cells = self._cells_of(t)
        shown = t.id in self._cells
        if not self.filter.matches(t):
            if shown:
                table.remove_row(t.id)
                del self._cells[t.id]
            return False
        if shown:
            old = self._cells[t.id]
            for name, before, after in zip(COLUMNS, old, cells, strict=True):
                if before != after:
                    table.update_cell(t.id, name, after)
            self._cells[t.id] = cells
            return False
        table.add_row(*cells, key=t.id)
        self._cells[t.id] = cells
        return True

    def _upsert(self, records: list[TaskRecord]) -> None:
        if not records:
            return
        table = self.table
        follow = table.cursor_row == 0
        held = self._cursor_key()
        added = False
        for t in records:
            self.tasks[t.id] = t
            self._order[t.id] = t.created_at
            if t.status != "running":
                self._live_steps.pop(t.id, None)
            added = self._render_row(t) or added
        self._trim()
        if added:
            self._sort(follow, held)
        self._update_info()

    def _trim(self) -> None:
        if len(self.tasks) <= MAX_TASKS:
            return
        oldest = sorted(self.tasks.values(), key=lambda t: t.created_at)[: len(self.tasks) - MAX_TASKS]
        for t in oldest:
            del self.tasks[t.id]
            self._order.pop(t.id, None)
            self._live_steps.pop(t.id, None)
            if self._cells.pop(t.id, None) is not None:
                self.table.remove_row(t.id)

    def _cursor_key(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def _sort(self, follow: bool, held: str | None) -> None:
        table = self.table
        shown = {task_id[:ID_CHARS]: at for task_id, at in self._order.items()}  # the cell shows a prefix
        table.sort("task", key=lambda cell: -shown.get(cell.plain, 0.0))
        if follow or held is None or held not in self._cells:
            table.move_cursor(row=0)
        else:
            table.move_cursor(row=table.get_row_index(held))

    def _rebuild(self) -> None:
        table = self.table
        table.clear()
        self._cells.clear()
        rows = sorted(self.tasks.values(), key=lambda t: t.created_at, reverse=True)
        for t in rows:
            if self.filter.matches(t):
                cells = self._cells_of(t)
                table.add_row(*cells, key=t.id)
                self._cells[t.id] = cells
        table.move_cursor(row=0)
        self._update_info()

    def _update_info(self) -> None:
        shown, total = len(self._cells), len(self.tasks)
        parts = [f"Traces · {shown:,} task{'s' if shown != 1 else ''}"]
        if self.filter:
            parts.append(f"of {total:,} match “{self.filter.text}”")
        table = self.table
        parts.append("following newest" if table.cursor_row == 0 else "holding (g: back to newest)")
        self.query_one("#traces-info", Static).update(Text(" · ".join(parts)))

    @on(DataTable.RowHighlighted, "#tasks")
    def _highlighted(self) -> None:
        self._update_info()

    # -- actions --------------------------------------------------------------------------

    @on(DataTable.RowSelected, "#tasks")
    def _selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.open_task(event.row_key.value)

    def action_open(self) -> None:
        key = self._cursor_key()
        if key is not None:
            self.open_task(key)

    def open_task(self, task_id: str) -> None:
        """Push the span tree of one task."""
        from agentops.console.screens.trace import TraceScreen

        self.app.push_screen(TraceScreen(task_id))

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.display = False
        self.table.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter = TaskFilter(event.value)
        self._rebuild()

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            event.input.display = False
        self.table.focus()
