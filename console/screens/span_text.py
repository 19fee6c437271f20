"""Spans as text: a one-line label for the tree and a detail view, built from ``Text`` only.

Span attributes hold model input and output, tool arguments and results: untrusted
text. It is appended to ``Text`` objects verbatim and never parsed as markup.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.text import Text

from agentops.console.format import money, ms, status_text

if TYPE_CHECKING:
    from agentops.runtime import SpanRecord

__all__ = ["span_detail", "span_label"]

_MARK = {"ok": ("✓", "green"), "error": ("✗", "bold red"), "running": ("…", "yellow")}
_TEXT_LIMIT = 4000


def _duration(s: SpanRecord) -> str:
    return ms((s.end_time - s.start_time) * 1000) if s.end_time is not None else "running"


def span_label(s: SpanRecord) -> Text:
    """``✓ classify · primary · 512 ms · $0.000123 · 2r · 1fb`` for the tree (``2r``: two
    retries, ``1fb``: fell back from one deployment)."""
    a = s.attributes
    mark, style = _MARK.get(s.status, ("?", ""))
    label = Text.assemble((mark + " ", style), (s.name, "bold" if s.kind in ("llm", "tool") else ""))
    bits: list[str] = [_duration(s)]
    if s.kind == "llm" and s.status == "ok":
        bits.insert(0, str(a.get("agentops.deployment", "")))
        bits.append(money(a.get("agentops.cost_usd") or 0.0))
        if a.get("agentops.retries"):
            bits.append(f"{a['agentops.retries']}r")  # retries (the detail pane spells them out)
        if a.get("agentops.fallbacks"):
            bits.append(f"{a['agentops.fallbacks']}fb")  # deployments fallen back from
    elif s.kind == "attempt" and s.status == "error":
        code = a.get("http.response.status_code")
        bits.append(f"HTTP {code}" if code else "failed")
    label.append(" · " + " · ".join(b for b in bits if b), style="dim")
    return label


def _row(out: Text, key: str, value: object, style: str = "") -> None:
    out.append(f"{key:<12}" if len(key) < 12 else key + " ", style="dim")
    out.append(str(value) + "\n", style=style)


def _section(out: Text, title: str) -> None:
    out.append(f"\n── {title} ", style="bold")
    out.append("─" * max(0, 40 - len(title)) + "\n", style="dim")


def _clip(text: str) -> str:
    return text if len(text) <= _TEXT_LIMIT else text[:_TEXT_LIMIT] + f"… [{len(text) - _TEXT_LIMIT} more]"


def _content(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def span_detail(s: SpanRecord) -> Text:
    """Everything about one span, as plain text with styles."""
    a = s.attributes
    out = Text()
    out.append(f"{s.name}", style="bold")
    out.append(f"  {s.kind} · ")
    out.append_text(status_text(s.status))
    out.append(f" · {_duration(s)}\n")
    if s.kind == "llm":
        _llm(out, a)
    elif s.kind == "attempt":
        _row(out, "deployment", f"{a.get('agentops.deployment', '-')} ({a.get('gen_ai.request.model', '-')})")
        if a.get("agentops.probe"):
            _row(out, "probe", "yes: a half-open circuit let this call through")
        if a.get("http.response.status_code"):
            _row(out, "status", a["http.response.status_code"])
    elif s.kind == "tool":
        _row(out, "tool", a.get("gen_ai.tool.name", s.name))
        _section(out, "arguments")
        out.append(_clip(_content(a.get("agentops.arguments"))) + "\n")
        _section(out, "result (untrusted)")
        out.append(_clip(_content(a.get("agentops.result"))) + "\n")
    elif s.kind == "gate":
        _row(out, "attempts", a.get("agentops.gate.attempts", "-"))
        for failure in a.get("agentops.gate.failures") or []:
            _row(out, "failed", failure, "yellow")
    else:
        for key, value in sorted(a.items()):
            if value is not None:
                _row(out, key.removeprefix("agentops."), value)
    if s.error:
        _section(out, "error")
        out.append(_clip(s.error) + "\n", style="red")
    return out


def _llm(out: Text, a: dict[str, Any]) -> None:
    deployment = a.get("agentops.deployment")
    if deployment:
        model, route = a.get("gen_ai.request.model", "-"), a.get("agentops.route")
        _row(out, "deployment", f"{deployment} ({model}) via route {route}")
    else:
        _row(out, "route", a.get("agentops.route", "-"))
    tried = a.get("agentops.deployments_tried") or []
    retries = a.get("agentops.retries", 0)
    _row(out, "attempts", f"{a.get('agentops.attempts', '-')} ({retries} retr{'y' if retries == 1 else 'ies'})")
    if len(tried) > 1:
        _row(out, "fallbacks", " → ".join(tried), "yellow")
    if "gen_ai.usage.input_tokens" in a:
        cached = a.get("gen_ai.usage.cache_read.input_tokens") or 0
        out_tokens = a.get("gen_ai.usage.output_tokens", 0)
        _row(out, "tokens", f"in {a['gen_ai.usage.input_tokens']:,} ({cached:,} cached) · out {out_tokens:,}")
        priced = "" if a.get("agentops.priced", True) else " (model not in the price map)"
        _row(out, "cost", money(a.get("agentops.cost_usd") or 0.0) + priced)
    if a.get("error.type"):
        _row(out, "error type", a["error.type"], "red")
    _section(out, "input")
    for m in a.get("gen_ai.input.messages") or []:
        out.append(f"[{m.get('role', '?')}] ", style="cyan")
        content = m.get("content")
        if content is None and m.get("tool_calls"):
            content = _content(m["tool_calls"])
        out.append(_clip(_content(content)) + "\n")
    if "gen_ai.output.messages" in a or a.get("agentops.tool_calls"):
        _section(out, "output (untrusted)")
        if a.get("gen_ai.output.messages") is not None:
            out.append(_clip(_content(a["gen_ai.output.messages"])) + "\n")
        for call in a.get("agentops.tool_calls") or []:
            out.append("tool call ", style="cyan")
            out.append(f"{call.get('name')}({_content(call.get('arguments'))})\n")
