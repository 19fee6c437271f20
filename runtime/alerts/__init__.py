"""Alerts: rules evaluated continuously over the store and the event stream, and where their
firings go.

Owns the built-in rules (:mod:`.rules`: tool error rate, P95 latency against its baseline,
daily cost against its rolling average, tokens of one task against its agent's mean), the
engine that turns their findings into pending, firing and resolved alerts, written once and
delivered unless silenced (:mod:`.engine`), and the notifiers (:mod:`.notifiers`: a signed
webhook, a command). Canary rollbacks and shadow regressions arrive as events and become
alerts too.

May import: calls (for the day's start), config, the foundations and the store. Never tasks,
rollouts, control or the console: rollouts reach it only through the event bus.
"""

from agentops.runtime.alerts.engine import EVENT_RULES, AlertEngine
from agentops.runtime.alerts.notifiers import CommandHook, Notifier, Webhook, alert_payload, signature
from agentops.runtime.alerts.rules import DailyCost, Finding, LatencyP95, Rule, TaskTokens, ToolErrorRate, p95

__all__ = [
    "EVENT_RULES",
    "AlertEngine",
    "CommandHook",
    "DailyCost",
    "Finding",
    "LatencyP95",
    "Notifier",
    "Rule",
    "TaskTokens",
    "ToolErrorRate",
    "Webhook",
    "alert_payload",
    "p95",
    "signature",
]
