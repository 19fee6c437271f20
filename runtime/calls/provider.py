"""The one provider transport: litellm, imported lazily and kept lean.

``import litellm`` takes seconds, so nothing imports it at module load: the runtime
calls :func:`load_litellm` (in a worker thread) when it starts, and the console paints
before it is done. Before the import, ``LITELLM_LOCAL_MODEL_COST_MAP`` is set so that
litellm uses its bundled price map and touches no network.

Every litellm exception is mapped onto the runtime's own hierarchy
(:mod:`agentops.runtime.errors`): transient vs permanent, the HTTP status, and the
provider's Retry-After.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from agentops.runtime.calls.pricing import Usage
from agentops.runtime.calls.retry import is_transient_status
from agentops.runtime.errors import (
    ContextWindowError,
    PermanentProviderError,
    ProviderError,
    TransientProviderError,
)

__all__ = [
    "Deployment",
    "ProviderReply",
    "ToolCall",
    "complete",
    "litellm_loaded",
    "load_litellm",
    "load_litellm_async",
]

_lock = threading.Lock()
_litellm: ModuleType | None = None


def load_litellm() -> ModuleType:
    """Import and configure litellm once (blocking: seconds the first time)."""
    global _litellm
    with _lock:
        if _litellm is None:
            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            os.environ.setdefault("LITELLM_LOG", "ERROR")
            import litellm

            # We retry, log, trace and price ourselves: no litellm retries, no callbacks, no
            # "give feedback" banner on errors. litellm 1.110.2 has no setting that turns off
            # the rest of its per-call machinery (cost calculation, the logging payload, the
            # thread hop inside acompletion): see docs/performance.md for the profile.
            litellm.suppress_debug_info = True
            # Not litellm.drop_params: with it, a 422 from the provider makes acompletion
            # return None instead of raising (litellm 1.110.2).
            litellm.num_retries = 0
            litellm.success_callback = []
            litellm.failure_callback = []
            litellm.callbacks = []
            _litellm = litellm
        return _litellm


async def load_litellm_async() -> ModuleType:
    """:func:`load_litellm` in a worker thread, so the event loop keeps running."""
    if _litellm is not None:
        return _litellm
    return await asyncio.to_thread(load_litellm)


def litellm_loaded() -> bool:
    """Whether litellm has been imported yet."""
    return _litellm is not None


@dataclass(frozen=True)
class Deployment:
    """One model at one endpoint: the unit a circuit breaker guards.

    Attributes:
        name: the configured name (``primary``); the key of its breaker.
        model: litellm's model string (``openai/gpt-4o-mini``).
        api_base: endpoint URL, or None for the provider's default.
        api_key: the key, read from the environment at start (never from a file).
        timeout_s: per-attempt timeout.
        context_window: input tokens the model takes, if known.
        price_model: the model name used to look up prices.
    """

    name: str
    model: str
    api_base: str | None = None
    api_key: str | None = field(default=None, repr=False)
    timeout_s: float = 30.0
    context_window: int | None = None
    price_model: str = ""

    @property
    def provider(self) -> str:
        """The provider prefix of the model string (``openai``)."""
        return self.model.split("/", 1)[0] if "/" in self.model else "openai"


@dataclass(frozen=True)
class ToolCall:
    """A tool call the model asked for."""

    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class ProviderReply:
    """What one successful attempt returned."""

    text: str | None
    tool_calls: tuple[ToolCall, ...]
    usage: Usage
    finish_reason: str | None
    response_model: str | None


async def complete(
    deployment: Deployment, messages: list[dict[str, Any]], timeout: float, **params: Any
) -> ProviderReply:
    """One attempt, no retries, against one deployment.

    Args:
        deployment: where to send it.
        messages: the chat messages.
        timeout: seconds this attempt may take: the deployment's timeout, or less when
            the call's deadline is nearer.
        **params: further ``litellm.acompletion`` parameters (``tools``, ``response_format``, ...).

    Raises:
        TransientProviderError, PermanentProviderError, ContextWindowError: mapped from litellm.
    """
    litellm = _litellm if _litellm is not None else await load_litellm_async()
    # litellm caches its HTTP client under a key that includes the timeout: a timeout
    # that changes from call to call (the rest of a deadline) builds a new client, and
    # opens a new connection, for every attempt. So litellm gets the deployment's own
    # timeout, which does not change, and a nearer deadline is enforced here.
    deadline = asyncio.timeout(timeout if timeout < deployment.timeout_s else None)
    try:
        async with deadline:
            resp = await litellm.acompletion(
                model=deployment.model,
                messages=messages,
                api_base=deployment.api_base,
                api_key=deployment.api_key or "none",
                timeout=max(timeout, deployment.timeout_s),
                num_retries=0,
                max_retries=0,
                **params,
            )
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        if deadline.expired():
            raise TransientProviderError(
                f"Timeout: no answer within {timeout:.3g} s, the rest of the call's deadline",
                deployment=deployment.name,
                status=408,
            ) from exc
        raise map_error(exc, deployment.name) from exc
    return _reply(resp, deployment.name)


def map_error(exc: BaseException, deployment: str) -> ProviderError:
    """Map a litellm (or transport) exception onto the runtime's error hierarchy."""
    litellm = _litellm
    name = type(exc).__name__
    raw = str(exc)
    message = f"{name}: {provider_message(raw)}"
    if litellm is not None and isinstance(exc, litellm.ContextWindowExceededError):
        return ContextWindowError(message, deployment=deployment, status=400, raw=raw)
    status = getattr(exc, "status_code", None)
    status = status if isinstance(status, int) else None
    if litellm is not None and isinstance(exc, litellm.Timeout):
        status = 408
    if litellm is not None and isinstance(exc, (litellm.APIConnectionError, litellm.Timeout)) and status == 500:
        status = None  # litellm reports connection problems as 500; there was no response
    if status is not None and not is_transient_status(status):
        return PermanentProviderError(message, deployment=deployment, status=status, raw=raw)
    return TransientProviderError(message, deployment=deployment, status=status, retry_after=_retry_after(exc), raw=raw)


_PREFIX = re.compile(r"^(?:litellm\.)?[A-Za-z]+(?:Error|Exception)(?::|\s+-)\s*")


def provider_message(text: str) -> str:
    """The provider's own words in a litellm error text, once: litellm repeats the class name
    (``litellm.ServiceUnavailableError: ServiceUnavailableError: OpenAIException - ...``) and
    may carry the provider's JSON error body, whose ``error.message`` is what it said."""
    text = " ".join(text.split())
    while (m := _PREFIX.match(text)) is not None and m.end() < len(text):
        text = text[m.end() :]
    if text.startswith("{"):
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        said = error.get("message") if isinstance(error, dict) else error
        if isinstance(said, str) and said.strip():
            text = " ".join(said.split())
    return _short(text)


def _retry_after(exc: BaseException) -> float | None:
    headers: Any = None
    response = getattr(exc, "response", None)
    if response is not None:
        headers = getattr(response, "headers", None)
    if not headers:
        headers = getattr(exc, "litellm_response_headers", None)
    if not headers:
        return None
    try:
        value = headers.get("retry-after-ms")
        if value is not None:
            return float(value) / 1000.0
        value = headers.get("retry-after")
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None  # an HTTP date or garbage: fall back to backoff


def _reply(resp: Any, deployment: str) -> ProviderReply:
    try:
        choice = resp.choices[0]
        message = choice.message
        calls = []
        for tc in getattr(message, "tool_calls", None) or []:
            raw = tc.function.arguments or "{}"
            try:
                args = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise TransientProviderError(
                    f"malformed response: tool call {tc.function.name!r} has arguments that are not JSON",
                    deployment=deployment,
                ) from exc
            calls.append(ToolCall(tc.id or "", tc.function.name, args if isinstance(args, dict) else {"value": args}))
        usage = getattr(resp, "usage", None)
        details = getattr(usage, "prompt_tokens_details", None)
        cached = getattr(details, "cached_tokens", 0) or 0
        return ProviderReply(
            text=message.content,
            tool_calls=tuple(calls),
            usage=Usage(
                int(getattr(usage, "prompt_tokens", 0) or 0),
                int(getattr(usage, "completion_tokens", 0) or 0),
                int(cached),
            ),
            finish_reason=choice.finish_reason,
            response_model=getattr(resp, "model", None),
        )
    except (AttributeError, IndexError, TypeError) as exc:
        raise TransientProviderError(f"malformed response: {exc}", deployment=deployment) from exc


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
