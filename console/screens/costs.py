"""Costs and budgets: today's spend by agent, model and user, the rate of spend, calls per minute."""

from __future__ import annotations

import math
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Sparkline, Static

from agentops.console.format import day_start, money, plain, right
from agentops.console.screens.base import ConsoleScreen
from agentops.console.widgets import KeyTable

if TYPE_CHECKING:
    from agentops.runtime import BudgetStatus, Control, CostRow

__all__ = ["CostsScreen"]

POLL_S = 2.0
RATE_WINDOW_S = 300.0
"""Spend over this window, scaled to an hour, is the rate of spend."""
MINUTES = 30
DIMENSIONS = (("agent", "by agent"), ("model", "by model"), ("user", "by user"))
NO_BUDGETS = (
    "No budgets configured. Spend is tracked and attributed (task, session, user, agent, model) "
    "regardless; caps per task, session, user-day and global-day arrive with cost control, "
    "and their gauges will show here."
)


class CostsScreen(ConsoleScreen):
    """Where the money goes, and how fast."""

    HELP = """\
# Costs and budgets

Spend since local midnight from the cost ledger (one row per billed provider
response, cached input tokens priced as cached), grouped by agent, model and user.
The rate of spend is the last five minutes, scaled to an hour. The sparklines show
LLM calls, failed calls and P95 call latency per minute over the last 30 minutes.
Budgets show use against their caps once cost control configures them.
Refreshes every two seconds while shown.

| key | action |
|---|---|
| `tab` | next table |
| `r` | refresh now |
"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "app.focus_next", "Next table"),
        Binding("r", "refresh_now", "Refresh"),
    ]

    def compose_body(self) -> ComposeResult:
        yield Static(Text("Costs · waiting for the runtime"), id="costs-info", classes="info")
        with Horizontal(id="cost-tables"):
            for dim, _title in DIMENSIONS:
                yield KeyTable(id=f"by-{dim}", classes="cost-table")
        with Horizontal(id="sparks"):
            for name in ("calls", "errors", "p95"):
                with Vertical(classes="spark"):
                    yield Static(Text(name), id=f"{name}-label", classes="spark-label")
                    yield Sparkline([], id=f"{name}-spark", summary_function=max)
        yield Static(Text(NO_BUDGETS), id="budgets")

    def on_mount(self) -> None:
        for dim, title in DIMENSIONS:
            table = self.query_one(f"#by-{dim}", KeyTable)
            table.border_title = title
            for name, width in ((dim, 14), ("calls", 6), ("cost", 10)):
                table.add_column(name, width=width, key=name)
        self.query_one(f"#by-{DIMENSIONS[0][0]}", KeyTable).focus()
        self.query_one("#budgets", Static).border_title = "budgets"
        super().on_mount()

    def connected(self, control: Control) -> None:
        self.set_interval(POLL_S, self._poll)
        self.action_refresh_now()

    def on_screen_resume(self) -> None:
        self.action_refresh_now()

    def _poll(self) -> None:
        if self.is_current and not getattr(self.app, "paused", False):
            self.action_refresh_now()

    def action_refresh_now(self) -> None:
        """Re-read the ledger and the call statistics."""
        if self.control is not None:
            self.run_load(partial(self._refresh, self.control), "costs")

    async def _refresh(self, control: Control) -> None:
        app: Any = self.app
        now = app.clock()
        today = day_start(now)
        groups = {dim: await control.costs(dim, since=today) for dim, _ in DIMENSIONS}
        spend_today = sum(r.cost_usd for r in groups["agent"])
        recent = await control.spend(since=now - RATE_WINDOW_S, until=now)
        since = math.floor(now / 60) * 60 - (MINUTES - 1) * 60
        buckets = await control.call_buckets(since=since, until=since + MINUTES * 60, bucket_s=60)
        budgets = await control.budgets()
        for dim, rows in groups.items():
            self._fill(self.query_one(f"#by-{dim}", KeyTable), rows, spend_today)
        rate_h = recent / RATE_WINDOW_S * 3600
        calls = sum(b.calls for b in buckets)
        self.query_one("#costs-info", Static).update(
            Text.assemble(
                "Costs · today ",
                (money(spend_today), "bold"),
                " · rate ",
                (f"{money(rate_h)}/h", "bold yellow" if rate_h else ""),
                f" (last {RATE_WINDOW_S / 60:.0f} min) · {calls:,} calls in the last {MINUTES} min",
            )
        )
        series = {
            "calls": ([float(b.calls) for b in buckets], "calls/min", "{:.0f}"),
            "errors": ([float(b.errors) for b in buckets], "errors/min", "{:.0f}"),
            "p95": ([b.p95_ms for b in buckets], "P95 ms", "{:,.0f}"),
        }
        for name, (data, title, fmt) in series.items():
            self.query_one(f"#{name}-spark", Sparkline).data = data
            last, peak = (data[-1], max(data)) if data else (0.0, 0.0)
            self.query_one(f"#{name}-label", Static).update(
                Text.assemble((title, "bold"), f"  now {fmt.format(last)} · peak {fmt.format(peak)}")
            )
        self._show_budgets(budgets)

    def _fill(self, table: KeyTable, rows: list[CostRow], total: float) -> None:
        held = table.cursor_row
        table.clear()
        for r in rows:
            table.add_row(
                plain(r.key.removeprefix("openai/")),
                right(f"{r.calls:,}"),
                right(money(r.cost_usd), "yellow" if r.unpriced_calls else ""),
                key=r.key,
            )
        if rows:
            table.move_cursor(row=min(held, len(rows) - 1))

    def _show_budgets(self, budgets: list[BudgetStatus]) -> None:
        box = self.query_one("#budgets", Static)
        if not budgets:
            box.update(Text(NO_BUDGETS, style="dim"))
            return
        out = Text()
        for b in budgets:
            filled = min(20, round(b.fraction * 20))
            style = "red" if b.fraction >= 1 else "yellow" if b.fraction >= 0.8 else "green"
            out.append(f"{b.scope:<11} {b.key:<16} ")
            out.append("█" * filled, style=style)
            out.append("░" * (20 - filled), style="dim")
            out.append(f" {money(b.used_usd)} of {money(b.cap_usd)} ({b.fraction:.0%})\n")
        box.update(out)
