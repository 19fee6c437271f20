"""The wordllama model, loaded once per process from the weights inside its wheel.

The semantic cache (its embedder and its verification rules) and the guards' injection
detector use the same model: one loader, so it is in memory once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from typing import Any

__all__ = ["load_wordllama", "load_wordllama_async"]


def load_wordllama(trunc_dim: int | None = None) -> Any:
    """The wordllama model from the weights in its wheel, loaded once per dimension.

    Never downloads: the cache folder is the installed package's own folder and
    downloads are disabled, so a missing file fails loudly instead of reaching out.
    Blocking (about 0.3 s the first time): from async code use :func:`load_wordllama_async`.

    Args:
        trunc_dim: keep only the first 64 or 128 of the 256 dimensions, or None for all.

    Returns:
        The ``WordLlamaInference`` object.
    """
    model = _models.get(trunc_dim)
    if model is None:
        with _load_lock:
            model = _models.get(trunc_dim)
            if model is None:
                model = _models[trunc_dim] = _load(trunc_dim)
    return model


async def load_wordllama_async(trunc_dim: int | None = None) -> Any:
    """:func:`load_wordllama` in a worker thread the first time, so the event loop keeps running.

    Call ``await load_wordllama_async()`` at start: the semantic cache's verification and the injection
    detector need the full model, whatever embedder the cache searches with.
    """
    if trunc_dim in _models:
        return _models[trunc_dim]
    return await asyncio.to_thread(load_wordllama, trunc_dim)


_load_lock = threading.Lock()
_models: dict[int | None, Any] = {}


def _load(trunc_dim: int | None) -> Any:
    # wordllama's import calls logging.basicConfig(level=INFO): undo that on the root
    # logger, which belongs to the application.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    import wordllama
    from wordllama import WordLlama

    root.handlers[:] = handlers
    root.setLevel(level)
    folder = os.path.dirname(wordllama.__file__)
    return WordLlama.load(cache_dir=folder, disable_download=True, trunc_dim=trunc_dim)
