"""``Control``: the one interface the console and the CLI use to see and steer a runtime.

:class:`~agentops.runtime.control.local.LocalControl` wraps an in-process runtime (live:
circuits, events) or just a store file (read-only: what the runtime recorded, also while it
runs in another process); :class:`~agentops.runtime.control.remote.RemoteControl` speaks HTTP
to ``agentops serve``. Callers cannot tell them apart.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from agentops.runtime.calls import BudgetStatus, start_of_day
from agentops.runtime.engine import CircuitStatus
from agentops.runtime.events import Subscription
from agentops.runtime.rollouts import FlagStatus, PromptSummary, PromptVersionInfo, RolloutInfo
from agentops.store import (
    AlertRecord,
    AuditRecord,
    BatchJobRecord,
    BatchTotals,
    CircuitEventRecord,
    CostRow,
    EscalationRecord,
    GuardDecisionRecord,
    SpanRecord,
    TaskRecord,
)
from agentops.store.costs import CacheTotals
from agentops.store.store import CallBucket, CallTotals

__all__ = ["Control", "RuntimeStatus", "start_of_today"]


def start_of_today() -> float:
    """Unix time of today's local midnight."""
    return start_of_day(time.time())


@dataclass(frozen=True)
class RuntimeStatus:
    """What the console's header shows."""

    connection: str
    live: bool
    ready: bool
    open_circuits: int
    spend_today_usd: float
    tasks_running: int
    workers: int = 0
    """Workers of the in-process pool (0 when the runtime runs no pool)."""
    workers_busy: int = 0
    queue_depth: int = 0
    escalations_waiting: int = 0
    """Escalations waiting for an operator's decision."""
    alerts_firing: int = 0
    """Alerts firing now."""

    @property
    def workers_idle(self) -> int:
        """Workers waiting for a task."""
        return self.workers - self.workers_busy


@runtime_checkable
class Control(Protocol):
    """Everything an operator surface may ask of a runtime."""

    connection_state: str
    """``connected``, or (remote) what is wrong with the link and when the next attempt is."""

    async def status(self, *, day_start: float | None = None) -> RuntimeStatus:
        """Connection, readiness and headline figures (spend since ``day_start``, default local midnight)."""
        ...

    async def list_tasks(
        self, *, limit: int = 50, status: str | None = None, agent: str | None = None
    ) -> list[TaskRecord]:
        """Tasks, newest first."""
        ...

    async def get_task(self, task_id: str) -> TaskRecord | None:
        """One task by id or unique prefix."""
        ...

    async def get_tasks(self, task_ids: list[str]) -> list[TaskRecord]:
        """The tasks with these exact ids (those that exist), in no particular order."""
        ...

    async def task_spans(self, task_id: str) -> list[SpanRecord]:
        """The spans of a task, in start order."""
        ...

    async def call_buckets(self, *, since: float, until: float, bucket_s: float = 60.0) -> list[CallBucket]:
        """LLM calls, errors and P95 latency per bucket, oldest first (empty buckets included)."""
        ...

    async def call_totals(self, *, since: float = 0.0) -> CallTotals:
        """LLM call counts (calls, errors, retries, fallbacks) and cost since ``since``."""
        ...

    async def spend(self, *, since: float, until: float | None = None) -> float:
        """Ledger spend in USD in a time range."""
        ...

    async def budgets(self) -> list[BudgetStatus]:
        """Every capped budget in use today, with its cap, reservations, rate and time to exhaustion."""
        ...

    async def set_budget(
        self, scope: str, key: str, cap: float, *, actor: str, via: str = "console"
    ) -> BudgetStatus | None:
        """Set a budget's cap live (``key`` ``*``: the scope's default), audited."""
        ...

    async def cache_stats(self, *, since: float) -> CacheTotals:
        """Response-cache hits, savings and entries since ``since``."""
        ...

    async def clear_cache(self, *, prompt: str | None = None, actor: str, via: str = "console") -> int:
        """Drop cached answers (all, or one prompt's), audited. Returns how many."""
        ...

    async def costs(self, by: str, *, since: float = 0.0) -> list[CostRow]:
        """Ledger spend grouped by a dimension."""
        ...

    async def batch_jobs(self, *, in_flight: bool = False, limit: int = 50) -> list[BatchJobRecord]:
        """Provider batch jobs, newest first (only those not settled yet, with ``in_flight``)."""
        ...

    async def batch_totals(self, *, since: float) -> BatchTotals:
        """Batch jobs in flight, requests waiting, and what batch calls cost and saved since ``since``."""
        ...

    async def circuits(self) -> list[CircuitStatus]:
        """Every deployment's breaker (empty when not connected to a live runtime)."""
        ...

    async def circuit_events(self, *, limit: int = 200) -> list[CircuitEventRecord]:
        """Recent breaker transitions, newest first."""
        ...

    def subscribe(self, maxsize: int = 10_000) -> Subscription | None:
        """Live events, or None when the runtime is not live."""
        ...

    async def escalations(self, *, status: str | None = "pending", limit: int = 200) -> list[EscalationRecord]:
        """Escalations: waiting ones oldest first, or all newest first (``status=None``)."""
        ...

    async def get_escalation(self, escalation_id: str) -> EscalationRecord:
        """One escalation by id or unique prefix (DecisionError if there is none)."""
        ...

    async def decide(
        self,
        escalation_id: str,
        action: str,
        *,
        actor: str,
        via: str = "console",
        args: Any = None,
        comment: str | None = None,
    ) -> EscalationRecord:
        """Approve, deny (``comment`` is the reason) or edit (``args``, validated) an escalation, once."""
        ...

    async def submit(
        self,
        agent: str,
        input: Any,
        *,
        actor: str,
        via: str = "console",
        user_id: str | None = None,
        session_id: str | None = None,
        priority: int = 0,
        idempotency_key: str | None = None,
        batch: bool = False,
    ) -> tuple[TaskRecord, bool]:
        """Queue a task; the same idempotency key twice returns the first task."""
        ...

    async def cancel(self, task_id: str, *, actor: str, via: str = "console") -> str:
        """Cancel a task: ``cancelled``, ``cancelling`` (running), or the final status it had."""
        ...

    async def audit_log(self, *, limit: int = 200) -> list[AuditRecord]:
        """Operator actions, newest first."""
        ...

    async def prompts(self) -> list[PromptSummary]:
        """Every prompt: versions, labels, the running canary and shadow."""
        ...

    async def prompt_versions(self, name: str, *, since: float = 0.0) -> list[PromptVersionInfo]:
        """A prompt's versions, newest first, with their figures since ``since``."""
        ...

    async def prompt_action(
        self,
        name: str,
        action: str,
        *,
        version: int | None = None,
        label: str | None = None,
        actor: str,
        via: str = "console",
    ) -> PromptSummary:
        """promote / rollback / canary.start / canary.stop / shadow.start / shadow.stop / label (audited)."""
        ...

    async def rollouts(self, name: str | None = None) -> list[RolloutInfo]:
        """Canaries and shadows, newest first."""
        ...

    async def flags(self) -> list[FlagStatus]:
        """Every flag, its definition and evaluations per minute by value."""
        ...

    async def set_flag(self, name: str, changes: dict[str, Any], *, actor: str, via: str = "console") -> FlagStatus:
        """Change a flag live (audited)."""
        ...

    async def alerts(self, *, status: str | None = None, limit: int = 200) -> list[AlertRecord]:
        """Alerts newest first (``firing`` or ``resolved`` ones only, with ``status``)."""
        ...

    async def guard_decisions(
        self, *, guard: str | None = None, agent: str | None = None, since: float = 0.0, limit: int = 200
    ) -> list[GuardDecisionRecord]:
        """Guard decisions other than *pass*, newest first (texts masked)."""
        ...

    async def acknowledge_alert(self, alert_id: str, *, actor: str, via: str = "console") -> AlertRecord:
        """Acknowledge an alert (audited); one raised by an event (a canary rollback) resolves."""
        ...

    async def silence_alert(
        self, alert_id: str, duration_s: float, *, actor: str, via: str = "console", reason: str | None = None
    ) -> AlertRecord:
        """Hold an alert's rule and key quiet for ``duration_s`` (firings recorded, not delivered; audited)."""
        ...
