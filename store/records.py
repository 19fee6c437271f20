"""Plain records as the store writes and reads them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CircuitEventRecord",
    "CostRow",
    "LLMCallRecord",
    "LedgerRecord",
    "SpanRecord",
    "TaskRecord",
    "ToolCallRecord",
]


@dataclass
class TaskRecord:
    """One task: an agent run on one input."""

    id: str
    agent: str
    status: str
    input: Any
    trace_id: str
    created_at: float
    user_id: str | None = None
    session_id: str | None = None
    output: Any = None
    error_type: str | None = None
    error: str | None = None
    steps: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    priority: int = 0
    idempotency_key: str | None = None
    attempts: int = 0
    max_attempts: int = 3
    lease_owner: str | None = None
    lease_expires_at: float | None = None
    available_at: float = 0.0
    cancel_requested: int = 0
    prompts: list[str] = field(default_factory=list)
    """The prompt versions the agent ran (``name@vN``), in the order of first use."""
    parent_id: str | None = None
    """The task whose step spawned this one (``ctx.spawn``), if any."""
    parent_span_id: str | None = None
    """The parent's span this task's trace hangs from (the trace id is the parent's)."""
    awaiting_subtasks: int = 0
    """1 while the task waits in ``ctx.gather`` for its sub-tasks to end."""
    batch: int = 0
    """1 when it was submitted to run by batch: each LLM step goes by a provider's batch API."""

    @property
    def latency_ms(self) -> float | None:
        """Wall time from start to finish, when finished."""
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at) * 1000.0


@dataclass
class SpanRecord:
    """One span of a trace (OpenTelemetry-compatible ids)."""

    span_id: str
    trace_id: str
    parent_id: str | None
    task_id: str | None
    name: str
    kind: str
    status: str
    start_time: float
    end_time: float | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass
class LLMCallRecord:
    """The outcome of one ``ctx.llm`` call across its retries and fallbacks."""

    span_id: str
    trace_id: str
    task_id: str | None
    route: str
    model: str | None
    deployment: str | None
    status: str
    attempts: int
    retries: int
    fallbacks: int
    latency_ms: float
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cost_usd: float
    created_at: float
    error_type: str | None = None
    error: str | None = None
    prompt: str | None = None
    """The prompt file the call rendered (``ctx.llm(prompt=...)``), if any."""
    prompt_version: int | None = None
    gate_failed: bool = False
    """The reply failed its validation gate (a repair followed, or the step failed)."""
    cache: str | None = None
    """``exact`` or ``semantic`` when the answer came from the response cache."""
    batch_job: str | None = None
    """The batch job that answered it, when it went by a provider's batch API."""


@dataclass
class ToolCallRecord:
    """The outcome of one tool call."""

    span_id: str
    task_id: str | None
    tool: str
    arguments: Any
    status: str
    latency_ms: float
    created_at: float
    result: Any = None
    error_type: str | None = None
    error: str | None = None


@dataclass
class LedgerRecord:
    """One billed provider response, attributed."""

    span_id: str
    model: str
    deployment: str
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cost_usd: float
    priced: bool
    created_at: float
    task_id: str | None = None
    agent: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    prompt: str | None = None
    """``name@vN`` of the prompt version the call rendered, if any."""
    cache: str | None = None
    """``exact`` or ``semantic`` when served from the response cache (cost 0)."""
    saving_usd: float = 0.0
    """What caching saved (a cached answer's original cost, or cached input tokens' discount),
    or, with ``batch_job``, what the batch rate saved against the full rate."""
    batch_job: str | None = None
    """The batch job that billed it, when it went by a provider's batch API."""


@dataclass
class CircuitEventRecord:
    """One circuit breaker transition."""

    deployment: str
    from_state: str
    to_state: str
    reason: str
    at: float


@dataclass
class CostRow:
    """Spend grouped by one dimension."""

    key: str
    calls: int
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cost_usd: float
    unpriced_calls: int
    cache_hits: int = 0
    """Calls answered from the response cache."""
    saving_usd: float = 0.0
    """What the response cache and provider prompt caching saved."""


@dataclass
class JournalEntry:
    """One journaled step of a task."""

    task_id: str
    seq: int
    kind: str
    name: str
    status: str
    result: Any
    created_at: float


@dataclass
class EscalationRecord:
    """A decision a task is waiting for, and (once made) the decision."""

    id: str
    task_id: str
    seq: int
    agent: str
    reason: str
    context: Any
    proposed: Any
    tool: str | None
    status: str
    default_action: str
    created_at: float
    deadline: float | None = None
    decision: str | None = None
    decided_args: Any = None
    comment: str | None = None
    decided_by: str | None = None
    decided_via: str | None = None
    decided_at: float | None = None


@dataclass
class AuditRecord:
    """One operator action: who, when, what, from where."""

    at: float
    actor: str
    via: str
    action: str
    target: str
    details: dict[str, Any] = field(default_factory=dict)
