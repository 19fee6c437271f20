"""The ``agentops`` command line.

The commands here never import Textual: ``tui`` and ``demo`` load the console lazily.
Exit codes: 0 success, 1 the task (or command) failed, 2 bad usage or configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agentops.console import render
from agentops.runtime import (
    AgentOpsError,
    ConfigError,
    LocalControl,
    Runtime,
    Settings,
    TaskInputError,
    UnknownAgentError,
    load_settings,
)
from agentops.runtime.logs import configure_logging

__all__ = ["build_parser", "main"]


class UsageError(Exception):
    """A bad command-line argument; printed and exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    p = argparse.ArgumentParser(prog="agentops", description="Local agent runtime and operations console.")
    p.add_argument("--config", type=Path, default=None, help="config file (default: $AGENTOPS_CONFIG or ./config.toml)")
    p.add_argument("-v", "--verbose", action="count", default=0, help="log more (-v info, -vv debug)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("sim", help="run the LLM simulator standalone")
    s.add_argument("--port", type=int, default=None, help="port on 127.0.0.1 (default: from config, 0 = any free)")
    s.add_argument("--seed", type=int, default=None, help="seed for replies and faults")

    r = sub.add_parser("run", help="run one task and print its result")
    r.add_argument("agent", help="agent name (e.g. triage, drafting)")
    r.add_argument("--input", required=True, help="the task input as JSON")
    r.add_argument("--user", default=None, help="user id the task is attributed to")
    r.add_argument("--session", default=None, help="session id")

    t = sub.add_parser("traces", help="recent tasks, or one task's span tree")
    t.add_argument("--task", default=None, help="task id (or a unique prefix)")
    t.add_argument("--limit", type=int, default=20, help="tasks to list (default 20)")
    t.add_argument("--status", default=None, help="only tasks with this status")

    c = sub.add_parser("costs", help="spend from the ledger, grouped")
    c.add_argument("--by", choices=["agent", "model", "user", "deployment", "task"], default="agent")
    c.add_argument("--since", default="24h", help="how far back: 30m, 24h, 7d (default 24h)")
    return p


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``agentops`` console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"agentops: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    level = ("warning", "info", "debug")[min(args.verbose, 2)]
    configure_logging(level if args.verbose else settings.log.level, settings.log.format)
    handler = {"sim": _sim, "run": _run, "traces": _traces, "costs": _costs}[args.command]
    try:
        code = asyncio.run(handler(args, settings))
    except (UsageError, ConfigError, UnknownAgentError, TaskInputError) as exc:
        print(f"agentops {args.command}: {exc}", file=sys.stderr)
        code = 2
    except AgentOpsError as exc:
        print(f"agentops {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        code = 130
    raise SystemExit(code)


def _json_arg(name: str, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{name}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None


async def _sim(args: argparse.Namespace, settings: Settings) -> int:
    from agentops.runtime.simulator import serve_forever

    config = settings.simulator.model_copy(
        update={k: v for k, v in (("port", args.port), ("seed", args.seed)) if v is not None}
    )

    def ready(url: str) -> None:
        print(f"simulator listening on {url} (OpenAI-compatible: {url}/v1/chat/completions)", flush=True)

    await serve_forever(config, on_ready=ready)  # until Ctrl-C
    return 0


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    payload = _json_arg("--input", args.input)
    runtime = Runtime(settings)
    await runtime.start()
    try:
        runtime.registry.get_agent(args.agent)  # fail fast, naming the agents there are
        await runtime.wait_ready()
        task = await runtime.run(args.agent, payload, user_id=args.user, session_id=args.session)
    finally:
        await runtime.stop()
    if task.output is not None:
        print(json.dumps(task.output, indent=2, ensure_ascii=False))
    print(render.task_summary(task), file=sys.stderr if task.output is not None else sys.stdout)
    return 0 if task.status == "succeeded" else 1


async def _traces(args: argparse.Namespace, settings: Settings) -> int:
    control = await LocalControl.open_store(settings)
    try:
        if args.task is None:
            tasks = await control.list_tasks(limit=args.limit, status=args.status)
            print(render.tasks_table(tasks) if tasks else "no tasks recorded yet")
            return 0
        task = await control.get_task(args.task)
        if task is None:
            raise UsageError(f"--task {args.task}: no task with that id (or the prefix is not unique)")
        print(render.task_summary(task))
        print(render.span_tree(await control.task_spans(task.id)))
        return 0
    finally:
        await control.close()


async def _costs(args: argparse.Namespace, settings: Settings) -> int:
    try:
        since = time.time() - render.parse_since(args.since)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    control = await LocalControl.open_store(settings)
    try:
        rows = await control.costs(args.by, since=since)
        print(render.costs_table(rows, args.by) if rows else f"no spend recorded in the last {args.since}")
        return 0
    finally:
        await control.close()
