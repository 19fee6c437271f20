"""The one exception hierarchy of agentops.

Every error the runtime raises on purpose derives from :class:`AgentOpsError`::

    AgentOpsError
    ├── ConfigError                  bad config.toml / AGENTOPS_* value (file, key, reason)
    ├── ProviderError                one provider attempt failed
    │   ├── TransientProviderError   408, 429, 5xx, connection, timeout: retried
    │   └── PermanentProviderError   400, 401, 403, 404, 422: not retried
    │       └── ContextWindowError   prompt too long: falls back to a larger window
    ├── CircuitOpenError             the deployment's breaker refused the call
    ├── LLMCallError                 the whole call failed (every route exhausted)
    │   └── DeadlineExceededError    the call's overall deadline ran out
    ├── ValidationGateError          the reply never passed its schema/check
    ├── ToolError
    │   ├── ToolNotAllowedError      not on the agent's allowlist (deny by default)
    │   ├── ToolArgumentsError       arguments failed the tool's schema
    │   ├── ToolTimeoutError         the tool ran past its timeout
    │   └── ToolDeniedError          an operator denied the call (the reason is the message)
    ├── DecisionError                a decision was refused (unknown id, already decided, bad edit)
    │   ├── NotFoundError            no escalation or task with that id
    │   └── ConflictError            already decided
    ├── MaxStepsExceededError        a task ran more steps than its agent allows
    ├── QuorumError                  a vote below its quorum that an operator rejected
    ├── BudgetExceededError          a call would take a budget past its cap (scope, key, spend)
    ├── RateLimitedError             no rate-limit slot before the call's deadline
    ├── GuardBlockedError            a guard blocked a text (the guard and the reason)
    ├── RemoteError                  the control API refused a request or could not be reached
    ├── TaskInputError               a task's input failed its agent's input model
    └── UnknownAgentError            no agent registered under that name

A user-facing error says what was wrong, where, and how to fix it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError

__all__ = [
    "AgentOpsError",
    "BudgetExceededError",
    "CircuitOpenError",
    "ConfigError",
    "ConflictError",
    "ContextWindowError",
    "DeadlineExceededError",
    "DecisionError",
    "GuardBlockedError",
    "LLMCallError",
    "MaxStepsExceededError",
    "NotFoundError",
    "PermanentProviderError",
    "ProviderError",
    "QuorumError",
    "RateLimitedError",
    "RemoteError",
    "TaskInputError",
    "ToolArgumentsError",
    "ToolDeniedError",
    "ToolError",
    "ToolNotAllowedError",
    "ToolTimeoutError",
    "TransientProviderError",
    "UnknownAgentError",
    "ValidationGateError",
    "describe_validation",
]


class AgentOpsError(Exception):
    """Base class of every error agentops raises on purpose."""


class ConfigError(AgentOpsError):
    """The configuration is invalid; the message names the file, key and reason."""


class ProviderError(AgentOpsError):
    """One attempt against one deployment failed.

    Attributes:
        deployment: the deployment key (``provider/model@api_base``).
        status: the HTTP status, or None for connection errors and timeouts.
        retry_after: seconds the provider asked us to wait, if it said.
        raw: the transport's full error text (``str(exc)`` is the short form: status, kind
            and the provider's message once); shown in a trace's detail view.
    """

    def __init__(
        self,
        message: str,
        *,
        deployment: str = "",
        status: int | None = None,
        retry_after: float | None = None,
        raw: str = "",
    ) -> None:
        super().__init__(f"HTTP {status}: {message}" if status is not None else message)
        self.deployment = deployment
        self.status = status
        self.retry_after = retry_after
        self.raw = raw

    @property
    def kind(self) -> str:
        """A short label for traces: the status code or the error class."""
        return str(self.status) if self.status is not None else type(self).__name__


class TransientProviderError(ProviderError):
    """A failure worth retrying: 408, 429, 5xx, connection errors, timeouts."""


class PermanentProviderError(ProviderError):
    """A failure that retrying cannot fix: 400, 401, 403, 404, 422."""


class ContextWindowError(PermanentProviderError):
    """The prompt does not fit the model's context window."""


class CircuitOpenError(AgentOpsError):
    """The circuit breaker of a deployment is open (or its probes are all taken)."""

    def __init__(self, deployment: str, retry_in: float) -> None:
        super().__init__(f"circuit for {deployment} is open; next probe in {retry_in:.1f}s")
        self.deployment = deployment
        self.retry_in = retry_in


class LLMCallError(AgentOpsError):
    """Every deployment of the route failed; ``errors`` holds what each one said."""

    def __init__(self, message: str, errors: list[AgentOpsError] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class DeadlineExceededError(LLMCallError):
    """The call's overall deadline ran out before any deployment answered."""


class ValidationGateError(AgentOpsError):
    """The model's reply failed the step's schema or check after every repair attempt."""

    def __init__(self, message: str, attempts: int = 0, last_reply: str = "") -> None:
        super().__init__(message)
        self.attempts = attempts
        self.last_reply = last_reply


class ToolError(AgentOpsError):
    """Base class of tool call failures."""


class ToolNotAllowedError(ToolError):
    """The tool is not on the calling agent's allowlist."""


class ToolArgumentsError(ToolError):
    """The arguments did not validate against the tool's schema."""


class ToolTimeoutError(ToolError):
    """The tool did not finish within its timeout."""


class ToolDeniedError(ToolError):
    """An operator denied a tool call that required approval; the message holds their reason."""


class DecisionError(AgentOpsError):
    """An escalation decision was refused: unknown escalation, already decided, or invalid edit."""


class NotFoundError(DecisionError):
    """No escalation or task has that id (or the prefix is not unique)."""


class ConflictError(DecisionError):
    """The escalation was already decided; the first decision stands."""


class RemoteError(AgentOpsError):
    """A request to ``agentops serve`` failed: refused (``status`` is the HTTP status) or unreachable (None)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class MaxStepsExceededError(AgentOpsError):
    """The task took more steps than its agent's ``max_steps``."""


class QuorumError(AgentOpsError):
    """A vote (``ctx.vote``) below its quorum that an operator rejected."""


class BudgetExceededError(AgentOpsError):
    """A call would take a budget past its cap; the cap's action was ``block`` (or could not help)."""

    def __init__(
        self,
        message: str,
        *,
        scope: str = "",
        key: str = "",
        used: float = 0.0,
        cap: float = 0.0,
        estimate: float = 0.0,
        action: str = "block",
    ) -> None:
        super().__init__(message)
        self.scope, self.key, self.used, self.cap, self.estimate, self.action = scope, key, used, cap, estimate, action

    @property
    def unit(self) -> str:
        """``tokens`` for task and session budgets, ``USD`` for the daily ones."""
        return "tokens" if self.scope in ("task", "session") else "USD"


class RateLimitedError(AgentOpsError):
    """A rate limit had no slot for the call before its deadline."""

    def __init__(self, message: str, *, limit: str = "", wait_s: float = 0.0) -> None:
        super().__init__(message)
        self.limit, self.wait_s = limit, wait_s


class GuardBlockedError(AgentOpsError):
    """A guard blocked a text by its policy: ``guard`` names it, the message says why."""

    def __init__(
        self, message: str, *, guard: str = "", entities: tuple[str, ...] = (), score: float | None = None
    ) -> None:
        super().__init__(message)
        self.guard, self.entities, self.score = guard, entities, score


class UnknownAgentError(AgentOpsError):
    """No agent is registered under the requested name."""


class TaskInputError(AgentOpsError):
    """A task's input does not validate against its agent's input model."""


def describe_validation(exc: ValidationError, limit: int = 5) -> str:
    """A pydantic validation error as ``field.path: message; ...`` (at most ``limit`` problems)."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()[:limit])
