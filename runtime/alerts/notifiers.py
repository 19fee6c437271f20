"""Where an alert goes when it fires and when it resolves: a webhook (a JSON POST, signed with
HMAC-SHA256 in ``X-Agentops-Signature: sha256=<hex>`` over ``<timestamp>.<body>``, the
timestamp in ``X-Agentops-Timestamp`` so a receiver can refuse a replay; retried with backoff
on connection errors, timeouts and 5xx) and a command (run with the alert as JSON on its standard input).
A delivery that fails is logged and counted, never raised: it never fails a call or a task.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import random
import time
from dataclasses import asdict
from typing import Any, Protocol
from urllib.parse import urlsplit

from agentops.runtime.config import AlertSettings, CommandHookSettings, WebhookSettings
from agentops.runtime.errors import ConfigError
from agentops.runtime.logs import get_logger
from agentops.store import AlertRecord

__all__ = ["CommandHook", "Notifier", "Webhook", "alert_payload", "notifiers_of", "signature"]

log = get_logger("agentops.alerts")

SIGNATURE_HEADER = "X-Agentops-Signature"
TIMESTAMP_HEADER = "X-Agentops-Timestamp"


class Notifier(Protocol):
    """Delivers alerts somewhere."""

    name: str

    async def deliver(self, payload: dict[str, Any]) -> bool:
        """Deliver one alert event; False when it could not be (logged)."""
        ...


def alert_payload(event: str, alert: AlertRecord) -> dict[str, Any]:
    """What a notifier sends: ``{"event": "firing" | "resolved", "alert": {...}}``."""
    return {"event": event, "alert": asdict(alert)}


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value: ``sha256=<hex of HMAC-SHA256(secret, "<timestamp>." + body)>``."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _where(url: str) -> str:
    """A URL as logs show it: scheme and host (a hook's path may be its secret)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}/..."


class Webhook:
    """A JSON POST of each alert event."""

    name = "webhook"

    def __init__(self, settings: WebhookSettings) -> None:
        self.settings = settings
        self.secret = os.environ.get(settings.secret_env) if settings.secret_env else None
        if settings.secret_env and not self.secret:
            raise ConfigError(f"alerts.webhook.secret_env names {settings.secret_env}, which is not set")
        url = settings.url or os.environ.get(settings.url_env or "", "")
        if not url:
            raise ConfigError(f"alerts.webhook.url_env names {settings.url_env}, which is not set")
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"alerts.webhook.url_env: {settings.url_env} does not hold an http(s) URL")
        self.url = url

    async def deliver(self, payload: dict[str, Any]) -> bool:
        import httpx

        body = json.dumps(payload, default=str).encode()
        headers = {"content-type": "application/json", "user-agent": "agentops-alerts"}
        if self.secret:
            timestamp = str(int(time.time()))
            headers[TIMESTAMP_HEADER] = timestamp
            headers[SIGNATURE_HEADER] = signature(self.secret, timestamp, body)
        s = self.settings
        async with httpx.AsyncClient(timeout=s.timeout_s) as client:
            for attempt in range(s.retries + 1):
                try:
                    response = await client.post(self.url, content=body, headers=headers)
                except httpx.HTTPError as exc:
                    problem = f"{type(exc).__name__}: {exc}"
                else:
                    if response.status_code < 500:
                        if response.is_success:
                            return True
                        log.error("alert webhook refused the alert", url=_where(self.url), status=response.status_code)
                        return False  # a 4xx will not change on a retry
                    problem = f"HTTP {response.status_code}"
                if attempt < s.retries:
                    await asyncio.sleep(min(8.0, 0.5 * 2**attempt) * random.uniform(0.5, 1.0))
        log.error("alert webhook failed", url=_where(self.url), error=_hide(problem, self.url), attempts=s.retries + 1)
        return False


class CommandHook:
    """A command run for each alert event, the payload on its standard input."""

    name = "command"

    def __init__(self, settings: CommandHookSettings) -> None:
        self.settings = settings

    async def deliver(self, payload: dict[str, Any]) -> bool:
        s = self.settings
        try:
            proc = await asyncio.create_subprocess_exec(
                *s.argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            log.error("alert command could not start", argv=s.argv, error=str(exc))
            return False
        try:
            _, err = await asyncio.wait_for(proc.communicate(json.dumps(payload, default=str).encode()), s.timeout_s)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            log.error("alert command timed out", argv=s.argv, timeout_s=s.timeout_s)
            return False
        if proc.returncode != 0:
            log.error(
                "alert command failed", argv=s.argv, code=proc.returncode, stderr=err.decode(errors="replace")[:500]
            )
            return False
        return True


def _hide(text: str, url: str) -> str:
    """An error message without the URL's path (httpx names the URL it failed on)."""
    return text.replace(url, _where(url))


def notifiers_of(settings: AlertSettings) -> list[Notifier]:
    """The configured notifiers (none while alerts are off).

    Raises:
        ConfigError: a webhook's signing key or URL variable is named but not set.
    """
    out: list[Notifier] = []
    if not settings.enabled:
        return out
    if settings.webhook is not None:
        out.append(Webhook(settings.webhook))
    if settings.command is not None:
        out.append(CommandHook(settings.command))
    return out
