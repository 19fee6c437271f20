"""What a call is made of and what it returns: its route, its scope, its options, its response,
and :class:`Call`, the state of one call in flight that the stages of
:meth:`~agentops.runtime.calls.client.LLMClient.call` fill in as it goes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentops.runtime.calls.pricing import Price, Usage
from agentops.runtime.calls.provider import Deployment, ProviderReply, ToolCall
from agentops.runtime.errors import AgentOpsError
from agentops.runtime.tracing import Span

if TYPE_CHECKING:
    from agentops.runtime.calls.budgets import Reservation
    from agentops.runtime.calls.cache import CachePolicy, RequestKeys

__all__ = ["Call", "CallOptions", "CallScope", "LLMResponse", "Route"]


@dataclass(frozen=True)
class Route:
    """A named fallback chain."""

    name: str
    chain: tuple[str, ...]
    fallback_on_permanent: bool = False


@dataclass(frozen=True)
class CallScope:
    """Who a call is for: the attribution of its span and ledger row."""

    trace_id: str
    parent_span_id: str | None = None
    task_id: str | None = None
    agent: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    prompt: str | None = None
    """The prompt file the call renders, if any (recorded on the span, the call and the ledger)."""
    prompt_version: int | None = None
    prompt_artifact: str | None = None
    prompt_label: str | None = None
    """Why this version: ``production``, ``canary``, ``shadow`` or a label asked for."""

    def span_attrs(self) -> dict[str, Any]:
        """The prompt's span attributes (none without a prompt)."""
        if self.prompt is None:
            return {}
        return {
            "gen_ai.prompt.name": self.prompt,
            "agentops.prompt.version": self.prompt_version,
            "agentops.prompt.artifact_id": self.prompt_artifact,
            "agentops.prompt.label": self.prompt_label,
        }

    @property
    def prompt_ref(self) -> str | None:
        """``name@vN`` of the prompt version, as the ledger attributes cost to it."""
        return f"{self.prompt}@v{self.prompt_version}" if self.prompt else None


@dataclass
class LLMResponse:
    """The result of a successful call."""

    text: str | None
    tool_calls: tuple[ToolCall, ...]
    usage: Usage
    model: str
    deployment: str
    cost_usd: float
    priced: bool
    attempts: int
    retries: int
    fallbacks: int
    latency_ms: float
    span_id: str
    finish_reason: str | None = None
    cache: str | None = None
    """``exact`` or ``semantic`` when the answer came from the response cache."""
    saving_usd: float = 0.0
    """What caching saved on this call (a cached answer's cost, or cached input tokens' discount)."""
    cache_entry: str | None = None
    """The cache entry that answered (a hit)."""


@dataclass(frozen=True)
class CallOptions:
    """Per-call choices beyond the provider parameters."""

    cache: dict[str, Any] | None = None
    """The prompt file's ``[cache]`` table (None: the configuration's defaults)."""
    routing: dict[str, str] | None = None
    """A router's decision, recorded on the span."""
    span_attrs: dict[str, Any] | None = None
    """More attributes for the call's span (the input guard's decision)."""


@dataclass
class Call:
    """One call in flight: what it was asked, and what has happened to it so far."""

    messages: list[dict[str, Any]]
    params: dict[str, Any]
    route: Route
    scope: CallScope
    options: CallOptions
    span: Span
    started: float
    """``time.monotonic()`` at the start."""
    deadline: float
    """``time.monotonic()`` the call, with every retry and fallback, must finish by."""
    # -- filled in by the stages -----------------------------------------------------------
    policy: CachePolicy | None = None
    keys: RequestKeys | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    reservation: Reservation | None = None
    downgraded: str | None = None
    """The cheaper route a budget sent the call to."""
    attempts: int = 0
    retries: int = 0
    deployments_tried: list[str] = field(default_factory=list)
    errors: list[AgentOpsError] = field(default_factory=list)
    deployment: Deployment | None = None
    reply: ProviderReply | None = None
    price: Price | None = None
    cost_usd: float = 0.0

    @property
    def tokens(self) -> int:
        """Estimated tokens (input + the output allowance): what rate limits take."""
        return self.tokens_in + self.tokens_out

    @property
    def prompt_caching(self) -> bool:
        """The prompt file asks for providers' prompt-caching markers."""
        return bool((self.options.cache or {}).get("prompt_caching"))

    @property
    def fallbacks(self) -> int:
        """Deployments fallen back from."""
        return max(0, len(self.deployments_tried) - 1)
