"""The response cache: an exact cache and a semantic cache in front of the providers.

Exact: the key is a hash of the route's models, the messages, the tools and the
parameters, and of the scope (user, session or shared) whose answers the request may
see. Only deterministic requests are cached (temperature at or below
``cache.max_temperature``; a prompt file may opt in with ``[cache] exact = true``).

Semantic: the request's cacheable text (its last user message) is embedded and looked
up inside a namespace of (prompt artifact, the rest of the request, scope), so no answer
crosses users or prompt versions; a candidate over the threshold must also pass a
verification (numbers, negations and named terms agree: see :mod:`~agentops.runtime.calls.cache.semantic`).

Both kinds share one bound (``cache.max_entries``, least recently used evicted first)
and a TTL; entries persist in the store and are reloaded at start. A new prompt version
has a new artifact id, hence new namespaces and keys: its predecessor's answers are
never served for it.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentops.runtime.calls.cache.keys import CachePolicy, RequestKeys
from agentops.runtime.config.costs import CacheSettings
from agentops.runtime.errors import ConfigError
from agentops.runtime.logs import get_logger
from agentops.store.costs import CacheEntryRecord, CostStore

if TYPE_CHECKING:
    from agentops.runtime.calls.cache.semantic import Embedder, SemanticIndex

__all__ = ["CacheHit", "CachePolicy", "RequestKeys", "ResponseCache"]

log = get_logger("agentops.cache")


@dataclass(frozen=True)
class CacheHit:
    """A cached answer and where it came from."""

    kind: str
    entry_id: str
    response: dict[str, Any]
    cost_usd: float
    """What the answer cost when it was made: the saving of this hit."""
    created_at: float
    similarity: float | None = None
    matched_text: str | None = None


@dataclass
class _Meta:
    kind: str
    key: str
    expires_at: float | None
    record: CacheEntryRecord


class ResponseCache:
    """Exact and semantic answers of one runtime, bounded, persisted."""

    def __init__(self, settings: CacheSettings, costs: CostStore, clock: Any = time.time) -> None:
        self.settings = settings
        self._costs = costs
        self._clock = clock
        self._entries: OrderedDict[str, _Meta] = OrderedDict()  # least recently used first
        self._exact: dict[str, str] = {}  # key -> entry id
        self._index: SemanticIndex | None = None
        self._embedder: Embedder | None = None
        self._audit_seen: int | None = None  # the audit log's last row looked at for clears

    async def load(self) -> None:
        """Reload the unexpired entries from the store (the semantic ones when an embedder is needed)."""
        await self.follow_clears()  # clears from now on are followed, not the ones already applied
        records = await self._costs.load_entries(limit=self.settings.max_entries)
        groups: dict[str, list[CacheEntryRecord]] = {}
        for record in records:
            if record.kind == "semantic" and record.vector is not None:
                groups.setdefault(record.key, []).append(record)
            self._remember(record)
        if groups:  # building the graphs takes ~0.2 ms an entry: off the event loop, before any lookup
            await asyncio.to_thread(self._bulk_add, groups)

    def _bulk_add(self, groups: dict[str, list[CacheEntryRecord]]) -> None:
        import numpy as np

        index = self._semantic_index()
        for namespace, records in groups.items():
            vectors = np.stack([self._vector_from(r.vector or b"") for r in records])
            index.add_many(namespace, [(r.id, r.text or "") for r in records], vectors)

    # -- lookup and store -----------------------------------------------------------------------

    async def lookup(
        self, keys: RequestKeys, policy: CachePolicy, rejected: list[dict[str, Any]] | None = None
    ) -> CacheHit | None:
        """The cached answer for a request: exact first, then semantic.

        ``rejected`` collects the semantic candidates over the threshold that failed verification
        (entry, similarity, reason): the span says why a near match was not served.
        """
        now = self._clock()
        if policy.exact:
            entry_id = self._exact.get(keys.exact)
            if entry_id is not None:
                hit = self._hit(entry_id, now)
                if hit is not None:
                    return hit
        if policy.semantic and keys.text and self._index is not None and len(self._index):
            vector = await self._embed(keys.text)
            refused: list[Any] = []
            match = self._index.search(keys.namespace, vector, self._threshold(policy), keys.text, rejected=refused)
            if rejected is not None:
                rejected += [
                    {"entry": r.entry_id, "similarity": round(r.similarity, 4), "reason": r.reason} for r in refused
                ]
            if match is not None:
                hit = self._hit(match.entry_id, now)
                if hit is not None:
                    return CacheHit(
                        "semantic",
                        hit.entry_id,
                        hit.response,
                        hit.cost_usd,
                        hit.created_at,
                        match.similarity,
                        match.text,
                    )
        return None

    async def store(
        self,
        keys: RequestKeys,
        policy: CachePolicy,
        entry_id: str,
        response: dict[str, Any],
        cost_usd: float,
        prompt: str | None,
    ) -> None:
        """Keep an answer under the request's exact key and (semantic) its text's vector."""
        now = self._clock()
        expires = now + policy.ttl_s
        if policy.exact:
            record = CacheEntryRecord(
                entry_id, "exact", keys.exact, response, cost_usd, now, expires, prompt, keys.artifact
            )
            self._remember(record)
            self._costs.put_entry(record)
        if policy.semantic and keys.text:
            vector = await self._embed(keys.text)
            sem_id = entry_id + ":s"
            self._semantic_index().add(keys.namespace, sem_id, keys.text, vector)
            record = CacheEntryRecord(
                sem_id,
                "semantic",
                keys.namespace,
                response,
                cost_usd,
                now,
                expires,
                prompt,
                keys.artifact,
                keys.text,
                _to_bytes(vector),
            )
            self._remember(record)
            self._costs.put_entry(record)
        self._evict()

    def forget(self, entry_id: str) -> None:
        """Drop the entries made from one call (its reply failed the validation gate)."""
        base = entry_id.removesuffix(":s")
        gone = [i for i in (base, base + ":s") if i in self._entries]
        for i in gone:
            self._drop(i)
        if gone:
            self._costs.delete_entries(gone)

    async def clear(self, *, prompt: str | None, actor: str, via: str) -> int:
        """Drop every entry (or one prompt's, all versions), audited.

        Raises:
            ConfigError: an empty prompt name.
        """
        if prompt == "":
            raise ConfigError("name the prompt whose cached answers to clear (or none, for all)")
        self._drop_prompt(prompt)
        return await self._costs.clear(prompt=prompt, actor=actor, via=via)

    async def follow_clears(self) -> int:
        """Apply in memory the clears another process (the CLI on the store file) made. Returns how many."""
        if self._audit_seen is None:
            self._audit_seen, _ = await self._costs.clears_since(0)
            return 0
        self._audit_seen, targets = await self._costs.clears_since(self._audit_seen)
        for target in targets:
            self._drop_prompt(None if target == "*" else target)
        return len(targets)

    def _drop_prompt(self, prompt: str | None) -> None:
        for entry_id, meta in list(self._entries.items()):
            name = (meta.record.prompt or "").split("@v", 1)[0]
            if prompt is None or name == prompt:
                self._drop(entry_id)

    def __len__(self) -> int:
        return len(self._entries)

    # -- internals ------------------------------------------------------------------------------

    def _hit(self, entry_id: str, now: float) -> CacheHit | None:
        meta = self._entries.get(entry_id)
        if meta is None:
            return None
        if meta.expires_at is not None and meta.expires_at <= now:
            self._drop(entry_id)
            self._costs.delete_entries([entry_id])
            return None
        self._entries.move_to_end(entry_id)
        self._costs.note_hit(entry_id, now)
        r = meta.record
        return CacheHit(meta.kind, entry_id, r.response, r.cost_usd, r.created_at)

    def _remember(self, record: CacheEntryRecord) -> None:
        self._entries[record.id] = _Meta(record.kind, record.key, record.expires_at, record)
        self._entries.move_to_end(record.id)
        if record.kind == "exact":
            self._exact[record.key] = record.id

    def _evict(self) -> None:
        gone = []
        while len(self._entries) > self.settings.max_entries:
            entry_id = next(iter(self._entries))
            self._drop(entry_id)
            gone.append(entry_id)
        if gone:
            self._costs.delete_entries(gone)

    def _drop(self, entry_id: str) -> None:
        meta = self._entries.pop(entry_id, None)
        if meta is None:
            return
        if meta.kind == "exact" and self._exact.get(meta.key) == entry_id:
            del self._exact[meta.key]
        elif meta.kind == "semantic" and self._index is not None:
            self._index.remove(entry_id)

    def _threshold(self, policy: CachePolicy) -> float:
        from agentops.runtime.calls.cache.semantic import DEFAULT_THRESHOLD

        return policy.threshold if policy.threshold is not None else DEFAULT_THRESHOLD

    def _semantic_index(self) -> SemanticIndex:
        if self._index is None:
            from agentops.runtime.calls.cache.semantic import SemanticIndex

            # The cache's own LRU bounds the entries; the index never evicts by itself.
            self._index = SemanticIndex(max_entries=self.settings.max_entries + 1)
        return self._index

    async def _embed(self, text: str) -> Any:
        if self._embedder is None:
            from agentops.runtime.calls.cache.semantic import make_embedder

            self._embedder = make_embedder(self.settings.embedder)
        vectors = await self._embedder.embed([text])
        return vectors[0]

    @staticmethod
    def _vector_from(data: bytes) -> Any:
        from agentops.runtime.calls.cache.semantic import vector_from_bytes

        return vector_from_bytes(data)


def _to_bytes(vector: Any) -> bytes:
    from agentops.runtime.calls.cache.semantic import vector_to_bytes

    return vector_to_bytes(vector)
