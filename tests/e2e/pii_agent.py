"""An agent that handles personal data: for the test that none of it is stored or logged."""

from __future__ import annotations

from pydantic import BaseModel

from agentops.runtime import Context, agent, tool


class Ask(BaseModel):
    text: str


class Customer(BaseModel):
    customer: str


@tool()
async def contact_details(args: Customer) -> dict[str, str]:
    """A customer's contact details."""
    return {"customer": args.customer, "email": "ana.lopez@example.org", "iban": "DE89370400440532013000"}


@agent(tools=["contact_details"])
async def pii_support(ctx: Context, ask: Ask) -> dict[str, object]:
    contact = await ctx.tool("contact_details", customer="c-1")
    ctx.log.warning("looked up the customer", contact=contact, asked=ask.text)
    reply = await ctx.llm(f"{ask.text}\nContact: {contact['email']}", name="answer")
    if "fail" in ask.text:
        raise ValueError(f"could not reach {contact['email']} ({ask.text})")
    return {"reply": reply.text, "contact": contact}
