"""Budgets that cannot be raced: reserve before a call, settle after.

A call reserves its estimated maximum (tokens, and USD at the dearest model of its
route) against every budget that applies to it: its task's and session's tokens, its
user's, agent's and everyone's USD today. The check and the reservation happen in one
step of the event loop, with no ``await`` between them, so concurrent calls see each
other's reservations: spend passes a cap by at most what one call used beyond its
estimate. After the call the reservation is replaced by the real figures.

Spend already made is read from the ledger the first time a budget is touched (so a
restart or another process's earlier spend counts); the rest is kept in memory. Caps
come from ``[budgets]`` and may be changed live (an operator, or an approved budget
escalation): those are stored, audited, and win over the file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from agentops.runtime.config.costs import BUDGET_SCOPES, BudgetSettings
from agentops.runtime.errors import BudgetExceededError, ConfigError
from agentops.store.costs import CostStore

__all__ = ["BudgetStatus", "Budgets", "Reservation", "start_of_day"]

TOKEN_SCOPES = frozenset({"task", "session"})
_RATE_WINDOW_S = 900.0  # the rate of spend behind "time to exhaustion": the last 15 minutes
_MAX_KEYS = 50_000  # budgets remembered in memory; idle ones are re-read from the ledger


def start_of_day(at: float) -> float:
    """Unix time of the local midnight that starts the day of ``at``."""
    t = time.localtime(at)
    return time.mktime((t.tm_year, t.tm_mon, t.tm_mday, 0, 0, 0, 0, 0, -1))


@dataclass(frozen=True)
class BudgetStatus:
    """One budget's use against its cap."""

    scope: str
    """``task``, ``session``, ``user-day``, ``agent-day`` or ``global-day``."""
    key: str
    """The task, session, user or agent id (``*`` for global)."""
    used: float
    cap: float
    unit: str = "USD"
    """``USD`` or ``tokens``."""
    reserved: float = 0.0
    """Held by calls in flight."""
    action: str = "block"
    rate_per_h: float = 0.0
    """Use per hour over the last 15 minutes."""
    eta_s: float | None = None
    """Seconds until the cap at that rate (None: not being used)."""

    @property
    def fraction(self) -> float:
        """Share of the cap used (may exceed 1)."""
        return self.used / self.cap if self.cap else 0.0

    @property
    def remaining(self) -> float:
        """What is left under the cap (never negative)."""
        return max(0.0, self.cap - self.used - self.reserved)


@dataclass
class Reservation:
    """What one call holds against its budgets until it settles."""

    tokens: float
    usd: float
    keys: list[tuple[str, str]] = field(default_factory=list)
    settled: bool = False


class Budgets:
    """The budgets of one runtime."""

    def __init__(self, settings: BudgetSettings, costs: CostStore, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self._costs = costs
        self._clock = clock
        self._day = start_of_day(clock())
        self._used: dict[tuple[str, str], float] = {}
        self._reserved: dict[tuple[str, str], float] = {}
        self._live_caps: dict[tuple[str, str], float] = {}

    async def load(self) -> None:
        """Read the caps set live."""
        self._live_caps = await self._costs.caps()

    @property
    def enabled(self) -> bool:
        """Whether any cap is set (in the file or live)."""
        return bool(self._live_caps) or any(self.settings.cap(s) is not None for s in BUDGET_SCOPES)

    def cap(self, scope: str, key: str) -> float | None:
        """The cap in force: set live for this key, set live for the scope, or the file's."""
        live = self._live_caps.get((scope, key), self._live_caps.get((scope, "*")))
        return live if live is not None else self.settings.cap(scope)

    def keys(
        self, *, task_id: str | None, session_id: str | None, user_id: str | None, agent: str | None
    ) -> list[tuple[str, str]]:
        """The budgets a call of this task counts against (those with a cap)."""
        candidates = [
            ("task", task_id),
            ("session", session_id),
            ("user-day", user_id),
            ("agent-day", agent),
            ("global-day", "*"),
        ]
        return [(s, k) for s, k in candidates if k is not None and self.cap(s, k) is not None]

    async def reserve(self, keys: list[tuple[str, str]], *, tokens: float, usd: float) -> Reservation:
        """Hold ``tokens``/``usd`` against every budget in ``keys``.

        Raises:
            BudgetExceededError: one of them would pass its cap (the first such, with the
                scope's configured action; nothing is held).
        """
        self._roll_day()
        for key in keys:
            if key not in self._used:
                used = await self._costs.used(key[0], key[1], since=self._day)
                self._used.setdefault(key, used)
        # From here to the end: no await, so no other call can interleave.
        for scope, k in keys:
            amount = tokens if scope in TOKEN_SCOPES else usd
            cap = self.cap(scope, k)
            assert cap is not None
            held = self._used.get((scope, k), 0.0) + self._reserved.get((scope, k), 0.0)
            if held + amount > cap:
                unit = "tokens" if scope in TOKEN_SCOPES else "USD"
                raise BudgetExceededError(
                    f"budget {scope} {k!r}: {_fmt(held, unit)} used or held of {_fmt(cap, unit)}; "
                    f"this call needs up to {_fmt(amount, unit)}",
                    scope=scope,
                    key=k,
                    used=held,
                    cap=cap,
                    estimate=amount,
                    action=self.settings.action_for(scope),
                )
        for scope, k in keys:
            amount = tokens if scope in TOKEN_SCOPES else usd
            self._reserved[(scope, k)] = self._reserved.get((scope, k), 0.0) + amount
        return Reservation(tokens, usd, list(keys))

    def settle(self, reservation: Reservation, *, tokens: float, usd: float) -> None:
        """Replace a reservation by what the call really used (0 for a failed call). Once."""
        if reservation.settled:
            return
        reservation.settled = True
        for scope, k in reservation.keys:
            held = reservation.tokens if scope in TOKEN_SCOPES else reservation.usd
            left = self._reserved.get((scope, k), 0.0) - held
            if left > 1e-9 * max(1.0, held):
                self._reserved[(scope, k)] = left
            else:  # nothing in flight (floating-point residue aside)
                self._reserved.pop((scope, k), None)
            if (scope, k) in self._used:
                self._used[(scope, k)] += tokens if scope in TOKEN_SCOPES else usd
        if len(self._used) > _MAX_KEYS:
            for key in [k for k in self._used if not self._reserved.get(k)][: len(self._used) // 2]:
                del self._used[key]

    async def set_cap(
        self, scope: str, key: str, cap: float, *, actor: str, via: str, reason: str | None = None
    ) -> float | None:
        """Change a cap live (``key`` ``*``: the scope's default), audited. Returns the cap before.

        Raises:
            ConfigError: an unknown scope or a cap that is not positive.
        """
        if scope not in BUDGET_SCOPES:
            raise ConfigError(f"unknown budget scope {scope!r}; choose one of {', '.join(BUDGET_SCOPES)}")
        if not cap > 0:
            raise ConfigError(f"a budget cap must be positive, not {cap!r}")
        if scope == "global-day" and key != "*":
            raise ConfigError(f"the global-day budget has one key, '*', not {key!r}")
        before = self.cap(scope, key)
        await self._costs.set_cap(scope, key, cap, actor=actor, via=via, reason=reason)
        self._live_caps[(scope, key)] = cap
        return before

    async def statuses(self, *, limit_per_scope: int = 20) -> list[BudgetStatus]:
        """Every capped budget in use today (and every one with a cap of its own), fullest first per scope."""
        self._roll_day()
        now = self._clock()
        out: list[BudgetStatus] = []
        for scope in BUDGET_SCOPES:
            if self.settings.cap(scope) is None and not any(s == scope for s, _ in self._live_caps):
                continue
            if scope in TOKEN_SCOPES:  # a task's or session's tokens count from its start, not today's
                used = await self._costs.tokens_of_active(scope, since=self._day)
            else:
                used = await self._costs.used_by_key(scope, since=self._day)
            recent = await self._costs.used_by_key(scope, since=now - _RATE_WINDOW_S, until=now + 1)
            for s, k in list(self._live_caps):
                if s == scope and k != "*" and k not in used:
                    used[k] = await self._costs.used(scope, k, since=self._day)
            for (s, k), held in list(self._reserved.items()):
                if s == scope and held and k not in used:
                    used[k] = self._used.get((s, k), 0.0)
            if scope == "global-day":
                used.setdefault("*", 0.0)
            rows = []
            for k, u in used.items():
                cap = self.cap(scope, k)
                if cap is None:
                    continue
                rate_per_s = recent.get(k, 0.0) / _RATE_WINDOW_S
                reserved = self._reserved.get((scope, k), 0.0)
                eta = max(0.0, cap - u - reserved) / rate_per_s if rate_per_s > 0 else None
                rows.append(
                    BudgetStatus(
                        scope,
                        k,
                        u,
                        cap,
                        "tokens" if scope in TOKEN_SCOPES else "USD",
                        reserved,
                        self.settings.action_for(scope),
                        rate_per_s * 3600,
                        eta,
                    )
                )
            rows.sort(key=lambda b: -b.fraction)
            out += rows[:limit_per_scope]
        return out

    def _roll_day(self) -> None:
        day = start_of_day(self._clock())
        if day != self._day:
            self._day = day
            for key in [k for k in self._used if k[0].endswith("-day")]:
                del self._used[key]


def _fmt(value: float, unit: str) -> str:
    return f"{value:,.0f} tokens" if unit == "tokens" else f"${value:,.4f}"
