"""Drafting: outline -> draft -> polish, with a validation gate between steps."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from agentops.runtime import Context
from agentops.runtime.registry import agent

__all__ = ["Brief", "Draft", "Outline", "drafting"]


class Brief(BaseModel):
    """What to write."""

    topic: str = Field(min_length=1)
    audience: str = "customers"


class Outline(BaseModel):
    """Step 1: the plan."""

    title: str
    points: list[str]


class Draft(BaseModel):
    """Step 2: the text."""

    title: str
    body: str


def outline_is_usable(outline: Outline) -> str | None:
    """Between one and six non-empty points, and a title."""
    if not outline.title.strip():
        return "the title is empty"
    if not 1 <= len(outline.points) <= 6:
        return f"an outline needs 1 to 6 points, not {len(outline.points)}"
    if any(not p.strip() for p in outline.points):
        return "every point needs text"
    return None


def draft_is_usable(draft: Draft) -> str | None:
    """A body with some words in it."""
    return None if len(draft.body.split()) >= 2 else "the body needs at least two words"


@agent(max_steps=5)
async def drafting(ctx: Context, brief: Brief) -> dict[str, Any]:
    """Write a short announcement for an audience, one checked step at a time."""
    outline = (
        await ctx.llm(
            f"Outline a short announcement about {brief.topic} for {brief.audience}.",
            system="You plan short texts. Reply with JSON: a title and 1-6 points.",
            output=Outline,
            check=outline_is_usable,
            name="outline",
            temperature=0,
        )
    ).output
    assert outline is not None
    draft = (
        await ctx.llm(
            f"Write the announcement '{outline.title}' covering: " + "; ".join(outline.points),
            system="You write clear, friendly announcements. Reply with JSON: title and body.",
            output=Draft,
            check=draft_is_usable,
            name="draft",
            temperature=0,
        )
    ).output
    assert draft is not None
    if not await ctx.flag("polish_drafts", default=True):  # rolled out to a share of users
        return {"title": draft.title, "outline": outline.points, "text": draft.body}
    polished = await ctx.llm(
        f"Polish this for {brief.audience}, keeping it short:\n\n{draft.body}",
        system="You are a careful copy editor.",
        name="polish",
    )
    return {"title": draft.title, "outline": outline.points, "text": polished.text or draft.body}
