"""``agentops serve`` as a real process: the CLI and ``RemoteControl`` over HTTP, and SIGTERM drains.

An operator submits with the CLI (``--connect``), approves the escalation through
``RemoteControl`` and sees the task finish on the SSE stream; a server stopped with
SIGTERM under load hands its running tasks back, and a successor finishes every one.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentops.runtime.control.remote import RemoteControl

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

AGENTOPS = str(Path(sys.executable).with_name("agentops"))
OPERATOR, VIEWER = "operator-secret-0123456789", "viewer-secret-0123456789"
TOKENS = f"ana:operator:{OPERATOR} vic:viewer:{VIEWER}"
BILLING = json.dumps({"category": "billing", "urgency": "high", "summary": "refund request"})
REFUND = {"text": "Please refund my last invoice", "customer_id": "c-0001"}  # $141.07: needs approval


def cli(server: Any, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**server.env, "AGENTOPS_TOKEN": token}
    return subprocess.run(
        [AGENTOPS, *args, "--connect", server.url], env=env, capture_output=True, text=True, timeout=60, check=False
    )


async def test_cli_and_remote_control_drive_an_escalation_through_a_served_runtime(serve_process, tmp_path: Path):
    models = json.dumps({"gpt-4o-mini": {"latency_ms": 0, "replies": [BILLING]}})
    server = serve_process(AGENTOPS_TOKENS=TOKENS, AGENTOPS_SIMULATOR__MODELS=models).start()
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.get("/healthz")).status_code == 200  # served before providers finish loading

    submitted = cli(server, OPERATOR, "submit", "triage", "--input", json.dumps(REFUND), "--user", "u7")
    assert submitted.returncode == 0, submitted.stderr
    task_id = submitted.stdout.strip()
    refused = cli(server, VIEWER, "submit", "triage", "--input", json.dumps(REFUND))
    assert refused.returncode == 1 and "403" in refused.stderr and "needs 'operator'" in refused.stderr

    remote = await RemoteControl.connect(server.url, OPERATOR)
    sub = remote.subscribe()
    assert sub is not None
    try:
        deadline = time.monotonic() + 60
        waiting: list[Any] = []
        while not waiting and time.monotonic() < deadline:
            waiting = [e for e in await remote.escalations() if e.task_id == task_id]
            await asyncio.sleep(0.2)
        assert waiting, "the refund never escalated"
        broken_config = tmp_path / "broken.toml"
        broken_config.write_text("[retry]\nmax_retries = -1\n")  # a bad local file does not stop --connect
        listed = cli(server, VIEWER, "--config", str(broken_config), "escalations")
        assert "ignoring the local configuration" in listed.stderr
        assert listed.returncode == 0 and waiting[0].id in listed.stdout
        await remote.decide(waiting[0].id, "approve", actor="ignored", comment="invoice checked")
        finished: dict[str, Any] = {}
        while not finished and time.monotonic() < deadline:
            for e in await sub.wait(timeout=1.0):
                if e.kind == "task.finished" and e.data["task_id"] == task_id:
                    finished = e.data
        assert finished["status"] == "succeeded"
        audit = [(a.actor, a.via, a.action) for a in await remote.audit_log()]
        assert ("ana", "api", "task.submit") in audit and ("ana", "api", "escalation.approve") in audit
    finally:
        await remote.close()
    traces = cli(server, VIEWER, "traces", "--task", task_id)
    assert traces.returncode == 0 and "issue_refund" in traces.stdout and "succeeded" in traces.stdout
    server.proc.send_signal(signal.SIGHUP)  # reload: the same file, so nothing changes, and it says so
    deadline = time.monotonic() + 20
    while not any("configuration reloaded" in line for line in server.lines) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert any("configuration reloaded" in line for line in server.lines)
    assert server.stop() == 0
    assert any("stopped: 1 completed" in line for line in server.lines)
    assert not any(OPERATOR in line or VIEWER in line for line in server.lines)  # tokens never logged


async def test_sigterm_under_load_hands_running_tasks_back_and_loses_nothing(serve_process, tmp_path: Path):
    slow = json.dumps({"gpt-4o-mini": {"latency_ms": 1500, "latency_sigma": 0}})
    env = {"AGENTOPS_TOKENS": TOKENS, "AGENTOPS_API__DRAIN_GRACE_S": "0.5", "AGENTOPS_WORKERS__CONCURRENCY": "4"}
    server = serve_process(**env, AGENTOPS_SIMULATOR__MODELS=slow).start()
    headers = {"Authorization": f"Bearer {OPERATOR}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as http:
        ids = []
        for i in range(30):
            r = await http.post("/v1/tasks", json={"agent": "drafting", "input": {"topic": f"topic {i}"}})
            assert r.status_code == 201, r.text
            ids.append(r.json()["task"]["id"])
        deadline = time.monotonic() + 60
        while (await http.get("/v1/status")).json()["workers_busy"] < 4 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        server.proc.send_signal(15)  # SIGTERM while four tasks are mid-call
        await asyncio.sleep(0.2)
        ready = await http.get("/readyz")
        assert ready.status_code == 503 and ready.json()["draining"] is True  # still answering while draining
    assert server.proc.wait(60) == 0
    summary = next(line for line in server.lines if "handed back to the queue" in line)
    assert int(summary.split(" failed, ")[1].split()[0]) >= 1, summary  # interrupted mid-call, then requeued

    con = sqlite3.connect(tmp_path / "agentops.db")
    statuses = dict(con.execute("SELECT id, status FROM tasks").fetchall())
    leased = con.execute("SELECT COUNT(*) FROM tasks WHERE lease_owner IS NOT NULL").fetchone()[0]
    con.close()
    assert set(statuses) == set(ids)  # every acknowledged task is there
    assert "running" not in statuses.values() and leased == 0  # none left holding a lease
    assert set(statuses.values()) <= {"succeeded", "queued"}

    fast = json.dumps({"gpt-4o-mini": {"latency_ms": 0}})
    successor = serve_process(**env, AGENTOPS_SIMULATOR__MODELS=fast).start()
    async with httpx.AsyncClient(base_url=successor.url, headers=headers, timeout=30) as http:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            done = (await http.get("/v1/tasks", params={"status": "succeeded", "limit": 100})).json()
            if len(done) == len(ids):
                break
            await asyncio.sleep(0.3)
        assert sorted(t["id"] for t in done) == sorted(ids)
        assert all(t["attempts"] == 1 for t in done)  # a drain does not count as a failed attempt
    assert successor.stop() == 0
