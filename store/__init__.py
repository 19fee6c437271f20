"""agentops.store: persistence. Imports nothing of runtime or console."""

from agentops.store.migrate import available_migrations, migrate
from agentops.store.records import (
    CircuitEventRecord,
    CostRow,
    LedgerRecord,
    LLMCallRecord,
    SpanRecord,
    TaskRecord,
    ToolCallRecord,
)
from agentops.store.store import COST_DIMENSIONS, Store
from agentops.store.writer import Statement, Writer

__all__ = [
    "COST_DIMENSIONS",
    "CircuitEventRecord",
    "CostRow",
    "LLMCallRecord",
    "LedgerRecord",
    "SpanRecord",
    "Statement",
    "Store",
    "TaskRecord",
    "ToolCallRecord",
    "Writer",
    "available_migrations",
    "migrate",
]
