"""CLI commands for cost control: ``agentops budgets ...``, ``agentops cache ...`` and ``agentops batches``.

Like the queue commands they work on the configured store (a runtime elsewhere on this
machine picks up a new cap within ``prompts.evaluate_every_s``), or with ``--connect URL``
through a server's control API. Setting a cap and clearing the cache are audited.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable

from agentops.console import render
from agentops.console.arguments import UsageError
from agentops.console.connect import open_control
from agentops.runtime import BudgetStatus, Settings
from agentops.runtime.control.operations import current_actor
from agentops.store import BatchJobRecord

__all__ = ["HANDLERS", "batches_table", "budgets_table"]

Handler = Callable[[argparse.Namespace, Settings], Awaitable[int]]
NO_BUDGETS = (
    "no budgets in use today (caps are set under [budgets] in config.toml, e.g. global_day_usd = 5.0,"
    " or with `agentops budgets set SCOPE KEY CAP`)"
)


def budgets_table(budgets: list[BudgetStatus]) -> str:
    """Budgets as a table: use against cap, share, what calls in flight hold, rate and time to the cap."""
    rows = [
        (
            b.scope,
            b.key,
            render.of_cap(b.used, b.cap, b.unit),
            f"{b.fraction:.0%}",
            render.amount(b.reserved, b.unit),
            f"{render.amount(b.rate_per_h, b.unit)}/h",
            render.to_cap(b.remaining, b.eta_s),
            b.action,
        )
        for b in budgets
    ]
    return render.table(["scope", "key", "used / cap", "%", "reserved", "rate", "to cap", "action"], rows)


async def _budgets(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "list":
        if args.scope is not None:
            raise UsageError("list takes no arguments (to change a cap: agentops budgets set SCOPE KEY CAP)")
        async with open_control(args, settings) as control:
            budgets = await control.budgets()
        print(budgets_table(budgets) if budgets else NO_BUDGETS)
        return 0
    if args.scope is None or args.key is None or args.cap is None:
        raise UsageError(
            "set needs SCOPE KEY CAP: SCOPE is task, session, user-day, agent-day or global-day;"
            " KEY the id (* for global-day, or a scope's default); CAP USD, or tokens for task and session"
        )
    try:
        cap = render.parse_cap(args.cap)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    async with open_control(args, settings) as control:
        before = {(b.scope, b.key): b for b in await control.budgets()}.get((args.scope, args.key))
        status = await control.set_budget(args.scope, args.key, cap, actor=current_actor(), via="cli")
    if status is None:
        whose = f"every {args.scope} budget without a cap of its own" if args.key == "*" else "no use today yet"
        print(f"{args.scope} {args.key}: cap set to {cap:,g} ({whose})")
        return 0
    was = f" (was {render.amount(before.cap, before.unit)})" if before is not None else ""
    print(
        f"{status.scope} {status.key}: cap {render.amount(status.cap, status.unit)}{was}"
        f" · used {render.amount(status.used, status.unit)} ({status.fraction:.0%}) · over it: {status.action}"
    )
    return 0


def batches_table(jobs: list[BatchJobRecord], now: float) -> str:
    """Batch jobs as a table: status, requests answered and failed, polls, cost and saving, age."""
    rows = [
        (
            j.id,
            j.deployment,
            j.status,
            f"{j.succeeded}/{j.requests}",
            j.failed,
            j.polls,
            render.money(j.cost_usd),
            render.money(j.saving_usd),
            render.eta(now - j.created_at).lstrip("~"),
            j.error or "",
        )
        for j in jobs
    ]
    headers = ["job", "deployment", "status", "answered", "failed", "polls", "cost", "saved", "age", "error"]
    return render.table(headers, rows)


async def _batches(args: argparse.Namespace, settings: Settings) -> int:
    if args.limit < 1:
        raise UsageError("--limit: at least 1")
    try:
        since = time.time() - render.parse_since(args.since)
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from None
    async with open_control(args, settings) as control:
        jobs = await control.batch_jobs(in_flight=args.in_flight, limit=args.limit)
        totals = await control.batch_totals(since=since)
    if jobs:
        print(batches_table(jobs, time.time()))
    else:
        print("no batch jobs in flight" if args.in_flight else "no batch jobs yet (see [batch] in config.toml)")
    print(
        f"in flight: {totals.jobs_in_flight:,} job{'s' if totals.jobs_in_flight != 1 else ''},"
        f" {totals.requests_waiting:,} request{'s' if totals.requests_waiting != 1 else ''} waiting;"
        f" last {args.since}: spent {render.money(totals.cost_usd)} by batch, saved {render.money(totals.saving_usd)}"
    )
    return 0


async def _cache(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "stats":
        try:
            since = time.time() - render.parse_since(args.since)
        except ValueError as exc:
            raise UsageError(f"--since: {exc}") from None
        async with open_control(args, settings) as control:
            t = await control.cache_stats(since=since)
        hits = t.exact_hits + t.semantic_hits
        exact, semantic = (t.exact_hits / t.calls, t.semantic_hits / t.calls) if t.calls else (0.0, 0.0)
        print(
            f"response cache, last {args.since}: {t.calls:,} calls, {hits:,} answered from the cache"
            f" (hit rate {t.hit_rate:.1%}: exact {exact:.1%}, semantic {semantic:.1%})\n"
            f"saved {render.money(t.saving_usd)} by cached answers"
            f" and {render.money(t.prompt_cache_saving_usd)} by provider prompt caching\n"
            f"entries held: {t.entries:,}"
        )
        return 0
    if args.prompt is not None and not args.prompt.strip():
        raise UsageError("--prompt: name a prompt (or leave --prompt out to clear every entry)")
    what = f"the cached answers of prompt {args.prompt!r} (every version)" if args.prompt else "every cached answer"
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError(f"clear: add --yes to drop {what} (stdin is not a terminal to ask)")
        answer = await asyncio.to_thread(input, f"Drop {what}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing cleared")
            return 1
    async with open_control(args, settings) as control:
        cleared = await control.clear_cache(prompt=args.prompt, actor=current_actor(), via="cli")
    of = f" of prompt {args.prompt}" if args.prompt else ""
    print(f"cleared {cleared:,} cached answer{'s' if cleared != 1 else ''}{of}")
    return 0


HANDLERS: dict[str, Handler] = {"budgets": _budgets, "cache": _cache, "batches": _batches}
