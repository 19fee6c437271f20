"""Prompts and flags as Rich text: rollout summaries, labels, a side-by-side diff of two versions.

Prompt text, descriptions and flag values come from files and operators: they are put
into ``Text`` verbatim (never markup).
"""

from __future__ import annotations

import difflib
import json
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from agentops.console.render import prompt_lines

if TYPE_CHECKING:
    from agentops.runtime.rollouts import PromptSummary, PromptVersionInfo
    from agentops.runtime.rollouts.flags import FlagStatus

__all__ = [
    "LABEL_STYLES",
    "flag_detail",
    "flag_evaluations",
    "flag_split",
    "flag_state",
    "flag_value",
    "labels_text",
    "running_text",
    "side_by_side",
]

LABEL_STYLES = {"production": "bold green", "canary": "bold yellow", "shadow": "bold cyan", "previous": "dim"}


def running_text(p: PromptSummary) -> Text:
    """The canary (version and share) and the shadow (version and judge score) of a prompt, or ``-``."""
    parts: list[tuple[str, str] | str] = []
    if p.canary is not None:
        parts.append((f"canary v{p.canary.version} at {p.canary.share:g}%", "yellow"))
    if p.shadow is not None:
        if parts:
            parts.append(" · ")
        s = p.shadow
        score = f"judge {s.mean_score:.2f} ({s.judged})" if s.mean_score is not None else "not judged yet"
        parts.append((f"shadow v{s.version} {score}", "cyan"))
    return Text.assemble(*parts, no_wrap=True, overflow="ellipsis") if parts else Text("-", style="dim")


def labels_text(v: PromptVersionInfo) -> Text:
    """A version's labels, production first."""
    out = Text(no_wrap=True)
    for i, label in enumerate(sorted(v.labels, key=lambda lab: (lab != "production", lab))):
        if i:
            out.append(", ")
        out.append(label, LABEL_STYLES.get(label, ""))
    return out if v.labels else Text("-", style="dim")


def side_by_side(before: dict[str, Any], after: dict[str, Any], left: str, right: str) -> Table:
    """Two versions' text (:func:`~agentops.console.render.prompt_lines`) in two columns:
    removed lines red on the left, added lines green on the right, the rest dim on both."""
    a, b = prompt_lines(before), prompt_lines(after)
    table = Table(expand=True, box=None, padding=(0, 1), show_edge=False, pad_edge=False)
    table.add_column(Text(left, style="bold"), ratio=1, overflow="fold")
    table.add_column(Text(right, style="bold"), ratio=1, overflow="fold")
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            for line in a[i1:i2]:
                table.add_row(Text(f"  {line}", style="dim"), Text(f"  {line}", style="dim"))
            continue
        olds, news = a[i1:i2], b[j1:j2]
        for k in range(max(len(olds), len(news))):
            table.add_row(
                Text(f"- {olds[k]}", style="red") if k < len(olds) else Text(""),
                Text(f"+ {news[k]}", style="green") if k < len(news) else Text(""),
            )
    return table


def flag_value(value: object) -> str:
    """A flag value as JSON (``true``, ``0.5``, ``"blue"``): the form evaluations are counted by."""
    return json.dumps(value)


def flag_state(d: dict[str, Any]) -> Text:
    """``KILLED``, ``on`` or ``off``."""
    if d.get("killed"):
        return Text("KILLED", style="bold reverse red")
    return Text("on", style="green") if d.get("enabled") else Text("off", style="yellow")


def flag_split(d: dict[str, Any]) -> Text:
    """Who gets what: the variants' shares, or the rollout percentage and its value."""
    variants = d.get("variants") or {}
    if variants:
        shares = " · ".join(f"{flag_value(k)} {v:g}%" for k, v in variants.items())
        return Text(shares, no_wrap=True, overflow="ellipsis")
    return Text(f"{d.get('rollout', 0):g}% → {flag_value(d.get('value'))}", no_wrap=True, overflow="ellipsis")


def flag_evaluations(f: FlagStatus) -> Text:
    """Evaluations per minute by value, busiest first."""
    if not f.per_minute:
        return Text("-", style="dim")
    ranked = sorted(f.per_minute.items(), key=lambda kv: (-kv[1], kv[0]))
    return Text(" · ".join(f"{value} {rate:.1f}/min" for value, rate in ranked), no_wrap=True, overflow="ellipsis")


def flag_detail(f: FlagStatus) -> Text:
    """Everything about one flag: description, who gets what, rules in order, bucketing unit, last change."""
    d = f.definition
    out = Text.assemble((f.name, "bold"), " ", flag_state(d))
    if d.get("description"):
        out.append(f" · {d['description']}")
    out.append(f"\nserves {flag_split(d).plain} (default {flag_value(d.get('default'))}), sticky by {d.get('unit')}")
    for i, rule in enumerate(d.get("rules") or [], 1):
        target = " and ".join(f"{k} {rule[k]}" for k in ("agent", "user") if rule.get(k) is not None)
        out.append(f"\nrule {i}: {target} → {flag_value(rule.get('value'))}")
    return out
