"""Agents and tools, registered by name.

An agent is an async function ``(ctx, input) -> output``; its input is validated
against the pydantic model it is annotated with. A tool is an async function taking
one pydantic model of arguments. An agent may call only the tools on its allowlist:
the default is none (deny by default).

    @tool(timeout_s=5)
    async def lookup_order(args: LookupOrder) -> dict: ...

    @agent(tools=["lookup_order"], max_steps=6)
    async def support(ctx: Context, ticket: Ticket) -> Reply: ...
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar, get_type_hints

from pydantic import BaseModel

from agentops.runtime.errors import ConfigError, UnknownAgentError

__all__ = ["AgentSpec", "Registry", "ToolSpec", "agent", "default_registry", "tool"]

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


@dataclass(frozen=True)
class ToolSpec:
    """A registered tool."""

    name: str
    fn: Callable[[Any], Awaitable[Any]]
    args_model: type[BaseModel]
    description: str
    timeout_s: float | None = None
    requires_approval: bool = False
    """Escalate to an operator, with the proposed arguments, before every call."""

    def schema(self) -> dict[str, Any]:
        """The tool as an OpenAI ``tools`` entry."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.args_model.model_json_schema(),
            },
        }


@dataclass(frozen=True)
class AgentSpec:
    """A registered agent."""

    name: str
    fn: Callable[..., Awaitable[Any]]
    input_model: type[BaseModel] | None
    tools: frozenset[str] = frozenset()
    max_steps: int | None = None
    route: str | None = None
    description: str = ""
    escalate_on_max_steps: bool = False
    """At ``max_steps``, ask an operator for more steps instead of failing."""


@dataclass
class Registry:
    """Agents and tools by name."""

    agents: dict[str, AgentSpec] = field(default_factory=dict)
    tools: dict[str, ToolSpec] = field(default_factory=dict)

    def add_agent(self, spec: AgentSpec) -> None:
        """Register (or replace) an agent."""
        self.agents[spec.name] = spec

    def add_tool(self, spec: ToolSpec) -> None:
        """Register (or replace) a tool."""
        self.tools[spec.name] = spec

    def get_agent(self, name: str) -> AgentSpec:
        """The agent called ``name``.

        Raises:
            UnknownAgentError: naming the agents that do exist.
        """
        try:
            return self.agents[name]
        except KeyError:
            known = ", ".join(sorted(self.agents)) or "none registered"
            raise UnknownAgentError(f"no agent named {name!r} (known: {known})") from None

    def check(self) -> None:
        """Every agent's allowlist names registered tools.

        Raises:
            ValueError: an allowlist names a tool nobody registered.
        """
        for spec in self.agents.values():
            missing = sorted(spec.tools - self.tools.keys())
            if missing:
                raise ValueError(f"agent {spec.name!r} allows unknown tool(s): {', '.join(missing)}")


default_registry = Registry()
"""Where the :func:`agent` and :func:`tool` decorators register by default."""


def import_agent_modules(modules: Iterable[str]) -> None:
    """Import the modules whose decorators register agents and tools (``runtime.agent_modules``).

    Raises:
        ConfigError: naming the module that cannot be imported.
    """
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ConfigError(f"runtime.agent_modules: cannot import {module!r}: {exc}") from None


def _first_model(fn: Callable[..., Any], position: int) -> type[BaseModel] | None:
    params = list(inspect.signature(fn).parameters)
    if len(params) <= position:
        return None
    hint = get_type_hints(fn).get(params[position])
    return hint if isinstance(hint, type) and issubclass(hint, BaseModel) else None


def tool(
    name: str | None = None,
    *,
    timeout_s: float | None = None,
    requires_approval: bool = False,
    registry: Registry | None = None,
) -> Callable[[F], F]:
    """Register an async function of one pydantic argument model as a tool.

    Args:
        name: defaults to the function's name.
        timeout_s: per-call timeout (default ``runtime.tool_timeout_s``).
        requires_approval: every call waits for an operator's approval first.
    """

    def wrap(fn: F) -> F:
        model = _first_model(fn, 0)
        if model is None:
            raise TypeError(f"tool {fn.__name__}: annotate its one parameter with a pydantic model")
        spec = ToolSpec(name or fn.__name__, fn, model, inspect.getdoc(fn) or "", timeout_s, requires_approval)
        (registry or default_registry).add_tool(spec)
        return fn

    return wrap


def agent(
    name: str | None = None,
    *,
    tools: Iterable[str] = (),
    max_steps: int | None = None,
    route: str | None = None,
    escalate_on_max_steps: bool = False,
    registry: Registry | None = None,
) -> Callable[[F], F]:
    """Register an async ``(ctx, input)`` function as an agent.

    Args:
        name: defaults to the function's name.
        tools: the allowlist; nothing else is callable.
        max_steps: overrides ``runtime.max_steps``.
        route: the default route of its LLM calls.
        escalate_on_max_steps: at ``max_steps``, ask an operator for more steps.
    """

    def wrap(fn: F) -> F:
        spec = AgentSpec(
            name or fn.__name__,
            fn,
            _first_model(fn, 1),
            frozenset(tools),
            max_steps,
            route,
            (inspect.getdoc(fn) or "").split("\n", 1)[0],
            escalate_on_max_steps,
        )
        (registry or default_registry).add_agent(spec)
        return fn

    return wrap
