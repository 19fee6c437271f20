"""Helpers for console tests: an app that owns its runtime, waiting on conditions."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from agentops.console.app import ConsoleApp
from agentops.runtime import Control, LocalControl, Runtime


class ConsoleTestApp(ConsoleApp):
    """The console on a runtime it starts in its own event loop (as snapshot tests need) and stops at exit."""

    def __init__(self, start: Callable[[], Awaitable[Runtime]], **kwargs: Any) -> None:
        self.runtime: Runtime | None = None

        async def connect() -> Control:
            self.runtime = await start()
            return LocalControl.of(self.runtime)

        super().__init__(connect, **kwargs)

    async def on_unmount(self) -> None:
        if self.runtime is not None:
            await self.runtime.stop()


async def wait_for(pilot: Any, condition: Callable[[], Any], timeout: float = 60.0, what: str = "") -> None:
    """Let the app run until ``condition()`` is true (fail after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(0.05)


def control_of(runtime: Runtime) -> Callable[[], Awaitable[Control]]:
    """A connect function over an already started runtime."""

    async def connect() -> Control:
        return LocalControl.of(runtime)

    return connect
