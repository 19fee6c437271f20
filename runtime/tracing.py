"""Spans: what the runtime did, as a tree per task, stored and published.

Ids follow OpenTelemetry: 128-bit trace ids and 64-bit span ids, as lowercase hex.
A span is saved when it starts (status ``running``) and again when it ends; both go
through the store's group commit, and both are published on the event bus.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from agentops.runtime.events import EventBus
from agentops.store import SpanRecord, Store

__all__ = ["Span", "Tracer", "new_span_id", "new_trace_id"]

_rand = random.Random()


def new_trace_id() -> str:
    """A random, non-zero 128-bit trace id as 32 hex digits."""
    return f"{_rand.getrandbits(128) or 1:032x}"


def new_span_id() -> str:
    """A random, non-zero 64-bit span id as 16 hex digits."""
    return f"{_rand.getrandbits(64) or 1:016x}"


@dataclass
class Span:
    """A span being recorded. Set attributes freely until :meth:`Tracer.end`."""

    span_id: str
    trace_id: str
    parent_id: str | None
    task_id: str | None
    name: str
    kind: str
    start_time: float
    attributes: dict[str, Any] = field(default_factory=dict)
    status: str = "running"
    end_time: float | None = None
    error: str | None = None

    @property
    def duration_ms(self) -> float | None:
        """Milliseconds from start to end, once ended."""
        return None if self.end_time is None else (self.end_time - self.start_time) * 1000.0

    def record(self) -> SpanRecord:
        """The span as the store keeps it."""
        return SpanRecord(
            self.span_id,
            self.trace_id,
            self.parent_id,
            self.task_id,
            self.name,
            self.kind,
            self.status,
            self.start_time,
            self.end_time,
            dict(self.attributes),
            self.error,
        )


class Tracer:
    """Creates spans, saves them to the store and publishes them on the bus."""

    def __init__(self, store: Store, bus: EventBus) -> None:
        self._store = store
        self._bus = bus

    def _kept(self, record: SpanRecord) -> SpanRecord:
        """The span as it is stored and exported: redacted when the store redacts."""
        redact = self._store.redact
        if redact is None:
            return record
        record.attributes = redact(record.attributes)
        record.error = redact(record.error) if record.error else record.error
        return record

    @property
    def bus(self) -> EventBus:
        """Where spans (and call outcomes) are published."""
        return self._bus

    def start(
        self,
        name: str,
        kind: str,
        *,
        trace_id: str,
        parent_id: str | None = None,
        task_id: str | None = None,
        attrs: dict[str, Any] | None = None,
    ) -> Span:
        """Open a span with its first attributes (OpenTelemetry names where one exists)."""
        span = Span(new_span_id(), trace_id, parent_id, task_id, name, kind, time.time(), dict(attrs or {}))
        self._store.save_span(self._kept(span.record()))
        self._bus.publish(
            "span.started",
            span_id=span.span_id,
            parent_id=parent_id,
            trace_id=trace_id,
            task_id=task_id,
            name=name,
            kind=kind,
        )
        return span

    def checkpoint(self, span: Span) -> None:
        """Store an open span as it is now (a span that outlives its process: a batched call's)."""
        self._store.save_span(self._kept(span.record()))

    def end(
        self, span: Span, status: str = "ok", error: str | None = None, attrs: dict[str, Any] | None = None
    ) -> None:
        """Close a span with its final status and any last attributes."""
        span.end_time = time.time()
        span.status = status
        span.error = error
        if attrs:
            span.attributes.update(attrs)
        record = self._kept(span.record())
        self._store.save_span(record)
        for sink in self._bus.span_sinks:  # exporters
            sink(record)
        self._bus.publish(
            "span.ended",
            span_id=span.span_id,
            parent_id=span.parent_id,
            trace_id=span.trace_id,
            task_id=span.task_id,
            name=span.name,
            kind=span.kind,
            status=status,
            error=error,
            duration_ms=span.duration_ms,
        )
