"""The guards of one runtime: what each checks, for which agent and prompt, and what follows.

:class:`Guards` holds the detectors and the policy. The task's LLM step asks it to screen
the untrusted text of a call for prompt injection (:meth:`Guards.screen`) and the call path
to filter the reply (:meth:`Guards.check_output`, :meth:`Guards.check_echo`); the tool path
filters a tool's result; the store, the tracer and the logs redact what they write with
:meth:`Guards.redact` when ``redact_pii`` is on. Every decision other than *pass* is
published (``guard.decision``: counted on ``/metrics``, shown by the console's Guards view,
followed by the alert engine) and written to the audit log under the agent's name, with an
excerpt of the text, its personal data masked.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from agentops.runtime.config import BehaviourAction, GuardSettings, InputAction, OutputAction
from agentops.runtime.errors import GuardBlockedError
from agentops.runtime.events import EventBus
from agentops.runtime.guards.behaviour import BehaviourMonitor
from agentops.runtime.guards.echo import echoed
from agentops.runtime.guards.pii import DEFAULT_ENTITIES, PiiScanner
from agentops.runtime.logs import get_logger
from agentops.store import Store

if TYPE_CHECKING:
    from agentops.runtime.guards.injection import InjectionScore

__all__ = ["Detector", "GuardDecision", "Guards"]

log = get_logger("agentops.guards")

Audit = Callable[[str, str, str, str, dict[str, Any]], Awaitable[None]]
"""``(actor, via, action, target, details)``: writes one audit row."""

EXCERPT_CHARS = 300
"""How much of a text a decision keeps for the operator (masked)."""
SCORE_CACHE = 4096
"""Texts whose injection score is remembered (a conversation's history is screened once)."""
THREAD_FROM_CHARS = 4000
"""Longer texts are scored in a worker thread, off the event loop."""


class Detector(Protocol):
    """A prompt-injection detector: the built-in scorer or an LLM judge."""

    threshold: float

    async def score(self, text: str) -> InjectionScore:
        """The text's score (0..1) and the rules it matched."""
        ...


@dataclass(frozen=True)
class GuardDecision:
    """What a guard decided about one text."""

    guard: str
    """``injection``, ``output_pii``, ``prompt_echo`` or ``behaviour``."""
    decision: str
    """``pass``, ``flag``, ``redact``, ``block`` or ``escalate``."""
    entities: tuple[str, ...] = ()
    where: str = ""
    """``input``, ``reply``, ``tool NAME``, ``messages``."""
    score: float | None = None
    reason: str = ""
    text: str = ""
    """An excerpt of the text, personal data masked (what an operator is shown)."""
    error: str | None = None
    """The detector's failure, when ``on_error`` made the decision."""
    rules: tuple[str, ...] = field(default=())

    def attrs(self) -> dict[str, Any]:
        """The decision as the span carries it."""
        value: dict[str, Any] = {"decision": self.decision}
        if self.entities:
            value["entities"] = list(self.entities)
        if self.score is not None:
            value["score"] = round(self.score, 4)
        if self.rules:
            value["rules"] = list(self.rules)
        if self.reason:
            value["reason"] = self.reason
        if self.error:
            value["error"] = self.error
        return {f"agentops.guard.{self.guard}": value}

    def blocked(self) -> GuardBlockedError:
        """The error a ``block`` raises."""
        return GuardBlockedError(
            f"guard {self.guard} blocked the {self.where or 'text'}: {self.reason}",
            guard=self.guard,
            entities=self.entities,
            score=self.score,
        )


class Guards:
    """The configured guards (build, then :meth:`load` off the loop before the first check).

    Args:
        settings: ``[guards]``.
        bus: where decisions are published.
        audit: writes a decision's audit row (None: not audited).
        judge: builds the LLM-judge detector for ``injection_detector = "litellm:MODEL"``.
        store: where agents' baselines are read (None: no behavioural monitoring).
    """

    def __init__(
        self,
        settings: GuardSettings,
        bus: EventBus,
        *,
        audit: Audit | None = None,
        judge: Callable[[str], Detector] | None = None,
        store: Store | None = None,
    ) -> None:
        self.settings = settings
        self.bus = bus
        self.audit = audit
        self.pii: PiiScanner | None = None
        self.detector: Detector | None = None
        self._judge = judge
        actions = {settings.behaviour, *(a.behaviour for a in settings.agents.values() if a.behaviour)}
        self.behaviour = BehaviourMonitor(store, settings) if store is not None and actions != {"off"} else None
        """Agents' baselines and the check of a task's steps against them."""
        self._load: asyncio.Task[None] | None = None
        self._scores: OrderedDict[str, InjectionScore] = OrderedDict()

    # -- building ---------------------------------------------------------------------------

    @property
    def scans_pii(self) -> bool:
        """Whether any policy needs the PII scanner."""
        s = self.settings
        actions = {s.output_pii, *(a.output_pii for a in s.agents.values() if a.output_pii)}
        return s.redact_pii or actions != {"off"}

    @property
    def screens_input(self) -> bool:
        """Whether any policy screens for prompt injection."""
        s = self.settings
        own = [a.injection for a in (*s.agents.values(), *s.prompts.values()) if a.injection]
        return {s.injection, *own} != {"off"}

    async def load(self) -> None:
        """Build the detectors in a thread (Presidio takes ~2 s to import), once.

        Raises:
            ConfigError: a detector is misconfigured (the message names the key).
        """
        if self._load is None:
            self._load = asyncio.get_running_loop().create_task(asyncio.to_thread(self._build))
        await self._load

    def _build(self) -> None:
        s = self.settings
        if self.scans_pii and self.pii is None:
            self.pii = PiiScanner(s.pii_entities or DEFAULT_ENTITIES, s.pii_threshold)
        if self.screens_input and self.detector is None:
            if s.injection_detector.startswith("litellm:"):
                if self._judge is None:
                    raise RuntimeError("no judge factory: build Guards with judge=")
                self.detector = self._judge(s.injection_detector.removeprefix("litellm:"))
            else:
                from agentops.runtime.guards.injection import InjectionScorer

                self.detector = _Builtin(InjectionScorer())
            if s.injection_threshold is not None:
                self.detector.threshold = s.injection_threshold

    # -- storage ----------------------------------------------------------------------------

    def redact(self, value: Any) -> Any:
        """``value`` with personal data replaced (strings inside dicts and lists too)."""
        if self.pii is None:
            return value
        return self.pii.redact_value(value)[0]

    @property
    def redactor(self) -> Callable[[Any], Any] | None:
        """What the store, tracer and logs redact with (None unless ``redact_pii``)."""
        return self.redact if self.settings.redact_pii and self.pii is not None else None

    def excerpt(self, text: str, around: int = 0) -> str:
        """Up to :data:`EXCERPT_CHARS` of ``text`` from ``around``, personal data masked."""
        start = max(0, min(around, len(text) - EXCERPT_CHARS))
        cut = text[start : start + EXCERPT_CHARS]
        clipped = ("…" if start else "") + cut + ("…" if start + EXCERPT_CHARS < len(text) else "")
        return str(self.redact(clipped))

    # -- policies ---------------------------------------------------------------------------

    def input_action(self, agent: str | None, prompt: str | None) -> InputAction:
        """The injection guard's action for a call of ``prompt`` by ``agent``."""
        s = self.settings
        for own in (s.prompts.get(prompt or ""), s.agents.get(agent or "")):
            if own is not None and own.injection is not None:
                return own.injection
        return s.injection

    def output_action(self, agent: str | None) -> OutputAction:
        """The output filter's action for ``agent``."""
        own = self.settings.agents.get(agent or "")
        return own.output_pii if own is not None and own.output_pii is not None else self.settings.output_pii

    def behaviour_action(self, agent: str | None) -> BehaviourAction:
        """What a departure from ``agent``'s usual actions leads to."""
        own = self.settings.agents.get(agent or "")
        return own.behaviour if own is not None and own.behaviour is not None else self.settings.behaviour

    # -- the input guard --------------------------------------------------------------------

    async def screen(
        self, texts: Sequence[tuple[str, str]], *, agent: str | None, prompt: str | None, task_id: str | None
    ) -> GuardDecision:
        """Score each untrusted ``(where, text)`` for prompt injection; the policy's decision.

        ``texts`` come most specific first (a tool's result before the message quoting it):
        the first over the threshold is the one the decision names.

        Returns ``pass`` (with the highest score) when no text reaches the threshold, else the
        agent's or prompt's action (``flag``, ``block``, ``escalate``) for the highest-scoring
        text, published and audited; the caller acts on ``block`` and ``escalate``, and
        records an ``escalate`` itself when it opens the escalation (a resumed task screens
        the same text again). A detector that fails decides by ``injection_on_error``.
        """
        action = self.input_action(agent, prompt)
        if action == "off" or self.detector is None or not texts:
            return GuardDecision("injection", "pass")
        threshold = self.detector.threshold
        best: tuple[InjectionScore, str, str] | None = None
        for where, text in texts:  # the first text over the threshold is the one named
            try:
                score = await self._score(text)
            except Exception as exc:  # noqa: BLE001 - the policy says what a failed detector means
                return await self._detector_failed(exc, action, where, text, agent=agent, task_id=task_id)
            if best is None or score.score > best[0].score:
                best = (score, where, text)
            if score.score >= threshold:
                break
        assert best is not None
        score, where, text = best
        if score.score < threshold:
            return GuardDecision("injection", "pass", where=where, score=score.score, rules=score.rules)
        rules = f"; rules: {', '.join(score.rules)}" if score.rules else ""
        decision = GuardDecision(
            "injection",
            action,
            where=where,
            score=score.score,
            rules=score.rules,
            reason=f"prompt injection suspected (score {score.score:.2f} >= {threshold:.2f}{rules})",
            text=self.excerpt(text, _first_rule_hit(text) - 60),
        )
        if action != "escalate":
            await self.record(decision, agent=agent, task_id=task_id)
        return decision

    async def _score(self, text: str) -> InjectionScore:
        assert self.detector is not None
        key = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
        hit = self._scores.get(key)
        if hit is not None:
            self._scores.move_to_end(key)
            return hit
        score = await self.detector.score(text)
        self._scores[key] = score
        if len(self._scores) > SCORE_CACHE:
            self._scores.popitem(last=False)
        return score

    async def _detector_failed(
        self, exc: Exception, action: InputAction, where: str, text: str, *, agent: str | None, task_id: str | None
    ) -> GuardDecision:
        on_error = self.settings.injection_on_error or ("open" if action == "flag" else "closed")
        error = f"{type(exc).__name__}: {exc}"
        log.error("injection detector failed", error=error, on_error=on_error)
        decision = GuardDecision(
            "injection",
            "flag" if on_error == "open" else action,
            where=where,
            reason=f"the detector failed ({error}); on_error={on_error}",
            text=self.excerpt(text),
            error=error,
        )
        if decision.decision != "escalate":
            await self.record(decision, agent=agent, task_id=task_id)
        return decision

    # -- the output filter ------------------------------------------------------------------

    async def check_output(
        self, value: Any, *, agent: str | None, task_id: str | None, where: str
    ) -> tuple[Any, GuardDecision]:
        """A reply's text or a tool's result, filtered by the agent's policy.

        Returns:
            The value the agent gets (redacted, or as it was) and the decision.

        Raises:
            GuardBlockedError: it holds personal data or a secret and the policy blocks.
        """
        action = self.output_action(agent)
        if action == "off" or self.pii is None or value is None:
            return value, GuardDecision("output_pii", "pass", where=where)
        redacted, entities = self.pii.redact_value(value)
        if not entities:
            return value, GuardDecision("output_pii", "pass", where=where)
        found = tuple(sorted(entities))
        decision = GuardDecision(
            "output_pii",
            action,
            found,
            where,
            reason=f"it holds {', '.join(found)} (policy: {action})",
            text=_clip(str(redacted)),
        )
        await self.record(decision, agent=agent, task_id=task_id)
        if action == "block":
            raise decision.blocked()
        return redacted, decision

    async def check_echo(
        self, reply: str, system_prompts: Sequence[str], *, agent: str | None, task_id: str | None
    ) -> GuardDecision:
        """Whether a reply quotes its call's system prompt (``output_echo``); block raises.

        Raises:
            GuardBlockedError: it does and the policy blocks.
        """
        action = self.settings.output_echo
        if action == "off" or not system_prompts:
            return GuardDecision("prompt_echo", "pass", where="reply")
        quoted = echoed(reply, system_prompts)
        if not quoted:
            return GuardDecision("prompt_echo", "pass", where="reply")
        decision = GuardDecision(
            "prompt_echo",
            action,
            where="reply",
            reason=f"it quotes the system prompt ({quoted} runs of 8 words)",
            text=self.excerpt(reply),
        )
        await self.record(decision, agent=agent, task_id=task_id)
        if action == "block":
            raise decision.blocked()
        return decision

    # -- decisions --------------------------------------------------------------------------

    async def record(self, decision: GuardDecision, *, agent: str | None, task_id: str | None) -> None:
        """Publish a decision and write it to the audit log under the agent's name."""
        details = {
            "guard": decision.guard,
            "decision": decision.decision,
            "where": decision.where,
            "reason": decision.reason,
            "score": decision.score,
            "rules": list(decision.rules),
            "entities": list(decision.entities),
            "text": decision.text,
            "agent": agent,
            "task_id": task_id,
        }
        self.bus.publish("guard.decision", **details)
        if self.audit is not None:
            action = f"guard.{decision.guard}.{decision.decision}"
            try:
                await self.audit(f"agent:{agent or '?'}", "guard", action, task_id or "-", details)
            except Exception as exc:  # noqa: BLE001 - the decision stands; its audit row is logged as lost
                log.error("guard decision not audited", guard=decision.guard, error=str(exc))

    async def audit_refusal(
        self, kind: str, *, agent: str | None, task_id: str | None, reason: str, details: dict[str, Any]
    ) -> None:
        """Audit a call the runtime refused (``rate_limit``, ``budget``) under the agent's name."""
        if self.audit is None:
            return
        try:
            await self.audit(f"agent:{agent or '?'}", "runtime", f"{kind}.refused", task_id or "-",
                             {"reason": reason, "agent": agent, **details})  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - the refusal stands; its audit row is logged as lost
            log.error("refusal not audited", kind=kind, error=str(exc))


class _Builtin:
    """The shipped scorer behind the :class:`Detector` protocol (long texts off the loop)."""

    def __init__(self, scorer: Any) -> None:
        self.scorer = scorer
        self.threshold: float = scorer.threshold

    async def score(self, text: str) -> InjectionScore:
        if len(text) >= THREAD_FROM_CHARS:
            return await asyncio.to_thread(self.scorer.score, text)
        result: InjectionScore = self.scorer.score(text)
        return result


def _first_rule_hit(text: str) -> int:
    """Where the first injection rule matches in ``text`` (0: none): the excerpt shows it."""
    if len(text) <= EXCERPT_CHARS:
        return 0
    from agentops.runtime.guards.injection import RULES

    hits = [m.start() for r in RULES if (m := r.pattern.search(text)) is not None]
    return min(hits, default=0)


def _clip(text: str) -> str:
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "…"
