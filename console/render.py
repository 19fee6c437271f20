"""Plain-text rendering for the CLI: tables, span trees, money, durations.

No Textual or Rich here: the CLI prints to any terminal or pipe.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the console loads the runtime off the UI's path; these are only types
    from agentops.runtime import CostRow, SpanRecord, TaskRecord

__all__ = [
    "amount",
    "costs_table",
    "eta",
    "model_lines",
    "money",
    "ms",
    "of_cap",
    "parse_cap",
    "parse_since",
    "prompt_lines",
    "prompts_summary",
    "span_tree",
    "table",
    "task_summary",
    "tasks_table",
    "to_cap",
]

_SINCE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(text: str) -> float:
    """Seconds in a span like ``90s``, ``30m``, ``24h`` or ``7d``.

    Raises:
        ValueError: saying which forms are accepted.
    """
    m = _SINCE.match(text.strip())
    if not m:
        raise ValueError(f"{text!r}: use a number and a unit, e.g. 30m, 24h, 7d")
    return float(m.group(1)) * _UNIT[m.group(2)]


def parse_cap(text: str) -> float:
    """A budget cap: a positive number (USD for the ``*-day`` scopes, tokens for task and session).

    ``$5``, ``50,000`` and ``50_000`` are accepted.

    Raises:
        ValueError: saying what is accepted.
    """
    cleaned = text.strip().removeprefix("$").replace(",", "").replace("_", "").strip()
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError(f"cap {text.strip()!r} is not a number: type a positive amount, e.g. 5 or 50000") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"cap {text.strip()!r}: a cap must be a positive number")
    return value


def money(usd: float) -> str:
    """USD with enough digits for fractions of a cent."""
    if usd == 0:
        return "$0"
    return f"${usd:.6f}" if usd < 0.01 else f"${usd:,.4f}"


def amount(value: float, unit: str) -> str:
    """A budget figure in its unit: money for ``USD``, a count for ``tokens``."""
    return money(value) if unit == "USD" else f"{value:,.0f} tok"


def of_cap(used: float, cap: float, unit: str) -> str:
    """A budget's use against its cap: ``$0.0012 / $5.0000`` or ``1,234 / 50,000 tok``."""
    return f"{money(used)} / {money(cap)}" if unit == "USD" else f"{used:,.0f} / {cap:,.0f} tok"


def eta(seconds: float | None) -> str:
    """Time until a budget runs out at its current rate: ``~2h10m``, ``~3d4h``, ``now``, or ``idle``."""
    if seconds is None:
        return "idle"
    if seconds < 1:
        return "now"
    s = int(seconds)
    if s < 60:
        return f"~{s}s"
    if s < 3600:
        return f"~{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"~{s // 3600}h{s % 3600 // 60:02d}m"
    return f"~{s // 86400}d{s % 86400 // 3600}h"


def to_cap(remaining: float, seconds: float | None) -> str:
    """A budget's time to its cap: ``reached`` when nothing is left, else :func:`eta`."""
    return "reached" if remaining <= 0 else eta(seconds)


def ms(value: float | None) -> str:
    """Milliseconds, or seconds past 10 s."""
    if value is None:
        return "-"
    return f"{value / 1000:.1f} s" if value >= 10_000 else f"{value:.0f} ms"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A left-aligned text table (numbers right-aligned)."""
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    numeric = [bool(cells) and all(_is_num(r[i]) for r in cells) for i in range(len(headers))]

    def fmt(row: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if n else c.ljust(w) for c, w, n in zip(row, widths, numeric, strict=True)).rstrip()

    return "\n".join([fmt(list(headers)), fmt(["-" * w for w in widths]), *(fmt(r) for r in cells)])


def _is_num(s: str) -> bool:
    return bool(re.match(r"^[$\-]?[\d,.]+( ms| s|%)?$", s))


def task_summary(task: TaskRecord) -> str:
    """One line: status, steps, tokens, cost, latency, id."""
    cached = f" ({task.cached_tokens:,} cached)" if task.cached_tokens else ""
    tokens = task.input_tokens + task.output_tokens
    line = (
        f"{task.status} · {task.steps} steps · {tokens:,} tokens{cached} · {money(task.cost_usd)}"
        f" · {ms(task.latency_ms)} · task {task.id}"
    )
    if task.error:
        line += f"\n{task.error_type}: {task.error}"
    return line


def prompts_summary(prompts: Sequence[str]) -> str:
    """The prompt versions a task ran: ``triage.classify@v1``, ``a@v1 +2`` for several, ``-`` for none."""
    if not prompts:
        return "-"
    return prompts[0] + (f" +{len(prompts) - 1}" if len(prompts) > 1 else "")


def tasks_table(tasks: Sequence[TaskRecord]) -> str:
    """Recent tasks as a table."""
    rows = [
        (
            t.id[:12],
            t.agent,
            t.user_id or "-",
            t.status,
            t.steps,
            f"{t.input_tokens + t.output_tokens:,}",
            money(t.cost_usd),
            ms(t.latency_ms),
            prompts_summary(t.prompts),
            dt.datetime.fromtimestamp(t.created_at).strftime("%H:%M:%S"),
        )
        for t in tasks
    ]
    return table(["task", "agent", "user", "status", "steps", "tokens", "cost", "latency", "prompts", "started"], rows)


def costs_table(rows: Sequence[CostRow], by: str) -> str:
    """Ledger spend grouped by one dimension, with a total line: calls, the response cache's
    hits among them, tokens, cost, and what the cache and provider prompt caching saved."""
    body = [
        (
            r.key,
            r.calls,
            r.cache_hits,
            f"{r.input_tokens:,}",
            f"{r.cached_tokens:,}",
            f"{r.output_tokens:,}",
            money(r.cost_usd) + (f" (+{r.unpriced_calls} unpriced)" if r.unpriced_calls else ""),
            money(r.saving_usd),
        )
        for r in rows
    ]
    total = sum(r.cost_usd for r in rows)
    body.append(
        (
            "total",
            sum(r.calls for r in rows),
            sum(r.cache_hits for r in rows),
            f"{sum(r.input_tokens for r in rows):,}",
            f"{sum(r.cached_tokens for r in rows):,}",
            f"{sum(r.output_tokens for r in rows):,}",
            money(total),
            money(sum(r.saving_usd for r in rows)),
        )
    )
    return table([by, "calls", "cache hits", "input", "cached", "output", "cost", "saved"], body)


def span_tree(spans: Sequence[SpanRecord]) -> str:
    """Spans as an indented tree with the figures that matter per kind."""
    children: dict[str | None, list[SpanRecord]] = {}
    ids = {s.span_id for s in spans}
    for s in spans:
        children.setdefault(s.parent_id if s.parent_id in ids else None, []).append(s)
    lines: list[str] = []

    def walk(parent: str | None, prefix: str) -> None:
        kids = children.get(parent, [])
        for i, s in enumerate(kids):
            last = i == len(kids) - 1
            branch = "" if parent is None else ("└─ " if last else "├─ ")
            lines.append(f"{prefix}{branch}{_describe(s)}")
            walk(s.span_id, prefix + ("" if parent is None else ("   " if last else "│  ")))

    walk(None, "")
    return "\n".join(lines)


def _describe(s: SpanRecord) -> str:
    a = s.attributes
    dur = ms((s.end_time - s.start_time) * 1000) if s.end_time else "running"
    mark = {"ok": "✓", "error": "✗", "running": "…"}.get(s.status, "?")
    parts = [f"{mark} {s.name}", dur]
    if s.kind == "llm" and s.status == "ok":
        cached = a.get("gen_ai.usage.cache_read.input_tokens") or 0
        parts += [
            f"{a.get('agentops.deployment')} ({a.get('gen_ai.request.model')})",
            f"in {a.get('gen_ai.usage.input_tokens', 0)}" + (f" ({cached} cached)" if cached else ""),
            f"out {a.get('gen_ai.usage.output_tokens', 0)}",
            money(a.get("agentops.cost_usd") or 0.0),
        ]
        if a.get("agentops.retries"):
            parts.append(f"{a['agentops.retries']} retries")
        if a.get("agentops.fallbacks"):
            parts.append(f"fell back {a['agentops.fallbacks']}x")
    if s.error:
        parts.append(f"error: {s.error[:160]}")
    return " · ".join(parts)


def prompt_lines(content: dict[str, Any]) -> list[str]:
    """A prompt version as lines of text, for reading and for diffs: the prompt's keys, then
    the model config, the agent code's hash and the dependency versions (what its artifact id covers)."""
    p = content.get("prompt", {})
    lines = []
    for key in ("description", "agent", "route", "output", "tools", "params", "canary", "shadow"):
        if p.get(key) not in (None, "", [], {}):
            lines.append(f"{key} = {p[key]!r}" if not isinstance(p[key], str) else f"{key} = {p[key]}")
    for key in ("system", "template"):
        if p.get(key):
            lines.append(f"{key}:")
            lines += [f"    {line}" for line in str(p[key]).splitlines()]
    lines += model_lines(content.get("model", {}))
    lines.append(f"code sha256: {content.get('code_sha256') or '-'}")
    lines += [f"{name}: {version}" for name, version in sorted(content.get("dependencies", {}).items())]
    return lines


def model_lines(model: dict[str, Any]) -> list[str]:
    """A version's model config: its route's chain, or (``chain`` holding ``{"router", "routes"}``)
    a router's rules and the chain of each route it can pick."""
    chain = model.get("chain")
    router = chain.get("router") if isinstance(chain, dict) else None
    if not isinstance(router, dict):
        return [f"model: route {model.get('route')}", *_chain_lines(chain if isinstance(chain, list) else [], "    ")]
    assert isinstance(chain, dict)
    lines = [f"model: router {model.get('route')} (default route {router.get('default')})"]
    for n, rule in enumerate(router.get("rules") or [], 1):
        when = ", ".join(f"{k}={v}" for k, v in rule.items() if k not in ("route", "labels") and v not in (None, {}))
        to = rule.get("route") or ", ".join(f"{label} -> {r}" for label, r in (rule.get("labels") or {}).items())
        lines.append(f"    rule {n}: {when or 'always'} -> {to}")
    if router.get("classifier_route"):
        lines.append(f"    classifier route: {router['classifier_route']}")
    for name, members in sorted((chain.get("routes") or {}).items()):
        lines.append(f"    route {name}:")
        lines += _chain_lines(members if isinstance(members, list) else [], "        ")
    return lines


def _chain_lines(chain: list[Any], indent: str) -> list[str]:
    return [f"{indent}{m.get('deployment')}: {m.get('model')}" for m in chain if isinstance(m, dict)]
