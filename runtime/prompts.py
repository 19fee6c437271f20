"""Prompt files, their immutable versions, labels, canary rollouts and shadow runs.

A prompt is a TOML file under ``prompts/`` (``prompts.dir``), named by its stem::

    agent = "triage"                       # the agent whose code is part of the artifact
    route = "default"                      # the fallback chain (the model config)
    output = "agentops.runtime.agents.triage:Triage"   # optional: the reply's schema
    tools = []                             # tools offered to the model
    system = "You classify support tickets..."
    template = "{{ text }}"                # Jinja2; a missing variable is an error
    [params]                               # passed to the provider
    temperature = 0
    [canary]                               # optional: this prompt's stages and margins
    stages = [1, 10, 50, 100]

At start every file is registered: its artifact id is the hash of the prompt, the
route's model config, the agent module's source and the locked versions of litellm
and agentops. A new artifact id becomes the next version; a known one is the version
it already is. Labels (``production``, ``canary``, ``shadow``, ``latest``, ``previous``,
any name) point at versions and move without a restart. A prompt's first version
becomes ``production``; later versions get ``latest`` and wait to be promoted.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import inspect
import json
import random
import re
import sys
import tomllib
from collections.abc import Coroutine
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agentops.runtime.config import PromptSettings, Settings
from agentops.runtime.errors import ConfigError, DecisionError, NotFoundError
from agentops.runtime.events import EventBus
from agentops.runtime.logs import get_logger
from agentops.store import PromptStore, PromptVersionRecord, RolloutRecord, Store

if TYPE_CHECKING:
    from jinja2 import Template

    from agentops.runtime.registry import Registry

__all__ = ["PromptFile", "PromptRegistry", "PromptVersion", "Resolved", "bucket"]

log = get_logger("agentops.prompts")

FILE_KEYS = {
    "agent",
    "route",
    "output",
    "tools",
    "system",
    "template",
    "params",
    "canary",
    "shadow",
    "cache",
    "description",
}
CACHE_KEYS = {"exact", "semantic", "threshold", "scope", "ttl_s", "prompt_caching"}
"""``[cache]`` of a prompt file: the response cache for this prompt, and provider prompt caching."""
CANARY_KEYS = {"stages", "min_calls", "max_error_rate_increase", "max_gate_failure_increase", "max_p95_ratio"}
RESERVED_PARAMS = {"route", "tools", "output", "messages", "model", "response_format", "template", "system"}
SHADOW_KEYS = {"sample", "max_cost_usd", "alert_below", "min_judged"}


def bucket(key: str) -> float:
    """A stable position in [0, 100) for ``key`` (sha256, so the same on every machine and run)."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:12], 16) % 1_000_000 / 10_000


@dataclass(frozen=True)
class PromptFile:
    """One parsed prompt file."""

    name: str
    path: Path
    content: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> PromptFile:
        """Parse and check a prompt file.

        Raises:
            ConfigError: naming the file and the key.
        """
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        unknown = set(data) - FILE_KEYS
        if unknown:
            raise ConfigError(
                f"{path}: unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(FILE_KEYS))}"
            )
        if not isinstance(data.get("template"), str) or not data["template"].strip():
            raise ConfigError(f"{path}: template: required, a non-empty string (Jinja2)")
        for key, allowed in (("canary", CANARY_KEYS), ("shadow", SHADOW_KEYS), ("cache", CACHE_KEYS)):
            extra = set(data.get(key, {})) - allowed
            if extra:
                raise ConfigError(f"{path}: [{key}]: unknown key(s) {', '.join(sorted(extra))}")
        if not isinstance(data.get("tools", []), list):
            raise ConfigError(f"{path}: tools: must be a list of tool names")
        if not isinstance(data.get("params", {}), dict):
            raise ConfigError(f"{path}: [params]: must be a table")
        reserved = set(data.get("params", {})) & RESERVED_PARAMS
        if reserved:
            raise ConfigError(
                f"{path}: [params]: {', '.join(sorted(reserved))} cannot be a provider parameter; "
                "put route, tools and output at the top of the file, before [params]"
            )
        _compile(data["template"], path)
        if "output" in data:
            _import_output(str(data["output"]), path)
        content = {
            "agent": data.get("agent"),
            "route": data.get("route"),
            "output": data.get("output"),
            "tools": list(data.get("tools", [])),
            "system": data.get("system"),
            "template": data["template"],
            "params": dict(data.get("params", {})),
            "canary": dict(data.get("canary", {})),
            "shadow": dict(data.get("shadow", {})),
            "description": data.get("description", ""),
        }
        if "cache" in data:  # only when given: older files keep their artifact ids
            content["cache"] = _cache_table(dict(data["cache"]), path)
        return cls(path.stem, path, content)


@dataclass
class PromptVersion:
    """A loaded version: its content and compiled template."""

    prompt: str
    version: int
    artifact_id: str
    content: dict[str, Any]
    created_at: float
    _template: Template | None = field(default=None, repr=False)

    @property
    def route(self) -> str | None:
        """The route this version calls (None: the agent's)."""
        route = self.content["prompt"].get("route")
        return str(route) if route else None

    @property
    def tools(self) -> list[str]:
        """Tools offered to the model."""
        return list(self.content["prompt"].get("tools", []))

    @property
    def params(self) -> dict[str, Any]:
        """Provider parameters."""
        return dict(self.content["prompt"].get("params", {}))

    @property
    def cache(self) -> dict[str, Any]:
        """The file's ``[cache]`` table (empty: the configuration's defaults)."""
        return dict(self.content["prompt"].get("cache", {}))

    def output_model(self) -> type[BaseModel] | None:
        """The reply's schema, if the prompt names one."""
        ref = self.content["prompt"].get("output")
        return _import_output(ref, None) if ref else None

    def render(self, variables: dict[str, Any]) -> list[dict[str, Any]]:
        """The chat messages for these variables.

        Raises:
            ConfigError: a variable the template uses is missing (named).
        """
        from jinja2 import UndefinedError

        if self._template is None:
            self._template = _compile(self.content["prompt"]["template"], self.prompt)
        try:
            text = self._template.render(**variables)
        except UndefinedError as exc:
            raise ConfigError(f"prompt {self.prompt!r} v{self.version}: {exc.message}") from None
        messages = [{"role": "user", "content": text}]
        system = self.content["prompt"].get("system")
        if system:
            messages.insert(0, {"role": "system", "content": system})
        return messages


@dataclass(frozen=True)
class Resolved:
    """Which version a step uses, and why."""

    version: PromptVersion
    label: str
    """``production``, ``canary`` (the unit is in the canary's bucket) or the label asked for."""
    shadow: RolloutRecord | None = None
    """An active shadow of this prompt (production steps feed it a copy)."""


DEFAULT_CANARY: dict[str, Any] = {
    "stages": [1, 10, 50, 100],
    "min_calls": 20,
    "max_error_rate_increase": 0.05,
    "max_gate_failure_increase": 0.05,
    "max_p95_ratio": 1.5,
}
DEFAULT_SHADOW: dict[str, Any] = {"sample": 1.0, "max_cost_usd": 1.0, "alert_below": 0.6, "min_judged": 5}


class PromptRegistry:
    """The runtime's prompts: versions and labels cached from the store, canaries evaluated."""

    def __init__(self, store: Store, bus: EventBus, settings: Settings, registry: Registry) -> None:
        self.store = PromptStore(store)
        self.bus = bus
        self.settings = settings
        self.registry = registry
        self._versions: dict[tuple[str, int], PromptVersion] = {}
        self._labels: dict[tuple[str, str], int] = {}
        self._rollouts: list[RolloutRecord] = []
        self._alerted: set[int] = set()
        self._background: set[asyncio.Task[None]] = set()
        self.files: dict[str, PromptFile] = {}

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run shadow work in the background (cancelled at :meth:`close`)."""
        task = asyncio.get_running_loop().create_task(work, name="agentops-shadow")
        self._background.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("shadow run failed", error=f"{type(task.exception()).__name__}: {task.exception()}")

    async def close(self) -> None:
        """Cancel shadow work still running."""
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait for shadow work to finish (tests, orderly stops)."""
        if self._background:
            await asyncio.wait(list(self._background), timeout=timeout)

    @property
    def config(self) -> PromptSettings:
        """The ``[prompts]`` settings."""
        return self.settings.prompts

    # -- loading ------------------------------------------------------------------------------

    def directories(self) -> list[Path]:
        """Where prompt files come from: each agent module's ``prompts/`` folder, then ``prompts.dir``."""
        out = []
        for module in self.settings.runtime.agent_modules:
            mod = sys.modules.get(module)
            paths = getattr(mod, "__path__", None) if mod is not None else None
            if paths:
                out += [Path(p) / "prompts" for p in paths]
        return [*out, self.config.dir]

    async def load(self) -> list[tuple[str, int, bool]]:
        """Register every prompt file: (name, version, new) for each. A later folder's file
        replaces an earlier one of the same name (yours replace the built-in ones)."""
        files: dict[str, PromptFile] = {}
        for directory in self.directories():
            for path in sorted(directory.glob("*.toml")) if directory.is_dir() else []:
                pf = PromptFile.load(path)
                files[pf.name] = pf
        out = []
        for pf in files.values():
            content = self._artifact_content(pf)
            artifact_id = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]
            version, created = await self.store.register(pf.name, artifact_id, content)
            self.files[pf.name] = pf
            if created:
                await self.store.set_label(
                    pf.name, "latest", version, actor="runtime", via="runtime", action="prompt.label", audited=False
                )
            labels = {lab.label for lab in await self.store.labels(pf.name)}
            if "production" not in labels:
                await self.store.set_label(
                    pf.name,
                    "production",
                    version,
                    actor="runtime",
                    via="runtime",
                    action="prompt.promote",
                    audited=False,
                )
            if created:
                log.info("prompt version registered", prompt=pf.name, version=version, artifact_id=artifact_id)
            out.append((pf.name, version, created))
        await self.refresh()
        return out

    def _artifact_content(self, pf: PromptFile) -> dict[str, Any]:
        """What the artifact id hashes: the prompt, the route's model config, the agent's code, the dependencies."""
        route = pf.content.get("route") or self.settings.runtime.default_route
        routers = self.settings.routers
        if route not in self.settings.routes and route not in routers:
            raise ConfigError(f"{pf.path}: route {route!r} is not defined under [routes] or [routers]")
        names = sorted(routers[route].routes()) if route in routers else [route]
        chains = {
            r: [
                {
                    "deployment": d,
                    "model": self.settings.deployments[d].model,
                    "api_base": self.settings.deployments[d].api_base,
                }
                for d in self.settings.routes[r].chain
            ]
            for r in names
        }
        # A plain route's model config is its chain; a router's is its rules and the chain of
        # every route it can pick, so changing a rule or any of those chains is a new version.
        model: dict[str, Any] = {"route": route}
        if route in routers:
            model |= {"router": routers[route].model_dump(mode="json"), "routes": chains}
        else:
            model["chain"] = chains[route]
        code = ""
        agent_name = pf.content.get("agent")
        if agent_name:
            from agentops.runtime.registry import default_registry

            spec = self.registry.agents.get(agent_name) or default_registry.agents.get(agent_name)
            if spec is None:
                raise ConfigError(f"{pf.path}: agent {agent_name!r} is not registered (runtime.agent_modules)")
            module = sys.modules.get(spec.fn.__module__)
            code = hashlib.sha256(inspect.getsource(module).encode()).hexdigest() if module else ""
        return {
            "prompt": pf.content,
            "model": model,
            "code_sha256": code,
            "dependencies": {name: _version(name) for name in ("litellm", "agentops")},
        }

    async def refresh(self) -> None:
        """Re-read labels, versions and rollouts from the store (changes made elsewhere)."""
        for rec in await self.store.versions():
            key = (rec.prompt, rec.version)
            if key not in self._versions:
                self._versions[key] = _version_of(rec)
        self._labels = {(lab.prompt, lab.label): lab.version for lab in await self.store.labels()}
        self._rollouts = await self.store.rollouts(active_only=True)

    # -- resolution -----------------------------------------------------------------------------

    def uses_semantic_cache(self) -> bool:
        """Whether any loaded version turns the semantic cache on in its ``[cache]`` table."""
        return any(v.cache.get("semantic") for v in self._versions.values())

    def names(self) -> list[str]:
        """Every prompt with at least one version."""
        return sorted({p for p, _ in self._versions})

    def version(self, prompt: str, version: int) -> PromptVersion:
        """One version.

        Raises:
            NotFoundError: no such prompt or version.
        """
        v = self._versions.get((prompt, version))
        if v is None:
            raise NotFoundError(f"prompt {prompt!r} has no version {version} (known: {self._known(prompt)})")
        return v

    def label(self, prompt: str, label: str) -> int | None:
        """The version a label points at."""
        return self._labels.get((prompt, label))

    def labels_of(self, prompt: str) -> dict[str, int]:
        """Every label of a prompt."""
        return {lab: v for (p, lab), v in self._labels.items() if p == prompt}

    def active(self, prompt: str, kind: str) -> RolloutRecord | None:
        """The active canary or shadow of a prompt."""
        return next((r for r in self._rollouts if r.prompt == prompt and r.kind == kind), None)

    def resolve(self, prompt: str, unit: str, label: str | None = None) -> Resolved:
        """The version a step of ``unit`` (a user, else the task) uses.

        Raises:
            NotFoundError: no such prompt, or the label points nowhere.
        """
        if label is not None:
            v = self.label(prompt, label)
            if v is None:
                raise NotFoundError(f"prompt {prompt!r} has no label {label!r} (labels: {self.labels_of(prompt)})")
            return Resolved(self.version(prompt, v), label)
        production = self.label(prompt, "production")
        if production is None:
            raise NotFoundError(
                f"no prompt {prompt!r} (files are loaded from {self.config.dir}/; known: {', '.join(self.names())})"
            )
        canary = self.active(prompt, "canary")
        if canary is not None:
            stages = canary.config["stages"]
            share = stages[min(canary.stage, len(stages) - 1)]
            if bucket(f"{prompt}:{unit}") < share:
                return Resolved(self.version(prompt, canary.version), "canary")
        return Resolved(self.version(prompt, production), "production", self.active(prompt, "shadow"))

    def _known(self, prompt: str) -> str:
        return ", ".join(str(v) for p, v in sorted(self._versions) if p == prompt) or "none"

    # -- operator actions -----------------------------------------------------------------------

    async def promote(self, prompt: str, version: int, *, actor: str, via: str) -> int | None:
        """Point ``production`` at ``version`` (the old one becomes ``previous``). Returns the old one.

        A canary or shadow of a version that becomes production ends (``promoted``); one of
        another version goes on against the new production.

        Raises:
            DecisionError: it is production already.
        """
        self.version(prompt, version)
        if self.label(prompt, "production") == version:
            raise DecisionError(f"version {version} of {prompt!r} is production already")
        for kind in ("canary", "shadow"):
            rollout = self.active(prompt, kind)
            if rollout is not None and rollout.version == version:
                await self.store.end_rollout(
                    rollout.id, "promoted", f"promoted by {actor}", actor=actor, via=via, label_moves={kind: None}
                )
        before = await self.store.set_label(
            prompt, "production", version, actor=actor, via=via, action="prompt.promote"
        )
        if before is not None and before != version:
            await self.store.set_label(prompt, "previous", before, actor=actor, via=via, action="prompt.label")
        await self._changed(prompt, "promote", version=version, before=before, actor=actor)
        return before

    async def rollback(self, prompt: str, *, actor: str, via: str) -> int:
        """Point ``production`` back at ``previous``. Returns the version now in production.

        Raises:
            DecisionError: there is no previous version.
        """
        previous = self.label(prompt, "previous")
        current = self.label(prompt, "production")
        if previous is None or previous == current:
            raise DecisionError(f"prompt {prompt!r} has no previous production version to roll back to")
        await self.store.set_label(prompt, "production", previous, actor=actor, via=via, action="prompt.rollback")
        if current is not None:
            await self.store.set_label(prompt, "previous", current, actor=actor, via=via, action="prompt.label")
        await self._changed(prompt, "rollback", version=previous, before=current, actor=actor)
        return previous

    async def start(self, prompt: str, kind: str, version: int, *, actor: str, via: str) -> RolloutRecord:
        """Start a canary or a shadow of ``version`` against production.

        Raises:
            DecisionError: it is the production version, or one is running already.
        """
        self.version(prompt, version)
        production = self.label(prompt, "production")
        if production is None or production == version:
            raise DecisionError(f"version {version} of {prompt!r} is production already")
        file_cfg = self.files[prompt].content.get(kind, {}) if prompt in self.files else {}
        config = {**(DEFAULT_CANARY if kind == "canary" else DEFAULT_SHADOW), **file_cfg}
        if kind == "canary" and (not config["stages"] or sorted(config["stages"]) != list(config["stages"])):
            raise DecisionError(
                f"prompt {prompt!r}: canary stages must be increasing percentages, got {config['stages']}"
            )
        try:
            await self.store.start_rollout(prompt, kind, version, production, config, actor=actor, via=via)
        except ValueError as exc:
            raise DecisionError(str(exc)) from None
        await self.store.set_label(prompt, kind, version, actor=actor, via=via, action="prompt.label")
        await self._changed(prompt, f"{kind}.start", version=version, actor=actor)
        started = self.active(prompt, kind)
        assert started is not None
        return started

    async def stop(
        self, prompt: str, kind: str, *, actor: str, via: str, reason: str = "stopped by an operator"
    ) -> None:
        """Stop a running canary or shadow (production is unchanged).

        Raises:
            DecisionError: none is running.
        """
        rollout = self.active(prompt, kind)
        if rollout is None:
            raise DecisionError(f"no {kind} of {prompt!r} is running")
        await self.store.end_rollout(rollout.id, "stopped", reason, actor=actor, via=via, label_moves={kind: None})
        await self._changed(prompt, f"{kind}.stop", version=rollout.version, actor=actor, reason=reason)

    async def _changed(self, prompt: str, what: str, **data: Any) -> None:
        await self.refresh()
        self.bus.publish("prompt.changed", prompt=prompt, change=what, **data)

    # -- canary evaluation ----------------------------------------------------------------------

    async def evaluate(self) -> None:
        """Advance, promote or roll back every active canary by its figures; alert on shadow regressions."""
        await self.refresh()
        for rollout in list(self._rollouts):
            if rollout.kind == "canary":
                await self._evaluate_canary(rollout)
            else:
                await self._check_shadow(rollout)

    async def _evaluate_canary(self, r: RolloutRecord) -> None:
        cfg = r.config
        canary = (await self.store.version_stats(r.prompt, since=r.stage_started_at)).get(r.version)
        if canary is None or canary.calls < cfg["min_calls"]:
            return
        base = (await self.store.version_stats(r.prompt, since=r.started_at - 3600)).get(r.base_version)
        b_err = base.error_rate if base else 0.0
        b_gate = base.gate_failure_rate if base else 0.0
        breaches = []
        if canary.error_rate > b_err + cfg["max_error_rate_increase"]:
            breaches.append(f"error rate {canary.error_rate:.1%} vs production {b_err:.1%}")
        if canary.gate_failure_rate > b_gate + cfg["max_gate_failure_increase"]:
            breaches.append(f"validation failures {canary.gate_failure_rate:.1%} vs production {b_gate:.1%}")
        if (
            base
            and base.p95_ms > 0
            and canary.p95_ms > base.p95_ms * cfg["max_p95_ratio"]
            and canary.p95_ms - base.p95_ms > 50
        ):
            breaches.append(f"P95 latency {canary.p95_ms:.0f} ms vs production {base.p95_ms:.0f} ms")
        stages = cfg["stages"]
        share = stages[min(r.stage, len(stages) - 1)]
        if breaches:
            reason = f"stage {share}%: " + "; ".join(breaches) + f" over {canary.calls} calls"
            await self.store.end_rollout(
                r.id, "rolled_back", reason, actor="canary", via="runtime", label_moves={"canary": None}
            )
            log.warning("canary rolled back", prompt=r.prompt, version=r.version, reason=reason)
            await self._changed(r.prompt, "canary.rolled_back", version=r.version, reason=reason, actor="canary")
        elif r.stage + 1 < len(stages):
            await self.store.advance(r.id, r.stage + 1)
            await self._changed(
                r.prompt, "canary.advanced", version=r.version, stage=stages[r.stage + 1], actor="canary"
            )
        else:
            reason = f"passed every stage ({', '.join(f'{s}%' for s in stages)})"
            await self.store.end_rollout(
                r.id,
                "promoted",
                reason,
                actor="canary",
                via="runtime",
                label_moves={"production": r.version, "previous": r.base_version, "canary": None},
            )
            await self._changed(r.prompt, "canary.promoted", version=r.version, reason=reason, actor="canary")

    async def _check_shadow(self, r: RolloutRecord) -> None:
        if r.id in self._alerted:
            return
        summary = await self.store.shadow_summary(r.id)
        cfg = r.config
        if (
            summary.judged >= cfg["min_judged"]
            and summary.mean_score is not None
            and summary.mean_score < cfg["alert_below"]
        ):
            self._alerted.add(r.id)
            reason = (
                f"shadow v{r.version} scored {summary.mean_score:.2f} on average against production over "
                f"{summary.judged} requests (alert below {cfg['alert_below']})"
            )
            log.warning("shadow regression", prompt=r.prompt, version=r.version, reason=reason)
            self.bus.publish("prompt.alert", prompt=r.prompt, version=r.version, reason=reason)

    def wants_shadow(self, rollout: RolloutRecord) -> bool:
        """Whether this request goes to the shadow too (its sample rate)."""
        return random.random() < float(rollout.config.get("sample", 1.0))


def _version_of(rec: PromptVersionRecord) -> PromptVersion:
    return PromptVersion(rec.prompt, rec.version, rec.artifact_id, rec.content, rec.created_at)


def _compile(source: str, where: object) -> Template:
    from jinja2 import StrictUndefined, TemplateSyntaxError
    from jinja2.sandbox import SandboxedEnvironment

    try:
        return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False).from_string(source)
    except TemplateSyntaxError as exc:
        raise ConfigError(f"{where}: template: {exc.message} (line {exc.lineno})") from None


def _import_output(ref: str, where: object) -> type[BaseModel]:
    module, _, attr = ref.partition(":")
    try:
        obj = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError, ValueError):
        raise ConfigError(f"{where}: output: cannot import {ref!r} (write module:ClassName)") from None
    if not (isinstance(obj, type) and issubclass(obj, BaseModel)):
        raise ConfigError(f"{where}: output: {ref!r} is not a pydantic model")
    return obj


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class RolloutInfo:
    """A canary or shadow as the console and CLI show it."""

    id: int
    prompt: str
    kind: str
    version: int
    base_version: int
    status: str
    share: float
    """The canary's current share of units in percent (0 for a shadow)."""
    stage: int
    reason: str | None
    started_at: float
    started_by: str
    ended_at: float | None
    judged: int = 0
    mean_score: float | None = None
    cost_usd: float = 0.0


@dataclass(frozen=True)
class PromptSummary:
    """One prompt: its versions and where its labels point."""

    name: str
    description: str
    versions: int
    labels: dict[str, int]
    canary: RolloutInfo | None
    shadow: RolloutInfo | None


@dataclass(frozen=True)
class PromptVersionInfo:
    """One version with its live figures (since a point in time)."""

    prompt: str
    version: int
    artifact_id: str
    created_at: float
    labels: list[str]
    calls: int
    error_rate: float
    gate_failure_rate: float
    p95_ms: float
    cost_per_call: float
    judge_score: float | None
    """Mean score of this version as a shadow (None if never shadowed)."""
    content: dict[str, Any]


PROMPT_ACTIONS = ("promote", "rollback", "canary.start", "canary.stop", "shadow.start", "shadow.stop", "label")
MANAGED_LABELS = frozenset({"production", "previous", "latest", "canary", "shadow"})
"""Labels the actions keep; ``label`` sets any other name (for ``ctx.llm(..., label=NAME)``)."""
_LABEL = re.compile(r"^[a-z][a-z0-9_.-]{0,39}$")


async def rollout_info(prompts: PromptRegistry, r: RolloutRecord) -> RolloutInfo:
    """A rollout with its current share and (for a shadow) the judge's figures."""
    stages = r.config.get("stages", [])
    share = float(stages[min(r.stage, len(stages) - 1)]) if r.kind == "canary" and stages else 0.0
    judged, mean, cost = 0, None, 0.0
    if r.kind == "shadow":
        s = await prompts.store.shadow_summary(r.id)
        judged, mean, cost = s.judged, s.mean_score, s.cost_usd
    return RolloutInfo(
        r.id, r.prompt, r.kind, r.version, r.base_version, r.status, share, r.stage, r.reason,
        r.started_at, r.started_by, r.ended_at, judged, mean, cost,
    )  # fmt: skip


async def summaries(prompts: PromptRegistry) -> list[PromptSummary]:
    """Every prompt."""
    await prompts.refresh()
    out = []
    for name in prompts.names():
        canary, shadow = prompts.active(name, "canary"), prompts.active(name, "shadow")
        f = prompts.files.get(name)
        last = max(v for p, v in prompts._versions if p == name)
        description = (
            f.content.get("description", "")
            if f
            else prompts.version(name, last).content["prompt"].get("description", "")
        )
        out.append(
            PromptSummary(
                name,
                str(description or ""),
                last,
                prompts.labels_of(name),
                await rollout_info(prompts, canary) if canary else None,
                await rollout_info(prompts, shadow) if shadow else None,
            )
        )
    return out


async def version_infos(prompts: PromptRegistry, name: str, *, since: float = 0.0) -> list[PromptVersionInfo]:
    """Every version of a prompt with its figures since ``since``, newest first.

    Raises:
        NotFoundError: no such prompt.
    """
    await prompts.refresh()
    versions = sorted((v for p, v in prompts._versions if p == name), reverse=True)
    if not versions:
        raise NotFoundError(f"no prompt {name!r} (known: {', '.join(prompts.names()) or 'none'})")
    stats = await prompts.store.version_stats(name, since=since)
    labels = prompts.labels_of(name)
    scores: dict[int, list[tuple[int, float]]] = {}
    for r in await prompts.store.rollouts(prompt=name):
        if r.kind == "shadow":
            s = await prompts.store.shadow_summary(r.id)
            if s.mean_score is not None:
                scores.setdefault(r.version, []).append((s.judged, s.mean_score))
    out = []
    for v in versions:
        pv = prompts.version(name, v)
        st = stats.get(v)
        judged = scores.get(v, [])
        n = sum(j for j, _ in judged)
        out.append(
            PromptVersionInfo(
                name,
                v,
                pv.artifact_id,
                pv.created_at,
                sorted(lab for lab, lv in labels.items() if lv == v),
                st.calls if st else 0,
                st.error_rate if st else 0.0,
                st.gate_failure_rate if st else 0.0,
                st.p95_ms if st else 0.0,
                st.cost_per_call if st else 0.0,
                sum(j * m for j, m in judged) / n if n else None,
                pv.content,
            )
        )
    return out


async def act(
    prompts: PromptRegistry,
    name: str,
    action: str,
    version: int | None,
    *,
    actor: str,
    via: str,
    label: str | None = None,
) -> None:
    """Do an operator's action on a prompt (see :data:`PROMPT_ACTIONS`); ``label`` names the label
    that the ``label`` action points at ``version`` (or removes, without a version).

    Raises:
        DecisionError: an unknown action, a missing version, or the action does not apply now.
        NotFoundError: no such prompt or version.
    """
    await prompts.refresh()
    if action not in PROMPT_ACTIONS:
        raise DecisionError(f"unknown prompt action {action!r}; use one of {', '.join(PROMPT_ACTIONS)}")
    if name not in prompts.names():
        raise NotFoundError(f"no prompt {name!r} (known: {', '.join(prompts.names()) or 'none'})")
    needs_version = action in ("promote", "canary.start", "shadow.start")
    if needs_version and version is None:
        raise DecisionError(f"{action} needs a version")
    if action in ("rollback", "canary.stop", "shadow.stop") and version is not None:
        raise DecisionError(f"{action} takes no version (it acts on what is running or on 'previous')")
    if action == "label":
        if label is None or not _LABEL.match(label) or label in MANAGED_LABELS:
            raise DecisionError(
                f"label {label!r}: use a lowercase name (a-z, 0-9, _ . -) other than "
                + ", ".join(sorted(MANAGED_LABELS))
            )
        if version is not None:
            prompts.version(name, version)
        await prompts.store.set_label(name, label, version, actor=actor, via=via, action="prompt.label")
        await prompts._changed(name, "label", label=label, version=version, actor=actor)
    elif action == "promote":
        assert version is not None
        await prompts.promote(name, version, actor=actor, via=via)
    elif action == "rollback":
        await prompts.rollback(name, actor=actor, via=via)
    else:
        kind, _, verb = action.partition(".")
        if verb == "start":
            assert version is not None
            await prompts.start(name, kind, version, actor=actor, via=via)
        else:
            await prompts.stop(name, kind, actor=actor, via=via)


def _cache_table(table: dict[str, Any], path: Path) -> dict[str, Any]:
    """Check a prompt file's ``[cache]`` table, naming the key at fault."""
    for key in ("exact", "semantic", "prompt_caching"):
        if key in table and not isinstance(table[key], bool):
            raise ConfigError(f"{path}: [cache]: {key} must be true or false")
    threshold = table.get("threshold")
    if threshold is not None and (not isinstance(threshold, (int, float)) or not 0 < threshold <= 1):
        raise ConfigError(f"{path}: [cache]: threshold must be a number in (0, 1]")
    if table.get("scope", "user") not in ("user", "session", "shared"):
        raise ConfigError(f"{path}: [cache]: scope must be user, session or shared")
    ttl = table.get("ttl_s")
    if ttl is not None and (not isinstance(ttl, (int, float)) or ttl <= 0):
        raise ConfigError(f"{path}: [cache]: ttl_s must be a positive number of seconds")
    return table
