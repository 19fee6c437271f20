"""Structured logs with structlog: JSON lines for ``serve``, readable on a TTY.

Every line logged while a task runs carries its ``task_id`` and ``trace_id``
(bound as context variables by the runtime).

structlog is imported on first use, not when ``agentops.runtime`` is imported:
structlog imports rich when it is installed, and the core must load no UI library.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator, MutableMapping
from typing import Any, Literal

__all__ = ["bound_task", "configure_logging", "get_logger", "set_redactor"]

_redactor: list[Any] = [None]
"""The process's redactor of log lines (``[guards] redact_pii``), or None."""


def set_redactor(redact: Any) -> None:
    """Redact every value of every log line from now on (None: stop)."""
    _redactor[0] = redact


def _redact(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    redact = _redactor[0]
    if redact is None:
        return event
    return {k: redact(v) if isinstance(v, str | dict | list) else v for k, v in event.items()}


class _LazyLogger:
    """A structlog logger created on its first call."""

    def __init__(self, name: str, **bound: Any) -> None:
        self._name = name
        self._bound = bound
        self._logger: Any = None

    def __getattr__(self, method: str) -> Any:
        if self._logger is None:
            import structlog

            self._logger = structlog.get_logger(self._name).bind(**self._bound)
        return getattr(self._logger, method)


def get_logger(name: str, **bound: Any) -> Any:
    """A logger that imports structlog only when it first logs."""
    return _LazyLogger(name, **bound)


@contextlib.contextmanager
def bound_task(task_id: str, trace_id: str) -> Iterator[None]:
    """Bind ``task_id`` and ``trace_id`` to every log line inside the block."""
    import structlog

    with structlog.contextvars.bound_contextvars(task_id=task_id, trace_id=trace_id):
        yield


def configure_logging(level: str = "warning", fmt: Literal["auto", "json", "console"] = "auto") -> None:
    """Configure structlog (and the stdlib loggers it shares a level with) for this process."""
    import structlog

    numeric = getattr(logging, level.upper(), logging.WARNING)
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _redact,  # after the traceback is text: it may quote the data that failed
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=max(numeric, logging.WARNING), stream=sys.stderr, force=True)
    for noisy in ("LiteLLM", "litellm", "httpx", "openai", "aiosqlite", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
