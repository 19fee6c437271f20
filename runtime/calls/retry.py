"""The retry policy: which errors to retry, how long to wait, when to stop.

Transient errors (408, 429, 5xx, connection errors, timeouts) are retried with
exponential backoff and full jitter; a provider's Retry-After is honoured up to a cap;
permanent errors (400, 401, 403, 404, 422) are never retried. Retries never run past
the call's overall deadline, and there is no sleep after the last attempt.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from agentops.runtime.errors import AgentOpsError, TransientProviderError

__all__ = ["PERMANENT_STATUSES", "TRANSIENT_STATUSES", "RetryPolicy", "is_transient_status"]

TRANSIENT_STATUSES = frozenset({408, 409, 425, 429})
"""4xx statuses worth retrying; every 5xx is transient too."""
PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 422})


def is_transient_status(status: int | None) -> bool:
    """True for statuses a retry can fix; None (no response at all) counts as transient."""
    if status is None:
        return True
    return status in TRANSIENT_STATUSES or status >= 500


@dataclass
class RetryPolicy:
    """How one deployment's attempts are retried.

    Attributes:
        max_retries: retries after the first attempt (so ``max_retries + 1`` attempts).
        base_delay_s: the first backoff ceiling; it doubles with every retry.
        max_delay_s: the backoff ceiling never grows past this.
        retry_after_cap_s: a provider's Retry-After is honoured up to this many seconds.
    """

    max_retries: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    retry_after_cap_s: float = 30.0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def should_retry(self, error: AgentOpsError, retries_done: int) -> bool:
        """Whether ``error`` after ``retries_done`` retries deserves another attempt."""
        return isinstance(error, TransientProviderError) and retries_done < self.max_retries

    def delay(self, error: AgentOpsError, retries_done: int) -> float:
        """Seconds to wait before retry number ``retries_done + 1``.

        A Retry-After from the provider wins (bounded by ``retry_after_cap_s``);
        otherwise full jitter: uniform in [0, min(max_delay, base * 2**n)].
        """
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return min(max(float(retry_after), 0.0), self.retry_after_cap_s)
        ceiling = min(self.max_delay_s, self.base_delay_s * (2**retries_done))
        return self.rng.uniform(0.0, ceiling)
