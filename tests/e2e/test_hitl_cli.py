"""Human-in-the-loop across processes: workers in one process, decisions from the CLI in others."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
AGENTOPS = str(Path(sys.executable).with_name("agentops"))
BILLING = json.dumps({"category": "billing", "urgency": "high", "summary": "refund request"})


def env_for(tmp: Path) -> dict[str, str]:
    return {
        **os.environ,
        "AGENTOPS_CONFIG": str(ROOT / "config.toml"),
        "AGENTOPS_STORE__PATH": str(tmp / "agentops.db"),
        "AGENTOPS_WORKERS__POLL_S": "0.1",
        "AGENTOPS_ACTOR": "ana",
        # The classifier answers "billing", so refund tickets reach the refund path.
        "AGENTOPS_SIMULATOR__MODELS": json.dumps({"gpt-4o-mini": {"latency_ms": 0, "replies": [BILLING]}}),
    }


def cli(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([AGENTOPS, *args], env=env_for(tmp), capture_output=True, text=True, timeout=120, check=False)


def poll(check, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def test_approve_and_deny_from_the_cli_while_workers_run_elsewhere(tmp_path: Path):
    ticket = {"text": "Please refund my last invoice", "customer_id": "c-0001"}  # $141.07: needs approval
    first = cli(tmp_path, "submit", "triage", "--input", json.dumps(ticket), "--key", "ticket-1")
    assert first.returncode == 0, first.stderr
    task_id = first.stdout.strip()
    again = cli(tmp_path, "submit", "triage", "--input", json.dumps(ticket), "--key", "ticket-1")
    assert again.stdout.startswith(f"{task_id} (already submitted with key 'ticket-1'")
    other = cli(tmp_path, "submit", "triage", "--input", json.dumps({**ticket, "customer_id": "c-0003"}))
    other_id = other.stdout.strip()

    worker = subprocess.Popen([AGENTOPS, "worker"], env=env_for(tmp_path), stdout=subprocess.PIPE, text=True)
    try:

        def two_waiting() -> list[str]:
            out = cli(tmp_path, "escalations").stdout
            rows = [ln for ln in out.splitlines() if ln.startswith("e-")]
            return rows if len(rows) >= 2 else []

        rows = poll(two_waiting)
        by_task = {tid: row.split()[0] for row in rows for tid in (task_id[:12], other_id[:12]) if tid in row}
        approve_id, deny_id = by_task[task_id[:12]], by_task[other_id[:12]]

        bad_edit = cli(tmp_path, "approve", approve_id, "--edit", json.dumps({"amount_usd": -5}))
        assert bad_edit.returncode == 2 and "amount_usd: Input should be greater than 0" in bad_edit.stderr

        ok = cli(tmp_path, "approve", approve_id, "--comment", "checked the invoice")
        assert ok.returncode == 0 and "approve by ana" in ok.stdout
        twice = cli(tmp_path, "deny", approve_id, "--reason", "changed my mind")
        assert twice.returncode == 2 and "already decided: approve by ana via cli" in twice.stderr
        denied = cli(tmp_path, "deny", deny_id, "--reason", "customer already credited")
        assert denied.returncode == 0

        poll(
            lambda: (
                task_id[:12] in cli(tmp_path, "tasks", "--status", "succeeded").stdout
                and other_id[:12] in cli(tmp_path, "tasks", "--status", "succeeded").stdout
            )
        )
    finally:
        worker.terminate()
        worker.wait(30)
    assert worker.returncode == 0

    con = sqlite3.connect(tmp_path / "agentops.db")
    refunds = dict(con.execute("SELECT task_id, COUNT(*) FROM tool_calls WHERE tool = 'issue_refund' GROUP BY task_id"))
    audit = con.execute("SELECT actor, via, action FROM audit_log ORDER BY id").fetchall()
    con.close()
    assert refunds == {task_id: 1}  # approved: refunded once; denied: never
    assert ("ana", "cli", "escalation.approve") in audit and ("ana", "cli", "escalation.deny") in audit
    assert ("ana", "cli", "task.submit") in audit


def test_cancel_a_queued_task_and_refuse_bad_ids(tmp_path: Path):
    submitted = cli(tmp_path, "submit", "drafting", "--input", json.dumps({"topic": "x"}))
    task_id = submitted.stdout.strip()
    cancelled = cli(tmp_path, "cancel", task_id[:8])
    assert cancelled.returncode == 0 and cancelled.stdout.strip() == "cancelled"
    assert "cancelled" in cli(tmp_path, "tasks", "--status", "cancelled").stdout
    unknown = cli(tmp_path, "approve", "e-nope")
    assert unknown.returncode == 2 and "no escalation 'e-nope'" in unknown.stderr
    bad_input = cli(tmp_path, "submit", "triage", "--input", "{}")
    assert bad_input.returncode == 2 and "text: Field required" in bad_input.stderr
