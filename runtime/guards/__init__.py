"""Guards: checks on what goes into and comes out of a model, and on what is written down.

Owns the detectors: prompt injection (:mod:`.injection`: the shipped offline scorer;
:mod:`.judge`: an LLM judge), personal data and secrets (:mod:`.pii`: Presidio's pattern
recognizers and ours, offline), a system prompt echoed back (:mod:`.echo`), departures from
an agent's baseline (:mod:`.behaviour`); the fencing of untrusted text (:mod:`.fence`); and
the policy that applies them per agent and prompt, publishes and audits each decision
(:mod:`.policy`). The task's LLM step (``tasks/screening.py``), the call path
(``calls/guarding.py``), the tool path (``tasks/tool_step.py``) and the store, tracer and logs
(``redact_pii``) ask the guards; the guards know none of them. May import ``config``,
``errors``, ``events``, ``logs`` and the store.
"""

from agentops.runtime.guards.pii import DEFAULT_ENTITIES, ENTITIES, PiiFinding, PiiScanner
from agentops.runtime.guards.policy import Detector, GuardDecision, Guards

__all__ = ["DEFAULT_ENTITIES", "ENTITIES", "Detector", "GuardDecision", "Guards", "PiiFinding", "PiiScanner"]
