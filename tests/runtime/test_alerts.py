"""Alert rules fired and resolved by traffic the simulator produces (an error burst, a latency
change, a cost spike over seeded history, a runaway task), delivered to a webhook receiver
running in the test, signed; silences, acknowledgements, and alerts from rollouts' events."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import BaseModel
from runtime_support import start
from structlog.testing import capture_logs

from agentops.runtime import Context, Registry, agent, tool
from agentops.runtime.errors import ToolError
from agentops.store import LedgerRecord, LLMCallRecord

SECRET = "alert-signing-secret-0123456789"
GO = {"on": True}


class Note(BaseModel):
    text: str


@dataclass
class Receiver:
    """A webhook receiver: the requests it got (headers and JSON bodies)."""

    url: str
    got: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def payloads(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.got]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    got: list[tuple[dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            got.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Receiver(f"http://127.0.0.1:{server.server_address[1]}/hook", got)
    server.shutdown()


def registry() -> Registry:
    reg = Registry()

    @tool(registry=reg)
    async def flaky(args: Note) -> dict[str, str]:
        """Fails while the test says so."""
        if GO["on"]:
            raise ToolError(f"backend down for {args.text}")
        return {"ok": args.text}

    @agent(registry=reg, tools=["flaky"])
    async def caller(ctx: Context, note: Note) -> dict[str, Any]:
        try:
            return await ctx.tool("flaky", text=note.text)
        except ToolError as exc:
            return {"error": str(exc)}

    @agent(registry=reg, max_steps=60)
    async def chatty(ctx: Context, note: Note) -> dict[str, Any]:
        for i in range(60 if note.text == "runaway" else 1):
            await ctx.llm(f"{note.text} {i}: " + "tell me more " * 40, name=f"turn {i}")
            if note.text == "runaway" and not GO["on"]:
                break
            await asyncio.sleep(0.01)
        return {}

    return reg


def alerting(make_settings: Any, receiver: Receiver, **alerts: Any) -> Any:
    return make_settings(
        runtime={"agent_modules": []},
        routes={"default": {"chain": ["primary"]}},
        alerts={"evaluate_every_s": 3600, "for_s": 0, "webhook": {"url": receiver.url, "secret_env": "HOOK_SECRET"}}
        | alerts,
    )


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    GO["on"] = True


async def test_a_burst_of_tool_errors_fires_per_agent_and_overall_then_resolves(make_settings, receiver):
    s = alerting(make_settings, receiver, tool_error_window_s=1.5, tool_error_min_calls=5, for_s=0.2)
    rt = await start(s, registry())
    engine = rt.alerts
    assert engine is not None
    try:
        for i in range(6):
            await rt.run("caller", {"text": f"call {i}"})
        assert await engine.evaluate() == []  # pending: the condition must hold for for_s
        assert set(engine.pending) == {("tool_error_rate", "overall"), ("tool_error_rate", "agent=caller")}
        await asyncio.sleep(0.25)
        fired = await engine.evaluate()
        assert {a.key for a in fired} == {"overall", "agent=caller"}
        assert engine.pending == {}  # firing, so no longer pending (one series per alert on /metrics)
        overall = next(a for a in fired if a.key == "overall")
        assert overall.figures["errors"] == overall.figures["calls"] == 6 and overall.figures["rate"] == 1.0
        assert "6 of 6 (100%)" in overall.summary
        assert await engine.evaluate() == []  # written once per firing
        assert len(await engine.alerts.firing()) == 2
        await asyncio.sleep(1.6)  # the burst leaves the window
        await engine.evaluate()
        assert await engine.alerts.firing() == []
        history = await engine.alerts.history()
        assert {a.status for a in history} == {"resolved"} and len(history) == 2
        await engine.drain()
        events = [(p["event"], p["alert"]["key"]) for p in receiver.payloads()]
        assert sorted(events) == sorted(
            [("firing", "overall"), ("firing", "agent=caller"), ("resolved", "overall"), ("resolved", "agent=caller")]
        )
        headers, body = receiver.got[0]
        stamp = headers["X-Agentops-Timestamp"]
        assert abs(int(stamp) - time.time()) < 60
        expected = "sha256=" + hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        assert headers["X-Agentops-Signature"] == expected
    finally:
        await rt.stop()


async def test_one_failure_in_two_calls_does_not_page(make_settings, receiver):
    rt = await start(alerting(make_settings, receiver, tool_error_min_calls=20), registry())
    try:
        await rt.run("caller", {"text": "a"})
        GO["on"] = False
        await rt.run("caller", {"text": "b"})
        assert await rt.alerts.evaluate() == [] and rt.alerts.pending == {}
    finally:
        await rt.stop()


async def test_p95_latency_past_twice_its_baseline_fires_and_resolves(make_settings, receiver):
    s = alerting(make_settings, receiver, latency_window_s=1.0, latency_min_calls=5, latency_baseline_s=600)
    rt = await start(s, registry())
    engine = rt.alerts
    try:
        for i in range(30):  # the baseline: quick answers (the first, cold, is past its P95)
            await rt.run("chatty", {"text": f"fast {i}"})
        await asyncio.sleep(1.1)
        rt.simulator.set_behaviour(
            "gpt-4o-mini",
            rt.simulator.config.behaviour("gpt-4o-mini").model_copy(update={"latency_ms": 60, "latency_sigma": 0}),
        )
        for i in range(6):
            await rt.run("chatty", {"text": f"slow {i}"})
        (fired,) = await engine.evaluate()
        assert fired.rule == "latency_p95" and fired.key == "deployment=primary"
        assert fired.figures["baseline"] == "history" and fired.figures["p95_ms"] > 2 * fired.figures["baseline_ms"]
        await asyncio.sleep(1.1)  # quiet: no calls in the window, nothing to judge
        await engine.evaluate()
        assert await engine.alerts.firing() == []
    finally:
        await rt.stop()


async def test_with_too_little_history_the_configured_baseline_serves(make_settings, receiver):
    s = alerting(make_settings, receiver, latency_min_calls=3, latency_baseline_ms=1.0)
    rt = await start(s, registry())
    try:
        rt.simulator.set_behaviour(
            "gpt-4o-mini",
            rt.simulator.config.behaviour("gpt-4o-mini").model_copy(update={"latency_ms": 20, "latency_sigma": 0}),
        )
        for i in range(3):
            await rt.run("chatty", {"text": f"first {i}"})
        (fired,) = await rt.alerts.evaluate()
        assert fired.figures["baseline"] == "configured" and fired.figures["baseline_ms"] == 1.0
    finally:
        await rt.stop()


async def test_a_cost_spike_over_seeded_history_fires_and_the_next_day_resolves(make_settings, receiver):
    rt = await start(alerting(make_settings, receiver), registry())
    engine = rt.alerts
    now = time.time()
    try:
        for day in (1, 2):  # two days since the install
            await seed_spend(rt, now - day * 86400, 1.0, f"h{day}")
        await seed_spend(rt, now - 60, 1.2, "today-1")
        assert await engine.evaluate() == []  # $1.20 is under 1.5x the $1 average
        await seed_spend(rt, now - 30, 0.5, "today-2")
        assert await engine.evaluate() == []  # $1.70 is over, but two days are too little history
        for day in range(3, 8):  # a week of $1 a day
            await seed_spend(rt, now - day * 86400, 1.0, f"h{day}")
        (fired,) = await engine.evaluate()
        assert fired.rule == "daily_cost" and fired.figures["today_usd"] == pytest.approx(1.7)
        assert fired.figures["average_usd"] == pytest.approx(1.0)
        engine.clock = lambda: now + 86400  # tomorrow: nothing spent yet
        await engine.evaluate()
        assert await engine.alerts.firing() == []
    finally:
        await rt.stop()


async def seed_spend(rt: Any, at: float, usd: float, span_id: str) -> None:
    call = LLMCallRecord(span_id, "t" * 32, None, "default", "openai/gpt-4o-mini", "primary", "ok", 1, 0, 0, 5.0,
                         10, 10, 0, usd, at)  # fmt: skip
    ledger = LedgerRecord(span_id, "openai/gpt-4o-mini", "primary", 10, 10, 0, usd, True, at)
    await rt.store.record_llm_call(call, ledger)


async def test_a_runaway_task_fires_at_once_and_resolves_when_it_ends(make_settings, receiver):
    rt = await start(alerting(make_settings, receiver, task_tokens_min_tasks=5), registry(), workers=True)
    engine = rt.alerts
    try:
        for i in range(5):  # the agent's usual tasks: one call each
            await rt.run("chatty", {"text": f"usual {i}"})
        task, _ = await rt.submit("chatty", {"text": "runaway"})
        for _ in range(400):
            await asyncio.sleep(0.02)
            fired = await engine.evaluate()
            if fired:
                break
        (alert,) = fired
        assert alert.rule == "task_tokens" and alert.key == f"task={task.id}"
        assert alert.figures["tokens"] > 3 * alert.figures["mean"]
        GO["on"] = False  # the task stops
        for _ in range(400):
            await asyncio.sleep(0.02)
            await engine.evaluate()
            if not await engine.alerts.firing():
                break
        assert await engine.alerts.firing() == []
    finally:
        await rt.stop()


async def test_a_runaway_alert_left_by_a_process_that_died_resolves_once_its_task_is_over(make_settings, receiver):
    rt = await start(alerting(make_settings, receiver, task_tokens_min_tasks=5), registry())
    engine = rt.alerts
    try:
        GO["on"] = False
        task = await rt.run("chatty", {"text": "runaway"})  # finished; its alert was another process's
        await engine.alerts.fire("task_tokens", f"task={task.id}", "warning", "runaway", {"tokens": 9}, 0)
        await engine.evaluate()
        assert await engine.alerts.firing() == []
        (resolved,) = await engine.alerts.history()
        assert resolved.status == "resolved" and resolved.key == f"task={task.id}"
    finally:
        await rt.stop()


async def test_a_webhook_url_may_come_from_the_environment_and_logs_show_only_its_host(make_settings, monkeypatch):
    from agentops.runtime import ConfigError, Runtime

    monkeypatch.setenv("HOOK_URL", "http://127.0.0.1:9/services/T000/B000/very-secret-path")
    s = make_settings(alerts={"webhook": {"url_env": "HOOK_URL", "retries": 0, "timeout_s": 0.5}})
    rt = await start(s, registry())
    try:
        (hook,) = rt.alerts.notifiers
        with capture_logs() as logs:
            assert await hook.deliver({"event": "firing"}) is False
        assert logs and "very-secret-path" not in repr(logs) and "http://127.0.0.1:9/..." in repr(logs)
    finally:
        await rt.stop()
    monkeypatch.delenv("HOOK_URL")
    with pytest.raises(ConfigError, match=r"alerts\.webhook\.url_env names HOOK_URL, which is not set"):
        await Runtime(s).start()
    with pytest.raises(ValueError, match="give url or url_env"):
        make_settings(alerts={"webhook": {"secret_env": "HOOK_SECRET"}})


async def test_a_silenced_key_is_recorded_but_not_delivered_and_an_ack_is_audited(make_settings, receiver):
    rt = await start(alerting(make_settings, receiver, tool_error_min_calls=2), registry())
    engine = rt.alerts
    try:
        await engine.alerts.silence("tool_error_rate", "overall", until=time.time() + 60, actor="ana", via="test")
        for i in range(2):
            await rt.run("caller", {"text": f"call {i}"})
        fired = await engine.evaluate()
        await engine.drain()
        assert {a.key for a in fired} == {"overall", "agent=caller"}
        assert engine.pending == {}  # firing, so no longer pending (one series per alert on /metrics)
        assert [p["alert"]["key"] for p in receiver.payloads()] == ["agent=caller"]  # overall is silenced
        overall = next(a for a in await engine.alerts.firing() if a.key == "overall")
        assert overall.silenced_until is not None
        acked = await engine.acknowledge(overall.id, actor="ana", via="test")
        assert acked is not None and acked.acked_by == "ana" and acked.status == "firing"  # a condition's alert stays
        audit = await rt.tasks.escalations.audit_log()
        assert [(a.action, a.actor) for a in audit][:2] == [("alert.ack", "ana"), ("alert.silence", "ana")]
    finally:
        await rt.stop()


async def test_a_canary_rollback_becomes_an_alert_that_an_ack_resolves(make_settings, receiver):
    rt = await start(alerting(make_settings, receiver), registry())
    engine = rt.alerts
    try:
        rt.bus.publish(
            "prompt.changed", prompt="greet", change="canary.rolled_back", version=2, reason="error rate 40%"
        )
        (fired,) = await engine.evaluate()
        assert fired.rule == "canary_rollback" and "error rate 40%" in fired.summary
        assert fired.key == "prompt=greet@v2"
        rt.bus.publish("prompt.changed", prompt="greet", change="canary.rolled_back", version=3, reason="latency")
        (again,) = await engine.evaluate()  # the next version's rollback is not hidden by the first
        assert again.key == "prompt=greet@v3"
        await engine.acknowledge(fired.id, actor="ana", via="test")
        assert [a.key for a in await engine.alerts.firing()] == ["prompt=greet@v3"]
        await engine.drain()
        assert [p["event"] for p in receiver.payloads()] == ["firing", "firing", "resolved"]
    finally:
        await rt.stop()


async def test_a_webhook_that_fails_is_retried_then_counted_never_raised(make_settings):
    s = make_settings(
        runtime={"agent_modules": []},
        alerts={"for_s": 0, "tool_error_min_calls": 1, "webhook": {"url": "http://127.0.0.1:9/none", "retries": 1}},
    )
    rt = await start(s, registry())
    try:
        await rt.run("caller", {"text": "x"})
        assert len(await rt.alerts.evaluate()) == 2
        await rt.alerts.drain()
        assert rt.alerts.deliveries_failed == 2
    finally:
        await rt.stop()


async def test_a_webhook_secret_variable_that_is_not_set_fails_at_start(make_settings, monkeypatch):
    from agentops.runtime import ConfigError, Runtime

    monkeypatch.delenv("HOOK_SECRET")
    s = make_settings(alerts={"webhook": {"url": "http://127.0.0.1:9/x", "secret_env": "HOOK_SECRET"}})
    with pytest.raises(ConfigError, match=r"alerts\.webhook\.secret_env names HOOK_SECRET, which is not set"):
        await Runtime(s).start()


async def test_a_process_with_workers_evaluates_by_itself_and_one_without_does_not(make_settings, receiver):
    s = alerting(make_settings, receiver, evaluate_every_s=0.05, tool_error_min_calls=1)
    working = await start(s, registry(), workers=True)
    try:
        await working.run("caller", {"text": "x"})
        for _ in range(200):
            if await working.alerts.alerts.firing():
                break
            await asyncio.sleep(0.02)
        assert {a.key for a in await working.alerts.alerts.firing()} == {"overall", "agent=caller"}
    finally:
        await working.stop()
    quiet = await start(s, registry())  # `agentops run`: no workers, no evaluation
    try:
        await asyncio.sleep(0.2)
        assert quiet.alerts.evaluations == 0
    finally:
        await quiet.stop()
