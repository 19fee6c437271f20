"""Widgets of the operations console."""

from agentops.console.widgets.status_bar import SCREEN_TABS, StatusBar
from agentops.console.widgets.tables import KeyTable

__all__ = ["SCREEN_TABS", "KeyTable", "StatusBar"]
