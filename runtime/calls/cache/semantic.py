"""The semantic cache's core: a bounded, namespaced nearest-neighbour index with verification.

A lookup embeds the request's cacheable text, finds the nearest entries of its
namespace, and serves the most similar one that is at least the threshold similar AND
passes :func:`~agentops.runtime.calls.cache.verify.disagreement` (numbers, negation, question,
person, named terms and word order must agree: a similarity alone serves "capital of
Spain" to "capital of France").

The namespace is the caller's string, e.g. ``f"{prompt_artifact}|{model}|{scope}"``: a
search never leaves its namespace, so no answer crosses tenants, models or prompt
versions, and :meth:`SemanticIndex.drop_prefix` invalidates every namespace of a prompt
version at once.

The embedders (:mod:`agentops.runtime.calls.cache.embedders`) and the verification
(:mod:`agentops.runtime.calls.cache.verify`) are re-exported here, so that this module is the whole
public surface. Vectors are L2-normalised float32 rows; :func:`vector_to_bytes` /
:func:`vector_from_bytes` store them (little-endian float32) so that entries persisted
elsewhere can be re-added at start without embedding again.

Each namespace is searched exactly while small and through a usearch HNSW graph once
large (:mod:`agentops.runtime.calls.cache.neighbours`, which also says why usearch).
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agentops.runtime.calls.cache.embedders import (
    Embedder,
    LiteLLMEmbedder,
    WordLlamaEmbedder,
    make_embedder,
    normalise,
    vector_from_bytes,
    vector_to_bytes,
)
from agentops.runtime.calls.cache.neighbours import Neighbours
from agentops.runtime.calls.cache.verify import disagreement, load_wordllama_async

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = [
    "DEFAULT_THRESHOLD",
    "Embedder",
    "LiteLLMEmbedder",
    "Match",
    "Rejection",
    "SemanticIndex",
    "WordLlamaEmbedder",
    "disagreement",
    "load_wordllama_async",
    "make_embedder",
    "vector_from_bytes",
    "vector_to_bytes",
]

DEFAULT_THRESHOLD = 0.95
"""Cosine similarity from which a verified candidate is served (wordllama, 256 dims).

Measured on paraphrase_dev.jsonl by ``bench/cache.py``; a prompt may set its own.
"""

_CANDIDATES = 8
"""Nearest neighbours checked per lookup: the best that passes verification wins."""


@dataclass(frozen=True, slots=True)
class Match:
    """The cache entry a lookup serves."""

    entry_id: str
    similarity: float
    """Cosine similarity of the query and the entry, in [-1, 1]."""
    text: str
    """The entry's cacheable text."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """A candidate over the threshold that verification turned down."""

    entry_id: str
    similarity: float
    reason: str


@dataclass(slots=True)
class _Entry:
    namespace: str
    key: int
    text: str


@dataclass(slots=True)
class _Namespace:
    vectors: Neighbours
    ids: dict[int, str]
    """usearch-style integer key -> entry id."""


class SemanticIndex:
    """In-memory vectors of every namespace, bounded in total, evicting the least recently used.

    Adding an entry and serving it both count as a use. Not thread-safe: call it from one
    thread (the event loop); a bulk :meth:`add_many` at start may run in a worker thread
    before the loop uses the index.

    Args:
        max_entries: the most entries kept across all namespaces.
    """

    def __init__(self, max_entries: int = 100_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._namespaces: dict[str, _Namespace] = {}
        self._keys = itertools.count(1)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._entries

    def add(self, namespace: str, entry_id: str, text: str, vector: NDArray[np.float32]) -> list[str]:
        """Add (or replace) one entry; returns the ids evicted to stay within ``max_entries``."""
        return self.add_many(namespace, [(entry_id, text)], vector.reshape(1, -1))

    def add_many(self, namespace: str, entries: Sequence[tuple[str, str]], vectors: NDArray[np.float32]) -> list[str]:
        """Add (or replace) many entries of one namespace in one batch (the fast way to load).

        Args:
            namespace: where the entries live.
            entries: ``(entry_id, text)`` pairs, in the order of ``vectors``' rows.
            vectors: one row per entry; normalised here.

        Returns:
            The ids evicted to stay within ``max_entries`` (oldest use first).
        """
        import numpy as np

        if len(entries) != len(vectors):
            raise ValueError(f"{len(entries)} entries but {len(vectors)} vectors")
        if not entries:
            return []
        rows = normalise(np.asarray(vectors, dtype=np.float32))
        for entry_id, _ in entries:
            self.remove(entry_id)
        ns = self._namespaces.get(namespace)
        if ns is None:
            ns = self._namespaces[namespace] = _Namespace(Neighbours(rows.shape[1]), {})
        elif ns.vectors.dim != rows.shape[1]:
            raise ValueError(f"namespace {namespace!r} holds {ns.vectors.dim}-dimensional vectors, not {rows.shape[1]}")
        keys = [next(self._keys) for _ in entries]
        ns.vectors.add(keys, rows)
        for key, (entry_id, text) in zip(keys, entries, strict=True):
            ns.ids[key] = entry_id
            self._entries[entry_id] = _Entry(namespace, key, text)
        evicted: list[str] = []
        while len(self._entries) > self.max_entries:
            oldest = next(iter(self._entries))
            self.remove(oldest)
            evicted.append(oldest)
        return evicted

    def search(
        self,
        namespace: str,
        vector: NDArray[np.float32],
        threshold: float,
        text: str,
        *,
        rejected: list[Rejection] | None = None,
    ) -> Match | None:
        """The most similar entry of the namespace that reaches the threshold and agrees with the text.

        A match counts as a use (it moves to the back of the eviction order).

        Args:
            namespace: the only namespace searched.
            vector: the query's embedding.
            threshold: the least cosine similarity served.
            text: the query's cacheable text, verified against each candidate's text.
            rejected: if given, candidates over the threshold that failed verification
                are appended to it (for the span: "why was this not a hit").
        """
        import numpy as np

        ns = self._namespaces.get(namespace)
        if ns is None:
            return None
        query = normalise(np.asarray(vector, dtype=np.float32).reshape(1, -1))[0]
        for key, similarity in ns.vectors.search(query, _CANDIDATES):
            if similarity < threshold:
                break
            entry_id = ns.ids.get(key)
            if entry_id is None:
                continue
            entry = self._entries[entry_id]
            reason = disagreement(text, entry.text)
            if reason is None:
                self._entries.move_to_end(entry_id)
                return Match(entry_id, similarity, entry.text)
            if rejected is not None:
                rejected.append(Rejection(entry_id, similarity, reason))
        return None

    def remove(self, entry_id: str) -> bool:
        """Forget one entry; False if it was not there."""
        entry = self._entries.pop(entry_id, None)
        if entry is None:
            return False
        ns = self._namespaces[entry.namespace]
        ns.vectors.remove(entry.key)
        del ns.ids[entry.key]
        if not ns.ids:
            del self._namespaces[entry.namespace]
        return True

    def drop_namespace(self, namespace: str) -> list[str]:
        """Forget every entry of one namespace; returns their ids."""
        ns = self._namespaces.pop(namespace, None)
        if ns is None:
            return []
        dropped = list(ns.ids.values())
        for entry_id in dropped:
            del self._entries[entry_id]
        return dropped

    def drop_prefix(self, prefix: str) -> list[str]:
        """Forget every namespace whose name starts with the prefix (e.g. ``f"{artifact}|"``)."""
        dropped: list[str] = []
        for namespace in [n for n in self._namespaces if n.startswith(prefix)]:
            dropped += self.drop_namespace(namespace)
        return dropped

    def namespace_size(self, namespace: str) -> int:
        """How many entries the namespace holds."""
        ns = self._namespaces.get(namespace)
        return len(ns.ids) if ns else 0

    def memory_bytes(self) -> int:
        """Bytes the vectors (and the graphs' links) take; not the texts."""
        return sum(ns.vectors.memory_bytes() for ns in self._namespaces.values())
