"""An OpenAI-compatible LLM simulator: the project's offline provider.

Tests, the demo and benchmarks point litellm at it over real HTTP
(``litellm.acompletion(model="openai/<name>", api_base=sim.base_url + "/v1",
api_key="sim")``). Answers are deterministic for a given seed and request;
faults (429, 5xx, timeouts, malformed bodies, schema-violating JSON, outages,
rate limits, context overflow) are injected per model on demand.

Public API:

- :class:`SimConfig`, :class:`ModelBehaviour`, :class:`Outage`: configuration.
- :class:`Simulator`: the server in the current event loop.
- :class:`SimulatorThread`: the server on its own thread, for sync callers.
- :func:`serve_forever`: run until cancelled (the ``agentops sim`` command).
- :class:`SimStats`, :class:`ModelStats`: counters of what it saw and did.
"""

from ._config import ModelBehaviour, Outage, SimConfig
from ._server import Simulator, serve_forever
from ._stats import ModelStats, SimStats
from ._thread import SimulatorThread

__all__ = [
    "ModelBehaviour",
    "ModelStats",
    "Outage",
    "SimConfig",
    "SimStats",
    "Simulator",
    "SimulatorThread",
    "serve_forever",
]
