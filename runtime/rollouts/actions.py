"""An operator's actions on a prompt, each audited: promote a version (the old one becomes
``previous``), roll back to ``previous``, start or stop a canary or a shadow, point a label of
one's own at a version. A change takes effect at the next step of running tasks."""

from __future__ import annotations

import re

from agentops.runtime.errors import DecisionError, NotFoundError
from agentops.runtime.rollouts.prompts import DEFAULT_CANARY, DEFAULT_SHADOW, PromptRegistry
from agentops.store import RolloutRecord

__all__ = ["MANAGED_LABELS", "PROMPT_ACTIONS", "act", "promote", "rollback", "start_rollout", "stop_rollout"]

PROMPT_ACTIONS = ("promote", "rollback", "canary.start", "canary.stop", "shadow.start", "shadow.stop", "label")
MANAGED_LABELS = frozenset({"production", "previous", "latest", "canary", "shadow"})
"""Labels the actions keep; ``label`` sets any other name (for ``ctx.llm(..., label=NAME)``)."""
_LABEL = re.compile(r"^[a-z][a-z0-9_.-]{0,39}$")


async def act(
    prompts: PromptRegistry,
    name: str,
    action: str,
    version: int | None,
    *,
    actor: str,
    via: str,
    label: str | None = None,
) -> None:
    """Do an operator's action on a prompt (see :data:`PROMPT_ACTIONS`); ``label`` names the label
    that the ``label`` action points at ``version`` (or removes, without a version).

    Raises:
        DecisionError: an unknown action, a missing version, or the action does not apply now.
        NotFoundError: no such prompt or version.
    """
    await prompts.refresh()
    if action not in PROMPT_ACTIONS:
        raise DecisionError(f"unknown prompt action {action!r}; use one of {', '.join(PROMPT_ACTIONS)}")
    if name not in prompts.names():
        raise NotFoundError(f"no prompt {name!r} (known: {', '.join(prompts.names()) or 'none'})")
    needs_version = action in ("promote", "canary.start", "shadow.start")
    if needs_version and version is None:
        raise DecisionError(f"{action} needs a version")
    if action in ("rollback", "canary.stop", "shadow.stop") and version is not None:
        raise DecisionError(f"{action} takes no version (it acts on what is running or on 'previous')")
    if action == "label":
        if label is None or not _LABEL.match(label) or label in MANAGED_LABELS:
            raise DecisionError(
                f"label {label!r}: use a lowercase name (a-z, 0-9, _ . -) other than "
                + ", ".join(sorted(MANAGED_LABELS))
            )
        if version is not None:
            prompts.version(name, version)
        await prompts.store.set_label(name, label, version, actor=actor, via=via, action="prompt.label")
        await prompts.changed(name, "label", label=label, version=version, actor=actor)
    elif action == "promote":
        assert version is not None
        await promote(prompts, name, version, actor=actor, via=via)
    elif action == "rollback":
        await rollback(prompts, name, actor=actor, via=via)
    else:
        kind, _, verb = action.partition(".")
        if verb == "start":
            assert version is not None
            await start_rollout(prompts, name, kind, version, actor=actor, via=via)
        else:
            await stop_rollout(prompts, name, kind, actor=actor, via=via)


async def promote(prompts: PromptRegistry, prompt: str, version: int, *, actor: str, via: str) -> int | None:
    """Point ``production`` at ``version`` (the old one becomes ``previous``). Returns the old one.

    A canary or shadow of a version that becomes production ends (``promoted``); one of
    another version goes on against the new production.

    Raises:
        DecisionError: it is production already.
    """
    prompts.version(prompt, version)
    if prompts.label(prompt, "production") == version:
        raise DecisionError(f"version {version} of {prompt!r} is production already")
    for kind in ("canary", "shadow"):
        rollout = prompts.active(prompt, kind)
        if rollout is not None and rollout.version == version:
            await prompts.store.end_rollout(
                rollout.id, "promoted", f"promoted by {actor}", actor=actor, via=via, label_moves={kind: None}
            )
    before = await prompts.store.set_label(prompt, "production", version, actor=actor, via=via, action="prompt.promote")
    if before is not None and before != version:
        await prompts.store.set_label(prompt, "previous", before, actor=actor, via=via, action="prompt.label")
    await prompts.changed(prompt, "promote", version=version, before=before, actor=actor)
    return before


async def rollback(prompts: PromptRegistry, prompt: str, *, actor: str, via: str) -> int:
    """Point ``production`` back at ``previous``. Returns the version now in production.

    Raises:
        DecisionError: there is no previous version.
    """
    previous = prompts.label(prompt, "previous")
    current = prompts.label(prompt, "production")
    if previous is None or previous == current:
        raise DecisionError(f"prompt {prompt!r} has no previous production version to roll back to")
    await prompts.store.set_label(prompt, "production", previous, actor=actor, via=via, action="prompt.rollback")
    if current is not None:
        await prompts.store.set_label(prompt, "previous", current, actor=actor, via=via, action="prompt.label")
    await prompts.changed(prompt, "rollback", version=previous, before=current, actor=actor)
    return previous


async def start_rollout(
    prompts: PromptRegistry, prompt: str, kind: str, version: int, *, actor: str, via: str
) -> RolloutRecord:
    """Start a canary or a shadow of ``version`` against production.

    Raises:
        DecisionError: it is the production version, or one is running already.
    """
    prompts.version(prompt, version)
    production = prompts.label(prompt, "production")
    if production is None or production == version:
        raise DecisionError(f"version {version} of {prompt!r} is production already")
    file_cfg = prompts.files[prompt].content.get(kind, {}) if prompt in prompts.files else {}
    config = {**(DEFAULT_CANARY if kind == "canary" else DEFAULT_SHADOW), **file_cfg}
    if kind == "canary" and (not config["stages"] or sorted(config["stages"]) != list(config["stages"])):
        raise DecisionError(f"prompt {prompt!r}: canary stages must be increasing percentages, got {config['stages']}")
    try:
        await prompts.store.start_rollout(prompt, kind, version, production, config, actor=actor, via=via)
    except ValueError as exc:
        raise DecisionError(str(exc)) from None
    await prompts.store.set_label(prompt, kind, version, actor=actor, via=via, action="prompt.label")
    await prompts.changed(prompt, f"{kind}.start", version=version, actor=actor)
    started = prompts.active(prompt, kind)
    assert started is not None
    return started


async def stop_rollout(
    prompts: PromptRegistry, prompt: str, kind: str, *, actor: str, via: str, reason: str = "stopped by an operator"
) -> None:
    """Stop a running canary or shadow (production is unchanged).

    Raises:
        DecisionError: none is running.
    """
    rollout = prompts.active(prompt, kind)
    if rollout is None:
        raise DecisionError(f"no {kind} of {prompt!r} is running")
    await prompts.store.end_rollout(rollout.id, "stopped", reason, actor=actor, via=via, label_moves={kind: None})
    await prompts.changed(prompt, f"{kind}.stop", version=rollout.version, actor=actor, reason=reason)
