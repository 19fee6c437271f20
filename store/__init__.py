"""agentops.store: persistence. Imports nothing of runtime or console."""

from agentops.store.alerts import AlertRecord, AlertStore, SilenceRecord
from agentops.store.batches import BatchJobRecord, BatchRequestRecord, BatchStore, BatchTotals, LineOutcome
from agentops.store.escalations import AlreadyDecidedError, EscalationStore, NoSuchEscalationError
from agentops.store.guards import AgentBaseline, GuardDecisionRecord, GuardStore
from agentops.store.journal import Journal
from agentops.store.migrate import available_migrations, migrate
from agentops.store.prompts import (
    FlagRow,
    PromptLabelRecord,
    PromptStore,
    PromptVersionRecord,
    RolloutRecord,
    ShadowSummary,
    VersionStats,
)
from agentops.store.queue import FINAL_STATUSES, TaskQueue
from agentops.store.records import (
    AuditRecord,
    CircuitEventRecord,
    CostRow,
    EscalationRecord,
    JournalEntry,
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
    "FINAL_STATUSES",
    "AgentBaseline",
    "AlertRecord",
    "AlertStore",
    "AlreadyDecidedError",
    "AuditRecord",
    "BatchJobRecord",
    "BatchRequestRecord",
    "BatchStore",
    "BatchTotals",
    "CircuitEventRecord",
    "CostRow",
    "EscalationRecord",
    "EscalationStore",
    "FlagRow",
    "GuardDecisionRecord",
    "GuardStore",
    "Journal",
    "JournalEntry",
    "LLMCallRecord",
    "LedgerRecord",
    "LineOutcome",
    "NoSuchEscalationError",
    "PromptLabelRecord",
    "PromptStore",
    "PromptVersionRecord",
    "RolloutRecord",
    "ShadowSummary",
    "SilenceRecord",
    "SpanRecord",
    "Statement",
    "Store",
    "TaskQueue",
    "TaskRecord",
    "ToolCallRecord",
    "VersionStats",
    "Writer",
    "available_migrations",
    "migrate",
]
