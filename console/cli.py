"""The ``agentops`` command line.

The commands here never import Textual: ``tui`` and ``demo`` load the console lazily.
Nor do they import the runtime before they need it: the console paints its first
frame before ``agentops.runtime`` (and, later, litellm) is loaded.
Exit codes: 0 success, 1 the task (or command) failed, 2 bad usage or configuration,
3 the task is waiting on an escalation (`run`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from agentops.console import arguments, render
from agentops.console.arguments import UsageError, json_arg

if TYPE_CHECKING:
    from agentops.runtime import Settings

__all__ = ["build_parser", "main"]


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

    t = sub.add_parser("traces", help="recent tasks, one task's span tree, or an OTLP export of stored spans")
    t.add_argument(
        "action", nargs="?", choices=["list", "export"], default="list", help="list (default) or export (--otlp URL)"
    )
    t.add_argument("--task", default=None, help="task id (or a unique prefix)")
    t.add_argument("--limit", type=int, default=20, help="tasks to list (default 20)")
    t.add_argument("--status", default=None, help="only tasks with this status")
    t.add_argument("--otlp", metavar="URL", default=None, help="export: the OTLP/HTTP traces endpoint")
    t.add_argument("--since", default="24h", help="export: spans started this far back: 30m, 24h, 7d (default 24h)")
    t.add_argument(
        "--include-content", action="store_true", help="export: prompts, replies and tool arguments too (default off)"
    )
    arguments.add_connect(t)

    c = sub.add_parser("costs", help="spend from the ledger, grouped")
    c.add_argument("--by", choices=["agent", "model", "user", "prompt", "deployment", "task"], default="agent")
    c.add_argument("--since", default="24h", help="how far back: 30m, 24h, 7d (default 24h)")
    arguments.add_connect(c)

    v = sub.add_parser(
        "serve",
        help="run the runtime, its workers and the control API headless (a VM, a container)",
        description="Serve the control API (FastAPI) with the runtime and its workers in this process."
        " Tokens come from $AGENTOPS_TOKENS (name:role:secret, ...); without them only a loopback address"
        " is served, with an admin token written next to the store. SIGTERM drains; SIGHUP reloads the config.",
    )
    v.add_argument("--host", default=None, help="address to bind (default: api.host, 127.0.0.1)")
    v.add_argument("--port", type=int, default=None, help="port (default: api.port, 8765; 0 = any free port)")

    u = sub.add_parser(
        "tui", help="the operations console: on the configured runtime in-process, or --connect URL to a server"
    )
    u.add_argument("--read-only", action="store_true", help="hide every action that changes the runtime")
    arguments.add_connect(u)

    d = sub.add_parser(
        "demo",
        help="a live simulated system with scheduled faults, and the console on it",
        description="Run the simulator with a fault schedule (a primary-model outage every 2 minutes, the first"
        " ~20 s in; bursts of 429s), the runtime with workers, and sample agents fed with tasks from several"
        " users. The demo's store, .agentops/demo.db, is recreated at each start.",
    )
    d.add_argument("--seed", type=int, default=1, help="seed of the traffic and the simulator (default 1)")
    d.add_argument("--rate", type=float, default=2.0, help="tasks submitted per second (default 2)")
    d.add_argument("--workers", type=int, default=16, help="tasks run at once (default 16)")
    d.add_argument("--headless", action="store_true", help="no console: print a summary line every few seconds")
    d.add_argument(
        "--duration",
        type=float,
        default=None,
        metavar="SECONDS",
        help="stop after this many seconds of traffic (counted once providers are loaded)",
    )
    d.add_argument("--read-only", action="store_true", help="hide every action that changes the runtime")
    arguments.add_parsers(sub)
    return p


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``agentops`` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "demo" and args.rate <= 0:
        print("agentops demo: --rate must be above 0 tasks per second", file=sys.stderr)
        raise SystemExit(2)
    if args.command == "tui" or (args.command == "demo" and not args.headless):
        raise SystemExit(_console(args))
    from agentops.runtime import (
        AgentOpsError,
        ConfigError,
        DecisionError,
        RemoteError,
        Settings,
        TaskInputError,
        UnknownAgentError,
        load_settings,
    )
    from agentops.runtime.logs import configure_logging

    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        if not getattr(args, "connect", None):
            print(f"agentops: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        # --connect works on the server's configuration; the local one only helps find a token.
        print(f"agentops: ignoring the local configuration ({exc.args[0].splitlines()[0]})", file=sys.stderr)
        settings = Settings.model_construct()
    level = ("warning", "info", "debug")[min(args.verbose, 2)]
    configure_logging(level if args.verbose else settings.log.level, settings.log.format)
    handlers = {
        "sim": _sim,
        "run": _run,
        "traces": _traces,
        "costs": _costs,
        "demo": _demo_headless,
        "serve": _serve,
    }
    if args.command in arguments.COMMANDS:
        from agentops.console import alerts_cli, costs_cli, guards_cli, ops_cli, prompts_cli

        handlers.update(alerts_cli.HANDLERS)
        handlers.update(guards_cli.HANDLERS)
        handlers.update(ops_cli.HANDLERS)
        handlers.update(prompts_cli.HANDLERS)
        handlers.update(costs_cli.HANDLERS)
        usage_errors: tuple[type[Exception], ...] = (UsageError, DecisionError)
    else:
        usage_errors = (UsageError,)
    handler = handlers[args.command]
    try:
        code = asyncio.run(handler(args, settings))
    except (*usage_errors, ConfigError, UnknownAgentError, TaskInputError) as exc:
        print(f"agentops {args.command}: {exc}", file=sys.stderr)
        code = 2
    except RemoteError as exc:  # the server is unreachable or refused (401/403/429/...)
        print(f"agentops {args.command}: {exc}", file=sys.stderr)
        code = 1
    except AgentOpsError as exc:
        print(f"agentops {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        code = 130
    raise SystemExit(code)


def _console(args: argparse.Namespace) -> int:
    """``tui`` and ``demo``: load Textual (only now) and run the console."""
    from agentops.console import launch

    level = ("warning", "info", "debug")[min(args.verbose, 2)]
    try:
        if args.command == "tui" and args.connect:
            return asyncio.run(launch.run_remote_tui(args.connect, args.config, read_only=args.read_only))
        if args.command == "tui":
            return asyncio.run(launch.run_tui(args.config, read_only=args.read_only, log_level=level))
        return asyncio.run(
            launch.run_demo_console(
                seed=args.seed,
                rate=args.rate,
                workers=args.workers,
                read_only=args.read_only,
                duration_s=args.duration,
                log_level=level,
            )
        )
    except KeyboardInterrupt:
        return 130


async def _demo_headless(args: argparse.Namespace, settings: Settings) -> int:
    from agentops.console.logfile import log_to_file
    from agentops.runtime.demo import Demo, run_headless

    demo = Demo(seed=args.seed, rate=args.rate, workers=args.workers)
    if not args.verbose:  # the summary line is the output; circuit warnings go to the log file
        log_to_file(Path(demo.settings.store.path).parent / "demo.log", "warning")
    await run_headless(demo, duration_s=args.duration, emit=lambda line: print(line, flush=True))
    return 0


async def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from agentops.runtime.config import default_config_path
    from agentops.runtime.control.api.server import serve

    if args.port is not None and not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: not a port number (0-65535)")
    config_path = args.config if args.config is not None else default_config_path()
    return await serve(
        settings,
        config_path=config_path if config_path.exists() else None,
        host=args.host,
        port=args.port,
        announce=lambda line: print(line, flush=True),
    )


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
    from agentops.runtime import Runtime

    payload = json_arg("--input", args.input)
    runtime = Runtime(settings)
    await runtime.start()
    try:
        runtime.registry.get_agent(args.agent)  # fail fast, naming the agents there are
        await runtime.wait_ready()
        task = await runtime.run(args.agent, payload, user_id=args.user, session_id=args.session)
        waiting = await runtime.tasks.escalations.find() if task.status == "waiting" else []
    finally:
        await runtime.stop()
    if task.status == "waiting":
        mine = [e for e in waiting if e.task_id == task.id]
        print(render.task_summary(task))
        for e in mine:
            print(
                f"waiting on escalation {e.id}: {e.reason}\n  decide with: agentops approve {e.id} | "
                f"agentops deny {e.id} --reason TEXT\n  a runtime with workers (agentops worker, tui, demo)"
                " then resumes the task from its journal"
            )
        return 3
    if task.output is not None:
        print(json.dumps(task.output, indent=2, ensure_ascii=False))
    print(render.task_summary(task), file=sys.stderr if task.output is not None else sys.stdout)
    return 0 if task.status == "succeeded" else 1


async def _traces(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "export":
        return await _export_traces(args, settings)
    if args.otlp is not None:
        raise UsageError("--otlp goes with export: agentops traces export --otlp URL --since 24h")
    from agentops.console.connect import open_control

    async with open_control(args, settings) as control:
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


async def _export_traces(args: argparse.Namespace, settings: Settings) -> int:
    """Send the stored spans that started within ``--since`` to an OTLP/HTTP endpoint."""
    if args.otlp is None:
        raise UsageError("export needs --otlp URL, e.g. --otlp http://127.0.0.1:6006/v1/traces")
    if not args.otlp.startswith(("http://", "https://")):
        raise UsageError(f"--otlp {args.otlp}: not an http(s) URL")
    if args.connect:
        raise UsageError("export reads this host's store: run it where the store is, without --connect")
    try:
        since = time.time() - render.parse_since(args.since)
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from None
    from agentops.runtime.exporters import export_spans
    from agentops.store import Store

    store = await Store.open(settings.store.path, synchronous=settings.store.synchronous)
    try:
        spans = await store.spans_since(since)
    finally:
        await store.close()
    otlp = settings.otlp.model_copy(update={"include_content": args.include_content or settings.otlp.include_content})
    sent, failed = await asyncio.to_thread(export_spans, spans, otlp, endpoint=args.otlp)
    print(f"exported {sent} spans" + (f"; {failed} failed (see the log)" if failed else "") + f" to {args.otlp}")
    return 0 if not failed else 1


async def _costs(args: argparse.Namespace, settings: Settings) -> int:
    try:
        since = time.time() - render.parse_since(args.since)
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from None
    from agentops.console.connect import open_control

    async with open_control(args, settings) as control:
        rows = await control.costs(args.by, since=since)
    print(render.costs_table(rows, args.by) if rows else f"no spend recorded in the last {args.since}")
    return 0
