"""LLM steps by a provider's batch API, through the simulator's /v1/files and /v1/batches over real HTTP."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from pydantic import BaseModel
from runtime_support import start as start_runtime
from runtime_support import wait_status

from agentops.runtime import Context, Registry, Runtime, agent
from agentops.runtime.simulator import SimConfig, Simulator
from agentops.store import BatchStore


class Ticket(BaseModel):
    text: str


class Summary(BaseModel):
    summary: str


def registry() -> Registry:
    reg = Registry()

    @agent(registry=reg)
    async def summarise(ctx: Context, t: Ticket) -> dict[str, object]:
        r = await ctx.llm(f"Summarise in one line: {t.text}", name="summarise", batch=True)
        return {"text": r.text, "cost": r.response.cost_usd, "replayed": r.replayed}

    @agent(registry=reg)
    async def nightly(ctx: Context, t: Ticket) -> str:  # batched by [batch] agents, not by the call site
        r = await ctx.llm(f"Tag: {t.text}", name="tag")
        return r.text or ""

    @agent(registry=reg)
    async def shaped(ctx: Context, t: Ticket) -> str:
        r = await ctx.llm(f"Summarise as JSON: {t.text}", output=Summary, name="shape", batch=True)
        assert r.output is not None
        return r.output.summary

    return reg


def settings(make_settings, base_url: str | None = None, **batch):
    b = {"max_wait_s": 0.2, "poll_s": 0.1, "max_requests": 100, **batch}
    extra = {}
    if base_url is not None:  # an external simulator: it outlives the runtimes of one test
        extra = {
            "simulator": {"enabled": False},
            "deployments": {"primary": {"model": "openai/gpt-4o-mini", "api_base": base_url + "/v1"}},
        }
    return make_settings(
        runtime={"agent_modules": []},
        routes={"default": {"chain": ["primary"]}},
        workers={"concurrency": 4, "lease_s": 5, "poll_s": 0.05},
        batch=b,
        **extra,
    )


async def run_all(rt: Runtime, agent_name: str, n: int, timeout: float = 20) -> list:
    ids = [(await rt.submit(agent_name, {"text": f"parcel {i} is late"}))[0].id for i in range(n)]
    return [await wait_status(rt, i, "succeeded", "failed", timeout=timeout) for i in ids]


async def test_tasks_are_answered_by_one_batch_job_at_the_batch_price(make_settings):
    s = settings(make_settings, max_requests=10, max_wait_s=5)
    s.simulator.batch.delay_s = 0.3
    rt = await start_runtime(s, registry(), workers=True)
    try:
        tasks = await run_all(rt, "summarise", 10)
        assert [t.status for t in tasks] == ["succeeded"] * 10
        assert rt.simulator is not None
        assert rt.simulator.batch_stats["created"] == 1  # ten requests, one job (max_requests 10)
        assert rt.simulator.stats.requests == 10  # each line answered once, no synchronous call
        rows = await rt.store.ledger_rows()
        assert len(rows) == 10 and all(r.batch_job for r in rows)
        assert len({r.span_id for r in rows}) == 10
        for r in rows:
            assert r.cost_usd > 0
            assert r.saving_usd == pytest.approx(r.cost_usd, rel=1e-6)  # half price: the saving equals the cost
        assert sum(t.output["cost"] for t in tasks) == pytest.approx(sum(r.cost_usd for r in rows))
        jobs = await BatchStore(rt.store).jobs()
        assert [(j.status, j.requests, j.succeeded, j.failed) for j in jobs] == [("completed", 10, 10, 0)]
        calls = await rt.store.llm_calls()
        assert len(calls) == 10 and {c.batch_job for c in calls} == {jobs[0].id}
        spans = await rt.store.spans_for_task(tasks[0].id)
        llm = [sp for sp in spans if sp.kind == "llm"]
        assert len(llm) == 1 and llm[0].status == "ok" and llm[0].end_time is not None
        assert llm[0].attributes["agentops.batch.job"] == jobs[0].id
    finally:
        await rt.stop()


async def test_failed_lines_go_into_the_next_job_and_succeed(make_settings):
    s = settings(make_settings)
    s.simulator.batch.delay_s = 0.1
    s.simulator.batch.fail_rate = 0.5
    rt = await start_runtime(s, registry(), workers=True)
    try:
        tasks = await run_all(rt, "summarise", 12)
        assert [t.status for t in tasks] == ["succeeded"] * 12
        assert rt.simulator is not None
        failed = rt.simulator.batch_stats["lines_failed"]
        assert failed > 0  # some lines failed in the first job ...
        jobs = await BatchStore(rt.store).jobs()
        assert len(jobs) >= 2  # ... and went into a later one
        assert sum(j.failed for j in jobs) == failed
        assert sum(j.succeeded for j in jobs) == 12
        rows = await rt.store.ledger_rows()
        assert len(rows) == 12  # a failed line is not billed; each answer once
    finally:
        await rt.stop()


async def test_a_request_that_fails_every_attempt_is_called_at_once(make_settings):
    s = settings(make_settings, max_attempts=1)
    s.simulator.batch.delay_s = 0.05
    s.simulator.batch.fail_rate = 1.0
    rt = await start_runtime(s, registry(), workers=True)
    try:
        (task,) = await run_all(rt, "summarise", 1)
        assert task.status == "succeeded"
        rows = await rt.store.ledger_rows()
        assert len(rows) == 1 and rows[0].batch_job is None  # the synchronous call, at the full price
    finally:
        await rt.stop()
    s = settings(make_settings, max_attempts=1, on_failure="fail")
    s.simulator.batch.delay_s = 0.05
    s.simulator.batch.fail_rate = 1.0
    rt = await start_runtime(s, registry(), workers=True)
    try:
        ids = [(await rt.submit("summarise", {"text": "a new ticket, never seen"}))[0].id]
        task = await wait_status(rt, ids[0], "succeeded", "failed", timeout=20)
        assert task.status == "failed" and task.error_type == "LLMCallError"
        assert "status 500" in task.error and "on_failure" in task.error
    finally:
        await rt.stop()


async def test_agents_and_submissions_can_ask_for_batch(make_settings):
    s = settings(make_settings, agents=["nightly"])
    s.simulator.batch.delay_s = 0.05
    rt = await start_runtime(s, registry(), workers=True)
    try:
        (task,) = await run_all(rt, "nightly", 1)
        assert task.status == "succeeded"
        (row,) = await rt.store.ledger_rows()
        assert row.batch_job is not None
        # shaped: the validation gate takes a batch answer like any other
        (shaped,) = await run_all(rt, "shaped", 1)
        assert shaped.status == "succeeded", shaped.error
    finally:
        await rt.stop()


async def test_a_restart_while_a_job_is_in_flight_resumes_polling_and_never_resends(make_settings):
    config = SimConfig(default={"latency_ms": 0, "latency_sigma": 0})
    config.batch.delay_s = 1.5
    async with Simulator(config) as sim:
        s = settings(make_settings, base_url=sim.base_url)
        rt = await start_runtime(s, registry(), workers=True)
        ids = [(await rt.submit("summarise", {"text": f"order {i} arrived broken"}))[0].id for i in range(5)]
        for i in ids:
            await wait_status(rt, i, "waiting")
        store = BatchStore(rt.store)
        for _ in range(200):
            jobs = await store.jobs()
            if jobs and jobs[0].status == "in_progress":
                break
            await asyncio.sleep(0.02)
        assert [j.status for j in jobs] == ["in_progress"]
        await rt.stop()  # the job is still in flight at the provider
        assert sim.batch_stats["created"] == 1
        rt = await start_runtime(s, registry(), workers=True)
        try:
            tasks = [await wait_status(rt, i, "succeeded", "failed", timeout=20) for i in ids]
            assert [t.status for t in tasks] == ["succeeded"] * 5
            assert sim.batch_stats["created"] == 1  # polled on, never sent again
            assert len(await rt.store.ledger_rows()) == 5
            async with httpx.AsyncClient() as http:
                stats = (await http.get(sim.base_url + "/sim/stats")).json()
            assert stats["batches"]["created"] == 1 and stats["batches"]["lines_answered"] == 5
        finally:
            await rt.stop()


async def test_simulator_batch_api_rejects_bad_input():
    async with Simulator(SimConfig()) as sim, httpx.AsyncClient(base_url=sim.base_url + "/v1") as http:
        r = await http.post("/batches", json={"input_file_id": "file-nope", "endpoint": "/v1/chat/completions"})
        assert r.status_code == 400 and "input_file_id" in r.json()["error"]["message"]
        r = await http.post("/files", content=b"{}", headers={"content-type": "application/json"})
        assert r.status_code == 400 and "multipart" in r.json()["error"]["message"]
        line = {"custom_id": "x.1", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "m"}}
        up = await http.post(
            "/files", files={"file": ("b.jsonl", json.dumps(line).encode())}, data={"purpose": "batch"}
        )
        assert up.status_code == 200
        r = await http.post("/batches", json={"input_file_id": up.json()["id"], "endpoint": "/v1/embeddings"})
        assert r.status_code == 400 and "chat/completions" in r.json()["error"]["message"]
        assert (await http.get("/batches/batch_nope")).status_code == 404
