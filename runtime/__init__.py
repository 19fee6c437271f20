"""agentops.runtime: the engine. Never imports textual or rich.

The public surface: settings, the runtime, registration decorators, the context
agents receive, the error hierarchy, the event bus and the simulator.
"""

from agentops.runtime.circuit import CircuitBreaker, CircuitState, Transition
from agentops.runtime.config import Settings, load_settings
from agentops.runtime.context import Context, LLMResult, current_step_key
from agentops.runtime.control import BudgetStatus, Control, LocalControl, RuntimeStatus, start_of_today
from agentops.runtime.errors import (
    AgentOpsError,
    CircuitOpenError,
    ConfigError,
    ConflictError,
    ContextWindowError,
    DeadlineExceededError,
    DecisionError,
    LLMCallError,
    MaxStepsExceededError,
    NotFoundError,
    PermanentProviderError,
    ProviderError,
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
from agentops.runtime.escalation import Decision
from agentops.runtime.events import Event, EventBus, Subscription
from agentops.runtime.llm import CallScope, LLMClient, LLMResponse, Route
from agentops.runtime.pool import PoolStats, WorkerPool
from agentops.runtime.pricing import Price, PriceBook, Usage
from agentops.runtime.provider import Deployment, ToolCall
from agentops.runtime.registry import AgentSpec, Registry, ToolSpec, agent, default_registry, tool
from agentops.runtime.retry import RetryPolicy
from agentops.runtime.runtime import CircuitStatus, Runtime
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
    "DeadlineExceededError",
    "Decision",
    "DecisionError",
    "Deployment",
    "EscalationRecord",
    "Event",
    "EventBus",
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
    "Registry",
    "RemoteError",
    "RetryPolicy",
    "Route",
    "Runtime",
    "RuntimeStatus",
    "Settings",
    "SpanRecord",
    "Subscription",
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
    "WorkerPool",
    "agent",
    "current_step_key",
    "default_registry",
    "load_settings",
    "start_of_today",
    "tool",
]
