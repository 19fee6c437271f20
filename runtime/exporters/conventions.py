"""A stored span as the tools teams already run read it: the OpenTelemetry GenAI semantic
conventions (``gen_ai.operation.name``, ``gen_ai.request.model``, ``gen_ai.usage.*``, span
names such as ``chat gpt-4o-mini``) and the OpenInference conventions Arize Phoenix reads
(``openinference.span.kind``, ``llm.token_count.*``, ``llm.model_name``, ``input.value`` /
``output.value``).

Content (prompts, replies, tool arguments and results) leaves only with ``include_content``;
without it a span carries names, models, timings, tokens, costs and errors. Attribute values
are what OTLP can carry: strings, numbers, booleans and lists of one of them; anything else
is sent as JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from agentops.store import SpanRecord

__all__ = ["CONTENT_KEYS", "OPENINFERENCE_KINDS", "attributes", "otel_name", "sampled"]

OPENINFERENCE_KINDS = {
    "task": "AGENT",
    "llm": "LLM",
    "tool": "TOOL",
    "guard": "GUARDRAIL",
}
"""openinference.span.kind by our span kind; the rest (attempt, gate, parallel, branch, refine,
spawn) are CHAIN: steps of the work, not calls of their own."""
OPERATIONS = {"llm": "chat", "tool": "execute_tool", "task": "invoke_agent"}
CONTENT_KEYS = frozenset(
    {
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "agentops.arguments",
        "agentops.result",
        "agentops.tool_calls",
        "agentops.cache.matched_text",
        "agentops.cache.rejected",
        "agentops.gathered",
        "agentops.vote.winner",
        "agentops.vote.counts",
        "agentops.refine.rounds",
        "agentops.gate.failures",
        "agentops.error.raw",
    }
)
"""Attributes that hold what a model or tool was given or gave (answers, votes, critiques,
validation failures that quote a reply, a provider's raw error body that may echo the request):
exported with ``include_content`` only. An error's message (the span's status) always leaves."""


def sampled(trace_id: str, ratio: float) -> bool:
    """Whether a trace is exported (by its id: a trace goes whole or not at all)."""
    if ratio >= 1:
        return True
    return int(trace_id[:16], 16) / 2**64 < ratio


def otel_name(s: SpanRecord) -> str:
    """The span's name by the GenAI conventions where they name one (``chat MODEL``,
    ``execute_tool TOOL``, ``invoke_agent AGENT``), else our own."""
    a = s.attributes
    if s.kind == "llm" and a.get("gen_ai.request.model"):
        return f"chat {_model(str(a['gen_ai.request.model']))}"
    if s.kind == "tool" and a.get("gen_ai.tool.name"):
        return f"execute_tool {a['gen_ai.tool.name']}"
    if s.kind == "task" and a.get("agentops.agent"):
        return f"invoke_agent {a['agentops.agent']}"
    return s.name


def attributes(s: SpanRecord, *, include_content: bool) -> dict[str, Any]:
    """The span's attributes for OTLP: ours (content only if asked), the GenAI and the
    OpenInference names."""
    a = s.attributes
    out: dict[str, Any] = {"agentops.span.kind": s.kind, "agentops.span.name": s.name}
    if s.task_id:
        out["agentops.task_id"] = s.task_id
    for key, value in a.items():
        if value is None or (key in CONTENT_KEYS and not include_content):
            continue
        out[key] = _value(value)
    out["openinference.span.kind"] = OPENINFERENCE_KINDS.get(s.kind, "CHAIN")
    if s.kind in OPERATIONS:
        out["gen_ai.operation.name"] = OPERATIONS[s.kind]
    if s.kind == "llm":
        model = a.get("gen_ai.response.model") or a.get("gen_ai.request.model")
        if model:
            out["llm.model_name"] = _model(str(model))
        if a.get("gen_ai.provider.name"):
            out["llm.provider"] = a["gen_ai.provider.name"]
        prompt, completion = a.get("gen_ai.usage.input_tokens"), a.get("gen_ai.usage.output_tokens")
        if prompt is not None:
            out["llm.token_count.prompt"] = prompt
        if completion is not None:
            out["llm.token_count.completion"] = completion
        if prompt is not None and completion is not None:
            out["llm.token_count.total"] = prompt + completion
        if a.get("gen_ai.usage.cache_read.input_tokens"):
            out["llm.token_count.prompt_details.cache_read"] = a["gen_ai.usage.cache_read.input_tokens"]
        if include_content:
            _content(out, a.get("gen_ai.input.messages"), a.get("gen_ai.output.messages"))
    elif s.kind == "tool":
        if a.get("gen_ai.tool.name"):
            out["tool.name"] = a["gen_ai.tool.name"]
        if include_content:
            _content(out, a.get("agentops.arguments"), a.get("agentops.result"))
    elif s.kind == "task" and a.get("agentops.agent"):
        out["gen_ai.agent.name"] = a["agentops.agent"]
    if s.error:
        out["error.type"] = a.get("error.type") or "error"
    return out


def _content(out: dict[str, Any], given: Any, gave: Any) -> None:
    if given is not None:
        out["input.value"] = given if isinstance(given, str) else json.dumps(given, default=str)
        out["input.mime_type"] = "text/plain" if isinstance(given, str) else "application/json"
    if gave is not None:
        out["output.value"] = gave if isinstance(gave, str) else json.dumps(gave, default=str)
        out["output.mime_type"] = "text/plain" if isinstance(gave, str) else "application/json"


def _model(model: str) -> str:
    """``openai/gpt-4o-mini`` -> ``gpt-4o-mini`` (the provider is its own attribute)."""
    return model.split("/", 1)[1] if "/" in model else model


def _value(value: Any) -> Any:
    if isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return list(value)
    if (
        isinstance(value, (list, tuple))
        and value
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    ):
        return list(value)
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, default=str)
    return str(value)
