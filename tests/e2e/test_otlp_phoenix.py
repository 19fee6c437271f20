"""OTLP export into a receiver no one here wrote: Arize Phoenix, served on loopback from its own
environment (``uv sync --locked --project tests/e2e/phoenix``; .ci/run installs it). The runtime
exports a triage task and an orchestrator-workers briefing; Phoenix's own REST API must then
hold every span with our ids, the right parents (the sub-tasks inside the parent's trace), the
OpenInference kinds, the models and the token counts."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentops.runtime import Runtime
from agentops.store import SpanRecord

PHOENIX = Path(__file__).resolve().parent / "phoenix" / ".venv" / "bin" / "phoenix"
KINDS = {"task": "AGENT", "llm": "LLM", "tool": "TOOL", "attempt": "CHAIN", "gate": "CHAIN", "spawn": "CHAIN"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a Phoenix server on loopback, with a working dir of its own."""
    if not PHOENIX.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{PHOENIX} is missing: .ci/run installs it with uv sync --project tests/e2e/phoenix")
        pytest.skip("Phoenix is not installed: uv sync --locked --project tests/e2e/phoenix")
    work = tmp_path_factory.mktemp("phoenix")
    port = _free_port()
    env = {
        **os.environ,
        "PHOENIX_WORKING_DIR": str(work),
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(_free_port()),
        "PHOENIX_TELEMETRY_ENABLED": "false",
    }
    log = (work / "phoenix.log").open("w")
    proc = subprocess.Popen([str(PHOENIX), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"phoenix exited with {proc.returncode}: {(work / 'phoenix.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail(f"phoenix did not answer in 120 s: {(work / 'phoenix.log').read_text()[-2000:]}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


async def _phoenix_spans(url: str, project: str, count: int) -> dict[str, dict[str, Any]]:
    """The project's spans by span id, once Phoenix holds ``count`` of them (it ingests in the background)."""
    got: dict[str, dict[str, Any]] = {}
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        for _ in range(120):
            got, cursor = {}, None
            while True:
                params: dict[str, Any] = {"limit": 1000} | ({"cursor": cursor} if cursor else {})
                r = await client.get(f"/v1/projects/{project}/spans", params=params)
                if r.status_code == 404:  # the project exists once its first span is in
                    break
                r.raise_for_status()
                body = r.json()
                got |= {s["context"]["span_id"]: s for s in body["data"]}
                cursor = body.get("next_cursor")
                if not cursor:
                    break
            if len(got) >= count:
                return got
            await asyncio.sleep(0.5)
    raise AssertionError(f"phoenix holds {len(got)} spans of {project}, not {count}")


async def test_phoenix_holds_every_span_with_its_parent_kind_model_and_tokens(make_settings, phoenix):
    project = "agentops-e2e"
    s = make_settings(
        otlp={"enabled": True, "endpoint": f"{phoenix}/v1/traces", "project": project, "schedule_delay_ms": 50},
        workers={"concurrency": 4, "poll_s": 0.05},
    )
    rt = Runtime(s, workers=True)
    await rt.start()
    await rt.wait_ready()
    try:
        triage = await rt.run("triage", {"text": "I was charged twice for my subscription this month."})
        assert triage.status == "succeeded", triage.error
        briefing, _ = await rt.submit("briefing", {"topic": "the end of support for API v1"})
        deadline = time.monotonic() + 60
        while (task := await rt.store.get_task(briefing.id)) is not None and task.status != "succeeded":
            assert task.status not in ("failed", "cancelled"), task.error
            assert time.monotonic() < deadline, f"briefing still {task.status}"
            await asyncio.sleep(0.05)
        children = [t for t in await rt.store.list_tasks(limit=50) if t.parent_id == briefing.id]
        assert children, "briefing spawned no sub-tasks"
        stored: list[SpanRecord] = []
        for t in [triage, briefing, *children]:
            stored += await rt.store.spans_for_task(t.id)
        assert rt.exporter is not None
        await asyncio.to_thread(rt.exporter.flush)
        assert rt.exporter.failed == 0 and rt.exporter.sent >= len(stored)
    finally:
        await rt.stop()

    got = await _phoenix_spans(phoenix, project, len(stored))
    assert {sp.span_id for sp in stored} <= set(got)
    for sp in stored:
        theirs = got[sp.span_id]
        assert theirs["context"]["trace_id"] == sp.trace_id
        assert theirs["parent_id"] == sp.parent_id, sp.name
        assert theirs["span_kind"] == KINDS.get(sp.kind, "CHAIN"), (sp.kind, theirs["span_kind"])
        assert theirs["status_code"] == ("ERROR" if sp.status == "error" else "OK")
        if sp.kind == "llm":
            a = theirs["attributes"]
            assert a["llm.model_name"] == sp.attributes["gen_ai.response.model"]
            assert a["llm.token_count.prompt"] == sp.attributes["gen_ai.usage.input_tokens"] > 0
            assert a["llm.token_count.completion"] == sp.attributes["gen_ai.usage.output_tokens"] > 0
            assert "input.value" not in a and "gen_ai.input.messages" not in a  # content stays home by default

    # orchestrator-workers: the sub-tasks' root spans hang off the parent's spawn span, in its trace
    briefing_traces = {got[sp.span_id]["context"]["trace_id"] for sp in stored if sp.trace_id == briefing.trace_id}
    assert briefing_traces == {briefing.trace_id}
    spawns = {sp.span_id for sp in stored if sp.kind == "spawn"}
    child_roots = [got[sp.span_id] for sp in stored if sp.kind == "task" and sp.task_id in {c.id for c in children}]
    assert len(child_roots) == len(children) and all(r["parent_id"] in spawns for r in child_roots)
    assert {r["span_kind"] for r in child_roots} == {"AGENT"}
