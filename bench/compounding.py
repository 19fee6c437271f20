"""Compounding reliability: Lusser's law, and what per-step validation does about it, end to end.

A chain of N steps that are each right with probability 1 - p is right with probability
(1 - p)^N (Lusser's law): at p = 2 %, 0.98^10 = 81.7 % for ten steps. A gate that catches a
share c of the wrong replies and has them repaired brings that back to about
(1 - p(1 - c))^N. This benchmark measures both curves for N = 1..20 on the real call path:
a started :class:`~agentops.runtime.Runtime`, agents registered on a
:class:`~agentops.runtime.Registry`, run with ``Runtime.run`` (task row, lease, journal,
spans), every step an ``await ctx.llm(...)`` through litellm over real HTTP to the built-in
simulator. Nothing is mocked; nothing is sampled offline.

**The step.** Each step asks the model for a ``Finding`` (a document reference ``ref``, a
``kind`` out of ten, an ``amount``) and hands it to the next step, whose prompt quotes it.
The schema sent (``response_format``, json_schema) lists every key as required, as OpenAI's
strict structured outputs do (optional keys are nullable, never absent). The simulator
answers with JSON generated from that schema; its per-model ``rate_invalid_output = 0.02``
makes 2 % of replies violate it, and for this schema the violation is always the same
(``simulator/_schema.py:break_instance`` drops the first required key): ``ref`` is missing.

**What "wrong" means.** A reply is wrong when it does not follow the schema it was asked
for. The oracle judges every reply, outside the agent, by parsing it with ``Asked``, the
schema's exact pydantic twin (every key required, no extra keys). By construction exactly
the simulator's corrupted replies are wrong; the run checks this by comparing the oracle's
count with the simulator's own ``invalid_output`` fault counter.

**Why the gate catches only some.** The agent's code parses leniently (``Finding.ref``
defaults to None, as code that must not crash on an omitted key does) and its check,
``ref_rule``, enforces the business rule it knows: every kind but a ``note`` carries a ref.
A corrupted reply whose ``kind`` is ``note`` breaks no rule the agent can see, and passes.
So the catch rate is not a parameter of this benchmark: it is the share of corrupted replies
the simulator happened to give a kind other than ``note`` (its uniform draw over the enum
makes that about 9 in 10), and it is measured, per run, from the store: every reply the
simulator produced is an LLM span (``gen_ai.output.messages``), every reply the gate
rejected is an ``llm_calls`` row with ``gate_failed = 1``. Catch rate = rejected wrong
replies / wrong replies; rejected right replies (false alarms) are counted too.

**The two runs.** Without gates the agent calls ``ctx.llm(messages, response_format=...)``
(no ``output=``, no ``check=``: the simulator sees the same request) and takes each reply
as it comes. With gates it calls ``ctx.llm(messages, output=Finding, check=ref_rule)``: a
reply that fails the check is fed back and asked again, at most ``gate.max_repairs`` = 2
times (``tasks/llm_step.py``), and a step whose three replies all fail ends the task with a
``ValidationGateError``. A task succeeds when it finished and the oracle finds every step's
final reply right.

**The gated prediction, exactly.** One attempt is right and accepted with probability
1 - p, wrong and rejected with p c (then the step is asked again, if a repair is left),
wrong and accepted with p (1 - c). With R repairs a step is right with probability

    s = (1 - p) * (1 + pc + (pc)^2 + ... + (pc)^R) = (1 - p) (1 - (pc)^(R+1)) / (1 - pc)

and a chain of N steps with s^N. (The repair reply is a fresh draw: a new request, so a new
kind and a new fault draw.) At p = 0.02, c = 0.9, R = 2: s = 0.99796, against the rougher
1 - p(1 - c) = 0.998; s^10 = 97.98 %. The prediction uses the configured p = 0.02 and the
catch rate c measured in the same run; the measured p is printed beside it.

**Fairness and size.** The two modes run at the same time, each in a fresh process of its
own (one core each on two cores), each a runtime on its own temp store (the shipped store
settings) with the built-in simulator in its event loop, built as the tests build it
(``api_base = "sim"``): latency 0, seeded (``--seed`` without gates, ``--seed`` + 1 with
them, so the fault streams are independent). The response cache is off (every prompt is
distinct anyway), so every step is a provider call. Tasks run 32 at a time per mode (closed
loop over ``Runtime.run``). Intervals are Wilson 95 %; N = 10 gets 6,000 tasks per mode
(half-width about 1.0 point at 81.7 %, 0.35 at 98 %), every other N ``--other-tasks`` (600:
about +-1 to 4 points at 98-67 % without gates, +-0.5 to 1.8 at 99-95 % with them). The
verdict at N = 10: Lusser's 0.98^10 inside the ungated run's interval, and the gated run
within 1 percentage point of the prediction. The run also checks that the oracle's wrong
replies are exactly the simulator's ``invalid_output`` faults and that every call was answered.

Usage (from the repository root)::

    uv run python bench/compounding.py            # full run, about 20 minutes on 2 cores
    uv run python bench/compounding.py --quick    # smoke run, under a minute; no plot
    uv run python bench/compounding.py --tasks 6000 --other-tasks 600 --plot docs/compounding.png

The plot (both measured curves with their intervals, both predictions) goes to
``docs/compounding.png`` on a full run.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import math
import multiprocessing
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentops.runtime import Context, Registry, Runtime, Settings, agent
from agentops.runtime.calls import response_format
from agentops.runtime.logs import configure_logging

# Before litellm is imported anywhere: its bundled price map, never the network.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

ROOT = Path(__file__).resolve().parents[1]
MODEL = "gpt-4o-mini"
P_WRONG = 0.02
"""The simulator's per-reply rate of schema-violating JSON (``rate_invalid_output``)."""
FOCUS = 10
"""The chain length the verdict is about."""
TOLERANCE = 0.01
"""The gated run must land within this (absolute) of its prediction at ``FOCUS``."""
Z95 = 1.959964

Kind = Literal["order", "invoice", "refund", "shipment", "payment", "return", "credit", "quote", "ticket", "note"]
UNCHECKED_KIND = "note"
"""The one kind whose rule allows no ref: a corrupted reply of this kind passes the gate."""


# -- the step's schema, the agent's check and the oracle ---------------------------------------


def _every_key_required(schema: dict[str, Any]) -> None:
    """Ask for every key, optional ones as nullable (OpenAI's strict structured outputs)."""
    schema["required"] = list(schema["properties"])
    for prop in schema["properties"].values():
        prop.pop("default", None)


class Finding(BaseModel):
    """What a step asks the model for, as the agent's code parses it (leniently: a reply
    that omits ``ref`` still parses, with None)."""

    model_config = ConfigDict(json_schema_extra=_every_key_required)

    ref: str | None = None
    kind: Kind
    amount: int = Field(ge=0, le=999)


class Asked(BaseModel):
    """The oracle's model: exactly the schema the model was asked to follow."""

    model_config = ConfigDict(extra="forbid", strict=True)

    ref: str | None
    kind: Kind
    amount: int = Field(ge=0, le=999)


assert Asked.model_json_schema()["required"] == Finding.model_json_schema()["required"]


def ref_rule(finding: Finding) -> str | None:
    """The agent's check: every kind of finding but a note carries its document reference."""
    if finding.kind != UNCHECKED_KIND and not finding.ref:
        return f"a finding of kind {finding.kind!r} needs its ref"
    return None


def is_wrong(text: str | None) -> bool:
    """The oracle: the reply does not follow the schema it was asked for."""
    try:
        Asked.model_validate_json(text or "")
    except ValidationError:
        return True
    return False


# -- the agents ---------------------------------------------------------------------------------


class ChainInput(BaseModel):
    """A task of the benchmark: which one (it makes every prompt distinct)."""

    task: int


SYSTEM = "You extract one finding per step from a customer's case file. Reply with the JSON object only."


def _prompt(task: int, step: int, steps: int, previous: str | None) -> list[dict[str, str]]:
    before = f"The previous step found: {previous}" if previous else "This is the first step."
    user = f"Case {task}, step {step} of {steps}. {before} Extract the next finding."
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def agent_name(steps: int, gated: bool) -> str:
    """The registered name of the chain of ``steps`` steps."""
    return f"chain{steps}-{'gated' if gated else 'plain'}"


def register_chains(registry: Registry, lengths: list[int], gated: bool) -> None:
    """Register a chain of each length: without gates, or with gates."""
    asked_for = response_format(Finding)

    def chain(steps: int) -> Callable[[Context, ChainInput], Awaitable[dict[str, Any]]]:
        async def run(ctx: Context, job: ChainInput) -> dict[str, Any]:
            replies: list[str | None] = []
            previous: str | None = None
            for step in range(1, steps + 1):
                messages = _prompt(job.task, step, steps, previous)
                if gated:
                    result = await ctx.llm(messages, output=Finding, check=ref_rule, name=f"step {step}")
                else:
                    result = await ctx.llm(messages, response_format=asked_for, name=f"step {step}")
                replies.append(result.text)
                previous = result.text
            return {"replies": replies}

        return run

    for steps in lengths:
        agent(agent_name(steps, gated), max_steps=steps, registry=registry)(chain(steps))


# -- running -------------------------------------------------------------------------------------


@dataclass
class Cell:
    """One chain length in one mode: what its tasks did, and what the store says of its replies."""

    steps: int
    gated: bool
    tasks: int = 0
    succeeded: int = 0
    wrong_tasks: int = 0
    """Tasks that finished with at least one wrong step (the oracle's verdict)."""
    gate_exhausted: int = 0
    """Tasks that failed with a ValidationGateError (a step's every reply was rejected)."""
    other_failures: int = 0
    first_error: str = ""
    wall_s: float = 0.0
    replies: int = 0
    wrong: int = 0
    caught: int = 0
    false_alarms: int = 0
    failed_calls: int = 0

    @property
    def rate(self) -> float:
        """Share of tasks that succeeded."""
        return self.succeeded / self.tasks if self.tasks else float("nan")


def judge(cell: Cell, status: str, error_type: str | None, error: str | None, output: Any) -> None:
    """Add one finished task to ``cell``: success only when every step's reply is right."""
    cell.tasks += 1
    if status == "succeeded":
        if any(is_wrong(text) for text in output["replies"]):
            cell.wrong_tasks += 1
        else:
            cell.succeeded += 1
    elif error_type == "ValidationGateError":
        cell.gate_exhausted += 1
    else:
        cell.other_failures += 1
        cell.first_error = cell.first_error or f"{status} {error_type}: {error}"[:300]


async def run_cell(rt: Runtime, cell: Cell, first_task: int, concurrency: int) -> None:
    """Run ``cell.tasks`` tasks of the cell's agent, ``concurrency`` at a time; judge each."""
    name = agent_name(cell.steps, cell.gated)
    todo = iter(range(first_task, first_task + cell.tasks))
    cell.tasks = 0

    async def lane() -> None:
        for task in todo:
            record = await rt.run(name, {"task": task})
            judge(cell, record.status, record.error_type, record.error, record.output)

    start = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    cell.wall_s = time.perf_counter() - start


def audit(db: Path, cells: dict[str, Cell]) -> None:
    """Count, from the store, every reply the simulator produced and what the gate did with it."""
    query = """
        SELECT t.agent, c.status, c.gate_failed, json_extract(s.attributes, '$."gen_ai.output.messages"')
        FROM llm_calls c JOIN spans s ON s.span_id = c.span_id JOIN tasks t ON t.id = c.task_id
    """
    with sqlite3.connect(db) as conn:
        for agent, status, gate_failed, text in conn.execute(query):
            cell = cells[agent]
            if status != "ok":
                cell.failed_calls += 1
                continue
            cell.replies += 1
            wrong = is_wrong(text)
            cell.wrong += wrong
            cell.caught += bool(wrong and gate_failed)
            cell.false_alarms += bool(gate_failed and not wrong)


@dataclass
class ModeRun:
    """One mode's run in its own process: its cells, the simulator's counters, its timing."""

    gated: bool
    cells: list[Cell]
    sim_requests: int
    sim_invalid_output: int
    wall_s: float
    cpu_s: float


async def measure(args: argparse.Namespace, gated: bool) -> ModeRun:
    """Start a runtime with the built-in simulator, run every chain length of one mode, then
    audit the store."""
    started, cpu0 = time.perf_counter(), time.process_time()
    tmp = tempfile.TemporaryDirectory(prefix="agentops-compounding-")
    db = Path(tmp.name) / "agentops.db"
    registry = Registry()
    register_chains(registry, args.steps, gated)
    behaviour = {"latency_ms": 0, "latency_sigma": 0, "rate_invalid_output": P_WRONG}
    settings = Settings(
        store={"path": str(db)},  # the shipped defaults otherwise
        deployments={"primary": {"model": "openai/" + MODEL, "api_base": "sim"}},
        routes={"default": {"chain": ["primary"]}},
        gate={"max_repairs": args.max_repairs},
        cache={"exact": False},
        runtime={"agent_modules": []},
        log={"level": "error"},
        # each mode its own fault stream
        simulator={"enabled": True, "seed": args.seed + gated, "models": {MODEL: behaviour}},
    )
    configure_logging(settings.log.level)  # a gate that gives up logs a warning per task
    rt = Runtime(settings, registry)
    cells: list[Cell] = []
    try:
        await rt.start()
        await rt.wait_ready()
        first = 0
        for steps in args.steps:
            cell = Cell(steps, gated, args.tasks if steps == FOCUS else args.other_tasks)
            await run_cell(rt, cell, first, args.concurrency)
            first += cell.tasks
            cells.append(cell)
            print(
                f"  N={steps:2d} {'gated' if gated else 'plain'}: {cell.succeeded}/{cell.tasks} succeeded, "
                f"{cell.tasks * steps / cell.wall_s:.0f} steps/s, {cell.wall_s:.0f} s",
                file=sys.stderr,
                flush=True,
            )
        assert rt.simulator is not None
        stats = rt.simulator.stats.model(MODEL)
    finally:
        await rt.stop()
    audit(db, {agent_name(c.steps, c.gated): c for c in cells})
    tmp.cleanup()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu0
    return ModeRun(gated, cells, stats.requests, stats.fault("invalid_output"), wall, cpu)


def _measure_in_process(args: argparse.Namespace, gated: bool) -> ModeRun:
    return asyncio.run(measure(args, gated))


def measure_both(args: argparse.Namespace) -> tuple[list[ModeRun], float]:
    """Both modes at once, each in a fresh process of its own (one core each on two cores)."""
    started = time.perf_counter()
    spawn = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=2, mp_context=spawn) as pool:
        runs = list(pool.map(_measure_in_process, [args, args], [False, True]))
    return runs, time.perf_counter() - started


# -- statistics ------------------------------------------------------------------------------------


def wilson(k: int, n: int) -> tuple[float, float]:
    """The Wilson score 95 % interval of a proportion k / n."""
    if n == 0:
        return float("nan"), float("nan")
    phat = k / n
    denom = 1 + Z95**2 / n
    centre = (phat + Z95**2 / (2 * n)) / denom
    half = Z95 * math.sqrt(phat * (1 - phat) / n + Z95**2 / (4 * n * n)) / denom
    return centre - half, centre + half


def step_success(p: float, c: float, repairs: int) -> float:
    """Chance that a gated step ends right: see the module docstring for the derivation."""
    caught = p * c
    return (1 - p) * sum(caught**k for k in range(repairs + 1))


@dataclass
class Replies:
    """Replies of one mode's cells, pooled."""

    replies: int = 0
    wrong: int = 0
    caught: int = 0
    false_alarms: int = 0
    failed_calls: int = 0

    @classmethod
    def of(cls, cells: list[Cell]) -> Replies:
        """Sum the cells' counters."""
        t = cls()
        for c in cells:
            t.replies += c.replies
            t.wrong += c.wrong
            t.caught += c.caught
            t.false_alarms += c.false_alarms
            t.failed_calls += c.failed_calls
        return t

    @property
    def catch_rate(self) -> float:
        """Wrong replies the gate rejected, over wrong replies."""
        return self.caught / self.wrong if self.wrong else float("nan")


# -- reporting -------------------------------------------------------------------------------------


def _pct(x: float) -> str:
    return f"{x * 100:.1f}"


def _ci(k: int, n: int) -> str:
    lo, hi = wilson(k, n)
    return f"{_pct(k / n)} ({_pct(lo)}-{_pct(hi)})"


def report(runs: list[ModeRun], wall_s: float, args: argparse.Namespace) -> bool:
    """Print the table, the measured rates, the checks and the verdict; returns whether it passed."""
    plain_run, gated_run = sorted(runs, key=lambda r: r.gated)
    plain, gated = Replies.of(plain_run.cells), Replies.of(gated_run.cells)
    c = gated.catch_rate
    s = step_success(P_WRONG, c, args.max_repairs)
    by = {(cell.steps, cell.gated): cell for run in runs for cell in run.cells}
    print(
        f"\nCompounding reliability: p = {P_WRONG} per reply (rate_invalid_output), gate.max_repairs = "
        f"{args.max_repairs}, {args.concurrency} tasks at a time per mode, simulator latency 0, "
        f"seeds {args.seed} (no gates) and {args.seed + 1} (gates)"
    )
    print("\n| N | tasks | no gates (95 % CI) | 0.98^N | gates (95 % CI) | predicted s^N | gates - predicted |")
    print("|---|---|---|---|---|---|---|")
    for n in args.steps:
        p_cell, g_cell = by[n, False], by[n, True]
        predicted = s**n
        print(
            f"| {n} | {p_cell.tasks:,} | {_ci(p_cell.succeeded, p_cell.tasks)} | {_pct((1 - P_WRONG) ** n)} "
            f"| {_ci(g_cell.succeeded, g_cell.tasks)} | {_pct(predicted)} | {(g_cell.rate - predicted) * 100:+.1f} |"
        )
    print("(tasks succeeded, in %, per mode; Wilson 95 % intervals)")
    lo, hi = wilson(gated.caught, gated.wrong)
    print(
        f"\nCatch rate: the gate rejected {gated.caught:,} of the {gated.wrong:,} wrong replies (repairs "
        f"included) = {c * 100:.1f} % (95 % CI {lo * 100:.1f}-{hi * 100:.1f}); "
        f"false alarms: {gated.false_alarms} of {gated.replies - gated.wrong:,} right replies"
    )
    print(
        f"Measured p: {plain.wrong:,} / {plain.replies:,} = {plain.wrong / plain.replies * 100:.2f} % (no gates), "
        f"{gated.wrong:,} / {gated.replies:,} = {gated.wrong / gated.replies * 100:.2f} % (gates)"
    )
    print(
        f"Gated step: s = (1-p)(1-(pc)^{args.max_repairs + 1})/(1-pc) = {s:.5f} at p = {P_WRONG}, "
        f"c = {c:.4f} (rougher 1-p(1-c) = {1 - P_WRONG * (1 - c):.5f})"
    )
    consistent = True
    for run, replies in ((plain_run, plain), (gated_run, gated)):
        agrees = run.sim_requests == replies.replies and run.sim_invalid_output == replies.wrong
        consistent = consistent and agrees and replies.failed_calls == 0
        print(
            f"{'Gates' if run.gated else 'No gates'}: the simulator counted {run.sim_requests:,} requests and "
            f"{run.sim_invalid_output:,} invalid_output faults; the store holds {replies.replies:,} replies, "
            f"{replies.wrong:,} wrong by the oracle, {replies.failed_calls} failed calls"
        )
    g_cells = gated_run.cells
    others = [cell.first_error for run in runs for cell in run.cells if cell.first_error]
    print(
        f"Gated tasks failed: {sum(x.wrong_tasks for x in g_cells)} with a wrong reply the gate let through, "
        f"{sum(x.gate_exhausted for x in g_cells)} with every repair rejected, "
        f"{sum(x.other_failures for run in runs for x in run.cells)} otherwise"
        + (f" (first: {others[0]})" if others else "")
    )
    for run in (plain_run, gated_run):
        steps = sum(cell.tasks * cell.steps for cell in run.cells)
        print(
            f"{'Gates' if run.gated else 'No gates'}: {steps:,} steps in {run.wall_s:.0f} s "
            f"({steps / run.wall_s:.0f} steps/s, {run.cpu_s / run.wall_s:.2f} CPU s per s)"
        )
    print(f"Run time: {wall_s:.0f} s wall for both modes at once, {os.cpu_count()} CPUs")
    return _verdict(by, s, args, consistent)


def _verdict(by: dict[tuple[int, bool], Cell], s: float, args: argparse.Namespace, consistent: bool) -> bool:
    print(f"  checks: oracle's wrong replies == simulator's faults, every call answered: {consistent}")
    if FOCUS not in args.steps:
        return consistent
    plain, gated = by[FOCUS, False], by[FOCUS, True]
    lo, hi = wilson(plain.succeeded, plain.tasks)
    glo, ghi = wilson(gated.succeeded, gated.tasks)
    lusser, predicted = (1 - P_WRONG) ** FOCUS, s**FOCUS
    in_ci = lo <= lusser <= hi
    close = abs(gated.rate - predicted) <= TOLERANCE
    print(f"\nVerdict at N = {FOCUS}:")
    print(
        f"  no gates {_ci(plain.succeeded, plain.tasks)} % vs 0.98^{FOCUS} = {lusser * 100:.2f} %: "
        f"{'inside' if in_ci else 'OUTSIDE'} the interval  {'PASS' if in_ci else 'FAIL'}"
    )
    print(
        f"  gates {_ci(gated.succeeded, gated.tasks)} % vs predicted {predicted * 100:.2f} %: "
        f"{(gated.rate - predicted) * 100:+.2f} points (tolerance {TOLERANCE * 100:.0f}; the prediction is "
        f"{'inside' if glo <= predicted <= ghi else 'outside'} the interval)  {'PASS' if close else 'FAIL'}"
    )
    return in_ci and close and consistent


def plot(runs: list[ModeRun], args: argparse.Namespace, path: Path) -> None:
    """Both measured curves with their 95 % intervals, against both predictions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by = {(cell.steps, cell.gated): cell for run in runs for cell in run.cells}
    c = Replies.of([cell for cell in by.values() if cell.gated]).catch_rate
    ns = list(args.steps)
    smooth = [n / 10 for n in range(10, 10 * max(ns) + 1)]
    s = step_success(P_WRONG, c, args.max_repairs)
    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    ax.plot(smooth, [(1 - P_WRONG) ** n * 100 for n in smooth], color="tab:red", lw=1, label="Lusser: 0.98^N")
    ax.plot(smooth, [s**n * 100 for n in smooth], color="tab:blue", lw=1, label=f"gated prediction (c = {c:.3f})")
    for gated, color, label in ((False, "tab:red", "measured, no gates"), (True, "tab:blue", "measured, gates")):
        rates = [by[n, gated].rate * 100 for n in ns]
        cis = [wilson(by[n, gated].succeeded, by[n, gated].tasks) for n in ns]
        # max(0, ...): at a rate of 100 % the upper bound is 1 only up to rounding
        below = [max(0.0, r - lo * 100) for r, (lo, _) in zip(rates, cis, strict=True)]
        above = [max(0.0, hi * 100 - r) for r, (_, hi) in zip(rates, cis, strict=True)]
        err = [below, above]
        ax.errorbar(ns, rates, yerr=err, fmt="o", ms=4, capsize=3, color=color, label=label + " (95 % CI)")
    ax.axvline(FOCUS, color="grey", lw=0.5, ls=":")
    ax.set_xlabel("steps in the chain (N)")
    ax.set_ylabel("tasks succeeded (%)")
    ax.set_xticks(ns)
    ax.set_title(f"Compounding errors at p = {P_WRONG:.0%} per step, with and without validation gates")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    print(f"Plot: {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=6000, help=f"tasks per run at N = {FOCUS}")
    parser.add_argument("--other-tasks", type=int, default=600, help="tasks per run at every other N")
    parser.add_argument("--steps", type=int, nargs="+", default=list(range(1, 21)), help="the chain lengths")
    parser.add_argument("--concurrency", type=int, default=32, help="tasks at once")
    parser.add_argument("--max-repairs", type=int, default=2, help="gate.max_repairs")
    parser.add_argument("--seed", type=int, default=1, help="the simulator's seed")
    parser.add_argument("--plot", type=Path, default=None, help="PNG to write (default: docs/compounding.png)")
    parser.add_argument("--quick", action="store_true", help="smoke run: N = 1, 5, 10, 20, few tasks, no plot")
    args = parser.parse_args()
    if args.quick:
        args.tasks, args.other_tasks, args.steps = min(args.tasks, 400), min(args.other_tasks, 100), [1, 5, 10, 20]
    args.steps = sorted(set(args.steps))
    runs, wall_s = measure_both(args)
    ok = report(runs, wall_s, args)
    target = args.plot or (None if args.quick else ROOT / "docs" / "compounding.png")
    if target is not None:
        plot(runs, args, target)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
