"""Console benchmarks: time to first paint, and key-press latency under 2,000 span events/s.

Run: ``uv run python bench/console.py`` (add ``--quick`` for fewer rounds).

1. **First paint.** Spawns the real ``agentops tui`` on a pseudo-terminal (120x36) with a
   temp config and measures, from just before ``fork/exec`` to the first frame on the
   terminal (the header line with "Traces"), and on to "ready" (the runtime started and
   litellm imported in the background). This includes Python's start-up and every import
   the first frame needs. For context it also times ``python -c "import textual.app"``.
2. **Key latency under load.** Runs the console headless (``App.run_test``) on a real
   runtime while a producer task publishes span.started/span.ended events on the runtime's
   event bus at 2,000 events/s for 50 "running" tasks shown in Traces (so each tick updates
   rows). Every 50 ms it posts a ``j``/``k`` key to the app and measures the time until the
   table's cursor has moved (queueing + handling + the batch work in between). Reports
   P50/P95/max, with the same figures without load for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import os
import pty
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
BIN = Path(sys.executable).with_name("agentops")


def _spawn_tui(config: Path, cwd: Path) -> tuple[float, float | None, float]:
    """(seconds to first frame, seconds to 'ready', seconds to exit after q)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "36"}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [str(BIN), "--config", str(config), "tui"], stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env
    )
    os.close(slave)
    buf, first, ready = b"", None, None
    deadline = t0 + 120
    while time.perf_counter() < deadline:
        r, _, _ = select.select([master], [], [], 0.01)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            buf += chunk
            if first is None and b"Traces" in buf and b"agentops" in buf:
                first = time.perf_counter() - t0
                buf = b""  # look for "ready" in what comes next
            elif first is not None and b"circuits ok" in buf:
                ready = time.perf_counter() - t0
                break
    t1 = time.perf_counter()
    os.write(master, b"q")
    while proc.poll() is None and time.perf_counter() - t1 < 20:
        r, _, _ = select.select([master], [], [], 0.05)
        if r:
            try:
                os.read(master, 65536)
            except OSError:
                break
    proc.wait(timeout=20)
    os.close(master)
    assert first is not None, "no first frame seen"
    return first, ready, time.perf_counter() - t1


def first_paint(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "config.toml"
        cfg.write_text(f'[store]\npath = "{tmp}/agentops.db"\n[simulator.default]\nlatency_ms = 0\n')
        imports = []
        for _ in range(rounds):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import textual.app"], check=True)
            imports.append(time.perf_counter() - t)
        results = [_spawn_tui(cfg, Path(tmp)) for _ in range(rounds)]
    firsts = [r[0] for r in results]
    readies = [r[1] for r in results if r[1] is not None]
    print(f"first paint of `agentops tui` (spawn -> first frame on a 120x36 pty), {rounds} runs:")
    print(f"  median {statistics.median(firsts):.3f} s   min {min(firsts):.3f} s   max {max(firsts):.3f} s")
    print(f"  python -c 'import textual.app' alone: median {statistics.median(imports):.3f} s")
    if readies:
        print(f"  runtime ready (litellm loaded, header updated): median {statistics.median(readies):.2f} s")


async def key_latency(seconds: float, rate: int) -> None:
    from textual import events

    from agentops.console.app import ConsoleApp
    from agentops.runtime import LocalControl, Runtime, Settings, TaskRecord

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            store={"path": f"{tmp}/bench.db"}, simulator={"default": {"latency_ms": 0, "latency_sigma": 0}}
        )
        rt = Runtime(settings)
        await rt.start()
        await rt.wait_ready()
        assert rt.store is not None
        ids = [f"{n:016x}" for n in range(50)]
        for tid in ids:
            await rt.store.insert_task(TaskRecord(tid, "triage", "running", {}, "0" * 32, time.time(), "u-bench"))

        async def connect() -> LocalControl:
            return LocalControl.of(rt)

        app = ConsoleApp(connect)
        async with app.run_test(size=(120, 36)) as pilot:
            while app.control is None or app.screen.table.row_count < 50:
                await pilot.pause(0.05)
            table = app.screen.table
            published = 0

            async def produce(stop: asyncio.Event) -> None:
                nonlocal published
                step = 0.01
                per_step = max(2, int(rate * step))
                t_next = time.perf_counter()
                while not stop.is_set():
                    for i in range(per_step // 2):
                        tid = ids[(published // 2 + i) % len(ids)]
                        sid = f"{published:016x}"
                        rt.bus.publish("span.started", span_id=sid, task_id=tid, kind="llm", name="bench")
                        rt.bus.publish("span.ended", span_id=sid, task_id=tid, kind="llm", name="bench", status="ok")
                        published += 2
                    t_next += step
                    await asyncio.sleep(max(0.0, t_next - time.perf_counter()))

            async def measure(n: int) -> list[float]:
                out = []
                for i in range(n):
                    before = table.cursor_row
                    key = "j" if before == 0 else "k"
                    t = time.perf_counter()
                    app.post_message(events.Key(key, key))
                    while table.cursor_row == before:  # noqa: ASYNC110 - polling is the measurement
                        await asyncio.sleep(0.0005)
                    out.append((time.perf_counter() - t) * 1000)
                    await asyncio.sleep(0.05 + (i % 7) * 0.003)
                return out

            idle = await measure(40)
            stop = asyncio.Event()
            producer = asyncio.create_task(produce(stop))
            t0 = time.perf_counter()
            loaded = await measure(int(seconds / 0.06))
            elapsed = time.perf_counter() - t0
            stop.set()
            await producer
            dropped = app.feed.dropped
        await rt.stop()

    def fmt(xs: list[float]) -> str:
        xs = sorted(xs)
        p95 = xs[min(len(xs) - 1, int(0.95 * len(xs)))]
        return f"P50 {statistics.median(xs):6.1f} ms   P95 {p95:6.1f} ms   max {xs[-1]:6.1f} ms   (n={len(xs)})"

    print(f"key press -> cursor moved, console headless at 120x36 ({len(ids)} live rows):")
    print(f"  idle:                       {fmt(idle)}")
    print(f"  {published / elapsed:,.0f} span events/s: {fmt(loaded)}")
    print(f"  events dropped by the console's bounded buffer: {dropped}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer rounds")
    p.add_argument("--rate", type=int, default=2000, help="span events per second (default 2000)")
    args = p.parse_args()
    first_paint(3 if args.quick else 7)
    asyncio.run(key_latency(5.0 if args.quick else 15.0, args.rate))


if __name__ == "__main__":
    main()
