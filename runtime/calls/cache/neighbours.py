"""Nearest neighbours within one namespace: exact while small, an HNSW graph once large.

A namespace starts as a plain float32 matrix searched exactly (``rows @ query``: about
20 microseconds at 512 rows) and becomes a usearch HNSW graph when it reaches
:data:`GRAPH_FROM` entries (a one-time build of about 20 ms); it falls back to the matrix
below :data:`FLAT_BELOW`. The matrix keeps the many small namespaces (one per tenant and
prompt version) cheap: a usearch index costs about 48 KB even with one entry, a row
costs 1 KB.

Why usearch: brute force over 100,000 x 256 float32 took 8-20 ms a query on this shared
2-core machine (numpy's BLAS threads also contend with everything else); faiss-cpu's
HNSW index cannot remove entries, which LRU eviction and invalidation need; hnswlib has
had no release since 2023 and builds from source here. usearch is maintained, removes
entries in place (reusing their slots) and answers in about 0.5 ms at 100,000 entries.
Figures: ``bench/cache.py`` and docs/performance.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["FLAT_BELOW", "GRAPH_FROM", "Neighbours"]

GRAPH_FROM = 512
"""A namespace this large is searched through an HNSW graph."""

FLAT_BELOW = 128
"""A graph that shrinks below this goes back to exact search."""


class Neighbours:
    """The vectors of one namespace, under integer keys. Rows must be unit length.

    Args:
        dim: the vector length; every row must have it.
    """

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._flat: _Flat | None = _Flat(dim)
        self._graph: _Graph | None = None

    def __len__(self) -> int:
        store = self._store()
        return len(store)

    def _store(self) -> _Flat | _Graph:
        store = self._flat if self._flat is not None else self._graph
        assert store is not None
        return store

    def add(self, keys: list[int], rows: NDArray[np.float32]) -> None:
        """Add rows under new keys (never under a key already present)."""
        if self._flat is not None and len(self._flat) + len(keys) < GRAPH_FROM:
            self._flat.add(keys, rows)
            return
        if self._graph is None:
            assert self._flat is not None
            self._graph = _Graph(self.dim)
            old_keys, old_rows = self._flat.contents()
            if old_keys:
                self._graph.add(old_keys, old_rows)
            self._flat = None
        self._graph.add(keys, rows)

    def remove(self, key: int) -> None:
        """Remove one key (it must be present)."""
        if self._flat is not None:
            self._flat.remove(key)
            return
        assert self._graph is not None
        self._graph.remove(key)
        if 0 < len(self._graph) < FLAT_BELOW:
            keys, rows = self._graph.contents()
            self._flat = _Flat(self.dim)
            self._flat.add(keys, rows)
            self._graph = None

    def search(self, query: NDArray[np.float32], count: int) -> list[tuple[int, float]]:
        """Up to ``count`` ``(key, cosine similarity)`` pairs, most similar first."""
        store = self._store()
        return store.search(query, min(count, len(store))) if len(store) else []

    def memory_bytes(self) -> int:
        """Bytes held by the vectors and, for a graph, its links."""
        return self._store().memory_bytes()


class _Flat:
    """Rows in a growing float32 matrix; a removed row's slot takes the last row."""

    def __init__(self, dim: int) -> None:
        import numpy as np

        self._rows: NDArray[np.float32] = np.empty((8, dim), np.float32)
        self._keys: list[int] = []
        self._slots: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, keys: list[int], rows: NDArray[np.float32]) -> None:
        import numpy as np

        n = len(self._keys)
        if n + len(keys) > len(self._rows):
            grown = np.empty((max(2 * len(self._rows), n + len(keys)), self._rows.shape[1]), np.float32)
            grown[:n] = self._rows[:n]
            self._rows = grown
        self._rows[n : n + len(keys)] = rows
        for i, key in enumerate(keys):
            self._slots[key] = n + i
        self._keys += keys

    def remove(self, key: int) -> None:
        slot = self._slots.pop(key)
        last = len(self._keys) - 1
        if slot != last:
            moved = self._keys[last]
            self._rows[slot] = self._rows[last]
            self._keys[slot] = moved
            self._slots[moved] = slot
        self._keys.pop()

    def search(self, query: NDArray[np.float32], count: int) -> list[tuple[int, float]]:
        import numpy as np

        scores = self._rows[: len(self._keys)] @ query
        best = np.argpartition(-scores, count - 1)[:count] if count < len(scores) else np.arange(len(scores))
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(self._keys[i], float(scores[i])) for i in best.tolist()]

    def contents(self) -> tuple[list[int], NDArray[np.float32]]:
        return list(self._keys), self._rows[: len(self._keys)].copy()

    def memory_bytes(self) -> int:
        return int(self._rows.nbytes)


class _Graph:
    """usearch's HNSW index: inner product (the cosine, on unit rows), half-precision storage."""

    def __init__(self, dim: int) -> None:
        from usearch.index import Index

        # Half precision halves the memory and moves a similarity by well under 0.001.
        # M=16; ef 64 on insertion and search: near-duplicates are still found after the
        # graph has turned over twice through evictions (98% at ef 64, measured).
        self._index: Any = Index(
            ndim=dim, metric="ip", dtype="f16", connectivity=16, expansion_add=64, expansion_search=64
        )
        self._keys: set[int] = set()

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, keys: list[int], rows: NDArray[np.float32]) -> None:
        import numpy as np

        if len(keys) == 1:
            # usearch's batch path costs ~1.5 ms even for one row; the single-vector one ~0.4 ms.
            self._index.add(keys[0], rows[0])
        else:
            self._index.add(np.asarray(keys, dtype=np.uint64), rows)
        self._keys.update(keys)

    def remove(self, key: int) -> None:
        self._index.remove(key)
        self._keys.discard(key)

    def search(self, query: NDArray[np.float32], count: int) -> list[tuple[int, float]]:
        found = self._index.search(query, count)
        return [(k, 1.0 - d) for k, d in zip(found.keys.tolist(), found.distances.tolist(), strict=True)]

    def contents(self) -> tuple[list[int], NDArray[np.float32]]:
        import numpy as np

        keys = sorted(self._keys)
        rows: NDArray[np.float32] = np.asarray(self._index.get(np.asarray(keys, dtype=np.uint64)), dtype=np.float32)
        return keys, rows.reshape(len(keys), -1)

    def memory_bytes(self) -> int:
        return int(self._index.memory_usage)
