"""Configuration of the guards: ``[guards]`` (the input guard against prompt injection,
personal data in what is stored, the output filter, behavioural monitoring),
``[guards.agents.NAME]`` (one agent's own policy) and ``[guards.prompts.NAME]`` (one prompt's).

Part of :class:`~agentops.runtime.config.Settings`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "PII_ENTITIES",
    "AgentGuardSettings",
    "BehaviourAction",
    "GuardSettings",
    "InputAction",
    "OutputAction",
    "PromptGuardSettings",
]

PII_ENTITIES = frozenset(
    {
        "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "UK_NINO", "IP_ADDRESS",
        "OPENAI_KEY", "ANTHROPIC_KEY", "AWS_ACCESS_KEY", "AWS_SECRET_KEY", "GITHUB_TOKEN", "SLACK_TOKEN",
        "GOOGLE_API_KEY", "STRIPE_KEY", "JWT", "BEARER_TOKEN", "PRIVATE_KEY", "GENERIC_SECRET",
    }
)  # fmt: skip
"""Every entity the PII scanner finds (``guards/pii.py`` has a recognizer for each)."""

OutputAction = Literal["off", "redact", "block"]
InputAction = Literal["off", "flag", "block", "escalate"]
EchoAction = Literal["off", "flag", "block"]
BehaviourAction = Literal["off", "flag", "escalate"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PromptGuardSettings(_Section):
    """One prompt's policy; a key left out keeps its agent's (or the ``[guards]``) value."""

    injection: InputAction | None = None


class AgentGuardSettings(PromptGuardSettings):
    """One agent's policy; a key left out keeps the ``[guards]`` value."""

    output_pii: OutputAction | None = None
    behaviour: BehaviourAction | None = None


class GuardSettings(_Section):
    """What the guards check and what they do about it."""

    injection: InputAction = "flag"
    """Untrusted text on its way to a model (each string of the task's input, of a tool's
    result, or a document, where an LLM step's prompt quotes it) scored for prompt injection
    before the call:
    ``flag`` (the call goes on, its span and the audit log say so), ``block``
    (``GuardBlockedError``), ``escalate`` (an operator allows or blocks it), ``off``."""
    injection_detector: str = "builtin"
    """``builtin`` (embeddings and character n-grams, a logistic regression shipped with
    agentops, and rules: offline) or ``litellm:MODEL`` (an LLM judge)."""
    injection_threshold: float | None = Field(None, ge=0, le=1)
    """The score from which a text is an injection (default: the threshold shipped with the
    detector, chosen for <= 1 % false positives; see docs/performance.md)."""
    injection_on_error: Literal["open", "closed"] | None = None
    """A detector that fails: ``closed`` treats the text as an injection, ``open`` lets it
    through (default: closed under ``block`` and ``escalate``, open under ``flag``)."""
    fence: bool = True
    """Tool results and documents quoted in a prompt are delimited and labelled as data."""
    output_echo: EchoAction = "block"
    """A reply that quotes the call's system prompt (eight words in a row or more)."""
    behaviour: BehaviourAction = "flag"
    """A task that departs from its agent's usual actions (a tool the agent never used, or
    ``behaviour_calls_ratio`` times its usual LLM calls): an alert event, and under
    ``escalate`` an operator decides whether it goes on."""
    behaviour_min_tasks: int = Field(20, ge=1)
    """Finished tasks of an agent before it has a baseline."""
    behaviour_calls_ratio: float = Field(3.0, gt=1)
    redact_pii: bool = False
    """Nothing matching personal data or a secret is written to the store (spans, calls, the
    journal, task inputs and outputs, escalations, the audit log), the logs, the cache or the
    exported traces: it is replaced by ``<ENTITY>``. A task's input is redacted before it is
    queued, so its agent sees the placeholders too."""
    output_pii: OutputAction = "redact"
    """Model replies and tool results that hold personal data or a secret, before the agent
    gets them: ``redact`` (replaced by ``<ENTITY>``), ``block`` (``GuardBlockedError``), ``off``."""
    pii_entities: list[str] | None = None
    """What counts (default all: emails, phones, cards, IBANs, SSNs, NINOs, IP addresses and
    API keys, tokens and private keys of common formats)."""
    pii_threshold: float = Field(0.4, ge=0, le=1)
    """The lowest recognizer score that counts (0.4: a phone number with no context word)."""
    agents: dict[str, AgentGuardSettings] = {}
    """Per agent (``[guards.agents.triage]``)."""
    prompts: dict[str, PromptGuardSettings] = {}
    """Per prompt (``[guards.prompts.classify]``), before the agent's."""

    @field_validator("pii_entities")
    @classmethod
    def _entities(cls, value: list[str] | None) -> list[str] | None:
        unknown = sorted(set(value or ()) - PII_ENTITIES)
        if unknown:
            raise ValueError(f"{', '.join(unknown)} unknown (known: {', '.join(sorted(PII_ENTITIES))})")
        return value

    @field_validator("injection_detector")
    @classmethod
    def _detector(cls, value: str) -> str:
        if value != "builtin" and not (value.startswith("litellm:") and len(value) > len("litellm:")):
            raise ValueError(f"{value!r} is unknown: use 'builtin' or 'litellm:MODEL'")
        return value
