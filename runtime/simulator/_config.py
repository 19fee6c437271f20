"""Configuration of the simulator: what each simulated model does.

Everything here is a pydantic model so a config can come from TOML, JSON or a
test, and an unknown key is an error rather than a silently ignored typo.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["ModelBehaviour", "Outage", "SimConfig"]


def _probability(default: float = 0.0) -> float:
    return Field(default=default, ge=0.0, le=1.0)


class Outage(BaseModel):
    """A window during which a model answers every request with 503.

    Either one-off (``start_s`` + ``duration_s``, seconds after the server
    started) or periodic (``every_s`` + ``duration_s`` + ``offset_s``: down during
    ``[offset + k*every, offset + k*every + duration)`` for k = 0, 1, ...).

    Attributes:
        start_s: Start of a one-off outage, in seconds after server start.
        every_s: Period of a periodic outage, in seconds.
        duration_s: How long each outage lasts, in seconds.
        offset_s: Start of the first periodic outage, in seconds after start.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    start_s: float | None = Field(default=None, ge=0.0)
    every_s: float | None = Field(default=None, gt=0.0)
    duration_s: float = Field(gt=0.0)
    offset_s: float = Field(default=0.0, ge=0.0)

    @model_validator(mode="after")
    def _one_kind(self) -> Outage:
        if (self.start_s is None) == (self.every_s is None):
            raise ValueError("an outage needs exactly one of start_s (one-off) or every_s (periodic)")
        if self.every_s is not None and self.duration_s >= self.every_s:
            raise ValueError("a periodic outage needs duration_s < every_s")
        return self

    def window_at(self, t: float) -> tuple[float, float] | None:
        """Return the outage window containing ``t``, if any.

        Args:
            t: Seconds since the server started.

        Returns:
            ``(start, end)`` in seconds since server start, or None when ``t``
            falls outside every window of this outage.
        """
        if self.start_s is not None:
            start = self.start_s
        else:
            assert self.every_s is not None
            if t < self.offset_s:
                return None
            k = (t - self.offset_s) // self.every_s
            start = self.offset_s + k * self.every_s
        end = start + self.duration_s
        return (start, end) if start <= t < end else None


class ModelBehaviour(BaseModel):
    """How one simulated model behaves: latency, faults, limits and replies.

    Fault rates are probabilities per request. One uniform draw per request
    picks at most one fault, checked in the order 429, 500, 502, 503, timeout,
    malformed, invalid_output (so rates add up; a sum above 1 starves the
    later kinds).

    Attributes:
        latency_ms: Median latency of a response, in milliseconds; 0 = none.
        latency_sigma: Spread of the lognormal latency; 0 = fixed latency.
        rate_429: Probability of a 429 rate-limit answer.
        retry_after_s: Retry-After header value on 429s; None = no header.
        rate_500: Probability of a 500 answer.
        rate_502: Probability of a 502 answer.
        rate_503: Probability of a 503 answer.
        rate_timeout: Probability that the server stalls ``timeout_stall_s``
            before answering, so the client times out.
        timeout_stall_s: How long a timeout fault stalls, in seconds.
        rate_malformed: Probability of HTTP 200 with a body that is not JSON.
        rate_invalid_output: Probability, when JSON output or a tool call is
            asked for, that the JSON violates the requested schema.
        outages: Scheduled outage windows (503 on every request).
        context_window: Largest prompt, in estimated tokens; above it: 400.
        rpm_limit: Requests admitted per rolling ``rpm_window_s``; above it: 429.
        rpm_window_s: The rate limit's window (60 s: per minute).
        cache_min_tokens: Smallest seen prefix reported as cached tokens.
        replies: Scripted reply texts, cycled in order; empty = generated.
        fail_statuses: Always answer with these statuses, cycled; e.g. [401].
    """

    model_config = ConfigDict(extra="forbid")

    latency_ms: float = Field(default=20.0, ge=0.0)
    latency_sigma: float = Field(default=0.3, ge=0.0)
    rate_429: float = _probability()
    retry_after_s: float | None = Field(default=1.0, ge=0.0)
    rate_500: float = _probability()
    rate_502: float = _probability()
    rate_503: float = _probability()
    rate_timeout: float = _probability()
    timeout_stall_s: float = Field(default=30.0, ge=0.0)
    rate_malformed: float = _probability()
    rate_invalid_output: float = _probability()
    outages: list[Outage] = Field(default_factory=list)
    context_window: int = Field(default=128_000, gt=0)
    rpm_limit: int | None = Field(default=None, gt=0)
    rpm_window_s: float = Field(default=60.0, gt=0)
    cache_min_tokens: int = Field(default=0, ge=0)
    replies: list[str] = Field(default_factory=list)
    fail_statuses: list[int] = Field(default_factory=list)

    @model_validator(mode="after")
    def _statuses_are_errors(self) -> ModelBehaviour:
        bad = [s for s in self.fail_statuses if not 400 <= s <= 599]
        if bad:
            raise ValueError(f"fail_statuses must be HTTP error codes (400-599), got {bad}")
        return self


class BatchBehaviour(BaseModel):
    """How the simulator's batch API (``/v1/files``, ``/v1/batches``) behaves.

    Attributes:
        delay_s: Seconds from a batch's creation until it is completed (its lines are
            answered when it is first read after that).
        fail_rate: Share of lines answered with a 500 in the batch's error file, chosen by
            the hash of each line's ``custom_id``; a request that failed once is not failed
            again, so a retried line succeeds.
    """

    model_config = ConfigDict(extra="forbid")

    delay_s: float = Field(default=1.0, ge=0.0)
    fail_rate: float = Field(default=0.0, ge=0.0, le=1.0)


class SimConfig(BaseModel):
    """Configuration of a whole simulator server.

    Attributes:
        host: Address to bind.
        port: Port to bind; 0 picks a free ephemeral port.
        seed: Seed of every random choice (faults, latency, replies).
        default: Behaviour of any model not listed in ``models``.
        models: Behaviour per model name, as the client sends it (litellm
            strips the ``openai/`` prefix, so e.g. ``"gpt-4o-mini"``).
        batch: How the batch API behaves.
    """

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)
    seed: int = 0
    default: ModelBehaviour = Field(default_factory=ModelBehaviour)
    models: dict[str, ModelBehaviour] = Field(default_factory=dict)
    batch: BatchBehaviour = Field(default_factory=BatchBehaviour)

    def behaviour(self, model: str) -> ModelBehaviour:
        """Return the behaviour of ``model``: its own, or the default."""
        return self.models.get(model, self.default)
