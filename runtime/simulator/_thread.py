"""The simulator on a thread of its own, for synchronous callers and benchmarks.

A benchmark measuring the runtime's own overhead wants the simulator's CPU
off its event loop; synchronous code has no loop to share at all.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

from ._config import ModelBehaviour, SimConfig
from ._server import Simulator
from ._stats import SimStats

__all__ = ["SimulatorThread"]

_T = TypeVar("_T")
_START_TIMEOUT_S = 10.0


class SimulatorThread:
    """A :class:`Simulator` serving from its own thread and event loop.

    Example:
        ```python
        with SimulatorThread(SimConfig()) as sim:
            httpx.post(sim.base_url + "/v1/chat/completions", json=...)
            print(sim.stats.requests)
        ```

    Args:
        config: The simulator's configuration.
    """

    def __init__(self, config: SimConfig | None = None) -> None:
        self._simulator = Simulator(config)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> SimulatorThread:
        """Start the thread and wait until the server listens.

        Raises:
            RuntimeError: Already started, or the server did not come up.
            OSError: The address cannot be bound.
        """
        if self._thread is not None:
            raise RuntimeError("the simulator thread is already started")
        self._thread = threading.Thread(target=self._run, name="agentops-sim", daemon=True)
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT_S):
            raise RuntimeError(f"the simulator did not start within {_START_TIMEOUT_S:g} s")
        if self._error is not None:
            self._thread.join()
            self._thread = None
            raise self._error
        return self

    def stop(self) -> None:
        """Stop the server and join its thread. Safe to call twice."""
        thread, loop, stopping = self._thread, self._loop, self._stopping
        self._thread = None
        if thread is None:
            return
        if loop is not None and stopping is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stopping.set)
        thread.join()

    def __enter__(self) -> SimulatorThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """Root URL of the server, e.g. ``http://127.0.0.1:54321``."""
        return self._simulator.base_url

    @property
    def stats(self) -> SimStats:
        """A snapshot of the counters, taken on the server's loop."""
        return self._call(lambda: self._simulator.stats)

    def reconfigure(self, config: SimConfig) -> None:
        """See :meth:`Simulator.reconfigure`."""
        self._call(lambda: self._simulator.reconfigure(config))

    def set_behaviour(self, model: str, behaviour: ModelBehaviour) -> None:
        """See :meth:`Simulator.set_behaviour`."""
        self._call(lambda: self._simulator.set_behaviour(model, behaviour))

    def start_outage(self, model: str, duration_s: float) -> None:
        """See :meth:`Simulator.start_outage`."""
        self._call(lambda: self._simulator.start_outage(model, duration_s))

    def reset_stats(self) -> None:
        """See :meth:`Simulator.reset_stats`."""
        self._call(self._simulator.reset_stats)

    def reset(self) -> None:
        """See :meth:`Simulator.reset`."""
        self._call(self._simulator.reset)

    def _call(self, fn: Callable[[], _T]) -> _T:
        """Run ``fn`` on the server's loop, so it never races a request."""
        loop = self._loop
        if loop is None or self._thread is None:
            raise RuntimeError("the simulator thread is not running: call start() first")
        future: concurrent.futures.Future[_T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn())
            except Exception as exc:  # noqa: BLE001 - handed to the calling thread
                future.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return future.result(timeout=_START_TIMEOUT_S)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # noqa: BLE001 - reported to start()
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._stopping = asyncio.Event()
        await self._simulator.start()
        self._loop = asyncio.get_running_loop()
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            await self._simulator.stop()
