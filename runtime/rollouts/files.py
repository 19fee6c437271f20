"""Prompt files: ``prompts/NAME.toml``, parsed and checked, naming the file and the key at fault.

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

A file of yours replaces a built-in one of the same name (each agent module's ``prompts/``
folder loads first, then ``prompts.dir``).
"""

from __future__ import annotations

import importlib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agentops.runtime.errors import ConfigError

if TYPE_CHECKING:
    from jinja2 import Template

__all__ = ["PromptFile", "compile_template", "import_output"]

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
        compile_template(data["template"], path)
        if "output" in data:
            import_output(str(data["output"]), path)
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


def compile_template(source: str, where: object) -> Template:
    from jinja2 import StrictUndefined, TemplateSyntaxError
    from jinja2.sandbox import SandboxedEnvironment

    try:
        return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False).from_string(source)
    except TemplateSyntaxError as exc:
        raise ConfigError(f"{where}: template: {exc.message} (line {exc.lineno})") from None


def import_output(ref: str, where: object) -> type[BaseModel]:
    module, _, attr = ref.partition(":")
    try:
        obj = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError, ValueError):
        raise ConfigError(f"{where}: output: cannot import {ref!r} (write module:ClassName)") from None
    if not (isinstance(obj, type) and issubclass(obj, BaseModel)):
        raise ConfigError(f"{where}: output: {ref!r} is not a pydantic model")
    return obj
