"""Personal data and secrets in text: found with Microsoft Presidio's pattern recognizers, offline.

Presidio runs here with no language model: its predefined pattern recognizers (email, phone,
credit card with the Luhn check, IBAN with its checksum, US SSN, UK NINO, IP addresses) and
ours for secrets of common formats (OpenAI, Anthropic, AWS, GitHub, Slack, Google, Stripe keys,
JWTs, bearer tokens, PEM private keys, ``api_key=...`` assignments), over spaCy's blank English
tokenizer (shipped inside spaCy: context words such as "phone" or "ssn" next to a match still
raise its score). Nothing is downloaded: the analyzer is built with an explicit NLP engine (a
bare ``AnalyzerEngine()`` would fetch ``en_core_web_lg``), and tldextract, which the email
recognizer uses, is told to use its bundled suffix list.

Most texts hold nothing that could match; a cheap pre-check (:data:`MAYBE`) lets them through
without Presidio. Presidio is imported (about 2 s) when the first scanner is built.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from agentops.runtime.config.guarding import PII_ENTITIES
from agentops.runtime.errors import ConfigError

__all__ = ["DEFAULT_ENTITIES", "ENTITIES", "MAYBE", "PiiFinding", "PiiScanner"]

SECRET_PATTERNS: dict[str, list[tuple[str, float]]] = {
    "OPENAI_KEY": [(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}", 0.9)],
    "ANTHROPIC_KEY": [(r"\bsk-ant-[A-Za-z0-9_-]{20,}", 0.95)],
    "AWS_ACCESS_KEY": [(r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b", 0.9)],
    "AWS_SECRET_KEY": [(r"(?i:(?<=aws_secret_access_key\W{0,3}[=:]\s*['\"]?))[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])", 0.9)],
    "GITHUB_TOKEN": [(r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b", 0.95), (r"\bgithub_pat_[A-Za-z0-9_]{50,255}\b", 0.95)],
    "SLACK_TOKEN": [(r"\bxox[abposre]-[A-Za-z0-9-]{10,}", 0.9)],
    "GOOGLE_API_KEY": [(r"\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])", 0.9)],
    "STRIPE_KEY": [(r"\b(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{16,}\b", 0.9)],
    "JWT": [(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", 0.9)],
    "BEARER_TOKEN": [(r"(?i:(?<=\bbearer\s))[A-Za-z0-9._~+/-]{16,}=*", 0.8)],
    "PRIVATE_KEY": [(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", 1.0)],
    "GENERIC_SECRET": [
        (r"(?i:(?<=\b(?:api[_-]?key|secret|token|passw(?:or)?d)\W{0,3}[=:]\s*['\"]?))[^\s'\"]{8,}", 0.6)
    ],
}
"""Our recognizers of secrets: entity -> (regex, score)."""

PREDEFINED = {
    "EMAIL_ADDRESS": "EmailRecognizer",
    "PHONE_NUMBER": "PhoneRecognizer",
    "CREDIT_CARD": "CreditCardRecognizer",
    "IBAN_CODE": "IbanRecognizer",
    "US_SSN": "UsSsnRecognizer",
    "UK_NINO": "UkNinoRecognizer",
    "IP_ADDRESS": "IpRecognizer",
}
"""Presidio's pattern recognizers we use, by the entity they find."""

ENTITIES = frozenset(PREDEFINED) | frozenset(SECRET_PATTERNS)
assert ENTITIES == PII_ENTITIES, "config's PII_ENTITIES names every recognizer"
"""Every entity a scanner can find."""
DEFAULT_ENTITIES = tuple(sorted(ENTITIES))

MAYBE = re.compile(
    r"@|\d[\d\s().+/-]{5,}\d"  # an email; seven or more digits in a run (phones, cards, SSNs, IBAN bodies)
    r"|\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|[0-9a-f]{0,4}:[0-9a-f]{0,4}:[0-9a-f]{0,4}"  # IPv4, IPv6
    r"|\b[A-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]?\b"  # NINO
    r"|sk-|sk_|rk_|pk_|AKIA|ASIA|ABIA|ACCA|gh[pousr]_|github_pat_|xox[abposre]-|AIza|eyJ|-----BEGIN"
    r"|bearer\s|api[_-]?key|secret|token|passw",
    re.IGNORECASE,
)
"""What any entity's match contains: a text without it holds no PII the scanner could find."""


WARM_UP = "a@b.example +1 212 555 0199 4111 1111 1111 1111 DE89370400440532013000 10.0.0.1 fe80::1 sk-x"


@dataclass(frozen=True)
class PiiFinding:
    """One match: its entity, where it is, how sure the recognizer is."""

    entity: str
    start: int
    end: int
    score: float


class PiiScanner:
    """Finds and redacts personal data and secrets (thread-safe; build it once: ~0.2 s).

    Args:
        entities: what to find (default every entity in :data:`ENTITIES`).
        threshold: the lowest score that counts (0.4: a phone number with no context word).

    Raises:
        ConfigError: an entity that is not known.
    """

    def __init__(self, entities: Iterable[str] = DEFAULT_ENTITIES, threshold: float = 0.4) -> None:
        self.entities = tuple(entities)
        unknown = sorted(set(self.entities) - ENTITIES)
        if unknown:
            raise ConfigError(
                f"guards.pii_entities: {', '.join(unknown)} unknown (known: {', '.join(sorted(ENTITIES))})"
            )
        self.threshold = threshold
        self._analyzer, self._anonymizer = _build(self.entities)
        self._lock = threading.Lock()
        self.redact(WARM_UP)  # Presidio compiles its patterns on first use: not on a call's time

    def find(self, text: str) -> list[PiiFinding]:
        """The matches in ``text``, in order."""
        if not text or not MAYBE.search(text):
            return []
        with self._lock:  # Presidio documents no thread-safety; it is quick
            results = self._analyzer.analyze(
                text=text, language="en", entities=list(self.entities), score_threshold=self.threshold
            )
        return sorted((PiiFinding(r.entity_type, r.start, r.end, r.score) for r in results), key=lambda f: f.start)

    def redact(self, text: str) -> tuple[str, list[PiiFinding]]:
        """``text`` with every match replaced by ``<ENTITY>``, and the matches."""
        found = self.find(text)
        if not found:
            return text, []
        from presidio_analyzer import RecognizerResult

        results = [RecognizerResult(f.entity, f.start, f.end, f.score) for f in found]
        with self._lock:
            return self._anonymizer.anonymize(text=text, analyzer_results=results).text, found

    def redact_value(self, value: Any) -> tuple[Any, set[str]]:
        """A JSON-like value with every string in it redacted, and the entities found."""
        entities: set[str] = set()

        def walk(v: Any) -> Any:
            if isinstance(v, str):
                out, found = self.redact(v)
                entities.update(f.entity for f in found)
                return out
            if isinstance(v, dict):
                return {k: walk(x) for k, x in v.items()}
            if isinstance(v, list | tuple):
                return [walk(x) for x in v]
            return v

        return walk(value), entities


def _build(entities: tuple[str, ...]) -> tuple[Any, Any]:
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")  # the bundled list; never the network
    import logging

    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    import regex
    import spacy
    from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerRegistry
    from presidio_analyzer import predefined_recognizers as predefined
    from presidio_analyzer.nlp_engine import NlpArtifacts, SlimSpacyNlpEngine
    from presidio_anonymizer import AnonymizerEngine

    class BlankEnglish(SlimSpacyNlpEngine):
        """spaCy's blank English tokenizer (no model), lemmas lower-cased: context words work."""

        def __init__(self) -> None:
            super().__init__(models=[{"lang_code": "en", "model_name": "blank"}], auto_download=False)

        def load(self) -> None:
            self.nlp = {"en": spacy.blank("en")}  # type: ignore[assignment]  # Presidio types it None

        def _doc_to_nlp_artifact(self, doc: Any, language: str) -> Any:
            return NlpArtifacts(
                entities=[],
                tokens=doc,
                tokens_indices=[t.idx for t in doc],
                lemmas=[t.lower_ for t in doc],
                nlp_engine=self,
                language=language,
                scores=[],
            )

    nlp = BlankEnglish()
    nlp.load()
    registry = RecognizerRegistry(supported_languages=["en"])
    for entity in entities:
        if entity in PREDEFINED:
            registry.add_recognizer(getattr(predefined, PREDEFINED[entity])())
        else:
            patterns = [Pattern(f"{entity.lower()}_{i}", rx, score) for i, (rx, score) in
                        enumerate(SECRET_PATTERNS[entity])]  # fmt: skip
            registry.add_recognizer(  # case-sensitive: Presidio's default flags add IGNORECASE
                PatternRecognizer(
                    supported_entity=entity,
                    name=f"{entity}_Recognizer",
                    patterns=patterns,
                    global_regex_flags=regex.DOTALL | regex.MULTILINE,
                )
            )
    analyzer = AnalyzerEngine(nlp_engine=nlp, registry=registry, supported_languages=["en"])
    return analyzer, AnonymizerEngine()  # type: ignore[no-untyped-call]  # Presidio leaves it unannotated
