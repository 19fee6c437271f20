"""The console's screens: one per mode (Traces, Circuits, Costs, Escalations, Prompts, Flags, Alerts,
Guards), plus
drill-downs, modals and help."""

from agentops.console.screens.alerts import AlertsScreen
from agentops.console.screens.base import ConsoleScreen
from agentops.console.screens.circuits import CircuitsScreen
from agentops.console.screens.confirm import ConfirmScreen
from agentops.console.screens.costs import CostsScreen
from agentops.console.screens.decide import DecideScreen
from agentops.console.screens.escalation import EscalationScreen
from agentops.console.screens.escalations import EscalationsScreen
from agentops.console.screens.flags import FlagsScreen
from agentops.console.screens.guards import GuardsScreen
from agentops.console.screens.help import HelpScreen
from agentops.console.screens.prompts import PromptsScreen
from agentops.console.screens.trace import TraceScreen
from agentops.console.screens.traces import TaskFilter, TracesScreen

__all__ = [
    "AlertsScreen",
    "CircuitsScreen",
    "ConfirmScreen",
    "ConsoleScreen",
    "CostsScreen",
    "DecideScreen",
    "EscalationScreen",
    "EscalationsScreen",
    "FlagsScreen",
    "GuardsScreen",
    "HelpScreen",
    "PromptsScreen",
    "TaskFilter",
    "TraceScreen",
    "TracesScreen",
]
