"""``ctx.parallel``, ``ctx.vote`` and ``ctx.refine``: parallelization and evaluator-optimizer.

``parallel`` runs independent branches at once (at most ``limit`` together). Each branch is a
function given a context of its own, whose steps are numbered in a range the parallel step
reserves for it (``seq * BRANCH_SPACE + branch * BRANCH_STEPS``), so the journal is the same
whatever order the branches finish in, and a resumed task replays every branch that ran.
Every branch runs to its end even when another fails or parks; then the first failure (in
branch order) is raised. The parallel step is one span with a child span per branch, and
each branch's calls are budgeted and rate limited like any other.

``vote`` asks the same question ``n`` times with distinct seeds (a parallel of ``n`` LLM
steps) and returns the majority answer with its agreement; below ``quorum`` it can escalate
to an operator, who picks the answer (approve, or edit ``{"value": ...}``) or rejects it.

``refine`` alternates a generator and a critic until the critic passes the draft or the
rounds run out; every round is recorded on the refine step's span.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeVar, cast

from agentops.runtime.errors import QuorumError
from agentops.runtime.tasks.asking import ask
from agentops.runtime.tasks.llm_step import LLMResult

if TYPE_CHECKING:
    from agentops.runtime.tasks.context import Context

__all__ = [
    "BRANCH_SPACE",
    "BRANCH_STEPS",
    "Critique",
    "Patterns",
    "Refined",
    "Vote",
    "run_parallel",
    "run_refine",
    "run_vote",
]

T = TypeVar("T")

BRANCH_SPACE = 10_000
"""Step numbers a parallel step at step ``s`` reserves: ``s * BRANCH_SPACE`` and up."""
BRANCH_STEPS = 100
"""Steps one branch may take (its numbers: ``s * BRANCH_SPACE + i * BRANCH_STEPS + 1`` and on)."""
MAX_BRANCHES = BRANCH_SPACE // BRANCH_STEPS


@dataclass(frozen=True)
class Vote:
    """What ``ctx.vote`` returns."""

    value: Any
    """The majority answer (its key), or the one an operator chose."""
    agreement: float
    """The share of ballots that gave the majority answer."""
    counts: dict[str, int]
    """Ballots per answer (keys as text)."""
    ballots: list[LLMResult[Any]]
    winner: LLMResult[Any] | None
    """The first ballot that gave the majority answer (None when an operator chose another)."""
    quorum_met: bool
    decided_by: str | None = None
    """The operator who decided a vote below its quorum."""


@dataclass(frozen=True)
class Critique:
    """A critic's verdict on a draft."""

    passed: bool
    feedback: str = ""


@dataclass(frozen=True)
class Refined:
    """What ``ctx.refine`` returns."""

    draft: Any
    """The last draft (the one that passed, or the last round's)."""
    passed: bool
    rounds: int
    history: list[dict[str, Any]] = field(default_factory=list)
    """Each round: its number, whether it passed, the critic's feedback."""


async def run_parallel(
    ctx: Context,
    branches: Sequence[Callable[[Context], Awaitable[T]]],
    *,
    limit: int = 4,
    name: str = "parallel",
    summarise: Callable[[list[T]], dict[str, Any]] | None = None,
) -> list[T]:
    """The body of :meth:`Context.parallel <agentops.runtime.tasks.context.Context.parallel>`."""
    if not 1 <= len(branches) <= MAX_BRANCHES:
        raise ValueError(f"parallel takes 1 to {MAX_BRANCHES} branches, not {len(branches)}")
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    await ctx._next_step("parallel", name, counts=False)
    base = ctx.seq * BRANCH_SPACE
    tracer = ctx.services.tracer
    span = tracer.start(
        name,
        "parallel",
        trace_id=ctx.trace_id,
        parent_id=ctx.span.span_id,
        task_id=ctx.task_id,
        attrs={"agentops.branches": len(branches), "agentops.parallel.limit": limit, "agentops.step": ctx.seq},
    )
    gate = asyncio.Semaphore(limit)

    async def branch(i: int, fn: Callable[[Context], Awaitable[T]]) -> T:
        async with gate:
            own = tracer.start(
                f"branch {i + 1}", "branch", trace_id=ctx.trace_id, parent_id=span.span_id, task_id=ctx.task_id
            )
            fork = replace(ctx, span=own, seq=base + i * BRANCH_STEPS, flag_base=base + i * BRANCH_STEPS)
            try:
                result = await fn(fork)
            except BaseException as exc:
                tracer.end(own, "error", f"{type(exc).__name__}: {exc}")
                raise
            tracer.end(own, "ok")
            return result

    outcomes = await asyncio.gather(*(branch(i, fn) for i, fn in enumerate(branches)), return_exceptions=True)
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    if failures:
        first = next((f for f in failures if isinstance(f, asyncio.CancelledError)), failures[0])
        waiting = not isinstance(first, Exception)  # parked (an escalation, sub-tasks) or cancelled
        tracer.end(span, "ok" if waiting else "error", None if waiting else f"{type(first).__name__}: {first}")
        raise first
    results: list[T] = [o for o in outcomes if not isinstance(o, BaseException)]
    attrs = summarise(results) if summarise is not None else {}
    tracer.end(span, "ok", attrs=attrs)
    await ctx._record("parallel", name, "done", {"branches": len(branches), **attrs})
    return results


async def run_vote(
    ctx: Context,
    prompt: str | list[dict[str, Any]],
    vars: dict[str, Any] | None,
    *,
    n: int,
    key: Callable[[LLMResult[Any]], Any] | None,
    quorum: float,
    escalate: bool,
    limit: int | None,
    name: str | None,
    llm: dict[str, Any],
) -> Vote:
    """The body of :meth:`Context.vote <agentops.runtime.tasks.context.Context.vote>`."""
    if n < 1:
        raise ValueError(f"a vote needs at least one ballot, not {n}")
    step = name or (prompt if isinstance(prompt, str) and vars is not None else "vote")

    def ballot(i: int) -> Callable[[Context], Awaitable[LLMResult[Any]]]:
        async def cast(c: Context) -> LLMResult[Any]:
            return await c.llm(prompt, vars, name=f"{step} ballot {i + 1}", seed=i + 1, **llm)

        return cast

    def answer(r: LLMResult[Any]) -> Any:
        if key is not None:
            return key(r)
        return r.output.model_dump_json() if r.output is not None else (r.text or "").strip()

    def tally(ballots: list[LLMResult[Any]]) -> dict[str, Any]:
        counts = Counter(str(answer(b)) for b in ballots)
        top, votes = counts.most_common(1)[0]
        return {
            "agentops.vote.winner": top,
            "agentops.vote.agreement": votes / len(ballots),
            "agentops.vote.counts": dict(counts),
        }

    ballots = await run_parallel(
        ctx, [ballot(i) for i in range(n)], limit=limit or n, name=f"vote {step}", summarise=tally
    )
    answers = [answer(b) for b in ballots]
    counts = Counter(str(a) for a in answers)
    top, votes = counts.most_common(1)[0]
    winner = next(b for b, a in zip(ballots, answers, strict=True) if str(a) == top)
    agreement = votes / n
    value = answers[ballots.index(winner)]
    if agreement >= quorum or not escalate:
        return Vote(value, agreement, dict(counts), ballots, winner, agreement >= quorum)
    decision = await ask(
        ctx,
        "vote",
        f"vote on {step}: {votes} of {n} ballots agree, below the quorum of {quorum:.0%}; accept the majority?",
        context={"counts": dict(counts), "quorum": quorum},
        proposed={"value": value},
    )
    if not decision.approved:
        raise QuorumError(f"vote on {step} below its quorum ({votes}/{n}): {decision.comment or 'rejected'}")
    chosen = decision.args.get("value", value) if isinstance(decision.args, dict) else value
    return Vote(
        chosen,
        agreement,
        dict(counts),
        ballots,
        winner if str(chosen) == top else None,
        False,
        decision.decided_by,
    )


async def run_refine(
    ctx: Context,
    generate: Callable[[Context, str | None], Awaitable[Any]],
    critique: Callable[[Context, Any], Awaitable[Critique]],
    *,
    max_rounds: int,
    name: str,
) -> Refined:
    """The body of :meth:`Context.refine <agentops.runtime.tasks.context.Context.refine>`."""
    if max_rounds < 1:
        raise ValueError(f"max_rounds must be at least 1, not {max_rounds}")
    await ctx._next_step("refine", name, counts=False)
    own_step = ctx.seq
    tracer = ctx.services.tracer
    span = tracer.start(
        name,
        "refine",
        trace_id=ctx.trace_id,
        parent_id=ctx.span.span_id,
        task_id=ctx.task_id,
        attrs={"agentops.step": ctx.seq},
    )
    outer, ctx.span = ctx.span, span  # the rounds' calls hang from the refine span
    history: list[dict[str, Any]] = []
    try:
        draft = await generate(ctx, None)
        passed = False
        for round_no in range(1, max_rounds + 1):
            verdict = await critique(ctx, draft)
            history.append({"round": round_no, "passed": verdict.passed, "feedback": verdict.feedback})
            span.attributes["agentops.refine.rounds"] = history
            if verdict.passed:
                passed = True
                break
            if round_no < max_rounds:
                draft = await generate(ctx, verdict.feedback)
    except BaseException as exc:
        tracer.end(span, "ok" if not isinstance(exc, Exception) else "error", f"{type(exc).__name__}: {exc}")
        raise
    finally:
        ctx.span = outer
    tracer.end(span, "ok", attrs={"agentops.refine.passed": passed, "agentops.refine.rounds": history})
    await ctx.services.journal.record(
        ctx.task_id, own_step, "refine", name, "done", {"passed": passed, "history": history}
    )
    return Refined(draft, passed, len(history), history)


def _ctx(mixin: object) -> Context:
    return cast("Context", mixin)


class Patterns:
    """``ctx.parallel``, ``ctx.vote`` and ``ctx.refine`` (a part of :class:`Context
    <agentops.runtime.tasks.context.Context>`)."""

    async def parallel(
        self,
        *branches: Callable[[Context], Awaitable[T]],
        limit: int = 4,
        name: str = "parallel",
    ) -> list[T]:
        """Run independent branches at once (at most ``limit`` together); their results in order.

        Each branch is given a context of its own (use it for its steps:
        ``lambda c: c.llm(...)``, ``lambda c: c.tool(...)``); its steps are journaled in a
        range of their own, so a resumed task replays every branch whatever order they
        finished in. All branches run to their end; then the first failure is raised.

        Raises:
            ValueError: no branches, more than 100, or a limit below 1.
        """
        return await run_parallel(_ctx(self), branches, limit=limit, name=name)

    async def vote(
        self,
        prompt: str | list[dict[str, Any]],
        vars: dict[str, Any] | None = None,
        *,
        n: int = 5,
        key: Callable[[LLMResult[Any]], Any] | None = None,
        quorum: float = 0.5,
        escalate: bool = False,
        limit: int | None = None,
        name: str | None = None,
        **llm: Any,
    ) -> Vote:
        """Ask the same question ``n`` times (seeds 1..n, at once) and take the majority answer.

        Args:
            prompt, vars: as for :meth:`llm` (a prompt name and its variables, or a message).
            n: ballots.
            key: what a ballot's answer is (default: its validated output, else its text).
            quorum: the agreement (share of ballots) the answer needs.
            escalate: below the quorum, ask an operator (approve the majority, edit
                ``{"value": ...}``, or deny: :class:`~agentops.runtime.errors.QuorumError`).
            limit: ballots at once (default all).
            **llm: the rest of :meth:`llm`'s arguments (``output``, ``check``, ``temperature``, ...).

        Returns:
            The majority answer, its agreement, the counts and every ballot.
        """
        return await run_vote(
            _ctx(self), prompt, vars, n=n, key=key, quorum=quorum, escalate=escalate, limit=limit, name=name, llm=llm
        )

    async def refine(
        self,
        generate: Callable[[Context, str | None], Awaitable[Any]],
        critique: Callable[[Context, Any], Awaitable[Critique]],
        *,
        max_rounds: int = 3,
        name: str = "refine",
    ) -> Refined:
        """Evaluator-optimizer: ``generate(ctx, feedback)`` a draft, ``critique(ctx, draft)`` it, and
        generate again with the critic's feedback until a :class:`~.patterns.Critique` passes or
        ``max_rounds`` critiques have been made. Every round is on the refine step's span."""
        return await run_refine(_ctx(self), generate, critique, max_rounds=max_rounds, name=name)
