"""Batch APIs: what the same tasks cost by batch and at once, in one run.

One runtime with workers on a temp store and the built-in simulator (latency 0, batch jobs
completed ``--delay`` seconds after creation, ``--fail-rate`` of lines failed once). The same
``--tasks`` tasks of one two-step agent (a summary, then tags for it: every request distinct,
the response cache off) run twice: once submitted plainly, every LLM step a call at once,
and once submitted with ``batch=True`` (``agentops submit --batch``), every step a batch
request. Both go through litellm over real HTTP; the batch run through ``/v1/files`` and
``/v1/batches``. Reported from the ledger: the spend of each run, its ratio, the saving the
batch rows record, the jobs sent, the failed lines retried, and the wall time of each run
(a batch run's wall time is set by ``max_wait_s``, ``poll_s`` and the provider's delay, not by
agentops).

Usage (from the repository root; about a minute)::

    uv run python bench/batch.py
    uv run python bench/batch.py --tasks 1000 --fail-rate 0.05
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from pydantic import BaseModel

from agentops.runtime import Context, Registry, Runtime, Settings, agent
from agentops.runtime.logs import configure_logging
from agentops.store import BatchStore

MODEL = "gpt-4o-mini"


class Ticket(BaseModel):
    text: str


def registry() -> Registry:
    reg = Registry()

    @agent(registry=reg)
    async def digest(ctx: Context, t: Ticket) -> str:
        summary = await ctx.llm(f"Summarise in one line: {t.text}", name="summarise")
        tags = await ctx.llm(f"Three tags for: {summary.text}", name="tag")
        return tags.text or ""

    return reg


async def run_mode(rt: Runtime, tasks: int, *, batch: bool, first: int) -> tuple[float, int]:
    """Submit ``tasks`` tasks and wait for all of them; (wall seconds, succeeded)."""
    t0 = time.perf_counter()
    ids = []
    for i in range(first, first + tasks):
        text = f"Order {i} arrived with a broken lid and the refund form fails to load"
        task, _ = await rt.submit("digest", {"text": text}, batch=batch)
        ids.append(task.id)
    pending = set(ids)
    succeeded = 0
    while pending:
        await asyncio.sleep(0.1)
        for task_id in list(pending):
            task = await rt.store.get_task(task_id)
            if task is not None and task.status in ("succeeded", "failed", "dead", "cancelled"):
                pending.discard(task_id)
                succeeded += task.status == "succeeded"
    return time.perf_counter() - t0, succeeded


async def main(args: argparse.Namespace) -> None:
    tmp = tempfile.TemporaryDirectory(prefix="agentops-batch-")
    settings = Settings(
        store={"path": str(Path(tmp.name) / "agentops.db")},
        deployments={"primary": {"model": "openai/" + MODEL, "api_base": "sim"}},
        routes={"default": {"chain": ["primary"]}},
        cache={"exact": False},
        runtime={"agent_modules": []},
        workers={"concurrency": 32, "poll_s": 0.05},
        batch={"max_requests": args.max_requests, "max_wait_s": 0.5, "poll_s": 0.25},
        log={"level": "error"},
        simulator={
            "enabled": True,
            "seed": 1,
            "default": {"latency_ms": 0, "latency_sigma": 0},
            "batch": {"delay_s": args.delay, "fail_rate": args.fail_rate},
        },
    )
    configure_logging(settings.log.level)
    rt = Runtime(settings, registry(), workers=True)
    await rt.start()
    await rt.wait_ready()
    try:
        plain_s, plain_ok = await run_mode(rt, args.tasks, batch=False, first=0)
        batch_s, batch_ok = await run_mode(rt, args.tasks, batch=True, first=args.tasks)
        rows = await rt.store.ledger_rows()
        jobs = await BatchStore(rt.store).jobs(limit=10_000)
        stats = rt.simulator.batch_stats if rt.simulator is not None else {}
    finally:
        await rt.stop()
        tmp.cleanup()
    plain = [r for r in rows if r.batch_job is None]
    batched = [r for r in rows if r.batch_job is not None]
    plain_usd, batch_usd = sum(r.cost_usd for r in plain), sum(r.cost_usd for r in batched)
    saving = sum(r.saving_usd for r in batched)
    steps = 2 * args.tasks
    print(f"{args.tasks} tasks x 2 LLM steps per mode; simulator batch delay {args.delay} s,", end=" ")
    print(f"fail rate {args.fail_rate}")
    print("| run | tasks succeeded | ledger rows | spend (USD) | wall (s) |")
    print("|---|---:|---:|---:|---:|")
    print(f"| at once | {plain_ok}/{args.tasks} | {len(plain)} | {plain_usd:.6f} | {plain_s:.1f} |")
    print(f"| by batch | {batch_ok}/{args.tasks} | {len(batched)} | {batch_usd:.6f} | {batch_s:.1f} |")
    print(f"\nbatch / at once spend: {batch_usd / plain_usd:.3f} (the same requests)")
    share = saving / (batch_usd + saving)
    print(f"saving recorded on the batch rows: {saving:.6f} USD ({share:.1%} of the full price)")
    print(
        f"jobs: {len(jobs)} ({', '.join(sorted({j.status for j in jobs}))}), lines failed and retried:"
        f" {sum(j.failed for j in jobs)}, lines answered by the simulator: {stats.get('lines_answered')}"
        f" for {steps} steps"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--tasks", type=int, default=200, help="tasks per mode (default 200)")
    parser.add_argument("--delay", type=float, default=1.0, help="simulator batch delay in seconds (default 1)")
    parser.add_argument("--fail-rate", type=float, default=0.02, help="share of lines failed once (default 0.02)")
    parser.add_argument("--max-requests", type=int, default=500, help="[batch] max_requests (default 500)")
    asyncio.run(main(parser.parse_args()))
