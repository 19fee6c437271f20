"""Parsing and checking a Chat Completions request body.

Only what the simulator acts on is extracted; anything else in the body
(temperature, user, metadata, ...) is accepted and ignored, as a provider
would.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

__all__ = ["BadRequestError", "ChatRequest", "parse_chat_request"]


class BadRequestError(Exception):
    """The body is not a valid Chat Completions request.

    Args:
        message: What is wrong, for the client.
        param: The offending top-level parameter, if one is to blame.
    """

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """The parts of a chat request that shape the simulated answer.

    Attributes:
        model: Model name as sent.
        messages: The conversation, as sent.
        stream: Whether SSE streaming was asked for.
        include_usage: Whether a final usage chunk was asked for (streaming).
        tools: Function definitions (``{"name", "description", "parameters"}``).
        tool_choice: Forced function name, ``"none"``, or None for automatic.
        response_format: The ``response_format`` object, if any.
        max_tokens: Completion token cap, if any.
        digest: Hash of (seed, model, content of the request): the reply seed.
    """

    model: str
    messages: list[dict[str, Any]]
    stream: bool
    include_usage: bool
    tools: list[dict[str, Any]]
    tool_choice: str | None
    response_format: dict[str, Any] | None
    max_tokens: int | None
    digest: bytes

    @property
    def last_is_tool_result(self) -> bool:
        """Whether the last message is a tool (or legacy function) result."""
        return self.messages[-1].get("role") in ("tool", "function")

    @property
    def calls_tool(self) -> bool:
        """Whether the answer will be a tool call."""
        return bool(self.tools) and self.tool_choice != "none" and not self.last_is_tool_result

    @property
    def json_schema(self) -> dict[str, Any] | None:
        """The schema of ``response_format`` type json_schema, if asked for."""
        fmt = self.response_format
        if not fmt or fmt.get("type") != "json_schema":
            return None
        spec = fmt.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        return schema if isinstance(schema, dict) else {"type": "object"}


def parse_chat_request(raw: bytes, seed: int) -> ChatRequest:
    """Parse and check a request body.

    Args:
        raw: The HTTP body.
        seed: The simulator's seed, mixed into the reply digest.

    Raises:
        BadRequestError: The body is not JSON or lacks ``model``/``messages``.
    """
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequestError(f"We could not parse the JSON body of your request: {exc}") from exc
    if not isinstance(body, dict):
        raise BadRequestError("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequestError("you must provide a model parameter", "model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequestError("'messages' must be a non-empty array of messages.", "messages")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise BadRequestError(f"Invalid value for 'messages[{index}]': each message needs a 'role'.", "messages")
    tools = _tools(body.get("tools"))
    response_format = body.get("response_format")
    if response_format is not None and not isinstance(response_format, dict):
        raise BadRequestError("'response_format' must be an object.", "response_format")
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        raise BadRequestError("'max_tokens' must be a positive integer.", "max_tokens")
    stream_options = body.get("stream_options")
    include_usage = isinstance(stream_options, dict) and bool(stream_options.get("include_usage"))
    tool_choice = _tool_choice(body.get("tool_choice"))
    if tool_choice not in (None, "none") and all(f["name"] != tool_choice for f in tools):
        raise BadRequestError(f"Tool choice '{tool_choice}' is not in 'tools'.", "tool_choice")
    shaping: list[Any] = [messages, tools, tool_choice, response_format, max_tokens]
    if body.get("seed") is not None:  # a provider samples differently per seed (n votes on one request)
        shaping.append(["seed", body["seed"]])
    digest = hashlib.blake2b(
        f"{seed}\0{model}\0".encode() + json.dumps(shaping, default=str).encode(), digest_size=16
    ).digest()
    return ChatRequest(
        model=model,
        messages=messages,
        stream=bool(body.get("stream")),
        include_usage=include_usage,
        tools=tools,
        tool_choice=tool_choice,
        response_format=response_format,
        max_tokens=max_tokens,
        digest=digest,
    )


def _tools(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadRequestError("'tools' must be an array.", "tools")
    functions: list[dict[str, Any]] = []
    for index, tool in enumerate(value):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise BadRequestError(f"Missing 'function.name' in 'tools[{index}]'.", "tools")
        functions.append(function)
    return functions


def _tool_choice(value: Any) -> str | None:
    if value == "none":
        return "none"
    if isinstance(value, dict):
        function = value.get("function")
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            return str(function["name"])
    return None  # "auto", "required" or absent: the simulator picks a tool
