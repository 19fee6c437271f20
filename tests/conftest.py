"""Shared fixtures: settings for a temp store and a fast simulator, and a started runtime."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from agentops.runtime import Registry, Runtime, Settings

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

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
