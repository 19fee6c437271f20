"""The engine: one process's runtime, assembled from the packages below it.

Owns :class:`Runtime` (:mod:`.runtime`: start the store, the simulator, the breakers, the
prompt registry, flags, budgets and the cache; load litellm off the loop and build the call
path (:mod:`.wiring`); run the workers; stop and drain), the live configuration reload
(:mod:`.reload`) and the snapshots the control plane reads (:mod:`.status`).

May import: tasks, rollouts, calls, the simulator, the foundations and the store. Never
control (which is built over it) or the console.
"""

from agentops.runtime.engine.reload import LIVE_KEYS, Reload
from agentops.runtime.engine.runtime import Runtime
from agentops.runtime.engine.status import CircuitStatus

__all__ = ["LIVE_KEYS", "CircuitStatus", "Reload", "Runtime"]
