"""One escalation: why the agent asked, what it proposes, and the task's trace so far; decide from here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static

from agentops.console.live import LiveBatch
from agentops.console.screens.base import ConsoleScreen
from agentops.console.screens.decide import ask_decision
from agentops.console.screens.escalation_text import escalation_detail, escalation_summary
from agentops.console.screens.escalations import DECISION_ACTIONS, DECISION_BINDINGS
from agentops.console.screens.span_text import span_label
from agentops.console.screens.trace import SpanTree

if TYPE_CHECKING:
    from textual.widgets.tree import TreeNode

    from agentops.runtime import Control, EscalationRecord, SpanRecord

__all__ = ["EscalationScreen"]


class EscalationScreen(ConsoleScreen):
    """The detail of one escalation, live until it is decided."""

    HELP = """\
# Escalation

Left: the reason the agent gave, the proposed action and its arguments, the context
it attached, and the decision once there is one. Right: the task's spans so far
(the steps before it asked). Text from agents, models and tools is shown verbatim.

| key | action |
|---|---|
| `a` | approve (confirm in a modal; optional comment) |
| `d` | deny (the reason is required: the agent receives it) |
| `e` | edit the proposed arguments as JSON, then approve |
| `t` | open the task's full trace (span details) |
| `tab` | switch between the details and the spans |
| `esc` | back to the queue |
"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        *DECISION_BINDINGS,
        Binding("t", "trace", "Trace"),
        Binding("tab", "app.focus_next", "Next pane", show=False),
    ]
    WRITE_ACTIONS = DECISION_ACTIONS

    def __init__(self, escalation_id: str) -> None:
        super().__init__()
        self.escalation_id = escalation_id
        self.record: EscalationRecord | None = None
        self.spans: list[SpanRecord] = []

    def compose_body(self) -> ComposeResult:
        yield Static(Text(f"escalation {self.escalation_id} · loading"), id="escalation-summary", classes="info")
        with Horizontal(id="escalation-body"):
            with VerticalScroll(id="escalation-pane"):
                yield Static(Text(""), id="escalation-detail")
            yield SpanTree(Text("trace so far"), id="escalation-spans")

    def on_mount(self) -> None:
        tree = self.query_one(SpanTree)
        tree.show_root = False
        tree.guide_depth = 3
        tree.border_title = "trace so far"
        self.query_one("#escalation-pane").focus()
        self.set_interval(1.0, self._show_summary, name="escalation-clock")
        super().on_mount()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in DECISION_ACTIONS and self.record is not None and self.record.status != "pending":
            return False  # decided: nothing left to decide
        return super().check_action(action, parameters)

    # -- loading ------------------------------------------------------------------------

    def connected(self, control: Control) -> None:
        self.reload()

    def apply_live(self, batch: LiveBatch) -> None:
        r = self.record
        task_id = r.task_id if r is not None else None
        if (
            batch.overflow
            or (r is not None and r.id in batch.escalations)
            or task_id in batch.spans
            or task_id in batch.tasks
        ):
            self.reload()

    def reload(self) -> None:
        """Re-read the escalation and the task's spans (one load at a time)."""
        self.request_load()

    async def load(self, control: Control) -> None:
        from agentops.runtime import DecisionError  # loaded by now: the app is connected

        try:
            record = await control.get_escalation(self.escalation_id)
        except DecisionError as exc:
            if self.is_mounted:
                self.query_one("#escalation-summary", Static).update(Text(str(exc), style="red"))
            return
        spans = await control.task_spans(record.task_id)
        if not self.is_mounted or not self.query("#escalation-detail"):
            return  # torn down while we waited
        decided_now = self.record is not None and self.record.status == "pending" and record.status != "pending"
        self.record = record
        self.escalation_id = record.id
        self.spans = spans
        self._show_summary()
        self.query_one("#escalation-detail", Static).update(escalation_detail(record))
        self._build_tree()
        self.refresh_bindings()
        if decided_now and record.decided_via != "console":
            app: Any = self.app
            app.notify(
                f"{record.id}: {record.decision} by {record.decided_by} via {record.decided_via}",
                title="decided elsewhere",
                markup=False,
            )

    def _show_summary(self) -> None:
        if self.record is not None:
            clock = getattr(self.app, "clock", None)
            now = clock() if clock is not None else 0.0
            self.query_one("#escalation-summary", Static).update(escalation_summary(self.record, now))

    def _build_tree(self) -> None:
        tree = self.query_one(SpanTree)
        tree.clear()
        ids = {s.span_id for s in self.spans}
        children: dict[str | None, list[SpanRecord]] = {}
        for s in self.spans:
            children.setdefault(s.parent_id if s.parent_id in ids else None, []).append(s)

        def add(parent: TreeNode[SpanRecord | None], span: SpanRecord) -> None:
            kids = children.get(span.span_id, [])
            label = span_label(span)
            node = parent.add(label, data=span, expand=True) if kids else parent.add_leaf(label, data=span)
            for kid in kids:
                add(node, kid)

        for top in children.get(None, []):
            add(tree.root, top)
        tree.root.expand()

    # -- actions --------------------------------------------------------------------------

    def action_back(self) -> None:
        self.dismiss()

    def action_trace(self) -> None:
        if self.record is not None:
            from agentops.console.screens.trace import TraceScreen

            self.app.push_screen(TraceScreen(self.record.task_id))

    def _decide(self, action: str) -> None:
        if self.record is not None:
            ask_decision(self.app, self.record, action, self._after)

    def _after(self, decided: EscalationRecord | None) -> None:
        if decided is not None:
            self.dismiss()  # back to the queue, which reloads
        else:
            self.reload()

    def action_approve(self) -> None:
        self._decide("approve")

    def action_deny(self) -> None:
        self._decide("deny")

    def action_edit(self) -> None:
        self._decide("edit")
