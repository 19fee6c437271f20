"""Configuration of the trace export: ``[otlp]``.

Part of :class:`~agentops.runtime.config.Settings`. Secrets (an API key the collector wants)
come from the environment: ``headers_env`` maps a header to the variable holding its value.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["OtlpSettings"]


class OtlpSettings(BaseModel):
    """OTLP/HTTP (protobuf) export of every span, batched off the hot path."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    endpoint: str = "http://127.0.0.1:4318/v1/traces"
    """The collector's traces URL (Phoenix: ``http://HOST:6006/v1/traces``; an OTel collector: ``:4318/v1/traces``)."""
    headers_env: dict[str, str] = {}
    """Header name -> the environment variable holding its value (``{authorization = "OTLP_AUTH"}``)."""
    sample_ratio: float = Field(1.0, ge=0, le=1)
    """The share of traces exported, chosen by trace id (a trace is exported whole or not at all)."""
    include_content: bool = False
    """Export prompts, replies, tool arguments and results (``input.value``, ``output.value``,
    ``gen_ai.input.messages``, ...). Off: only names, models, timings, tokens, costs and errors leave."""
    service_name: str = "agentops"
    project: str | None = None
    """``openinference.project.name``: the Phoenix project the spans land in (None: its default)."""
    timeout_s: float = Field(10.0, gt=0)
    batch_size: int = Field(512, ge=1)
    schedule_delay_ms: int = Field(1000, ge=10)
    """How long a span may wait for its batch."""
    max_queue: int = Field(20_000, ge=1)
    """Spans waiting to be exported at most; past it new ones are dropped (and counted)."""
