"""The agentops command as a user runs it: real subprocesses, a real SQLite file, the simulator."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
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
    known = "briefing, drafting, polishing, review, triage"
    assert unknown.returncode == 2 and f"no agent named 'nobody' (known: {known})" in unknown.stderr
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


# -- cost control ---------------------------------------------------------------------------

TICKET = json.dumps({"text": "My card was charged twice"})
BUDGETED = {"AGENTOPS_BUDGETS__GLOBAL_DAY_USD": "1.0", "AGENTOPS_ACTOR": "ana"}


def audit_rows(db: Path, action: str) -> list[tuple[str, str, str, dict]]:
    con = sqlite3.connect(db)
    rows = con.execute(
        "SELECT actor, via, target, details FROM audit_log WHERE action = ? ORDER BY id", (action,)
    ).fetchall()
    con.close()
    return [(actor, via, target, json.loads(details)) for actor, via, target, details in rows]


@pytest.mark.slow
def test_budgets_list_and_set_a_cap_audited(tmp_path: Path):
    empty = agentops("budgets", cwd=tmp_path)
    assert empty.returncode == 0 and "no budgets in use today" in empty.stdout and "[budgets]" in empty.stdout
    ran = agentops("run", "triage", "--input", TICKET, "--user", "u-7", cwd=tmp_path, env=BUDGETED)
    assert ran.returncode == 0, ran.stderr

    listed = agentops("budgets", cwd=tmp_path, env=BUDGETED)
    assert listed.returncode == 0, listed.stderr
    header, _, row = listed.stdout.splitlines()
    assert header.split() == ["scope", "key", "used", "/", "cap", "%", "reserved", "rate", "to", "cap", "action"]
    assert row.split()[:2] == ["global-day", "*"] and "/ $1.0000" in row and row.split()[-1] == "block"

    raised = agentops("budgets", "set", "user-day", "u-7", "0.5", cwd=tmp_path, env=BUDGETED)
    assert raised.returncode == 0, raised.stderr
    assert (
        raised.stdout.startswith("user-day u-7: cap $0.5000 · used $0.0000")
        and "(0%) · over it: block" in raised.stdout
    )
    again = agentops("budgets", "set", "global-day", "*", "$2", cwd=tmp_path, env=BUDGETED)
    assert again.returncode == 0 and "cap $2.0000 (was $1.0000)" in again.stdout
    rows = {ln.split()[0]: ln for ln in agentops("budgets", "list", cwd=tmp_path, env=BUDGETED).stdout.splitlines()}
    assert "/ $0.5000" in rows["user-day"] and "u-7" in rows["user-day"] and "/ $2.0000" in rows["global-day"]

    assert audit_rows(tmp_path / "agentops.db", "budget.cap") == [
        ("ana", "cli", "user-day:u-7", {"scope": "user-day", "from": None, "to": 0.5}),
        ("ana", "cli", "global-day:*", {"scope": "global-day", "from": None, "to": 2.0}),
    ]

    scope = agentops("budgets", "set", "planet", "x", "1", cwd=tmp_path)
    assert scope.returncode == 2 and "unknown budget scope 'planet'; choose one of task, session" in scope.stderr
    for bad in ("-1", "lots"):
        cap = agentops("budgets", "set", "user-day", "u-7", bad, cwd=tmp_path)
        assert cap.returncode == 2 and f"cap {bad!r}" in cap.stderr, cap.stderr
    short = agentops("budgets", "set", "user-day", "u-7", cwd=tmp_path)
    assert short.returncode == 2 and "set needs SCOPE KEY CAP" in short.stderr
    assert len(audit_rows(tmp_path / "agentops.db", "budget.cap")) == 2  # nothing refused was written


@pytest.mark.slow
def test_cache_stats_and_clear(tmp_path: Path):
    for _ in range(2):  # the same deterministic classification twice: the second is answered from the cache
        ran = agentops("run", "triage", "--input", TICKET, "--user", "u-7", cwd=tmp_path)
        assert ran.returncode == 0, ran.stderr
    stats = agentops("cache", cwd=tmp_path)
    assert stats.returncode == 0, stats.stderr
    first, saved, entries = stats.stdout.splitlines()
    assert first.startswith("response cache, last 24h: ") and "1 answered from the cache" in first
    assert "semantic 0.0%" in first and "exact 0.0%" not in first
    assert saved.startswith("saved $0.0000") and "by cached answers" in saved and entries == "entries held: 1"
    costs = agentops("costs", "--by", "user", cwd=tmp_path)
    header, _, row, _total = costs.stdout.splitlines()
    assert header.split()[:4] == ["user", "calls", "cache", "hits"] and header.split()[-1] == "saved"
    assert row.split()[0] == "u-7" and row.split()[2] == "1"

    unasked = agentops("cache", "clear", cwd=tmp_path)
    assert unasked.returncode == 2 and "add --yes" in unasked.stderr
    none = agentops("cache", "clear", "--prompt", "judge", "--yes", cwd=tmp_path, env={"AGENTOPS_ACTOR": "ana"})
    assert none.returncode == 0 and none.stdout == "cleared 0 cached answers of prompt judge\n"
    cleared = agentops("cache", "clear", "--yes", cwd=tmp_path, env={"AGENTOPS_ACTOR": "ana"})
    assert cleared.returncode == 0 and cleared.stdout == "cleared 1 cached answer\n"
    assert agentops("cache", "stats", "--since", "1h", cwd=tmp_path).stdout.endswith("entries held: 0\n")
    assert audit_rows(tmp_path / "agentops.db", "cache.clear") == [
        ("ana", "cli", "judge", {"entries": 0}),
        ("ana", "cli", "*", {"entries": 1}),
    ]


@pytest.mark.slow
def test_budgets_and_cache_through_a_server(serve_process, tmp_path: Path):
    server = serve_process(AGENTOPS_TOKENS=f"ana:admin:{'a' * 24} vic:viewer:{'v' * 24}", **BUDGETED).start()
    try:

        def remote(token: str, *args: str) -> subprocess.CompletedProcess[str]:
            env = {**server.env, "AGENTOPS_TOKEN": token}
            return subprocess.run(
                [AGENTOPS, *args, "--connect", server.url],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )

        listed = remote("v" * 24, "budgets")
        assert listed.returncode == 0 and "global-day" in listed.stdout and "/ $1.0000" in listed.stdout
        refused = remote("v" * 24, "budgets", "set", "user-day", "u-1", "3")
        assert refused.returncode == 1 and "403" in refused.stderr
        scope = remote("a" * 24, "budgets", "set", "planet", "x", "1")
        assert scope.returncode == 2 and "unknown budget scope 'planet'" in scope.stderr
        raised = remote("a" * 24, "budgets", "set", "user-day", "u-1", "3")
        assert raised.returncode == 0 and raised.stdout.startswith("user-day u-1: cap $3.0000"), raised.stderr
        assert "entries held: 0" in remote("v" * 24, "cache").stdout
        assert remote("v" * 24, "cache", "clear", "--yes").returncode == 1  # admin only
        cleared = remote("a" * 24, "cache", "clear", "--yes")
        assert cleared.returncode == 0 and cleared.stdout == "cleared 0 cached answers\n"
    finally:
        assert server.stop() == 0
    assert audit_rows(tmp_path / "agentops.db", "budget.cap") == [
        ("ana", "api", "user-day:u-1", {"scope": "user-day", "from": None, "to": 3.0})
    ]
    assert [(a, v, t) for a, v, t, _ in audit_rows(tmp_path / "agentops.db", "cache.clear")] == [("ana", "api", "*")]


def test_alerts_list_ack_and_silence_on_the_store_file(tmp_path: Path):
    import asyncio

    from agentops.store import AlertStore, Store

    async def seed() -> str:
        store = await Store.open(tmp_path / "agentops.db")
        try:
            alerts = AlertStore(store)
            fired = await alerts.fire("daily_cost", "global", "warning", "spend today $9 is 3.0x", {"today_usd": 9}, 0)
            await alerts.fire("canary_rollback", "prompt=greet", "warning", "canary rolled back", {}, 0)
            assert fired is not None
            return fired.id
        finally:
            await store.close()

    cost_id = asyncio.run(seed())
    listed = agentops("alerts", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert cost_id in listed.stdout and "daily_cost" in listed.stdout and "canary_rollback" in listed.stdout
    canary_id = next(line.split()[0] for line in listed.stdout.splitlines() if "canary_rollback" in line)
    acked = agentops("alerts", "ack", canary_id, cwd=tmp_path, env={"AGENTOPS_ACTOR": "ana"})
    assert acked.returncode == 0 and "acknowledged (canary_rollback prompt=greet: resolved)" in acked.stdout
    quiet = agentops("alerts", "silence", cost_id, "--for", "4h", cwd=tmp_path, env={"AGENTOPS_ACTOR": "ana"})
    assert quiet.returncode == 0 and "daily_cost global silenced until" in quiet.stdout
    bad = agentops("alerts", "silence", cost_id, "--for", "soon", cwd=tmp_path)
    assert bad.returncode == 2 and "--for:" in bad.stderr
    missing = agentops("alerts", "ack", "a-nope", cwd=tmp_path)
    assert missing.returncode == 2 and "no alert 'a-nope'" in missing.stderr
    left = agentops("alerts", cwd=tmp_path)
    assert canary_id not in left.stdout and "firing silenced" in left.stdout  # resolved; the cost one quiet
    with sqlite3.connect(tmp_path / "agentops.db") as conn:
        actions = [r[0] for r in conn.execute("SELECT action FROM audit_log WHERE actor = 'ana' ORDER BY id")]
    assert actions == ["alert.ack", "alert.silence"]


@pytest.mark.slow
def test_a_batch_submission_through_a_server_is_billed_at_the_batch_rate(serve_process, tmp_path: Path):
    batch = {
        "AGENTOPS_BATCH__MAX_WAIT_S": "0.3",
        "AGENTOPS_BATCH__POLL_S": "0.2",
        "AGENTOPS_SIMULATOR__BATCH__DELAY_S": "0.5",
    }
    server = serve_process(AGENTOPS_TOKENS=f"ana:admin:{'a' * 24}", **batch).start()
    try:
        env = {**server.env, "AGENTOPS_TOKEN": "a" * 24}

        def remote(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [AGENTOPS, *args, "--connect", server.url],
                check=False,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )

        ids = []
        for text in ("My card was charged twice", "The app crashes when I log in"):
            sub = remote("submit", "triage", "--input", json.dumps({"text": text}), "--batch")
            assert sub.returncode == 0, sub.stderr
            ids.append(sub.stdout.strip())
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            listed = remote("tasks", "--status", "succeeded")
            if all(i[:12] in listed.stdout for i in ids):
                break
            time.sleep(0.5)
        assert all(i[:12] in listed.stdout for i in ids), remote("tasks").stdout
        jobs = remote("batches")
        assert jobs.returncode == 0, jobs.stderr
        header, _rule, *rows, totals = jobs.stdout.strip().splitlines()
        assert header.split()[:4] == ["job", "deployment", "status", "answered"]
        assert rows and all(r.split()[1:3] == ["primary", "completed"] for r in rows), jobs.stdout
        assert all(r.split()[4] == "0" for r in rows)  # no failed lines
        assert totals.startswith("in flight: 0 jobs, 0 requests waiting; last 24h: spent $")
        figures = totals.split("spent ")[1].split(" by batch, saved ")
        spent, saved = (float(x.split("$")[1]) for x in figures)
        # Half price on input and output (cached input tokens keep their cached rate): saved <= spent.
        assert spent > 0 and 0.5 * spent < saved <= spent
        flight = remote("batches", "--in-flight")
        assert flight.stdout.startswith("no batch jobs in flight")
        assert server.stop() == 0
    finally:
        server.kill()
    con = sqlite3.connect(tmp_path / "agentops.db")
    billed = con.execute("SELECT COUNT(*), COUNT(batch_job) FROM ledger").fetchone()
    assert billed[0] == billed[1] > 0  # every LLM step of the two tasks went by batch
    local = agentops("batches", cwd=tmp_path)
    assert local.returncode == 0 and "completed" in local.stdout
