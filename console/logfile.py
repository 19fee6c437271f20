"""Logs to a file while the console owns the terminal (a log line on stderr would tear the screen)."""

from __future__ import annotations

import logging
from pathlib import Path

__all__ = ["log_to_file"]


def log_to_file(path: Path, level: str) -> None:
    """Send structlog and stdlib logging of this process to ``path`` as JSON lines."""
    import structlog

    path.parent.mkdir(parents=True, exist_ok=True)
    stream = path.open("a", encoding="utf-8")  # stays open for the life of the process
    numeric = getattr(logging, level.upper(), logging.WARNING)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=max(numeric, logging.WARNING), stream=stream, force=True)
    for noisy in ("LiteLLM", "litellm", "httpx", "openai", "aiosqlite"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
