"""Structured logs with structlog: JSON lines for ``serve``, readable on a TTY.

Every line logged while a task runs carries its ``task_id`` and ``trace_id``
(bound as context variables by the runtime).
"""

from __future__ import annotations

import logging
import sys
from typing import Literal

import structlog

__all__ = ["configure_logging"]


def configure_logging(level: str = "warning", fmt: Literal["auto", "json", "console"] = "auto") -> None:
    """Configure structlog (and the stdlib loggers it shares a level with) for this process."""
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
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=max(numeric, logging.WARNING), stream=sys.stderr, force=True)
    for noisy in ("LiteLLM", "litellm", "httpx", "openai", "aiosqlite", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
