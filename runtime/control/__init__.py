"""The control plane: the one interface the console and the CLI use, in-process or over HTTP.

Owns the :class:`Control` protocol (:mod:`.protocol`), :class:`LocalControl` over a runtime
in this process or a store file (:mod:`.local`, its costs part in :mod:`.local_costs`),
:class:`RemoteControl` over ``agentops serve`` (:mod:`.remote`, with :mod:`.link` for the
requests and the live event stream), the operator's actions on the queue, escalations and
alerts, audited (:mod:`.operations`), and the control API itself (:mod:`.api`: FastAPI routes
and bodies, the event stream, tokens and roles, Prometheus metrics, the server process),
loaded only by ``agentops serve``.

May import: everything in the runtime below it. It is the only package that knows the API
(FastAPI and uvicorn are imported nowhere else; import-linter checks it).
"""

from typing import TYPE_CHECKING, Any

from agentops.runtime.control.local import (
    BudgetStatus,
    CacheTotals,
    CallBucket,
    CallTotals,
    Control,
    LocalControl,
    RuntimeStatus,
    start_of_day,
    start_of_today,
)
from agentops.runtime.control.operations import Operations, current_actor

if TYPE_CHECKING:
    from agentops.runtime.control.remote import TOKEN_ENV, RemoteControl, resolve_token

_REMOTE = frozenset({"TOKEN_ENV", "RemoteControl", "resolve_token"})


def __getattr__(name: str) -> Any:
    # RemoteControl brings httpx (which loads rich): only a client of a server needs it.
    if name in _REMOTE:
        from agentops.runtime.control import remote

        return getattr(remote, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "TOKEN_ENV",
    "BudgetStatus",
    "CacheTotals",
    "CallBucket",
    "CallTotals",
    "Control",
    "LocalControl",
    "Operations",
    "RemoteControl",
    "RuntimeStatus",
    "current_actor",
    "resolve_token",
    "start_of_day",
    "start_of_today",
]
