"""The response cache: exact answers by request hash, and verified semantic answers by embedding.

Owns a request's policy and keys (:mod:`.keys`), the cache itself (:mod:`.responses`), the
semantic index per namespace (:mod:`.semantic`, with :mod:`.neighbours` for the nearest-neighbour search), the embedders
(:mod:`.embedders`: wordllama offline, or a litellm embedding model) and the verification
that a near match really asks the same thing (:mod:`.verify`).

May import: the foundations (``errors``, ``logs``, ``config``) and the store; litellm only
lazily (through :mod:`agentops.runtime.calls.provider`, at run time). Nothing of tasks,
rollouts or control.
"""

from agentops.runtime.calls.cache.embedders import normalise
from agentops.runtime.calls.cache.keys import CachePolicy, RequestKeys, cache_policy, request_keys
from agentops.runtime.calls.cache.neighbours import FLAT_BELOW, GRAPH_FROM, Neighbours
from agentops.runtime.calls.cache.responses import CacheHit, ResponseCache
from agentops.runtime.calls.cache.semantic import (
    DEFAULT_THRESHOLD,
    Embedder,
    LiteLLMEmbedder,
    Match,
    Rejection,
    SemanticIndex,
    WordLlamaEmbedder,
    disagreement,
    load_wordllama_async,
    make_embedder,
    vector_from_bytes,
    vector_to_bytes,
)
from agentops.runtime.calls.cache.verify import SYNONYM_SIMILARITY, UNMATCHED_WEIGHT, load_wordllama

__all__ = [
    "DEFAULT_THRESHOLD",
    "FLAT_BELOW",
    "GRAPH_FROM",
    "SYNONYM_SIMILARITY",
    "UNMATCHED_WEIGHT",
    "CacheHit",
    "CachePolicy",
    "Embedder",
    "LiteLLMEmbedder",
    "Match",
    "Neighbours",
    "Rejection",
    "RequestKeys",
    "ResponseCache",
    "SemanticIndex",
    "WordLlamaEmbedder",
    "cache_policy",
    "disagreement",
    "load_wordllama",
    "load_wordllama_async",
    "make_embedder",
    "normalise",
    "request_keys",
    "vector_from_bytes",
    "vector_to_bytes",
]
