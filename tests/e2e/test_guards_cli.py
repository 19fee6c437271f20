"""``[guards] redact_pii`` as a user runs it: personal data through whole tasks (input, tool
result, prompt, reply, error, log lines), then the SQLite file and the process's log output
are searched for it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent
AGENTOPS = str(Path(sys.executable).with_name("agentops"))
PII = ("ana.lopez@example.org", "DE89370400440532013000", "+1 212 555 0199", "4111 1111 1111 1111", "536-90-4399")
CONFIG = """
[runtime]
agent_modules = ["pii_agent"]

[routes.default]
chain = ["primary"]

[guards]
redact_pii = true
output_pii = "off"

[simulator.default]
latency_ms = 0

[simulator.models."gpt-4o-mini"]
replies = ["We charged card 4111 1111 1111 1111 and will call +1 212 555 0199."]
"""


def run(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AGENTOPS_STORE__PATH": str(tmp_path / "agentops.db"),
        "PYTHONPATH": str(HERE) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    args = [
        "--config",
        str(tmp_path / "config.toml"),
        "-vv",
        "run",
        "pii_support",
        "--input",
        json.dumps({"text": text}),
    ]
    return subprocess.run(
        [AGENTOPS, *args], check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180
    )


def test_personal_data_reaches_neither_the_sqlite_file_nor_the_logs(tmp_path: Path):
    (tmp_path / "config.toml").write_text(CONFIG)
    ok = run(tmp_path, "I am ana.lopez@example.org, SSN 536-90-4399: where is my refund?")
    assert ok.returncode == 0, ok.stderr
    reply = json.loads(ok.stdout)["reply"]
    assert reply.startswith("We charged card 4111 1111 1111 1111")  # the policy lets the agent have it
    failed = run(tmp_path, "please fail for ana.lopez@example.org")
    assert failed.returncode != 0 and "ValueError" in failed.stderr

    logs = ok.stderr + failed.stderr
    assert "looked up the customer" in logs and "<EMAIL_ADDRESS>" in logs  # the lines are there, masked
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("agentops.db*"))
    assert b"<EMAIL_ADDRESS>" in stored and b"<CREDIT_CARD>" in stored
    for value in PII:
        assert value not in logs, value
        assert value.encode() not in stored, value
