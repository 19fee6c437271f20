"""The runtime: wires settings, store, simulator, breakers and the call path, and runs tasks.

``start()`` returns quickly: the store is open and control requests can be served
while litellm imports in a worker thread; LLM calls wait until it is ready.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from agentops.runtime.budgets import Budgets
from agentops.runtime.cache import ResponseCache
from agentops.runtime.circuit import CircuitBreaker, CircuitState, Transition
from agentops.runtime.config import SIMULATOR_API_BASE, Settings
from agentops.runtime.errors import ConfigError, describe_validation
from agentops.runtime.events import EventBus
from agentops.runtime.flags import Flags
from agentops.runtime.llm import LLMClient, Route
from agentops.runtime.logs import get_logger
from agentops.runtime.pacing import DeploymentLimits, Pacer
from agentops.runtime.pool import WorkerPool
from agentops.runtime.pricing import PriceBook
from agentops.runtime.prompts import PromptRegistry
from agentops.runtime.provider import Deployment, load_litellm_async
from agentops.runtime.ratelimit import SlidingWindow
from agentops.runtime.registry import Registry, default_registry, import_agent_modules
from agentops.runtime.retry import RetryPolicy
from agentops.runtime.router import ModelRouter
from agentops.runtime.simulator import Simulator
from agentops.runtime.tasks import TaskRunner
from agentops.runtime.tracing import Tracer
from agentops.store import CircuitEventRecord, Store, TaskRecord
from agentops.store.costs import CostStore

__all__ = ["LIVE_KEYS", "CircuitStatus", "Reload", "Runtime"]

log = get_logger("agentops.runtime")


@dataclass(frozen=True)
class CircuitStatus:
    """A snapshot of one deployment's breaker."""

    deployment: str
    model: str
    api_base: str | None
    state: str
    calls_in_window: int
    failures_in_window: int
    calls_total: int
    failures_total: int
    last_error: str
    retry_in_s: float

    @property
    def failure_rate(self) -> float:
        """Failures / calls inside the rolling window (0 with no calls)."""
        return self.failures_in_window / self.calls_in_window if self.calls_in_window else 0.0


LIVE_KEYS = frozenset(
    {"retry", "circuit", "gate", "log", "runtime.max_steps", "runtime.tool_timeout_s", "workers.poll_s"}
    | {"prompts.evaluate_every_s"}
    | {"api.rate_per_min", "api.rate_burst", "api.drain_grace_s", "api.metrics_public"}
    | {"budgets", "rate_limits", "cache.max_temperature", "cache.ttl_s", "cache.threshold"}
)
"""Configuration a running runtime takes on at a reload (a whole section, or one key)."""


@dataclass(frozen=True)
class Reload:
    """What a configuration reload changed."""

    applied: list[str]
    """Keys now in effect (``section.key``)."""
    restart_required: list[str]
    """Keys that changed in the file but take effect only after a restart."""


def _changed_keys(old: Settings, new: Settings) -> list[str]:
    a, b = old.model_dump(mode="json"), new.model_dump(mode="json")
    out = []
    for section in b:
        x, y = a.get(section), b[section]
        if x == y:
            continue
        if isinstance(x, dict) and isinstance(y, dict) and section not in ("deployments", "routes", "prices"):
            out += [f"{section}.{k}" for k in sorted(set(x) | set(y)) if x.get(k) != y.get(k)]
        else:
            out.append(section)
    return out


def _is_live(key: str) -> bool:
    return key in LIVE_KEYS or key.split(".", 1)[0] in LIVE_KEYS


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
        self.pacer = Pacer(settings.rate_limits)
        self.router = ModelRouter(settings.routers)
        self._rollouts: asyncio.Task[None] | None = None
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
        if s.uses_simulator:
            self.simulator = Simulator(s.simulator)
            await self.simulator.start()
        self._deployments = self._build_deployments()
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
        await self.cache.load()
        self._tasks = TaskRunner(s, self.registry, self.store, self.bus, self.wait_ready, self.owner)
        self._tasks.prompts, self._tasks.flags = self.prompts, self.flags
        self._tasks.budgets, self._tasks.router = self.budgets, self.router
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
        if self._rollouts is not None:
            self._rollouts.cancel()
            await asyncio.gather(self._rollouts, return_exceptions=True)
        if self.prompts is not None:
            await self.prompts.close()
        if self._load_task is not None and not self._load_task.done():
            self._load_task.cancel()
        if self.simulator is not None:
            await self.simulator.stop()
        if self.store is not None:
            await self.store.close()
        return interrupted

    def reload(self, new: Settings) -> Reload:
        """Take on the parts of ``new`` that can change while running (:data:`LIVE_KEYS`).

        Retry policy, breaker thresholds, gate, log level, step and tool limits, and the
        workers' poll interval apply to the next call or step; anything else that differs
        is reported as needing a restart and left as it is.
        """
        from agentops.runtime.logs import configure_logging

        changed = _changed_keys(self.settings, new)
        applied = [k for k in changed if _is_live(k)]
        merged = self.settings.model_dump()
        fresh = new.model_dump()
        for key in applied:
            section, _, name = key.partition(".")
            if name:
                merged[section][name] = fresh[section][name]
            else:
                merged[section] = fresh[section]
        try:
            settings = Settings.model_validate(merged)
        except ValidationError as exc:
            raise ConfigError(f"reload refused: {describe_validation(exc)}") from None
        self.settings = settings
        if self._tasks is not None:
            self._tasks.settings = settings
        if self._client is not None:
            r = settings.retry
            self._client.retry = RetryPolicy(r.max_retries, r.base_delay_s, r.max_delay_s, r.retry_after_cap_s)
            self._client.deadline_s = r.deadline_s
        for breaker in self.breakers.values():
            for name, value in settings.circuit.model_dump().items():
                setattr(breaker, name, value)
        if self.pool is not None:
            self.pool.poll_s = settings.workers.poll_s
        if self.budgets is not None:
            self.budgets.settings = settings.budgets
        if self.cache is not None:
            self.cache.settings = settings.cache
        if any(k.startswith("rate_limits") for k in applied):
            self.pacer.reconfigure(settings.rate_limits)
        if self._client is not None:
            self._client.estimate_output_tokens = settings.budgets.estimate_output_tokens
        if any(k.startswith("log") for k in applied):
            configure_logging(settings.log.level, settings.log.format)
        result = Reload(applied, [k for k in changed if not _is_live(k)])
        log.warning("configuration reloaded", applied=result.applied, restart_required=result.restart_required)
        self.bus.publish("config.reloaded", applied=result.applied, restart_required=result.restart_required)
        return result

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

    def _build_deployments(self) -> dict[str, Deployment]:
        out = {}
        for name, d in self.settings.deployments.items():
            api_base = d.api_base
            if api_base == SIMULATOR_API_BASE:
                if self.simulator is None:
                    raise ConfigError(f"deployments.{name}.api_base is 'sim' but simulator.enabled is false")
                api_base = self.simulator.base_url + "/v1"
            key = None
            if d.api_key_env:
                key = os.environ.get(d.api_key_env)
                if key is None and d.api_base != SIMULATOR_API_BASE:
                    log.warning("api key variable not set", deployment=name, variable=d.api_key_env)
            out[name] = Deployment(name, d.model, api_base, key, d.timeout_s, d.context_window, d.price_as or d.model)
        return out

    async def _load_providers(self) -> None:
        try:
            litellm = await load_litellm_async()
            s = self.settings
            prices = PriceBook(
                litellm.model_cost,
                {m: (p.input_per_mtok, p.output_per_mtok, p.cached_input_per_mtok) for m, p in s.prices.items()},
            )
            deployments = {
                n: d
                if d.context_window
                else Deployment(
                    d.name,
                    d.model,
                    d.api_base,
                    d.api_key,
                    d.timeout_s,
                    prices.context_window(d.price_model),
                    d.price_model,
                )
                for n, d in self._deployments.items()
            }
            usd_caps = [k for k in ("user_day_usd", "agent_day_usd", "global_day_usd") if getattr(s.budgets, k)]
            unpriced = sorted(d.name for d in deployments.values() if prices.price(d.price_model) is None)
            if usd_caps and unpriced:
                raise ConfigError(
                    f"budgets.{usd_caps[0]} cannot limit deployment(s) {', '.join(unpriced)}: no price is known "
                    "for their model; set [prices.MODEL] (or price_as on the deployment) so their spend counts"
                )
            for d in deployments.values():
                if prices.price(d.price_model) is None:
                    log.warning(
                        "no price known for model; its calls are recorded as unpriced",
                        deployment=d.name,
                        model=d.price_model,
                    )
            routes = {n: Route(n, tuple(r.chain), r.fallback_on_permanent) for n, r in s.routes.items()}
            assert self.store is not None
            self._client = LLMClient(
                deployments=deployments,
                routes=routes,
                breakers=self.breakers,
                retry=RetryPolicy(
                    s.retry.max_retries, s.retry.base_delay_s, s.retry.max_delay_s, s.retry.retry_after_cap_s
                ),
                prices=prices,
                tracer=Tracer(self.store, self.bus),
                store=self.store,
                deadline_s=s.retry.deadline_s,
                budgets=self.budgets,
                pacer=self.pacer,
                limits={
                    n: DeploymentLimits(
                        SlidingWindow(d.rpm, d.rate_window_s) if d.rpm else None,
                        SlidingWindow(d.tpm, d.rate_window_s) if d.tpm else None,
                    )
                    for n, d in s.deployments.items()
                    if d.rpm or d.tpm
                },
                cache=self.cache,
                router_defaults={name: r.default for name, r in s.routers.items()},
                estimate_output_tokens=s.budgets.estimate_output_tokens,
            )
            self._deployments = deployments
            if s.cache.semantic or (self.prompts is not None and self.prompts.uses_semantic_cache()):
                from agentops.runtime.verify import load_wordllama_async

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
        out = []
        for name, b in self.breakers.items():
            d = self._deployments[name]
            calls, failed = b.window_counts()
            state = b.state
            if state is CircuitState.OPEN and b.retry_in() == 0:
                state = CircuitState.HALF_OPEN  # the next call will be a probe
            out.append(
                CircuitStatus(
                    name,
                    d.model,
                    self.settings.deployments[name].api_base,
                    state.value,
                    calls,
                    failed,
                    b.calls_total,
                    b.failures_total,
                    b.last_error,
                    b.retry_in(),
                )
            )
        return out

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
    ) -> tuple[TaskRecord, bool]:
        """Queue a task for the workers; see :meth:`TaskRunner.submit`."""
        return await self.tasks.submit(
            agent, input, user_id=user_id, session_id=session_id, priority=priority, idempotency_key=idempotency_key
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
