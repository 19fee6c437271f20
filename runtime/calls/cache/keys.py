"""How a request may use the response cache (its policy), and where its answer is looked up
and stored (its keys): the exact key hashes the route's models, the messages, the tools, the
parameters, the prompt artifact and the scope; the semantic namespace hashes the same without
the last user message (the text that is embedded), and the embedder."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from agentops.runtime.config import CacheSettings

__all__ = ["CachePolicy", "RequestKeys", "cache_policy", "request_keys"]


@dataclass(frozen=True)
class CachePolicy:
    """How one request may use the cache."""

    exact: bool
    semantic: bool
    threshold: float | None
    scope: str
    ttl_s: float


@dataclass(frozen=True)
class RequestKeys:
    """Where a request's answer is looked up and stored."""

    exact: str
    namespace: str
    text: str | None
    """The cacheable text (the last user message), if the request has one."""
    artifact: str | None


def cache_policy(
    settings: CacheSettings, prompt_cache: dict[str, Any] | None, params: dict[str, Any]
) -> CachePolicy | None:
    """How a request with these parameters (and its prompt's ``[cache]`` table) may be cached."""
    s, table = settings, prompt_cache or {}
    temperature = params.get("temperature")
    deterministic = (1.0 if temperature is None else float(temperature)) <= s.max_temperature
    exact = bool(table["exact"]) if "exact" in table else s.exact and deterministic
    semantic = bool(table["semantic"]) if "semantic" in table else s.semantic and deterministic
    if params.get("stream") or not (exact or semantic):
        return None
    return CachePolicy(
        exact,
        semantic,
        table.get("threshold", s.threshold),
        table.get("scope", s.scope),
        float(table.get("ttl_s", s.ttl_s)),
    )


def request_keys(
    settings: CacheSettings,
    messages: list[dict[str, Any]],
    params: dict[str, Any],
    models: list[str],
    policy: CachePolicy,
    *,
    user_id: str | None,
    session_id: str | None,
    task_id: str | None = None,
    artifact: str | None,
) -> RequestKeys:
    """The exact key, the semantic namespace and the cacheable text of a request.

    Both hash the prompt artifact (a new version never meets its predecessor's answers)
    and the scope; a request without the scope's id (no user) is scoped to its session,
    else its task, so it shares answers with no one else.
    """
    scope = _scope(policy.scope, user_id, session_id, task_id)
    shape = {"models": models, "params": params, "scope": scope, "artifact": artifact}
    exact = _digest({**shape, "messages": messages})
    text: str | None = None
    rest = messages
    if messages and messages[-1].get("role") == "user" and isinstance(messages[-1].get("content"), str):
        text, rest = messages[-1]["content"], messages[:-1]
    # The embedder is part of the namespace: vectors of another model never meet.
    namespace = f"{artifact or '-'}|{_digest({**shape, 'messages': rest, 'embedder': settings.embedder})}"
    return RequestKeys(exact, namespace, text, artifact)


def _scope(kind: str, user_id: str | None, session_id: str | None, task_id: str | None) -> str:
    if kind == "shared":
        return "shared"
    if kind == "user" and user_id:
        return f"user:{user_id}"
    if kind in ("user", "session") and session_id:
        return f"session:{session_id}"
    return f"task:{task_id}" if task_id else "anonymous"


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()
