"""What the simulated model answers, and its OpenAI wire format.

:func:`compose` decides the answer (text, JSON, or a tool call) from the
request alone, so it is deterministic; :func:`completion_body` and
:func:`stream_events` render it as a Chat Completions response or as SSE
chunks.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ._prompt import content_text, estimate_tokens
from ._request import ChatRequest
from ._schema import SchemaFaker, break_instance
from ._text import Words, keywords

__all__ = ["Envelope", "Reply", "Usage", "completion_body", "compose", "stream_events"]


@dataclass(frozen=True, slots=True)
class Reply:
    """The assistant message the simulator sends back."""

    content: str | None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str = "stop"

    @property
    def tokens(self) -> int:
        """Estimated completion tokens."""
        chars = len(self.content or "")
        for call in self.tool_calls:
            chars += len(call["function"]["name"]) + len(call["function"]["arguments"])
        return estimate_tokens(chars)


@dataclass(frozen=True, slots=True)
class Envelope:
    """The fields every response object or chunk carries besides the answer."""

    id: str
    created: int
    model: str
    fingerprint: str

    def fields(self, kind: str) -> dict[str, Any]:
        """The envelope as the leading fields of an object of type ``kind``."""
        return {
            "id": self.id,
            "object": kind,
            "created": self.created,
            "model": self.model,
            "system_fingerprint": self.fingerprint,
        }


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts reported in ``usage``."""

    prompt: int
    completion: int
    cached: int

    def as_dict(self) -> dict[str, Any]:
        """The OpenAI ``usage`` object."""
        return {
            "prompt_tokens": self.prompt,
            "completion_tokens": self.completion,
            "total_tokens": self.prompt + self.completion,
            "prompt_tokens_details": {"cached_tokens": self.cached, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        }


def compose(request: ChatRequest, scripted: str | None, break_json: bool) -> Reply:
    """Decide the answer to ``request``.

    Args:
        request: The parsed request.
        scripted: A scripted reply text to send as content, if any.
        break_json: Make schema-bound JSON (output or tool arguments) invalid.
    """
    rng = random.Random(request.digest)
    words = Words(rng, keywords(_last_user_text(request.messages)))
    faker = SchemaFaker(words)
    if scripted is not None:  # a provider stops at max_tokens whatever it was going to say
        if request.max_tokens is not None and estimate_tokens(len(scripted)) > request.max_tokens:
            return Reply(scripted[: request.max_tokens * 4], finish_reason="length")
        return Reply(scripted)
    if request.calls_tool:
        return _tool_call(request, rng, faker, break_json)
    schema = request.json_schema
    if schema is not None:
        value = faker.instance(schema)
        if break_json:
            value = break_instance(value, schema)
        return Reply(json.dumps(value))
    if request.last_is_tool_result:
        text = f"{_tool_summary(request.messages)} {words.paragraph(1, 2)}"
    else:
        text = words.paragraph()
    fmt = request.response_format
    if fmt is not None and fmt.get("type") == "json_object":
        return Reply(json.dumps({"answer": text}))
    if request.max_tokens is not None and estimate_tokens(len(text)) > request.max_tokens:
        return Reply(text[: request.max_tokens * 4], finish_reason="length")
    return Reply(text)


def _tool_call(request: ChatRequest, rng: random.Random, faker: SchemaFaker, broken: bool) -> Reply:
    if request.tool_choice is not None:
        function = next(f for f in request.tools if f["name"] == request.tool_choice)
    else:
        function = rng.choice(request.tools)
    parameters = function.get("parameters")
    schema = parameters if isinstance(parameters, dict) else {"type": "object"}
    arguments = faker.instance(schema)
    if broken:
        arguments = break_instance(arguments, schema)
    call = {
        "id": f"call_{rng.getrandbits(96):024x}",
        "type": "function",
        "function": {"name": function["name"], "arguments": json.dumps(arguments)},
    }
    return Reply(None, [call], "tool_calls")


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return content_text(message.get("content"))
    return content_text(messages[-1].get("content"))


def _tool_summary(messages: list[dict[str, Any]]) -> str:
    result = messages[-1]
    name = result.get("name")
    call_id = result.get("tool_call_id")
    for message in reversed(messages[:-1]):
        for call in message.get("tool_calls") or ():
            if isinstance(call, dict) and call.get("id") == call_id:
                name = call.get("function", {}).get("name", name)
    snippet = " ".join(content_text(result.get("content")).split())
    if len(snippet) > 120:
        snippet = snippet[:117] + "..."
    return f"The {name or 'tool'} tool returned: {snippet or '(empty)'}."


def completion_body(reply: Reply, usage: Usage, envelope: Envelope) -> dict[str, Any]:
    """Render ``reply`` as a Chat Completions response object."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.content, "refusal": None}
    if reply.tool_calls:
        message["tool_calls"] = reply.tool_calls
    return {
        **envelope.fields("chat.completion"),
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": reply.finish_reason}],
        "usage": usage.as_dict(),
        "service_tier": "default",
    }


def stream_events(
    reply: Reply,
    usage: Usage | None,
    envelope: Envelope,
) -> Iterator[dict[str, Any]]:
    """Render ``reply`` as the chunk objects of a streamed response.

    Args:
        usage: When given (``stream_options.include_usage``), every chunk
            carries ``"usage": null`` and a last chunk with no choices carries
            the usage, as OpenAI does.
    """
    base = envelope.fields("chat.completion.chunk")

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        out = {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
        if usage is not None:
            out["usage"] = None
        return out

    if reply.tool_calls:
        yield chunk({"role": "assistant", "content": None})
        for index, call in enumerate(reply.tool_calls):
            head = {
                "index": index,
                "id": call["id"],
                "type": "function",
                "function": {"name": call["function"]["name"], "arguments": ""},
            }
            yield chunk({"tool_calls": [head]})
            for piece in _split(call["function"]["arguments"], 24):
                yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    else:
        yield chunk({"role": "assistant", "content": "", "refusal": None})
        for piece in _split(reply.content or "", 16):
            yield chunk({"content": piece})
    yield chunk({}, reply.finish_reason)
    if usage is not None:
        yield {**base, "choices": [], "usage": usage.as_dict()}


def _split(text: str, size: int) -> Iterator[str]:
    for start in range(0, len(text), size):
        yield text[start : start + size]
