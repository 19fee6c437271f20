"""The per-step validation gate: a reply must parse into a schema and pass a check.

``ctx.llm(..., output=Model, check=fn)`` asks the model for JSON matching ``Model``,
validates the reply, then runs ``check`` on the parsed object. A failure is sent back
to the model with the error, a bounded number of times; after that the step fails with
a :class:`~agentops.runtime.errors.ValidationGateError`, which is recorded on the span.

A check passes by returning None or True; it fails by returning False or a message,
or by raising ``ValueError`` / ``AssertionError`` (whose text is fed back).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from agentops.runtime.errors import describe_validation

__all__ = ["Check", "GateFailure", "repair_message", "response_format", "validate_reply"]

M = TypeVar("M", bound=BaseModel)
Check = Callable[[Any], "bool | str | None"]


class GateFailure(Exception):
    """One reply failed the gate; the message is what the model is told."""


def response_format(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAI ``response_format`` asking for JSON that matches ``model``."""
    return {
        "type": "json_schema",
        "json_schema": {"name": model.__name__, "schema": model.model_json_schema(), "strict": False},
    }


def validate_reply(text: str | None, model: type[M], check: Check | None) -> M:
    """Parse and check one reply.

    Raises:
        GateFailure: saying what is wrong, in words the model can act on.
    """
    if not text:
        raise GateFailure("the reply was empty; reply with a JSON object")
    body = _strip_fences(text)
    try:
        value = model.model_validate_json(body)
    except ValidationError as exc:
        problems = describe_validation(exc)
        raise GateFailure(f"the reply does not match the {model.__name__} schema: {problems}") from None
    if check is not None:
        try:
            verdict = check(value)
        except (ValueError, AssertionError) as exc:
            raise GateFailure(f"the reply failed a check: {exc or type(exc).__name__}") from None
        if verdict is False:
            raise GateFailure(f"the reply failed the check {getattr(check, '__name__', 'check')}")
        if isinstance(verdict, str):
            raise GateFailure(f"the reply failed a check: {verdict}")
    return value


def repair_message(failure: GateFailure) -> dict[str, str]:
    """The user message that feeds a failure back to the model."""
    return {
        "role": "user",
        "content": f"Your previous reply was not accepted: {failure}. Reply again with only a corrected JSON object.",
    }


def _strip_fences(text: str) -> str:
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.split("\n", 1)[1] if "\n" in stripped else ""
        stripped = stripped.rsplit("```", 1)[0]
    return stripped.strip()
