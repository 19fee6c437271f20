"""CLI commands for prompt versions and feature flags: ``agentops prompts ...`` and ``agentops flags ...``.

Like the queue commands they work on the configured store (a runtime elsewhere on this
machine picks up label moves and flag changes within ``prompts.evaluate_every_s``), or
with ``--connect URL`` through a server's control API. Every change is audited.
"""

from __future__ import annotations

import argparse
import difflib
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from agentops.console import render
from agentops.console.arguments import UsageError
from agentops.console.connect import open_control
from agentops.runtime import Settings
from agentops.runtime.control.operations import current_actor

__all__ = ["HANDLERS"]

Handler = Callable[[argparse.Namespace, Settings], Awaitable[int]]


def _pct(x: float) -> str:
    return f"{x:.1%}"


async def _prompts(args: argparse.Namespace, settings: Settings) -> int:
    async with open_control(args, settings) as control:
        if args.action == "list":
            rows = []
            for p in await control.prompts():
                running = []
                if p.canary:
                    running.append(f"canary v{p.canary.version} at {p.canary.share:g}%")
                if p.shadow:
                    running.append(f"shadow v{p.shadow.version}")
                labels = " ".join(f"{k}=v{v}" for k, v in sorted(p.labels.items()))
                rows.append((p.name, p.versions, labels, ", ".join(running) or "-", p.description[:50]))
            print(
                render.table(["prompt", "versions", "labels", "running", "description"], rows) if rows else "no prompts"
            )
            return 0
        if args.name is None:
            raise UsageError(f"agentops prompts {args.action}: name the prompt")
        if args.action == "show":
            try:
                since = time.time() - render.parse_since(args.since)
            except ValueError as exc:
                raise UsageError(f"--since: {exc}") from None
            versions = await control.prompt_versions(args.name, since=since)
            rows = [
                (
                    f"v{v.version}",
                    v.artifact_id,
                    time.strftime("%Y-%m-%d %H:%M", time.localtime(v.created_at)),
                    ",".join(v.labels) or "-",
                    v.calls,
                    _pct(v.error_rate),
                    _pct(v.gate_failure_rate),
                    render.ms(v.p95_ms) if v.calls else "-",
                    render.money(v.cost_per_call) if v.calls else "-",
                    f"{v.judge_score:.2f}" if v.judge_score is not None else "-",
                )
                for v in versions
            ]
            heads = ["version", "artifact", "created", "labels", "calls", "errors", "invalid", "p95", "$/call", "judge"]
            print(render.table(heads, rows))
            print(f"(figures since {args.since} ago)")
            return 0
        if args.action == "diff":
            if len(args.versions) != 2:
                raise UsageError("agentops prompts diff NAME A B: give two versions")
            a, b = args.versions
            by_version = {v.version: v for v in await control.prompt_versions(args.name)}
            for n in (a, b):
                if n not in by_version:
                    raise UsageError(f"prompt {args.name!r} has no version {n} (has {sorted(by_version)})")
            diff = difflib.unified_diff(
                render.prompt_lines(by_version[a].content),
                render.prompt_lines(by_version[b].content),
                f"{args.name} v{a}",
                f"{args.name} v{b}",
                lineterm="",
            )
            print("\n".join(diff) or f"v{a} and v{b} have the same prompt (the artifact differs elsewhere)")
            return 0
        action = {"canary": "canary.start", "shadow": "shadow.start"}.get(args.action, args.action)
        if args.action == "stop":
            if args.kind is None:
                raise UsageError("agentops prompts stop NAME --kind canary|shadow")
            action = f"{args.kind}.stop"
        version = args.versions[0] if args.versions else None
        if action == "label" and not args.label:
            raise UsageError("agentops prompts label NAME [VERSION] --label LABEL (no version removes the label)")
        summary = await control.prompt_action(
            args.name, action, version=version, label=args.label, actor=current_actor(), via="cli"
        )
    labels = " ".join(f"{k}=v{v}" for k, v in sorted(summary.labels.items()))
    print(f"{summary.name}: {action} done; labels now {labels}")
    return 0


def _flag_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


async def _flags(args: argparse.Namespace, settings: Settings) -> int:
    async with open_control(args, settings) as control:
        if args.action == "list":
            rows = []
            for f in await control.flags():
                d = f.definition
                state = "KILLED" if d["killed"] else ("on" if d["enabled"] else "off")
                split = (
                    ", ".join(f"{k} {v:g}%" for k, v in d["variants"].items()) or f"{d['rollout']:g}% -> {d['value']!r}"
                )
                evals = ", ".join(f"{k}: {v:.1f}/min" for k, v in sorted(f.per_minute.items())) or "-"
                rows.append((f.name, state, split, repr(d["default"]), len(d["rules"]), evals, f.updated_by))
            heads = ["flag", "state", "rollout", "default", "rules", "evaluations", "changed by"]
            print(render.table(heads, rows) if rows else "no flags (define them under [flags.NAME] in config.toml)")
            return 0
        if args.name is None:
            raise UsageError(f"agentops flags {args.action}: name the flag")
        changes: dict[str, Any]
        if args.action == "on":
            changes = {"enabled": True, "killed": False}
        elif args.action == "off":
            changes = {"enabled": False}
        elif args.action == "kill":
            changes = {"killed": True}
        elif args.action == "rollout":
            if args.value is None:
                raise UsageError("agentops flags rollout NAME PERCENT")
            try:
                changes = {"rollout": float(args.value)}
            except ValueError:
                raise UsageError(f"rollout {args.value!r}: a percentage from 0 to 100") from None
        else:  # set key=value ...
            if not args.pairs:
                raise UsageError("agentops flags set NAME key=value ... (e.g. variants='{\"a\": 50}')")
            changes = {}
            for pair in args.pairs:
                key, sep, value = pair.partition("=")
                if not sep:
                    raise UsageError(f"{pair!r}: write key=value")
                changes[key] = _flag_value(value)
        status = await control.set_flag(args.name, changes, actor=current_actor(), via="cli")
    d = status.definition
    print(
        f"{status.name}: enabled={d['enabled']} killed={d['killed']} rollout={d['rollout']:g}% variants={d['variants']}"
    )
    return 0


HANDLERS: dict[str, Handler] = {"prompts": _prompts, "flags": _flags}
