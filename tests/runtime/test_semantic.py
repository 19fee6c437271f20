"""The semantic cache's core: what hits, what must not, isolation, eviction, invalidation, storage.

Real wordllama embeddings throughout (its weights ship in the wheel: nothing is
downloaded). The LiteLLM embedder is not exercised: the simulator serves no
``/v1/embeddings``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agentops.runtime.calls.cache.neighbours import GRAPH_FROM
from agentops.runtime.calls.cache.semantic import (
    DEFAULT_THRESHOLD,
    LiteLLMEmbedder,
    Rejection,
    SemanticIndex,
    WordLlamaEmbedder,
    disagreement,
    make_embedder,
    vector_from_bytes,
    vector_to_bytes,
)
from agentops.runtime.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
NS = "support-answer@3|gpt-4o-mini|tenant:acme"

embedder = WordLlamaEmbedder()


async def vec(text: str) -> np.ndarray:
    return (await embedder.embed([text]))[0]


async def index_with(*texts: str, namespace: str = NS, max_entries: int = 100) -> SemanticIndex:
    index = SemanticIndex(max_entries=max_entries)
    for i, text in enumerate(texts):
        index.add(namespace, f"e{i}", text, await vec(text))
    return index


async def lookup(index: SemanticIndex, text: str, threshold: float = DEFAULT_THRESHOLD, namespace: str = NS):
    rejected: list[Rejection] = []
    match = index.search(namespace, await vec(text), threshold, text, rejected=rejected)
    return match, rejected


async def test_a_paraphrase_hits_with_the_entry_and_its_similarity() -> None:
    index = await index_with("How do I reset my password?", "What are your opening hours?")
    match, _ = await lookup(index, "How can I reset my password?")
    assert match is not None
    assert match.entry_id == "e0"
    assert match.text == "How do I reset my password?"
    assert DEFAULT_THRESHOLD <= match.similarity <= 1.0


async def test_an_unrelated_question_misses() -> None:
    index = await index_with("How do I reset my password?")
    match, rejected = await lookup(index, "What are your opening hours?")
    assert match is None
    assert rejected == []  # not even a candidate: far below the threshold


@pytest.mark.parametrize(
    ("cached", "query", "reason"),
    [
        ("Book a table for 3 people tonight", "Book a table for 4 people tonight", "numbers differ: 4 vs 3"),
        ("Is it safe to eat raw eggs?", "Is it not safe to eat raw eggs?", "negation differs"),
        ("What is the capital of France?", "What is the capital of Spain?", "term differs: spain vs france"),
        ("How do I learn C++?", "How do I learn C#?", "term differs: c# vs c++"),
        ("What is my name?", "What is your name?", "person differs: second person vs first person"),
        ("Why is the sky blue?", "When is the sky blue?", "question differs: when vs why"),
        (
            "How do I convert Celsius to Fahrenheit?",
            "How do I convert Fahrenheit to Celsius?",
            "word order differs: fahrenheit and celsius swap places",
        ),
    ],
)
async def test_a_question_that_differs_in_one_detail_is_not_served_even_over_the_threshold(
    cached: str, query: str, reason: str
) -> None:
    index = await index_with(cached)
    # A prompt may set a low threshold; the candidate is over it and still refused.
    match, rejected = await lookup(index, query, threshold=0.4)
    assert match is None
    assert [(r.entry_id, r.reason) for r in rejected] == [("e0", reason)]
    assert rejected[0].similarity >= 0.4


async def test_the_number_case_is_over_the_default_threshold_too() -> None:
    a, b = "Book a table for 3 people tonight", "Book a table for 4 people tonight"
    assert float(await vec(a) @ await vec(b)) >= DEFAULT_THRESHOLD  # a plain threshold would serve it
    index = await index_with(a)
    match, rejected = await lookup(index, b)
    assert match is None
    assert rejected[0].reason == "numbers differ: 4 vs 3"


def test_disagreement_lets_rewordings_through() -> None:
    assert disagreement("How can I reset my password?", "How do I reset my password?") is None
    assert disagreement("What is the best way to learn Python?", "What are the best ways to learn Python?") is None
    assert disagreement("How do I lose weight fast?", "How can I lose weight quickly?") is None  # near-synonyms
    assert disagreement("Is it safe to eat raw eggs?", "Is it safe to eat raw eggs") is None


async def test_the_best_verified_candidate_wins_over_a_closer_one_that_disagrees() -> None:
    index = await index_with("Book a table for 3 people tonight", "Please book a table for 4 people tonight")
    match, rejected = await lookup(index, "Book a table for 4 people tonight", threshold=0.8)
    assert match is not None and match.entry_id == "e1"
    assert [r.entry_id for r in rejected] == ["e0"]


async def test_namespaces_are_isolated() -> None:
    text = "How do I reset my password?"
    index = await index_with(text, namespace="support-answer@3|gpt-4o-mini|tenant:globex")
    match, _ = await lookup(index, text, namespace=NS)
    assert match is None
    match, _ = await lookup(index, text, namespace="support-answer@3|gpt-4o-mini|tenant:globex")
    assert match is not None


async def test_eviction_keeps_the_size_bounded_and_drops_the_least_recently_used() -> None:
    texts = ["How do I reset my password?", "What are your opening hours?", "Where is my parcel?"]
    index = await index_with(*texts, max_entries=3)
    match, _ = await lookup(index, "How can I reset my password?")  # e0 is now the most recently used
    assert match is not None and match.entry_id == "e0"
    evicted = index.add(NS, "e3", "How do I cancel my subscription?", await vec("How do I cancel my subscription?"))
    assert evicted == ["e1"]
    assert len(index) == 3
    assert "e1" not in index and "e0" in index
    assert (await lookup(index, "What are your opening hours?"))[0] is None
    evicted = index.add(NS, "e4", "Do you ship abroad?", await vec("Do you ship abroad?"))
    assert evicted == ["e2"]
    assert len(index) == 3


async def test_a_namespace_keeps_hitting_as_it_grows_past_the_graph_size_and_shrinks_back() -> None:
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((GRAPH_FROM + 100, embedder.dim)).astype(np.float32)
    text = "How do I reset my password?"
    index = await index_with(text, max_entries=10_000)
    small = index.memory_bytes()
    index.add_many(NS, [(f"n{i}", f"filler {i}") for i in range(len(noise))], noise)
    assert index.namespace_size(NS) == GRAPH_FROM + 101
    assert index.memory_bytes() > small  # now an HNSW graph
    match, _ = await lookup(index, "How can I reset my password?")
    assert match is not None and match.entry_id == "e0"
    for i in range(len(noise) - 10):
        index.remove(f"n{i}")
    assert index.namespace_size(NS) == 11  # back to exact search
    match, _ = await lookup(index, "How can I reset my password?")
    assert match is not None and match.entry_id == "e0"
    assert index.search(NS, noise[-1], 0.99, f"filler {len(noise) - 1}") is not None


async def test_adding_an_existing_id_replaces_the_entry() -> None:
    index = await index_with("How do I reset my password?")
    index.add(NS, "e0", "Where is my parcel?", await vec("Where is my parcel?"))
    assert len(index) == 1
    assert (await lookup(index, "How can I reset my password?"))[0] is None
    assert (await lookup(index, "Where is my parcel?"))[0] is not None


async def test_dropping_a_prompt_version_prefix_invalidates_all_its_namespaces() -> None:
    text = "How do I reset my password?"
    index = SemanticIndex()
    v = await vec(text)
    index.add("support@3|gpt-4o-mini|tenant:acme", "a", text, v)
    index.add("support@3|gpt-4o-mini|tenant:globex", "b", text, v)
    index.add("support@4|gpt-4o-mini|tenant:acme", "c", text, v)
    index.add("support@30|gpt-4o-mini|tenant:acme", "d", text, v)
    assert sorted(index.drop_prefix("support@3|")) == ["a", "b"]
    assert len(index) == 2
    assert index.search("support@3|gpt-4o-mini|tenant:acme", v, DEFAULT_THRESHOLD, text) is None
    match = index.search("support@4|gpt-4o-mini|tenant:acme", v, DEFAULT_THRESHOLD, text)
    assert match is not None and match.entry_id == "c"
    assert index.drop_namespace("support@30|gpt-4o-mini|tenant:acme") == ["d"]
    assert index.remove("c") and not index.remove("c")
    assert len(index) == 0


async def test_vectors_round_trip_through_bytes_and_serve_after_a_restart() -> None:
    text = "How do I reset my password?"
    stored = vector_to_bytes(await vec(text))
    assert len(stored) == 4 * embedder.dim
    restored = vector_from_bytes(stored)
    assert restored.dtype == np.float32
    np.testing.assert_array_equal(restored, await vec(text))
    fresh = SemanticIndex()  # as after a restart: entries re-added from the store
    fresh.add_many(NS, [("e0", text)], restored.reshape(1, -1))
    match, _ = await lookup(fresh, "How can I reset my password?")
    assert match is not None and match.entry_id == "e0"


async def test_wordllama_embeddings_are_unit_float32_rows_short_or_long() -> None:
    short = await embedder.embed(["Where is my parcel?", "Do you ship abroad?"])
    long = await embedder.embed(["Where is my parcel? " * 100])  # embedded in a worker thread
    for rows in (short, long):
        assert rows.dtype == np.float32
        assert rows.shape[1] == 256
        np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, rtol=1e-5)
    assert (await WordLlamaEmbedder(128).embed(["Where is my parcel?"])).shape == (1, 128)


def test_make_embedder_reads_the_config_string() -> None:
    assert make_embedder("wordllama").name == "wordllama:256"
    assert make_embedder("wordllama:64").dim == 64
    remote = make_embedder("litellm:openai/text-embedding-3-small", api_base="http://127.0.0.1:1/v1")
    assert isinstance(remote, LiteLLMEmbedder) and remote.name == "litellm:openai/text-embedding-3-small"
    for bad in ("bert", "wordllama:512", "wordllama:big", "litellm:"):
        with pytest.raises(ConfigError, match=r"embedder|dimension"):
            make_embedder(bad)


def test_importing_the_module_loads_no_model_and_no_vector_library() -> None:
    code = (
        "import sys, agentops.runtime.calls.cache.semantic; "
        "print(sorted(m for m in ('numpy', 'wordllama', 'usearch', 'litellm') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


# -- quality on the shared evaluation data ---------------------------------------------

DATA = Path(os.environ.get("AGENTOPS_SHARED_DATA") or ROOT.parent / "shared" / "data") / "paraphrase_dev.jsonl"
MEASURED_RECALL = 0.10
"""The recall this module reaches on dev at the default threshold (11.0%), less a margin."""


@pytest.fixture(scope="module")
def decisions() -> tuple[np.ndarray, np.ndarray]:
    """Per pair of the dev set: whether the cache would serve b from a, and the label."""
    if not DATA.exists():
        pytest.skip(f"{DATA} not found (set AGENTOPS_SHARED_DATA to the folder holding paraphrase_dev.jsonl)")
    pairs = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]
    model = WordLlamaEmbedder()
    a = asyncio.run(model.embed([p["a"] for p in pairs]))
    b = asyncio.run(model.embed([p["b"] for p in pairs]))
    cosine = (a * b).sum(axis=1)
    hit = np.array(
        [c >= DEFAULT_THRESHOLD and disagreement(p["b"], p["a"]) is None for c, p in zip(cosine, pairs, strict=True)]
    )
    return hit, np.array([bool(p["duplicate"]) for p in pairs])


@pytest.mark.slow
def test_dev_set_false_hits_at_most_one_percent_at_the_default_threshold(
    decisions: tuple[np.ndarray, np.ndarray],
) -> None:
    hit, duplicate = decisions
    false_hits, recall = hit[~duplicate].mean(), hit[duplicate].mean()
    assert false_hits <= 0.01, f"false hits {false_hits:.2%} (recall {recall:.2%})"
    assert recall >= MEASURED_RECALL, f"recall {recall:.2%} (false hits {false_hits:.2%})"


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="issue 7 asks recall >= 25% at <= 1% false hits; wordllama + verification reaches 11% on dev "
    "(see docs/performance.md): a stronger embedder is needed",
)
def test_dev_set_recall_reaches_the_issue_target(decisions: tuple[np.ndarray, np.ndarray]) -> None:
    hit, duplicate = decisions
    assert hit[~duplicate].mean() <= 0.01 and hit[duplicate].mean() >= 0.25
