"""The part of :class:`~agentops.runtime.control.local.LocalControl` that reads spend and calls
and changes budget caps and the response cache: from the live runtime where there is one, else
from the store file (caps and clears another process made included)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentops.runtime.calls import Budgets, BudgetStatus
from agentops.runtime.config import Settings
from agentops.store import BatchJobRecord, BatchStore, BatchTotals, CostRow, Store
from agentops.store.costs import CacheTotals, CostStore
from agentops.store.store import CallBucket, CallTotals

if TYPE_CHECKING:
    from agentops.runtime.engine import Runtime

__all__ = ["CostsControl"]


class CostsControl:
    """Spend, calls, budgets and the response cache."""

    _store: Store
    _settings: Settings
    _budget_view: Budgets | None
    runtime: Runtime | None

    async def call_buckets(self, *, since: float, until: float, bucket_s: float = 60.0) -> list[CallBucket]:
        """LLM calls, errors and P95 latency per bucket, oldest first (empty buckets included)."""
        return await self._store.call_buckets(since=since, until=until, bucket_s=bucket_s)

    async def call_totals(self, *, since: float = 0.0) -> CallTotals:
        """LLM call counts (calls, errors, retries, fallbacks) and cost since ``since``."""
        return await self._store.call_totals(since=since)

    async def spend(self, *, since: float, until: float | None = None) -> float:
        """Ledger spend in USD in a time range."""
        return await self._store.spend(since=since, until=until)

    async def budgets(self) -> list[BudgetStatus]:
        """Every capped budget in use today, with its cap, reservations, rate and time to exhaustion."""
        return await (await self._budgets()).statuses()

    async def set_budget(
        self, scope: str, key: str, cap: float, *, actor: str, via: str = "console"
    ) -> BudgetStatus | None:
        """Set a budget's cap live (``key`` ``*``: the scope's default), audited.

        Raises:
            ConfigError: an unknown scope or a cap that is not positive.
        """
        budgets = await self._budgets()
        await budgets.set_cap(scope, key, cap, actor=actor, via=via)
        return next((b for b in await budgets.statuses() if (b.scope, b.key) == (scope, key)), None)

    async def _budgets(self) -> Budgets:
        if self.runtime is not None and self.runtime.budgets is not None:
            return self.runtime.budgets
        if self._budget_view is None:
            self._budget_view = Budgets(self._settings.budgets, CostStore(self._store))
        await self._budget_view.load()  # caps another process set
        return self._budget_view

    async def cache_stats(self, *, since: float) -> CacheTotals:
        """Response-cache hits, savings and entries since ``since``."""
        return await CostStore(self._store).cache_totals(since=since)

    async def clear_cache(self, *, prompt: str | None = None, actor: str, via: str = "console") -> int:
        """Drop cached answers (all, or one prompt's), audited. Returns how many."""
        if self.runtime is not None and self.runtime.cache is not None:
            return await self.runtime.cache.clear(prompt=prompt, actor=actor, via=via)
        return await CostStore(self._store).clear(prompt=prompt, actor=actor, via=via)

    async def costs(self, by: str, *, since: float = 0.0) -> list[CostRow]:
        """Ledger spend grouped by a dimension."""
        return await self._store.costs_by(by, since=since)

    async def batch_jobs(self, *, in_flight: bool = False, limit: int = 50) -> list[BatchJobRecord]:
        """Provider batch jobs, newest first (only those not settled yet, with ``in_flight``)."""
        return await BatchStore(self._store).jobs(in_flight=in_flight, limit=limit)

    async def batch_totals(self, *, since: float) -> BatchTotals:
        """Batch jobs in flight, requests waiting, and what batch calls cost and saved since ``since``."""
        return await BatchStore(self._store).totals(since=since)
