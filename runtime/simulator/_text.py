"""Deterministic, plausible short text built from the words of a prompt.

The simulator's replies should read like an answer to the question asked (so a
demo or a trace looks sensible) while costing next to no CPU and being a pure
function of a random generator seeded from the request.
"""

from __future__ import annotations

import random
import re

__all__ = ["Words", "keywords"]

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_'-]{2,}")
_STOP_WORDS = """
the and for are but not you your with this that from have has had was were will would
could should can what when where which who whom why how all any each into about than
then them they their there these those its it's our out off over under please tell give
make does did done just also very some such only own same too let use using here more
most other
"""
_STOP = frozenset(_STOP_WORDS.split())
_FALLBACK = ("request", "answer", "details", "result", "context", "summary")

_OPENERS = (
    "Here is a short answer about {a} and {b}.",
    "The key point is that {a} depends on {b}.",
    "In short, {a} works well with {b}.",
    "Looking at {a}, the main factor is {b}.",
    "Regarding {a}: {b} is the part that matters most.",
)
_FOLLOWERS = (
    "It is worth checking {a} before changing {b}.",
    "A simple approach to {a} is usually enough.",
    "Keep {a} and {b} consistent to avoid surprises.",
    "This should cover {a} for most cases.",
    "If {a} changes, revisit {b} as well.",
)


def keywords(text: str, limit: int = 12) -> list[str]:
    """Return up to ``limit`` distinct content words of ``text``, in order.

    Args:
        text: Any text, typically the last user message.
        limit: Largest number of words to return.

    Returns:
        Lower-cased words of three or more letters, stop words removed. Never
        empty: falls back to neutral words.
    """
    seen: list[str] = []
    for match in _WORD.finditer(text[:4000]):
        word = match.group(0).lower()
        if word not in _STOP and word not in seen:
            seen.append(word)
            if len(seen) >= limit:
                break
    return seen or list(_FALLBACK)


class Words:
    """Phrases and sentences from a prompt's keywords, chosen by a seeded RNG.

    Args:
        rng: The request's random generator; all choices draw from it.
        words: The prompt's keywords (see :func:`keywords`).
    """

    def __init__(self, rng: random.Random, words: list[str]) -> None:
        self.rng = rng
        self.words = words

    def word(self) -> str:
        """One keyword."""
        return self.rng.choice(self.words)

    def phrase(self, low: int = 2, high: int = 5) -> str:
        """A short phrase of ``low`` to ``high`` keywords, first one capitalised."""
        count = self.rng.randint(low, high)
        picked = [self.rng.choice(self.words) for _ in range(count)]
        text = " ".join(picked)
        return text[:1].upper() + text[1:]

    def sentence(self, follower: bool = False) -> str:
        """One sentence that reuses two keywords."""
        template = self.rng.choice(_FOLLOWERS if follower else _OPENERS)
        if len(self.words) < 2:
            return template.format(a=self.words[0], b=_FALLBACK[0])
        a, b = self.rng.sample(self.words, 2)
        return template.format(a=a, b=b)

    def paragraph(self, low: int = 1, high: int = 3) -> str:
        """``low`` to ``high`` sentences."""
        count = self.rng.randint(low, high)
        return " ".join(self.sentence(follower=i > 0) for i in range(count))
