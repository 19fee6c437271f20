"""The HTTP link to ``agentops serve``: authenticated requests whose refusals become the runtime's
own errors, and the live event stream relayed into a local bus.

Events arrive over Server-Sent Events and are relayed into an
:class:`~agentops.runtime.events.EventBus`, so a subscriber sees them exactly as in-process.
When the stream drops, the link reconnects with exponential backoff and jitter, sending
``Last-Event-ID`` so the server replays what was missed; after any reconnection a
``stream.reset`` event tells subscribers to reload (requests may have failed meanwhile).
:attr:`ApiLink.connection_state` says what the link is doing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from agentops.runtime.errors import (
    ConfigError,
    ConflictError,
    DecisionError,
    NotFoundError,
    RemoteError,
    TaskInputError,
    UnknownAgentError,
)
from agentops.runtime.events import Event, EventBus, Subscription

__all__ = ["ApiLink"]

_ERRORS: dict[str, type[Exception]] = {
    "ConfigError": ConfigError,
    "NotFoundError": NotFoundError,
    "ConflictError": ConflictError,
    "DecisionError": DecisionError,
    "TaskInputError": TaskInputError,
    "UnknownAgentError": UnknownAgentError,
}


class ApiLink:
    """Requests to one server with one token, and its event stream.

    Args:
        url: the server's base URL.
        token: a bearer token.
        timeout_s: per request.
        backoff_max_s: longest wait between reconnection attempts of the event stream.
        transport: an httpx transport (tests).
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout_s: float = 10.0,
        backoff_max_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._client = httpx.AsyncClient(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout_s,
            transport=transport,
        )
        self.backoff_max_s = backoff_max_s
        self.connection_state = "connecting"
        """``connected``, or what is wrong and when the next attempt is."""
        self.reconnects = 0
        self._bus = EventBus()
        self._pump: asyncio.Task[None] | None = None
        self._last_event_id: str | None = None
        self._opened = False

    async def close(self) -> None:
        """Stop the event stream and close the connection."""
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        await self._client.aclose()

    # -- requests ---------------------------------------------------------------------------

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """The response's JSON.

        Raises:
            RemoteError: unreachable, or refused (naming the URL, the status and why).
            NotFoundError, ConflictError, DecisionError, ...: the server's own error, raised here.
        """
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise RemoteError(f"{self.url}: cannot reach the control API: {exc or type(exc).__name__}") from None
        if response.is_success:
            return response.json()
        try:
            body = response.json()
        except ValueError:
            body = {"detail": response.text[:300]}
        detail = body.get("detail") if isinstance(body, dict) else body
        error = _ERRORS.get(body.get("error", "") if isinstance(body, dict) else "")
        if error is not None:
            raise error(str(detail))
        if isinstance(detail, list):  # a validation error: name the fields
            detail = "; ".join(f"{'.'.join(str(p) for p in d.get('loc', []))}: {d.get('msg')}" for d in detail)
        raise RemoteError(f"{self.url}{path}: {response.status_code} {detail}", response.status_code)

    async def get(self, path: str, **params: Any) -> Any:
        """GET with the query parameters that are not None."""
        return await self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """POST a JSON body."""
        return await self.request("POST", path, json=body)

    # -- live events ------------------------------------------------------------------------

    def subscribe(self, maxsize: int = 10_000) -> Subscription:
        """Live events relayed from the server (the stream starts with the first subscriber)."""
        if self._pump is None:
            self._pump = asyncio.get_running_loop().create_task(self._relay(), name="agentops-remote-events")
        return self._bus.subscribe(maxsize)

    async def _relay(self) -> None:
        """Relay the server's event stream into the local bus, reconnecting until closed."""
        failures = 0
        while True:
            try:
                await self._stream()
                failures = 0  # the server ended the stream (a drain): reconnect at once
                reason = "the server closed the stream"
            except Exception as exc:  # noqa: BLE001 - a bad event or a dropped link: reconnect, never die
                failures += 1
                reason = str(exc) or type(exc).__name__
            wait = min(self.backoff_max_s, 0.5 * 2 ** min(failures, 8)) * random.uniform(0.5, 1.0) if failures else 0.2
            self.connection_state = f"reconnecting in {wait:.0f}s ({reason[:80]})"
            await asyncio.sleep(wait)

    async def _stream(self) -> None:
        headers = {"Last-Event-ID": self._last_event_id} if self._last_event_id else {}
        timeout = httpx.Timeout(10.0, read=45.0)  # the server pings every 15 s
        async with aconnect_sse(self._client, "GET", "/v1/events", headers=headers, timeout=timeout) as source:
            if source.response.status_code != 200:
                await source.response.aread()
                raise RemoteError(f"event stream refused: {source.response.status_code}", source.response.status_code)
            async for sse in source.aiter_sse():
                if sse.id:
                    self._last_event_id = sse.id
                tail = sse.id.rpartition(":")[2] if sse.id else ""
                seq = int(tail) if tail.isascii() and tail.isdigit() else 0
                payload = json.loads(sse.data) if sse.data else {}
                if not isinstance(payload, dict):
                    continue
                if sse.event in ("stream.open", "stream.reset"):
                    self.connection_state = "connected"
                    if self._opened or sse.event == "stream.reset":
                        self.reconnects += self._opened
                        self._bus.deliver(Event(seq, "stream.reset", payload, time.time()))
                    self._opened = True
                    continue
                self._bus.deliver(
                    Event(
                        seq, payload.get("kind", sse.event), payload.get("data") or {}, payload.get("ts", time.time())
                    )
                )
