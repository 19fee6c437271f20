"""The call path's spending stages: wait for the rate limits, reserve the budget, settle it.

A call waits for its user's and agent's rate-limit slots first, so a waiting call holds no
budget. Then it reserves its estimated maximum (a generous estimate of its input and its
output allowance, priced at the dearest deployment of its route) against every budget
that applies; over a cap, the budget's action applies (``block`` raises, ``downgrade``
moves the call to the cheaper route; ``escalate`` is the task's to ask). A call with no
``max_tokens`` is held to the output it reserved. The reservation settles to the real
figures on every path, failure and cancellation included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentops.runtime.calls.pricing import Usage
from agentops.runtime.calls.types import Call, Route
from agentops.runtime.errors import BudgetExceededError, RateLimitedError

if TYPE_CHECKING:
    from agentops.runtime.calls.client import LLMClient

__all__ = ["estimate_tokens", "reserve_budget", "settle_budget", "wait_for_rate"]

_IMAGE_TOKENS = 1_500
"""What an image part is reserved at (a high-detail image is about 1,100 tokens at most providers)."""


async def wait_for_rate(client: LLMClient, call: Call) -> None:
    """Take the call's slots in its user's and agent's token buckets (``RateLimitedError`` past the deadline)."""
    pacer = client.pacer
    if pacer is None or not pacer.enabled:
        return
    scope = call.scope
    try:
        waited = await pacer.acquire(
            user_id=scope.user_id, agent=scope.agent, tokens=call.tokens, deadline=call.deadline
        )
    except RateLimitedError as exc:
        if client.guards is not None:  # the refusal is in the audit trail under the agent's name
            await client.guards.audit_refusal(
                "rate_limit", agent=scope.agent, task_id=scope.task_id, reason=str(exc), details={"limit": exc.limit}
            )
        raise
    if waited:
        call.span.attributes["agentops.rate_limit.waited_s"] = round(waited, 3)


async def reserve_budget(client: LLMClient, call: Call) -> None:
    """Hold the call's estimated maximum against its budgets; downgrade the route if that is the action."""
    budgets = client.budgets
    if budgets is None or not budgets.enabled:
        return
    s = call.scope
    keys = budgets.keys(task_id=s.task_id, session_id=s.session_id, user_id=s.user_id, agent=s.agent)
    if not keys:
        return
    tokens = float(call.tokens)
    try:
        call.reservation = await budgets.reserve(keys, tokens=tokens, usd=_max_cost(client, call.route, call))
    except BudgetExceededError as exc:
        cheaper = budgets.settings.downgrade_route
        if exc.action != "downgrade" or cheaper is None or cheaper == call.route.name:
            if exc.action == "block" and client.guards is not None:
                await client.guards.audit_refusal(
                    "budget", agent=s.agent, task_id=s.task_id, reason=str(exc), details={"scope": exc.scope}
                )
            raise
        call.span.attributes["agentops.budget.downgraded"] = {
            "from": call.route.name,
            "to": cheaper,
            "scope": exc.scope,
        }
        call.downgraded = cheaper
        down = client.routes[cheaper]
        try:
            call.reservation = await budgets.reserve(keys, tokens=tokens, usd=_max_cost(client, down, call))
        except BudgetExceededError as again:
            again.args = (f"{again.args[0]} (also on the downgrade route {cheaper!r})",)
            again.action = "block"
            raise again from None
        call.route = down
    if not _has_output_limit(call.params):
        # The reservation counted this many output tokens: hold the provider to them.
        call.params = {**call.params, "max_tokens": call.tokens_out}


def settle_budget(client: LLMClient, call: Call) -> None:
    """Replace the reservation by what was spent (nothing, when no reply came)."""
    if call.reservation is None or client.budgets is None:
        return
    reply = call.reply
    used = reply.usage.input_tokens + reply.usage.output_tokens if reply is not None else 0
    client.budgets.settle(call.reservation, tokens=used, usd=call.cost_usd)


def _max_cost(client: LLMClient, route: Route, call: Call) -> float:
    """The dearest the call could be on this route (any deployment of it may answer)."""
    usage = Usage(call.tokens_in, call.tokens_out, 0)
    return max(client.prices.cost(client.deployments[d].price_model, usage)[0] for d in route.chain)


def _has_output_limit(params: dict[str, Any]) -> bool:
    return bool(params.get("max_tokens") or params.get("max_completion_tokens"))


def estimate_tokens(messages: list[dict[str, Any]], params: dict[str, Any], default_out: int) -> tuple[int, int]:
    """An upper estimate of a request's input tokens and its output tokens (``max_tokens``, else the
    configured default, which the call is then held to when a budget applies).

    ASCII text is counted at 3 characters a token (English runs about 4), any other character at
    a token each (CJK text runs about one), images at a fixed allowance; tools are counted as text.
    """
    tokens = 8 + 4 * len(messages)
    texts: list[str] = []
    for m in messages:
        content = m.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and part.get("type") in ("image_url", "image", "input_image"):
                    tokens += _IMAGE_TOKENS
                elif isinstance(part, dict):
                    texts.append(str(part.get("text", "")))
        elif content is not None:
            texts.append(str(content))
        if m.get("tool_calls"):
            texts.append(str(m["tool_calls"]))
    if params.get("tools"):
        texts.append(str(params["tools"]))
    for text in texts:
        wide = sum(1 for c in text if ord(c) > 127) if not text.isascii() else 0
        tokens += (len(text) - wide) // 3 + 1 + wide
    out = params.get("max_tokens") or params.get("max_completion_tokens") or default_out
    return tokens, int(out)
