"""Formatting of figures for the console's widgets, as Rich ``Text`` (never markup).

Everything shown that came from a model, a tool or a user is untrusted: it is put
into ``Text`` objects verbatim, so a ``[bold]`` or ``[link=...]`` in it is shown, not
interpreted.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions
from rich.measure import Measurement
from rich.text import Text

from agentops.console.render import amount, money, ms

__all__ = [
    "STATE_STYLES",
    "STATUS_STYLES",
    "Fitted",
    "amount",
    "clock_time",
    "day_start",
    "gauge",
    "money",
    "ms",
    "plain",
    "prompts_cell",
    "right",
    "seconds",
    "state_text",
    "status_text",
    "tokens",
]

STATUS_STYLES = {"succeeded": "green", "failed": "bold red", "running": "yellow", "cancelled": "magenta"}
STATE_STYLES = {"closed": "green", "open": "bold red", "half_open": "bold yellow"}
GAUGE_CELLS = 10


def plain(value: object, style: str = "") -> Text:
    """Any value as literal text (markup is not interpreted)."""
    return Text("-" if value is None else str(value), style=style, no_wrap=True)


def right(value: str, style: str = "") -> Text:
    """A right-aligned cell (figures)."""
    return Text(value, style=style, justify="right", no_wrap=True)


def status_text(status: str) -> Text:
    """A task or span status, coloured."""
    return Text(status, style=STATUS_STYLES.get(status, ""))


def state_text(state: str) -> Text:
    """A circuit state, coloured (``half_open`` shown as ``half-open``)."""
    return Text(state.replace("_", "-"), style=STATE_STYLES.get(state, ""))


def tokens(input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> str:
    """Total tokens, with the cached share of the input apart."""
    total = f"{input_tokens + output_tokens:,}"
    return f"{total} ({cached_tokens:,} cached)" if cached_tokens else total


def clock_time(ts: float | None) -> str:
    """Local time of day, ``HH:MM:SS``."""
    return "-" if ts is None else time.strftime("%H:%M:%S", time.localtime(ts))


def seconds(value: float) -> str:
    """A short duration, e.g. ``4.2s`` or ``3m05s``."""
    if value < 60:
        return f"{value:.1f}s"
    m, s = divmod(int(value), 60)
    return f"{m}m{s:02d}s" if m < 60 else f"{m // 60}h{m % 60:02d}m"


def day_start(at: float) -> float:
    """The local midnight starting the day of ``at``."""
    t = time.localtime(at)
    return time.mktime((t.tm_year, t.tm_mon, t.tm_mday, 0, 0, 0, 0, 0, -1))


def gauge(fraction: float, style: str) -> Text:
    """A bar of use against a cap, and the share (text only: nothing in it is markup)."""
    finite = math.isfinite(fraction)
    filled = max(0, min(GAUGE_CELLS, round(fraction * GAUGE_CELLS))) if finite else GAUGE_CELLS
    share = f"{fraction:.0%}" if finite else "-"
    return Text.assemble(
        ("█" * filled, style or "green"), ("░" * (GAUGE_CELLS - filled), "dim"), f" {share:>4}", no_wrap=True
    )


@dataclass(frozen=True)
class Fitted:
    """A cell that shows the longest of its forms that fits the width it is given (literal text,
    never markup), so a narrow column shortens meaningfully instead of cutting mid-word."""

    forms: tuple[str, ...]
    """Longest first; the last is cut with an ellipsis if even it does not fit."""
    style: str = ""

    @property
    def cell_len(self) -> int:
        """The width of the longest form (what a column would need to show it whole)."""
        return max((Text(f).cell_len for f in self.forms), default=0)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(1, self.cell_len)  # the last form, cut with an ellipsis, fits anything

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Text]:
        fits = next((f for f in self.forms if Text(f).cell_len <= options.max_width), self.forms[-1])
        yield Text(fits, style=self.style, no_wrap=True, overflow="ellipsis", end="")


def prompts_cell(prompts: Sequence[str], agent: str) -> Fitted:
    """The prompt versions a task ran: ``triage.classify@v1`` (``+N`` more), shortened to
    ``classify@v1`` when the agent's own name prefixes it and the column is narrow."""
    from agentops.console.render import prompts_summary

    full = prompts_summary(prompts)
    short = prompts_summary([p.removeprefix(f"{agent}.") for p in prompts])
    return Fitted((full, short) if short != full else (full,))
