"""Configuration of cost control: ``[budgets]``, ``[rate_limits]``, ``[cache]``, ``[routers.NAME]``
and ``[batch]``.

Part of :class:`~agentops.runtime.config.Settings`; kept here so each section reads whole.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "BUDGET_SCOPES",
    "BatchSettings",
    "BudgetAction",
    "BudgetSettings",
    "CacheSettings",
    "RateLimitSettings",
    "RouterRule",
    "RouterSettings",
]

BudgetAction = Literal["block", "downgrade", "escalate"]
BudgetScope = Literal["task", "session", "user-day", "agent-day", "global-day"]
BUDGET_SCOPES: tuple[str, ...] = ("task", "session", "user-day", "agent-day", "global-day")
"""Budget scopes: tokens per task and per session, USD per user, agent and in all per day."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BudgetSettings(_Section):
    """Caps on spend. A call reserves its estimated maximum before it is sent and settles after."""

    task_tokens: int | None = Field(None, ge=1)
    """Tokens (input + output) one task may use."""
    session_tokens: int | None = Field(None, ge=1)
    """Tokens the tasks of one session may use together."""
    user_day_usd: float | None = Field(None, gt=0)
    """USD one user may spend per day (local midnight to midnight)."""
    agent_day_usd: float | None = Field(None, gt=0)
    """USD one agent may spend per day."""
    global_day_usd: float | None = Field(None, gt=0)
    """USD everything together may spend per day."""
    action: BudgetAction = "block"
    """Over a cap: ``block`` (BudgetExceededError), ``downgrade`` (use ``downgrade_route``) or
    ``escalate`` (ask an operator to raise the cap, with the spend so far)."""
    actions: dict[BudgetScope, BudgetAction] = {}
    """Per-scope actions, e.g. ``{ "user-day" = "escalate" }``; the rest use ``action``."""
    downgrade_route: str | None = None
    """The cheaper route ``downgrade`` uses."""
    estimate_output_tokens: int = Field(1024, ge=1)
    """Output tokens reserved for a call that sets no ``max_tokens``."""

    def cap(self, scope: str) -> float | None:
        """The configured cap of a scope (None: uncapped)."""
        return {
            "task": self.task_tokens,
            "session": self.session_tokens,
            "user-day": self.user_day_usd,
            "agent-day": self.agent_day_usd,
            "global-day": self.global_day_usd,
        }[scope]

    def action_for(self, scope: str) -> str:
        """What happens over this scope's cap."""
        action: str = self.actions.get(scope, self.action)  # type: ignore[call-overload]  # scope is a BudgetScope
        return action


class RateLimitSettings(_Section):
    """Token buckets per user and per agent (a deployment's own limits are set on the deployment)."""

    user_rpm: float | None = Field(None, gt=0)
    """Requests per minute one user's tasks may make."""
    user_tpm: float | None = Field(None, gt=0)
    """Tokens (estimated: input + max output) per minute per user."""
    agent_rpm: float | None = Field(None, gt=0)
    agent_tpm: float | None = Field(None, gt=0)
    burst_s: float = Field(10.0, gt=0)
    """A bucket holds this many seconds' worth of its rate (at least one request)."""


class CacheSettings(_Section):
    """The response cache: exact (hash of the request) and semantic (similar questions)."""

    exact: bool = True
    """Serve a repeated deterministic request from the cache."""
    semantic: bool = False
    """Serve similar questions from the cache; prompt files turn it on per prompt (``[cache] semantic``)."""
    max_temperature: float = Field(0.0, ge=0)
    """Requests at or below this temperature are deterministic enough to cache (no temperature: 1.0)."""
    ttl_s: float = Field(86_400.0, gt=0)
    """An entry is served this long after it was written."""
    max_entries: int = Field(100_000, ge=1)
    """Entries kept (exact and semantic); the least recently used go first."""
    scope: Literal["user", "session", "shared"] = "user"
    """Whose answers a request may be served: its user's (default), its session's, or anyone's."""
    embedder: str = "wordllama"
    """``wordllama`` (offline, in the wheel), ``wordllama:DIM``, or ``litellm:MODEL`` (an embedding model)."""
    threshold: float | None = Field(None, gt=0, le=1)
    """Cosine similarity a semantic hit needs (default: the measured one, see docs/performance.md)."""


class RouterRule(_Section):
    """One rule: when everything it names matches, the request goes to ``route``.

    ``classifier`` names a prompt that answers ``{"label": ...}``; ``labels`` maps its answers
    to routes (an unknown answer falls through to the next rule).
    """

    route: str | None = None
    agent: str | None = None
    prompt: str | None = None
    max_chars: int | None = Field(None, ge=0)
    """The request's text is at most this long."""
    min_chars: int | None = Field(None, ge=0)
    classifier: str | None = None
    labels: dict[str, str] = {}

    @model_validator(mode="after")
    def _shape(self) -> RouterRule:
        if self.classifier is None and self.route is None:
            raise ValueError("a rule needs route (or classifier with labels)")
        if self.classifier is not None and not self.labels:
            raise ValueError("a classifier rule needs labels = { label = route, ... }")
        return self


class RouterSettings(_Section):
    """A model router: used where a route name is, it picks a route per request by its rules."""

    rules: list[RouterRule] = []
    default: str
    """The route when no rule matches."""
    classifier_route: str | None = None
    """The route classifier prompts are called on (default: the prompt's own)."""

    def routes(self) -> set[str]:
        """Every route the router may pick."""
        out = {self.default} | {r.route for r in self.rules if r.route}
        out |= {x for r in self.rules for x in r.labels.values()}
        if self.classifier_route:
            out.add(self.classifier_route)
        return out


class BatchSettings(_Section):
    """Provider batch APIs (half price, answers within hours): which LLM steps go by batch and how
    jobs are collected and polled. A step goes by batch when it asks (``ctx.llm(..., batch=True)``),
    when its task was submitted with ``batch`` (``agentops submit --batch``), or when its agent is
    listed in ``agents``."""

    enabled: bool = True
    """Off: every step calls at once, whatever it asks."""
    agents: list[str] = []
    """Agents whose every LLM step goes by batch (tasks whose deadline allows hours)."""
    max_requests: int = Field(500, ge=1, le=50_000)
    """Requests in one provider job at most (OpenAI takes up to 50,000)."""
    max_wait_s: float = Field(60.0, ge=0)
    """How long a request waits for others before its job is sent anyway."""
    poll_s: float = Field(30.0, gt=0)
    """Seconds between two polls of a job in flight."""
    max_attempts: int = Field(3, ge=1, le=10)
    """Jobs a request may go in: a failed line goes into the next job until then."""
    on_failure: Literal["fail", "call"] = "call"
    """A request whose every attempt failed (or whose job expired): ``call`` makes it at once
    through the normal call path at the full price; ``fail`` fails the step."""
    lease_s: float = Field(120.0, gt=0)
    """How long a process holds a job it polls; after that another process may take it over."""
    price_discount: float = Field(0.5, gt=0, le=1)
    """The batch price as a share of the full price, for a model whose price map has no batch rate."""
