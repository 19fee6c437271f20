"""Prompt versions: immutable, identified by an artifact id over everything that decides a reply.

The artifact id is the hash of the prompt file's content, the route's model config (a plain
route's chain; for a router, its rules and the chain of every route it can pick), the agent
module's source and the locked versions of litellm and agentops. The same content is always
the same version; a new artifact id becomes the next version.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import sys
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agentops.runtime.config import Settings
from agentops.runtime.errors import ConfigError
from agentops.runtime.rollouts.files import PromptFile, compile_template, import_output
from agentops.store import PromptVersionRecord, RolloutRecord

if TYPE_CHECKING:
    from jinja2 import Template

    from agentops.runtime.registry import Registry

__all__ = ["PromptVersion", "Resolved", "artifact_content", "artifact_id", "bucket", "version_of"]


def bucket(key: str) -> float:
    """A stable position in [0, 100) for ``key`` (sha256, so the same on every machine and run)."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:12], 16) % 1_000_000 / 10_000


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
        return import_output(ref, None) if ref else None

    def render(self, variables: dict[str, Any]) -> list[dict[str, Any]]:
        """The chat messages for these variables.

        Raises:
            ConfigError: a variable the template uses is missing (named).
        """
        from jinja2 import UndefinedError

        if self._template is None:
            self._template = compile_template(self.content["prompt"]["template"], self.prompt)
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


def version_of(rec: PromptVersionRecord) -> PromptVersion:
    return PromptVersion(rec.prompt, rec.version, rec.artifact_id, rec.content, rec.created_at)


def artifact_id(content: dict[str, Any]) -> str:
    """The artifact id of a version's content."""
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]


def artifact_content(pf: PromptFile, settings: Settings, registry: Registry) -> dict[str, Any]:
    """What the artifact id hashes: the prompt, the route's model config, the agent's code, the dependencies."""
    route = pf.content.get("route") or settings.runtime.default_route
    routers = settings.routers
    if route not in settings.routes and route not in routers:
        raise ConfigError(f"{pf.path}: route {route!r} is not defined under [routes] or [routers]")
    names = sorted(routers[route].routes()) if route in routers else [route]
    chains = {
        r: [
            {
                "deployment": d,
                "model": settings.deployments[d].model,
                "api_base": settings.deployments[d].api_base,
            }
            for d in settings.routes[r].chain
        ]
        for r in names
    }
    # A plain route's model config is its chain; a router's is its rules and the chain of every
    # route it can pick (under "chain" too: the layout artifact ids have always hashed, so the
    # ids of versions already stored stay what they were), so changing any of them is a new version.
    chain: Any = (
        {"router": routers[route].model_dump(mode="json"), "routes": chains} if route in routers else chains[route]
    )
    model = {"route": route, "chain": chain}
    code = ""
    agent_name = pf.content.get("agent")
    if agent_name:
        from agentops.runtime.registry import default_registry

        spec = registry.agents.get(agent_name) or default_registry.agents.get(agent_name)
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


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"
