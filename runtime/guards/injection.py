"""Prompt-injection detector for the input guard: one logistic regression, offline, numpy only.

A text is scored as ``sigmoid(w · x + b)`` where ``x`` joins four blocks of features:

- the wordllama embedding (256 dims, mean of the token vectors, unit length), which
  carries the meaning across wordings and languages;
- :data:`RULES`, regular expressions for the usual attack phrasings (override of earlier
  instructions, persona jailbreaks, system-prompt extraction, markup hidden in documents,
  encoded payloads), in English and in the German, Spanish and French forms seen in the wild;
- hashed character 3-5-grams and hashed word unigrams and bigrams, lower-cased, with
  ``log1p`` counts scaled to unit length per block, hashed with numpy over the whole
  code-point array at once (no Python loop per n-gram: long texts stay cheap).

A long text is scored whole and in each overlapping window (:class:`FeatureConfig`
``window``/``stride``) in which a rule matched, and the highest score counts: a payload
hidden in the middle of a long benign document would otherwise be diluted by it. Windows
without a rule match are not scored: the highest of many windows of an ordinary long text
rises with their number, and so would false positives (docs/performance.md has the figures).

The weights, the feature settings and the threshold live in ``injection_model.npz`` beside
this module, written by ``bench/train_injection.py`` (logistic regression on the TRAIN part
of ``injection_dev.jsonl``; the threshold is the score that 0.5 % of out-of-fold benign
scores reach, half the 1 % budget as a margin). Its figures, and the plain n-gram baseline
it is measured against, are in docs/performance.md ("Prompt-injection detector"), printed
by ``bench/guards.py``.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from agentops.runtime.errors import ConfigError
from agentops.runtime.wordllama import load_wordllama

__all__ = [
    "MODEL_FILE",
    "RULES",
    "FeatureConfig",
    "InjectionFeatures",
    "InjectionScore",
    "InjectionScorer",
    "Model",
    "load_wordllama",
    "read_model",
    "write_model",
]

MODEL_FILE = Path(__file__).with_name("injection_model.npz")
"""The shipped weights file."""

FORMAT = 1
"""Version of the weights file's layout; :func:`read_model` refuses any other."""

EMBED_DIM = 256

Row = tuple[NDArray[np.int64], NDArray[np.float32]]
"""One sparse feature vector: indices and values."""


@dataclass(frozen=True)
class Rule:
    """A named set of patterns; ``accept`` vets each match when a pattern alone says too little.

    ``patterns`` match the lower-cased text, ``cased`` the text as written. Each pattern
    starts with a literal or a group of literals, so that ``re`` jumps to the places where
    one occurs: a leading ``\\b`` or IGNORECASE makes it try every position, ten times
    slower. A match that starts inside a word does not count.
    """

    name: str
    patterns: tuple[re.Pattern[str], ...]
    cased: tuple[re.Pattern[str], ...]
    accept: Callable[[str], bool] | None
    pattern: re.Pattern[str]
    """Every pattern as one, for a search in the text as written (slower, and ``accept`` is
    not applied): where to cut an excerpt that shows the match."""

    def starts(self, text: str, low: str) -> list[int]:
        """Where the rule's matches start in ``text`` (``low`` is its lower-cased twin)."""
        found = [m for p in self.patterns for m in p.finditer(low)] + [m for p in self.cased for m in p.finditer(text)]
        return [
            m.start() for m in found if _word_start(text, m.start()) and (self.accept is None or self.accept(m.group()))
        ]


def _rule(name: str, *patterns: str, cased: tuple[str, ...] = (), accept: Callable[[str], bool] | None = None) -> Rule:
    union = "|".join([*(f"(?i:{p})" for p in patterns), *(f"(?:{p})" for p in cased)])
    return Rule(
        name=name,
        patterns=tuple(map(re.compile, patterns)),
        cased=tuple(map(re.compile, cased)),
        accept=accept,
        pattern=re.compile(union),
    )


def _word_start(text: str, i: int) -> bool:
    return i == 0 or not (text[i].isalnum() and (text[i - 1].isalnum() or text[i - 1] == "_"))


def _readable(decoded: bytes) -> bool:
    text = decoded.decode("utf-8", "replace")
    printable = sum(c.isprintable() for c in text)
    return len(text) >= 12 and printable >= 0.95 * len(text) and text.count(" ") >= 2


def _decodes_to_text(blob: str) -> bool:
    """Whether a base64 or hex run hides readable text (random keys and hashes do not)."""
    try:
        if len(blob) % 2 == 0 and re.fullmatch(r"[0-9a-fA-F]+", blob):
            return _readable(bytes.fromhex(blob))
        return _readable(base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True))
    except (binascii.Error, ValueError):
        return False


_GAP = r"(?:\W+\w+){0,4}?\W+"  # up to four words between the verb and its object
RULES: tuple[Rule, ...] = (
    _rule(
        "ignore_instructions",
        rf"(?:ignore|disregard|forget|overlook|override|bypass|abandon)\b{_GAP}"
        r"(?:instructions?|prompts?|rules|directions|directives|guidelines|programming|constraints|commands|orders)\b",
        r"(?:ignore|disregard|forget)\s+(?:all|everything)\s+(?:before|above|previous|prior|that|you|we)\b",
        rf"(?:ignorier|vergiss|vergessen sie|missacht)\w*{_GAP}"
        r"(?:anweisung|instruktion|befehl|regeln|aufgabe|auftr[aä]g|alles|vorherig)",
        r"(?:obig|vorherig|bisherig|vorangegangen|vorig)\w*\s+\w+\s+(?:ignorier|vergess)",
        r"alles (?:zuvor|davor|bisher) gesagte",
        rf"(?:olvid|ignor)[ae]\w*{_GAP}(?:instrucci|indicaciones|todo\b)",
        rf"(?:oublie|ignore[zr]?)\w*{_GAP}(?:instructions|consignes|tout)\b",
    ),
    _rule(
        "new_instructions",
        r"(?:new|updated|real|actual|revised|additional|secret|hidden)\s+"
        r"(?:instructions?|task|rules|directives?|orders|prompt)\s*[:\-]",
        r"neue\s+(?:anweisung|aufgabe|befehl)",
        r"nuevas?\s+instrucciones\b",
    ),
    _rule(
        "role_override",
        r"you are (?:now|no longer)\b",
        r"from now on\b[^.]{0,30}\byou\b",
        r"you (?:will|must|shall) (?:now )?(?:act|pretend|respond|behave) as\b",
        r"pretend (?:to be|you are|that you)\b",
        r"(?:stay|remain) in character\b",
        r"i want you to act as\b",
        r"stell dir vor,? du bist\b",
        r"ich möchte, dass (?:sie|du) als\b",
        r"jetzt bist du\b",
        r"du bist (?:jetzt|nun|ab sofort)\b",
        r"ahora eres\b",
    ),
    _rule(
        "jailbreak_persona",
        r"developer mode\b",
        r"jailbr(?:eak|oken)",
        r"do anything now\b",
        r"unfiltered\b",
        r"(?:no|without|free of|free from) (?:any )?(?:restrictions|filters|limitations|censorship|morals|ethics)\b",
        r"openai(?:'s)? (?:content )?polic(?:y|ies)\b",
        cased=(r"(?:DAN|STAN|DUDE|AIM|AntiGPT|BetterDAN)\b",),
    ),
    _rule(
        "prompt_extraction",
        r"(?:system|initial|original|hidden|secret)\s+(?:prompt|instructions?|message|directives?)\b",
        r"repeat\b[^.]{0,30}\b(?:above|before|prior|beginning)\b",
        r"what (?:were|are) you (?:told|instructed|programmed)\b",
        r"i was (?:instructed|told|programmed) to\b",
        r"what (?:was|is) written (?:at the beginning|above|before)\b",
        r"(?:print|show|reveal|output|display|leak|tell me|give me)\b[^.]{0,20}"
        r"\byour (?:instructions|rules|prompt|guidelines|configuration)\b",
        r"system ?prompt",
        r"systemanweisung",
        r"deine (?:anweisungen|instruktionen)\b",
    ),
    _rule(
        "hidden_markup",
        r"<!--",
        r"\[/?(?:inst|sys|system)\]",
        r"<\|(?:im_start|im_end|system|endoftext)\|>",
        r"<<sys>>",
        r"<\\?/?\s*system[\s_-]*(?:mode|prompt|message)?\s*/?>",
        r"##+\s*(?:system|instruction|new task)\b",
        r"begin (?:admin|system)\b",
        r"end of (?:the )?(?:document|text|input|context)\b",
    ),
    _rule(
        "addressed_to_ai",
        r"(?:ai|assistant|language model|llm|chatbot)s?\b,?\s+(?:you\s+)?(?:must|should|are required to)\b",
        r"if you are an? (?:ai|llm|language model|assistant|bot)\b",
        cased=(
            r"(?:IMPORTANT|ATTENTION|NOTE|URGENT|WARNING)\b\s*[:!][^\n]{0,80}"
            r"(?i:\b(?:ai|assistant|model|llm|chatbot|gpt|you must|you should|instructions?)\b)",
        ),
    ),
    _rule(
        "output_hijack",
        r"(?:ignore|instead|rather)\b[^.]{0,60}\b(?:and|then|just|only)\s+"
        r"(?:say|state|print|write|output|respond|reply|answer)\b",
        r"pwned\b",
    ),
    _rule("encoded_payload", cased=(r"[A-Za-z0-9+/]{24,}={0,2}",), accept=_decodes_to_text),
)
"""The rule features, also reported by name in :attr:`InjectionScore.rules`."""


@dataclass(frozen=True)
class FeatureConfig:
    """How a text becomes features; stored in the weights file so training and scoring agree."""

    char_ngrams: tuple[int, int] = (3, 5)
    char_bits: int = 18
    word_bits: int = 18
    window: int = 0
    """Characters per window for long texts; 0 scores the whole text only."""
    stride: int = 0
    scales: dict[str, float] = field(default_factory=lambda: {"embed": 1.0, "rules": 1.0, "chars": 1.0, "words": 1.0})
    """Weight of each block against the others (the regularisation sees them as one vector)."""

    @property
    def offsets(self) -> dict[str, int]:
        """Where each block starts in the feature vector."""
        rules = EMBED_DIM
        chars = rules + len(RULES)
        words = chars + (1 << self.char_bits)
        return {"embed": 0, "rules": rules, "chars": chars, "words": words}

    @property
    def size(self) -> int:
        """Length of the feature vector."""
        return self.offsets["words"] + (1 << self.word_bits)


_P = np.uint64(1_000_003)
_P_INVERSE = np.uint64(pow(1_000_003, -1, 1 << 64))  # P is odd, so it has an inverse modulo 2**64
_MIX = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: the top bits of h * MIX spread well
_ASCII_WORD = np.array([chr(c).isalnum() or chr(c) == "_" for c in range(128)])
_SEPARATORS = ((0x80, 0xBF), (0x2000, 0x2BFF), (0x3000, 0x303F), (0xFE30, 0xFE4F), (0x1F000, 0x10FFFF))
"""Non-ASCII code points that end a word: Latin-1 signs, general punctuation, arrows and
symbols, CJK punctuation, emoji. Every other non-ASCII code point is a letter here."""

Tokens = tuple[NDArray[np.float32], NDArray[np.int64], NDArray[np.int64]]
"""Token vectors and each token's start and end (in characters)."""


@dataclass(frozen=True)
class _Grams:
    """Hashed n-grams of one block, sorted by bucket: bucket, start and end of each."""

    bucket: NDArray[np.int64]
    start: NDArray[np.int64]
    end: NDArray[np.int64]


def _grams(hashes: NDArray[np.uint64], bits: int, start: NDArray[np.int64], end: NDArray[np.int64]) -> _Grams:
    # Sorted once here, so that every window counts its buckets without sorting again.
    bucket = ((hashes * _MIX) >> np.uint64(64 - bits)).astype(np.int64)
    order = np.argsort(bucket)
    return _Grams(bucket[order], start[order], end[order])


class InjectionFeatures:
    """Turns a text into sparse feature vectors: one for the whole text, one per window with a rule match.

    Args:
        config: the feature settings (from the weights file).
        model: the wordllama model (``WordLlamaInference``), for its tokenizer and token table.
    """

    def __init__(self, config: FeatureConfig, model: Any) -> None:
        self.config = config
        self._tokenizer = model.tokenizer
        self._table: NDArray[np.float32] = model.embedding

    def extract(self, text: str) -> tuple[list[Row], tuple[str, ...]]:
        """The feature rows (the whole text first, then its windows with a rule match) and the rules matched."""
        text = " ".join(unicodedata.normalize("NFKC", text).split())
        low = _lower(text)
        hits = [rule.starts(text, low) for rule in RULES]
        codes = np.frombuffer(low.encode("utf-32-le"), dtype="<u4").astype(np.uint64)
        chars, words = self._char_grams(codes), self._word_grams(codes)
        tokens = self._tokens(text)
        starts = sorted(p for h in hits for p in h)
        spans = [(0, len(text))] + [
            (s, e)
            for s, e in _windows(len(text), self.config.window, self.config.stride)
            if bisect.bisect_left(starts, s) < bisect.bisect_left(starts, e)  # a rule matched inside
        ]
        rows = [self._row(s, e, hits, chars, words, tokens) for s, e in spans]
        return rows, tuple(r.name for r, h in zip(RULES, hits, strict=True) if h)

    def _char_grams(self, codes: NDArray[np.uint64]) -> _Grams:
        hashes, starts, sizes = [], [], []
        lo, hi = self.config.char_ngrams
        for n in range(lo, min(hi, len(codes)) + 1):
            count = len(codes) - n + 1
            h = np.full(count, n, np.uint64)  # seeded with n: a 3-gram and a 4-gram never share a hash
            for k in range(n):
                h = h * _P + codes[k : k + count]
            hashes.append(h)
            starts.append(np.arange(count))
            sizes.append(np.full(count, n))
        if not hashes:
            return _grams(np.zeros(0, np.uint64), 1, np.zeros(0, np.int64), np.zeros(0, np.int64))
        start = np.concatenate(starts)
        return _grams(np.concatenate(hashes), self.config.char_bits, start, start + np.concatenate(sizes))

    def _word_grams(self, codes: NDArray[np.uint64]) -> _Grams:
        inside = _ASCII_WORD[np.minimum(codes, 127)] | (codes > 127)
        for lo, hi in _SEPARATORS:
            inside &= (codes < lo) | (codes > hi)
        edges = np.diff(np.concatenate([[0], inside.astype(np.int8), [0]]))
        start, end = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        # Each word's polynomial hash, sum(c_i * P**(end - i)), from one prefix sum (mod 2**64).
        powers = np.cumprod(np.concatenate([[np.uint64(1)], np.full(len(codes), _P)]))
        inverse = np.cumprod(np.concatenate([[np.uint64(1)], np.full(len(codes), _P_INVERSE)]))
        prefix = np.concatenate([[np.uint64(0)], np.cumsum(codes * inverse[:-1])])
        h = (prefix[end] - prefix[start]) * powers[end]
        bigram = h[:-1] * _P + h[1:] + np.uint64(1)  # + 1: "a b" is not the unigram of any word
        bounds = np.concatenate([start, start[:-1]]), np.concatenate([end, end[1:]])
        return _grams(np.concatenate([h, bigram]), self.config.word_bits, *bounds)

    def _tokens(self, text: str) -> Tokens:
        encoding = self._tokenizer.encode(text, add_special_tokens=False)
        offsets = np.array(encoding.offsets, dtype=np.int64).reshape(-1, 2)
        return self._table[np.array(encoding.ids, dtype=np.int64)], offsets[:, 0], offsets[:, 1]

    def _row(self, s: int, e: int, hits: list[list[int]], chars: _Grams, words: _Grams, tokens: Tokens) -> Row:
        offsets, scales = self.config.offsets, self.config.scales
        vectors, first, last = tokens
        total = vectors[(first >= s) & (last <= e)].sum(axis=0)
        norm = float(np.linalg.norm(total))
        fired = [i for i, h in enumerate(hits) if any(s <= p < e for p in h)]
        parts = [
            (np.arange(EMBED_DIM), total * (scales["embed"] / norm) if norm else total),
            (offsets["rules"] + np.array(fired, dtype=np.int64), np.full(len(fired), scales["rules"], np.float32)),
            _counts(chars, s, e, offsets["chars"], scales["chars"]),
            _counts(words, s, e, offsets["words"], scales["words"]),
        ]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]).astype(np.float32)


def _lower(text: str) -> str:
    """Lower case, keeping every character's position (a few characters lower to two)."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def _windows(length: int, window: int, stride: int) -> list[tuple[int, int]]:
    if not window or length <= window:
        return []
    starts = list(range(0, length - window + 1, stride))
    if starts[-1] + window < length:
        starts.append(length - window)
    return [(s, s + window) for s in starts]


def _counts(grams: _Grams, s: int, e: int, offset: int, scale: float) -> Row:
    """The block's buckets inside ``[s, e)``: log counts scaled to length ``scale``."""
    buckets = grams.bucket[(grams.start >= s) & (grams.end <= e)]  # still sorted
    if not len(buckets):
        return buckets, np.zeros(0, np.float32)
    first = np.flatnonzero(np.concatenate([[True], buckets[1:] != buckets[:-1]]))
    values = np.log1p(np.diff(np.append(first, len(buckets)))).astype(np.float32)
    return buckets[first] + offset, values * (scale / float(np.linalg.norm(values)))


@dataclass(frozen=True)
class InjectionScore:
    """The detector's verdict on one text."""

    score: float
    """Probability-like score, 0..1."""
    flagged: bool
    """``score >= threshold``."""
    rules: tuple[str, ...]
    """Names of the :data:`RULES` that matched (explanations for operators)."""


@dataclass(frozen=True)
class Model:
    """The contents of a weights file."""

    config: FeatureConfig
    weights: NDArray[np.float32]
    bias: float
    threshold: float
    meta: dict[str, Any]


def write_model(path: Path, model: Model) -> None:
    """Write a weights file: nonzero weights as (int32 index, float16 value) plus JSON metadata."""
    index = np.flatnonzero(model.weights).astype(np.int32)
    meta = {
        **model.meta,
        "format": FORMAT,
        "config": asdict(model.config),
        "rules": [r.name for r in RULES],
        "bias": model.bias,
        "threshold": model.threshold,
    }
    np.savez_compressed(
        path, index=index, weight=model.weights[index].astype(np.float16), meta=np.array(json.dumps(meta))
    )


def read_model(path: Path) -> Model:
    """Read a weights file written by :func:`write_model`.

    Raises:
        ConfigError: the file is missing, malformed, or was trained with other rules.
    """
    if not path.is_file():
        raise ConfigError(f"{path}: injection weights file not found; rebuild it with bench/train_injection.py")
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            index, values = data["index"], data["weight"]
        if meta.get("format") != FORMAT or meta.get("rules") != [r.name for r in RULES]:
            raise ValueError(f"format {meta.get('format')} or rules {meta.get('rules')} differ from this version's")
        raw = meta["config"]
        config = FeatureConfig(**{**raw, "char_ngrams": tuple(raw["char_ngrams"])})
        weights = np.zeros(config.size, np.float32)
        weights[index] = values
        return Model(config, weights, float(meta["bias"]), float(meta["threshold"]), meta)
    except (OSError, KeyError, TypeError, ValueError, IndexError) as exc:
        raise ConfigError(
            f"{path}: not a valid injection weights file ({exc}); rebuild with bench/train_injection.py"
        ) from exc


class InjectionScorer:
    """Scores texts for prompt injection with the shipped weights (thread-safe; build once: about 1 s).

    Args:
        weights: the weights file (default :data:`MODEL_FILE`).
        threshold: the score from which a text is flagged (default: the file's).

    Raises:
        ConfigError: a threshold outside [0, 1], or a missing or malformed weights file.
    """

    def __init__(self, weights: Path | None = None, threshold: float | None = None) -> None:
        model = read_model(weights or MODEL_FILE)
        self.threshold = model.threshold if threshold is None else threshold
        if not 0.0 <= self.threshold <= 1.0:
            raise ConfigError(f"guards.injection_threshold: {self.threshold} is outside [0, 1]")
        self._features = InjectionFeatures(model.config, load_wordllama())
        self._weights, self._bias = model.weights, model.bias
        self.score("Warm-up: ignore the previous instructions. " * 30)  # first calls pay numpy's set-up

    def score(self, text: str) -> InjectionScore:
        """The score of ``text``: its highest over the whole text and its windows."""
        rows, rules = self._features.extract(text)
        logit = max(float(self._weights[i] @ v) for i, v in rows) + self._bias
        score = 0.5 * (1.0 + math.tanh(logit / 2))  # the logistic function, without exp's overflow
        return InjectionScore(score=score, flagged=score >= self.threshold, rules=rules)
