"""Shared fixtures: settings for a temp store and a fast simulator, and a started runtime."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from agentops.runtime import Registry, Runtime, Settings

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

SettingsFactory = Callable[..., Settings]


@pytest.fixture
def make_settings(tmp_path: Path) -> SettingsFactory:
    """Build settings on a temp store with a zero-latency simulator and quick retries.

    Keyword arguments replace whole top-level sections (as dicts), e.g.
    ``make_settings(retry={"max_retries": 2})``; ``models`` sets simulator behaviour per model.
    """

    def build(models: dict[str, Any] | None = None, **sections: Any) -> Settings:
        base: dict[str, Any] = {
            "store": {"path": str(tmp_path / "agentops.db"), "flush_interval_ms": 5},
            "retry": {"max_retries": 3, "base_delay_s": 0.01, "max_delay_s": 0.05, "deadline_s": 10.0},
            "circuit": {
                "min_calls": 4,
                "consecutive_failures": 3,
                "cooldown_s": 0.3,
                "window_s": 30.0,
                "close_after": 1,
            },
            "simulator": {
                "enabled": True,
                "seed": 1,
                "default": {"latency_ms": 0, "latency_sigma": 0},
                "models": models or {},
            },
        }
        for key, value in sections.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                base[key] = {**base[key], **value}
            else:
                base[key] = value
        return _settings(base)

    return build


def _settings(data: dict[str, Any]) -> Settings:
    return Settings(**data)


@pytest.fixture
async def runtime(make_settings: SettingsFactory) -> AsyncIterator[Runtime]:
    """A started runtime with the sample agents, on default test settings, ready for calls."""
    rt = Runtime(make_settings())
    await rt.start()
    await rt.wait_ready()
    yield rt
    await rt.stop()


@pytest.fixture
async def make_runtime() -> AsyncIterator[Callable[..., Any]]:
    """Start runtimes on given settings (and registry); all are stopped after the test."""
    started: list[Runtime] = []

    async def start(settings: Settings, registry: Registry | None = None) -> Runtime:
        rt = Runtime(settings, registry)
        await rt.start()
        await rt.wait_ready()
        started.append(rt)
        return rt

    yield start
    for rt in started:
        await rt.stop()


class ServeProcess:
    """``agentops serve`` in a subprocess on a temp store: start, talk to, stop."""

    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.tmp, self.env = tmp, env
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.lines: list[str] = []
        self.started_in_s = 0.0
        """Seconds from spawning the process to its announce line (it serves from then on)."""

    def start(self, port: int = 0, **env: str) -> ServeProcess:
        agentops = str(Path(sys.executable).with_name("agentops"))
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [agentops, "serve", "--port", str(port)],
            env={**self.env, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.proc.stdout is not None
        ready: queue.Queue[str] = queue.Queue()

        def read() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                self.lines.append(line.rstrip("\n"))
                if "control API on " in line:
                    ready.put(line)
            ready.put("")

        threading.Thread(target=read, daemon=True).start()
        line = ready.get(timeout=60)
        assert line, "agentops serve exited:\n" + "\n".join(self.lines)
        self.started_in_s = time.monotonic() - t0
        self.url = line.split("control API on ", 1)[1].split()[0]
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        """Signal the server and wait for it to exit; returns its exit status."""
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def serve_process(tmp_path: Path) -> Iterator[Callable[..., ServeProcess]]:
    """Start ``agentops serve`` subprocesses on one temp store (killed after the test if still running).

    Keyword arguments are environment variables (``AGENTOPS_*`` overrides, tokens).
    """
    made: list[ServeProcess] = []

    def make(**env: str) -> ServeProcess:
        base = {
            **os.environ,
            "AGENTOPS_CONFIG": str(ROOT / "config.toml"),
            "AGENTOPS_STORE__PATH": str(tmp_path / "agentops.db"),
            "AGENTOPS_WORKERS__POLL_S": "0.1",
            **env,
        }
        server = ServeProcess(tmp_path, base)
        made.append(server)
        return server

    yield make
    for server in made:
        server.kill()
