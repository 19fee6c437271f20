"""Verification of a semantic-cache candidate: do two texts ask the same thing?

An embedding's cosine cannot tell "the capital of France" from "the capital of Spain",
"3 days" from "4 days", or "is it safe" from "is it not safe": the vectors are averages
and one word moves them little. :func:`disagreement` compares the texts word by word
and names the first difference that changes the question:

- the numbers (digits, with units glued on such as ``6s`` or ``10k``, and the number
  words two to twelve) must be the same;
- negation must agree (an odd count of ``not``, ``n't``, ``never``, ``without``... on
  both sides or on neither);
- the question word must agree where it names a different need: *why*, *where*, *when*,
  *who* and *how many/much* each differ from each other and from *what/which/how*;
  yes/no questions are not compared;
- first and second person must agree (``my`` vs ``your``);
- two shared terms must not swap places around the same word (``Messi better than
  Ronaldo`` vs ``Ronaldo better than Messi``, ``ethane to ethene`` vs ``ethene to
  ethane``);
- content words: a word of one side that the other lacks (after plural/tense endings
  are stripped) is allowed only when a near-synonym stands on the other side (cosine of
  the two words' vectors in the embedding's own token table at least
  :data:`SYNONYM_SIMILARITY`). A named term (capitalised inside the sentence, an
  acronym, a single letter, non-Latin script) must always be matched; other words may
  go unmatched while they carry at most :data:`UNMATCHED_WEIGHT` of the two texts'
  content weight, the weight of a word being the norm of its token vectors' sum (the
  share it has in the mean-pooled sentence vector: "best" weighs little, "java" much).

The word vectors come from the offline wordllama model shipped in its wheel
(:func:`load_wordllama`), whatever embedder the cache uses for its search.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agentops.runtime.wordllama import load_wordllama, load_wordllama_async

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["SYNONYM_SIMILARITY", "UNMATCHED_WEIGHT", "disagreement", "load_wordllama", "load_wordllama_async"]

SYNONYM_SIMILARITY = 0.5
"""Two different words count as the same term from this cosine of their vectors up."""

UNMATCHED_WEIGHT = 0.2
"""The largest share of content weight that unmatched ordinary words may carry."""


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_STOPWORDS = _set(
    """a an the and or but if then so of to in on at by for with from as into onto about over under than
    is are was were be been being am do does did doing done have has had having will would shall should can
    could may might must i me my mine myself you your yours yourself we us our ours he him his she her hers it
    its they them their theirs this that these those what which who whom whose when where why how there here
    some any all each every other another such own same very just also too more most much many few s t ll ve re d
    m"""
)
_NEGATIONS = _set("not no never n't cannot without none nobody nothing neither nor nowhere")
_NUMBER_WORDS = {
    "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
}  # fmt: skip
_QUESTION = {"why": "why", "where": "where", "when": "when", "who": "who", "whom": "who", "whose": "who"}
_OPEN = frozenset({"what", "which", "how"})
_QUANTITY = _set("many much long old far often big")
_FIRST_PERSON = _set("i me my mine myself we us our ours ourselves")
_SECOND_PERSON = _set("you your yours yourself yourselves")
_SWAP_GAP = 3
"""Two terms swap roles only when at most this many words stand between them."""

# n't first, so that "don't" is not read as "don" + "'t"; numbers keep their separators
# and a unit glued on (6s, 10k); words keep a trailing ++ or # (C++ vs C#).
_TOKEN = re.compile(r"n't|\d+(?:[.,]\d+)*[^\W\d_]*|[^\W\d_]+(?:\+\+|#)?", re.UNICODE)
_CANT = re.compile(r"\b(can)'?t\b", re.IGNORECASE)
_WONT = re.compile(r"\bwon'?t\b", re.IGNORECASE)
_NT = re.compile(r"(\w)n't\b")


@dataclass(frozen=True, slots=True)
class _Text:
    words: tuple[str, ...]
    numbers: frozenset[str]
    negated: bool
    question: str | None
    person: tuple[str, ...]
    stems: dict[str, str]
    """Stem -> the content word it came from (first occurrence)."""
    named: frozenset[str]


def disagreement(query: str, cached: str) -> str | None:
    """Why a cached text does not answer the query, or None when the two agree.

    Args:
        query: the new request's cacheable text.
        cached: the text of the cache entry found by the similarity search.

    Returns:
        None when nothing differs that changes the question; else a short reason for
        the span and the logs, such as ``"numbers differ: 3 vs 4"``, ``"negation
        differs"`` or ``"term differs: paris vs rome"``.
    """
    a, b = _analyse(query), _analyse(cached)
    if a.numbers != b.numbers:
        return f"numbers differ: {_show(a.numbers - b.numbers)} vs {_show(b.numbers - a.numbers)}"
    if a.negated != b.negated:
        return "negation differs"
    if a.question and b.question and a.question != b.question:
        return f"question differs: {a.question} vs {b.question}"
    if a.person != b.person:
        return f"person differs: {_show(a.person)} vs {_show(b.person)}"
    if a.stems.keys() != b.stems.keys() and (reason := _term_difference(a, b)):
        return reason
    if swap := _swapped(a, b):
        return f"word order differs: {swap[0]} and {swap[1]} swap places"
    return None


def _show(items: frozenset[str] | tuple[str, ...]) -> str:
    return ", ".join(sorted(items)) or "none"


def _words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).replace("\u2019", "'")
    text = _NT.sub(r"\1 n't", _WONT.sub("will n't", _CANT.sub(r"\1 n't", text)))
    return _TOKEN.findall(text)


def _stem(word: str) -> str:
    for suffix in ("ies", "es", "s", "ing", "ed", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _question(words: list[str]) -> str | None:
    if not words or (words[0] not in _QUESTION and words[0] not in _OPEN):
        return None
    first = words[0]
    if first == "how" and len(words) > 1 and words[1] in _QUANTITY:
        return f"how {words[1]}"
    return _QUESTION.get(first, "what/how")


@functools.lru_cache(maxsize=8192)
def _analyse(text: str) -> _Text:
    raw = _words(text)
    words: list[str] = []
    named: set[str] = set()
    for i, token in enumerate(raw):
        word = token.lower()
        if word[0].isdigit():
            word = word.replace(",", "")
        word = _NUMBER_WORDS.get(word, word)
        words.append(word)
        if word in _STOPWORDS or word in _NEGATIONS or word[0].isdigit():
            continue
        if (i > 0 and token[0].isupper()) or token.isupper() or len(token) == 1 or not token.isascii():
            named.add(word)
    numbers = frozenset(w for w in words if w[0].isdigit())
    content = [w for w in words if w not in _STOPWORDS and w not in _NEGATIONS and w not in numbers]
    stems: dict[str, str] = {}
    for word in content:
        stems.setdefault(_stem(word), word)
    person = tuple(
        label
        for label, pronouns in (("first person", _FIRST_PERSON), ("second person", _SECOND_PERSON))
        if not pronouns.isdisjoint(words)
    )
    return _Text(
        words=tuple(words),
        numbers=numbers,
        negated=sum(w in _NEGATIONS for w in words) % 2 == 1,
        question=_question(words),
        person=person,
        stems=stems,
        named=frozenset(named),
    )


@functools.lru_cache(maxsize=65536)
def _word_vector(word: str) -> tuple[NDArray[np.float32], float]:
    """The unit direction and the weight (norm) of a word's summed token vectors."""
    import numpy as np

    model = load_wordllama()
    ids = model.tokenizer.encode(word, add_special_tokens=False).ids
    total = model.embedding[ids].sum(axis=0) if ids else np.zeros(model.embedding.shape[1], np.float32)
    weight = float(np.linalg.norm(total))
    direction = total / weight if weight > 0 else total
    return direction.astype(np.float32), weight


def _term_difference(a: _Text, b: _Text) -> str | None:
    only_a = [w for s, w in a.stems.items() if s not in b.stems]
    only_b = [w for s, w in b.stems.items() if s not in a.stems]
    total = sum(_word_vector(w)[1] for w in (*a.stems.values(), *b.stems.values()))
    unmatched_weight = 0.0
    first: str | None = None
    for query_side, words, others, named in ((True, only_a, only_b, a.named), (False, only_b, only_a, b.named)):
        for word in words:
            vector, weight = _word_vector(word)
            nearest, best = max(
                ((o, float(vector @ _word_vector(o)[0])) for o in others), key=lambda p: p[1], default=("", -1.0)
            )
            if best >= SYNONYM_SIMILARITY:
                continue
            reason = _term_reason(word, nearest, query_side)
            if word in named:
                return reason
            unmatched_weight += weight
            first = first or reason
    if total > 0 and unmatched_weight / total > UNMATCHED_WEIGHT:
        return first
    return None


def _term_reason(word: str, other: str, query_side: bool) -> str:
    if not other:
        return f"extra term: {word}"
    return f"term differs: {word} vs {other}" if query_side else f"term differs: {other} vs {word}"


def _swapped(a: _Text, b: _Text) -> tuple[str, str] | None:
    stems_a = [_stem(w) for w in a.words]
    stems_b = [_stem(w) for w in b.words]
    # A term that occurs twice has no single place to swap from.
    shared = [s for s in a.stems if s in b.stems and stems_a.count(s) == 1 and stems_b.count(s) == 1]
    if len(shared) < 2:
        return None
    pos_a = {s: stems_a.index(s) for s in shared}
    pos_b = {s: stems_b.index(s) for s in shared}
    for i, x in enumerate(shared):
        for y in shared[i + 1 :]:
            if (pos_a[x] - pos_a[y]) * (pos_b[x] - pos_b[y]) >= 0:
                continue
            lo_a, hi_a = sorted((pos_a[x], pos_a[y]))
            lo_b, hi_b = sorted((pos_b[x], pos_b[y]))
            if hi_a - lo_a - 1 > _SWAP_GAP or hi_b - lo_b - 1 > _SWAP_GAP:
                continue
            between_a, between_b = set(stems_a[lo_a + 1 : hi_a]), set(stems_b[lo_b + 1 : hi_b])
            if between_a & between_b or not (between_a or between_b):
                return a.stems[x], a.stems[y]
    return None
