"""Cost of a call from litellm's bundled price map, with per-model overrides.

Cached input tokens are a subset of the prompt tokens a provider reports: they are
priced at the cached rate and the rest at the full input rate, so no token is
counted twice. A model with no known price is reported as unpriced (``priced=False``),
never silently free.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Price", "PriceBook", "Usage"]


@dataclass(frozen=True)
class Usage:
    """Token counts of one provider response. ``cached_tokens`` is part of ``input_tokens``."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0


@dataclass(frozen=True)
class Price:
    """USD per token."""

    input: float
    output: float
    cached_input: float

    def cost(self, usage: Usage) -> float:
        """The cost of ``usage`` at this price."""
        cached = min(usage.cached_tokens, usage.input_tokens)
        return (
            (usage.input_tokens - cached) * self.input + cached * self.cached_input + usage.output_tokens * self.output
        )


class PriceBook:
    """Prices by model name, from litellm's map unless overridden.

    Args:
        model_cost: litellm's ``model_cost`` dict (the bundled map).
        overrides: model name -> (input, output, cached input) in USD per million tokens.
    """

    def __init__(
        self, model_cost: dict[str, Any], overrides: dict[str, tuple[float, float, float | None]] | None = None
    ) -> None:
        self._map = model_cost
        self._overrides = overrides or {}
        self._cache: dict[str, Price | None] = {}

    def price(self, model: str) -> Price | None:
        """The price of ``model`` (``provider/name`` or bare name), or None if unknown."""
        if model not in self._cache:
            self._cache[model] = self._lookup(model)
        return self._cache[model]

    def batch_price(self, model: str, discount: float = 0.5) -> Price | None:
        """The price of ``model`` through a provider's batch API: the map's batch rates where it
        has them, else ``discount`` times the full price (an override is discounted too)."""
        full = self.price(model)
        if full is None:
            return None
        entry = self._entry(model)
        overridden = any(n in self._overrides for n in (model, model.split("/", 1)[-1]))
        per_in = entry.get("input_cost_per_token_batches") if entry and not overridden else None
        per_out = entry.get("output_cost_per_token_batches") if entry and not overridden else None
        if per_in is None or per_out is None:
            return Price(full.input * discount, full.output * discount, full.cached_input * discount)
        return Price(float(per_in), float(per_out), min(full.cached_input, float(per_in)))

    def cost(self, model: str, usage: Usage) -> tuple[float, bool]:
        """(USD, priced) for ``usage`` on ``model``; (0.0, False) when no price is known."""
        price = self.price(model)
        if price is None:
            return 0.0, False
        return price.cost(usage), True

    def context_window(self, model: str) -> int | None:
        """Input tokens the model takes, per the map."""
        entry = self._entry(model)
        value = entry.get("max_input_tokens") if entry else None
        return int(value) if isinstance(value, (int, float)) else None

    def _entry(self, model: str) -> dict[str, Any] | None:
        for name in (model, model.split("/", 1)[-1]):
            entry = self._map.get(name)
            if isinstance(entry, dict):
                return entry
        return None

    def _lookup(self, model: str) -> Price | None:
        for name in (model, model.split("/", 1)[-1]):
            if name in self._overrides:
                i, o, c = self._overrides[name]
                return Price(i / 1e6, o / 1e6, (c if c is not None else i) / 1e6)
        entry = self._entry(model)
        if entry is None:
            return None
        per_in = entry.get("input_cost_per_token")
        per_out = entry.get("output_cost_per_token")
        if per_in is None or per_out is None:
            return None
        per_cached = entry.get("cache_read_input_token_cost")
        return Price(float(per_in), float(per_out), float(per_cached if per_cached is not None else per_in))
