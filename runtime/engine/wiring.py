"""Building the call path from the configuration: deployments (the simulator's pointed at its
address), prices (litellm's bundled map, then ``[prices.MODEL]``), routes, provider limits and
the :class:`~agentops.runtime.calls.LLMClient` over them. A USD budget over a deployment whose
price is unknown is refused here: its spend could not count."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from agentops.runtime.calls import (
    Batcher,
    Budgets,
    CircuitBreaker,
    Deployment,
    DeploymentLimits,
    LLMClient,
    Pacer,
    PriceBook,
    RetryPolicy,
    Route,
    SlidingWindow,
    load_litellm_async,
)
from agentops.runtime.calls.cache import ResponseCache
from agentops.runtime.config import SIMULATOR_API_BASE, Settings
from agentops.runtime.errors import ConfigError
from agentops.runtime.events import EventBus
from agentops.runtime.guards import Detector, Guards
from agentops.runtime.logs import get_logger, set_redactor
from agentops.runtime.simulator import Simulator
from agentops.runtime.tasks import TaskRunner
from agentops.runtime.tracing import Tracer
from agentops.store import EscalationStore, Store

__all__ = ["build_client", "build_deployments", "run_batcher"]

log = get_logger("agentops.runtime")


def build_deployments(settings: Settings, simulator: Simulator | None) -> dict[str, Deployment]:
    """The configured deployments; the simulator's pointed at its address, keys from the environment."""
    out = {}
    for name, d in settings.deployments.items():
        api_base = d.api_base
        if api_base == SIMULATOR_API_BASE:
            if simulator is None:
                raise ConfigError(f"deployments.{name}.api_base is 'sim' but simulator.enabled is false")
            api_base = simulator.base_url + "/v1"
        key = None
        if d.api_key_env:
            key = os.environ.get(d.api_key_env)
            if key is None and d.api_base != SIMULATOR_API_BASE:
                log.warning("api key variable not set", deployment=name, variable=d.api_key_env)
        out[name] = Deployment(name, d.model, api_base, key, d.timeout_s, d.context_window, d.price_as or d.model)
    return out


def build_client(
    settings: Settings,
    price_map: dict[str, Any],
    configured: dict[str, Deployment],
    breakers: dict[str, CircuitBreaker],
    tracer: Tracer,
    store: Store,
    *,
    budgets: Budgets | None,
    pacer: Pacer | None,
    cache: ResponseCache | None,
    guards: Guards | None = None,
) -> LLMClient:
    """The call path, once litellm's price map is loaded (context windows filled in from it).

    Raises:
        ConfigError: a USD budget cap over a deployment with no known price.
    """
    prices = PriceBook(
        price_map,
        {m: (p.input_per_mtok, p.output_per_mtok, p.cached_input_per_mtok) for m, p in settings.prices.items()},
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
        for n, d in configured.items()
    }
    usd_caps = [k for k in ("user_day_usd", "agent_day_usd", "global_day_usd") if getattr(settings.budgets, k)]
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
    routes = {n: Route(n, tuple(r.chain), r.fallback_on_permanent) for n, r in settings.routes.items()}
    return LLMClient(
        deployments=deployments,
        routes=routes,
        breakers=breakers,
        retry=RetryPolicy(
            settings.retry.max_retries,
            settings.retry.base_delay_s,
            settings.retry.max_delay_s,
            settings.retry.retry_after_cap_s,
        ),
        prices=prices,
        tracer=tracer,
        store=store,
        deadline_s=settings.retry.deadline_s,
        budgets=budgets,
        pacer=pacer,
        limits={
            n: DeploymentLimits(
                SlidingWindow(d.rpm, d.rate_window_s) if d.rpm else None,
                SlidingWindow(d.tpm, d.rate_window_s) if d.tpm else None,
            )
            for n, d in settings.deployments.items()
            if d.rpm or d.tpm
        },
        cache=cache,
        router_defaults={name: r.default for name, r in settings.routers.items()},
        guards=guards,
        estimate_output_tokens=settings.budgets.estimate_output_tokens,
    )


def build_judge(model: str, *, deployments: Callable[[], dict[str, Deployment]], threshold: float | None) -> Detector:
    """The LLM judge of ``injection_detector = "litellm:MODEL"``, at the endpoint of the
    deployment that serves MODEL (the simulator's too), else the provider's default."""
    from agentops.runtime.guards.judge import LlmJudge

    dep = next((d for d in deployments().values() if d.model == model), None)
    params = {"api_base": dep.api_base, "api_key": dep.api_key or "none", "timeout": dep.timeout_s} if dep else {}

    async def complete(**kw: Any) -> Any:
        return await (await load_litellm_async()).acompletion(**kw)

    return LlmJudge(model, complete, threshold=threshold or 0.5, **params)


async def open_guards(
    settings: Settings, bus: EventBus, store: Store, deployments: Callable[[], dict[str, Deployment]]
) -> Guards:
    """The runtime's guards; with ``redact_pii``, loaded now and redacting the store and the
    logs before anything is written (else loaded with the providers).

    Raises:
        ConfigError: a guard is misconfigured.
    """
    s = settings.guards
    judge = partial(build_judge, deployments=deployments, threshold=s.injection_threshold)
    guards = Guards(s, bus, audit=EscalationStore(store).record_action, store=store, judge=judge)
    if s.redact_pii:
        await guards.load()
        store.redact = guards.redactor
        set_redactor(guards.redactor)
    return guards


async def run_batcher(client: Callable[[], Awaitable[LLMClient]], runner: TaskRunner, owner: str) -> None:
    """Run the batch jobs' loop (``[batch]``) once the call path is ready: it wakes when a step
    writes a request, and wakes the workers when a settled job queued tasks again."""
    batcher = Batcher(await client(), runner.batches, runner.settings.batch, owner, on_wake=runner.submitted.set)
    runner.batch_added = batcher.wake
    await batcher.run()
