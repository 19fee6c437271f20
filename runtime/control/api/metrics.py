"""Prometheus metrics of a serving runtime (``GET /metrics``).

Counters and histograms are fed from the event bus (``llm.call``, ``task.finished`` and
``guard.decision``: one event per finished call or task or guard decision, no message text); gauges
(circuit states, queue depth, escalations waiting, workers) are read fresh at each
scrape. Everything lives in a registry of its own, so two runtimes in one process
(tests) do not share counts.
"""

from __future__ import annotations

import asyncio
import contextlib

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest

from agentops.runtime.engine import Runtime
from agentops.runtime.events import Event, Subscription
from agentops.runtime.logs import get_logger
from agentops.store import AlertStore

__all__ = ["RuntimeMetrics"]

log = get_logger("agentops.metrics")
disable_created_metrics()  # type: ignore[no-untyped-call] # no *_created series: they double the output and dashboards ignore them

CIRCUIT_STATES = ("closed", "open", "half_open")
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class RuntimeMetrics:
    """The runtime's metrics; :meth:`start` begins counting, :meth:`render` produces the text format."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.registry = r = CollectorRegistry(auto_describe=True)
        self.calls = Counter(
            "agentops_llm_calls", "LLM calls by outcome", ["route", "deployment", "model", "status"], registry=r
        )
        self.errors = Counter(
            "agentops_llm_errors", "Failed LLM calls by error type", ["route", "error_type"], registry=r
        )
        self.retries = Counter("agentops_llm_retries", "Retries inside LLM calls", ["route"], registry=r)
        self.fallbacks = Counter("agentops_llm_fallbacks", "Fallbacks to another deployment", ["route"], registry=r)
        self.latency = Histogram(
            "agentops_llm_latency_seconds",
            "LLM call latency, retries and fallbacks included",
            ["route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.tokens = Counter("agentops_llm_tokens", "Tokens by kind", ["deployment", "kind"], registry=r)
        self.cost = Counter("agentops_llm_cost_usd", "Spend in USD", ["deployment", "model"], registry=r)
        self.tasks = Counter("agentops_tasks_finished", "Tasks finished by status", ["agent", "status"], registry=r)
        self.guards = Counter(
            "agentops_guard_decisions", "Guard decisions other than pass", ["guard", "decision", "agent"], registry=r
        )
        self.circuit = Gauge(
            "agentops_circuit_state",
            "1 for the state each deployment's breaker is in",
            ["deployment", "state"],
            registry=r,
        )
        self.queue = Gauge("agentops_queue_depth", "Tasks in the durable queue by status", ["status"], registry=r)
        self.escalations = Gauge("agentops_escalations_waiting", "Escalations waiting for an operator", registry=r)
        self.workers = Gauge("agentops_workers", "Workers in this process", registry=r)
        self.workers_busy = Gauge("agentops_workers_busy", "Workers running a task", registry=r)
        self.ready = Gauge("agentops_ready", "1 once providers are loaded", registry=r)
        self.alerts = Gauge(
            "agentops_alerts",
            "1 for each alert firing, as Prometheus' own ALERTS series (alertname, alertstate) plus its key",
            ["alertname", "alertstate", "key", "severity"],
            registry=r,
        )
        self.exported = Gauge(
            "agentops_otlp_spans",
            "Spans this process handed to OTLP export, by outcome (sent, failed, dropped, unsampled)",
            ["outcome"],
            registry=r,
        )
        self.deliveries_failed = Gauge(
            "agentops_alert_deliveries_failed", "Alert deliveries that failed in this process", registry=r
        )
        self._sub: Subscription | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Subscribe to the bus and count from now on."""
        self._sub = self.runtime.bus.subscribe(100_000, kinds=("llm.call", "task.finished", "guard.decision"))
        self._task = asyncio.get_running_loop().create_task(self._consume(), name="agentops-metrics")

    async def stop(self) -> None:
        """Stop counting."""
        if self._sub is not None:
            self._sub.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _consume(self) -> None:
        assert self._sub is not None
        async for event in self._sub:
            try:
                self.count(event)
            except Exception as exc:  # noqa: BLE001 - one odd event must not stop the counting
                log.warning("metrics could not count an event", kind=event.kind, error=str(exc))

    def count(self, event: Event) -> None:
        """Add one event's figures."""
        d = event.data
        if event.kind == "task.finished":
            self.tasks.labels(d.get("agent") or "", d.get("status") or "").inc()
            return
        if event.kind == "guard.decision":
            self.guards.labels(d.get("guard") or "", d.get("decision") or "", d.get("agent") or "").inc()
            return
        route, dep, model, status = d.get("route") or "", d.get("deployment") or "", d.get("model") or "", d["status"]
        self.calls.labels(route, dep, model, status).inc()
        if status != "ok":
            self.errors.labels(route, d.get("error_type") or "").inc()
        if d.get("retries"):
            self.retries.labels(route).inc(d["retries"])
        if d.get("fallbacks"):
            self.fallbacks.labels(route).inc(d["fallbacks"])
        if not d.get("batch_job"):  # a batch call waited minutes to hours by design
            self.latency.labels(route, status).observe(d.get("latency_ms", 0.0) / 1000.0)
        for kind in ("input", "output", "cached"):
            n = d.get(f"{kind}_tokens") or 0
            if n:
                self.tokens.labels(dep, kind).inc(n)
        if d.get("cost_usd"):
            self.cost.labels(dep, model).inc(d["cost_usd"])

    async def render(self) -> bytes:
        """The Prometheus text format, gauges read now."""
        rt = self.runtime
        for c in rt.circuits():
            for state in CIRCUIT_STATES:
                self.circuit.labels(c.deployment, state).set(1.0 if c.state == state else 0.0)
        if rt.store is not None:
            depth = await rt.tasks.queue.depth()
            for status in ("queued", "running", "waiting"):
                self.queue.labels(status).set(depth.get(status, 0))
            self.escalations.set(await rt.store.count_escalations(status="pending"))
            self.alerts.clear()  # the series of alerts that resolved go away
            for a in await AlertStore(rt.store).firing():
                self.alerts.labels(a.rule, "firing", a.key, a.severity).set(1.0)
        if rt.alerts is not None:
            for (rule, key), (_since, severity) in list(rt.alerts.pending.items()):
                self.alerts.labels(rule, "pending", key, severity).set(1.0)
            self.deliveries_failed.set(rt.alerts.deliveries_failed)
        if rt.exporter is not None:
            x = rt.exporter
            counts = {"sent": x.sent, "failed": x.failed, "dropped": x.dropped, "unsampled": x.skipped}
            for outcome, n in counts.items():
                self.exported.labels(outcome).set(n)
        stats = rt.pool.stats() if rt.pool is not None else None
        self.workers.set(stats.workers if stats else 0)
        self.workers_busy.set(stats.busy if stats else 0)
        self.ready.set(1.0 if rt.ready else 0.0)
        return generate_latest(self.registry)
