"""Embedders for the semantic cache: wordllama offline by default, or any litellm model.

An embedder turns texts into L2-normalised float32 rows. :func:`make_embedder` reads the
config string: ``"wordllama"`` (256 dimensions), ``"wordllama:128"`` or ``"wordllama:64"``
(the leading dimensions of the same weights), or ``"litellm:<model>"``.

Vectors are stored as little-endian float32 bytes (:func:`vector_to_bytes`), so that
entries persisted elsewhere can be re-added at start without embedding again.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Protocol

from agentops.runtime.calls.cache.verify import load_wordllama, load_wordllama_async
from agentops.runtime.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = [
    "Embedder",
    "LiteLLMEmbedder",
    "WordLlamaEmbedder",
    "make_embedder",
    "normalise",
    "vector_from_bytes",
    "vector_to_bytes",
]

_INLINE_CHARS = 1000
"""Up to this many characters, wordllama embeds on the loop (~0.15 ms for a question,
less than the ~0.4 ms a hop to a worker thread costs); longer input goes to a thread."""


def vector_to_bytes(vector: NDArray[np.float32]) -> bytes:
    """The vector as little-endian float32 bytes (4 bytes per dimension)."""
    import numpy as np

    return np.asarray(vector, dtype="<f4").tobytes()


def vector_from_bytes(data: bytes) -> NDArray[np.float32]:
    """A vector stored by :func:`vector_to_bytes`."""
    import numpy as np

    return np.frombuffer(data, dtype="<f4").astype(np.float32)


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors, one row per text."""

    name: str
    """Stable identity of the model (``wordllama:256``); part of what a cache is keyed on."""
    dim: int
    """Vector length (0 until known, for a remote model before its first answer)."""

    async def embed(self, texts: list[str]) -> NDArray[np.float32]:
        """Embed the texts; the result has shape ``(len(texts), dim)``."""
        ...


class WordLlamaEmbedder:
    """The offline default: wordllama's weights ship in its wheel, nothing is downloaded.

    The model loads on first use (about 0.3 s, 16 MB). Short input is embedded on the
    event loop, where it is cheaper than the hop to a worker thread; long input goes to
    a thread.

    Args:
        dim: 256 (the shipped weights), or 128 or 64 (their leading dimensions).
    """

    def __init__(self, dim: int = 256) -> None:
        if dim not in (64, 128, 256):
            raise ConfigError(f"wordllama dimension {dim} is not available: use 64, 128 or 256")
        self.dim = dim
        self.name = f"wordllama:{dim}"
        self._trunc_dim = None if dim == 256 else dim

    async def embed(self, texts: list[str]) -> NDArray[np.float32]:
        """Embed the texts (see :class:`Embedder`)."""
        if sum(map(len, texts)) <= _INLINE_CHARS:
            await load_wordllama_async(self._trunc_dim)  # a thread hop only the first time
            return self._embed(texts)
        return await asyncio.to_thread(self._embed, texts)

    def _embed(self, texts: list[str]) -> NDArray[np.float32]:
        import numpy as np

        model = load_wordllama(self._trunc_dim)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return normalise(model.embed(texts, norm=False))


class LiteLLMEmbedder:
    """Any embedding model litellm can call (``openai/text-embedding-3-small``, ...).

    Args:
        model: litellm's model string.
        api_base: endpoint URL, or None for the provider's default.
        api_key: the key (from the environment, never from a file), or None.
    """

    def __init__(self, model: str, api_base: str | None = None, api_key: str | None = None) -> None:
        self.model = model
        self.api_base = api_base
        self._api_key = api_key
        self.name = f"litellm:{model}"
        self.dim = 0

    async def embed(self, texts: list[str]) -> NDArray[np.float32]:
        """Embed the texts with one ``litellm.aembedding`` call (see :class:`Embedder`)."""
        import numpy as np

        from agentops.runtime.calls.provider import load_litellm_async

        if not texts:
            return np.zeros((0, self.dim), np.float32)
        litellm = await load_litellm_async()
        resp = await litellm.aembedding(model=self.model, input=texts, api_base=self.api_base, api_key=self._api_key)
        rows = [item["embedding"] if isinstance(item, dict) else item.embedding for item in resp.data]
        vectors = normalise(np.asarray(rows, dtype=np.float32))
        self.dim = int(vectors.shape[1])
        return vectors


def make_embedder(spec: str, *, api_base: str | None = None, api_key: str | None = None) -> Embedder:
    """The embedder a config string names.

    Args:
        spec: ``"wordllama"``, ``"wordllama:128"`` (a dimension), or ``"litellm:<model>"``.
        api_base: endpoint of a litellm model.
        api_key: key of a litellm model.

    Raises:
        ConfigError: the spec names no known embedder.
    """
    kind, _, arg = spec.partition(":")
    if kind == "wordllama":
        if arg and not arg.isdigit():
            raise ConfigError(f"embedder {spec!r}: the wordllama dimension must be 64, 128 or 256")
        return WordLlamaEmbedder(int(arg) if arg else 256)
    if kind == "litellm" and arg:
        return LiteLLMEmbedder(arg, api_base=api_base, api_key=api_key)
    raise ConfigError(f"embedder {spec!r} is unknown: use 'wordllama', 'wordllama:<dim>' or 'litellm:<model>'")


def normalise(rows: Any) -> NDArray[np.float32]:
    """The rows scaled to unit length (a zero row stays zero), as float32."""
    import numpy as np

    array: NDArray[np.float32] = np.asarray(rows, dtype=np.float32)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    unit: NDArray[np.float32] = np.divide(array, norms, out=np.zeros_like(array), where=norms > 0)
    return unit
