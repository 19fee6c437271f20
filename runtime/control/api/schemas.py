"""The control API's request and response bodies (strict: an unknown field is a 422 naming it)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from agentops.runtime.config import FlagRule, FlagValue
from agentops.store import TaskRecord

__all__ = [
    "AlertSilence",
    "BudgetCap",
    "CacheClear",
    "CacheCleared",
    "CacheStats",
    "CancelResponse",
    "DecisionRequest",
    "ErrorBody",
    "FlagChange",
    "PromptActionRequest",
    "SubmitRequest",
    "SubmitResponse",
    "WhoAmI",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubmitRequest(_Strict):
    """A task to queue."""

    agent: str = Field(min_length=1, max_length=200)
    input: JsonValue
    user_id: str | None = Field(None, max_length=200)
    session_id: str | None = Field(None, max_length=200)
    priority: int = Field(0, ge=-1000, le=1000)
    idempotency_key: str | None = Field(None, max_length=200)
    batch: bool = Field(False, description="run the task's LLM steps by the provider's batch API ([batch])")


class SubmitResponse(BaseModel):
    """The queued task; ``created`` is false when the idempotency key returned an earlier one."""

    task: TaskRecord
    created: bool


class DecisionRequest(_Strict):
    """An operator's decision on an escalation."""

    action: Literal["approve", "deny", "edit"]
    args: JsonValue = None
    """The replacement arguments of an ``edit`` (validated against the tool's schema)."""
    comment: str | None = Field(None, max_length=10_000)
    """A note; for ``deny``, the reason the agent receives (required)."""


class PromptActionRequest(_Strict):
    """An operator's action on a prompt."""

    action: Literal["promote", "rollback", "canary.start", "canary.stop", "shadow.start", "shadow.stop", "label"]
    version: int | None = Field(None, ge=1, description="the version to promote, canary, shadow or label")
    label: str | None = Field(None, max_length=40, description="for action=label: the label to point at version")


class FlagChange(_Strict):
    """Keys of a flag to change live (the others keep their values)."""

    enabled: bool | None = None
    killed: bool | None = None
    rollout: float | None = Field(None, ge=0, le=100)
    default: FlagValue | None = None
    value: FlagValue | None = None
    variants: dict[str, float] | None = None
    unit: Literal["user", "task"] | None = None
    rules: list[FlagRule] | None = None
    description: str | None = Field(None, max_length=1000)


class AlertSilence(_Strict):
    """How long to hold an alert's rule and key quiet."""

    duration_s: float = Field(gt=0, le=30 * 86400, allow_inf_nan=False, description="seconds, up to 30 days")
    reason: str | None = Field(None, max_length=1000)


class BudgetCap(_Strict):
    """A budget's new cap."""

    cap: float = Field(gt=0, allow_inf_nan=False, description="USD for the *-day scopes, tokens for task and session")


class CacheClear(_Strict):
    """Which cached answers to drop."""

    prompt: str | None = Field(
        None, min_length=1, max_length=200, description="only this prompt's answers (every version); null: all"
    )


class CacheStats(BaseModel):
    """Response-cache figures since a time: calls, hits by kind, the hit rate, savings, entries held."""

    model_config = ConfigDict(from_attributes=True)

    calls: int = Field(description="LLM calls made (hits included)")
    exact_hits: int
    semantic_hits: int
    hit_rate: float = Field(description="hits (exact and semantic) per call")
    saving_usd: float = Field(description="what the hits saved: their answers' original cost")
    prompt_cache_saving_usd: float = Field(description="what providers' prompt caching saved")
    entries: int = Field(description="cached answers held now")


class CacheCleared(BaseModel):
    """How many cached answers were dropped."""

    cleared: int


class CancelResponse(BaseModel):
    """``cancelled``, ``cancelling`` (running: stops at its next step) or the final status it already had."""

    task_id: str
    outcome: str


class WhoAmI(BaseModel):
    """The caller's token name and role."""

    name: str
    role: str


class ErrorBody(BaseModel):
    """Every error response."""

    detail: Any
    error: str | None = None
