"""The agentops command as a user runs it: real subprocesses, a real SQLite file, the simulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
AGENTOPS = str(Path(sys.executable).with_name("agentops"))


def agentops(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    full_env = {
        **os.environ,
        "AGENTOPS_CONFIG": str(ROOT / "config.toml"),
        "AGENTOPS_STORE__PATH": str(cwd / "agentops.db"),
        **(env or {}),
    }
    return subprocess.run(
        [AGENTOPS, *args], check=False, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout
    )


def test_run_traces_and_costs(tmp_path: Path):
    ran = agentops(
        "run", "triage", "--input", json.dumps({"text": "My card was charged twice"}), "--user", "u-7", cwd=tmp_path
    )
    assert ran.returncode == 0, ran.stderr
    output = json.loads(ran.stdout)
    assert output["category"] in {"billing", "technical", "account"}
    summary = ran.stderr.strip().splitlines()[-1]
    assert summary.startswith("succeeded · ") and " steps · " in summary and " tokens" in summary
    task_id = summary.rsplit("task ", 1)[1]

    listed = agentops("traces", cwd=tmp_path)
    assert listed.returncode == 0 and task_id[:12] in listed.stdout and "u-7" in listed.stdout

    tree = agentops("traces", "--task", task_id[:8], cwd=tmp_path)
    assert tree.returncode == 0, tree.stderr
    assert "task triage" in tree.stdout and "classify" in tree.stdout and "primary (openai/gpt-4o-mini)" in tree.stdout

    for by in ("agent", "model", "user"):
        costs = agentops("costs", "--by", by, cwd=tmp_path)
        assert costs.returncode == 0, costs.stderr
        assert "total" in costs.stdout and "$" in costs.stdout
    assert "u-7" in agentops("costs", "--by", "user", cwd=tmp_path).stdout


def test_bad_arguments_exit_2_with_a_clear_message(tmp_path: Path):
    bad_json = agentops("run", "triage", "--input", "{text: hi}", cwd=tmp_path)
    assert bad_json.returncode == 2
    assert "--input: not valid JSON" in bad_json.stderr and "line 1, column 2" in bad_json.stderr
    unknown = agentops("run", "nobody", "--input", "{}", cwd=tmp_path)
    assert unknown.returncode == 2 and "no agent named 'nobody' (known: drafting, triage)" in unknown.stderr
    bad_input = agentops("run", "triage", "--input", "{}", cwd=tmp_path)
    assert bad_input.returncode == 2 and "text: Field required" in bad_input.stderr
    since = agentops("costs", "--since", "yesterday", cwd=tmp_path)
    assert since.returncode == 2 and "use a number and a unit" in since.stderr


def test_bad_config_fails_at_start_naming_file_and_key(tmp_path: Path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[circuit]\nfailure_rate = 2.0\n")
    result = agentops("--config", str(cfg), "traces", cwd=tmp_path)
    assert result.returncode == 2
    assert (
        str(cfg) in result.stderr
        and "circuit.failure_rate" in result.stderr
        and "less than or equal to 1" in result.stderr
    )


def test_a_failing_task_exits_1_and_says_why(tmp_path: Path):
    env = {"AGENTOPS_SIMULATOR__DEFAULT__FAIL_STATUSES": "[401]"}
    result = agentops("run", "drafting", "--input", '{"topic": "x"}', cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert "failed · " in result.stdout
    assert "PermanentProviderError" in result.stdout and "401" in result.stdout


def test_importing_the_runtime_loads_no_ui_and_no_litellm():
    code = (
        "import sys, agentops.runtime, agentops.store; "
        "bad = sorted(m for m in ('textual', 'rich', 'litellm') if m in sys.modules); print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_sim_serves_openai_compatible_requests(tmp_path: Path):
    proc = subprocess.Popen(
        [AGENTOPS, "sim", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "AGENTOPS_CONFIG": str(ROOT / "config.toml")},
    )
    try:
        line = proc.stdout.readline()
        assert "simulator listening on http://127.0.0.1:" in line
        url = line.split()[3]
        import httpx

        reply = httpx.post(
            f"{url}/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        )
        assert reply.status_code == 200 and reply.json()["choices"][0]["message"]["role"] == "assistant"
    finally:
        proc.terminate()
        proc.wait(10)
