"""The control API's live event stream: ``GET /v1/events``, Server-Sent Events of the runtime's
events. A client that reconnects with ``Last-Event-ID`` gets what it missed while the server
still keeps it, or a ``stream.reset`` event telling it to reload; a client that falls behind
gets a ``stream.reset`` too."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import FastAPI, Header, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from agentops.runtime.control.api.schemas import ErrorBody
from agentops.runtime.control.api.state import ApiState, StreamSlot
from agentops.runtime.events import Event

__all__ = ["add_event_stream"]


def add_event_stream(app: FastAPI, state: ApiState) -> None:
    """Add ``GET /v1/events`` to the app."""

    @app.get("/v1/events", response_class=EventSourceResponse, responses={503: {"model": ErrorBody}})
    async def events(
        request: Request,
        who: StreamSlot,
        kinds: Annotated[str | None, Query(max_length=1000, description="comma-separated kinds or prefixes")] = None,
        last_event_id: Annotated[str | None, Header(max_length=100)] = None,
    ) -> AsyncIterator[ServerSentEvent]:
        """Live runtime events as Server-Sent Events; ``Last-Event-ID`` resumes after a drop."""
        bus = state.runtime.bus
        wanted = frozenset(k.strip() for k in kinds.split(",") if k.strip()) if kinds else None
        sub = bus.subscribe(20_000, kinds=wanted)
        state.streams[sub] = who.name
        try:
            after = _position(bus.epoch, last_event_id)
            backlog = [] if last_event_id is None else (bus.since(after, wanted) if after is not None else None)
            resumed = backlog is not None and after is not None
            position = after if after is not None and backlog is not None else bus.last_seq
            yield ServerSentEvent(
                event="stream.open" if backlog is not None else "stream.reset",
                id=f"{bus.epoch}:{position}",
                data={"epoch": bus.epoch, "resumed": resumed},
            )
            for e in backlog or []:
                yield _sse(bus.epoch, e)
            dropped = 0
            async for e in sub:
                if sub.dropped != dropped:  # this client fell behind: it must reload
                    dropped = sub.dropped
                    yield ServerSentEvent(
                        event="stream.reset", id=f"{bus.epoch}:{e.seq - 1}", data={"dropped": dropped}
                    )
                yield _sse(bus.epoch, e)
                if await request.is_disconnected():
                    break
        finally:
            sub.close()
            state.streams.pop(sub, None)


def _position(epoch: str, last_event_id: str | None) -> int | None:
    """The seq a resuming client saw last; None if there is none, or it is from another process."""
    if not last_event_id:
        return None
    their_epoch, _, seq = last_event_id.partition(":")
    if their_epoch != epoch or not re.fullmatch(r"[0-9]{1,18}", seq):
        return None  # another process (a restart) or a malformed id: the client must reload
    return int(seq)


def _sse(epoch: str, e: Event) -> ServerSentEvent:
    return ServerSentEvent(event=e.kind, id=f"{epoch}:{e.seq}", data={"kind": e.kind, "ts": e.ts, "data": e.data})
