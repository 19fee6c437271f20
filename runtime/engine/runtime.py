"""The runtime: wires settings, store, simulator, breakers and the call path, and runs tasks.

``start()`` returns quickly: the store is open and control requests can be served
while litellm imports in a worker thread; LLM calls wait until it is ready. The call
path is built by :mod:`.wiring` once litellm is loaded; a configuration reload is
:mod:`.reload`'s.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from typing import Any

from agentops.runtime.alerts import AlertEngine
from agentops.runtime.calls import (
    Budgets,
    CircuitBreaker,
    Deployment,
    LLMClient,
    ModelRouter,
    Pacer,
    Transition,
    load_litellm_async,
)
from agentops.runtime.calls.cache import ResponseCache
from agentops.runtime.config import Settings
from agentops.runtime.engine.reload import LIVE_KEYS, Reload, apply_reload
from agentops.runtime.engine.status import CircuitStatus, circuit_statuses
from agentops.runtime.engine.wiring import build_client, build_deployments, open_guards, run_batcher
from agentops.runtime.errors import ConfigError
from agentops.runtime.events import EventBus
from agentops.runtime.exporters import OtlpExporter
from agentops.runtime.guards import Guards
from agentops.runtime.logs import get_logger, set_redactor
from agentops.runtime.registry import Registry, default_registry, import_agent_modules
from agentops.runtime.rollouts import Flags, PromptRegistry
from agentops.runtime.simulator import Simulator
from agentops.runtime.tasks import TaskRunner, WorkerPool
from agentops.runtime.tracing import Tracer
from agentops.store import CircuitEventRecord, Store, TaskRecord
from agentops.store.costs import CostStore

__all__ = ["LIVE_KEYS", "CircuitStatus", "Reload", "Runtime"]

log = get_logger("agentops.runtime")


class Runtime:
    """One process's agent runtime."""

    def __init__(
        self, settings: Settings, registry: Registry | None = None, *, workers: bool = False, event_history: int = 0
    ) -> None:
        """Args:
        settings: the configuration.
        registry: agents and tools (default: the decorators' registry).
        workers: also run the durable queue's workers in this process.
        event_history: recent events the bus keeps for subscribers that resume (the control API's).
        """
        self.settings = settings
        self._with_workers = workers
        self.pool: WorkerPool | None = None
        self.registry = registry or default_registry
        self.bus = EventBus(history=event_history)
        self.store: Store | None = None
        self.simulator: Simulator | None = None
        self.breakers: dict[str, CircuitBreaker] = {}
        self._client: LLMClient | None = None
        self._ready = asyncio.Event()
        self._load_task: asyncio.Task[None] | None = None
        self._load_error: BaseException | None = None
        self._deployments: dict[str, Deployment] = {}
        self._tasks: TaskRunner | None = None
        self.prompts: PromptRegistry | None = None
        """Prompt versions, labels and rollouts (after :meth:`start`)."""
        self.flags: Flags | None = None
        """Feature flags (after :meth:`start`)."""
        self.budgets: Budgets | None = None
        """Budget caps, reservations and spend (after :meth:`start`)."""
        self.cache: ResponseCache | None = None
        """The response cache (after :meth:`start`)."""
        self.alerts: AlertEngine | None = None
        """Alert rules and their firings (after :meth:`start`; evaluated when workers run here)."""
        self.exporter: OtlpExporter | None = None
        """The OTLP exporter (``[otlp] enabled``), after :meth:`start`."""
        self.guards: Guards | None = None
        """The output filter and the redaction of stored personal data (after :meth:`start`)."""
        self.pacer = Pacer(settings.rate_limits)
        self.router = ModelRouter(settings.routers)
        self._rollouts: asyncio.Task[None] | None = None
        self._batcher: asyncio.Task[None] | None = None
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        """This process's identity on the queue's leases."""

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self, *, load_providers: bool = True) -> None:
        """Open the store, start the simulator if configured, and begin loading providers
        (unless ``load_providers`` is false: then call :meth:`load_providers` later)."""
        s = self.settings
        import_agent_modules(s.runtime.agent_modules)
        try:
            self.registry.check()
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        self.store = await Store.open(
            s.store.path,
            synchronous=s.store.synchronous,
            batch_max=s.store.batch_max,
            flush_interval=s.store.flush_interval_ms / 1000.0,
        )
        try:
            self.guards = await open_guards(s, self.bus, self.store, lambda: self._deployments)
        except ConfigError:
            await self.store.close()
            raise
        if s.uses_simulator:
            self.simulator = Simulator(s.simulator)
            await self.simulator.start()
        self._deployments = build_deployments(s, self.simulator)
        for name in self._deployments:
            self.breakers[name] = CircuitBreaker(name, **s.circuit.model_dump(), listener=self._on_transition)
        self.prompts = PromptRegistry(self.store, self.bus, s, self.registry)
        self.flags = Flags(self.store, self.bus, s.flags)
        try:
            await self.prompts.load()
        except ConfigError:
            await self.store.close()
            raise
        await self.flags.load()
        costs = CostStore(self.store)
        self.budgets = Budgets(s.budgets, costs)
        await self.budgets.load()
        self.cache = ResponseCache(s.cache, costs)
        try:
            self.alerts = AlertEngine(self.store, self.bus, s.alerts)
            if s.otlp.enabled:  # every span that ends, batched off the hot path
                self.exporter = OtlpExporter(s.otlp)
                self.bus.span_sinks.append(self.exporter)
        except ConfigError:
            await self.store.close()
            raise
        await self.cache.load()
        self._tasks = TaskRunner(s, self.registry, self.store, self.bus, self.wait_ready, self.owner)
        self._tasks.prompts, self._tasks.flags = self.prompts, self.flags
        self._tasks.budgets, self._tasks.router = self.budgets, self.router
        self._tasks.guards = self.guards
        if self._with_workers:
            w = s.workers
            self.pool = WorkerPool(
                self._tasks,
                concurrency=w.concurrency,
                lease_s=w.lease_s,
                poll_s=w.poll_s,
                journal_retention_s=w.journal_retention_h * 3600,
            )
            await self.pool.start()
            self._rollouts = asyncio.get_running_loop().create_task(self._watch_rollouts(), name="agentops-rollouts")
            self.alerts.start()  # every process that runs workers (serve, tui, worker, demo) evaluates
            if s.batch.enabled:  # sends, polls and settles batch jobs (any such process may take one over)
                self._batcher = asyncio.get_running_loop().create_task(
                    run_batcher(self.wait_ready, self._tasks, self.owner), name="agentops-batcher"
                )
        if load_providers:
            self.load_providers()

    async def _watch_rollouts(self) -> None:
        """Evaluate canaries and shadows, and pick up prompt and flag changes made by other processes."""
        assert self.prompts is not None and self.flags is not None
        while True:
            try:
                await self.prompts.evaluate()
                await self.flags.refresh()
                if self.budgets is not None:
                    await self.budgets.load()  # caps another process (the CLI, a second server) set
                if self.cache is not None:
                    await self.cache.follow_clears()  # `agentops cache clear` on the store file
            except Exception as exc:  # noqa: BLE001 - keep watching
                log.error("rollout evaluation failed", error=str(exc))
            await asyncio.sleep(self.settings.prompts.evaluate_every_s)

    def load_providers(self) -> None:
        """Begin importing litellm and building the call path, in a thread (once)."""
        if self._load_task is None:
            self._load_task = asyncio.get_running_loop().create_task(
                self._load_providers(), name="agentops-load-providers"
            )

    async def stop(self, grace_s: float = 10.0) -> int:
        """Stop the workers (running tasks get ``grace_s`` to finish, then go back to the queue),
        the simulator, and the store (flushed). Returns how many tasks were handed back."""
        interrupted = 0
        if self.pool is not None:
            interrupted = await self.pool.stop(grace_s)
        if self.alerts is not None:
            await self.alerts.stop()
        if self.exporter is not None:  # what is waiting goes before the process does
            self.bus.span_sinks.remove(self.exporter)
            await asyncio.to_thread(self.exporter.shutdown)
        for loop_task in (self._rollouts, self._batcher):
            if loop_task is not None:
                loop_task.cancel()
                await asyncio.gather(loop_task, return_exceptions=True)
        if self.prompts is not None:
            await self.prompts.close()
        if self._load_task is not None and not self._load_task.done():
            self._load_task.cancel()
        if self.simulator is not None:
            await self.simulator.stop()
        if self.store is not None:
            await self.store.close()
        if self.store is not None and self.store.redact is not None:
            set_redactor(None)
        return interrupted

    def reload(self, new: Settings) -> Reload:
        """Take on the parts of ``new`` that can change while running (:data:`LIVE_KEYS`); see
        :func:`~agentops.runtime.engine.reload.apply_reload`."""
        return apply_reload(self, new)

    async def __aenter__(self) -> Runtime:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def ready(self) -> bool:
        """Whether providers are loaded (litellm imported) and calls can be made."""
        return self._ready.is_set()

    async def wait_ready(self) -> LLMClient:
        """Wait until providers are loaded; returns the call path."""
        await self._ready.wait()
        if self._load_error is not None:
            raise self._load_error
        assert self._client is not None
        return self._client

    @property
    def client(self) -> LLMClient:
        """The call path (only once :attr:`ready`)."""
        if self._client is None:
            raise RuntimeError("providers are still loading; await runtime.wait_ready()")
        return self._client

    async def _load_providers(self) -> None:
        try:
            assert self.store is not None and self.guards is not None
            litellm, _ = await asyncio.gather(load_litellm_async(), self.guards.load())
            self._client = build_client(
                self.settings,
                litellm.model_cost,
                self._deployments,
                self.breakers,
                Tracer(self.store, self.bus),
                self.store,
                budgets=self.budgets,
                pacer=self.pacer,
                cache=self.cache,
                guards=self.guards,
            )
            self._deployments = self._client.deployments
            if self.settings.cache.semantic or (self.prompts is not None and self.prompts.uses_semantic_cache()):
                from agentops.runtime.calls.cache.verify import load_wordllama_async

                await load_wordllama_async()  # the semantic cache's model, off the loop, before the first lookup
            self.bus.publish("runtime.ready")
        except Exception as exc:  # noqa: BLE001 - surfaced to every waiter
            self._load_error = exc
            log.error("providers failed to load", error=str(exc))
        finally:
            self._ready.set()

    def _on_transition(self, t: Transition) -> None:
        log.warning(
            "circuit transition",
            deployment=t.deployment,
            from_state=t.from_state.value,
            to_state=t.to_state.value,
            reason=t.reason,
        )
        if self.store is not None:
            self.store.save_circuit_event(
                CircuitEventRecord(t.deployment, t.from_state.value, t.to_state.value, t.reason, t.at)
            )
        self.bus.publish(
            "circuit.transition",
            deployment=t.deployment,
            from_state=t.from_state.value,
            to_state=t.to_state.value,
            reason=t.reason,
        )

    # -- queries --------------------------------------------------------------------------

    def circuits(self) -> list[CircuitStatus]:
        """Every deployment's breaker, in configuration order."""
        return circuit_statuses(self.breakers, self._deployments, self.settings)

    # -- tasks ----------------------------------------------------------------------------

    @property
    def tasks(self) -> TaskRunner:
        """Task submission and execution (after :meth:`start`)."""
        if self._tasks is None:
            raise RuntimeError("start the runtime first")
        return self._tasks

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
    ) -> tuple[TaskRecord, bool]:
        """Queue a task for the workers; see :meth:`TaskRunner.submit`."""
        return await self.tasks.submit(
            agent,
            input,
            user_id=user_id,
            session_id=session_id,
            priority=priority,
            idempotency_key=idempotency_key,
            batch=batch,
        )

    async def run(
        self, agent: str, input: Any, *, user_id: str | None = None, session_id: str | None = None
    ) -> TaskRecord:
        """Run one task now and return its record (``succeeded``, ``failed``, or ``waiting``).

        Raises:
            UnknownAgentError: no such agent.
            TaskInputError: the input fails the agent's input model (nothing is recorded).
        """
        return await self.tasks.run(agent, input, user_id=user_id, session_id=session_id)
