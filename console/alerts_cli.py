"""CLI commands for alerts: ``agentops alerts [list|ack ID|silence ID --for SPAN]``.

They work on the configured store (a runtime elsewhere on this machine sees an
acknowledgement or a silence at its next evaluation), or with ``--connect URL`` through a
server's control API. Acknowledgements and silences are audited under the operator's name.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Awaitable, Callable

from agentops.console import render
from agentops.console.arguments import UsageError
from agentops.console.connect import open_control
from agentops.runtime import Settings
from agentops.runtime.control.operations import current_actor
from agentops.store import AlertRecord

__all__ = ["HANDLERS", "alerts_table"]

Handler = Callable[[argparse.Namespace, Settings], Awaitable[int]]


def _when(at: float | None) -> str:
    return dt.datetime.fromtimestamp(at).strftime("%m-%d %H:%M:%S") if at else "-"


def alerts_table(alerts: list[AlertRecord]) -> str:
    """Alerts as a table: id, state (acknowledged, silenced), rule, key, when, and what fired it."""
    rows = []
    for a in alerts:
        state = a.status + (" acked" if a.acked_by else "") + (" silenced" if a.silenced_until else "")
        rows.append((a.id, state, a.severity, a.rule, a.key, _when(a.fired_at), _when(a.resolved_at), a.summary))
    return render.table(["alert", "state", "severity", "rule", "key", "fired", "resolved", "summary"], rows)


async def _alerts(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "list":
        if args.id is not None:
            raise UsageError("list takes no id (ack ID, or silence ID --for 1h)")
        async with open_control(args, settings) as control:
            alerts = await control.alerts(status=None if args.all else "firing", limit=args.limit)
        print(alerts_table(alerts) if alerts else "no alerts firing" if not args.all else "no alerts")
        return 0
    if args.id is None:
        raise UsageError(f"{args.action} needs an alert id (agentops alerts lists them)")
    async with open_control(args, settings) as control:
        if args.action == "ack":
            alert = await control.acknowledge_alert(args.id, actor=current_actor(), via="cli")
            print(f"{alert.id} acknowledged ({alert.rule} {alert.key}: {alert.status})")
            return 0
        if args.duration is None:
            raise UsageError("silence needs --for SPAN, e.g. --for 30m, 4h or 1d")
        try:
            seconds = render.parse_since(args.duration)
        except ValueError as exc:
            raise UsageError(f"--for: {exc}") from None
        alert = await control.silence_alert(args.id, seconds, actor=current_actor(), via="cli", reason=args.reason)
    print(f"{alert.rule} {alert.key} silenced until {_when(alert.silenced_until)} (firings recorded, not delivered)")
    return 0


HANDLERS: dict[str, Handler] = {"alerts": _alerts}
