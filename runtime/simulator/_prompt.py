"""Reading a chat request's messages: text, token estimates, prompt caching.

Tokens are estimated as ``ceil(characters / 4)`` plus 4 per message, the usual
rule of thumb; the simulator needs numbers that grow like real ones, not a
tokenizer.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from typing import Any

__all__ = ["PrefixCache", "content_text", "estimate_tokens", "message_text", "prompt_tokens"]

_PER_MESSAGE = 4


def content_text(content: Any) -> str:
    """Text of an OpenAI ``content`` field: a string, parts, or None."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def message_text(message: Any) -> str:
    """All the text a message carries: content plus tool-call names and arguments."""
    if not isinstance(message, dict):
        return ""
    text = content_text(message.get("content"))
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        for call in calls:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                text += str(function.get("name", "")) + str(function.get("arguments", ""))
    return text


def estimate_tokens(chars: int) -> int:
    """``ceil(chars / 4)``."""
    return -(-chars // 4)


def prompt_tokens(messages: list[Any]) -> int:
    """Estimated prompt tokens of ``messages``."""
    chars = sum(len(message_text(m)) for m in messages)
    return estimate_tokens(chars) + _PER_MESSAGE * len(messages)


class PrefixCache:
    """Which message prefixes one model has seen: a model of prompt caching.

    Every request records all of its prefixes (bounded LRU of their hashes).
    A later request whose leading messages (all but the last) start with a
    recorded prefix reports that prefix's tokens as cached, like a provider
    that caches the longest matching prompt prefix.

    Args:
        capacity: Most prefixes remembered.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._seen: OrderedDict[bytes, None] = OrderedDict()

    def observe(self, messages: list[Any], min_tokens: int) -> int:
        """Record ``messages``'s prefixes; return the tokens served from cache.

        Args:
            messages: The request's messages.
            min_tokens: Smallest cached prefix worth reporting (providers cache
                only prompts above a size).

        Returns:
            Estimated tokens of the longest previously seen prefix of the
            leading messages, or 0 if none or it is below ``min_tokens``.
        """
        digest = hashlib.blake2b(digest_size=16)
        chars = 0
        cached = 0
        keys: list[bytes] = []
        for index, message in enumerate(messages):
            digest.update(json.dumps(message, separators=(",", ":"), default=str).encode())
            key = digest.copy().digest()
            keys.append(key)
            chars += len(message_text(message))
            if index < len(messages) - 1 and key in self._seen:
                cached = estimate_tokens(chars) + _PER_MESSAGE * (index + 1)
        for key in keys:
            self._seen[key] = None
            self._seen.move_to_end(key)
        while len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return cached if cached >= min_tokens else 0

    def clear(self) -> None:
        """Forget every prefix."""
        self._seen.clear()
