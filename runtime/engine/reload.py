"""A configuration reload (SIGHUP, or ``POST /v1/config/reload``): the keys a running runtime takes
on at once (:data:`LIVE_KEYS`), and those that need a restart, reported and left as they are."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import ValidationError

from agentops.runtime.calls import RetryPolicy
from agentops.runtime.config import Settings
from agentops.runtime.errors import ConfigError, describe_validation
from agentops.runtime.logs import configure_logging, get_logger

if TYPE_CHECKING:
    from agentops.runtime.engine.runtime import Runtime

__all__ = ["LIVE_KEYS", "Reload", "apply_reload", "changed_keys", "is_live"]

log = get_logger("agentops.runtime")

LIVE_KEYS = frozenset(
    {"retry", "circuit", "gate", "log", "runtime.max_steps", "runtime.tool_timeout_s", "workers.poll_s"}
    | {"prompts.evaluate_every_s"}
    | {"api.rate_per_min", "api.rate_burst", "api.drain_grace_s", "api.metrics_public"}
    | {"budgets", "rate_limits", "cache.max_temperature", "cache.ttl_s", "cache.threshold"}
)
"""Configuration a running runtime takes on at a reload (a whole section, or one key)."""


@dataclass(frozen=True)
class Reload:
    """What a configuration reload changed."""

    applied: list[str]
    """Keys now in effect (``section.key``)."""
    restart_required: list[str]
    """Keys that changed in the file but take effect only after a restart."""


def changed_keys(old: Settings, new: Settings) -> list[str]:
    a, b = old.model_dump(mode="json"), new.model_dump(mode="json")
    out = []
    for section in b:
        x, y = a.get(section), b[section]
        if x == y:
            continue
        if isinstance(x, dict) and isinstance(y, dict) and section not in ("deployments", "routes", "prices"):
            out += [f"{section}.{k}" for k in sorted(set(x) | set(y)) if x.get(k) != y.get(k)]
        else:
            out.append(section)
    return out


def is_live(key: str) -> bool:
    return key in LIVE_KEYS or key.split(".", 1)[0] in LIVE_KEYS


def apply_reload(rt: Runtime, new: Settings) -> Reload:
    """Take on the parts of ``new`` that can change while running (:data:`LIVE_KEYS`).

    Retry policy, breaker thresholds, gate, log level, step and tool limits, and the
    workers' poll interval apply to the next call or step; anything else that differs
    is reported as needing a restart and left as it is.
    """
    changed = changed_keys(rt.settings, new)
    applied = [k for k in changed if is_live(k)]
    merged = rt.settings.model_dump()
    fresh = new.model_dump()
    for key in applied:
        section, _, name = key.partition(".")
        if name:
            merged[section][name] = fresh[section][name]
        else:
            merged[section] = fresh[section]
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(f"reload refused: {describe_validation(exc)}") from None
    rt.settings = settings
    if rt._tasks is not None:
        rt._tasks.settings = settings
    if rt._client is not None:
        r = settings.retry
        rt._client.retry = RetryPolicy(r.max_retries, r.base_delay_s, r.max_delay_s, r.retry_after_cap_s)
        rt._client.deadline_s = r.deadline_s
    for breaker in rt.breakers.values():
        for name, value in settings.circuit.model_dump().items():
            setattr(breaker, name, value)
    if rt.pool is not None:
        rt.pool.poll_s = settings.workers.poll_s
    if rt.budgets is not None:
        rt.budgets.settings = settings.budgets
    if rt.cache is not None:
        rt.cache.settings = settings.cache
    if any(k.startswith("rate_limits") for k in applied):
        rt.pacer.reconfigure(settings.rate_limits)
    if rt._client is not None:
        rt._client.estimate_output_tokens = settings.budgets.estimate_output_tokens
    if any(k.startswith("log") for k in applied):
        configure_logging(settings.log.level, settings.log.format)
    result = Reload(applied, [k for k in changed if not is_live(k)])
    log.warning("configuration reloaded", applied=result.applied, restart_required=result.restart_required)
    rt.bus.publish("config.reloaded", applied=result.applied, restart_required=result.restart_required)
    return result
