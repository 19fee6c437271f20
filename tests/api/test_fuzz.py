"""Property-based fuzzing of the live control API against its own OpenAPI schema.

A real ``agentops serve --port 0`` process (temp store, zero-latency simulator, one admin
token) is started once for the module and awaited until ``/readyz`` says ready (before
that it is a documented 503, which would read as a server error). Schemathesis loads
``/openapi.json`` from it and, for every operation except the endless ``GET /v1/events``
stream, sends generated requests (valid and invalid: examples, coverage and fuzzing
phases) with the admin bearer token, and asserts that

* no request makes the server fail (no 5xx: ``not_a_server_error``), and
* every response whose status the schema declares has the declared shape
  (``response_schema_conformance``).

Random ids rarely hit a stored row, so a first test walks the data-bearing paths with
real rows through the same schema checks (submit 201, idempotent resubmit 200, the task,
its spans, its escalation, a decision, a repeated decision 409, cancel, audit); the rows
it leaves also give the fuzzed list endpoints real records to return.

So the schema the API publishes is one a client can trust, and no input crashes a route.
At the end the server is stopped with SIGTERM and must drain and exit 0.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
AGENTOPS = str(Path(sys.executable).with_name("agentops"))
ADMIN_SECRET = "fuzz-admin-secret-0123456789"
AUTH = {"Authorization": f"Bearer {ADMIN_SECRET}"}
ANNOUNCE = "agentops serve: control API on "
CHECKS = [not_a_server_error, response_schema_conformance]
# The simulated classifier answers "billing", so a refund ticket reaches the approval gate.
BILLING = json.dumps({"category": "billing", "urgency": "high", "summary": "refund request"})
REFUND = {"text": "Please refund my last invoice", "customer_id": "c-0001"}  # $141.07: needs approval


def _wait_for_announce(proc: subprocess.Popen[str], timeout: float = 60.0) -> str:
    """The base URL from the server's announce line (fails if it exits or stays silent)."""
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    try:
        while time.monotonic() < deadline:
            if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                continue
            line = proc.stdout.readline()
            if not line:
                raise AssertionError(f"agentops serve exited ({proc.wait(10)}) before listening: {seen}")
            seen.append(line)
            if line.startswith(ANNOUNCE):
                return line[len(ANNOUNCE) :].split()[0]
    finally:
        sel.close()
    raise AssertionError(f"agentops serve did not announce its port in {timeout}s: {seen}")


def _wait_until_ready(base_url: str, timeout: float = 60.0) -> None:
    """Wait for ``/readyz`` to say 200 (it is a documented 503 while providers still load)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = requests.get(f"{base_url}/readyz", timeout=10)
        if last.status_code == 200:
            assert last.json()["ready"] is True
            return
        assert last.status_code == 503, last.text
        time.sleep(0.1)
    raise AssertionError(f"/readyz not ready in {timeout}s: {last.text if last is not None else None}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A running ``agentops serve`` on a free port; yields its base URL, then SIGTERMs it."""
    tmp = tmp_path_factory.mktemp("api-fuzz")
    env = {
        **os.environ,
        "AGENTOPS_CONFIG": str(ROOT / "config.toml"),
        "AGENTOPS_STORE__PATH": str(tmp / "agentops.db"),
        "AGENTOPS_SIMULATOR__MODELS": json.dumps({"gpt-4o-mini": {"latency_ms": 0, "replies": [BILLING]}}),
        "AGENTOPS_TOKENS": f"fuzzer:admin:{ADMIN_SECRET}",
        # The fuzzer sends thousands of requests quickly; rate limiting is not under test here.
        "AGENTOPS_API__RATE_PER_MIN": "1000000",
        "AGENTOPS_API__RATE_BURST": "1000000",
        "AGENTOPS_API__DRAIN_GRACE_S": "2",
        "AGENTOPS_WORKERS__POLL_S": "0.1",
    }
    stderr_path = tmp / "serve.stderr"
    with stderr_path.open("w") as stderr:
        proc = subprocess.Popen(
            [AGENTOPS, "serve", "--port", "0"], env=env, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
        try:
            base_url = _wait_for_announce(proc)
            _wait_until_ready(base_url)
            yield base_url
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                out, _ = proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, _ = proc.communicate()
    assert proc.returncode == 0, f"exit {proc.returncode}\n{out}\n{stderr_path.read_text()[-4000:]}"
    assert "agentops serve: stopped" in out, out


@pytest.fixture(scope="module")
def api_schema(server: str) -> schemathesis.BaseSchema:
    """The OpenAPI schema as the live server publishes it."""
    return schemathesis.openapi.from_url(f"{server}/openapi.json", timeout=30)


def test_server_is_up_and_token_is_admin(server: str):
    whoami = requests.get(f"{server}/v1/whoami", headers=AUTH, timeout=10)
    assert whoami.status_code == 200 and whoami.json() == {"name": "fuzzer", "role": "admin"}
    assert requests.get(f"{server}/v1/whoami", timeout=10).status_code == 401


def _call(api_schema: schemathesis.BaseSchema, method: str, path: str, **parts: Any) -> schemathesis.Response:
    """One explicit request, validated with the same checks as the fuzzer."""
    case = api_schema[path][method].Case(**parts)
    return case.call_and_validate(headers=AUTH, checks=CHECKS, timeout=30)


def _poll(check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def test_data_bearing_paths_conform_with_real_rows(api_schema: schemathesis.BaseSchema):
    submit = {"agent": "triage", "input": REFUND, "idempotency_key": "fuzz-refund-1", "user_id": "u-1"}
    first = _call(api_schema, "POST", "/v1/tasks", body=submit)
    assert first.status_code == 201 and first.json()["created"] is True
    task_id = first.json()["task"]["id"]
    again = _call(api_schema, "POST", "/v1/tasks", body=submit)
    assert again.status_code == 200 and again.json() == {"task": again.json()["task"], "created": False}
    assert again.json()["task"]["id"] == task_id

    def waiting() -> list[dict[str, Any]]:
        rows = _call(api_schema, "GET", "/v1/escalations", query={"status": "pending"}).json()
        return [e for e in rows if e["task_id"] == task_id]

    (escalation,) = _poll(waiting)
    one = _call(
        api_schema, "GET", "/v1/escalations/{escalation_id}", path_parameters={"escalation_id": escalation["id"]}
    )
    assert one.status_code == 200 and one.json()["tool"] == "issue_refund"
    decide = {"escalation_id": escalation["id"]}
    approved = _call(
        api_schema,
        "POST",
        "/v1/escalations/{escalation_id}/decision",
        path_parameters=decide,
        body={"action": "approve", "comment": "checked"},
    )
    assert approved.status_code == 200 and approved.json()["decision"] == "approve"
    assert approved.json()["decided_by"] == "fuzzer" and approved.json()["decided_via"] == "api"
    twice = _call(
        api_schema, "POST", "/v1/escalations/{escalation_id}/decision", path_parameters=decide, body={"action": "deny"}
    )
    assert twice.status_code == 422 and "reason" in twice.json()["detail"]  # a deny needs its reason
    twice = _call(
        api_schema,
        "POST",
        "/v1/escalations/{escalation_id}/decision",
        path_parameters=decide,
        body={"action": "deny", "comment": "changed my mind"},
    )
    assert twice.status_code == 409 and "already decided" in twice.json()["detail"], twice.text

    by_id = {"task_id": task_id}
    done = _poll(
        lambda: (
            t
            if (t := _call(api_schema, "GET", "/v1/tasks/{task_id}", path_parameters=by_id).json())["status"]
            == "succeeded"
            else None
        )
    )
    assert done["id"] == task_id and done["cost_usd"] > 0
    spans = _call(api_schema, "GET", "/v1/tasks/{task_id}/spans", path_parameters=by_id)
    assert spans.status_code == 200 and len(spans.json()) > 0
    listed = _call(api_schema, "GET", "/v1/tasks", query={"id": [task_id]})
    assert [t["id"] for t in listed.json()] == [task_id]
    cancelled = _call(api_schema, "POST", "/v1/tasks/{task_id}/cancel", path_parameters=by_id)
    assert cancelled.status_code == 200 and cancelled.json() == {"task_id": task_id, "outcome": "succeeded"}
    costs = _call(api_schema, "GET", "/v1/costs", query={"by": "user"})
    assert any(row for row in costs.json())
    audit = _call(api_schema, "GET", "/v1/audit").json()
    actions = {(a["actor"], a["via"], a["action"]) for a in audit}
    assert {("fuzzer", "api", "task.submit"), ("fuzzer", "api", "escalation.approve")} <= actions


schema = schemathesis.pytest.from_fixture("api_schema").exclude(method="GET", path="/v1/events")


@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@schema.parametrize()
def test_api_conforms_to_its_schema(case: schemathesis.Case):
    case.call_and_validate(headers=AUTH, checks=CHECKS, timeout=30)
