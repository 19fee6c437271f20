"""One task's trace: its span tree, and the details of the highlighted span."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static, Tree

from agentops.console.format import clock_time, money, ms, status_text
from agentops.console.live import LiveBatch
from agentops.console.render import task_summary
from agentops.console.screens.base import ConsoleScreen
from agentops.console.screens.span_text import span_detail, span_label

if TYPE_CHECKING:
    from textual.widgets.tree import TreeNode

    from agentops.runtime import Control, SpanRecord, TaskRecord

__all__ = ["SpanTree", "TraceScreen"]


class SpanTree(Tree["SpanRecord | None"]):
    """The span tree, with vim keys."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "scroll_home", "Top", show=False),
        Binding("G", "scroll_end", "Bottom", show=False),
    ]


class TraceScreen(ConsoleScreen):
    """The spans of one task: LLM calls with their attempts, tool calls, gates."""

    HELP = """\
# Trace

The span tree of one task. Highlight a span to see its input, output, model,
deployment, attempts, retries and fallbacks, latency, tokens (cached apart), cost
and errors. In the tree, `2r` is two retries and `1fb` a fallback from one deployment.
Model and tool text is shown verbatim (never as markup). A running task updates live.

| key | action |
|---|---|
| `j` / `k`, arrows | move in the tree |
| `enter` / `space` | fold or unfold a span |
| `tab` | move to the details pane (scroll with arrows) |
| `esc` | back to the list |
"""
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Back")]

    def __init__(self, task_id: str) -> None:
        super().__init__()
        self.task_id = task_id
        self.record: TaskRecord | None = None
        self.spans: list[SpanRecord] = []
        self._selected: str | None = None
        self._widest = 0

    def compose_body(self) -> ComposeResult:
        yield Static(Text(f"task {self.task_id} · loading"), id="trace-summary", classes="info")
        with Horizontal(id="trace-body"):
            yield SpanTree(Text(f"task {self.task_id}"), id="spans")
            with VerticalScroll(id="span-pane"):
                yield Static(Text("select a span"), id="span-detail")

    def on_mount(self) -> None:
        tree = self.query_one(SpanTree)
        tree.show_root = False
        tree.guide_depth = 3
        tree.focus()
        super().on_mount()

    def connected(self, control: Control) -> None:
        self._reload(control)

    def apply_live(self, batch: LiveBatch) -> None:
        if (self.task_id in batch.spans or self.task_id in batch.tasks or batch.overflow) and self.control:
            self._reload(self.control)

    def _reload(self, control: Control) -> None:
        self.request_load()

    async def load(self, control: Control) -> None:
        task = await control.get_task(self.task_id)
        if task is None:
            self.query_one("#trace-summary", Static).update(Text(f"task {self.task_id}: not found", style="red"))
            return
        self.record = task
        self.task_id = task.id
        self.spans = await control.task_spans(task.id)
        self._show_summary(task)
        self._build_tree()

    def _show_summary(self, t: TaskRecord) -> None:
        head = Text.assemble(
            ("task ", "dim"),
            (t.id, "bold"),
            ("  agent ", "dim"),
            t.agent,
            ("  user ", "dim"),
            t.user_id or "-",
            "  ",
            status_text(t.status),
            ("  started ", "dim"),
            clock_time(t.created_at),
            ("  latency ", "dim"),
            ms(t.latency_ms) if t.finished_at else "running",
            ("  cost ", "dim"),
            money(t.cost_usd),
        )
        head.append(f"\ntrace {t.trace_id}", style="dim")
        if t.parent_id:
            head.append(f"  sub-task of {t.parent_id}", style="dim")
        if t.finished_at is not None:
            head.append("\n" + task_summary(t).split("\n", 1)[0], style="dim")
        if t.prompts:
            head.append("\nprompts " + ", ".join(t.prompts), style="dim")
        if t.error:
            head.append(f"\n{t.error_type}: {t.error}", style="red")
        self.query_one("#trace-summary", Static).update(head)

    def _build_tree(self) -> None:
        tree = self.query_one(SpanTree)
        keep = self._selected
        tree.clear()
        ids = {s.span_id for s in self.spans}
        children: dict[str | None, list[SpanRecord]] = {}
        for s in self.spans:
            children.setdefault(s.parent_id if s.parent_id in ids else None, []).append(s)
        nodes: dict[str, TreeNode[SpanRecord | None]] = {}
        widest = 0

        def add(parent: TreeNode[SpanRecord | None], span: SpanRecord, depth: int) -> None:
            nonlocal widest
            kids = children.get(span.span_id, [])
            label = span_label(span)
            widest = max(widest, depth * tree.guide_depth + label.cell_len)
            node = parent.add(label, data=span, expand=True) if kids else parent.add_leaf(label, data=span)
            nodes[span.span_id] = node
            for kid in kids:
                add(node, kid, depth + 1)

        for top in children.get(None, []):
            add(tree.root, top, 1)
        tree.root.expand()
        self._fit_tree(widest)
        target = nodes.get(keep) if keep else None
        if target is None:
            first_llm = next((s for s in self.spans if s.kind == "llm"), None)
            target = nodes.get(first_llm.span_id) if first_llm else None
        if target is not None:
            self._show_span(target.data)
            # After the tree has laid out its new lines (clearing resets the cursor to the top).
            self.call_after_refresh(tree.move_cursor, target)

    def _fit_tree(self, widest: int | None = None) -> None:
        """As wide as its longest label (and the scrollbar), between a third and three fifths of the screen."""
        if widest is not None:
            self._widest = widest
        if not self._widest:
            return
        total = self.size.width or self.app.size.width
        tree = self.query_one(SpanTree)
        tree.styles.width = max(total // 3, min(self._widest + 4, total * 3 // 5))

    def on_resize(self) -> None:
        self._fit_tree()

    @on(Tree.NodeHighlighted, "#spans")
    def _highlighted(self, event: Tree.NodeHighlighted[Any]) -> None:
        span = event.node.data
        if span is not None:
            self._selected = span.span_id
            self._show_span(span)

    def _show_span(self, span: SpanRecord | None) -> None:
        if span is not None:
            self.query_one("#span-detail", Static).update(span_detail(span))

    def action_back(self) -> None:
        self.dismiss()
