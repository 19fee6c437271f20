"""Per-model runtime state and the decision of which fault, if any, to inject.

Each model has its own ``random.Random`` seeded from (seed, model). Every
request draws exactly two numbers from it, in arrival order, whatever the
outcome (one for the fault, one for the latency), so a seeded run with
sequential callers replays exactly, and changing one rate does not shift the
draws of later requests.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass

from ._config import ModelBehaviour
from ._prompt import PrefixCache

__all__ = ["Fault", "ModelState", "decide"]


@dataclass(frozen=True, slots=True)
class Fault:
    """A fault to inject instead of (or on top of) a normal answer.

    Attributes:
        kind: One of ``fail_status``, ``outage``, ``rpm_limit``,
            ``context_window``, ``429``, ``500``, ``502``, ``503``,
            ``timeout``, ``malformed``, ``invalid_output``.
        status: HTTP status to answer (200 for the kinds that still answer).
        retry_after_s: Retry-After value to send, if any.
        window: The outage window hit, in seconds since server start.
    """

    kind: str
    status: int
    retry_after_s: float | None = None
    window: tuple[float, float] | None = None


class ModelState:
    """Everything the simulator remembers about one model between requests.

    Args:
        seed: The simulator's seed.
        model: The model name.
    """

    def __init__(self, seed: int, model: str) -> None:
        self.rng = random.Random(f"{seed}\0{model}")
        self.reply_index = 0
        self.fail_index = 0
        self.admitted: deque[float] = deque()
        self.forced: tuple[float, float] | None = None
        self.prefixes = PrefixCache()

    def next_reply(self, behaviour: ModelBehaviour) -> str | None:
        """The next scripted reply, cycling; None when none are scripted."""
        if not behaviour.replies:
            return None
        reply = behaviour.replies[self.reply_index % len(behaviour.replies)]
        self.reply_index += 1
        return reply

    def latency_s(self, behaviour: ModelBehaviour, z: float) -> float:
        """Lognormal latency from the normal draw ``z``; 0 when disabled."""
        if behaviour.latency_ms <= 0:
            return 0.0
        return behaviour.latency_ms * math.exp(behaviour.latency_sigma * z) / 1000.0


def decide(
    behaviour: ModelBehaviour,
    state: ModelState,
    *,
    now: float,
    prompt_tokens: int,
    wants_json: bool,
    u: float,
) -> Fault | None:
    """Pick the fault for one request, updating the model's state.

    Deterministic checks come first (scripted statuses, outages, the rate
    limit, the context window), then the random faults by the uniform draw
    ``u``.

    Args:
        behaviour: The model's behaviour.
        state: The model's state (rate window, cycles, forced outage).
        now: Seconds since the server started.
        prompt_tokens: Estimated prompt size.
        wants_json: Whether the answer is schema-bound JSON (output or tool
            arguments), which makes ``invalid_output`` applicable.
        u: A uniform draw in [0, 1).
    """
    if behaviour.fail_statuses:
        status = behaviour.fail_statuses[state.fail_index % len(behaviour.fail_statuses)]
        state.fail_index += 1
        return Fault("fail_status", status)
    if state.forced is not None and state.forced[0] <= now < state.forced[1]:
        return Fault("outage", 503, window=state.forced)
    for outage in behaviour.outages:
        window = outage.window_at(now)
        if window is not None:
            return Fault("outage", 503, window=window)
    if behaviour.rpm_limit is not None:
        window_s = behaviour.rpm_window_s
        while state.admitted and state.admitted[0] <= now - window_s:
            state.admitted.popleft()
        if len(state.admitted) >= behaviour.rpm_limit:
            wait = state.admitted[0] + window_s - now
            return Fault("rpm_limit", 429, retry_after_s=float(max(1, math.ceil(wait))))
        state.admitted.append(now)
    if prompt_tokens > behaviour.context_window:
        return Fault("context_window", 400)
    random_faults = (
        ("429", behaviour.rate_429, 429),
        ("500", behaviour.rate_500, 500),
        ("502", behaviour.rate_502, 502),
        ("503", behaviour.rate_503, 503),
        ("timeout", behaviour.rate_timeout, 200),
        ("malformed", behaviour.rate_malformed, 200),
        ("invalid_output", behaviour.rate_invalid_output if wants_json else 0.0, 200),
    )
    edge = 0.0
    for kind, rate, status in random_faults:
        edge += rate
        if u < edge:
            retry = behaviour.retry_after_s if kind == "429" else None
            return Fault(kind, status, retry_after_s=retry)
    return None
