"""The prompt registry: versions and labels cached from the store, resolved for each step, moved
by operators.

At start every prompt file (:mod:`.files`) is registered as a version (:mod:`.versions`). Labels
(``production``, ``canary``, ``shadow``, ``latest``, ``previous``, any name) point at versions
and move without a restart. A prompt's first version becomes ``production``; later versions get
``latest`` and wait to be promoted. A step resolves production, or the canary for a unit in the
canary's bucket, or a label it asks for. Canaries and shadows are evaluated by :mod:`.canary`.
"""

from __future__ import annotations

import asyncio
import random
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentops.runtime.config import PromptSettings, Settings
from agentops.runtime.errors import NotFoundError
from agentops.runtime.events import EventBus
from agentops.runtime.logs import get_logger
from agentops.runtime.rollouts import canary
from agentops.runtime.rollouts.files import PromptFile
from agentops.runtime.rollouts.versions import (
    PromptVersion,
    Resolved,
    artifact_content,
    artifact_id,
    bucket,
    version_of,
)
from agentops.store import PromptStore, RolloutRecord, Store

if TYPE_CHECKING:
    from agentops.runtime.registry import Registry

__all__ = ["DEFAULT_CANARY", "DEFAULT_SHADOW", "PromptFile", "PromptRegistry", "PromptVersion", "Resolved", "bucket"]

log = get_logger("agentops.prompts")

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
        self.alerted: set[int] = set()
        """Shadows that have raised their alert (once each)."""
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
            content = artifact_content(pf, self.settings, self.registry)
            artifact = artifact_id(content)
            version, created = await self.store.register(pf.name, artifact, content)
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
                log.info("prompt version registered", prompt=pf.name, version=version, artifact_id=artifact)
            out.append((pf.name, version, created))
        await self.refresh()
        return out

    async def refresh(self) -> None:
        """Re-read labels, versions and rollouts from the store (changes made elsewhere)."""
        for rec in await self.store.versions():
            key = (rec.prompt, rec.version)
            if key not in self._versions:
                self._versions[key] = version_of(rec)
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

    async def changed(self, prompt: str, what: str, **data: Any) -> None:
        """Re-read the store and announce a change of a prompt's labels or rollouts."""
        await self.refresh()
        self.bus.publish("prompt.changed", prompt=prompt, change=what, **data)

    async def evaluate(self) -> None:
        """Advance, promote or roll back every active canary; alert on shadow regressions (:mod:`.canary`)."""
        await canary.evaluate(self)

    def running(self) -> list[RolloutRecord]:
        """The active canaries and shadows (as last read from the store)."""
        return list(self._rollouts)

    def versions_of(self, prompt: str) -> list[int]:
        """A prompt's version numbers, newest first."""
        return sorted((v for p, v in self._versions if p == prompt), reverse=True)

    def wants_shadow(self, rollout: RolloutRecord) -> bool:
        """Whether this request goes to the shadow too (its sample rate)."""
        return random.random() < float(rollout.config.get("sample", 1.0))
