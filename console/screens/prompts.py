"""Prompts: every prompt with its production version and running canary or shadow; the highlighted
prompt's versions with their live figures, and a side-by-side diff of two versions.

``P`` / ``R`` / ``c`` / ``s`` promote, roll back, start or stop a canary, start or stop a
shadow, each through a confirmation modal that shows what will change.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from agentops.console.format import money, ms, plain, right
from agentops.console.live import LiveBatch
from agentops.console.render import prompt_lines
from agentops.console.screens.base import ConsoleScreen
from agentops.console.screens.confirm import ConfirmScreen
from agentops.console.screens.prompt_text import labels_text, running_text, side_by_side
from agentops.console.widgets import KeyTable

if TYPE_CHECKING:
    from agentops.runtime import Control
    from agentops.runtime.rollouts import PromptSummary, PromptVersionInfo

__all__ = ["PROMPT_ACTIONS", "PromptsScreen"]

FIGURES_S = 24 * 3600.0
"""Per-version figures are over this span (as ``agentops prompts show``)."""
PROMPT_COLUMNS = ("prompt", "versions", "production", "running", "description")
PROMPT_WIDTHS = (20, 8, 10, 32, 36)
VERSION_COLUMNS = ("version", "created", "artifact", "labels", "calls", "errors", "invalid", "P95", "$/call", "judge")
PROMPT_ACTIONS = frozenset({"promote", "rollback", "canary", "shadow"})
BASE_MARK = " ◆"


def _v(version: int | None) -> str:
    return f"v{version}" if version is not None else "none"


def _pct(calls: int, rate: float) -> Text:
    return right(f"{rate:.1%}" if calls else "-", "red" if calls and rate >= 0.05 else "")


class PromptsScreen(ConsoleScreen):
    """Prompt versions, labels and rollouts."""

    POLL_S = 5.0
    """How often prompts and figures are re-read while shown (calls accrue; changes made in another
    process arrive only so)."""
    HELP = """\
# Prompts

Top: every prompt, its number of versions, the version in **production**, and what
is running against it: a **canary** (a share of users get the new version; it
advances, promotes itself or rolls back by its figures) or a **shadow** (production
answers; the new version runs on a copy and a judge scores it).

Middle: the highlighted prompt's versions, newest first, with their figures over the
last 24 hours: calls, error rate, validation failures (replies that failed their
schema), P95 latency, cost per call and the judge's mean score as a shadow.

Bottom: a side-by-side diff. By default it compares **production** (left) with the
**highlighted version** (right). Press `d` on a version to pin it as the left side
instead (marked ◆), then move to compare it with any other; `d` on the pinned
version unpins it (back to production). Refreshes on prompt changes and every few seconds.
A canary that rolls itself back, and a shadow the judge scores below its threshold,
raise a notification on any screen.

| key | action |
|---|---|
| `enter` | on a prompt: go to its versions |
| `d` | pin the highlighted version as the diff's left side (on the pinned one: unpin) |
| `P` | promote the highlighted version to production (confirm in a modal) |
| `R` | roll production back to the previous version |
| `c` | start a canary of the highlighted version, or stop the running canary |
| `s` | start a shadow of the highlighted version, or stop the running shadow |
| `tab` | next pane: prompts, versions, diff |
| `j` / `k`, `g` / `G` | move |

Every change lands in the audit log with your name (`$AGENTOPS_ACTOR`, else your
login) and `via console`. With `--read-only` the actions are hidden.
"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "mark", "Pin diff"),
        Binding("P", "promote", "Promote", id="prompt.promote"),
        Binding("R", "rollback", "Roll back", id="prompt.rollback"),
        Binding("c", "canary", "Canary", id="prompt.canary"),
        Binding("s", "shadow", "Shadow", id="prompt.shadow"),
        Binding("tab", "app.focus_next", "Next pane", show=False),
    ]
    WRITE_ACTIONS = PROMPT_ACTIONS

    def __init__(self) -> None:
        super().__init__()
        self.prompts: dict[str, PromptSummary] = {}
        self.selected: str | None = None
        """The prompt whose versions are shown."""
        self.versions: list[PromptVersionInfo] = []
        self.base: int | None = None
        """The version marked as the diff's left side (None: production)."""
        self._versions_of: str | None = None
        self._diff_shown: tuple[object, ...] | None = None
        self.loads = 0
        """Completed loads (tests wait on it)."""

    def compose_body(self) -> ComposeResult:
        yield Static(Text("Prompts · waiting for the runtime"), id="prompts-info", classes="info")
        yield KeyTable(id="prompts")
        yield Static(Text(""), id="versions-info", classes="info")
        yield KeyTable(id="versions")
        with VerticalScroll(id="prompt-diff"):
            yield Static(Text(""), id="prompt-diff-text")

    def on_mount(self) -> None:
        prompts = self.prompts_table
        for name, width in zip(PROMPT_COLUMNS, PROMPT_WIDTHS, strict=True):
            prompts.add_column(name, width=width, key=name)
        for name in VERSION_COLUMNS:
            self.versions_table.add_column(name, key=name)
        self.query_one("#prompt-diff").border_title = "diff"
        self.prompts_table.focus()
        super().on_mount()

    @property
    def prompts_table(self) -> KeyTable:
        """The prompts."""
        return self.query_one("#prompts", KeyTable)

    @property
    def versions_table(self) -> KeyTable:
        """The selected prompt's versions."""
        return self.query_one("#versions", KeyTable)

    # -- loading ------------------------------------------------------------------------

    def connected(self, control: Control) -> None:
        self.start_polling()

    def apply_live(self, batch: LiveBatch) -> None:
        if batch.prompts or batch.overflow:
            self.reload()

    def reload(self) -> None:
        """Re-read the prompts and the selected prompt's versions (one load at a time)."""
        self.request_load()

    async def load(self, control: Control) -> None:
        from agentops.runtime import DecisionError  # loaded by now: the app is connected

        summaries = await control.prompts()
        if self._torn_down():
            return
        self._show_prompts(summaries)
        name = self.selected
        versions: list[PromptVersionInfo] = []
        if name is not None:
            try:
                versions = await control.prompt_versions(name, since=self._now() - FIGURES_S)
            except DecisionError:  # gone meanwhile (NotFoundError): show none
                versions = []
        if self._torn_down():
            return
        if name == self.selected:  # else a newer load is coming for the new selection
            self._show_versions(versions)
        self.loads += 1

    def _torn_down(self) -> bool:
        """The screen went away while a load waited on the control (the app is quitting)."""
        return not self.is_mounted or not self.query("#versions")

    def _now(self) -> float:
        clock = getattr(self.app, "clock", None)
        return clock() if clock is not None else time.time()

    # -- the tables -----------------------------------------------------------------------

    def _show_prompts(self, summaries: list[PromptSummary]) -> None:
        self.prompts = {p.name: p for p in summaries}
        rows = [
            (
                p.name,
                (
                    Text(p.name, style="bold", no_wrap=True, overflow="ellipsis"),
                    right(str(p.versions)),
                    plain(f"v{p.labels['production']}" if "production" in p.labels else "-", "green"),
                    running_text(p),
                    Text(p.description.replace("\n", " "), no_wrap=True, overflow="ellipsis"),
                ),
            )
            for p in summaries
        ]
        table = self.prompts_table
        table.sync(rows)
        current = table.cursor_key()
        if self.selected not in self.prompts:
            self.selected = current
            self.base = None
        self._update_info()

    def _version_cells(self, v: PromptVersionInfo) -> tuple[object, ...]:
        return (
            plain(f"v{v.version}{BASE_MARK if v.version == self.base else ''}", "bold"),
            plain(time.strftime("%Y-%m-%d %H:%M", time.localtime(v.created_at))),
            plain(v.artifact_id, "dim"),
            labels_text(v),
            right(f"{v.calls:,}"),
            _pct(v.calls, v.error_rate),
            _pct(v.calls, v.gate_failure_rate),
            right(ms(v.p95_ms) if v.calls else "-"),
            right(money(v.cost_per_call) if v.calls else "-"),
            right(f"{v.judge_score:.2f}" if v.judge_score is not None else "-"),
        )

    def _show_versions(self, versions: list[PromptVersionInfo]) -> None:
        shown = {v.version for v in versions}
        if self.base not in shown:
            self.base = None
        self.versions = versions
        table = self.versions_table
        table.sync([(f"{v.prompt}:{v.version}", self._version_cells(v)) for v in versions])
        if versions and versions[0].prompt != self._versions_of:
            table.move_cursor(row=0)  # a newly selected prompt starts at its newest version
            self._versions_of = versions[0].prompt
        self._show_diff()

    def _update_info(self) -> None:
        if self.control is None:
            return
        running = sum(1 for p in self.prompts.values() if p.canary or p.shadow)
        parts: list[tuple[str, str] | str] = [
            "Prompts · ",
            (f"{len(self.prompts)} prompt{'s' if len(self.prompts) != 1 else ''}", "bold"),
        ]
        if running:
            parts += [" · ", (f"{running} with a canary or shadow running", "bold yellow")]
        parts.append(" · figures over the last 24 h")
        if getattr(self.app, "read_only", False):
            parts.append(" · read-only: actions are hidden")
        if not self.prompts:
            parts = ["Prompts · ", ("none: add NAME.toml files under prompts.dir", "yellow")]
        self.query_one("#prompts-info", Static).update(Text.assemble(*parts))

    # -- selection and the diff -------------------------------------------------------------

    @on(DataTable.RowHighlighted, "#prompts")
    def _prompt_highlighted(self) -> None:
        key = self.prompts_table.cursor_key()
        if key is not None and key != self.selected:
            self.selected = key
            self.base = None
            self.versions = []
            self._versions_of = None
            self.versions_table.sync([])
            self._show_diff()
            self.reload()

    @on(DataTable.RowSelected, "#prompts")
    def _prompt_selected(self) -> None:
        self.versions_table.focus()

    @on(DataTable.RowHighlighted, "#versions")
    def _version_highlighted(self) -> None:
        self._show_diff()

    def current_version(self) -> PromptVersionInfo | None:
        """The highlighted version of the selected prompt."""
        key = self.versions_table.cursor_key()
        return next((v for v in self.versions if f"{v.prompt}:{v.version}" == key), None)

    def _by_version(self, version: int | None) -> PromptVersionInfo | None:
        return next((v for v in self.versions if v.version == version), None)

    def production(self) -> int | None:
        """The selected prompt's production version."""
        p = self.prompts.get(self.selected or "")
        return p.labels.get("production") if p is not None else None

    def diff_pair(self) -> tuple[PromptVersionInfo, PromptVersionInfo] | None:
        """(left, right): the marked version (else production) and the highlighted one."""
        right_v = self.current_version()
        left_v = self._by_version(self.base if self.base is not None else self.production())
        if right_v is None or left_v is None:
            return None
        return left_v, right_v

    def _version_title(self, v: PromptVersionInfo) -> str:
        labels = [lab for lab in v.labels if lab in ("production", "canary", "shadow", "latest")]
        return f"v{v.version}" + (f" ({', '.join(labels)})" if labels else "")

    def _show_diff(self) -> None:
        name = self.selected
        pair = self.diff_pair()
        count = self.prompts[name].versions if name in self.prompts else 0
        shown = (name, count, self.base, *((v.version, v.artifact_id, tuple(v.labels)) for v in pair or ()))
        if shown == self._diff_shown and pair is not None:
            return  # unchanged: keep the pane (and where it is scrolled to) as it is
        self._diff_shown = shown
        box = self.query_one("#prompt-diff-text", Static)
        pane = self.query_one("#prompt-diff")
        p = self.prompts.get(name or "")
        info = self.query_one("#versions-info", Static)
        if name is None or p is None:
            info.update(Text(""))
            box.update(Text(""))
            pane.border_title = "diff"
            return
        base = f"v{self.base} ◆" if self.base is not None else "production"
        hint = f"d on v{self.base}: unpin" if self.base is not None else "d: pin the highlighted version as the left"
        info.update(
            Text.assemble(
                (name, "bold"),
                f" · {p.versions} version{'s' if p.versions != 1 else ''} · diff ",
                (base, "bold"),
                " ↔ ",
                ("highlighted", "bold"),
                f" · {hint}",
            )
        )
        if pair is None:
            box.update(Text("loading" if not self.versions else "no production version to compare", style="dim"))
            pane.border_title = "diff"
            return
        left, right_v = pair
        if left.version == right_v.version:
            pane.border_title = f"{name} {self._version_title(left)}"
            others = "move to another version to compare" if len(self.versions) > 1 else "the only version"
            box.update(
                Text.assemble(
                    (f"{self._version_title(left)}: {others}\n\n", "dim"), "\n".join(prompt_lines(left.content))
                )
            )
            return
        pane.border_title = f"{name}: {self._version_title(left)} ↔ {self._version_title(right_v)}"
        box.update(side_by_side(left.content, right_v.content, self._version_title(left), self._version_title(right_v)))

    # -- actions --------------------------------------------------------------------------

    def action_mark(self) -> None:
        """Pin the highlighted version as the diff's left side (or, on the pinned one, unpin it)."""
        v = self.current_version()
        if v is None:
            return
        self.base = None if self.base == v.version else v.version
        self._show_versions(self.versions)

    def _ask(self, title: str, changes: Text, verb: str, action: str, version: int | None, *, danger: bool) -> None:
        name = self.selected
        if name is None:
            return

        async def act(control: Control, actor: str, _value: Any) -> PromptSummary:
            return await control.prompt_action(name, action, version=version, actor=actor, via="console")

        def done(summary: PromptSummary | None) -> None:
            if summary is not None:
                labels = " ".join(f"{k}=v{v}" for k, v in sorted(summary.labels.items()))
                self.app.notify(f"{title}: done · {labels}", title=f"prompt {name}", markup=False)
            self.reload()

        self.app.push_screen(ConfirmScreen(title, changes, verb, act, danger=danger), done)

    def _refuse(self, message: str) -> None:
        self.app.notify(message, title="nothing to do", severity="warning", markup=False)

    def action_promote(self) -> None:
        v, production, p = self.current_version(), self.production(), self.prompts.get(self.selected or "")
        if v is None or p is None:
            return
        if v.version == production:
            self._refuse(f"{p.name} v{v.version} is production already")
            return
        changes = Text.assemble(
            ("production  ", "bold"),
            f"{_v(production)} → v{v.version}\n",
            ("previous    ", "bold"),
            f"{_v(p.labels.get('previous'))} → {_v(production)}\n" if production is not None else "unchanged\n",
            "\nEvery step that resolves production uses the new version at once.",
        )
        if p.canary is not None:
            changes.append(f"\nThe canary of v{p.canary.version} keeps running (c stops it).", style="yellow")
        self._ask(f"Promote {p.name} v{v.version}", changes, "Promote", "promote", v.version, danger=False)

    def action_rollback(self) -> None:
        p = self.prompts.get(self.selected or "")
        if p is None:
            return
        production, previous = p.labels.get("production"), p.labels.get("previous")
        if previous is None or previous == production:
            self._refuse(f"{p.name} has no previous production version to roll back to")
            return
        changes = Text.assemble(
            ("production  ", "bold"),
            f"v{production} → v{previous}\n",
            ("previous    ", "bold"),
            f"v{previous} → v{production}\n",
            "\nEvery step that resolves production uses the previous version at once.",
        )
        self._ask(f"Roll back {p.name}", changes, "Roll back", "rollback", None, danger=True)

    def _rollout(self, kind: str) -> None:
        p = self.prompts.get(self.selected or "")
        if p is None:
            return
        running = p.canary if kind == "canary" else p.shadow
        production = p.labels.get("production")
        if running is not None:
            what = f"at {running.share:g}% of users" if kind == "canary" else "on a copy of production's requests"
            changes = Text.assemble(
                (f"{kind}  ", "bold"),
                f"v{running.version} ({what}) → stopped\n",
                ("production  ", "bold"),
                f"stays v{production}\n",
            )
            if kind == "shadow" and running.mean_score is not None:
                changes.append(f"\nThe judge scored it {running.mean_score:.2f} over {running.judged} requests.")
            self._ask(
                f"Stop the {kind} of {p.name} v{running.version}",
                changes,
                f"Stop {kind}",
                f"{kind}.stop",
                None,
                danger=True,
            )
            return
        v = self.current_version()
        if v is None:
            return
        if v.version == production:
            self._refuse(f"{p.name} v{v.version} is production: highlight another version to run as a {kind}")
            return
        if kind == "canary":
            detail = (
                "a share of users (sticky) gets it, growing by stages while its error rate, validation\n"
                "failures and P95 stay within their margins of production's; a breach rolls it back"
            )
        else:
            detail = (
                "production still answers every request; a copy runs on this version and a judge\n"
                "scores its reply against production's (it costs extra calls)"
            )
        changes = Text.assemble(
            (f"{kind}  ", "bold"),
            f"none → v{v.version}, against production v{production}\n\n",
            detail,
        )
        self._ask(
            f"Start a {kind} of {p.name} v{v.version}",
            changes,
            f"Start {kind}",
            f"{kind}.start",
            v.version,
            danger=False,
        )

    def action_canary(self) -> None:
        self._rollout("canary")

    def action_shadow(self) -> None:
        self._rollout("shadow")
