"""The sections of the configuration, one pydantic model each (``[store]``, ``[retry]``, ...).

The cost-control sections (``[budgets]``, ``[rate_limits]``, ``[cache]``, ``[routers]``) are in
:mod:`.costs`; :class:`~agentops.runtime.config.settings.Settings` holds them all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agentops.runtime.simulator import SimConfig

__all__ = [
    "SIMULATOR_API_BASE",
    "ApiSettings",
    "CircuitSettings",
    "DeploymentSettings",
    "FlagRule",
    "FlagSettings",
    "FlagValue",
    "GateSettings",
    "LogSettings",
    "PriceOverride",
    "PromptSettings",
    "RetrySettings",
    "RouteSettings",
    "RuntimeSettings",
    "SimulatorSettings",
    "StoreSettings",
    "WorkerSettings",
]

SIMULATOR_API_BASE = "sim"
"""The ``api_base`` value that means "the built-in simulator, started in-process"."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoreSettings(_Section):
    """Where and how the SQLite store is kept."""

    path: Path = Path(".agentops/agentops.db")
    synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    """NORMAL survives a process crash (SIGKILL); FULL also survives power loss."""
    batch_max: int = Field(500, ge=1)
    """Most span events written in one group commit."""
    flush_interval_ms: int = Field(50, ge=1)
    """Longest a span event waits before it is written."""


class RetrySettings(_Section):
    """The retry policy applied to every attempt on one deployment."""

    max_retries: int = Field(5, ge=0)
    base_delay_s: float = Field(0.5, gt=0)
    max_delay_s: float = Field(8.0, gt=0)
    retry_after_cap_s: float = Field(30.0, ge=0)
    """A Retry-After longer than this is cut to it."""
    deadline_s: float = Field(60.0, gt=0)
    """The whole call (every retry and fallback) never takes longer than this."""


class CircuitSettings(_Section):
    """Circuit breaker settings, one breaker per deployment."""

    window_s: float = Field(60.0, gt=0)
    min_calls: int = Field(10, ge=1)
    failure_rate: float = Field(0.5, gt=0, le=1)
    consecutive_failures: int = Field(5, ge=1)
    cooldown_s: float = Field(15.0, gt=0)
    half_open_probes: int = Field(1, ge=1)
    """Calls let through at once while half-open."""
    close_after: int = Field(2, ge=1)
    """Successful probes needed to close again."""


class DeploymentSettings(_Section):
    """One model at one provider endpoint."""

    model: str
    """The litellm model string, e.g. ``openai/gpt-4o-mini``."""
    api_base: str | None = None
    """The endpoint; ``sim`` means the built-in simulator."""
    api_key_env: str | None = None
    """Name of the environment variable holding the key (never the key itself)."""
    timeout_s: float = Field(30.0, gt=0)
    context_window: int | None = Field(None, ge=1)
    """Input tokens the model takes; defaults to litellm's price map."""
    price_as: str | None = None
    """Price this deployment as another model of litellm's map."""
    rpm: int | None = Field(None, ge=1)
    """The provider's requests per ``rate_window_s`` for this deployment: calls wait for a slot
    (within their deadline) rather than get a 429."""
    tpm: int | None = Field(None, ge=1)
    """The provider's tokens (input + max output, estimated) per ``rate_window_s``."""
    rate_window_s: float = Field(60.0, gt=0)
    """The provider's rate window (60 s for "per minute"; some count per 10 s)."""

    @model_validator(mode="before")
    @classmethod
    def _no_inline_secrets(cls, data: Any) -> Any:
        if isinstance(data, dict) and "api_key" in data:
            raise ValueError(
                "api_key must not be written in a config file; put the key in an "
                "environment variable and name it with api_key_env"
            )
        return data


class RouteSettings(_Section):
    """A fallback chain of deployments, tried in order."""

    chain: list[str] = Field(min_length=1)
    fallback_on_permanent: bool = False
    """Also fall back on permanent errors (401, 404, ...), not only transient ones."""


class PriceOverride(_Section):
    """Prices in USD per million tokens, overriding litellm's bundled map."""

    input_per_mtok: float = Field(ge=0)
    output_per_mtok: float = Field(ge=0)
    cached_input_per_mtok: float | None = Field(None, ge=0)


class GateSettings(_Section):
    """Per-step validation gate."""

    max_repairs: int = Field(2, ge=0)
    """Times a reply that fails validation is sent back with the error."""


class RuntimeSettings(_Section):
    """Agents and tasks."""

    max_steps: int = Field(10, ge=1)
    agent_modules: list[str] = ["agentops.runtime.agents"]
    default_route: str = "default"
    tool_timeout_s: float = Field(10.0, gt=0)


class WorkerSettings(_Section):
    """The durable queue's workers."""

    concurrency: int = Field(4, ge=1)
    """Tasks run at once by this process."""
    lease_s: float = Field(30.0, gt=0)
    """A claimed task is this process's for this long; heartbeats extend it."""
    poll_s: float = Field(0.5, gt=0)
    """How often the queue is checked for work other processes made ready, expired leases and deadlines."""
    max_attempts: int = Field(3, ge=1)
    """Claims of one task before it goes to the dead-letter state."""
    journal_retention_h: float = Field(168.0, gt=0)
    """Journals of tasks finished longer ago than this are compacted away."""


class LogSettings(_Section):
    """Structured logging."""

    level: Literal["debug", "info", "warning", "error"] = "warning"
    format: Literal["auto", "json", "console"] = "auto"


class ApiSettings(_Section):
    """``agentops serve``: the control API. Tokens come from ``$AGENTOPS_TOKENS`` only, never this file."""

    host: str = "127.0.0.1"
    """Loopback by default; another address is refused unless tokens are configured."""
    port: int = Field(8765, ge=0, le=65535)
    """0 = a free ephemeral port (printed at start)."""
    max_body_bytes: int = Field(1_000_000, ge=1024)
    """Larger request bodies get 413."""
    rate_per_min: int = Field(3000, ge=1)
    """Requests per minute per token (a token bucket); past it, 429 with Retry-After. A remote
    console polls about 450 a minute."""
    rate_burst: int = Field(200, ge=1)
    """Requests a token may make at once before the per-minute rate applies."""
    max_connections: int = Field(200, ge=1)
    """Open connections at once (event streams included); past it, 503."""
    drain_grace_s: float = Field(20.0, ge=0)
    """On SIGTERM, running tasks get this long to finish before they are handed back to the queue
    (with uvicorn's 5 s to close connections, inside Kubernetes' default 30 s grace period)."""
    event_history: int = Field(10_000, ge=0)
    """Recent events kept so a console that lost its connection resumes where it left off."""
    tls_certfile: Path | None = None
    """Serve HTTPS with this certificate (PEM); or put a TLS-terminating reverse proxy in front."""
    tls_keyfile: Path | None = None
    """The certificate's private key (PEM; a path, never the key itself)."""
    metrics_public: bool = False
    """Serve ``/metrics`` without a token (for a Prometheus on a private network). Off: a
    scraper sends a viewer's bearer token, like any client."""

    @model_validator(mode="after")
    def _tls_pair(self) -> ApiSettings:
        if (self.tls_certfile is None) != (self.tls_keyfile is None):
            raise ValueError("tls_certfile and tls_keyfile go together: set both or neither")
        for f in (self.tls_certfile, self.tls_keyfile):
            if f is not None and not f.is_file():
                raise ValueError(f"{f}: no such file")
        return self


class PromptSettings(_Section):
    """Prompt files and their rollouts."""

    dir: Path = Path("prompts")
    """Where prompt files (``NAME.toml``) are loaded from at start."""
    evaluate_every_s: float = Field(2.0, gt=0)
    """How often canaries are checked (advance, promote, roll back) and shadow scores compared."""
    judge: str = "judge"
    """The prompt that scores a shadow's reply against production's."""


FlagValue = bool | int | float | str


class FlagRule(_Section):
    """Serve ``value`` to an agent or a user (the first matching rule wins)."""

    agent: str | None = None
    user: str | None = None
    value: FlagValue

    @model_validator(mode="after")
    def _targets(self) -> FlagRule:
        if self.agent is None and self.user is None:
            raise ValueError("a rule needs agent or user")
        return self


class FlagSettings(_Section):
    """One feature flag: boolean (``value`` to ``rollout`` percent) or multi-variant (``variants``)."""

    description: str = ""
    enabled: bool = True
    """False: everyone gets ``default``."""
    killed: bool = False
    """Kill switch: ``default`` everywhere, rules included."""
    default: FlagValue = False
    """Served when the flag is off, killed, or the unit is outside the rollout."""
    value: FlagValue = True
    """Served to units inside the rollout (boolean flags)."""
    rollout: float = Field(100.0, ge=0, le=100)
    """Percent of units served ``value`` (sticky: a stable hash of flag and unit)."""
    variants: dict[str, float] = {}
    """Multi-variant: value -> percent of units (the rest get ``default``)."""
    unit: Literal["user", "task"] = "user"
    """Bucket by user (falls back to the task without one) or by task."""
    rules: list[FlagRule] = []

    @model_validator(mode="after")
    def _weights(self) -> FlagSettings:
        if any(w < 0 for w in self.variants.values()) or sum(self.variants.values()) > 100:
            raise ValueError("variants: percentages must be >= 0 and add up to at most 100")
        return self


class SimulatorSettings(SimConfig):
    """The built-in simulator, started in-process when a deployment uses ``api_base = "sim"``."""

    enabled: bool = True
