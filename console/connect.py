"""Which runtime a CLI command talks to: the configured store file, or ``--connect URL``.

Without ``--connect`` a command works on the database file of the configuration (also
while a runtime runs its workers in another process on this machine). With it, the
command goes through the control API of ``agentops serve``, authenticated by
``$AGENTOPS_TOKEN`` (for a server on this machine, the admin token it wrote next to
the store also works); the audit log then records the token's name.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentops.runtime import Control, Settings

__all__ = ["open_control"]


@asynccontextmanager
async def open_control(args: argparse.Namespace, settings: Settings) -> AsyncIterator[Control]:
    """The control a command uses (closed afterwards)."""
    url = getattr(args, "connect", None)
    if url:
        from agentops.runtime.control.remote import RemoteControl, resolve_token

        remote = await RemoteControl.connect(url, resolve_token(url, settings.store.path))
        try:
            yield remote
        finally:
            await remote.close()
        return
    from agentops.runtime import LocalControl

    local = await LocalControl.open_store(settings)
    try:
        yield local
    finally:
        await local.close()
