"""``LocalControl``: the :class:`~agentops.runtime.control.protocol.Control` of a runtime in this
process (live: circuits, events), or of just a store file (read-only: what a runtime recorded,
also while it runs in another process; changes land in the store, and that runtime picks
them up).
"""

from __future__ import annotations

from typing import Any

from agentops.runtime.calls import Budgets, BudgetStatus, start_of_day
from agentops.runtime.config import Settings
from agentops.runtime.control.local_costs import CostsControl
from agentops.runtime.control.operations import Operations
from agentops.runtime.control.protocol import Control, RuntimeStatus, start_of_today
from agentops.runtime.engine import CircuitStatus, Runtime
from agentops.runtime.events import EventBus, Subscription
from agentops.runtime.guards import Guards
from agentops.runtime.registry import default_registry, import_agent_modules
from agentops.runtime.rollouts import Flags, FlagStatus, PromptRegistry, PromptSummary, PromptVersionInfo, RolloutInfo
from agentops.runtime.rollouts import actions as prompt_actions
from agentops.runtime.rollouts import views as prompt_ops
from agentops.store import (
    AlertRecord,
    AlertStore,
    AuditRecord,
    CircuitEventRecord,
    EscalationRecord,
    GuardDecisionRecord,
    GuardStore,
    SpanRecord,
    Store,
    TaskRecord,
)
from agentops.store.costs import CacheTotals
from agentops.store.store import CallBucket, CallTotals

__all__ = [
    "BudgetStatus",
    "CacheTotals",
    "CallBucket",
    "CallTotals",
    "Control",
    "LocalControl",
    "RuntimeStatus",
    "start_of_day",
    "start_of_today",
]


class LocalControl(CostsControl):
    """Control of an in-process runtime, or read-only access to a store file (its spend,
    budgets and cache in :class:`~.local_costs.CostsControl`)."""

    connection_state = "connected"

    def __init__(
        self,
        store: Store,
        runtime: Runtime | None = None,
        owns_store: bool = False,
        settings: Settings | None = None,
    ) -> None:
        self._store = store
        self.runtime = runtime
        self._owns_store = owns_store
        registry = runtime.registry if runtime is not None else default_registry
        configured = runtime.settings if runtime is not None else settings or Settings()
        self._settings = configured
        self._budget_view: Budgets | None = None
        self._alerts = AlertStore(store)
        attempts = configured.workers.max_attempts
        self._ops = Operations(store, registry, runtime, attempts)
        if runtime is not None and runtime.prompts is not None and runtime.flags is not None:
            self._prompts, self._flags = runtime.prompts, runtime.flags
        else:  # the store only: changes land there, and a runtime elsewhere picks them up
            self._prompts = PromptRegistry(store, EventBus(), configured, registry)
            self._flags = Flags(store, EventBus(), configured.flags)

    @classmethod
    def of(cls, runtime: Runtime) -> LocalControl:
        """Control of a started runtime (and its workers, if it runs them)."""
        assert runtime.store is not None, "start the runtime first"
        return cls(runtime.store, runtime)

    @classmethod
    async def open_store(cls, settings: Settings) -> LocalControl:
        """Read-only control over the configured store file (no runtime)."""
        import_agent_modules(settings.runtime.agent_modules)  # to validate submissions and edits
        store = await Store.open(settings.store.path, synchronous=settings.store.synchronous)
        control = cls(store, None, owns_store=True, settings=settings)
        try:  # the files as they are now: registering is idempotent, as at a runtime's start
            if settings.guards.redact_pii:  # what the CLI writes (a submission, a comment) too
                guards = Guards(settings.guards, EventBus())
                await guards.load()
                store.redact = guards.redactor
            await control._prompts.load()
            await control._flags.load()
        except BaseException:
            await store.close()
            raise
        return control

    async def close(self) -> None:
        """Close the store if this control opened it."""
        if self._owns_store:
            await self._store.close()

    async def status(self, *, day_start: float | None = None) -> RuntimeStatus:
        """Connection, readiness and headline figures (spend since ``day_start``, default local midnight)."""
        spend = await self._store.spend(since=start_of_today() if day_start is None else day_start)
        circuits = await self.circuits()
        stats = self.runtime.pool.stats() if self.runtime is not None and self.runtime.pool is not None else None
        running = stats.busy if stats is not None else await self._store.count_tasks(status="running")
        return RuntimeStatus(
            "in-process" if self.runtime else f"file {self._store.path}",
            self.runtime is not None,
            self.runtime.ready if self.runtime else False,
            sum(1 for c in circuits if c.state == "open"),
            spend,
            running,
            stats.workers if stats else 0,
            stats.busy if stats else 0,
            await self._store.count_tasks(status="queued"),  # fresh, not the pool's last poll
            await self._store.count_escalations(status="pending"),
            len(await self._alerts.firing()),
        )

    async def list_tasks(
        self, *, limit: int = 50, status: str | None = None, agent: str | None = None
    ) -> list[TaskRecord]:
        """Tasks, newest first."""
        return await self._store.list_tasks(limit=limit, status=status, agent=agent)

    async def get_task(self, task_id: str) -> TaskRecord | None:
        """One task by id or unique prefix."""
        return await self._store.get_task(task_id)

    async def get_tasks(self, task_ids: list[str]) -> list[TaskRecord]:
        """The tasks with these exact ids (those that exist), in no particular order."""
        return await self._store.get_tasks(task_ids)

    async def task_spans(self, task_id: str) -> list[SpanRecord]:
        """The spans of a task, in start order."""
        return await self._store.spans_for_task(task_id)

    async def circuits(self) -> list[CircuitStatus]:
        """Every deployment's breaker (empty when not connected to a live runtime)."""
        return self.runtime.circuits() if self.runtime else []

    async def circuit_events(self, *, limit: int = 200) -> list[CircuitEventRecord]:
        """Recent breaker transitions, newest first."""
        return await self._store.circuit_events(limit=limit)

    def subscribe(self, maxsize: int = 10_000) -> Subscription | None:
        """Live events, or None when the runtime is not live."""
        return self.runtime.bus.subscribe(maxsize) if self.runtime else None

    async def escalations(self, *, status: str | None = "pending", limit: int = 200) -> list[EscalationRecord]:
        """Escalations: waiting ones oldest first, or all newest first (``status=None``)."""
        return await self._ops.list_escalations(status, limit)

    async def get_escalation(self, escalation_id: str) -> EscalationRecord:
        """One escalation by id or unique prefix (DecisionError if there is none)."""
        return await self._ops.get_escalation(escalation_id)

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
        return await self._ops.decide(escalation_id, action, actor=actor, via=via, args=args, comment=comment)

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
        return await self._ops.submit(
            agent,
            input,
            user_id=user_id,
            session_id=session_id,
            priority=priority,
            idempotency_key=idempotency_key,
            batch=batch,
            actor=actor,
            via=via,
        )

    async def cancel(self, task_id: str, *, actor: str, via: str = "console") -> str:
        """Cancel a task: ``cancelled``, ``cancelling`` (running), or the final status it had."""
        return await self._ops.cancel(task_id, actor=actor, via=via)

    async def audit_log(self, *, limit: int = 200) -> list[AuditRecord]:
        """Operator actions, newest first."""
        return await self._ops.audit_log(limit)

    # -- prompts and flags --------------------------------------------------------------------

    async def prompts(self) -> list[PromptSummary]:
        """Every prompt: versions, labels, the running canary and shadow."""
        return await prompt_ops.summaries(self._prompts)

    async def prompt_versions(self, name: str, *, since: float = 0.0) -> list[PromptVersionInfo]:
        """A prompt's versions, newest first, with their figures since ``since``."""
        return await prompt_ops.version_infos(self._prompts, name, since=since)

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
        await prompt_actions.act(self._prompts, name, action, version, actor=actor, via=via, label=label)
        return next(p for p in await self.prompts() if p.name == name)

    async def rollouts(self, name: str | None = None) -> list[RolloutInfo]:
        """Canaries and shadows, newest first."""
        records = await self._prompts.store.rollouts(prompt=name)
        return [await prompt_ops.rollout_info(self._prompts, r) for r in records]

    async def flags(self) -> list[FlagStatus]:
        """Every flag, its definition and evaluations per minute by value."""
        await self._flags.refresh()  # changes another process made
        return self._flags.status()

    async def set_flag(self, name: str, changes: dict[str, Any], *, actor: str, via: str = "console") -> FlagStatus:
        """Change a flag live (audited)."""
        return await self._flags.change(name, changes, actor=actor, via=via)

    async def alerts(self, *, status: str | None = None, limit: int = 200) -> list[AlertRecord]:
        """Alerts newest first (``firing`` or ``resolved`` ones only, with ``status``)."""
        return await self._alerts.history(status=status, limit=limit)

    async def guard_decisions(
        self, *, guard: str | None = None, agent: str | None = None, since: float = 0.0, limit: int = 200
    ) -> list[GuardDecisionRecord]:
        """Guard decisions other than *pass*, newest first (texts masked)."""
        return await GuardStore(self._store).decisions(guard=guard, agent=agent, since=since, limit=limit)

    async def acknowledge_alert(self, alert_id: str, *, actor: str, via: str = "console") -> AlertRecord:
        """Acknowledge an alert (audited); one raised by an event (a canary rollback) resolves.

        Raises:
            NotFoundError: no such alert.
        """
        return await self._ops.acknowledge_alert(alert_id, actor=actor, via=via)

    async def silence_alert(
        self, alert_id: str, duration_s: float, *, actor: str, via: str = "console", reason: str | None = None
    ) -> AlertRecord:
        """Hold an alert's rule and key quiet for ``duration_s`` (firings recorded, not delivered; audited).

        Raises:
            NotFoundError: no such alert.
            DecisionError: a duration that is not above 0 or is over 30 days.
        """
        return await self._ops.silence_alert(alert_id, duration_s, actor=actor, via=via, reason=reason)

    async def record_action(self, actor: str, via: str, action: str, target: str, details: dict[str, Any]) -> None:
        """Add an operator action that is not a queue or escalation change (a config reload) to the audit log."""
        await self._ops.escalations.record_action(actor, via, action, target, details)
