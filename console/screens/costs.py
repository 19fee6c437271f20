"""Costs and budgets: budget gauges, the response cache, batch jobs in flight, today's spend by
agent, model and user, the rate of spend, calls per minute.

``c`` changes the highlighted budget's cap through a confirmation modal (audited as the
operator, ``via console``); hidden with ``--read-only``.
"""

from __future__ import annotations

import math
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Sparkline, Static

from agentops.console.format import amount, day_start, gauge, money, plain, right
from agentops.console.render import eta, of_cap, parse_cap, to_cap
from agentops.console.screens.base import ConsoleScreen
from agentops.console.screens.confirm import ConfirmScreen, ValueField
from agentops.console.widgets import KeyTable

if TYPE_CHECKING:
    from agentops.runtime import BudgetStatus, Control, CostRow
    from agentops.runtime.control.local import CacheTotals
    from agentops.store import BatchJobRecord, BatchTotals

__all__ = ["CostsScreen"]

RATE_WINDOW_S = 300.0
"""Spend over this window, scaled to an hour, is the rate of spend."""
MINUTES = 30
BATCH_JOBS_SHOWN = 3
"""Batch jobs in flight listed under the figures (``agentops batches`` lists them all)."""
DIMENSIONS = (("agent", "by agent"), ("model", "by model"), ("user", "by user"))
SPARKS = {
    "calls": ("calls/min", "{:.0f}"),
    "attempt-errors": ("attempt errors/min", "{:.0f}"),
    "errors": ("failed after fallback/min", "{:.0f}"),
    "p95": ("P95 ms", "{:,.0f}"),
}
"""The per-minute sparklines: a title and how a figure is shown. Attempt errors are every
failed attempt (retried, or fallen back from); a call fails only when its whole route did."""
COST_COLUMNS = (("calls", 6), ("hits", 5), ("cost", 10), ("saved", 10))
BUDGET_COLUMNS = (
    ("scope", 10),
    ("key", 12),
    ("use", 16),
    ("used / cap", 21),
    ("left", 10),
    ("rate", 12),
    ("to cap", 8),
    ("action", 9),
)
FIGURES = frozenset({"used / cap", "left", "rate", "to cap"})
"""Budget columns of right-aligned figures."""
WARN, FULL = 0.8, 1.0
"""Shares of a cap at which a budget's row turns yellow, then red."""
NO_BUDGETS = (
    "No budget caps in use. Spend is tracked and attributed (task, session, user, agent, model) regardless. "
    "Set caps under [budgets] in config.toml (task_tokens, session_tokens, user_day_usd, agent_day_usd, "
    "global_day_usd; action = block, downgrade or escalate), or with `agentops budgets set SCOPE KEY CAP`; "
    "their gauges show here."
)
OVER_CAP = {
    "block": "are refused (BudgetExceededError)",
    "downgrade": "go to the cheaper downgrade route",
    "escalate": "wait for an operator to raise the cap",
}


def _style(b: BudgetStatus) -> str:
    return "bold red" if b.fraction >= FULL else "yellow" if b.fraction >= WARN else ""


class CostsScreen(ConsoleScreen):
    """Where the money goes, how fast, and against which caps."""

    POLL_S = 2.0
    """How often the ledger, budgets and cache figures are re-read while shown."""
    HELP = """\
# Costs and budgets

**Budgets**: one row per capped budget in use today (task and session caps count
tokens; user, agent and global caps count USD per day, from local midnight): a gauge
of use against the cap, what is left (calls in flight hold their estimate until they
settle), the rate over the last 15 minutes, the time to the cap at that rate (`idle`:
no recent use), and what happens to calls over the cap. Rows turn yellow at 80% of
the cap and red at 100%. Caps come from `[budgets]` in config.toml, or are set live.

**Response cache**: calls today, the share answered from the cache (exact repeats,
similar questions), what those answers and providers' prompt caching saved, and the
entries held.

**Batch jobs**: provider batch jobs not settled yet and the requests waiting for an
answer (steps that go by batch: `ctx.llm(..., batch=True)`, `agentops submit --batch`,
or `[batch] agents`), what batch calls cost today at the batch rate and what that saved
against the full rate, and the oldest jobs in flight (`agentops batches` lists them all).

Spend since local midnight from the cost ledger, grouped by agent, model and user:
calls, cache hits among them, cost and savings. The rate of spend is the last five
minutes, scaled to an hour. The sparklines show per minute over the last 30 minutes:
LLM calls; *attempt errors*, every attempt a provider failed (a 503 that was retried
or fell back counts here); calls *failed after fallback*, those whose every retry and
deployment failed (what agents saw); and P95 call latency. Refreshes every two seconds
while shown.

| key | action |
|---|---|
| `c` | change the highlighted budget's cap (a number above 0; confirm in a modal) |
| `tab` | next table |
| `r` | refresh now |

A new cap applies at once, is kept until changed again, and lands in the audit log
with your name and `via console`. With `--read-only` the action is hidden.
"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "raise_cap", "Raise cap", id="budget.cap"),
        Binding("tab", "app.focus_next", "Next table"),
        Binding("r", "refresh_now", "Refresh"),
    ]
    WRITE_ACTIONS = frozenset({"raise_cap"})

    def __init__(self) -> None:
        super().__init__()
        self.budgets: dict[str, BudgetStatus] = {}
        """The budgets shown, by row key (``scope:key``)."""
        self.cache: CacheTotals | None = None
        self.batch_totals: BatchTotals | None = None
        self.loads = 0
        """Completed refreshes (tests wait on it)."""

    def compose_body(self) -> ComposeResult:
        yield Static(Text("Costs · waiting for the runtime"), id="costs-info", classes="info")
        yield KeyTable(id="budgets")
        yield Static(Text(NO_BUDGETS, style="dim"), id="no-budgets")
        with Horizontal(classes="cost-row"):
            for dim, _title in DIMENSIONS[:2]:
                yield KeyTable(id=f"by-{dim}", classes="cost-table")
        with Horizontal(classes="cost-row"):
            yield KeyTable(id=f"by-{DIMENSIONS[2][0]}", classes="cost-table")
            with Vertical(id="cache-column"):
                yield Static(Text(""), id="cache")
                yield Static(Text(""), id="batches")
        with Horizontal(id="sparks"):
            for name in SPARKS:
                with Vertical(classes="spark"):
                    yield Static(Text(name), id=f"{name}-label", classes="spark-label")
                    yield Sparkline([], id=f"{name}-spark", summary_function=max)

    def on_mount(self) -> None:
        budgets = self.budgets_table
        budgets.border_title = "budgets · today"
        for name, width in BUDGET_COLUMNS:
            budgets.add_column(right(name) if name in FIGURES else name, width=width, key=name)
        budgets.display = False  # until a load says there are some
        for dim, title in DIMENSIONS:
            table = self.query_one(f"#by-{dim}", KeyTable)
            table.border_title = title
            table.add_column(dim, width=16, key=dim)
            for name, width in COST_COLUMNS:
                table.add_column(right(name), width=width, key=name)
        self.query_one("#cache", Static).border_title = "response cache · today"
        self.query_one("#batches", Static).border_title = "batch jobs · today"
        self.query_one(f"#by-{DIMENSIONS[0][0]}", KeyTable).focus()
        super().on_mount()

    @property
    def budgets_table(self) -> KeyTable:
        """One row per budget."""
        return self.query_one("#budgets", KeyTable)

    def connected(self, control: Control) -> None:
        self.start_polling()

    def poll(self) -> None:
        self.action_refresh_now()

    def action_refresh_now(self) -> None:
        """Re-read the ledger, the budgets, the cache figures and the call statistics."""
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
        cache = await control.cache_stats(since=today)
        batch = await control.batch_totals(since=today)
        in_flight = await control.batch_jobs(in_flight=True, limit=BATCH_JOBS_SHOWN) if batch.jobs_in_flight else []
        if not self.is_mounted:
            return  # torn down while we waited (the app is quitting)
        for dim, rows in groups.items():
            self._fill(self.query_one(f"#by-{dim}", KeyTable), rows)
        rate_h = recent / RATE_WINDOW_S * 3600
        calls = sum(b.calls for b in buckets)
        parts: list[str | tuple[str, str]] = [
            "Costs · today ",
            (money(spend_today), "bold"),
            " · rate ",
            (f"{money(rate_h)}/h", "bold yellow" if rate_h else ""),
            f" (last {RATE_WINDOW_S / 60:.0f} min) · {calls:,} calls in the last {MINUTES} min",
        ]
        if getattr(self.app, "read_only", False):
            parts.append(" · read-only")
        self.query_one("#costs-info", Static).update(Text.assemble(*parts))
        series = {
            "calls": [float(b.calls) for b in buckets],
            "attempt-errors": [float(b.attempt_errors) for b in buckets],
            "errors": [float(b.errors) for b in buckets],
            "p95": [b.p95_ms for b in buckets],
        }
        for name, data in series.items():
            title, fmt = SPARKS[name]
            self.query_one(f"#{name}-spark", Sparkline).data = data
            last, peak = (data[-1], max(data)) if data else (0.0, 0.0)
            self.query_one(f"#{name}-label", Static).update(
                Text.assemble((title, "bold"), f"\nnow {fmt.format(last)} · peak {fmt.format(peak)}")
            )
        self._show_budgets(budgets)
        self._show_cache(cache)
        self._show_batches(batch, in_flight, now)
        self.loads += 1

    def _fill(self, table: KeyTable, rows: list[CostRow]) -> None:
        table.sync(
            [
                (
                    r.key,
                    (
                        plain(r.key.removeprefix("openai/")),
                        right(f"{r.calls:,}"),
                        right(f"{r.cache_hits:,}", "" if r.cache_hits else "dim"),
                        right(money(r.cost_usd), "yellow" if r.unpriced_calls else ""),
                        right(money(r.saving_usd), "green" if r.saving_usd else "dim"),
                    ),
                )
                for r in rows
            ]
        )

    def _show_budgets(self, budgets: list[BudgetStatus]) -> None:
        table = self.budgets_table
        self.budgets = {f"{b.scope}:{b.key}": b for b in budgets}
        table.sync([(row_key, self._budget_cells(b)) for row_key, b in self.budgets.items()])
        if table.display != bool(budgets):
            first = self.query_one("#by-agent", KeyTable)
            if not budgets and table.has_focus:
                first.focus()
            table.display = bool(budgets)
            self.query_one("#no-budgets", Static).display = not budgets
            if budgets and first.has_focus:
                table.focus()  # budgets appeared: the table the action works on

    def _budget_cells(self, b: BudgetStatus) -> tuple[object, ...]:
        style = _style(b)
        return (
            plain(b.scope, style),
            Text(b.key, style=style, no_wrap=True, overflow="ellipsis"),
            gauge(b.fraction, style),
            right(of_cap(b.used, b.cap, b.unit), style),
            right(amount(b.remaining, b.unit), style),
            right(f"{amount(b.rate_per_h, b.unit)}/h", "" if b.rate_per_h else "dim"),
            right(to_cap(b.remaining, b.eta_s), "bold red" if b.eta_s is not None and b.eta_s < 3600 else ""),
            plain(b.action, "bold" if b.action != "block" else ""),
        )

    def _show_cache(self, t: CacheTotals) -> None:
        self.cache = t
        exact, semantic = (t.exact_hits / t.calls, t.semantic_hits / t.calls) if t.calls else (0.0, 0.0)
        label = "dim"
        self.query_one("#cache", Static).update(
            Text.assemble(
                ("calls          ", label),
                f"{t.calls:,}\n",
                ("hit rate       ", label),
                (f"{t.hit_rate:.1%}", "bold green" if t.hit_rate else ""),
                f"  exact {exact:.1%} · semantic {semantic:.1%}\n",
                ("saved          ", label),
                (money(t.saving_usd), "green" if t.saving_usd else ""),
                " by cached answers\n",
                ("prompt caching ", label),
                (money(t.prompt_cache_saving_usd), "green" if t.prompt_cache_saving_usd else ""),
                " saved by providers\n",
                ("entries        ", label),
                f"{t.entries:,}",
            )
        )

    def _show_batches(self, t: BatchTotals, jobs: list[BatchJobRecord], now: float) -> None:
        self.batch_totals = t
        label = "dim"
        parts: list[str | tuple[str, str]] = [
            ("in flight      ", label),
            (f"{t.jobs_in_flight:,} job{'' if t.jobs_in_flight == 1 else 's'}", "bold" if t.jobs_in_flight else ""),
            f" · {t.requests_waiting:,} request{'' if t.requests_waiting == 1 else 's'} waiting\n",
            ("spent by batch ", label),
            money(t.cost_usd),
            " · saved ",
            (money(t.saving_usd), "green" if t.saving_usd else ""),
        ]
        for j in jobs:
            age = eta(now - j.created_at).lstrip("~")
            parts += ["\n", (f"{j.id[:12]} ", label), f"{j.deployment} {j.status} {j.succeeded}/{j.requests} · {age}"]
        if t.jobs_in_flight > len(jobs):
            parts += ["\n", (f"and {t.jobs_in_flight - len(jobs):,} more (agentops batches)", label)]
        self.query_one("#batches", Static).update(Text.assemble(*parts))

    # -- actions --------------------------------------------------------------------------

    def current_budget(self) -> BudgetStatus | None:
        """The highlighted budget."""
        if not self.budgets_table.display:
            return None
        row_key = self.budgets_table.cursor_key()
        return self.budgets.get(row_key) if row_key is not None else None

    def action_raise_cap(self) -> None:
        """Change the highlighted budget's cap (confirmed in a modal, audited)."""
        b = self.current_budget()
        if b is None:
            self.app.notify(
                "no budget is highlighted: caps are set under [budgets] in config.toml",
                title="no budget",
                severity="warning",
                markup=False,
            )
            return
        scope, key, unit = b.scope, b.key, b.unit
        what = "USD per day" if unit == "USD" else "tokens"
        held = f" · {amount(b.reserved, unit)} held by calls in flight" if b.reserved else ""
        changes = Text.assemble(
            ("cap  ", "bold"),
            f"{amount(b.cap, unit)} → the value below ({what})\n\n",
            f"used {amount(b.used, unit)} ({b.fraction:.0%}){held}",
            f" · {amount(b.rate_per_h, unit)}/h · to cap {to_cap(b.remaining, b.eta_s)}\n",
            f"Calls over the cap {OVER_CAP.get(b.action, b.action)}.\n",
            "The new cap applies at once and stays until it is changed again.",
        )
        field = ValueField(f"new cap ({'USD' if unit == 'USD' else 'tokens'}, above 0):", f"{b.cap:g}", parse_cap)

        async def act(control: Control, actor: str, value: Any) -> BudgetStatus | None:
            return await control.set_budget(scope, key, value, actor=actor, via="console")

        def done(status: BudgetStatus | None) -> None:
            if status is not None:
                self.app.notify(
                    f"{scope} {key}: cap {amount(status.cap, unit)} · used {status.fraction:.0%}",
                    title="budget cap changed",
                    markup=False,
                )
            self.action_refresh_now()

        title = f"Change the cap of budget {scope} {key}"
        self.app.push_screen(ConfirmScreen(title, changes, "Set cap", act, field=field), done)
