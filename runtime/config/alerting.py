"""Configuration of alerts: ``[alerts]`` (the four built-in rules and how often they are
evaluated), ``[alerts.webhook]`` and ``[alerts.command]`` (where a firing is delivered).

Part of :class:`~agentops.runtime.config.Settings`. Secrets (the webhook's signing key) come
from the environment: ``secret_env`` names the variable.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["AlertSettings", "CommandHookSettings", "WebhookSettings"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebhookSettings(_Section):
    """A JSON POST of each firing and resolution, signed with HMAC-SHA256."""

    url: str | None = None
    """The endpoint, when it holds no secret; else ``url_env``."""
    url_env: str | None = None
    """The variable holding the endpoint (Slack, Teams and Discord hooks carry their secret in the URL)."""
    secret_env: str | None = None
    """The variable holding the signing key (``X-Agentops-Signature: sha256=<hex>`` over
    ``<X-Agentops-Timestamp>.<body>``)."""
    timeout_s: float = Field(5.0, gt=0)
    retries: int = Field(3, ge=0, le=10)
    """Further attempts after a failed one (connection error, timeout, 5xx), with backoff."""

    @model_validator(mode="after")
    def _one_url(self) -> WebhookSettings:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give url or url_env (the variable holding the URL), one of them")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url {self.url!r} is not an http(s) URL")
        return self


class CommandHookSettings(_Section):
    """A command run for each firing and resolution, given the alert as JSON on its standard input."""

    argv: list[str] = Field(min_length=1)
    timeout_s: float = Field(10.0, gt=0)


class AlertSettings(_Section):
    """The built-in alert rules: each has a threshold and a ``for`` duration (a condition must hold
    that long before the alert fires, so a blip does not page)."""

    enabled: bool = True
    evaluate_every_s: float = Field(15.0, gt=0)
    """How often the rules are evaluated (every process with workers evaluates them; one row per firing)."""
    for_s: float = Field(60.0, ge=0)
    """How long a condition must hold before its alert fires."""

    tool_error_rate: float = Field(0.05, gt=0, le=1)
    """Fire above this share of failed tool calls (per agent, and overall)..."""
    tool_error_window_s: float = Field(300.0, gt=0)
    """... over this window ..."""
    tool_error_min_calls: int = Field(20, ge=1)
    """... once it holds at least this many calls (one failure in two calls does not page)."""

    latency_p95_ratio: float = Field(2.0, gt=1)
    """Fire when a deployment's P95 latency is above this multiple of its baseline ..."""
    latency_window_s: float = Field(300.0, gt=0)
    """... over this window (its own P95) ..."""
    latency_baseline_s: float = Field(86400.0, gt=0)
    """... against the same deployment's P95 over this long before the window ..."""
    latency_min_calls: int = Field(20, ge=1)
    """... each with at least this many calls; with fewer in the baseline, ``latency_baseline_ms`` serves."""
    latency_baseline_ms: float | None = Field(None, gt=0)
    """The baseline P95 while there is too little history (None: no alert until there is)."""

    daily_cost_ratio: float = Field(1.5, gt=1)
    """Fire when today's spend is above this multiple of the rolling daily average ..."""
    daily_cost_days: int = Field(7, ge=1, le=90)
    """... of at most this many days before today (from the first day with spend: the days before
    an install do not count; later days with no spend count as zero) ..."""
    daily_cost_min_days: int = Field(3, ge=1, le=90)
    """... once there are this many days of history (day 2 of an install pages nobody) ..."""
    daily_cost_min_usd: float = Field(0.0, ge=0)
    """... and today's spend is at least this (a cent over a cent is no incident)."""

    task_tokens_ratio: float = Field(3.0, gt=1)
    """Fire when one task's tokens pass this multiple of the mean of its agent's finished tasks ..."""
    task_tokens_min_tasks: int = Field(10, ge=1)
    """... once the agent has at least this many finished tasks."""

    webhook: WebhookSettings | None = None
    command: CommandHookSettings | None = None
