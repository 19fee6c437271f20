"""The sample agents that ship with agentops and run on the simulator out of the box.

- ``triage``: classifies a support ticket into billing / technical / account and
  routes it to a handler for that category (the routing pattern).
- ``drafting``: outline -> draft -> polish, with a validation gate between steps
  (prompt chaining).

Importing this package registers both agents and their tools.
"""

from agentops.runtime.agents import drafting, triage

__all__ = ["drafting", "triage"]
