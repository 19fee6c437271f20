"""Operator actions on the durable queue, escalations and alerts, with or without a live runtime.

These work against the store directly, so the CLI can submit, cancel and decide from
another process while a runtime runs its workers elsewhere on the same machine (the
runtime notices within ``workers.poll_s``). When the runtime is in this process, it
is also told at once. Every action lands in the audit log: who, when, what, from where.
"""

from __future__ import annotations

import getpass
import os
import time
from typing import Any

from agentops.runtime.alerts import EVENT_RULES
from agentops.runtime.engine import Runtime
from agentops.runtime.errors import ConflictError, DecisionError, NotFoundError
from agentops.runtime.registry import Registry
from agentops.runtime.tasks.escalation import (
    DECISIONS,
    Decision,
    is_budget_escalation,
    validate_budget_edit,
    validate_edit,
)
from agentops.runtime.tasks.runner import validate_input
from agentops.runtime.tracing import new_trace_id
from agentops.store import (
    AlertRecord,
    AlertStore,
    AlreadyDecidedError,
    AuditRecord,
    EscalationRecord,
    EscalationStore,
    NoSuchEscalationError,
    Store,
    TaskQueue,
    TaskRecord,
)

__all__ = ["MAX_SILENCE_S", "Operations", "current_actor"]

MAX_SILENCE_S = 30 * 86400.0
"""The longest silence: past it an alert that still matters would go unseen."""


def current_actor() -> str:
    """The operator's name for the audit log: ``$AGENTOPS_ACTOR``, else the login name."""
    name = os.environ.get("AGENTOPS_ACTOR")
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class Operations:
    """Queue and escalation actions over a store (and the live runtime, if any)."""

    def __init__(self, store: Store, registry: Registry, runtime: Runtime | None = None, max_attempts: int = 3) -> None:
        self.store = store
        self.registry = registry
        self.runtime = runtime
        self.queue = TaskQueue(store)
        self.escalations = EscalationStore(store)
        self.alerts = AlertStore(store)
        self.max_attempts = max_attempts

    async def submit(
        self,
        agent: str,
        input: Any,
        *,
        user_id: str | None = None,
        session_id: str | None = None,
        priority: int = 0,
        idempotency_key: str | None = None,
        batch: bool = False,
        actor: str,
        via: str,
    ) -> tuple[TaskRecord, bool]:
        """Queue a task (input validated first); the same idempotency key twice returns the first task.
        With ``batch`` its LLM steps go by the provider's batch API (``[batch]``)."""
        if self.runtime is not None:
            task, created = await self.runtime.submit(
                agent,
                input,
                user_id=user_id,
                session_id=session_id,
                priority=priority,
                idempotency_key=idempotency_key,
                batch=batch,
            )
        else:
            validate_input(self.registry, agent, input)
            task, created = await self.queue.submit(
                agent,
                input,
                trace_id=new_trace_id(),
                user_id=user_id,
                session_id=session_id,
                priority=priority,
                idempotency_key=idempotency_key,
                max_attempts=self.max_attempts,
                batch=batch,
            )
        if created:
            await self.escalations.record_action(
                actor, via, "task.submit", task.id, {"agent": agent, "idempotency_key": idempotency_key, "batch": batch}
            )
        return task, created

    async def cancel(self, task_id: str, *, actor: str, via: str) -> str:
        """Cancel a task (by id or unique prefix): at once if queued or waiting, else at its next step.

        Raises:
            DecisionError: no such task.
        """
        task = await self.store.get_task(task_id)
        if task is None:
            raise NotFoundError(f"no task {task_id!r} (or the prefix is not unique)")
        outcome = await self.queue.cancel(task.id, actor=actor, via=via)
        if outcome == "cancelling" and self.runtime is not None and self.runtime.pool is not None:
            self.runtime.pool.cancel(task.id)
        if self.runtime is not None:
            self.runtime.bus.publish("task.cancel", task_id=task.id, outcome=outcome, actor=actor)
        return outcome

    async def list_escalations(self, status: str | None = "pending", limit: int = 200) -> list[EscalationRecord]:
        """Escalations: pending ones oldest first, or all newest first (``status=None``)."""
        return await self.escalations.find(status=status, limit=limit)

    async def get_escalation(self, escalation_id: str) -> EscalationRecord:
        """One escalation by id or unique prefix.

        Raises:
            DecisionError: no such escalation.
        """
        try:
            return await self.escalations.get(escalation_id)
        except NoSuchEscalationError as exc:
            raise NotFoundError(str(exc)) from None

    async def decide(
        self, escalation_id: str, action: str, *, actor: str, via: str, args: Any = None, comment: str | None = None
    ) -> EscalationRecord:
        """Approve, deny (``comment`` is the reason the agent receives) or edit an escalation, once.

        Raises:
            DecisionError: unknown escalation, unknown action, already decided, or edited
                arguments that fail the tool's schema.
        """
        if action not in DECISIONS:
            raise DecisionError(f"unknown decision {action!r}; use one of {', '.join(DECISIONS)}")
        current = await self.get_escalation(escalation_id)
        if action == "edit" and is_budget_escalation(current):
            args = validate_budget_edit(args)
        elif action == "edit":
            tool = self.registry.tools.get(current.tool) if current.tool else None
            if current.tool and tool is None:
                raise DecisionError(f"tool {current.tool!r} is not registered here; cannot validate the edit")
            args = validate_edit(tool, args)
        elif args is not None:
            raise DecisionError("arguments go with an edit only")
        if action == "deny" and not comment:
            raise DecisionError("a denial needs a reason (the agent receives it)")
        try:
            decided = await self.escalations.decide(
                current.id, action, actor=actor, via=via, args=args, comment=comment
            )
        except AlreadyDecidedError as exc:
            raise ConflictError(str(exc)) from None
        if self.runtime is not None:
            self.runtime.bus.publish(
                "escalation.decided",
                escalation_id=decided.id,
                task_id=decided.task_id,
                **Decision.of(decided).to_json(),
            )
            self.runtime.tasks.submitted.set()
        return decided

    async def audit_log(self, limit: int = 200) -> list[AuditRecord]:
        """Recent operator actions, newest first."""
        return await self.escalations.audit_log(limit=limit)

    # -- alerts ---------------------------------------------------------------------------

    async def acknowledge_alert(self, alert_id: str, *, actor: str, via: str) -> AlertRecord:
        """Acknowledge an alert (audited); one raised by an event (a canary rollback) resolves.

        Raises:
            NotFoundError: no such alert.
        """
        alert = await self._alert(alert_id)
        engine = self.runtime.alerts if self.runtime is not None else None
        if engine is not None:
            await engine.acknowledge(alert.id, actor=actor, via=via)
        else:  # the store only: resolve an event's alert here, as the engine would
            acked = await self.alerts.acknowledge(alert.id, actor=actor, via=via)
            if acked is not None and acked.rule in EVENT_RULES and acked.status == "firing":
                await self.alerts.resolve(acked.rule, acked.key, f"acknowledged by {actor}")
        return await self._alert(alert.id)

    async def silence_alert(
        self, alert_id: str, duration_s: float, *, actor: str, via: str, reason: str | None = None
    ) -> AlertRecord:
        """Hold an alert's rule and key quiet for ``duration_s`` (firings recorded, not delivered; audited).

        Raises:
            NotFoundError: no such alert.
            DecisionError: a duration that is not above 0 or is over 30 days.
        """
        if not 0 < duration_s <= MAX_SILENCE_S:
            raise DecisionError(f"a silence lasts from a second to 30 days, not {duration_s:g} s")
        alert = await self._alert(alert_id)
        until = time.time() + duration_s
        await self.alerts.silence(alert.rule, alert.key, until=until, actor=actor, via=via, reason=reason)
        return await self._alert(alert.id)

    async def _alert(self, alert_id: str) -> AlertRecord:
        alert = await self.alerts.get(alert_id)
        if alert is None:
            raise NotFoundError(f"no alert {alert_id!r} (agentops alerts lists them)")
        return alert
