"""Exporters: the runtime's traces, sent to the tools teams already run.

Owns the OTLP/HTTP exporter (:mod:`.otlp`: the OpenTelemetry SDK's batch processor, off the
hot path, failures counted) and the mapping of a stored span onto the OpenTelemetry GenAI and
OpenInference conventions (:mod:`.conventions`). An exporter is a span sink: the tracer hands
it every span that ends (:attr:`agentops.runtime.events.EventBus.span_sinks`).

May import: config, the foundations and the store; opentelemetry only when one is built.
"""

from agentops.runtime.exporters.conventions import CONTENT_KEYS, OPENINFERENCE_KINDS, attributes, otel_name, sampled
from agentops.runtime.exporters.otlp import OtlpExporter, export_spans, readable_span

__all__ = [
    "CONTENT_KEYS",
    "OPENINFERENCE_KINDS",
    "OtlpExporter",
    "attributes",
    "export_spans",
    "otel_name",
    "readable_span",
    "sampled",
]
