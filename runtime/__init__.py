"""agentops.runtime: the engine. Never imports textual or rich.

The public surface: settings, the runtime, registration decorators, the context
agents receive, the error hierarchy, the event bus and the simulator.
"""

from agentops.runtime.calls.circuit import CircuitBreaker, CircuitState, Transition
from agentops.runtime.calls.client import CallScope, LLMClient, LLMResponse, Route
from agentops.runtime.calls.pricing import Price, PriceBook, Usage
from agentops.runtime.calls.provider import Deployment, ToolCall
from agentops.runtime.calls.retry import RetryPolicy
from agentops.runtime.config import Settings, load_settings
from agentops.runtime.control.local import BudgetStatus, Control, LocalControl, RuntimeStatus, start_of_today
from agentops.runtime.engine import CircuitStatus, Runtime
from agentops.runtime.errors import (
    AgentOpsError,
    CircuitOpenError,
    ConfigError,
    ConflictError,
    ContextWindowError,
    DeadlineExceededError,
    DecisionError,
    GuardBlockedError,
    LLMCallError,
    MaxStepsExceededError,
    NotFoundError,
    PermanentProviderError,
    ProviderError,
    QuorumError,
    RemoteError,
    TaskInputError,
    ToolArgumentsError,
    ToolDeniedError,
    ToolError,
    ToolNotAllowedError,
    ToolTimeoutError,
    TransientProviderError,
    UnknownAgentError,
    ValidationGateError,
)
from agentops.runtime.events import Event, EventBus, Subscription
from agentops.runtime.registry import AgentSpec, Registry, ToolSpec, agent, default_registry, tool
from agentops.runtime.tasks import Critique, Refined, Subtask, SubtaskResult, Vote
from agentops.runtime.tasks.context import Context, LLMResult, current_step_key
from agentops.runtime.tasks.escalation import Decision
from agentops.runtime.tasks.pool import PoolStats, WorkerPool
from agentops.store import AuditRecord, CircuitEventRecord, CostRow, EscalationRecord, SpanRecord, TaskRecord

__all__ = [
    "AgentOpsError",
    "AgentSpec",
    "AuditRecord",
    "BudgetStatus",
    "CallScope",
    "CircuitBreaker",
    "CircuitEventRecord",
    "CircuitOpenError",
    "CircuitState",
    "CircuitStatus",
    "ConfigError",
    "ConflictError",
    "Context",
    "ContextWindowError",
    "Control",
    "CostRow",
    "Critique",
    "DeadlineExceededError",
    "Decision",
    "DecisionError",
    "Deployment",
    "EscalationRecord",
    "Event",
    "EventBus",
    "GuardBlockedError",
    "LLMCallError",
    "LLMClient",
    "LLMResponse",
    "LLMResult",
    "LocalControl",
    "MaxStepsExceededError",
    "NotFoundError",
    "PermanentProviderError",
    "PoolStats",
    "Price",
    "PriceBook",
    "ProviderError",
    "QuorumError",
    "Refined",
    "Registry",
    "RemoteError",
    "RetryPolicy",
    "Route",
    "Runtime",
    "RuntimeStatus",
    "Settings",
    "SpanRecord",
    "Subscription",
    "Subtask",
    "SubtaskResult",
    "TaskInputError",
    "TaskRecord",
    "ToolArgumentsError",
    "ToolCall",
    "ToolDeniedError",
    "ToolError",
    "ToolNotAllowedError",
    "ToolSpec",
    "ToolTimeoutError",
    "TransientProviderError",
    "Transition",
    "UnknownAgentError",
    "Usage",
    "ValidationGateError",
    "Vote",
    "WorkerPool",
    "agent",
    "current_step_key",
    "default_registry",
    "load_settings",
    "start_of_today",
    "tool",
]
