"""Fixed sample data for console tests: tasks, spans, calls, ledger and circuit events at fixed times.

Written through the store's own write API, so the console reads it through the real
``LocalControl``; nothing random, so snapshots are stable.
"""

from __future__ import annotations

from agentops.runtime import Runtime
from agentops.store import CircuitEventRecord, LedgerRecord, LLMCallRecord, SpanRecord, Store, TaskQueue, TaskRecord

NOW = 1_767_261_600.0  # 2026-01-01 10:00:00 UTC; the console's frozen clock
MONO = 10_000.0  # the breakers' frozen monotonic clock

TASKS = [
    # id, agent, user, status, age_s, steps, in, out, cached, cost, latency_s, error
    ("3f9ac3d4e5f6a7b1", "triage", "u-alice", "succeeded", 50, 3, 420, 96, 128, 0.000214, 2.31, None),
    ("8c21c3d4e5f6a7b2", "drafting", "u-bob", "succeeded", 40, 3, 610, 240, 0, 0.000391, 3.9, None),
    ("b70ec3d4e5f6a7b3", "triage", "u-carol", "failed", 30, 1, 0, 0, 0, 0.0, 6.2, "LLMCallError"),
    ("51d4c3d4e5f6a7b4", "drafting", "u-dave", "succeeded", 20, 3, 580, 212, 64, 0.000357, 3.1, None),
    ("e2a6c3d4e5f6a7b5", "triage", "u-alice", "running", 5, 0, 0, 0, 0, 0.0, 0.0, None),
]
TRACE = "0af7651916cd43dd8448eb211c80319c"


def _span(
    sid: str,
    parent: str | None,
    task: str,
    name: str,
    kind: str,
    status: str,
    t0: float,
    t1: float | None,
    attrs: dict,
    error: str | None = None,
) -> SpanRecord:
    return SpanRecord(sid, TRACE, parent, task, name, kind, status, t0, t1, attrs, error)


def spans_of_first_task() -> list[SpanRecord]:
    """A billing triage that retried on primary, fell back, called a tool and answered."""
    tid, t0 = TASKS[0][0], NOW - 50
    llm_ok = {
        "gen_ai.operation.name": "chat",
        "agentops.route": "default",
        "gen_ai.input.messages": [
            {"role": "system", "content": "You triage customer support tickets. Reply with JSON only."},
            {"role": "user", "content": "I was charged twice [bold red]this month[/] — help!"},
        ],
        "agentops.deployment": "fallback",
        "gen_ai.request.model": "openai/gpt-4.1-mini",
        "gen_ai.usage.input_tokens": 180,
        "gen_ai.usage.output_tokens": 40,
        "gen_ai.usage.cache_read.input_tokens": 128,
        "gen_ai.output.messages": (
            '{"category": "billing", "urgency": "high", "summary": "[link=x]double charge[/link]"}'
        ),
        "agentops.cost_usd": 0.000094,
        "agentops.priced": True,
        "agentops.attempts": 3,
        "agentops.retries": 1,
        "agentops.fallbacks": 1,
        "agentops.deployments_tried": ["primary", "fallback"],
    }
    return [
        _span("s000000000000001", None, tid, "task triage", "task", "ok", t0, t0 + 2.31, {"agentops.agent": "triage"}),
        _span("s000000000000002", "s000000000000001", tid, "classify", "llm", "ok", t0 + 0.01, t0 + 1.5, llm_ok),
        _span(
            "s000000000000003",
            "s000000000000002",
            tid,
            "attempt primary",
            "attempt",
            "error",
            t0 + 0.02,
            t0 + 0.3,
            {
                "agentops.deployment": "primary",
                "gen_ai.request.model": "openai/gpt-4o-mini",
                "http.response.status_code": 503,
            },
            "503: service unavailable",
        ),
        _span(
            "s000000000000004",
            "s000000000000002",
            tid,
            "attempt primary",
            "attempt",
            "error",
            t0 + 0.5,
            t0 + 0.8,
            {
                "agentops.deployment": "primary",
                "gen_ai.request.model": "openai/gpt-4o-mini",
                "http.response.status_code": 503,
            },
            "503: service unavailable",
        ),
        _span(
            "s000000000000005",
            "s000000000000002",
            tid,
            "attempt fallback",
            "attempt",
            "ok",
            t0 + 0.81,
            t0 + 1.5,
            {"agentops.deployment": "fallback", "gen_ai.request.model": "openai/gpt-4.1-mini"},
        ),
        _span(
            "s000000000000006",
            "s000000000000001",
            tid,
            "lookup_invoice",
            "tool",
            "ok",
            t0 + 1.51,
            t0 + 1.52,
            {
                "gen_ai.tool.name": "lookup_invoice",
                "agentops.arguments": {"customer_id": "c-0042"},
                "agentops.result": {"invoice": "INV-00042", "amount_usd": 42.0, "status": "due"},
            },
        ),
        _span(
            "s000000000000007",
            "s000000000000001",
            tid,
            "answer billing",
            "llm",
            "ok",
            t0 + 1.53,
            t0 + 2.3,
            {
                **llm_ok,
                "agentops.deployment": "primary",
                "gen_ai.request.model": "openai/gpt-4o-mini",
                "agentops.attempts": 1,
                "agentops.retries": 0,
                "agentops.fallbacks": 0,
                "agentops.deployments_tried": ["primary"],
                "gen_ai.output.messages": "We refunded the duplicate.",
            },
        ),
    ]


async def write_sample(store: Store) -> None:
    """Write the sample tasks, spans, calls, ledger rows and circuit events."""
    for tid, agent, user, status, age, steps, tin, tout, cached, cost, lat, err in TASKS:
        created = NOW - age
        task = TaskRecord(
            tid,
            agent,
            "running",
            {"text": "sample"},
            TRACE,
            created,
            user,
            f"s-{user}",
            started_at=created,
            lease_owner="sample",
        )
        await store.insert_task(task)
        if status != "running":
            task.status, task.steps, task.input_tokens, task.output_tokens = status, steps, tin, tout
            task.cached_tokens, task.cost_usd, task.finished_at = cached, cost, created + lat
            if agent == "triage":  # the prompt versions the agent ran (the Traces list shows them)
                task.prompts = ["triage.classify@v1"] + (["router.classify@v2"] if steps > 3 else [])
            if err:
                task.error_type, task.error = err, "route 'default' failed on every deployment"
            assert await TaskQueue(store).finish(task, "sample")
    for span in spans_of_first_task():
        store.save_span(span)
    models = [("primary", "openai/gpt-4o-mini"), ("fallback", "openai/gpt-4.1-mini")]
    for i in range(60):
        tid, agent, user = TASKS[i % 4][0], TASKS[i % 4][1], TASKS[i % 4][2]
        dep, model = models[1] if 20 <= i < 30 else models[0]
        at = NOW - 1790 + i * 29.5
        failed = 20 <= i < 24
        fell_back = 1 if 20 <= i < 30 else 0
        call = LLMCallRecord(
            f"c{i:015d}",
            TRACE,
            tid,
            "default",
            None if failed else model,
            dep,
            "error" if failed else "ok",
            3 if failed else 1,
            2 if failed else 0,
            fell_back,
            300.0 + (i * 37) % 900,
            0 if failed else 150,
            0 if failed else 40,
            0 if failed else 64,
            0.0 if failed else 0.00005 + i * 1e-6,
            at,
        )
        ledger = None
        if not failed:
            ledger = LedgerRecord(call.span_id, model, dep, 150, 40, 64, call.cost_usd, True, at, tid, agent, user)
        await store.record_llm_call(call, ledger)
    for at, a, b, reason in [
        (NOW - 600, "closed", "open", "4 consecutive failures (last: 503: service unavailable)"),
        (NOW - 590, "open", "half_open", "cooldown of 10s elapsed"),
        (NOW - 590, "half_open", "open", "probe failed: 503: service unavailable"),
        (NOW - 580, "open", "half_open", "cooldown of 10s elapsed"),
        (NOW - 579, "half_open", "closed", "2 probe(s) succeeded"),
        (NOW - 20, "closed", "open", "4 consecutive failures (last: 503: service unavailable)"),
    ]:
        store.save_circuit_event(CircuitEventRecord("primary", a, b, reason, at))
    await store.writer.flush()


def open_primary(runtime: Runtime) -> None:
    """Trip the primary breaker on a frozen clock, without publishing the transition."""
    for breaker in runtime.breakers.values():
        breaker.clock = lambda: MONO
    b = runtime.breakers["primary"]
    b.listener = None
    for _ in range(b.consecutive_failures):
        b.record_failure("503: service unavailable")
    b.opened_at = MONO - 4.0  # opened four seconds before the frozen now
