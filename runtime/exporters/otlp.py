"""OTLP/HTTP (protobuf) export of the runtime's spans, with the official OpenTelemetry SDK.

Every span that ends is handed, converted (:mod:`.conventions`), to a ``BatchSpanProcessor``,
which batches and sends from a thread of its own: the call that produced the span never
waits for the network. A failed or refused export is counted and logged, never raised; past
``max_queue`` waiting spans the SDK drops the oldest (and logs it). :func:`export_spans` sends
stored spans, for ``agentops traces export``.

opentelemetry is imported only when an exporter is built.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from agentops.runtime.config import OtlpSettings
from agentops.runtime.errors import ConfigError
from agentops.runtime.exporters.conventions import attributes, otel_name, sampled
from agentops.runtime.logs import get_logger
from agentops.store import SpanRecord

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export import SpanExporter

__all__ = ["OtlpExporter", "export_spans", "readable_span"]

log = get_logger("agentops.otlp")


def _headers(settings: OtlpSettings) -> dict[str, str]:
    """The headers, each from the environment variable it names.

    Raises:
        ConfigError: a variable that is not set.
    """
    out = {}
    for header, variable in settings.headers_env.items():
        value = os.environ.get(variable)
        if not value:
            raise ConfigError(f"otlp.headers_env.{header} names {variable}, which is not set")
        out[header] = value
    return out


def _resource(settings: OtlpSettings) -> Resource:
    from opentelemetry.sdk.resources import Resource

    attrs: dict[str, str] = {"service.name": settings.service_name}
    if settings.project:
        attrs["openinference.project.name"] = settings.project
    return Resource.create(attrs)


def readable_span(s: SpanRecord, resource: Resource, *, include_content: bool) -> ReadableSpan:
    """A stored, ended span as the SDK exports it: our ids and times, the conventions' attributes."""
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

    flags = TraceFlags(TraceFlags.SAMPLED)
    context = SpanContext(int(s.trace_id, 16), int(s.span_id, 16), is_remote=False, trace_flags=flags)
    parent = (
        SpanContext(int(s.trace_id, 16), int(s.parent_id, 16), is_remote=False, trace_flags=flags)
        if s.parent_id
        else None
    )
    status = Status(StatusCode.ERROR, s.error) if s.status == "error" else Status(StatusCode.OK)
    end = s.end_time if s.end_time is not None else s.start_time
    return ReadableSpan(
        otel_name(s),
        context=context,
        parent=parent,
        resource=resource,
        attributes=attributes(s, include_content=include_content),
        kind=SpanKind.CLIENT if s.kind == "llm" else SpanKind.INTERNAL,
        status=status,
        start_time=int(s.start_time * 1e9),
        end_time=int(end * 1e9),
    )


class _Counting:
    """An exporter that counts what it sent and what failed (never raises)."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.sent = 0
        self.failed = 0
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        try:
            result = self.inner.export(spans)
        except Exception as exc:  # noqa: BLE001 - an export never fails the runtime
            log.warning("OTLP export failed", error=f"{type(exc).__name__}: {exc}", spans=len(spans))
            result = SpanExportResult.FAILURE
        with self._lock:
            if result == SpanExportResult.SUCCESS:
                self.sent += len(spans)
            else:
                self.failed += len(spans)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return bool(self.inner.force_flush(timeout_millis))


def _otlp(settings: OtlpSettings, endpoint: str | None = None) -> SpanExporter:
    """An OTLP/HTTP exporter; the configured headers go only to the configured endpoint (a
    collector's token is not sent to another URL given on the command line)."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    same = endpoint is None or endpoint == settings.endpoint
    return OTLPSpanExporter(
        endpoint=endpoint or settings.endpoint, headers=_headers(settings) if same else {}, timeout=settings.timeout_s
    )


class OtlpExporter:
    """Exports the spans of one runtime as they end (a span sink: call it with each ended span)."""

    def __init__(self, settings: OtlpSettings) -> None:
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        self.settings = settings
        self.resource = _resource(settings)
        self.exporter = _Counting(_otlp(settings))
        self.processor = BatchSpanProcessor(
            self.exporter,  # type: ignore[arg-type]  # a SpanExporter in all but name
            max_queue_size=settings.max_queue,
            schedule_delay_millis=settings.schedule_delay_ms,
            max_export_batch_size=min(settings.batch_size, settings.max_queue),
        )
        self.dropped = 0
        """Spans that could not be converted."""
        self.skipped = 0
        """Spans of traces not sampled."""

    def __call__(self, span: SpanRecord) -> None:
        if span.end_time is None:
            return
        if not sampled(span.trace_id, self.settings.sample_ratio):
            self.skipped += 1
            return
        try:
            self.processor.on_end(readable_span(span, self.resource, include_content=self.settings.include_content))
        except Exception as exc:  # noqa: BLE001 - a span that cannot be converted is dropped, not raised
            self.dropped += 1
            log.warning("span not exported", span_id=span.span_id, error=str(exc))

    @property
    def sent(self) -> int:
        """Spans the collector accepted."""
        return self.exporter.sent

    @property
    def failed(self) -> int:
        """Spans whose export failed (refused, unreachable, timed out)."""
        return self.exporter.failed

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Send what is waiting now (blocking: call it in a thread)."""
        return bool(self.processor.force_flush(int(timeout_s * 1000)))

    def shutdown(self) -> None:
        """Send what is waiting and stop (blocking: call it in a thread)."""
        self.processor.shutdown()  # type: ignore[no-untyped-call]  # the SDK leaves it unannotated


def export_spans(
    spans: Sequence[SpanRecord], settings: OtlpSettings, *, endpoint: str | None = None, batch: int = 512
) -> tuple[int, int]:
    """Send stored spans (ended ones; blocking). Returns (sent, failed)."""
    exporter = _Counting(_otlp(settings, endpoint))
    resource = _resource(settings)
    ended = [s for s in spans if s.end_time is not None]
    try:
        for i in range(0, len(ended), batch):
            chunk = ended[i : i + batch]
            exporter.export([readable_span(s, resource, include_content=settings.include_content) for s in chunk])
    finally:
        exporter.shutdown()
    return exporter.sent, exporter.failed
