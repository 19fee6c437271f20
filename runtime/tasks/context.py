"""``ctx``: what an agent's code is given to call models and tools, read flags, and ask a human.

Every ``ctx.llm``, ``ctx.tool`` and ``ctx.escalate`` is a step with a sequence number.
Its result is journaled under (task id, step) before the agent continues; when a task
runs again (after a crash or an approval) each journaled step returns its recorded
result instead of running. A tool's result is journaled after it runs, so a process
killed in between re-runs that one tool call: tools with side effects should make
them idempotent with :func:`current_step_key`, which is the same on every run. A flag's
value is journaled too, beside the steps (it takes no step number).

The steps themselves are in :mod:`.llm_step`, :mod:`.tool_step` and :mod:`.asking`; the
patterns over them (parallel branches, votes, refinement) in :mod:`.patterns`, sub-tasks
through the queue in :mod:`.subtasks`.

A task that takes more LLM/tool steps than its agent's ``max_steps`` stops with
:class:`~agentops.runtime.errors.MaxStepsExceededError` (or escalates, if the agent
says ``escalate_on_max_steps``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from pydantic import BaseModel

from agentops.runtime import errors
from agentops.runtime.calls import Budgets, CallScope, Check, LLMClient, LLMResponse, ModelRouter
from agentops.runtime.config import BatchSettings, FlagValue
from agentops.runtime.errors import BudgetExceededError
from agentops.runtime.guards import Guards
from agentops.runtime.logs import get_logger
from agentops.runtime.registry import AgentSpec, Registry
from agentops.runtime.rollouts import Flags, PromptRegistry
from agentops.runtime.tasks.asking import BUDGET_STEP, ask, ask_for_steps
from agentops.runtime.tasks.escalation import Decision
from agentops.runtime.tasks.journal import JournalMismatchError, current_step_key
from agentops.runtime.tasks.llm_step import LLMResult, run_llm
from agentops.runtime.tasks.patterns import Patterns
from agentops.runtime.tasks.screening import GUARD_STEP, blocked_by_operator
from agentops.runtime.tasks.subtasks import Subtasks
from agentops.runtime.tasks.tool_step import run_tool
from agentops.runtime.tasks.watching import watch
from agentops.runtime.tracing import Span, Tracer
from agentops.store import BatchStore, EscalationStore, Journal, JournalEntry, Store, TaskRecord

__all__ = ["Context", "JournalMismatchError", "LLMResult", "TaskServices", "current_step_key"]

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

_BEFORE_LLM = {("escalation", BUDGET_STEP), ("escalation", GUARD_STEP)}


@dataclass
class Totals:
    """What a task has used so far: steps, tokens, cost, and the prompt versions it ran."""

    steps: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0
    prompts: list[str] = field(default_factory=list)
    """``name@vN`` of each prompt version the agent ran, in the order of first use."""

    def ran(self, prompt: str | None) -> None:
        """Note that a prompt version ran (once each)."""
        if prompt and prompt not in self.prompts:
            self.prompts.append(prompt)

    def add(self, r: LLMResponse) -> None:
        """Count a call's tokens and cost."""
        self.calls += 1
        self.input_tokens += r.usage.input_tokens
        self.output_tokens += r.usage.output_tokens
        self.cached_tokens += r.usage.cached_tokens
        self.cost_usd += r.cost_usd


@dataclass
class TaskServices:
    """What a task's context needs from the runtime."""

    client: Callable[[], Awaitable[LLMClient]]
    tracer: Tracer
    store: Store
    registry: Registry
    journal: Journal
    escalations: EscalationStore
    max_repairs: int
    tool_timeout_s: float
    default_route: str
    prompts: PromptRegistry | None = None
    flags: Flags | None = None
    budgets: Budgets | None = None
    router: ModelRouter | None = None
    submit: Callable[..., Awaitable[tuple[TaskRecord, bool]]] | None = None
    """Queue a sub-task (``ctx.spawn``): the task runner's submit."""
    guards: Guards | None = None
    """The input guard (:mod:`.screening`) and the output filter on tool results."""
    batches: BatchStore | None = None
    """Batch requests (``ctx.llm(..., batch=True)``); None: every step calls at once."""
    batch: BatchSettings | None = None


@dataclass
class Context(Patterns, Subtasks):
    """The handle an agent uses for one task: its steps here, the patterns over them in
    :class:`~.patterns.Patterns` and :class:`~.subtasks.Subtasks`."""

    task_id: str
    trace_id: str
    spec: AgentSpec
    user_id: str | None
    session_id: str | None
    span: Span
    max_steps: int
    services: TaskServices
    replay: dict[int, JournalEntry] = field(default_factory=dict)
    totals: Totals = field(default_factory=Totals)
    seq: int = 0
    flag_reads: int = 0
    """Flags read so far (journaled beside the steps, under -(flag_base + 1), -(flag_base + 2), ...)."""
    flag_base: int = 0
    """Where this context's flag reads are numbered from (a parallel branch has its own range)."""
    untrusted: list[tuple[str, str]] = field(default_factory=list)
    """``(source, text)`` of the tool results and documents received: fenced where a prompt quotes them."""
    screen_allowed: bool = False
    """An operator allowed the next LLM step's call past the input guard."""
    departures: set[str] = field(default_factory=set)
    """Kinds of departure from the agent's baseline already reported (:mod:`.watching`)."""
    batch: bool = False
    """The task was submitted to run by batch: its LLM steps go by the provider's batch API."""

    @property
    def log(self) -> Any:
        """A structlog logger bound to this task."""
        return get_logger("agentops.agent", task_id=self.task_id, trace_id=self.trace_id)

    # -- the steps an agent takes -------------------------------------------------------------

    @overload
    async def llm(
        self,
        prompt: str | list[dict[str, Any]],
        vars: dict[str, Any] | None = ...,
        *,
        output: type[M],
        system: str | None = ...,
        check: Check | None = ...,
        tools: Sequence[str] = ...,
        route: str | None = ...,
        name: str | None = ...,
        label: str | None = ...,
        batch: bool | None = ...,
        **params: Any,
    ) -> LLMResult[M]: ...

    @overload
    async def llm(
        self,
        prompt: str | list[dict[str, Any]],
        vars: dict[str, Any] | None = ...,
        *,
        output: None = ...,
        system: str | None = ...,
        check: Check | None = ...,
        tools: Sequence[str] = ...,
        route: str | None = ...,
        name: str | None = ...,
        label: str | None = ...,
        batch: bool | None = ...,
        **params: Any,
    ) -> LLMResult[Any]: ...

    async def llm(
        self,
        prompt: str | list[dict[str, Any]],
        vars: dict[str, Any] | None = None,
        *,
        output: type[M] | None = None,
        system: str | None = None,
        check: Check | None = None,
        tools: Sequence[str] = (),
        route: str | None = None,
        name: str | None = None,
        label: str | None = None,
        batch: bool | None = None,
        **params: Any,
    ) -> LLMResult[Any]:
        """Call a model along a route (one step).

        ``ctx.llm("triage.classify", {"text": ...})``: with ``vars``, ``prompt`` names a prompt
        file; the version is resolved for this task (production, or the canary for a unit in
        its bucket, or ``label``), rendered with ``vars``, and called with the version's route,
        parameters, tools and output schema (arguments given here override them). The span,
        the call and the ledger record the prompt's name, version and artifact id; an active
        shadow of the prompt receives a copy of the request afterwards.

        Args:
            prompt: the user message, a full list of chat messages, or (with ``vars``) a prompt name.
            vars: the prompt's template variables.
            output: a pydantic model the reply must parse into (the validation gate).
            system: a system message put first.
            check: a further check of the parsed output (see :mod:`agentops.runtime.calls.gate`).
            tools: names of tools to offer the model; each must be on the agent's allowlist.
            route: the fallback chain; defaults to the agent's, then ``runtime.default_route``.
            name: the step's name in traces (defaults to ``llm``, or the prompt's name).
            label: with a prompt name: use the version this label points at (e.g. from a flag).
            batch: go by the provider's batch API (half price; the task waits, holding no worker,
                until the job answers: minutes to hours). None: as the task was submitted
                (``--batch``) or its agent is listed in ``[batch] agents``.
            **params: passed to the provider (``temperature``, ``max_tokens``, ...).

        Raises:
            ValidationGateError: the reply never passed ``output``/``check``.
            LLMCallError: every deployment of the route failed.
        """
        return await run_llm(
            self,
            prompt,
            vars,
            output=output,
            system=system,
            check=check,
            tools=tools,
            route=route,
            name=name,
            label=label,
            batch=batch,
            params=params,
        )

    async def tool(self, name: str, **arguments: Any) -> Any:
        """Run an allowlisted tool (one step) with validated arguments and a timeout.

        A tool registered with ``requires_approval`` first escalates with the proposed
        arguments; an edit replaces them (validated against the tool's schema).

        Raises:
            ToolNotAllowedError: not on the agent's allowlist.
            ToolArgumentsError: the arguments fail the tool's schema.
            ToolTimeoutError: it ran past its timeout.
            ToolDeniedError: an operator denied it (the message is their reason).
        """
        return await run_tool(self, name, arguments)

    def document(self, text: str, source: str = "document") -> str:
        """Mark a text from outside (a retrieved document, a web page) as untrusted and return it.

        Where a prompt quotes it, it is fenced as data, and it is screened for prompt
        injection before the call like a tool's result.
        """
        self.untrusted.append((source, text))
        return text

    async def escalate(
        self,
        reason: str,
        *,
        context: Any = None,
        proposed: Any = None,
        timeout: float | None = None,
        default: str = "deny",
        tool: str | None = None,
    ) -> Decision:
        """Ask an operator to decide; the task parks (holding no worker) until someone does.

        Args:
            reason: what the operator is asked, in one line.
            context: anything that helps them decide (shown with the escalation).
            proposed: the proposed action or arguments.
            timeout: seconds until ``default`` applies by itself (None: wait for ever).
            default: ``approve`` or ``deny``, applied at the deadline.
            tool: the tool the proposal is for (edits are validated against its schema).

        Returns:
            The decision: ``approve``, ``deny`` (``comment`` is the reason) or ``edit``.
        """
        step = tool or "escalate"
        return await ask(
            self, step, reason, context=context, proposed=proposed, timeout=timeout, default=default, tool=tool
        )

    async def flag(self, name: str, default: FlagValue | None = None) -> FlagValue:
        """A feature flag's value for this task (its user, or the task), recorded on the task's span.

        The value is journaled: a task that resumes sees the value its first run saw. A flag
        read takes no step number, so adding one to an agent leaves the journals of tasks
        already in flight valid.

        Args:
            name: the flag (``[flags.NAME]`` in config.toml).
            default: the value when the configuration defines no such flag (reason
                ``undefined``), so that code shipped with a flag runs where it is not configured;
                without it, an undefined flag is an error.

        Raises:
            NotFoundError: no such flag in config.toml, and no ``default``.
        """
        earlier = self.replay.get(self.seq + 1)
        if earlier is not None and (earlier.kind, earlier.name) == ("flag", name):
            self.seq += 1  # journaled by a version that numbered flag reads as steps
            return self._flag_value(earlier)
        self.flag_reads += 1
        key = -(self.flag_base + self.flag_reads)
        entry = self.replay.get(key)
        if entry is not None and (entry.kind, entry.name) == ("flag", name):
            return self._flag_value(entry)
        flags = self.services.flags
        if flags is None:
            raise errors.ConfigError("flags are not loaded in this runtime")
        if default is not None and name not in flags.defs:
            value, reason = default, "undefined"
        else:
            evaluation = flags.evaluate(name, agent=self.spec.name, user_id=self.user_id, task_id=self.task_id)
            value, reason = evaluation.value, evaluation.reason
        self.span.attributes[f"agentops.flag.{name}"] = {"value": value, "reason": reason}
        await self.services.journal.record(self.task_id, key, "flag", name, "done", {"value": value, "reason": reason})
        return value

    def _flag_value(self, entry: JournalEntry) -> FlagValue:
        value: FlagValue = entry.result["value"]
        self.span.attributes[f"agentops.flag.{entry.name}"] = {"value": value, "reason": entry.result.get("reason")}
        return value

    # -- steps and the journal ----------------------------------------------------------------

    async def _next_step(self, kind: str, name: str, counts: bool = True) -> JournalEntry | None:
        """Advance to the next step; return its journal entry if it ran before."""
        if counts and self.totals.steps >= self.max_steps:
            await ask_for_steps(self, f"{kind} {name}")
        if kind in ("llm", "tool"):
            await watch(self, kind, name)
        self.seq += 1
        if counts:
            self.totals.steps += 1
        if kind == "llm":  # escalations journaled before this step: budget raises, guard allowances
            while (e := self.replay.get(self.seq)) is not None and (e.kind, e.name) in _BEFORE_LLM:
                decision = Decision.from_json(e.result)
                if not decision.approved and e.name == BUDGET_STEP:
                    raise BudgetExceededError(f"an operator declined to raise the budget's cap: {decision.comment}")
                if not decision.approved:
                    raise blocked_by_operator(None, decision.comment)
                self.screen_allowed = e.name == GUARD_STEP
                self.seq += 1
        entry = self.replay.get(self.seq)
        if entry is not None and (entry.kind, entry.name) != (kind, name):
            raise JournalMismatchError(
                f"task {self.task_id} step {self.seq}: the journal recorded {entry.kind} {entry.name!r} but the "
                f"agent now asks for {kind} {name!r}; the agent's code changed while the task was in flight"
            )
        return entry

    async def _record(self, kind: str, name: str, status: str, result: Any) -> None:
        await self.services.journal.record(self.task_id, self.seq, kind, name, status, result)

    def _scope(self, parent: str) -> CallScope:
        return CallScope(self.trace_id, parent, self.task_id, self.spec.name, self.user_id, self.session_id)
