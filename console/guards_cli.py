"""CLI command for the guards: ``agentops guards [--guard G] [--agent A] [--since 24h]``.

Lists the guards' decisions other than *pass* (blocks, flags, redactions, escalations,
behavioural departures) from the configured store, or with ``--connect URL`` through a
server's control API. Texts are excerpts with their personal data masked when written;
they are printed as plain text.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict

from agentops.console import render
from agentops.console.arguments import UsageError
from agentops.console.connect import open_control
from agentops.runtime import Settings
from agentops.store import GuardDecisionRecord

__all__ = ["HANDLERS", "guards_table"]

Handler = Callable[[argparse.Namespace, Settings], Awaitable[int]]


def guards_table(decisions: list[GuardDecisionRecord]) -> str:
    """Decisions as a table: when, guard, decision, agent, task, where, score, why and the text."""
    rows = []
    for d in decisions:
        score = f"{d.score:.2f}" if d.score is not None else "-"
        text = " ".join(d.text.split())[:80]
        when = dt.datetime.fromtimestamp(d.at).strftime("%m-%d %H:%M:%S")
        rows.append((when, d.guard, d.decision, d.agent, (d.task_id or "-")[:12], d.where, score, d.reason, text))
    return render.table(["at", "guard", "decision", "agent", "task", "where", "score", "reason", "text"], rows)


async def _guards(args: argparse.Namespace, settings: Settings) -> int:
    try:
        since = time.time() - render.parse_since(args.since)
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from None
    async with open_control(args, settings) as control:
        decisions = await control.guard_decisions(guard=args.guard, agent=args.agent, since=since, limit=args.limit)
    if args.json:
        print(json.dumps([asdict(d) for d in decisions], indent=2, default=str))
    else:
        print(guards_table(decisions) if decisions else f"no guard decisions in the last {args.since}")
    return 0


HANDLERS: dict[str, Handler] = {"guards": _guards}
