"""The console on ``RemoteControl`` to a real ``agentops serve`` process: live traces over SSE,
a lost connection shown in the header and recovered from without a restart, viewer tokens read-only.
"""

from __future__ import annotations

import json
import socket

import httpx
import pytest
from console_support import wait_for
from textual.widgets import DataTable

from agentops.console.app import ConsoleApp
from agentops.console.screens import CircuitsScreen, CostsScreen, EscalationsScreen, TracesScreen
from agentops.runtime.control.remote import RemoteControl

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

OPERATOR, VIEWER = "operator-secret-0123456789", "viewer-secret-0123456789"
TOKENS = f"ana:operator:{OPERATOR} vic:viewer:{VIEWER}"
FAST = json.dumps({"gpt-4o-mini": {"latency_ms": 0}})
SIZE = (120, 36)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def submit(url: str, topic: str) -> str:
    r = httpx.post(
        f"{url}/v1/tasks",
        json={"agent": "drafting", "input": {"topic": topic}},
        headers={"Authorization": f"Bearer {OPERATOR}"},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["task"]["id"])


def header(app: ConsoleApp) -> str:
    return str(app.screen.query_one("StatusBar").render())


async def test_remote_console_shows_a_lost_connection_and_recovers_without_a_restart(serve_process):
    port = free_port()
    server = serve_process(AGENTOPS_TOKENS=TOKENS, AGENTOPS_SIMULATOR__MODELS=FAST).start(port=port)
    controls: list[RemoteControl] = []

    async def connect() -> RemoteControl:
        controls.append(await RemoteControl.connect(server.url, OPERATOR, backoff_max_s=1.0))
        return controls[0]

    app = ConsoleApp(connect, connection=server.url, status_s=0.3)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.phase == "ready", what="ready")
        screen = app.screen
        assert isinstance(screen, TracesScreen)
        submit(server.url, "before the drop")
        await wait_for(pilot, lambda: screen.table.row_count == 1, what="the first task streamed in")

        assert server.stop() == 0
        await wait_for(pilot, lambda: app.phase.startswith("connection lost"), what="the header says the link is down")
        assert "connection lost" in header(app)

        successor = serve_process(AGENTOPS_TOKENS=TOKENS, AGENTOPS_SIMULATOR__MODELS=FAST).start(port=port)
        await wait_for(pilot, lambda: app.phase == "ready", timeout=60, what="recovered")
        await wait_for(pilot, lambda: controls[0].connection_state == "connected", what="event stream back")
        assert controls[0].reconnects >= 1
        submit(successor.url, "after the drop")
        await wait_for(pilot, lambda: screen.table.row_count == 2, what="live again: the new task streamed in")
        assert successor.stop() == 0
    await controls[0].close()


async def test_a_viewer_token_makes_the_remote_console_read_only(serve_process):
    server = serve_process(AGENTOPS_TOKENS=TOKENS, AGENTOPS_SIMULATOR__MODELS=FAST).start()
    controls: list[RemoteControl] = []

    async def connect() -> RemoteControl:
        controls.append(await RemoteControl.connect(server.url, VIEWER))
        app.read_only = controls[0].role == "viewer"  # as `agentops tui --connect` does
        return controls[0]

    app = ConsoleApp(connect, connection=server.url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.phase == "ready", what="ready")
        await pilot.press("2")  # every screen works over the API as in-process
        await wait_for(pilot, lambda: isinstance(app.screen, CircuitsScreen))
        table = app.screen.query_one("#circuits", DataTable)
        await wait_for(pilot, lambda: table.row_count == 3, what="three deployments' breakers")
        await pilot.press("3")
        await wait_for(pilot, lambda: isinstance(app.screen, CostsScreen))
        await pilot.press("4")
        await wait_for(pilot, lambda: isinstance(app.screen, EscalationsScreen))
        assert "read-only" in header(app)
        for action in EscalationsScreen.WRITE_ACTIONS:
            assert app.screen.check_action(action, ()) is False
    await controls[0].close()
    assert server.stop() == 0
