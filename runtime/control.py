"""``Control``: the one interface the console and the CLI use to see and steer a runtime.

:class:`LocalControl` wraps an in-process :class:`~agentops.runtime.runtime.Runtime`
(live: circuits, events) or just a store file (read-only: what the runtime recorded,
also while it runs in another process). A remote implementation speaks HTTP to
``agentops serve``; callers cannot tell them apart.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from agentops.runtime.config import Settings
from agentops.runtime.events import Subscription
from agentops.runtime.runtime import CircuitStatus, Runtime
from agentops.store import CircuitEventRecord, CostRow, SpanRecord, Store, TaskRecord

__all__ = ["Control", "LocalControl", "RuntimeStatus", "start_of_today"]


def start_of_today() -> float:
    """Unix time of today's local midnight."""
    t = time.localtime()
    return time.mktime((t.tm_year, t.tm_mon, t.tm_mday, 0, 0, 0, 0, 0, -1))


@dataclass(frozen=True)
class RuntimeStatus:
    """What the console's header shows."""

    connection: str
    live: bool
    ready: bool
    open_circuits: int
    spend_today_usd: float
    tasks_running: int


@runtime_checkable
class Control(Protocol):
    """Everything an operator surface may ask of a runtime."""

    async def status(self) -> RuntimeStatus:
        """Connection, readiness and headline figures."""
        ...

    async def list_tasks(
        self, *, limit: int = 50, status: str | None = None, agent: str | None = None
    ) -> list[TaskRecord]:
        """Tasks, newest first."""
        ...

    async def get_task(self, task_id: str) -> TaskRecord | None:
        """One task by id or unique prefix."""
        ...

    async def task_spans(self, task_id: str) -> list[SpanRecord]:
        """The spans of a task, in start order."""
        ...

    async def costs(self, by: str, *, since: float = 0.0) -> list[CostRow]:
        """Ledger spend grouped by a dimension."""
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


class LocalControl:
    """Control of an in-process runtime, or read-only access to a store file."""

    def __init__(self, store: Store, runtime: Runtime | None = None, owns_store: bool = False) -> None:
        self._store = store
        self.runtime = runtime
        self._owns_store = owns_store

    @classmethod
    def of(cls, runtime: Runtime) -> LocalControl:
        """Control of a started runtime."""
        assert runtime.store is not None, "start the runtime first"
        return cls(runtime.store, runtime)

    @classmethod
    async def open_store(cls, settings: Settings) -> LocalControl:
        """Read-only control over the configured store file (no runtime)."""
        store = await Store.open(settings.store.path, synchronous=settings.store.synchronous)
        return cls(store, None, owns_store=True)

    async def close(self) -> None:
        """Close the store if this control opened it."""
        if self._owns_store:
            await self._store.close()

    async def status(self) -> RuntimeStatus:
        """Connection, readiness and headline figures."""
        rows = await self._store.costs_by("agent", since=start_of_today())
        spend = sum(r.cost_usd for r in rows)
        running = len(await self._store.list_tasks(limit=10_000, status="running"))
        circuits = await self.circuits()
        return RuntimeStatus(
            "in-process" if self.runtime else f"file {self._store.path}",
            self.runtime is not None,
            self.runtime.ready if self.runtime else False,
            sum(1 for c in circuits if c.state == "open"),
            spend,
            running,
        )

    async def list_tasks(
        self, *, limit: int = 50, status: str | None = None, agent: str | None = None
    ) -> list[TaskRecord]:
        """Tasks, newest first."""
        return await self._store.list_tasks(limit=limit, status=status, agent=agent)

    async def get_task(self, task_id: str) -> TaskRecord | None:
        """One task by id or unique prefix."""
        return await self._store.get_task(task_id)

    async def task_spans(self, task_id: str) -> list[SpanRecord]:
        """The spans of a task, in start order."""
        return await self._store.spans_for_task(task_id)

    async def costs(self, by: str, *, since: float = 0.0) -> list[CostRow]:
        """Ledger spend grouped by a dimension."""
        return await self._store.costs_by(by, since=since)

    async def circuits(self) -> list[CircuitStatus]:
        """Every deployment's breaker (empty when not connected to a live runtime)."""
        return self.runtime.circuits() if self.runtime else []

    async def circuit_events(self, *, limit: int = 200) -> list[CircuitEventRecord]:
        """Recent breaker transitions, newest first."""
        return await self._store.circuit_events(limit=limit)

    def subscribe(self, maxsize: int = 10_000) -> Subscription | None:
        """Live events, or None when the runtime is not live."""
        return self.runtime.bus.subscribe(maxsize) if self.runtime else None
