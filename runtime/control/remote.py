"""``RemoteControl``: the :class:`~agentops.runtime.control.protocol.Control` interface over HTTP.

It speaks to ``agentops serve`` through an :class:`~agentops.runtime.control.link.ApiLink`
(requests, and the live event stream relayed into a local bus, so the console subscribes
exactly as it does in-process); :attr:`RemoteControl.connection_state` says what the link
is doing.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import httpx

from agentops.runtime.control.api.auth import is_loopback, local_token_file, read_local_token
from agentops.runtime.control.link import ApiLink
from agentops.runtime.control.local import BudgetStatus, CacheTotals, RuntimeStatus
from agentops.runtime.engine import CircuitStatus
from agentops.runtime.errors import (
    NotFoundError,
    RemoteError,
)
from agentops.runtime.events import Subscription
from agentops.runtime.rollouts import PromptSummary, PromptVersionInfo, RolloutInfo
from agentops.runtime.rollouts.flags import FlagStatus
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
from agentops.store.store import CallBucket, CallTotals

__all__ = ["TOKEN_ENV", "RemoteControl", "resolve_token"]

TOKEN_ENV = "AGENTOPS_TOKEN"
"""The variable the console and CLI read their token from under ``--connect``."""
T = TypeVar("T")


def _q(part: str) -> str:
    """One path segment, escaped (an id never becomes a path of its own)."""
    return quote(part, safe="")


def _build(cls: type[T], data: dict[str, Any]) -> T:
    names = {f.name for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in data.items() if k in names})


class RemoteControl:
    """Control of a runtime served by ``agentops serve`` at ``url``.

    Args:
        url: the server's base URL, e.g. ``http://10.0.0.5:8765``.
        token: a bearer token (``$AGENTOPS_TOKEN``).
        timeout_s: per request.
        backoff_max_s: longest wait between reconnection attempts of the event stream.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout_s: float = 10.0,
        backoff_max_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._link = ApiLink(url, token, timeout_s=timeout_s, backoff_max_s=backoff_max_s, transport=transport)
        self.url = self._link.url
        self.name: str | None = None
        """The token's name (after :meth:`connect`)."""
        self.role: str | None = None
        """The token's role: ``viewer``, ``operator`` or ``admin``."""
        self._get, self._post, self._request = self._link.get, self._link.post, self._link.request

    @property
    def connection_state(self) -> str:
        """``connected``, or what is wrong with the event stream and when the next attempt is."""
        return self._link.connection_state

    @property
    def reconnects(self) -> int:
        """How often the event stream has reconnected."""
        return self._link.reconnects

    @classmethod
    async def connect(cls, url: str, token: str, **kwargs: Any) -> RemoteControl:
        """Connect and learn the token's role.

        Raises:
            RemoteError: unreachable, or the token is refused (401).
        """
        control = cls(url, token, **kwargs)
        try:
            who = await control._get("/v1/whoami")
        except BaseException:
            await control._link.close()
            raise
        control.name, control.role = who["name"], who["role"]
        control._link.connection_state = "connected"
        return control

    async def close(self) -> None:
        """Stop the event stream and close the connection."""
        await self._link.close()

    # -- Control ----------------------------------------------------------------------------

    async def status(self, *, day_start: float | None = None) -> RuntimeStatus:
        """The server's headline figures; ``connection`` names the server."""
        st = _build(RuntimeStatus, await self._get("/v1/status", day_start=day_start))
        return dataclasses.replace(st, connection=self.url)

    async def list_tasks(
        self, *, limit: int = 50, status: str | None = None, agent: str | None = None
    ) -> list[TaskRecord]:
        """Tasks, newest first."""
        rows = await self._get("/v1/tasks", limit=limit, status=status, agent=agent)
        return [_build(TaskRecord, r) for r in rows]

    async def get_task(self, task_id: str) -> TaskRecord | None:
        """One task by id or unique prefix."""
        try:
            return _build(TaskRecord, await self._get(f"/v1/tasks/{_q(task_id)}"))
        except NotFoundError:
            return None

    async def get_tasks(self, task_ids: list[str]) -> list[TaskRecord]:
        """The tasks with these exact ids (those that exist)."""
        out: list[TaskRecord] = []
        for i in range(0, len(task_ids), 200):
            rows = await self._get("/v1/tasks", id=task_ids[i : i + 200])
            out += [_build(TaskRecord, r) for r in rows]
        return out

    async def task_spans(self, task_id: str) -> list[SpanRecord]:
        """The spans of a task, in start order."""
        return [_build(SpanRecord, r) for r in await self._get(f"/v1/tasks/{_q(task_id)}/spans")]

    async def call_buckets(self, *, since: float, until: float, bucket_s: float = 60.0) -> list[CallBucket]:
        """LLM calls, errors and P95 latency per bucket."""
        rows = await self._get("/v1/calls/buckets", since=since, until=until, bucket_s=bucket_s)
        return [_build(CallBucket, r) for r in rows]

    async def call_totals(self, *, since: float = 0.0) -> CallTotals:
        """LLM call counts and cost since ``since``."""
        return _build(CallTotals, await self._get("/v1/calls/totals", since=since))

    async def spend(self, *, since: float, until: float | None = None) -> float:
        """Ledger spend in USD in a time range."""
        return float(await self._get("/v1/spend", since=since, until=until))

    async def budgets(self) -> list[BudgetStatus]:
        """Every capped budget in use today, with its cap, reservations, rate and time to exhaustion."""
        return [_build(BudgetStatus, r) for r in await self._get("/v1/budgets")]

    async def set_budget(
        self, scope: str, key: str, cap: float, *, actor: str, via: str = "console"
    ) -> BudgetStatus | None:
        """Set a budget's cap live; the server records the token's name as the actor.

        Raises:
            ConfigError: an unknown scope or a cap that is not positive.
        """
        out = await self._request("PUT", f"/v1/budgets/{_q(scope)}/{_q(key)}", json={"cap": cap})
        return _build(BudgetStatus, out) if out else None

    async def cache_stats(self, *, since: float) -> CacheTotals:
        """Response-cache hits, savings and entries since ``since``."""
        return _build(CacheTotals, await self._get("/v1/cache", since=since))

    async def clear_cache(self, *, prompt: str | None = None, actor: str, via: str = "console") -> int:
        """Drop cached answers (all, or one prompt's); the server records the token's name as the actor."""
        return int((await self._post("/v1/cache/clear", {"prompt": prompt}))["cleared"])

    async def costs(self, by: str, *, since: float = 0.0) -> list[CostRow]:
        """Ledger spend grouped by a dimension."""
        return [_build(CostRow, r) for r in await self._get("/v1/costs", by=by, since=since)]

    async def batch_jobs(self, *, in_flight: bool = False, limit: int = 50) -> list[BatchJobRecord]:
        """Provider batch jobs, newest first (only those not settled yet, with ``in_flight``)."""
        rows = await self._get("/v1/batches", in_flight=in_flight, limit=limit)
        return [_build(BatchJobRecord, r) for r in rows]

    async def batch_totals(self, *, since: float) -> BatchTotals:
        """Batch jobs in flight, requests waiting, and what batch calls cost and saved since ``since``."""
        return _build(BatchTotals, await self._get("/v1/batches/totals", since=since))

    async def circuits(self) -> list[CircuitStatus]:
        """Every deployment's breaker."""
        return [_build(CircuitStatus, r) for r in await self._get("/v1/circuits")]

    async def circuit_events(self, *, limit: int = 200) -> list[CircuitEventRecord]:
        """Recent breaker transitions, newest first."""
        return [_build(CircuitEventRecord, r) for r in await self._get("/v1/circuits/events", limit=limit)]

    def subscribe(self, maxsize: int = 10_000) -> Subscription | None:
        """Live events relayed from the server (the stream starts with the first subscriber)."""
        return self._link.subscribe(maxsize)

    async def escalations(self, *, status: str | None = "pending", limit: int = 200) -> list[EscalationRecord]:
        """Escalations: waiting ones oldest first, or all newest first (``status=None``)."""
        rows = await self._get("/v1/escalations", status=status or "all", limit=limit)
        return [_build(EscalationRecord, r) for r in rows]

    async def get_escalation(self, escalation_id: str) -> EscalationRecord:
        """One escalation by id or unique prefix (NotFoundError if there is none)."""
        return _build(EscalationRecord, await self._get(f"/v1/escalations/{_q(escalation_id)}"))

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
        """Decide an escalation; the server records the token's name as the actor (``actor`` is ignored)."""
        body = {"action": action, "args": args, "comment": comment}
        return _build(EscalationRecord, await self._post(f"/v1/escalations/{_q(escalation_id)}/decision", body))

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
        """Queue a task; the server records the token's name as the actor."""
        body = {
            "agent": agent,
            "input": input,
            "user_id": user_id,
            "session_id": session_id,
            "priority": priority,
            "idempotency_key": idempotency_key,
            "batch": batch,
        }
        out = await self._post("/v1/tasks", body)
        return _build(TaskRecord, out["task"]), bool(out["created"])

    async def cancel(self, task_id: str, *, actor: str, via: str = "console") -> str:
        """Cancel a task: ``cancelled``, ``cancelling`` (running), or the final status it had."""
        return str((await self._post(f"/v1/tasks/{_q(task_id)}/cancel"))["outcome"])

    async def audit_log(self, *, limit: int = 200) -> list[AuditRecord]:
        """Operator actions, newest first."""
        return [_build(AuditRecord, r) for r in await self._get("/v1/audit", limit=limit)]

    async def prompts(self) -> list[PromptSummary]:
        """Every prompt: versions, labels, the running canary and shadow."""
        return [_summary(r) for r in await self._get("/v1/prompts")]

    async def prompt_versions(self, name: str, *, since: float = 0.0) -> list[PromptVersionInfo]:
        """A prompt's versions, newest first, with their figures since ``since``."""
        return [_build(PromptVersionInfo, r) for r in await self._get(f"/v1/prompts/{_q(name)}/versions", since=since)]

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
        """A prompt action; the server records the token's name as the actor."""
        body = {"action": action, "version": version, "label": label}
        return _summary(await self._post(f"/v1/prompts/{_q(name)}/actions", body))

    async def rollouts(self, name: str | None = None) -> list[RolloutInfo]:
        """Canaries and shadows, newest first."""
        return [_build(RolloutInfo, r) for r in await self._get("/v1/rollouts", prompt=name)]

    async def flags(self) -> list[FlagStatus]:
        """Every flag, its definition and evaluations per minute by value."""
        return [_build(FlagStatus, r) for r in await self._get("/v1/flags")]

    async def set_flag(self, name: str, changes: dict[str, Any], *, actor: str, via: str = "console") -> FlagStatus:
        """Change a flag live; the server records the token's name as the actor."""
        return _build(FlagStatus, await self._request("PATCH", f"/v1/flags/{_q(name)}", json=changes))

    async def alerts(self, *, status: str | None = None, limit: int = 200) -> list[AlertRecord]:
        """Alerts newest first (``firing`` or ``resolved`` ones only, with ``status``)."""
        return [_build(AlertRecord, a) for a in await self._get("/v1/alerts", status=status or "all", limit=limit)]

    async def guard_decisions(
        self, *, guard: str | None = None, agent: str | None = None, since: float = 0.0, limit: int = 200
    ) -> list[GuardDecisionRecord]:
        """Guard decisions other than *pass*, newest first (texts masked)."""
        rows = await self._get("/v1/guards", guard=guard, agent=agent, since=since, limit=limit)
        return [_build(GuardDecisionRecord, r) for r in rows]

    async def acknowledge_alert(self, alert_id: str, *, actor: str, via: str = "console") -> AlertRecord:
        """Acknowledge an alert; the server records the token's name as the actor."""
        return _build(AlertRecord, await self._post(f"/v1/alerts/{_q(alert_id)}/ack"))

    async def silence_alert(
        self, alert_id: str, duration_s: float, *, actor: str, via: str = "console", reason: str | None = None
    ) -> AlertRecord:
        """Silence an alert's rule and key for ``duration_s``; audited under the token's name."""
        body = {"duration_s": duration_s, "reason": reason}
        return _build(AlertRecord, await self._post(f"/v1/alerts/{_q(alert_id)}/silence", body))


def _summary(data: dict[str, Any]) -> PromptSummary:
    canary, shadow = data.get("canary"), data.get("shadow")
    return _build(
        PromptSummary,
        {
            **data,
            "canary": _build(RolloutInfo, canary) if canary else None,
            "shadow": _build(RolloutInfo, shadow) if shadow else None,
        },
    )


def resolve_token(url: str, store_path: Path | None) -> str:
    """The token for ``url``: ``$AGENTOPS_TOKEN``, else (for a loopback server) the local admin
    token ``agentops serve`` wrote next to the configured store.

    Raises:
        RemoteError: there is none.
    """
    token = os.environ.get(TOKEN_ENV, "").strip()
    if token:
        return token
    host = urlsplit(url).hostname or ""
    if store_path is not None and is_loopback(host):
        local = read_local_token(local_token_file(store_path), url)
        if local:
            return local
    raise RemoteError(f"no token for {url}: set ${TOKEN_ENV} (a token from the server's $AGENTOPS_TOKENS)")
