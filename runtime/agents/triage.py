"""Ticket triage: classify, then route to the handler for the category."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import BaseModel, Field

from agentops.runtime import Context, current_step_key
from agentops.runtime.registry import agent, tool

__all__ = ["REFUND_APPROVAL_USD", "STYLES", "InvoiceQuery", "KBQuery", "RefundRequest", "Ticket", "Triage", "triage"]

HANDLERS = {
    "billing": "You resolve billing questions. Use the invoice data given; be exact about amounts.",
    "technical": "You solve technical problems. Search the knowledge base before answering.",
    "account": "You help with account access and settings. Never ask for a password.",
}


class Ticket(BaseModel):
    """A support ticket."""

    text: str = Field(min_length=1)
    customer_id: str = "c-0001"


class Triage(BaseModel):
    """The classifier's verdict."""

    category: Literal["billing", "technical", "account"]
    urgency: Literal["low", "normal", "high"]
    summary: str


class InvoiceQuery(BaseModel):
    """Arguments of ``lookup_invoice``."""

    customer_id: str


class RefundRequest(BaseModel):
    """Arguments of ``issue_refund``."""

    customer_id: str
    invoice: str
    amount_usd: float = Field(gt=0, le=5000)


REFUND_APPROVAL_USD = 100.0
"""Refunds above this wait for an operator's approval."""

STYLES = {
    "standard": "",
    "concise": "Answer in at most three sentences.",
    "friendly": "Answer warmly and plainly, in at most five sentences.",
    "detailed": "Answer step by step, with every detail the customer needs.",
}
"""How replies are written, by the value of the ``reply_style`` flag (multi-variant); ``standard``
(where the flag is not configured, or serves a value not listed here) adds nothing."""


class KBQuery(BaseModel):
    """Arguments of ``search_kb``."""

    query: str = Field(min_length=1)


def _digest(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


@tool(timeout_s=2)
async def lookup_invoice(args: InvoiceQuery) -> dict[str, Any]:
    """Look up a customer's latest invoice."""
    n = _digest(args.customer_id)
    return {
        "customer_id": args.customer_id,
        "invoice": f"INV-{n % 100000:05d}",
        "amount_usd": round(20 + (n % 18000) / 100, 2),
        "status": ("paid", "due", "overdue")[n % 3],
        # One customer in five has a billing contact on file: personal data the output filter redacts.
        **({"billing_contact": f"accounts{n % 97}@customer{n % 13}.example.com"} if n % 5 == 0 else {}),
    }


@tool(timeout_s=2)
async def search_kb(args: KBQuery) -> list[dict[str, str]]:
    """Search the knowledge base for articles about a problem."""
    n = _digest(args.query)
    return [
        {"id": f"KB-{(n + i) % 1000:03d}", "title": f"Troubleshooting {args.query[:40]} (part {i + 1})"}
        for i in range(2)
    ]


@tool(timeout_s=5)
async def issue_refund(args: RefundRequest) -> dict[str, Any]:
    """Refund an invoice (a side effect: money moves). Idempotent per task step."""
    return {
        "refund_id": f"RF-{_digest(current_step_key() + args.invoice) % 10**6:06d}",
        "amount_usd": args.amount_usd,
        "status": "issued",
    }


async def _refund(ctx: Context, ticket: Ticket, invoice: dict[str, Any]) -> str:
    """Refund the invoice; above the threshold, only with an operator's approval."""
    proposed = {"customer_id": ticket.customer_id, "invoice": invoice["invoice"], "amount_usd": invoice["amount_usd"]}
    if invoice["amount_usd"] > REFUND_APPROVAL_USD:
        decision = await ctx.escalate(
            f"refund ${invoice['amount_usd']:.2f} on {invoice['invoice']} (over ${REFUND_APPROVAL_USD:.0f})",
            context={"ticket": ticket.text, "invoice": invoice},
            proposed=proposed,
            tool="issue_refund",
            timeout=600,
            default="deny",
        )
        if not decision.approved:
            return f"refund not issued: {decision.comment or 'declined'}"
        proposed = decision.args
    refund = await ctx.tool("issue_refund", **proposed)
    return f"refund {refund['refund_id']} of ${refund['amount_usd']:.2f} issued"


async def _handler(ctx: Context, category: str) -> str:
    """The handler's instructions for a category, in the reply style this user gets."""
    style = STYLES.get(str(await ctx.flag("reply_style", default="standard")), "")
    return f"{HANDLERS[category]} {style}".strip()


@agent(tools=["lookup_invoice", "search_kb", "issue_refund"], max_steps=8)
async def triage(ctx: Context, ticket: Ticket) -> dict[str, Any]:
    """Classify a support ticket and answer it with the handler for its category."""
    verdict = (await ctx.llm("triage.classify", {"text": ticket.text}, output=Triage, name="classify")).output
    assert verdict is not None
    if verdict.category == "billing":
        invoice = await ctx.tool("lookup_invoice", customer_id=ticket.customer_id)
        action = await _refund(ctx, ticket, invoice) if "refund" in ticket.text.lower() else "none"
        handler = await _handler(ctx, verdict.category)
        answer = await ctx.llm(
            f"Ticket: {ticket.text}\nInvoice: {invoice}\nAction taken: {action}", system=handler, name="answer billing"
        )
    elif verdict.category == "technical":
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": await _handler(ctx, verdict.category)},
            {"role": "user", "content": ticket.text},
        ]
        # A kill switch for the knowledge-base tool: off, the model answers without it.
        tools = ["search_kb"] if await ctx.flag("kb_search", default=True) else []
        first = await ctx.llm(messages, tools=tools, name="answer technical")
        if first.tool_calls:
            call = first.tool_calls[0]
            found = await ctx.tool(call.name, **call.arguments)
            messages += [
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": call.id,
                            "type": "function",
                            "function": {"name": call.name, "arguments": KBQuery(**call.arguments).model_dump_json()},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": call.id, "content": str(found)},
            ]
            first = await ctx.llm(messages, tools=["search_kb"], name="answer technical")
        answer = first
    else:
        answer = await ctx.llm(ticket.text, system=await _handler(ctx, verdict.category), name="answer account")
    return {"category": verdict.category, "urgency": verdict.urgency, "summary": verdict.summary, "reply": answer.text}
