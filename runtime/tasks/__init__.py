"""Running tasks: the durable queue's workers, the context an agent is given, its journal, escalations.

Owns :class:`TaskRunner` (:mod:`.runner`: claim, run an agent with its journal replayed,
record the outcome fenced by the lease), :class:`WorkerPool` (:mod:`.pool`: workers,
heartbeats, expired leases, escalation deadlines), :class:`Context` (:mod:`.context`: what
``ctx.llm``, ``ctx.tool``, ``ctx.flag`` and ``ctx.escalate`` do, with the step helpers
:mod:`.llm_step`, :mod:`.tool_step` and :mod:`.asking`, :mod:`.journal` for replay, and the
patterns over steps: :mod:`.patterns` for ``ctx.parallel``, ``ctx.vote`` and ``ctx.refine``,
:mod:`.subtasks` for ``ctx.spawn`` and ``ctx.gather``) and the decisions of escalations
(:mod:`.escalation`). The queue's claims themselves are the store's (:mod:`agentops.store.queue`).

May import: calls, rollouts, the foundations and the store. Never control or the console.
"""

from agentops.runtime.tasks.context import Context, JournalMismatchError, LLMResult, TaskServices, current_step_key
from agentops.runtime.tasks.escalation import DECISIONS, Decision, TaskParked, validate_edit
from agentops.runtime.tasks.patterns import Critique, Refined, Vote
from agentops.runtime.tasks.pool import PoolStats, WorkerPool
from agentops.runtime.tasks.runner import TaskRunner
from agentops.runtime.tasks.subtasks import Subtask, SubtaskResult, WaitingForSubtasks

__all__ = [
    "DECISIONS",
    "Context",
    "Critique",
    "Decision",
    "JournalMismatchError",
    "LLMResult",
    "PoolStats",
    "Refined",
    "Subtask",
    "SubtaskResult",
    "TaskParked",
    "TaskRunner",
    "TaskServices",
    "Vote",
    "WaitingForSubtasks",
    "WorkerPool",
    "current_step_key",
    "validate_edit",
]
