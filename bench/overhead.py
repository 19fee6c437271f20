"""Call-path overhead: what each layer between the caller and the provider costs.

One run measures, against one simulator (latency 0 by default, so only overhead is
timed), the same N calls at concurrency 1 and at concurrency 32 through:

- ``a  httpx``   raw ``httpx.AsyncClient.post`` to ``/v1/chat/completions``;
- ``b  litellm`` bare ``litellm.acompletion`` with litellm's default settings;
- ``c  router``  ``litellm.Router``: two deployments, ``num_retries=5``, a fallback;
- ``b' tuned``   ``agentops.runtime.calls.provider.complete``: the very litellm call agentops
  makes, with agentops' litellm settings, and none of agentops' own layers
  (for information: it separates what the settings save from what the layers cost);
- ``d  agentops`` ``LLMClient.call`` of a started :class:`~agentops.runtime.Runtime`:
  route, circuit breaker, retry policy, litellm, pricing, spans (group-committed
  to SQLite) and the ``llm_calls`` + ledger rows (a durable commit per call);
- ``do agentops`` the same with ``[otlp]`` export on: every span also converted and handed to
  the OpenTelemetry SDK's batch processor, which posts OTLP/HTTP protobuf from its own thread
  to a receiver in the simulator's process (export on vs off: do against d).

Fairness: the simulator runs in a process of its own, so its CPU is not charged to
the client. Each path runs in a fresh worker process of its own, so litellm's global
settings (agentops changes some) cannot leak from one path into another, and every
path starts from the same import state. Workers are started and warmed up (the
warm-up is not measured) before any measurement; then only one worker runs at a
time, in rounds whose order rotates, so that drift on a shared machine is spread
over all paths. Latency is ``time.perf_counter`` around each call; calls/s is
calls / wall time of the batch; CPU is the worker's process time (all its threads)
per call.

Usage (from the repository root)::

    uv run python bench/overhead.py                # full run, about 2-3 minutes on 2 cores
    uv run python bench/overhead.py --quick        # smoke run, seconds
    uv run python bench/overhead.py --calls 2000 --rounds 4 --latency-ms 0
    uv run python bench/overhead.py --profile b    # where litellm's per-call time goes (cProfile)

Targets (from the issue): at concurrency 1, agentops' P50 is at most 1.05 x bare
litellm's (d/b); at concurrency 32, agentops' calls/s is at least 2 x the Router's (d/c).
Results and their reading are in docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import os
import platform
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

# Before litellm is imported anywhere: use its bundled price map, never the network.
# This is the same for every path (agentops sets it too).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

PATHS: dict[str, str] = {
    "a": "httpx: raw AsyncClient.post",
    "b": "litellm.acompletion, defaults",
    "c": "litellm Router, retries+fallback",
    "bt": "litellm.acompletion, agentops settings",
    "d": "agentops LLMClient.call",
    "do": "agentops LLMClient.call, OTLP export on",
    "dn": "agentops LLMClient.call, guards off",
}
"""Path id -> what it measures, in table order."""

MODEL = "gpt-4o-mini"
FALLBACK_MODEL = "gpt-4.1-mini"
MESSAGES = [
    {"role": "system", "content": "You are a support assistant. Answer in one short paragraph."},
    {"role": "user", "content": "My parcel 4711 was due on Monday and has not arrived. What can I do?"},
]
WARMUP_CALLS = 50
CONCURRENCIES = (1, 32)
TARGET_P50_RATIO = 1.05
TARGET_THROUGHPUT_RATIO = 2.0

Call = Callable[[], Awaitable[Any]]


@dataclass(frozen=True)
class Options:
    """Settings handed to every worker."""

    deadline_s: float = 60.0
    profiling: bool = False
    otlp_url: str = ""
    """The bench's OTLP receiver (path ``do``)."""


# -- the simulator process ---------------------------------------------------------------


def _serve_otlp() -> str:
    """An OTLP/HTTP receiver that accepts every export (in a thread); its traces URL."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Accept(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Accept)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/v1/traces"


def _serve_simulator(conn: Connection, latency_ms: float) -> None:
    from agentops.runtime.simulator import ModelBehaviour, SimConfig, serve_forever

    config = SimConfig(seed=1, default=ModelBehaviour(latency_ms=latency_ms, latency_sigma=0.0))
    otlp_url = _serve_otlp()
    asyncio.run(serve_forever(config, on_ready=lambda base: conn.send((base, otlp_url))))


class SimulatorProcess:
    """The simulator, serving from a process of its own."""

    def __init__(self, latency_ms: float) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve_simulator, args=(child, latency_ms), name="bench-sim", daemon=True)
        self._process.start()
        if not self._conn.poll(60):
            self.stop()
            raise RuntimeError("the simulator process did not start within 60 s")
        self.base_url, self.otlp_url = self._conn.recv()

    def stop(self) -> None:
        """Terminate the process (it holds no state worth keeping)."""
        if self._process.is_alive():
            self._process.terminate()
        self._process.join(10)


# -- the paths -------------------------------------------------------------------------------


@dataclass
class PathSetup:
    """A path's call, and how to tear it down and describe what it wrote."""

    call: Call
    close: Callable[[], Awaitable[None]] | None = None
    report: Callable[[], str] | None = None
    info: dict[str, str] = field(default_factory=dict)


async def _setup_httpx(base: str, opts: Options) -> PathSetup:
    import httpx

    client = httpx.AsyncClient(
        base_url=base + "/v1",
        headers={"authorization": "Bearer sim"},
        timeout=30.0,
        limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
    )
    body = {"model": MODEL, "messages": MESSAGES}

    async def call() -> Any:
        resp = await client.post("/chat/completions", json=body)
        resp.raise_for_status()
        data = resp.json()
        return data["choices"][0]["message"]["content"], data["usage"]

    return PathSetup(call, client.aclose, info={"httpx": httpx.__version__})


async def _setup_litellm(base: str, opts: Options) -> PathSetup:
    import litellm

    async def call() -> Any:
        resp = await litellm.acompletion(
            model="openai/" + MODEL, messages=MESSAGES, api_base=base + "/v1", api_key="sim"
        )
        return resp.choices[0].message.content, resp.usage

    return PathSetup(call)


async def _setup_router(base: str, opts: Options) -> PathSetup:
    from litellm.router import Router

    def deployment(name: str, model: str) -> dict[str, Any]:
        return {
            "model_name": name,
            "litellm_params": {"model": "openai/" + model, "api_base": base + "/v1", "api_key": "sim"},
        }

    router = Router(
        model_list=[deployment("primary", MODEL), deployment("fallback", FALLBACK_MODEL)],
        num_retries=5,
        fallbacks=[{"primary": ["fallback"]}],
    )

    async def call() -> Any:
        resp = await router.acompletion(model="primary", messages=MESSAGES)
        return resp.choices[0].message.content, resp.usage

    return PathSetup(call)


async def _setup_tuned(base: str, opts: Options) -> PathSetup:
    from agentops.runtime.calls.provider import Deployment, complete, load_litellm_async

    await load_litellm_async()
    dep = Deployment("primary", "openai/" + MODEL, base + "/v1", "sim", 30.0)

    async def call() -> Any:
        reply = await complete(dep, MESSAGES, timeout=30.0)
        return reply.text, reply.usage

    return PathSetup(call)


GUARDS_OFF = {"injection": "off", "output_pii": "off", "output_echo": "off", "behaviour": "off"}
"""Path ``dn``: every guard off (``d`` runs the shipped defaults: the output filter on each reply)."""


async def _setup_agentops(base: str, opts: Options, *, otlp: bool = False, guards: bool = True) -> PathSetup:
    from agentops.runtime import CallScope, Runtime, Settings
    from agentops.runtime.tracing import new_trace_id

    tmp = tempfile.TemporaryDirectory(prefix="agentops-bench-")
    db = Path(tmp.name) / "agentops.db"
    settings = Settings(
        store={"path": str(db)},  # the shipped defaults: WAL, synchronous=NORMAL, 50 ms span flush
        retry={"max_retries": 5, "deadline_s": opts.deadline_s},
        deployments={
            "primary": {"model": "openai/" + MODEL, "api_base": base + "/v1"},
            "fallback": {"model": "openai/" + FALLBACK_MODEL, "api_base": base + "/v1"},
        },
        routes={"default": {"chain": ["primary", "fallback"]}},
        simulator={"enabled": False},
        otlp={"enabled": otlp, "endpoint": opts.otlp_url},  # the shipped batching: 512 spans or 1 s
        guards={} if guards else GUARDS_OFF,
    )
    rt = Runtime(settings)
    await rt.start()
    client = await rt.wait_ready()
    info: dict[str, str] = {}
    if opts.profiling:
        info["durable commit wait"] = _time_commits(rt.store)

    async def call() -> Any:
        resp = await client.call(MESSAGES, route="default", scope=CallScope(new_trace_id(), agent="bench"))
        return resp.text, resp.usage

    async def close() -> None:
        await rt.stop()

    def report() -> str:
        import sqlite3

        with sqlite3.connect(db) as conn:
            tables = ("llm_calls", "ledger", "spans")
            counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
        tmp.cleanup()
        wrote = ", ".join(f"{n} {t} rows" for t, n in counts.items())
        if rt.exporter is not None:
            wrote += f"; exported {rt.exporter.sent} spans, {rt.exporter.failed} failed, {rt.exporter.dropped} dropped"
        return wrote

    return PathSetup(call, close, report, info)


async def _setup_exporting(base: str, opts: Options) -> PathSetup:
    return await _setup_agentops(base, opts, otlp=True)


async def _setup_unguarded(base: str, opts: Options) -> PathSetup:
    return await _setup_agentops(base, opts, guards=False)


def _time_commits(store: Any) -> str:
    """Time each durable write of ``store`` (profile only); returns the key of the timings."""
    writer = store.writer
    write = writer.write
    waits: list[float] = []

    async def timed(*statements: Any) -> None:
        start = time.perf_counter()
        await write(*statements)
        waits.append(time.perf_counter() - start)

    writer.write = timed
    _COMMIT_WAITS.append(waits)
    return str(len(_COMMIT_WAITS) - 1)


_COMMIT_WAITS: list[list[float]] = []


SETUPS: dict[str, Callable[[str, Options], Awaitable[PathSetup]]] = {
    "a": _setup_httpx,
    "b": _setup_litellm,
    "c": _setup_router,
    "bt": _setup_tuned,
    "d": _setup_agentops,
    "do": _setup_exporting,
    "dn": _setup_unguarded,
}


# -- measuring ------------------------------------------------------------------------------


@dataclass
class Batch:
    """What one batch of calls measured."""

    latencies: list[float]
    wall: float
    cpu: float
    errors: int
    first_error: str = ""


async def run_batch(call: Call, calls: int, concurrency: int) -> Batch:
    """Make ``calls`` calls from ``concurrency`` closed-loop lanes; time each one."""
    latencies: list[float] = []
    errors: list[str] = []
    todo = iter(range(calls))

    async def lane() -> None:
        for _ in todo:
            start = time.perf_counter()
            try:
                await call()
            except Exception as exc:  # noqa: BLE001 - counted and reported, the run is then invalid
                errors.append(f"{type(exc).__name__}: {exc}"[:300])
                continue
            latencies.append(time.perf_counter() - start)

    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return Batch(latencies, wall, cpu, len(errors), errors[0] if errors else "")


def _worker_main(path: str, base: str, opts: Options, conn: Connection) -> None:
    asyncio.run(_worker(path, base, opts, conn))


async def _worker(path: str, base: str, opts: Options, conn: Connection) -> None:
    try:
        setup = await SETUPS[path](base, opts)
        await run_batch(setup.call, WARMUP_CALLS, 1)
        await run_batch(setup.call, 2 * max(CONCURRENCIES), max(CONCURRENCIES))
    except Exception as exc:  # noqa: BLE001 - sent to the parent, which stops the run
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", setup.info))
    while True:
        msg = await asyncio.to_thread(conn.recv)
        if msg[0] == "run":
            conn.send(await run_batch(setup.call, msg[1], msg[2]))
        else:
            if setup.close is not None:
                await setup.close()
            conn.send(setup.report() if setup.report is not None else "")
            return


class Worker:
    """One path, served by a fresh process of its own."""

    def __init__(self, path: str, base: str, opts: Options) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.path = path
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(
            target=_worker_main, args=(path, base, opts, child), name=f"bench-{path}", daemon=True
        )
        self._process.start()

    def wait_ready(self) -> None:
        kind, payload = self._conn.recv()
        if kind != "ready":
            raise RuntimeError(f"path {self.path} failed to start: {payload}")

    def run(self, calls: int, concurrency: int) -> Batch:
        self._conn.send(("run", calls, concurrency))
        batch: Batch = self._conn.recv()
        if batch.errors:
            raise RuntimeError(f"path {self.path}: {batch.errors} of {calls} calls failed, e.g. {batch.first_error}")
        return batch

    def stop(self) -> str:
        self._conn.send(("stop",))
        report: str = self._conn.recv()
        self._process.join(30)
        return report

    def kill(self) -> None:
        if self._process.is_alive():
            self._process.terminate()
        self._process.join(10)


@dataclass
class Cell:
    """All batches of one path at one concurrency."""

    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0
    cpu: float = 0.0

    def add(self, batch: Batch) -> None:
        self.latencies.extend(batch.latencies)
        self.wall += batch.wall
        self.cpu += batch.cpu

    def pct(self, q: float) -> float:
        """The q-quantile latency in ms (nearest rank)."""
        xs = sorted(self.latencies)
        return xs[max(0, math.ceil(q * len(xs)) - 1)] * 1000.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall

    @property
    def cpu_ms(self) -> float:
        return self.cpu / len(self.latencies) * 1000.0


def measure(
    paths: list[str], base: str, opts: Options, calls: int, rounds: int
) -> tuple[dict[tuple[str, int], Cell], dict[str, str]]:
    """Start a worker per path, then run ``rounds`` rounds of every path at every concurrency."""
    workers = {p: Worker(p, base, opts) for p in paths}
    cells = {(p, c): Cell() for p in paths for c in CONCURRENCIES}
    reports: dict[str, str] = {}
    try:
        for w in workers.values():
            w.wait_ready()
        per_round = [calls // rounds + (1 if r < calls % rounds else 0) for r in range(rounds)]
        for r, n in enumerate(per_round):
            order = paths[r % len(paths) :] + paths[: r % len(paths)]
            for c in CONCURRENCIES:
                for p in order:
                    cells[p, c].add(workers[p].run(n, c))
            print(f"  round {r + 1}/{rounds} done", file=sys.stderr, flush=True)
        for p, w in workers.items():
            reports[p] = w.stop()
    finally:
        for w in workers.values():
            w.kill()
    return cells, reports


# -- reporting ------------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(
    cells: dict[tuple[str, int], Cell], paths: list[str], reports: dict[str, str], args: argparse.Namespace
) -> None:
    """Print the table, the two ratios and their verdicts."""
    import litellm  # only for its version; imported after the workers are done

    version = getattr(litellm, "__version__", None) or _dist_version("litellm")
    print(
        f"\nCall-path overhead: {args.calls} calls per cell in {args.rounds} round(s), simulator latency "
        f"{args.latency_ms:g} ms, litellm {version}, Python {platform.python_version()}, {os.cpu_count()} CPUs"
    )
    head = f"{'path':44s}"
    for c in CONCURRENCIES:
        head += f" | c={c:<2d} {'P50':>6s} {'P95':>6s} {'P99':>6s} {'calls/s':>7s} {'CPU/call':>8s}"
    print(head)
    print("-" * len(head))
    for p in paths:
        line = f"{p + '  ' + PATHS[p]:44s}"
        for c in CONCURRENCIES:
            cell = cells[p, c]
            line += (
                f" |      {cell.pct(0.50):6.2f} {cell.pct(0.95):6.2f} {cell.pct(0.99):6.2f}"
                f" {cell.rate:7.1f} {cell.cpu_ms:8.2f}"
            )
        print(line)
    print("(latencies and CPU/call in ms; CPU is the client process's time, all threads)")
    for p, text in reports.items():
        if text:
            print(f"{p}: wrote {text}")
    if "d" in paths and "b" in paths:
        ratio = cells["d", 1].pct(0.5) / cells["b", 1].pct(0.5)
        print(
            f"d/b  P50 at c=1:      {ratio:5.2f}  (target <= {TARGET_P50_RATIO:.2f})  "
            f"{_verdict(ratio <= TARGET_P50_RATIO)}"
        )
        print(f"d/b  calls/s at c=32: {cells['d', 32].rate / cells['b', 32].rate:5.2f}  (for information)")
    if "d" in paths and "c" in paths:
        ratio = cells["d", 32].rate / cells["c", 32].rate
        print(
            f"d/c  calls/s at c=32: {ratio:5.2f}  (target >= {TARGET_THROUGHPUT_RATIO:.2f})  "
            f"{_verdict(ratio >= TARGET_THROUGHPUT_RATIO)}"
        )
        print(f"d/c  P50 at c=1:      {cells['d', 1].pct(0.5) / cells['c', 1].pct(0.5):5.2f}  (for information)")
    if "d" in paths and "bt" in paths:
        extra = cells["d", 1].pct(0.5) - cells["bt", 1].pct(0.5)
        print(f"d-b' P50 at c=1:      {extra:+5.2f} ms  (agentops' own layers on top of its litellm call)")
    if "d" in paths and "do" in paths:
        print(f"do/d P50 at c=1:      {cells['do', 1].pct(0.5) / cells['d', 1].pct(0.5):5.2f}  (OTLP export on vs off)")
        print(f"do/d calls/s at c=32: {cells['do', 32].rate / cells['d', 32].rate:5.2f}")
        extra = cells["do", 32].cpu_ms - cells["d", 32].cpu_ms
        print(f"do-d CPU/call c=32:   {extra:+5.2f} ms  (converting and exporting the call's spans)")


def _dist_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


# -- profiling ------------------------------------------------------------------------------

PHASES: list[tuple[str, str, str]] = [
    ("litellm @client wrapper (whole acompletion)", "litellm/utils.py", "wrapper_async"),
    ("  Logging object setup (function_setup)", "litellm/utils.py", "function_setup"),
    ("  request building: sync completion() [thread]", "litellm/main.py", "completion"),
    ("  HTTP via openai SDK (incl. the wait)", "litellm/llms/openai/openai.py", "make_openai_chat_completion_request"),
    ("  response -> ModelResponse", "convert_dict_to_response.py", "convert_to_model_response_object"),
    ("  cost: Logging.response_cost_calculator", "litellm_core_utils/litellm_logging.py", "response_cost_calculator"),
    ("  success logging: async_success_handler", "litellm_core_utils/litellm_logging.py", "async_success_handler"),
    ("agentops LLMClient.call (CPU; waits are not counted)", "runtime/llm.py", "call"),
]


def profile(path: str, base: str, opts: Options, calls: int) -> None:
    """Profile ``calls`` calls of one path at concurrency 1 and print where the time goes.

    cProfile sees one thread only, and litellm runs its sync ``completion()`` in the
    loop's default thread pool: for the profile that pool runs its work inline, so
    the request-building phase is visible. Times are inflated by the profiler; read
    the shares, not the milliseconds.
    """
    import concurrent.futures
    import cProfile
    import pstats

    class InlineExecutor(concurrent.futures.ThreadPoolExecutor):
        def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
            fut: concurrent.futures.Future[Any] = concurrent.futures.Future()
            try:
                fut.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting caller
                fut.set_exception(exc)
            return fut

    async def main() -> pstats.Stats:
        setup = await SETUPS[path](base, Options(opts.deadline_s, profiling=True, otlp_url=opts.otlp_url))
        await run_batch(setup.call, WARMUP_CALLS, 1)
        if setup.info:  # agentops: how much of a call is the wait for its durable commit
            waits = _COMMIT_WAITS[int(setup.info["durable commit wait"])]
            waits.clear()
            batch = await run_batch(setup.call, calls, 1)
            print(
                f"\nWithout the profiler: call P50 {_median(batch.latencies):.2f} ms, "
                f"of which the wait for the durable commit P50 {_median(waits):.2f} ms"
            )
        asyncio.get_running_loop().set_default_executor(InlineExecutor())
        prof = cProfile.Profile()
        prof.enable()
        await run_batch(setup.call, calls, 1)
        prof.disable()
        if setup.close is not None:
            await setup.close()
        return pstats.Stats(prof)

    stats = asyncio.run(main())
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values())
    print(f"\nProfile of {calls} calls of path {path} ({PATHS[path]}), concurrency 1, cProfile")
    print(f"{'phase':54s} {'ms/call':>8s} {'share':>6s}")
    for label, file_end, func in PHASES:
        cum = sum(v[3] for (f, _, n), v in raw.items() if n == func and f.endswith(file_end))
        if cum:
            print(f"{label:54s} {cum / calls * 1000:8.3f} {cum / total * 100:5.1f}%")
    wrapper = sum(v[3] for (f, _, n), v in raw.items() if n == "wrapper_async" and f.endswith("litellm/utils.py"))
    if wrapper:
        out = total - wrapper
        label = "outside the wrapper (logging task, caller, loop)"
        print(f"{label:54s} {out / calls * 1000:8.3f} {out / total * 100:5.1f}%")
    print(f"{'(everything profiled, incl. the event loop)':54s} {total / calls * 1000:8.3f} 100.0%")
    groups: dict[str, float] = {}
    for (f, _, n), v in raw.items():
        groups[_group(f, n)] = groups.get(_group(f, n), 0.0) + v[2]
    print("\nown time by package / module:")
    for name, t in sorted(groups.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {t / total * 100:5.1f}%  {name}")


def _median(xs: list[float]) -> float:
    """Median of seconds, in ms."""
    return sorted(xs)[len(xs) // 2] * 1000.0 if xs else float("nan")


def _group(filename: str, func: str) -> str:
    if "site-packages/" in filename:
        parts = filename.split("site-packages/", 1)[1].split("/")
        return "/".join(parts[:2]) if parts[0] == "litellm" and len(parts) > 2 else parts[0]
    if filename.startswith("~") or filename.startswith("<"):
        return f"builtin {func}"
    if "/agentops/" in filename or "/work/" in filename:
        return "agentops"
    return "stdlib " + Path(filename).name


# -- main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or a profile) and print the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=1000, help="calls per path and concurrency (default 1000)")
    parser.add_argument("--rounds", type=int, default=4, help="rounds the calls are split into (default 4)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="simulator latency per request (default 0)")
    parser.add_argument("--paths", default="a,b,c,bt,d,do", help="comma-separated subset of a,b,c,bt,d,do")
    parser.add_argument(
        "--deadline-s",
        type=float,
        default=60.0,
        help="agentops retry.deadline_s (default 60, the shipped default; below a deployment's "
        "30 s timeout every attempt's timeout is the rest of the deadline)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 100 calls in 1 round")
    parser.add_argument("--profile", choices=sorted(SETUPS), help="profile one path instead of benchmarking")
    args = parser.parse_args(argv)
    if args.quick:
        args.calls, args.rounds = 100, 1
    paths = [p for p in PATHS if p in args.paths.split(",")]
    args.rounds = max(1, min(args.rounds, args.calls))
    sim = SimulatorProcess(args.latency_ms)
    opts = Options(deadline_s=args.deadline_s, otlp_url=sim.otlp_url)
    try:
        if args.profile:
            profile(args.profile, sim.base_url, opts, args.calls if args.calls != 1000 else 300)
            return 0
        started = time.perf_counter()
        cells, reports = measure(paths, sim.base_url, opts, args.calls, args.rounds)
        report(cells, paths, reports, args)
        print(f"(run took {time.perf_counter() - started:.0f} s)")
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
