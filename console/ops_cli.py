"""CLI commands for the durable queue and escalations: submit, tasks, cancel, escalations,
approve, deny, and ``worker`` (run the queue's workers headless).

They work against the configured database file, also while a runtime runs its workers
in another process on the same machine (that runtime picks up what they change within
``workers.poll_s``), or with ``--connect URL`` through the control API of ``agentops
serve``. Every action is audited: locally with the operator's name (``$AGENTOPS_ACTOR``
or the login name) and ``via=cli``; remotely with the token's name and ``via=api``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

from agentops.console import render
from agentops.console.arguments import json_arg
from agentops.console.connect import open_control
from agentops.runtime import Runtime, Settings
from agentops.runtime.control.operations import current_actor
from agentops.store import EscalationRecord

__all__ = ["HANDLERS"]

Handler = Callable[[argparse.Namespace, Settings], Awaitable[int]]


async def _submit(args: argparse.Namespace, settings: Settings) -> int:
    payload = json_arg("--input", args.input)
    async with open_control(args, settings) as control:
        task, created = await control.submit(
            args.agent,
            payload,
            user_id=args.user,
            session_id=args.session,
            priority=args.priority,
            idempotency_key=args.key,
            batch=args.batch,
            actor=current_actor(),
            via="cli",
        )
    print(task.id if created else f"{task.id} (already submitted with key {args.key!r}: {task.status})")
    return 0


async def _tasks(args: argparse.Namespace, settings: Settings) -> int:
    async with open_control(args, settings) as control:
        tasks = await control.list_tasks(limit=args.limit, status=args.status, agent=args.agent)
    print(render.tasks_table(tasks) if tasks else "no tasks")
    return 0


async def _cancel(args: argparse.Namespace, settings: Settings) -> int:
    async with open_control(args, settings) as control:
        outcome = await control.cancel(args.id, actor=current_actor(), via="cli")
    print(
        {"cancelled": "cancelled", "cancelling": "cancelling: the worker stops it at its next step"}.get(
            outcome, f"not cancelled: the task already {outcome}"
        )
    )
    return 0 if outcome in ("cancelled", "cancelling") else 1


def _span(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 5400:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def _when(at: float | None) -> str:
    if at is None:
        return "none"
    delta = at - time.time()
    return f"in {_span(delta)}" if delta > 0 else f"{_span(delta)} ago"


def escalations_table(rows: list[EscalationRecord]) -> str:
    """Escalations as a table."""
    body = [
        (
            e.id,
            _span(time.time() - e.created_at),
            _when(e.deadline) if e.status == "pending" else "-",
            e.agent,
            e.task_id[:12],
            e.status if e.status != "decided" else f"{e.decision} ({e.decided_by})",
            e.reason[:60],
            json.dumps(e.proposed)[:50],
        )
        for e in rows
    ]
    return render.table(["escalation", "age", "deadline", "agent", "task", "status", "reason", "proposed"], body)


async def _escalations(args: argparse.Namespace, settings: Settings) -> int:
    async with open_control(args, settings) as control:
        rows = await control.escalations(status=None if args.all else "pending")
    print(escalations_table(rows) if rows else "no escalations waiting" if not args.all else "no escalations")
    return 0


async def _decide(args: argparse.Namespace, settings: Settings, action: str, edit: Any, comment: str | None) -> int:
    async with open_control(args, settings) as control:
        decided = await control.decide(args.id, action, actor=current_actor(), via="cli", args=edit, comment=comment)
    print(f"{decided.id}: {decided.decision} by {decided.decided_by}; task {decided.task_id} is queued to resume")
    return 0


async def _approve(args: argparse.Namespace, settings: Settings) -> int:
    edit = json_arg("--edit", args.edit) if args.edit is not None else None
    return await _decide(args, settings, "edit" if edit is not None else "approve", edit, args.comment)


async def _deny(args: argparse.Namespace, settings: Settings) -> int:
    return await _decide(args, settings, "deny", None, args.reason)


async def _worker(args: argparse.Namespace, settings: Settings) -> int:
    runtime = Runtime(settings, workers=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await runtime.start()
    print(f"workers: {settings.workers.concurrency} on {settings.store.path} (Ctrl-C drains and stops)", flush=True)
    try:
        await stop.wait()
    finally:
        await runtime.stop()
    stats = runtime.pool.stats() if runtime.pool else None
    if stats is not None:
        print(f"stopped: {stats.completed} completed, {stats.failed} failed", flush=True)
    return 0


HANDLERS: dict[str, Handler] = {
    "submit": _submit,
    "tasks": _tasks,
    "cancel": _cancel,
    "escalations": _escalations,
    "approve": _approve,
    "deny": _deny,
    "worker": _worker,
}
