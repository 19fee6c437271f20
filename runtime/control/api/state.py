"""What the control API's routes share, and who may call them: the state of one server, bearer
tokens with roles checked per route, per-token request rates, and event-stream slots."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request
from pydantic import StringConstraints

from agentops.runtime.calls import TokenBucket
from agentops.runtime.config import ApiSettings
from agentops.runtime.control.api.auth import Principal, TokenSet, role_allows
from agentops.runtime.control.api.metrics import RuntimeMetrics
from agentops.runtime.control.api.schemas import ErrorBody
from agentops.runtime.control.local import LocalControl
from agentops.runtime.engine import Reload, Runtime
from agentops.runtime.events import Subscription
from agentops.runtime.logs import get_logger

__all__ = [
    "ERRORS",
    "MAX_STREAMS_PER_TOKEN",
    "Admin",
    "ApiState",
    "Limit",
    "Operator",
    "Refused",
    "Since",
    "StreamSlot",
    "TaskId",
    "Viewer",
    "api_state",
    "principal",
]

log = get_logger("agentops.api")

MAX_STREAMS_PER_TOKEN = 4
"""Live event streams one token may hold open at once."""


class ApiState:
    """What the routes share: the runtime, its control, tokens, limits, metrics, and drain state."""

    def __init__(
        self,
        runtime: Runtime,
        tokens: TokenSet,
        settings: ApiSettings,
        reload: Callable[[str, str], Awaitable[Reload]] | None = None,
    ) -> None:
        self.runtime = runtime
        self.control = LocalControl.of(runtime)
        self.tokens = tokens
        self.settings = settings
        self.metrics = RuntimeMetrics(runtime)
        self.reload = reload
        self.draining = False
        self._buckets: dict[str, TokenBucket] = {}
        self.streams: dict[Subscription, str] = {}
        """The open event streams' subscriptions and their tokens (closed on drain, which ends them)."""

    def close_streams(self) -> None:
        """End every live event stream (clients reconnect, to this server or its successor)."""
        for sub in list(self.streams):
            sub.close()
        self.streams.clear()

    def bucket(self, name: str) -> TokenBucket:
        """The request-rate bucket of one token."""
        b = self._buckets.get(name)
        if b is None:
            b = self._buckets[name] = TokenBucket(self.settings.rate_per_min / 60.0, self.settings.rate_burst)
        return b

    def set_rates(self, settings: ApiSettings) -> None:
        """Apply new rate limits (a configuration reload)."""
        self.settings = settings
        for b in self._buckets.values():
            b.reconfigure(settings.rate_per_min / 60.0, settings.rate_burst)


class Refused(Exception):
    """A request refused before its route runs (no token, over its rate, not its role, draining)."""

    def __init__(self, status_code: int, detail: str, headers: dict[str, str] | None = None) -> None:
        self.status_code, self.detail, self.headers = status_code, detail, headers


def api_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.api
    return state


def principal(needed: str) -> Callable[..., Awaitable[Principal]]:
    async def dependency(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal:
        # async: runs on the event loop (a plain def would run in a thread pool, racing the buckets)
        st = api_state(request)
        scheme, _, secret = (authorization or "").partition(" ")
        principal = st.tokens.authenticate(secret.strip()) if scheme.lower() == "bearer" and secret else None
        if principal is None:
            client = request.client.host if request.client else "?"
            log.warning("refused a request without a valid token", client=client, path=request.url.path)
            raise Refused(401, "a valid bearer token is required", {"WWW-Authenticate": "Bearer"})
        wait = st.bucket(principal.name).try_take()
        if wait > 0:
            raise Refused(
                429,
                f"token {principal.name!r} is over its rate of {st.settings.rate_per_min} requests/minute",
                {"Retry-After": str(max(1, math.ceil(wait)))},
            )
        if not role_allows(principal.role, needed):
            raise Refused(403, f"token {principal.name!r} has role {principal.role!r}; this needs {needed!r}")
        return principal

    return dependency


Viewer = Annotated[Principal, Depends(principal("viewer"))]
Operator = Annotated[Principal, Depends(principal("operator"))]
Admin = Annotated[Principal, Depends(principal("admin"))]
TaskId = Annotated[str, StringConstraints(max_length=64)]


async def stream_slot(request: Request, who: Viewer) -> Principal:
    """A viewer may open one more event stream (refused before the stream's response starts)."""
    state = api_state(request)
    if state.draining:
        raise Refused(503, "the server is draining; reconnect to its successor", {"Retry-After": "1"})
    if sum(1 for name in state.streams.values() if name == who.name) >= MAX_STREAMS_PER_TOKEN:
        raise Refused(429, f"token {who.name!r} already holds {MAX_STREAMS_PER_TOKEN} event streams")
    return who


StreamSlot = Annotated[Principal, Depends(stream_slot)]
Since = Annotated[float, Query(ge=0, allow_inf_nan=False, description="Unix time")]
Limit = Annotated[int, Query(ge=1, le=5000)]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody},
    403: {"model": ErrorBody},
    429: {"model": ErrorBody},
}
