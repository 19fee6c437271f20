"""OTLP export of every span, decoded by the official OTLP protobuf messages on a receiver in
the test: the GenAI and OpenInference attributes, the parent links of one trace (sub-tasks
included), content only when asked, failures counted and never raised, the W3C traceparent
on provider requests, and the export of stored spans from the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from runtime_support import start, wait_status

from agentops.runtime.exporters import CONTENT_KEYS, attributes, sampled
from agentops.store import SpanRecord

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Collector:
    """An OTLP/HTTP receiver: the spans it was sent, decoded, by span id."""

    url: str
    spans: dict[str, dict[str, Any]] = field(default_factory=dict)
    resources: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    def wait(self, count: int, timeout: float = 20) -> None:
        for _ in range(int(timeout / 0.05)):
            if len(self.spans) >= count:
                return
            threading.Event().wait(0.05)
        raise AssertionError(f"the collector got {len(self.spans)} spans, not {count}")


def _value(v: Any) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    return getattr(v, kind) if kind else None


@pytest.fixture
def collector() -> Iterator[Collector]:
    got = Collector("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            request = ExportTraceServiceRequest()
            request.ParseFromString(self.rfile.read(int(self.headers["content-length"])))
            got.headers.append(dict(self.headers))
            for rs in request.resource_spans:
                got.resources.append({a.key: _value(a.value) for a in rs.resource.attributes})
                for ss in rs.scope_spans:
                    for sp in ss.spans:
                        got.spans[sp.span_id.hex()] = {
                            "name": sp.name,
                            "trace_id": sp.trace_id.hex(),
                            "parent_id": sp.parent_span_id.hex() or None,
                            "kind": sp.kind,
                            "status": sp.status.code,
                            "attrs": {a.key: _value(a.value) for a in sp.attributes},
                            "start": sp.start_time_unix_nano,
                            "end": sp.end_time_unix_nano,
                        }
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    got.url = f"http://127.0.0.1:{server.server_address[1]}/v1/traces"
    yield got
    server.shutdown()


def otlp(collector: Collector, **extra: Any) -> dict[str, Any]:
    return {"enabled": True, "endpoint": collector.url, "schedule_delay_ms": 50, "project": "agentops-tests"} | extra


async def test_every_span_of_a_task_is_exported_with_the_conventions_names(make_settings, collector, monkeypatch):
    monkeypatch.setenv("OTLP_TOKEN", "Bearer collector-secret")
    s = make_settings(otlp=otlp(collector, headers_env={"authorization": "OTLP_TOKEN"}))
    rt = await start(s, None)
    try:
        task = await rt.run("triage", {"text": "The export button does nothing when I click it."}, user_id="u-1")
        assert task.status == "succeeded", task.error
        stored = await rt.store.spans_for_task(task.id)
        await asyncio.to_thread(rt.exporter.flush)
        collector.wait(len(stored))
    finally:
        await rt.stop()
    assert set(collector.spans) == {sp.span_id for sp in stored}  # every span, our ids
    assert collector.headers[0]["authorization"] == "Bearer collector-secret"
    assert collector.resources[0]["service.name"] == "agentops"
    assert collector.resources[0]["openinference.project.name"] == "agentops-tests"
    by_id = {sp.span_id: sp for sp in stored}
    for span_id, got in collector.spans.items():
        mine = by_id[span_id]
        assert got["trace_id"] == mine.trace_id and got["parent_id"] == mine.parent_id
        assert got["end"] >= got["start"] > 0
    (root,) = [g for g in collector.spans.values() if g["attrs"]["agentops.span.kind"] == "task"]
    assert root["name"] == "invoke_agent triage" and root["attrs"]["openinference.span.kind"] == "AGENT"
    assert root["attrs"]["gen_ai.operation.name"] == "invoke_agent" and root["attrs"]["enduser.id"] == "u-1"
    llm = [g for g in collector.spans.values() if g["attrs"]["agentops.span.kind"] == "llm"]
    assert llm and all(g["attrs"]["openinference.span.kind"] == "LLM" for g in llm)
    first = llm[0]["attrs"]
    assert llm[0]["name"] == f"chat {first['llm.model_name']}" and llm[0]["kind"] == 3  # SPAN_KIND_CLIENT
    assert first["gen_ai.operation.name"] == "chat" and first["gen_ai.request.model"].endswith(first["llm.model_name"])
    assert first["llm.token_count.total"] == first["gen_ai.usage.input_tokens"] + first["gen_ai.usage.output_tokens"]
    assert first["llm.token_count.prompt"] == first["gen_ai.usage.input_tokens"] > 0
    content = {"input.value", "output.value", "gen_ai.input.messages", "gen_ai.output.messages"}
    for got in collector.spans.values():  # content stays home unless include_content
        assert not content & set(got["attrs"])
    attempts = [g for g in collector.spans.values() if g["attrs"]["agentops.span.kind"] == "attempt"]
    assert attempts and all(g["attrs"]["openinference.span.kind"] == "CHAIN" for g in attempts)


async def test_content_is_exported_when_asked_and_a_sub_task_joins_its_parents_trace(make_settings, collector):
    s = make_settings(otlp=otlp(collector, include_content=True), workers={"concurrency": 4, "poll_s": 0.05})
    rt = await start(s, None, workers=True)
    try:
        parent, _ = await rt.submit("briefing", {"topic": "the end of support for API v1"})
        await wait_status(rt, parent.id, "succeeded", timeout=60)
        children = [t for t in await rt.store.list_tasks(limit=50) if t.parent_id == parent.id]
        stored = [sp for t in [parent, *children] for sp in await rt.store.spans_for_task(t.id)]
        await asyncio.to_thread(rt.exporter.flush)
        collector.wait(len(stored))
    finally:
        await rt.stop()
    traces = {g["trace_id"] for g in collector.spans.values()}
    assert traces == {parent.trace_id}  # the parent and its sub-tasks: one trace
    spawns = {sid for sid, g in collector.spans.items() if g["attrs"]["agentops.span.kind"] == "spawn"}
    roots = [g for g in collector.spans.values() if g["name"] == "invoke_agent drafting"]
    assert len(roots) == len(children) and all(g["parent_id"] in spawns for g in roots)
    llm = [g["attrs"] for g in collector.spans.values() if g["attrs"]["agentops.span.kind"] == "llm"]
    assert all("input.value" in a and "output.value" in a for a in llm)
    assert json.loads(llm[0]["input.value"])[0]["role"] in ("system", "user")


async def test_votes_critiques_and_raw_errors_stay_home_without_content(make_settings, collector):
    s = make_settings(otlp=otlp(collector))
    rt = await start(s, None)
    try:
        review = await rt.run("review", {"ticket": "My invoice is wrong.", "reply": "We have corrected it."})
        polish = await rt.run("polishing", {"ticket": "The app logs me out every hour."})
        assert review.status == polish.status == "succeeded", (review.error, polish.error)
        stored = [sp for t in (review, polish) for sp in await rt.store.spans_for_task(t.id)]
        await asyncio.to_thread(rt.exporter.flush)
        collector.wait(len(stored))
    finally:
        await rt.stop()
    kept = {k for sp in stored for k in sp.attributes}
    assert {"agentops.vote.winner", "agentops.vote.counts", "agentops.refine.rounds"} <= kept  # the test means it
    sent = {k for g in collector.spans.values() for k in g["attrs"]}
    assert not sent & CONTENT_KEYS, sent & CONTENT_KEYS


async def test_an_unreachable_collector_is_counted_and_the_tasks_go_on(make_settings):
    s = make_settings(otlp={"enabled": True, "endpoint": "http://127.0.0.1:9/v1/traces", "timeout_s": 0.5})
    rt = await start(s, None)
    try:
        task = await rt.run("drafting", {"topic": "a dark mode"})
        assert task.status == "succeeded", task.error
        await asyncio.to_thread(rt.exporter.flush)
        assert rt.exporter.failed > 0 and rt.exporter.sent == 0
    finally:
        await rt.stop()


async def test_a_missing_header_variable_fails_at_start_naming_it(make_settings, monkeypatch):
    from agentops.runtime import ConfigError, Runtime

    monkeypatch.delenv("OTLP_TOKEN", raising=False)
    s = make_settings(otlp={"enabled": True, "headers_env": {"authorization": "OTLP_TOKEN"}})
    with pytest.raises(ConfigError, match=r"otlp\.headers_env\.authorization names OTLP_TOKEN, which is not set"):
        await Runtime(s).start()


async def test_provider_requests_carry_the_attempts_traceparent(make_settings):
    rt = await start(make_settings(), None)
    try:
        task = await rt.run("drafting", {"topic": "faster search"})
        attempts = [sp for sp in await rt.store.spans_for_task(task.id) if sp.kind == "attempt"]
        sent = rt.simulator.stats.model("gpt-4o-mini").traceparents
        assert sent == [f"00-{a.trace_id}-{a.span_id}-01" for a in attempts]
    finally:
        await rt.stop()


def test_sampling_is_by_trace_and_content_keys_stay_home() -> None:
    ids = [f"{i:032x}" for i in range(0, 2**64, 2**58)]  # spread over the first 64 bits
    assert all(sampled(t, 1.0) for t in ids) and not any(sampled(t, 0.0) for t in ids)
    kept = sum(sampled(f"{i << 64:032x}", 0.25) for i in range(0, 2**64, 2**56)) / 256
    assert kept == pytest.approx(0.25, abs=0.01)
    attrs = {"gen_ai.tool.name": "lookup", "agentops.arguments": {"id": 7}, "agentops.result": [1, 2]}
    span = SpanRecord("a" * 16, "b" * 32, None, "t", "tool lookup", "tool", "ok", 1.0, 2.0, attrs)
    assert "agentops.arguments" not in attributes(span, include_content=False)
    shown = attributes(span, include_content=True)
    assert shown["input.value"] == '{"id": 7}' and shown["agentops.arguments"] == '{"id": 7}'
    assert shown["openinference.span.kind"] == "TOOL" and shown["tool.name"] == "lookup"


async def test_stored_traces_are_exported_from_the_cli(make_settings, collector, tmp_path: Path):
    s = make_settings()
    rt = await start(s, None)
    try:
        task = await rt.run("drafting", {"topic": "maintenance"})
        stored = await rt.store.spans_for_task(task.id)
    finally:
        await rt.stop()
    env = {
        **os.environ,
        "AGENTOPS_CONFIG": str(ROOT / "config.toml"),
        "AGENTOPS_STORE__PATH": str(s.store.path),
        # the configured collector's token (unset here) is not for the URL given on the command line
        "AGENTOPS_OTLP__HEADERS_ENV": '{"authorization": "OTLP_UNSET_TOKEN"}',
    }
    agentops = str(Path(sys.executable).with_name("agentops"))
    run = [agentops, "traces", "export", "--otlp", collector.url, "--since", "1h"]
    out = subprocess.run(run, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert f"exported {len(stored)} spans" in out.stdout
    collector.wait(len(stored))
    assert {sp.span_id for sp in stored} <= set(collector.spans)
    assert all("authorization" not in {h.lower() for h in got} for got in collector.headers)
    bad = subprocess.run([*run[:6], "soon"], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert bad.returncode == 2 and "--since" in bad.stderr
