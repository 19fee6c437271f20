"""Pacing LLM calls: per-user and per-agent token buckets, per-deployment provider windows.

A call waits for a slot in every limit that applies to it, but never past its
deadline: if the wait would end after the deadline it fails at once with
:class:`~agentops.runtime.errors.RateLimitedError` (user and agent limits), or the call
moves on to the route's next deployment (a deployment's own limit).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from agentops.runtime.calls.ratelimit import SlidingWindow, TokenBucket
from agentops.runtime.config.costs import RateLimitSettings
from agentops.runtime.errors import RateLimitedError

__all__ = ["DeploymentLimits", "Pacer", "wait_for_slot"]

T = TypeVar("T")

_MAX_BUCKETS = 10_000  # users/agents with a bucket in memory; the least recently used go first


@dataclass
class DeploymentLimits:
    """A deployment's provider limits (requests and tokens per window)."""

    requests: SlidingWindow | None = None
    tokens: SlidingWindow | None = None

    def try_take(self, tokens: float) -> tuple[float, list[list[float] | None]]:
        """Take one request and ``tokens`` if both fit: ``(0, handles)``; else ``(seconds to wait, [])``."""
        wait = max(
            self.requests.wait_time(1) if self.requests is not None else 0.0,
            self.tokens.wait_time(tokens) if self.tokens is not None else 0.0,
        )
        if wait:
            return wait, []
        return 0.0, [
            self.requests.try_take(1)[1] if self.requests is not None else None,
            self.tokens.try_take(tokens)[1] if self.tokens is not None else None,
        ]

    def release(self, handles: list[list[float] | None]) -> None:
        """Give back a slot that was not used (nothing was sent)."""
        if not handles:
            return
        request, token = handles
        if request is not None and self.requests is not None:
            self.requests.release(request)
        if token is not None and self.tokens is not None:
            self.tokens.release(token)

    def done(self, handles: list[list[float] | None], tokens: float | None) -> None:
        """The attempt's answer came back: count it from now, with its real tokens (if known)."""
        if not handles:
            return
        request, token = handles
        if request is not None and self.requests is not None:
            self.requests.settle(request)
        if token is not None and self.tokens is not None:
            self.tokens.settle(token, tokens)


@dataclass
class Pacer:
    """Token buckets per user and per agent, made on first use."""

    settings: RateLimitSettings
    _buckets: OrderedDict[tuple[str, str], TokenBucket] = field(default_factory=OrderedDict)

    @property
    def enabled(self) -> bool:
        """Whether any user or agent limit is set."""
        s = self.settings
        return any(v is not None for v in (s.user_rpm, s.user_tpm, s.agent_rpm, s.agent_tpm))

    def _bucket(self, kind: str, key: str, per_min: float) -> TokenBucket:
        bucket = self._buckets.get((kind, key))
        if bucket is None:
            rate = per_min / 60.0
            bucket = TokenBucket(rate, max(1.0, rate * self.settings.burst_s))
            self._buckets[(kind, key)] = bucket
            if len(self._buckets) > _MAX_BUCKETS:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end((kind, key))
        return bucket

    def _limits(self, user_id: str | None, agent: str | None) -> list[tuple[str, TokenBucket, bool]]:
        s = self.settings
        out: list[tuple[str, TokenBucket, bool]] = []
        for who, key, rpm, tpm in (
            ("user", user_id, s.user_rpm, s.user_tpm),
            ("agent", agent, s.agent_rpm, s.agent_tpm),
        ):
            if key is None:
                continue
            if rpm is not None:
                out.append((f"{who} {key!r} requests/min", self._bucket(who + ":rpm", key, rpm), False))
            if tpm is not None:
                out.append((f"{who} {key!r} tokens/min", self._bucket(who + ":tpm", key, tpm), True))
        return out

    def try_take(self, limits: list[tuple[str, TokenBucket, bool]], tokens: float) -> tuple[float, str, None]:
        """Take from every limit if all have room (no await in between): ``(0, "", None)``; else the
        longest wait and the limit that needs it."""
        wait, which = 0.0, ""
        for name, bucket, by_tokens in limits:
            w = bucket.wait_time(min(tokens, bucket.burst) if by_tokens else 1.0)
            if w > wait:
                wait, which = w, f"rate limit {name}"
        if wait == 0.0:
            for _, bucket, by_tokens in limits:
                bucket.try_take(min(tokens, bucket.burst) if by_tokens else 1.0)
        return wait, which, None

    async def acquire(self, *, user_id: str | None, agent: str | None, tokens: float, deadline: float) -> float:
        """Wait for a slot in every limit of this user and agent. Returns the seconds waited.

        Raises:
            RateLimitedError: the wait would end after ``deadline`` (``time.monotonic`` seconds).
        """
        limits = self._limits(user_id, agent)
        if not limits:
            return 0.0
        waited, _ = await _wait_turn(partial(self.try_take, limits, tokens), deadline)
        return waited

    def reconfigure(self, settings: RateLimitSettings) -> None:
        """Take new limits (buckets are made again on their next use)."""
        self.settings = settings
        self._buckets.clear()


async def wait_for_slot(
    limits: DeploymentLimits, tokens: float, deadline: float
) -> tuple[float, list[list[float] | None]]:
    """Wait for a deployment's slot. Returns (seconds waited, handles for :meth:`DeploymentLimits.done`).

    Raises:
        RateLimitedError: the next slot is after ``deadline``.
    """

    def take() -> tuple[float, str, list[list[float] | None]]:
        wait, handles = limits.try_take(tokens)
        return wait, "provider limit", handles

    return await _wait_turn(take, deadline)


async def _wait_turn(try_take: Callable[[], tuple[float, str, T]], deadline: float) -> tuple[float, T]:
    """Call ``try_take`` until it finds room, sleeping the wait it reports, never past ``deadline``.

    ``try_take`` returns (0, _, what it took) or (seconds to wait, the limit that is full, _).
    Returns the seconds waited and what was taken.

    Raises:
        RateLimitedError: the next slot is after ``deadline``.
    """
    waited = 0.0
    while True:
        wait, which, taken = try_take()
        if wait == 0.0:
            return waited, taken
        if time.monotonic() + wait > deadline:
            raise RateLimitedError(
                f"{which}: next slot in {wait:.2f}s, after the call's deadline", limit=which, wait_s=wait
            )
        await asyncio.sleep(wait)
        waited += wait
