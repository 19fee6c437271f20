"""Briefing: plan the sections of a briefing, have a drafting sub-task write each one, then
stitch them together (the orchestrator-workers pattern, through the durable queue)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from agentops.runtime import Context
from agentops.runtime.registry import agent

__all__ = ["Plan", "Topic", "briefing"]


class Topic(BaseModel):
    """What to brief about, and for whom."""

    topic: str = Field(min_length=1)
    audience: str = "account managers"


class Plan(BaseModel):
    """The sections to write."""

    sections: list[str] = Field(min_length=1, max_length=4)


@agent(max_steps=8)
async def briefing(ctx: Context, t: Topic) -> dict[str, Any]:
    """Plan up to four sections, spawn a ``drafting`` task for each, gather them, summarise."""
    plan = await ctx.llm(f"Plan a briefing on {t.topic} for {t.audience}.", output=Plan, name="plan")
    assert plan.output is not None
    workers = [
        await ctx.spawn("drafting", {"topic": f"{t.topic}: {section}", "audience": t.audience})
        for section in plan.output.sections
    ]
    parts = await ctx.gather(*workers)  # the task waits, holding no worker, until they are done
    written = [p.output["text"] for p in parts if p.ok and p.output]
    summary = await ctx.llm("Summarise this briefing in two sentences:\n\n" + "\n\n".join(written), name="summarise")
    return {"sections": plan.output.sections, "written": len(written), "summary": summary.text}
