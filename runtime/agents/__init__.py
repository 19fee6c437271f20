"""The sample agents that ship with agentops and run on the simulator out of the box, one for each
of the five patterns that dominate production:

- ``triage``: classifies a support ticket into billing / technical / account and
  routes it to a handler for that category (routing).
- ``drafting``: outline -> draft -> polish, with a validation gate between steps
  (prompt chaining).
- ``review``: three checks of a reply at once, then a vote on sending it
  (parallelization: sectioning and voting).
- ``briefing``: plans sections and spawns a ``drafting`` sub-task for each through the
  durable queue, then gathers them (orchestrator-workers).
- ``polishing``: drafts a reply, has a critic judge it, and redrafts with its feedback
  until it passes (evaluator-optimizer).

Importing this package registers the agents and their tools.
"""

from agentops.runtime.agents import briefing, drafting, polishing, review, triage

__all__ = ["briefing", "drafting", "polishing", "review", "triage"]
