"""How a task's steps are journaled and replayed: the step key tools use as an idempotency key,
the error a resumed task raises when its code no longer matches its journal, and how a step's
error is written to the journal and raised again on replay."""

from __future__ import annotations

import contextvars

from agentops.runtime import errors
from agentops.runtime.errors import AgentOpsError

__all__ = ["JournalMismatchError", "current_step_key", "error_from_json", "error_json", "step_key"]

step_key: contextvars.ContextVar[str] = contextvars.ContextVar("agentops_step_key", default="")
"""``<task id>:<step>`` while a tool runs (set by the tool step)."""


def current_step_key() -> str:
    """Inside a tool: ``<task id>:<step>``, identical on every run of that step (an idempotency key)."""
    return step_key.get()


class JournalMismatchError(AgentOpsError):
    """A resumed task's agent asked for a different step than the journal recorded."""


def error_json(exc: AgentOpsError) -> dict[str, str]:
    """A step's error as the journal keeps it."""
    return {"type": type(exc).__name__, "message": str(exc)}


def error_from_json(data: dict[str, str]) -> AgentOpsError:
    """A journaled error, raised again when the step replays (its own class where it can be rebuilt)."""
    cls = getattr(errors, data["type"], None)
    if isinstance(cls, type) and issubclass(cls, AgentOpsError):
        try:
            return cls(data["message"])
        except TypeError:  # errors with extra required arguments
            pass
    return AgentOpsError(f"{data['type']}: {data['message']}")
