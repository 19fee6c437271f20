"""The call path's guard stage: the output filter on a model's reply.

:func:`filter_output` runs after the route answered and before the reply is recorded, so
what is recorded, cached and returned is what the policy lets through: the reply's text
with personal data and secrets redacted, and no reply that quotes the call's system
prompt. Under ``block`` a :class:`~agentops.runtime.errors.GuardBlockedError` is raised once
the (billed) call is recorded. Each decision is on the call's span (``agentops.guard.*``).
The input guard (prompt injection) is the task's LLM step's, before the call
(:mod:`agentops.runtime.tasks.screening`): an operator may have to decide, and only a task
can wait for one.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from agentops.runtime.errors import GuardBlockedError

if TYPE_CHECKING:
    from agentops.runtime.calls.client import LLMClient
    from agentops.runtime.calls.types import Call

__all__ = ["filter_output", "keeps_pii"]


async def filter_output(client: LLMClient, call: Call) -> GuardBlockedError | None:
    """Filter the reply in place; the error to raise after recording when the policy blocks."""
    guards, reply = client.guards, call.reply
    if guards is None or reply is None or not reply.text:
        return None
    s, attrs = call.scope, call.span.attributes
    system = [m["content"] for m in call.messages if m.get("role") == "system" and isinstance(m.get("content"), str)]
    try:
        echo = await guards.check_echo(reply.text, system, agent=s.agent, task_id=s.task_id)
        text, decision = await guards.check_output(reply.text, agent=s.agent, task_id=s.task_id, where="reply")
    except GuardBlockedError as exc:
        kept = (
            "<blocked: the reply quoted the system prompt>" if exc.guard == "prompt_echo" else guards.redact(reply.text)
        )
        call.reply = dataclasses.replace(reply, text=kept)  # what is recorded
        attrs[f"agentops.guard.{exc.guard}"] = {"decision": "block", "entities": list(exc.entities)}
        return exc
    for d in (echo, decision):
        if d.decision != "pass":
            attrs.update(d.attrs())
    if text != reply.text:
        call.reply = dataclasses.replace(reply, text=text)
    return None


def keeps_pii(client: LLMClient, call: Call) -> bool:
    """With ``redact_pii``, whether the request holds personal data (then nothing of it is cached)."""
    guards = client.guards
    if guards is None or guards.redactor is None or guards.pii is None:
        return False
    return any(guards.pii.find(m["content"]) for m in call.messages if isinstance(m.get("content"), str))
