"""The simulator server, to run inside the caller's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType

from ._app import SimulatorApp
from ._config import ModelBehaviour, SimConfig
from ._http import HttpServer
from ._stats import SimStats

__all__ = ["Simulator", "serve_forever"]


class Simulator:
    """An OpenAI-compatible LLM server that answers deterministically.

    It runs in the current event loop (no thread, no subprocess), binds in a
    few milliseconds and stops at once, cutting any request still in flight.

    Example:
        ```python
        async with Simulator(SimConfig(default=ModelBehaviour(latency_ms=0))) as sim:
            await litellm.acompletion(
                model="openai/gpt-4o-mini", api_base=sim.base_url + "/v1",
                api_key="sim", messages=[{"role": "user", "content": "hi"}],
            )
            assert sim.stats.model("gpt-4o-mini").requests == 1
        ```

    Args:
        config: What to bind and how each model behaves; defaults apply when
            omitted.
    """

    def __init__(self, config: SimConfig | None = None) -> None:
        self._app = SimulatorApp(config if config is not None else SimConfig())
        self._http: HttpServer | None = None
        self._base_url: str | None = None

    @property
    def config(self) -> SimConfig:
        """The configuration in force."""
        return self._app.config

    @property
    def base_url(self) -> str:
        """Root URL of the running server, e.g. ``http://127.0.0.1:54321``.

        Clients use ``base_url + "/v1"`` as their OpenAI API base.

        Raises:
            RuntimeError: The server is not running.
        """
        if self._base_url is None:
            raise RuntimeError("the simulator is not running: call `await sim.start()` first")
        return self._base_url

    @property
    def stats(self) -> SimStats:
        """A snapshot of the counters (it does not change as requests arrive)."""
        return self._app.stats.snapshot()

    @property
    def batch_stats(self) -> dict[str, int]:
        """Batch API counters: jobs ``created``, ``lines_answered``, ``lines_failed``, ``files`` held."""
        return self._app.batches.stats()

    @property
    def running(self) -> bool:
        """Whether the server is accepting connections."""
        return self._http is not None

    async def start(self) -> None:
        """Bind the configured address and start serving in the running loop.

        Raises:
            RuntimeError: Already running.
            OSError: The address cannot be bound.
        """
        if self._http is not None:
            raise RuntimeError("the simulator is already running")
        server = HttpServer(self._app.handle)
        host, port = await server.start(self.config.host, self.config.port)
        self._http = server
        self._app.mark_started()
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
        self._base_url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    async def stop(self) -> None:
        """Stop serving; requests in flight are cut. Safe to call twice."""
        server, self._http, self._base_url = self._http, None, None
        if server is not None:
            await server.stop()

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def reconfigure(self, config: SimConfig) -> None:
        """Replace the whole configuration, effective from the next request.

        ``host`` and ``port`` are ignored while running. Per-model state
        (random streams, reply cycles, rate windows, prompt caches) is kept,
        unless ``seed`` changes, which restarts it.
        """
        self._app.reconfigure(config)

    def set_behaviour(self, model: str, behaviour: ModelBehaviour) -> None:
        """Set the behaviour of one model, effective from the next request.

        Args:
            model: Model name as the client sends it.
            behaviour: Its new behaviour; scripted reply and status cycles
                start again from their first entry.
        """
        self._app.set_behaviour(model, behaviour)

    def start_outage(self, model: str, duration_s: float) -> None:
        """Begin an outage now: every request to ``model`` gets 503 for ``duration_s``.

        Args:
            model: Model name, or ``"*"`` for every model.
            duration_s: Length of the outage in seconds.
        """
        self._app.start_outage(model, duration_s)

    def reset_stats(self) -> None:
        """Zero the counters; behaviour and per-model state are kept."""
        self._app.stats = SimStats()

    def reset(self) -> None:
        """Zero the counters and forget per-model state, as ``POST /sim/reset`` does."""
        self._app.reset()


async def serve_forever(config: SimConfig, on_ready: Callable[[str], None] | None = None) -> None:
    """Run a simulator until cancelled (the ``agentops sim`` command).

    Args:
        config: The simulator's configuration.
        on_ready: Called once with the base URL when the server is listening.
    """
    async with Simulator(config) as sim:
        if on_ready is not None:
            on_ready(sim.base_url)
        await asyncio.Event().wait()
