"""Review: check a reply before it goes out, three checks at once, then a vote on sending it
(the parallelization pattern: sectioning and voting)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, Field

from agentops.runtime import Context, LLMResult
from agentops.runtime.registry import agent

__all__ = ["Check", "Reply", "Send", "review"]

CHECKS = {
    "tone": "Is this reply polite and calm?",
    "answers": "Does this reply answer what the customer asked?",
    "policy": "Does this reply avoid promising refunds, dates or discounts?",
}


class Reply(BaseModel):
    """A drafted reply to a ticket."""

    ticket: str = Field(min_length=1)
    reply: str = Field(min_length=1)


class Check(BaseModel):
    """One reviewer's finding."""

    ok: bool
    note: str


class Send(BaseModel):
    """A vote on sending the reply."""

    send: bool


@agent(max_steps=10)
async def review(ctx: Context, r: Reply) -> dict[str, Any]:
    """Run the three checks in parallel, then let three ballots vote on sending the reply."""
    text = f"Ticket: {r.ticket}\nReply: {r.reply}"

    def check(name: str, question: str) -> Callable[[Context], Awaitable[LLMResult[Check]]]:
        return lambda c: c.llm(f"{question}\n\n{text}", output=Check, name=name)

    checks = await ctx.parallel(*(check(name, q) for name, q in CHECKS.items()), name="checks")
    findings = {name: result.output.model_dump() for name, result in zip(CHECKS, checks, strict=True) if result.output}
    vote = await ctx.vote(
        f"Findings: {findings}\n\nSend this reply?\n\n{text}",
        n=3,
        output=Send,
        key=lambda b: b.output.send if b.output else None,
        quorum=0.6,
        escalate=True,
    )
    return {"send": bool(vote.value), "agreement": vote.agreement, "findings": findings}
