"""Starting the console: ``agentops tui`` and ``agentops demo`` build the app here.

Import order is the point of this module. Only Textual and the console load before
the first paint; ``agentops.runtime`` (pydantic, the simulator, …) is imported in a
thread once the first frame is on screen, and litellm after that, inside the
runtime. The header says "starting runtime" meanwhile.
"""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentops.console.app import ConnectError, ConsoleApp
from agentops.console.logfile import log_to_file

if TYPE_CHECKING:
    from agentops.runtime import Control

__all__ = ["run_demo_console", "run_remote_tui", "run_tui"]


async def _import_runtime() -> Any:
    return await asyncio.to_thread(importlib.import_module, "agentops.runtime")


async def run_tui(config: Path | None, *, read_only: bool = False, log_level: str | None = None) -> int:
    """``agentops tui``: the console on the runtime of ``config``, with its workers, in this process."""
    runtime: Any = None

    async def connect() -> Control:
        nonlocal runtime
        rt_mod = await _import_runtime()
        try:
            settings = rt_mod.load_settings(config)
        except rt_mod.ConfigError as exc:
            raise ConnectError(f"agentops tui: {exc}") from None
        log_to_file(Path(settings.store.path).parent / "console.log", log_level or settings.log.level)
        # The developer's runtime: its workers run queued tasks (from `agentops submit`,
        # say) and resume the ones the operator decides on here.
        runtime = rt_mod.Runtime(settings, workers=True)
        try:
            await runtime.start()
        except rt_mod.ConfigError as exc:
            raise ConnectError(f"agentops tui: {exc}") from None
        control: Control = rt_mod.LocalControl.of(runtime)
        return control

    app = ConsoleApp(connect, connection="in-process", read_only=read_only)
    try:
        code = await app.run_async()
    finally:
        if runtime is not None:
            await runtime.stop(grace_s=2.0)  # interrupted tasks resume from their journals later
    return _exit_code(app, code)


async def run_remote_tui(url: str, config: Path | None, *, read_only: bool = False) -> int:
    """``agentops tui --connect URL``: the console on a runtime served by ``agentops serve``.

    The token is ``$AGENTOPS_TOKEN`` (or, for a server on this machine, the admin token it
    wrote next to the configured store). A viewer token hides every action.
    """
    control: Any = None

    async def connect() -> Control:
        nonlocal control
        rt_mod = await _import_runtime()
        remote = await asyncio.to_thread(importlib.import_module, "agentops.runtime.control.remote")
        try:
            try:
                store_path = rt_mod.load_settings(config).store.path  # only to find a local token
            except rt_mod.ConfigError:
                store_path = None
            control = await remote.RemoteControl.connect(url, remote.resolve_token(url, store_path))
        except rt_mod.RemoteError as exc:
            raise ConnectError(f"agentops tui --connect {url}: {exc}") from None
        if control.role == "viewer":
            app.read_only = True
        app.connection = f"{url} ({control.name}, {control.role})"
        result: Control = control
        return result

    app = ConsoleApp(connect, connection=url, read_only=read_only)
    try:
        code = await app.run_async()
    finally:
        if control is not None:
            await control.close()
    return _exit_code(app, code)


async def run_demo_console(
    *,
    seed: int,
    rate: float,
    workers: int,
    read_only: bool = False,
    duration_s: float | None = None,
    log_level: str = "warning",
) -> int:
    """``agentops demo``: the simulated system with its fault schedule, and the console on it."""
    demo: Any = None

    async def connect() -> Control:
        nonlocal demo
        await _import_runtime()
        demo_mod = await asyncio.to_thread(importlib.import_module, "agentops.runtime.demo")
        demo = demo_mod.Demo(seed=seed, rate=rate, workers=workers)
        log_to_file(Path(demo.settings.store.path).parent / "demo.log", log_level)
        control: Control = await demo.start()
        return control

    app = ConsoleApp(connect, connection=f"in-process · demo seed {seed}, {rate:g}/s", read_only=read_only)
    if duration_s is not None:
        app.exit_after = duration_s
    try:
        code = await app.run_async()
    finally:
        if demo is not None:
            await demo.stop()
    return _exit_code(app, code)


def _exit_code(app: ConsoleApp, code: int | None) -> int:
    if app.return_code:
        return app.return_code
    return code or 0
