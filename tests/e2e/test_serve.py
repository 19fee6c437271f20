"""``agentops serve`` as a real process: the CLI and ``RemoteControl`` over HTTP, and SIGTERM drains.

An operator submits with the CLI (``--connect``), approves the escalation through
``RemoteControl`` and sees the task finish on the SSE stream; a server stopped with
SIGTERM under load hands its running tasks back, and a successor finishes every one.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
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


def test_a_server_killed_while_a_batch_job_is_in_flight_polls_it_on_after_restart_and_never_resends(
    serve_process, tmp_path: Path
):
    """SIGKILL: no lease given back, nothing flushed on the way out. The provider (a simulator in
    a process of its own) keeps the job; the restarted server takes the job over once the dead
    one's lease expires, polls it, and settles every task exactly once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sim_env = {**os.environ, "AGENTOPS_CONFIG": str(Path(__file__).resolve().parents[2] / "config.toml")}
    sim_env["AGENTOPS_SIMULATOR__BATCH__DELAY_S"] = "4"
    sim = subprocess.Popen(
        [AGENTOPS, "sim", "--port", str(port)], env=sim_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert sim.stdout is not None and "simulator listening" in sim.stdout.readline()
        base = f"http://127.0.0.1:{port}"
        env = {f"AGENTOPS_DEPLOYMENTS__{d}__API_BASE": base + "/v1" for d in ("PRIMARY", "FALLBACK", "EMERGENCY")}
        env.update(
            AGENTOPS_TOKENS=TOKENS,
            AGENTOPS_BATCH__MAX_WAIT_S="0.3",
            AGENTOPS_BATCH__POLL_S="0.3",
            AGENTOPS_BATCH__LEASE_S="2",
            AGENTOPS_CACHE__EXACT="false",
        )
        server = serve_process(**env).start()
        ids = []
        for i in range(3):
            sub = cli(
                server, OPERATOR, "submit", "drafting", "--input", json.dumps({"topic": f"release {i}"}), "--batch"
            )
            assert sub.returncode == 0, sub.stderr
            ids.append(sub.stdout.strip())
        db = tmp_path / "agentops.db"

        def jobs() -> list[tuple[str, str | None]]:
            con = sqlite3.connect(db)
            try:
                return con.execute("SELECT status, provider_batch_id FROM batch_jobs ORDER BY created_at").fetchall()
            finally:
                con.close()

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(s == "in_progress" for s, _ in jobs()):
            time.sleep(0.1)
        assert [s for s, _ in jobs()] == ["in_progress"], jobs()
        server.stop(signal.SIGKILL)
        created = httpx.get(base + "/sim/stats").json()["batches"]["created"]
        assert created == 1

        server = serve_process(**env).start()
        deadline = time.monotonic() + 90
        done: dict[str, str] = {}
        while time.monotonic() < deadline and len(done) < len(ids):
            con = sqlite3.connect(db)
            rows = con.execute(f"SELECT id, status FROM tasks WHERE id IN ({', '.join('?' * len(ids))})", ids)
            done = {i: s for i, s in rows if s in ("succeeded", "failed", "dead")}
            con.close()
            time.sleep(0.3)
        assert set(done.values()) == {"succeeded"} and len(done) == 3, done
        assert server.stop() == 0
        stats = httpx.get(base + "/sim/stats").json()["batches"]
        settled = jobs()
        # Every job the store holds was created at the provider once, and no other was.
        assert stats["created"] == len(settled) == len({b for _, b in settled}), (stats, settled)
        assert all(s == "completed" for s, _ in settled)
        con = sqlite3.connect(db)
        spans = [r[0] for r in con.execute("SELECT span_id FROM ledger WHERE batch_job IS NOT NULL")]
        lines = con.execute("SELECT COUNT(*) FROM batch_requests WHERE status = 'done'").fetchone()[0]
        con.close()
        assert len(spans) == len(set(spans)) == lines == stats["lines_answered"]  # billed once each
    finally:
        sim.kill()
        sim.wait(10)
