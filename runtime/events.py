"""The in-process event bus.

Every state change of the runtime (task started, span ended, circuit opened, …) is
published here; the console, metrics and exporters subscribe. Publishing never
blocks and never fails: each subscriber has a bounded buffer, and a subscriber that
falls behind loses its oldest events (counted in :attr:`Subscription.dropped`)
instead of slowing the runtime down.

The bus also keeps the last ``history`` events, so a remote subscriber that lost its
connection can resume from the last event it saw (:meth:`EventBus.since`). Event ids
are ``seq`` within one process; :attr:`EventBus.epoch` tells processes apart.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Event", "EventBus", "Subscription"]


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened.

    Attributes:
        seq: increasing number, unique within the process.
        kind: dotted name, e.g. ``task.finished``, ``span.ended``, ``circuit.transition``.
        data: JSON-serialisable details.
        ts: wall-clock time.
    """

    seq: int
    kind: str
    data: dict[str, Any]
    ts: float


@dataclass(eq=False)
class Subscription:
    """A bounded buffer of events for one subscriber. Iterate it, or call :meth:`drain`."""

    bus: EventBus
    maxsize: int
    kinds: frozenset[str] | None
    dropped: int = 0
    _buffer: deque[Event] = field(default_factory=deque, repr=False)
    _ready: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    _closed: bool = False

    def _offer(self, event: Event) -> None:
        if self.kinds is not None and not _matches(event.kind, self.kinds):
            return
        if len(self._buffer) >= self.maxsize:
            self._buffer.popleft()
            self.dropped += 1
        self._buffer.append(event)
        self._ready.set()

    def drain(self) -> list[Event]:
        """Everything buffered now, oldest first (no waiting)."""
        out = list(self._buffer)
        self._buffer.clear()
        self._ready.clear()
        return out

    async def wait(self, timeout: float | None = None) -> list[Event]:
        """Wait until at least one event is buffered (or ``timeout``), then drain."""
        if not self._buffer and not self._closed:
            try:
                await asyncio.wait_for(self._ready.wait(), timeout)
            except TimeoutError:
                return []
        return self.drain()

    def close(self) -> None:
        """Stop receiving events; a waiting iterator ends."""
        self._closed = True
        self.bus._unsubscribe(self)
        self._ready.set()

    async def __aiter__(self) -> AsyncIterator[Event]:
        while not self._closed:
            for event in await self.wait():
                yield event


def _matches(kind: str, kinds: frozenset[str]) -> bool:
    # "circuit" matches "circuit.transition"; an exact kind matches itself.
    return kind in kinds or kind.split(".", 1)[0] in kinds


class EventBus:
    """Fan-out of events to bounded subscriber buffers. Use from the event loop thread.

    Args:
        history: how many recent events are kept for :meth:`since` (0: none).
    """

    def __init__(self, history: int = 0) -> None:
        self._subs: list[Subscription] = []
        self._seq = itertools.count(1)
        self._history: deque[Event] = deque(maxlen=history)
        self._last = 0
        self.epoch = secrets.token_hex(4)
        """Identifies this bus (this process): a ``seq`` means nothing under another epoch."""
        self.span_sinks: list[Callable[[Any], None]] = []
        """Called with every span that ends (a ``SpanRecord``), by every tracer on this bus: the
        exporters. A sink must be quick and must not raise."""

    def publish(self, kind: str, /, **data: Any) -> Event:
        """Publish one event to every subscriber; never blocks."""
        event = Event(next(self._seq), kind, data, time.time())
        self.deliver(event)
        return event

    def deliver(self, event: Event) -> None:
        """Hand an existing event (its ``seq`` and time kept) to every subscriber.

        For a bus that relays another process's events (the remote console's).
        """
        self._last = event.seq
        if self._history.maxlen:
            self._history.append(event)
        for sub in self._subs:
            sub._offer(event)

    def since(self, seq: int, kinds: Iterable[str] | None = None) -> list[Event] | None:
        """The kept events after ``seq`` (of ``kinds``, if given), oldest first; None if some of
        them are no longer kept."""
        if seq >= self._last:
            return []
        history = self._history
        if not history or seq + 1 < history[0].seq:
            return None
        wanted = frozenset(kinds) if kinds is not None else None
        return [e for e in history if e.seq > seq and (wanted is None or _matches(e.kind, wanted))]

    @property
    def last_seq(self) -> int:
        """The newest event's ``seq`` (0 before the first)."""
        return self._last

    def subscribe(self, maxsize: int = 10_000, kinds: Iterable[str] | None = None) -> Subscription:
        """A new subscription holding at most ``maxsize`` undelivered events.

        Args:
            maxsize: buffer bound; past it the oldest events are dropped.
            kinds: only these kinds (or kind prefixes such as ``"circuit"``); all if None.
        """
        sub = Subscription(self, maxsize, frozenset(kinds) if kinds is not None else None)
        self._subs.append(sub)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)

    @property
    def subscriber_count(self) -> int:
        """How many subscriptions are open."""
        return len(self._subs)
