"""Human-in-the-loop: what ``ctx.escalate`` returns, and how a task parks.

A task that escalates writes an escalation row and *parks*: its status becomes
``waiting`` and it gives its worker back. When someone decides (console, CLI, API,
or the deadline passes and the default applies), the task is queued again; its agent
function re-runs from the top, every journaled step returns its recorded result, and
``ctx.escalate`` returns the decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentops.runtime.errors import DecisionError, describe_validation
from agentops.runtime.registry import ToolSpec
from agentops.store import EscalationRecord

__all__ = ["DECISIONS", "Decision", "TaskParked", "validate_edit"]

DECISIONS = ("approve", "deny", "edit")


@dataclass(frozen=True)
class Decision:
    """An operator's answer to an escalation.

    Attributes:
        action: ``approve``, ``deny`` or ``edit`` (approve with changed arguments).
        args: the arguments to use: the proposed ones, or the edited ones.
        comment: the operator's comment; for a denial, the reason the agent receives.
        decided_by: who decided (``timeout`` when the deadline applied the default).
        via: ``console``, ``cli``, ``api`` or ``runtime``.
        timed_out: True when no one decided before the deadline.
    """

    action: str
    args: Any
    comment: str | None
    decided_by: str
    via: str
    timed_out: bool = False

    @property
    def approved(self) -> bool:
        """Approve or edit."""
        return self.action in ("approve", "edit")

    def to_json(self) -> dict[str, Any]:
        """For the journal."""
        return {
            "action": self.action,
            "args": self.args,
            "comment": self.comment,
            "decided_by": self.decided_by,
            "via": self.via,
            "timed_out": self.timed_out,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Decision:
        """From the journal."""
        return cls(
            data["action"],
            data.get("args"),
            data.get("comment"),
            data.get("decided_by", "?"),
            data.get("via", "?"),
            bool(data.get("timed_out")),
        )

    @classmethod
    def of(cls, record: EscalationRecord) -> Decision:
        """The decision written on an escalation row."""
        action = record.decision or "deny"
        args = record.decided_args if action == "edit" else record.proposed
        return cls(
            action,
            args,
            record.comment,
            record.decided_by or "?",
            record.decided_via or "?",
            record.decided_by == "timeout",
        )


class TaskParked(BaseException):
    """Raised inside a task to park it until its escalation is decided.

    It derives from BaseException so that an agent's ``except Exception`` cannot
    swallow it by accident.
    """

    def __init__(self, escalation: EscalationRecord) -> None:
        super().__init__(f"waiting on escalation {escalation.id}: {escalation.reason}")
        self.escalation = escalation


def validate_edit(tool: ToolSpec | None, args: Any) -> Any:
    """Check edited arguments against the tool's schema before the edit is written.

    Returns:
        The arguments as the tool's schema dumps them (defaults filled in).

    Raises:
        DecisionError: naming each field that fails, or saying there is no tool to edit.
    """
    if tool is None:
        raise DecisionError("this escalation proposes no tool call; approve or deny it instead of editing")
    if not isinstance(args, dict):
        raise DecisionError(f"edited arguments for tool {tool.name!r} must be a JSON object")
    try:
        return tool.args_model.model_validate(args).model_dump(mode="json")
    except ValidationError as exc:
        problems = describe_validation(exc)
        raise DecisionError(f"edited arguments for tool {tool.name!r} are invalid: {problems}") from None


class BudgetRaise(BaseModel):
    """An operator's edit of a budget escalation: the new cap."""

    model_config = ConfigDict(extra="forbid")

    cap: float = Field(gt=0)
    """The budget's new cap (USD, or tokens for task and session budgets)."""


def is_budget_escalation(record: EscalationRecord) -> bool:
    """Whether an escalation asks to raise a budget's cap (its edit is a new cap)."""
    return record.tool is None and isinstance(record.context, dict) and record.context.get("kind") == "budget"


def validate_budget_edit(args: Any) -> dict[str, Any]:
    """Check an edited budget escalation (``{"cap": number > 0}``).

    Raises:
        DecisionError: naming the field that fails.
    """
    if not isinstance(args, dict):
        raise DecisionError('a budget edit is a JSON object: {"cap": <new cap>}')
    try:
        return BudgetRaise.model_validate(args).model_dump(mode="json")
    except ValidationError as exc:
        raise DecisionError(f"edited budget cap is invalid: {describe_validation(exc)}") from None
