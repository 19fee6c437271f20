"""Polishing: write a reply, let a critic judge it, rewrite with its feedback until it passes
(the evaluator-optimizer pattern)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from agentops.runtime import Context, Critique
from agentops.runtime.registry import agent

__all__ = ["Brief", "Verdict", "polishing"]


class Brief(BaseModel):
    """What the reply is about."""

    ticket: str = Field(min_length=1)


class Verdict(BaseModel):
    """The critic's judgement of a draft."""

    passed: bool
    feedback: str


@agent(max_steps=8)
async def polishing(ctx: Context, brief: Brief) -> dict[str, Any]:
    """Draft a reply, then critique and redraft it, at most three rounds."""

    async def draft(c: Context, feedback: str | None) -> str:
        ask = f"Write a short, friendly reply to this ticket: {brief.ticket}"
        if feedback:
            ask += f"\n\nA reviewer said: {feedback}. Fix that."
        return (await c.llm(ask, name="draft")).text or ""

    async def critic(c: Context, text: str) -> Critique:
        judged = await c.llm(
            f"Ticket: {brief.ticket}\nReply: {text}\n\nIs the reply short, friendly and on point?",
            system="You review customer support replies. Be strict.",
            output=Verdict,
            name="critique",
        )
        assert judged.output is not None
        return Critique(judged.output.passed, judged.output.feedback)

    refined = await ctx.refine(draft, critic, max_rounds=3, name="polish")
    return {"reply": refined.draft, "passed": refined.passed, "rounds": refined.rounds}
