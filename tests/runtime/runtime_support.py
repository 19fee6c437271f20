"""Helpers shared by the runtime tests: start a runtime on a registry, wait for a task's status."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from agentops.runtime import Registry, Runtime


async def start(settings: Any, registry: Registry | None, workers: bool = False) -> Runtime:
    """A started runtime, ready for calls (stop it yourself)."""
    rt = Runtime(settings, registry, workers=workers)
    await rt.start()
    await rt.wait_ready()
    return rt


async def wait_status(rt: Runtime, task_id: str, *statuses: str, timeout: float = 10) -> Any:
    """The task once it has one of ``statuses`` (AssertionError after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = await rt.store.get_task(task_id)
        if task is not None and task.status in statuses:
            return task
        await asyncio.sleep(0.02)
    raise AssertionError(f"task {task_id} never reached {statuses}: {await rt.store.get_task(task_id)}")
