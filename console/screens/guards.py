"""Guards: the guards' recent decisions, live: injections flagged, blocked or escalated,
personal data redacted, system prompts echoed, agents departing from their baseline.

Each row says which guard decided what about which agent's task, where (the input, a tool's
result, the reply) and why; the highlighted decision shows its excerpt of the text, with
personal data masked when it was written. Every text is shown literally (markup off).
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import DataTable, Static

from agentops.console.format import clock_time, plain
from agentops.console.live import LiveBatch
from agentops.console.screens.base import ConsoleScreen
from agentops.console.widgets import KeyTable

if TYPE_CHECKING:
    from agentops.runtime import Control
    from agentops.store import GuardDecisionRecord

__all__ = ["GuardsScreen", "decision_detail"]

COLUMNS = ("at", "guard", "decision", "agent", "task", "where", "score", "reason")
WIDTHS = (8, 11, 9, 12, 12, 16, 5, 30)
FLEX = {"reason": 1}
MAX_DECISIONS = 500
WINDOW_S = 86400.0
DECISION_STYLES = {"block": "bold red", "escalate": "bold magenta", "flag": "yellow", "redact": "cyan"}


def _key(d: GuardDecisionRecord) -> str:
    return f"{d.at:.6f}:{d.guard}:{d.task_id}:{d.where}"


def decision_detail(d: GuardDecisionRecord) -> Text:
    """One decision: the guard, the agent and task, the reason, and the text's excerpt."""
    out = Text()
    out.append(f"{d.guard} ", style="bold")
    out.append(d.decision, style=DECISION_STYLES.get(d.decision, ""))
    out.append(f"  agent {d.agent} · task {d.task_id or '-'} · {d.where or '-'} · {clock_time(d.at)}\n", style="dim")
    out.append(d.reason + "\n")  # literal text: a reason quotes rule names and scores, never markup
    extra = {k: d.details[k] for k in ("rules", "entities") if d.details.get(k)}
    if extra:
        out.append(json.dumps(extra, default=str) + "\n", style="dim")
    if d.text:
        out.append("\n")
        out.append(d.text)  # the model's or tool's text, masked: literal
    return out


class GuardsScreen(ConsoleScreen):
    """The guards' decisions of the last day, newest first, live."""

    POLL_S = 5.0
    HELP = """\
# Guards

The guards' decisions of the last 24 hours other than *pass*, newest first:

- `injection`: untrusted text (the task's input, a tool's result, a document) scored for
  prompt injection before a call: `flag` (the call went on), `block`, `escalate`.
- `output_pii`: personal data or a secret in a reply or a tool's result: `redact`, `block`.
- `prompt_echo`: a reply that quoted its system prompt.
- `behaviour`: a task that departed from its agent's usual actions (a tool it never used,
  several times its usual calls); an alert too.

The highlighted decision shows its reason and an excerpt of the text, personal data
masked, as literal text. Escalations wait on `4`. Policies are `[guards]` in config.toml.

| key | action |
|---|---|
| `j` / `k`, `g` / `G` | move |
"""
    BINDINGS: ClassVar[list[BindingType]] = []

    def __init__(self) -> None:
        super().__init__()
        self.decisions: dict[str, GuardDecisionRecord] = {}
        self.loads = 0
        """Completed loads (tests wait on it)."""

    def compose_body(self) -> ComposeResult:
        yield Static(Text("Guards · waiting for the runtime"), id="guards-info", classes="info")
        yield KeyTable(id="guards")
        yield Static(Text(""), id="guard-detail")

    def on_mount(self) -> None:
        self.table.add_fitted_columns(dict(zip(COLUMNS, WIDTHS, strict=True)), FLEX)
        self.query_one("#guard-detail", Static).border_title = "highlighted decision"
        self.table.focus()
        super().on_mount()

    @property
    def table(self) -> KeyTable:
        """The decisions."""
        return self.query_one("#guards", KeyTable)

    def connected(self, control: Control) -> None:
        self.start_polling()

    def apply_live(self, batch: LiveBatch) -> None:
        if batch.guards or batch.overflow:
            self.request_load()

    async def load(self, control: Control) -> None:
        rows = await control.guard_decisions(since=time.time() - WINDOW_S, limit=MAX_DECISIONS)
        if not self.is_mounted or not self.query("#guards"):
            return
        self.decisions = {_key(d): d for d in rows}
        self.table.sync([(k, self._cells(d)) for k, d in self.decisions.items()])
        counts: dict[str, int] = {}
        for d in rows:
            counts[d.decision] = counts.get(d.decision, 0) + 1
        parts: list[tuple[str, str] | str] = ["Guards · last 24 h · "]
        if not rows:
            parts.append(("nothing flagged, blocked or redacted", "green"))
        for i, (decision, n) in enumerate(sorted(counts.items())):
            parts += [" · " if i else "", (f"{n} {decision}", DECISION_STYLES.get(decision, ""))]
        self.query_one("#guards-info", Static).update(Text.assemble(*parts))
        self._show_detail()
        self.loads += 1

    @staticmethod
    def _cells(d: GuardDecisionRecord) -> tuple[object, ...]:
        return (
            clock_time(d.at),
            plain(d.guard),
            plain(d.decision, DECISION_STYLES.get(d.decision, "")),
            plain(d.agent),
            plain((d.task_id or "-")[:12]),
            Text(d.where or "-", no_wrap=True, overflow="ellipsis"),
            plain(f"{d.score:.2f}" if d.score is not None else "-"),
            Text(d.reason, no_wrap=True, overflow="ellipsis"),
        )

    @on(DataTable.RowHighlighted, "#guards")
    def _show_detail(self) -> None:
        key = self.table.cursor_key()
        d = self.decisions.get(key) if key is not None else None
        self.query_one("#guard-detail", Static).update(decision_detail(d) if d is not None else Text(""))
