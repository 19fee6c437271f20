"""Escalations as text: ages, deadlines, the one-line proposal and the detail view, as ``Text`` only.

Reasons, context and proposed arguments come from agents (and so, often, from a
model or a tool): untrusted text. It is appended to ``Text`` objects verbatim and
never parsed as markup.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.text import Text

from agentops.console.format import clock_time

if TYPE_CHECKING:
    from agentops.runtime import EscalationRecord

__all__ = ["age", "deadline_text", "escalation_detail", "escalation_summary", "proposal", "to_json"]

_TEXT_LIMIT = 4000
URGENT_S = 60.0
"""A deadline closer than this is shown in red."""
SOON_S = 300.0
"""A deadline closer than this is shown in yellow."""


def age(seconds: float) -> str:
    """A whole-second duration: ``42s``, ``3m05s``, ``2h07m``."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    return f"{m}m{s:02d}s" if m < 60 else f"{m // 60}h{m % 60:02d}m"


def deadline_text(e: EscalationRecord, now: float) -> Text:
    """Time left before the default applies: ``in 8m00s``, red when close, ``overdue`` past it."""
    if e.status != "pending":
        return Text("-", style="dim")
    if e.deadline is None:
        return Text("none", style="dim")
    left = e.deadline - now
    if left <= 0:
        return Text(f"overdue {age(-left)}", style="bold red")
    style = "bold red" if left < URGENT_S else "yellow" if left < SOON_S else ""
    return Text(f"in {age(left)}", style=style)


def to_json(value: Any, indent: int | None = 2) -> str:
    """A JSON value as the operator reads and edits it."""
    return json.dumps(value, indent=indent, ensure_ascii=False, default=str)


def proposal(e: EscalationRecord) -> Text:
    """``issue_refund {"customer_id": …}`` on one line (the proposed action, or just its data)."""
    out = Text(no_wrap=True, overflow="ellipsis")
    if e.tool:
        out.append(e.tool + " ", style="bold")
    out.append("-" if e.proposed is None else to_json(e.proposed, indent=None))
    return out


def _clip(text: str) -> str:
    return text if len(text) <= _TEXT_LIMIT else text[:_TEXT_LIMIT] + f"… [{len(text) - _TEXT_LIMIT} more]"


def _section(out: Text, title: str) -> None:
    out.append(f"\n── {title} ", style="bold")
    out.append("─" * max(0, 40 - len(title)) + "\n", style="dim")


def escalation_summary(e: EscalationRecord, now: float) -> Text:
    """The header of the detail view: id, status, agent, task, opened, deadline and default."""
    if e.status == "pending":
        status = Text("waiting", style="bold magenta")
    else:
        status = Text(f"decided: {e.decision}", style="green" if e.decision in ("approve", "edit") else "red")
    head = Text.assemble(
        ("escalation ", "dim"),
        (e.id, "bold"),
        "  ",
        status,
        ("  agent ", "dim"),
        e.agent,
        ("  task ", "dim"),
        e.task_id,
    )
    head.append("\nopened ", style="dim")
    head.append(f"{clock_time(e.created_at)} ({age(now - e.created_at)} ago)")
    if e.status == "pending":
        head.append("  deadline ", style="dim")
        head.append_text(deadline_text(e, now))
        head.append("  then ", style="dim")
        head.append(e.default_action)
    else:
        head.append("  decided ", style="dim")
        head.append(f"{clock_time(e.decided_at)} by {e.decided_by or '?'} via {e.decided_via or '?'}")
    return head


def escalation_detail(e: EscalationRecord) -> Text:
    """Reason, proposed action and arguments, context, and the decision once there is one."""
    out = Text()
    out.append("reason\n", style="bold")
    out.append(_clip(e.reason) + "\n")
    _section(out, f"proposed: {e.tool}" if e.tool else "proposed")
    out.append(_clip("-" if e.proposed is None else to_json(e.proposed)) + "\n")
    if e.context is not None:
        _section(out, "context (untrusted)")
        out.append(_clip(e.context if isinstance(e.context, str) else to_json(e.context)) + "\n")
    if e.status != "pending":
        _section(out, "decision")
        out.append(f"{e.decision} by {e.decided_by or '?'} via {e.decided_via or '?'} at {clock_time(e.decided_at)}\n")
        if e.decision == "edit":
            out.append("arguments ", style="dim")
            out.append(_clip(to_json(e.decided_args)) + "\n")
        if e.comment:
            out.append("comment   ", style="dim")
            out.append(_clip(e.comment) + "\n")
    return out
