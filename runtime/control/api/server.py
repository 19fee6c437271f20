"""``agentops serve``: the runtime, its workers and the control API in one headless process.

Start order is what makes the API answer within a second: the store opens, the
socket is bound and uvicorn serves, while litellm still imports in a thread
(``/readyz`` says 503 until it has; queued tasks wait for it).

Signals: SIGTERM or SIGINT drains (``/readyz`` turns 503, workers stop claiming,
running tasks get ``api.drain_grace_s`` to finish and the rest are handed back to the
queue, live event streams end, the HTTP server closes, the store is flushed and
closed); SIGHUP re-reads the configuration file and applies what can change live.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict
from pathlib import Path

import uvicorn

from agentops.runtime.config import Settings, load_settings
from agentops.runtime.control.api.app import ApiState, create_app
from agentops.runtime.control.api.auth import TOKENS_ENV, TokenSet, is_loopback, local_token_file, make_local_token
from agentops.runtime.engine import Reload, Runtime
from agentops.runtime.errors import ConfigError
from agentops.runtime.logs import get_logger

__all__ = ["serve"]

log = get_logger("agentops.serve")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: :func:`serve` drains on signals itself."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"api.host/api.port: cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    return sock


def _tokens(host: str) -> TokenSet | None:
    """The configured tokens; None means "make a local admin token" (loopback only)."""
    tokens = TokenSet.from_env()
    if tokens:
        return tokens
    if not is_loopback(host):
        raise ConfigError(
            f"api.host is {host!r}, not a loopback address: refusing to serve without tokens; "
            f"set ${TOKENS_ENV} (name:role:secret, ...) first"
        )
    return None


async def serve(
    settings: Settings,
    *,
    config_path: Path | None = None,
    host: str | None = None,
    port: int | None = None,
    announce: Callable[[str], None] = print,
    stop: asyncio.Event | None = None,
    on_listening: Callable[[str, Runtime], None] | None = None,
) -> int:
    """Serve until SIGTERM/SIGINT (or ``stop`` is set), then drain. Returns the exit status.

    ``on_listening`` receives the base URL and the runtime once requests are served.

    Raises:
        ConfigError: no tokens for a non-loopback address, the port is taken, bad TLS files.
    """
    api = settings.api
    host = host or api.host
    port = api.port if port is None else port
    tokens = _tokens(host)
    sock = _bind(host, port)
    tls = {"ssl_certfile": str(api.tls_certfile), "ssl_keyfile": str(api.tls_keyfile)} if api.tls_certfile else {}
    url = f"{'https' if tls else 'http'}://{_url_host(host)}:{sock.getsockname()[1]}"
    if tokens is None:
        path = local_token_file(settings.store.path)
        try:
            tokens = TokenSet([("local", "admin", make_local_token(path, url))])
        except (OSError, ConfigError) as exc:
            sock.close()
            raise ConfigError(f"{path}: cannot keep the local admin token there: {exc}") from None
        token_note = f"local admin token for {url} in {path} (mode 600)"
    else:
        token_note = f"{len(tokens)} token(s) from ${TOKENS_ENV}"
    if not tls and not is_loopback(host):
        log.warning(
            "serving plain HTTP on a non-loopback address: tokens cross the network in clear text; "
            "set api.tls_certfile/api.tls_keyfile or put a TLS-terminating proxy in front",
            host=host,
        )
    runtime = Runtime(settings, workers=True, event_history=api.event_history)
    try:
        await runtime.start(load_providers=False)  # litellm's import would slow the server's start
    except BaseException:
        sock.close()
        raise

    async def reload(actor: str, via: str) -> Reload:
        result = runtime.reload(load_settings(config_path))
        state.set_rates(runtime.settings.api)
        await state.control.record_action(actor, via, "config.reload", "config", asdict(result))
        return result

    state = ApiState(runtime, tokens, api, reload)
    state.metrics.start()
    server = _Server(
        uvicorn.Config(
            create_app(state),
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
            server_header=False,
            limit_concurrency=api.max_connections,
            **tls,  # type: ignore[arg-type]
        )
    )
    loop = asyncio.get_running_loop()
    stop = stop or asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    reloads: set[asyncio.Task[None]] = set()

    def on_hup() -> None:
        task = loop.create_task(_reload_on_signal(reload))
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    loop.add_signal_handler(signal.SIGHUP, on_hup)
    serving = loop.create_task(server.serve(sockets=[sock]), name="agentops-http")
    try:
        while not server.started and not serving.done():  # noqa: ASYNC110 - uvicorn offers a flag, not an event
            await asyncio.sleep(0.005)
        if serving.done():
            serving.result()  # raises what stopped it
            raise ConfigError(f"the control API on {host}:{port} stopped at start")
        announce(
            f"agentops serve: control API on {url} ({token_note}); "
            f"{settings.workers.concurrency} workers on {settings.store.path}; SIGTERM drains"
        )
        runtime.load_providers()  # now, in a thread; /readyz says 503 until it is done
        if on_listening is not None:
            on_listening(url, runtime)
        stopping = loop.create_task(stop.wait())
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if serving.done():  # the HTTP server died: do not run workers without an API
            stopping.cancel()
            serving.result()
            raise ConfigError("the control API stopped unexpectedly")
        announce(f"agentops serve: draining (running tasks get {runtime.settings.api.drain_grace_s:g}s)")
        state.draining = True
        interrupted = await runtime.pool.stop(runtime.settings.api.drain_grace_s) if runtime.pool else 0
        state.close_streams()
        server.should_exit = True
        await serving
        stats = runtime.pool.stats() if runtime.pool else None
        if stats is not None:
            announce(
                f"agentops serve: stopped: {stats.completed} completed, {stats.failed} failed, "
                f"{interrupted} handed back to the queue"
            )
        return 0
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)
        if not serving.done():
            server.should_exit = True
            with contextlib.suppress(BaseException):
                await serving
        await state.metrics.stop()
        await runtime.stop(grace_s=0)
        sock.close()


async def _reload_on_signal(reload: Callable[[str, str], Awaitable[Reload]]) -> None:
    try:
        await reload("signal", "runtime")
    except Exception as exc:  # noqa: BLE001 - a bad file must not take the server down
        log.error("configuration reload refused; the running configuration is kept", error=str(exc))


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
