"""Model routing: simple requests to a cheap route, complex ones to a strong one.

A router (``[routers.NAME]``) is used where a route name is. Its rules are tried in
order; the first whose conditions all hold picks the route: the agent, the prompt, the
length of the request's text, or a classifier prompt's label. No rule: the router's
default. The choice and its reason go on the call's span (``agentops.router.*``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from agentops.runtime.config.costs import RouterRule, RouterSettings

__all__ = ["Classify", "ModelRouter", "RouteChoice"]

Classify = Callable[[str, str], Awaitable[str | None]]
"""``classify(prompt_name, text)``: the classifier prompt's label for the text (None: no answer)."""


@dataclass(frozen=True)
class RouteChoice:
    """A router's decision."""

    router: str
    route: str
    reason: str

    def span_attrs(self) -> dict[str, str]:
        """The decision as span attributes."""
        return {
            "agentops.router": self.router,
            "agentops.router.route": self.route,
            "agentops.router.reason": self.reason,
        }


class ModelRouter:
    """The configured routers."""

    def __init__(self, routers: dict[str, RouterSettings]) -> None:
        self.routers = routers

    def __contains__(self, name: object) -> bool:
        return name in self.routers

    async def choose(
        self, router: str, *, agent: str | None, prompt: str | None, text: str, classify: Classify
    ) -> RouteChoice:
        """Pick a route for one request."""
        settings = self.routers[router]
        for i, rule in enumerate(settings.rules):
            reason = _static_match(rule, agent, prompt, text)
            if reason is None:
                continue
            if rule.classifier is None:
                assert rule.route is not None
                return RouteChoice(router, rule.route, f"rule {i + 1}: {reason}")
            label = await classify(rule.classifier, text)
            if label is not None and label in rule.labels:
                where = f"rule {i + 1}: {reason + ', ' if reason else ''}"
                return RouteChoice(router, rule.labels[label], f"{where}classifier {rule.classifier} said {label!r}")
        return RouteChoice(router, settings.default, "no rule matched: default")


def _static_match(rule: RouterRule, agent: str | None, prompt: str | None, text: str) -> str | None:
    """Why a rule's fixed conditions hold (``""`` when it has none), or None when one fails."""
    why = []
    if rule.agent is not None:
        if agent != rule.agent:
            return None
        why.append(f"agent {agent}")
    if rule.prompt is not None:
        if prompt != rule.prompt:
            return None
        why.append(f"prompt {prompt}")
    if rule.max_chars is not None:
        if len(text) > rule.max_chars:
            return None
        why.append(f"{len(text)} chars <= {rule.max_chars}")
    if rule.min_chars is not None:
        if len(text) < rule.min_chars:
            return None
        why.append(f"{len(text)} chars >= {rule.min_chars}")
    return ", ".join(why)
