"""Coalescing of live runtime events into batches the screens apply at most ~10 times a second.

The runtime publishes an event per state change (thousands a second under load).
The console never handles them one by one: a :class:`LiveFeed` drains its bounded
subscription on a timer and folds what it got into one :class:`LiveBatch` (which
tasks changed, how many steps each took, which circuits moved, which escalations
opened or were decided, which prompts and flags changed). Views apply the batch in
one go. While paused, batches are merged and held (bounded), then delivered on
resume; new escalations are still handed out at once (:meth:`LiveFeed.take_opened`),
since they are alerts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from agentops.runtime import Subscription

__all__ = ["MAX_OPENED", "MAX_TRANSITIONS", "LiveBatch", "LiveFeed", "LiveView"]

MAX_TRANSITIONS = 200
"""Circuit transitions a batch keeps (the newest); more in one batch are counted only."""
MAX_OPENED = 50
"""New escalations a batch (and the feed's alert list) keeps, the newest."""
MAX_PROMPT_EVENTS = 50
"""Prompt changes and alerts a batch keeps, the newest."""
MAX_TASK_IDS = 5000
"""Changed task ids a held batch keeps before it asks views to reload everything."""
STEP_KINDS = frozenset({"llm", "tool"})


@dataclass
class LiveBatch:
    """What changed since the last batch."""

    tasks: set[str] = field(default_factory=set)
    """Tasks started or finished."""
    spans: set[str] = field(default_factory=set)
    """Tasks with span activity (for an open trace)."""
    steps: Counter[str] = field(default_factory=Counter)
    """LLM and tool spans ended, per task (live step counts of running tasks)."""
    transitions: list[dict[str, Any]] = field(default_factory=list)
    """Circuit transitions, oldest first (event data plus ``at``)."""
    escalations: set[str] = field(default_factory=set)
    """Escalations opened or decided."""
    opened: list[dict[str, Any]] = field(default_factory=list)
    """New escalations, oldest first (``escalation.opened`` data: id, task, agent, reason, tool, deadline)."""
    prompts: set[str] = field(default_factory=set)
    """Prompts whose labels or rollouts changed."""
    prompt_changes: list[dict[str, Any]] = field(default_factory=list)
    """``prompt.changed`` data, oldest first (prompt, change, version, reason, actor, ...)."""
    prompt_alerts: list[dict[str, Any]] = field(default_factory=list)
    """``prompt.alert`` data, oldest first (prompt, version, reason: a shadow regression)."""
    flags: set[str] = field(default_factory=set)
    """Flags changed live."""
    alerts: list[dict[str, Any]] = field(default_factory=list)
    """``alert.firing`` and ``alert.resolved`` data, oldest first (id, rule, key, summary; ``event``)."""
    guards: int = 0
    """Guard decisions (other than pass) made."""
    ready: bool = False
    """The runtime became ready (providers loaded)."""
    events: int = 0
    overflow: bool = False
    """Too much changed to track: views should reload."""

    @classmethod
    def of(cls, events: list[Any]) -> LiveBatch:
        """Fold runtime events (``agentops.runtime.Event``) into a batch."""
        b = cls(events=len(events))
        for e in events:
            kind, data = e.kind, e.data
            if kind.startswith("span."):
                task_id = data.get("task_id")
                if task_id:
                    b.spans.add(task_id)
                    if kind == "span.ended" and data.get("kind") in STEP_KINDS:
                        b.steps[task_id] += 1
            elif kind.startswith("task."):
                b.tasks.add(data["task_id"])
            elif kind == "circuit.transition":
                b.transitions.append({**data, "at": e.ts})
            elif kind.startswith("escalation."):
                b.escalations.add(data["escalation_id"])
                if kind == "escalation.opened":
                    b.opened.append(data)
            elif kind == "prompt.changed":
                b.prompts.add(data["prompt"])
                b.prompt_changes.append(data)
            elif kind == "prompt.alert":
                b.prompts.add(data["prompt"])
                b.prompt_alerts.append(data)
            elif kind == "flag.changed":
                b.flags.add(data["flag"])
            elif kind in ("alert.firing", "alert.resolved"):
                b.alerts.append({**data, "event": kind.removeprefix("alert.")})
            elif kind == "guard.decision":
                b.guards += 1
            elif kind == "runtime.ready":
                b.ready = True
            elif kind == "stream.reset":  # a remote console reconnected: what it shows may be stale
                b.overflow = True
        del b.transitions[:-MAX_TRANSITIONS]
        del b.opened[:-MAX_OPENED]
        del b.prompt_changes[:-MAX_PROMPT_EVENTS]
        del b.prompt_alerts[:-MAX_PROMPT_EVENTS]
        del b.alerts[:-MAX_PROMPT_EVENTS]
        return b

    def merge(self, other: LiveBatch) -> None:
        """Add a later batch to this one."""
        self.tasks |= other.tasks
        self.spans |= other.spans
        self.steps.update(other.steps)
        self.transitions += other.transitions
        del self.transitions[:-MAX_TRANSITIONS]
        self.escalations |= other.escalations
        self.opened += other.opened
        del self.opened[:-MAX_OPENED]
        self.prompts |= other.prompts
        self.prompt_changes += other.prompt_changes
        del self.prompt_changes[:-MAX_PROMPT_EVENTS]
        self.prompt_alerts += other.prompt_alerts
        del self.prompt_alerts[:-MAX_PROMPT_EVENTS]
        self.flags |= other.flags
        self.alerts += other.alerts
        del self.alerts[:-MAX_PROMPT_EVENTS]
        self.guards += other.guards
        self.ready = self.ready or other.ready
        self.events += other.events
        self.overflow = self.overflow or other.overflow
        if len(self.tasks) + len(self.spans) > MAX_TASK_IDS:
            self.overflow = True
            self.tasks.clear()
            self.spans.clear()
            self.steps.clear()

    def __bool__(self) -> bool:
        return bool(self.events or self.overflow)


class LiveView(Protocol):
    """Something that applies live batches (a screen)."""

    def apply_live(self, batch: LiveBatch) -> None:
        """Apply one batch; must not block (start a worker for queries)."""


class LiveFeed:
    """Drains a subscription on each :meth:`tick` and hands the batch to the views."""

    def __init__(self, subscription: Subscription | None) -> None:
        self.subscription = subscription
        self.views: list[LiveView] = []
        self.paused = False
        self.held = LiveBatch()
        self.delivered = 0
        """Batches delivered so far."""
        self._opened: list[dict[str, Any]] = []

    @property
    def dropped(self) -> int:
        """Events the subscription lost because the console fell behind."""
        return self.subscription.dropped if self.subscription is not None else 0

    def attach(self, view: LiveView) -> None:
        """Deliver batches to ``view`` until :meth:`detach`."""
        if view not in self.views:
            self.views.append(view)

    def detach(self, view: LiveView) -> None:
        """Stop delivering to ``view``."""
        if view in self.views:
            self.views.remove(view)

    def tick(self) -> LiveBatch | None:
        """Drain, then deliver (or hold while paused). Returns the delivered batch, if any."""
        if self.subscription is None:
            return None
        batch = LiveBatch.of(self.subscription.drain())
        if batch.opened:
            self._opened += batch.opened
            del self._opened[:-MAX_OPENED]
        if self.paused:
            if batch:
                self.held.merge(batch)
            return None
        if self.held:
            self.held.merge(batch)
            batch, self.held = self.held, LiveBatch()
        if not batch:
            return None
        for view in list(self.views):
            view.apply_live(batch)
        self.delivered += 1
        return batch

    def take_opened(self) -> list[dict[str, Any]]:
        """Escalations opened since the last call, oldest first, paused or not (they are alerts)."""
        opened, self._opened = self._opened, []
        return opened

    def close(self) -> None:
        """Unsubscribe."""
        if self.subscription is not None:
            self.subscription.close()
