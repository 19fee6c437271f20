"""Loading the configuration: config.toml, then ``AGENTOPS_*`` environment variables.

A bad value fails at start with a :class:`~agentops.runtime.errors.ConfigError` that names
the file, the key, the reason and where the key was set (the file or a variable).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agentops.runtime.config.settings import Settings
from agentops.runtime.errors import ConfigError

__all__ = ["default_config_path", "load_settings"]


def default_config_path() -> Path:
    """The config file used when none is named: ``$AGENTOPS_CONFIG`` or ./config.toml."""
    return Path(os.environ.get("AGENTOPS_CONFIG", "config.toml"))


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Load settings from a TOML file (if it exists) and the environment.

    Args:
        path: the file; defaults to :func:`default_config_path`. A missing default
            file means built-in defaults; a missing file that was named is an error.
        **overrides: top-level sections replacing the file's (used by tests and the demo).

    Raises:
        ConfigError: naming the file, the key and the reason.
    """
    named = path is not None
    path = path if path is not None else default_config_path()
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    elif named or "AGENTOPS_CONFIG" in os.environ:
        raise ConfigError(f"{path}: config file not found")
    in_file = dict(data)
    data.update(overrides)
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_describe(path if path.exists() else None, exc, in_file)) from None


def _describe(path: Path | None, exc: ValidationError, in_file: dict[str, Any] | None = None) -> str:
    where = str(path) if path else "configuration"
    lines = [f"{where}: invalid configuration ({exc.error_count()} problem(s))"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        got = ""
        if err["type"] != "missing" and not isinstance(err["input"], dict):
            shown = repr(err["input"])
            got = f" (got {shown[:60] + '...' if len(shown) > 60 else shown})"
        lines.append(f"  {key}: {msg}{got}  [{_origin(err['loc'], where, in_file or {})}]")
    return "\n".join(lines)


def _origin(loc: tuple[int | str, ...], where: str, in_file: dict[str, Any]) -> str:
    """Where a bad key was set: an environment variable (the key's own, or its section's as
    JSON), the file, or either."""
    env = "AGENTOPS_" + "__".join(str(p) for p in loc).upper()
    names = {k.upper(): k for k in os.environ}
    for n in range(len(loc), 0, -1):
        var = "AGENTOPS_" + "__".join(str(p) for p in loc[:n]).upper()
        if var in names:
            return f"from the environment: {names[var]}"
    node: Any = in_file
    for part in loc:
        if not isinstance(node, dict) or part not in node:
            break
        node = node[part]
    else:
        if loc and where != "configuration":
            return f"in {where}; {env} would override it"
    return f"set in {where} or {env}"
