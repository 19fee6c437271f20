"""The real ``agentops demo --seed 1`` in tmux: traces stream, a circuit opens on schedule, ``q`` exits cleanly."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BIN = Path(sys.executable).with_name("agentops")


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def screen(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session)


def wait_screen(session: str, check, timeout: float, what: str) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = screen(session)
        if check(text):
            return text
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}; the screen was:\n{text}")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_demo_in_tmux(tmp_path: Path) -> None:
    session = f"agentops-e2e-{uuid.uuid4().hex[:8]}"
    marker = tmp_path / "exit-code"
    command = f"cd {tmp_path} && {BIN} demo --seed 1 --rate 3; echo $? > {marker}; echo SHELL-BACK"
    tmux("new-session", "-d", "-s", session, "-x", "140", "-y", "40", command + "; sleep 60")
    try:
        first = wait_screen(session, lambda s: "Traces" in s, 15, "the first paint")
        assert "agentops" in first
        wait_screen(session, lambda s: "succeeded" in s, 90, "a finished task in the traces list")
        tmux("send-keys", "-t", session, "2")
        circuits = wait_screen(session, lambda s: " open " in s and "primary" in s, 60, "an open circuit")
        assert "consecutive failures" in circuits or "failure rate" in circuits or "probe failed" in circuits
        tmux("send-keys", "-t", session, "q")
        after = wait_screen(session, lambda s: "SHELL-BACK" in s, 20, "the shell after q")
        assert marker.read_text().strip() == "0"
        # The alternate screen is gone: the console's header is no longer on the terminal.
        assert "1 Traces" not in after
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False, capture_output=True)


def no_traceback(text: str) -> bool:
    return "Traceback" not in text and "most recent call last" not in text


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_demo_every_screen_with_one_action_on_each(tmp_path: Path) -> None:
    """The demo's own configuration (a router as the default route, budgets, flags, alerts), every
    screen opened and one action taken on each, in a real terminal: no traceback anywhere."""
    session = f"agentops-e2e-{uuid.uuid4().hex[:8]}"
    marker = tmp_path / "exit-code"
    command = f"cd {tmp_path} && env -u COLUMNS -u LINES {BIN} demo --seed 3; echo $? > {marker}; echo SHELL-BACK"
    tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "48", command + "; sleep 60")

    def wait(check, timeout: float, what: str) -> str:
        text = wait_screen(session, lambda s: check(s) or not no_traceback(s) or "SHELL-BACK" in s, timeout, what)
        assert no_traceback(text) and "SHELL-BACK" not in text, f"the console died ({what}):\n{text}"
        return text

    def keys(*k: str) -> None:
        tmux("send-keys", "-t", session, *k)

    try:
        # Traces: the prompt column names the version that ran; enter opens a task's span tree.
        wait(lambda s: "triage.classify@v1" in s, 90, "a triage task's prompt version in the traces list")
        keys("Enter")
        wait(lambda s: "trace " in s and re.search(r"task (triage|drafting|review|polishing|briefing)", s), 20,
             "a task's span tree")  # fmt: skip
        keys("Escape")
        time.sleep(0.5)  # an escape followed at once by a key reads as alt+key
        # Circuits: the deployments and their breakers; move down the list.
        keys("2")
        wait(lambda s: "primary" in s and "emergency" in s, 20, "the circuits")
        keys("j")
        # Costs: per-minute attempt errors beside calls failed after fallback; refresh now.
        keys("3")
        wait(lambda s: "attempt errors/min" in s and "failed after fallback/min" in s, 20, "the costs sparklines")
        keys("r")
        # Escalations: approve the oldest refund through the modal.
        keys("4")
        wait(lambda s: "refund $" in s and "issue_refund" in s, 90, "a refund escalation")
        keys("a")
        wait(lambda s: "Approve escalation" in s, 20, "the approve modal")
        keys("Enter")
        wait(lambda s: "approved; task" in s, 20, "the decision's notice")
        # Prompts: the diff of a prompt whose route is the demo's router shows the router's rules.
        keys("5")
        wait(
            lambda s: "model: router auto" in s and "rule 1: prompt=triage.classify -> cheap" in s, 20, "a router diff"
        )
        keys("j")
        wait(lambda s: "triage.classify v1" in s, 20, "the second prompt's versions")
        # Flags: the demo's flags are live; kill the knowledge-base search.
        keys("6")
        wait(lambda s: "reply_style" in s and "polish_drafts" in s and "kb_search" in s, 20, "the demo's flags")
        keys("k")
        wait(lambda s: "Kill flag kb_search" in s, 20, "the kill switch's modal")
        keys("Enter")
        wait(lambda s: "KILLED" in s, 20, "the killed flag")
        # Alerts: the outage makes the fallback slow; its latency alert fires within two minutes.
        keys("7")
        wait(lambda s: "latency_p95" in s and "firing" in s, 150, "the latency alert firing")
        keys("a")
        wait(lambda s: "Acknowledge alert" in s, 20, "the acknowledge modal")
        keys("Enter")
        wait(lambda s: "firing acked" in s, 20, "the acknowledged alert")
        # Guards: the demo's injections are blocked and its billing contacts redacted; open one.
        keys("8")
        wait(lambda s: "injection" in s and "block" in s and "output_pii" in s, 60, "the guards' decisions")
        keys("j")
        wait(lambda s: "highlighted decision" in s and " · task " in s, 20, "a decision's detail")
        keys("q")
        wait_screen(session, lambda s: "SHELL-BACK" in s, 20, "the shell after q")
        assert marker.read_text().strip() == "0"
        assert no_traceback(screen(session))
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False, capture_output=True)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_tui_connect_to_a_server_with_a_viewer_token(serve_process, tmp_path: Path) -> None:
    viewer, operator = "viewer-secret-0123456789", "operator-secret-0123456789"
    server = serve_process(
        AGENTOPS_TOKENS=f"vic:viewer:{viewer} ana:operator:{operator}",
        AGENTOPS_SIMULATOR__MODELS='{"gpt-4o-mini": {"latency_ms": 0}}',
    ).start()
    session = f"agentops-e2e-{uuid.uuid4().hex[:8]}"
    marker = tmp_path / "exit-code"
    command = (
        # No COLUMNS/LINES from the test's environment: the console sizes itself to the pane.
        f"cd {tmp_path} && env -u COLUMNS -u LINES AGENTOPS_TOKEN={viewer} {BIN} tui --connect {server.url}; "
        f"echo $? > {marker}; "
        "echo SHELL-BACK"
    )
    tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "40", command + "; sleep 60")
    try:
        first = wait_screen(session, lambda s: "vic, viewer" in s, 30, "the header naming the server and token")
        assert server.url in first and "read-only" in first
        subprocess.run(
            [
                "curl",
                "-sf",
                "-H",
                f"Authorization: Bearer {operator}",
                "-H",
                "content-type: application/json",
                "-d",
                '{"agent": "drafting", "input": {"topic": "remote"}}',
                f"{server.url}/v1/tasks",
            ],
            check=True,
            capture_output=True,
        )
        wait_screen(session, lambda s: "drafting" in s and "succeeded" in s, 60, "the task streamed in over SSE")
        tmux("send-keys", "-t", session, "q")
        wait_screen(session, lambda s: "SHELL-BACK" in s, 20, "the shell after q")
        assert marker.read_text().strip() == "0"
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False, capture_output=True)
    assert server.stop() == 0
