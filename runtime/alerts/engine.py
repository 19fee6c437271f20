"""The alert engine: evaluates the rules continuously and keeps each key's state.

A key whose condition holds becomes *pending*; once it has held ``for_s`` it *fires*: one
row in the ``alerts`` table with the figures that fired it (written once, however many
processes evaluate: the store allows one firing row per rule and key), an ``alert.firing``
event, and a delivery to the notifiers, unless the key is silenced. When the condition stops
holding the alert *resolves* (``alert.resolved``, delivered too). Canary rollbacks and
shadow regressions, which the rollouts publish as events, and a task that departs from its
agent's usual behaviour (a ``behaviour`` guard decision) become alerts of their own
(``canary_rollback``, ``shadow_regression``, ``agent_behaviour``) that fire at once and
resolve when acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from agentops.runtime.alerts.notifiers import Notifier, alert_payload, notifiers_of
from agentops.runtime.alerts.rules import Finding, Rule, RunningTasks, builtin_rules
from agentops.runtime.config import AlertSettings
from agentops.runtime.events import Event, EventBus
from agentops.runtime.logs import get_logger
from agentops.store import AlertRecord, AlertStore, Store

__all__ = ["EVENT_RULES", "AlertEngine"]

log = get_logger("agentops.alerts")

EVENT_RULES = frozenset({"canary_rollback", "shadow_regression", "agent_behaviour"})
"""Alerts raised by an event rather than a condition: they resolve when acknowledged."""


class AlertEngine:
    """Alert rules of one runtime, evaluated every ``alerts.evaluate_every_s``.

    Args:
        store: the store (alerts, and the figures rules read).
        bus: the event bus (llm calls and tasks for the task-tokens rule; rollouts' events).
        settings: ``[alerts]``.
        rules: the rules (default: the four built-in ones).
        clock: wall-clock time (tests).
    """

    def __init__(
        self,
        store: Store,
        bus: EventBus,
        settings: AlertSettings,
        *,
        rules: list[Rule] | None = None,
        notifiers: list[Notifier] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.alerts = AlertStore(store)
        self.bus = bus
        self.settings = settings
        self.running = RunningTasks()
        self.rules = rules if rules is not None else builtin_rules(self.alerts, settings, self.running)
        self.notifiers = notifiers if notifiers is not None else notifiers_of(settings)
        self.clock = clock
        self.pending: dict[tuple[str, str], tuple[float, str]] = {}
        """(rule, key) -> since when its condition has held and its severity, not yet firing."""
        self.deliveries_failed = 0
        self.evaluations = 0
        self._loop: asyncio.Task[None] | None = None
        self._follower: asyncio.Task[None] | None = None
        self._events = bus.subscribe(maxsize=50_000, kinds=["llm", "task", "prompt", "guard"])
        self._deliveries: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """Evaluate in the background until :meth:`stop` (and follow events as they come: a canary
        rollback's alert fires at once, not at the next evaluation)."""
        if self.settings.enabled and self._loop is None:
            loop = asyncio.get_running_loop()
            self._loop = loop.create_task(self._run(), name="agentops-alerts")
            self._follower = loop.create_task(self._follow(), name="agentops-alerts-events")

    async def stop(self) -> None:
        """Stop evaluating; wait briefly for deliveries in flight."""
        for task in (self._loop, self._follower):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._loop = self._follower = None
        self._events.close()
        if self._deliveries:
            await asyncio.wait(list(self._deliveries), timeout=5)

    async def _run(self) -> None:
        while True:
            try:
                await self.evaluate()
            except Exception as exc:  # noqa: BLE001 - keep evaluating
                log.error("alert evaluation failed", error=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(self.settings.evaluate_every_s)

    # -- evaluation -----------------------------------------------------------------------

    async def evaluate(self) -> list[AlertRecord]:
        """Take in the events since the last time, evaluate every rule once, fire and resolve.
        Returns the alerts that fired."""
        fired = await self._take_events()
        ended = set(self.running.ended)  # tasks that end while the rules run are kept for the next time
        now = self.clock()
        firing = {(a.rule, a.key): a for a in await self.alerts.firing()}
        for rule in self.rules:
            findings = {f.key: f for f in await rule.evaluate(now)}
            hold = self.settings.for_s if rule.for_s is None else rule.for_s
            for key, finding in findings.items():
                if (rule.name, key) in firing:
                    self.pending.pop((rule.name, key), None)
                    continue
                since, _ = self.pending.setdefault((rule.name, key), (now, finding.severity))
                if now - since >= hold:
                    alert = await self._fire(finding, since)
                    if alert is not None:
                        fired.append(alert)
            for name, key in [k for k in self.pending if k[0] == rule.name and k[1] not in findings]:
                del self.pending[(name, key)]
            for (name, key), alert in firing.items():
                if name == rule.name and key not in findings and await self._owns(rule, key):
                    await self._resolve(alert, "the condition no longer holds")
        self.running.ended -= ended
        self.evaluations += 1
        return fired

    async def _owns(self, rule: Rule, key: str) -> bool:
        """Whether this process may resolve the rule's alert for ``key``: any process for figures
        every process sees; for a task's figures, the process running it, or any process once
        the task is no longer running anywhere (its process ended it, or died)."""
        if rule.shared:
            return True
        task_id = key.removeprefix("task=")
        if task_id in self.running.ended or task_id in self.running.tokens:
            return True
        task = await self.store.get_task(task_id)
        return task is None or task.status != "running"

    async def raise_event(
        self, rule: str, key: str, summary: str, figures: dict[str, Any], severity: str
    ) -> AlertRecord | None:
        """An alert raised by an event (it fires at once and resolves when acknowledged)."""
        return await self._fire(Finding(rule, key, summary, figures, severity), self.clock())

    async def _fire(self, f: Finding, since: float) -> AlertRecord | None:
        alert = await self.alerts.fire(f.rule, f.key, f.severity, f.summary, f.figures, since)
        self.pending.pop((f.rule, f.key), None)
        if alert is None:  # firing already (another process wrote it)
            return None
        log.warning("alert firing", rule=f.rule, key=f.key, summary=f.summary)
        self.bus.publish("alert.firing", id=alert.id, rule=f.rule, key=f.key, severity=f.severity, summary=f.summary)
        await self._deliver("firing", alert)
        return alert

    async def _resolve(self, alert: AlertRecord, why: str) -> None:
        resolved = await self.alerts.resolve(alert.rule, alert.key, why)
        if resolved is None:
            return
        log.info("alert resolved", rule=alert.rule, key=alert.key)
        self.bus.publish("alert.resolved", id=alert.id, rule=alert.rule, key=alert.key, summary=alert.summary)
        await self._deliver("resolved", resolved)

    async def _deliver(self, event: str, alert: AlertRecord) -> None:
        if not self.notifiers:
            return
        if await self.alerts.silenced_until(alert.rule, alert.key):
            return  # recorded and shown, not delivered
        payload = alert_payload(event, alert)

        async def send(n: Notifier) -> None:
            try:
                ok = await n.deliver(payload)
            except Exception as exc:  # noqa: BLE001 - a notifier never fails the runtime
                log.error("alert delivery failed", notifier=n.name, error=str(exc))
                ok = False
            if not ok:
                self.deliveries_failed += 1

        for n in self.notifiers:  # off the evaluation loop: a slow webhook delays nothing
            task = asyncio.get_running_loop().create_task(send(n), name=f"agentops-alert-{n.name}")
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)

    async def drain(self) -> None:
        """Wait for the deliveries in flight (tests)."""
        while self._deliveries:
            await asyncio.wait(list(self._deliveries))

    # -- events ---------------------------------------------------------------------------

    async def _follow(self) -> None:
        async for event in self._events:
            try:
                await self._take(event)
            except Exception as exc:  # noqa: BLE001 - keep following
                log.error("alert event not taken", kind=event.kind, error=f"{type(exc).__name__}: {exc}")

    async def _take_events(self) -> list[AlertRecord]:
        fired = [await self._take(event) for event in self._events.drain()]
        return [a for a in fired if a is not None]

    async def _take(self, e: Event) -> AlertRecord | None:
        """Follow one event; an alert when it raises one."""
        d, r = e.data, self.running
        if e.kind == "task.started":
            r.agents[d["task_id"]] = d.get("agent") or "?"
            r.tokens.setdefault(d["task_id"], 0)
        elif e.kind == "llm.call" and d.get("task_id") in r.tokens:
            r.tokens[d["task_id"]] += int(d.get("input_tokens") or 0) + int(d.get("output_tokens") or 0)
        elif e.kind in ("task.finished", "task.waiting"):
            r.tokens.pop(d["task_id"], None)
            r.agents.pop(d["task_id"], None)
            r.ended.add(d["task_id"])
        elif e.kind == "prompt.changed" and d.get("change") == "canary.rolled_back":
            return await self.raise_event(  # one alert per version: an unacknowledged one hides no other
                "canary_rollback",
                f"prompt={d.get('prompt')}@v{d.get('version')}",
                f"canary of {d.get('prompt')} v{d.get('version')} rolled back: {d.get('reason')}",
                {"prompt": d.get("prompt"), "version": d.get("version"), "reason": d.get("reason")},
                "warning",
            )
        elif e.kind == "guard.decision" and d.get("guard") == "behaviour":
            return await self.raise_event(  # one per agent until acknowledged
                "agent_behaviour",
                f"agent={d.get('agent')}",
                str(d.get("reason")),
                {"agent": d.get("agent"), "task_id": d.get("task_id"), "where": d.get("where")},
                "warning",
            )
        elif e.kind == "prompt.alert":
            return await self.raise_event(
                "shadow_regression",
                f"prompt={d.get('prompt')}@v{d.get('version')}",
                f"shadow of {d.get('prompt')} v{d.get('version')} regressed: {d.get('reason')}",
                {"prompt": d.get("prompt"), "version": d.get("version"), "reason": d.get("reason")},
                "warning",
            )
        return None

    # -- operators ------------------------------------------------------------------------

    async def acknowledge(self, alert_id: str, *, actor: str, via: str) -> AlertRecord | None:
        """Acknowledge an alert (audited); an event's alert resolves with it."""
        alert = await self.alerts.acknowledge(alert_id, actor=actor, via=via)
        if alert is not None and alert.rule in EVENT_RULES and alert.status == "firing":
            await self._resolve(alert, f"acknowledged by {actor}")
        return alert
