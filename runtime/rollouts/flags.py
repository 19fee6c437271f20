"""Feature flags: defined in config.toml, changed live, evaluated per unit with a reason.

Evaluation order: a killed flag serves ``default`` everywhere (the kill switch); a
disabled flag serves ``default``; then the first rule that matches the agent or the
user; then the unit's sticky bucket (a stable hash of flag and unit, where the unit
is the user, or the task when there is no user or ``unit = "task"``) against the
variants' percentages or the rollout percentage; else ``default``.

Live changes (from the console, the CLI or the API) are stored and audited; they
survive a restart. Editing a flag in config.toml replaces its live state at the next
start (the file changed on purpose).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from agentops.runtime.config import FlagSettings, FlagValue
from agentops.runtime.errors import DecisionError, NotFoundError, describe_validation
from agentops.runtime.events import EventBus
from agentops.runtime.rollouts.prompts import bucket
from agentops.store import PromptStore, Store

__all__ = ["FlagEvaluation", "FlagStatus", "Flags"]

WINDOW_MIN = 5
"""Minutes of evaluation counts kept per flag."""


@dataclass(frozen=True)
class FlagEvaluation:
    """A flag's value for one unit, and why."""

    name: str
    value: FlagValue
    reason: str
    """``kill``, ``off``, ``rule N``, ``rollout`` (with the bucket) or ``default``."""


@dataclass(frozen=True)
class FlagStatus:
    """A flag's definition and how it has been evaluated lately."""

    name: str
    definition: dict[str, Any]
    per_minute: dict[str, float]
    """Evaluations per minute over the last five minutes, by value."""
    updated_at: float
    updated_by: str


def _config_hash(definition: FlagSettings) -> str:
    return hashlib.sha256(json.dumps(definition.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:16]


class Flags:
    """The runtime's flags."""

    def __init__(self, store: Store, bus: EventBus, configured: dict[str, FlagSettings]) -> None:
        self.store = PromptStore(store)
        self.bus = bus
        self.configured = configured
        self.defs: dict[str, FlagSettings] = dict(configured)
        self._meta: dict[str, tuple[float, str]] = {}
        self._counts: dict[str, deque[tuple[int, Counter[str]]]] = {}

    async def load(self) -> None:
        """Merge config.toml's flags with their stored live state (a flag edited in the file takes the file's)."""
        stored = await self.store.flags()
        for name, definition in self.configured.items():
            h = _config_hash(definition)
            row = stored.get(name)
            if row is None or row.config_hash != h:
                await self.store.save_flag(
                    name, definition.model_dump(mode="json"), h, actor="config", via="runtime", action="flag.config"
                )
        await self.refresh()

    async def refresh(self) -> None:
        """Re-read the stored state (changes made by another process)."""
        for name, row in (await self.store.flags()).items():
            if name in self.configured:
                self.defs[name] = FlagSettings.model_validate(row.definition)
                self._meta[name] = (row.updated_at, row.updated_by)

    def evaluate(self, name: str, *, agent: str | None, user_id: str | None, task_id: str) -> FlagEvaluation:
        """The flag's value for this unit.

        Raises:
            NotFoundError: no such flag in config.toml.
        """
        f = self.defs.get(name)
        if f is None:
            raise NotFoundError(f"no flag {name!r}: define it under [flags.{name}] in config.toml")
        result = self._evaluate(name, f, agent, user_id, task_id)
        self._count(name, result.value)
        return result

    @staticmethod
    def _evaluate(name: str, f: FlagSettings, agent: str | None, user_id: str | None, task_id: str) -> FlagEvaluation:
        if f.killed:
            return FlagEvaluation(name, f.default, "kill")
        if not f.enabled:
            return FlagEvaluation(name, f.default, "off")
        for i, rule in enumerate(f.rules):
            if (rule.agent is None or rule.agent == agent) and (rule.user is None or rule.user == user_id):
                return FlagEvaluation(name, rule.value, f"rule {i + 1}")
        unit = user_id if f.unit == "user" and user_id else task_id
        b = bucket(f"{name}:{unit}")
        if f.variants:
            edge = 0.0
            for value, share in f.variants.items():
                edge += share
                if b < edge:
                    return FlagEvaluation(name, value, f"rollout bucket {b:.2f}")
            return FlagEvaluation(name, f.default, "default")
        if b < f.rollout:
            return FlagEvaluation(name, f.value, f"rollout bucket {b:.2f}")
        return FlagEvaluation(name, f.default, "default")

    def _count(self, name: str, value: FlagValue) -> None:
        minute = int(time.time() // 60)
        window = self._counts.setdefault(name, deque(maxlen=WINDOW_MIN + 1))
        if not window or window[-1][0] != minute:
            window.append((minute, Counter()))
        window[-1][1][json.dumps(value)] += 1

    def status(self) -> list[FlagStatus]:
        """Every flag, with evaluations per minute by value over the last five minutes."""
        now_min = int(time.time() // 60)
        out = []
        for name, f in self.defs.items():
            total: Counter[str] = Counter()
            window = [(m, c) for m, c in self._counts.get(name, ()) if now_min - m < WINDOW_MIN]
            for _, counts in window:
                total.update(counts)
            minutes = WINDOW_MIN  # a five-minute average (it reads low in the first minutes after a start)
            at, by = self._meta.get(name, (0.0, "config"))
            out.append(FlagStatus(name, f.model_dump(mode="json"), {k: v / minutes for k, v in total.items()}, at, by))
        return out

    async def change(self, name: str, changes: dict[str, Any], *, actor: str, via: str) -> FlagStatus:
        """Change a flag live (``enabled``, ``killed``, ``rollout``, ``variants``, ``rules``, ...), audited.

        Raises:
            NotFoundError: no such flag.
            DecisionError: the change is not a valid flag (the message names the key).
        """
        current = self.defs.get(name)
        if current is None:
            raise NotFoundError(f"no flag {name!r} (flags: {', '.join(self.defs) or 'none'})")
        try:
            updated = FlagSettings.model_validate({**current.model_dump(mode="json"), **changes})
        except ValidationError as exc:
            raise DecisionError(f"flag {name!r}: {describe_validation(exc)}") from None
        await self.store.save_flag(
            name,
            updated.model_dump(mode="json"),
            _config_hash(self.configured[name]),
            actor=actor,
            via=via,
            action="flag.change",
        )
        self.defs[name] = updated
        self._meta[name] = (time.time(), actor)
        self.bus.publish("flag.changed", flag=name, changes=changes, actor=actor)
        return next(s for s in self.status() if s.name == name)
