"""Changes rolled out while running: prompt versions and labels, canaries, shadows, feature flags.

Owns prompt files and their immutable versions (:mod:`.files`, :mod:`.versions`), the
registry that resolves a prompt for a task and moves labels (:mod:`.prompts`), canary stages
and shadow alerts (:mod:`.canary`), what operators see of prompts (:mod:`.views`) and the
actions they take on them (:mod:`.actions`), shadow runs (:mod:`.shadow`) and feature flags
with their evaluation (:mod:`.flags`).

May import: calls (a shadow makes LLM calls), the registry of agents, the foundations and the
store. Never tasks, control or the console.
"""

from agentops.runtime.rollouts.actions import (
    MANAGED_LABELS,
    PROMPT_ACTIONS,
    act,
    promote,
    rollback,
    start_rollout,
    stop_rollout,
)
from agentops.runtime.rollouts.files import compile_template, import_output
from agentops.runtime.rollouts.flags import FlagEvaluation, Flags, FlagStatus
from agentops.runtime.rollouts.prompts import (
    DEFAULT_CANARY,
    DEFAULT_SHADOW,
    PromptFile,
    PromptRegistry,
    PromptVersion,
    Resolved,
    bucket,
)
from agentops.runtime.rollouts.shadow import JudgeVerdict, run_shadow
from agentops.runtime.rollouts.versions import artifact_content, artifact_id, version_of
from agentops.runtime.rollouts.views import (
    PromptSummary,
    PromptVersionInfo,
    RolloutInfo,
    rollout_info,
    summaries,
    version_infos,
)

__all__ = [
    "DEFAULT_CANARY",
    "DEFAULT_SHADOW",
    "MANAGED_LABELS",
    "PROMPT_ACTIONS",
    "FlagEvaluation",
    "FlagStatus",
    "Flags",
    "JudgeVerdict",
    "PromptFile",
    "PromptRegistry",
    "PromptSummary",
    "PromptVersion",
    "PromptVersionInfo",
    "Resolved",
    "RolloutInfo",
    "act",
    "artifact_content",
    "artifact_id",
    "bucket",
    "compile_template",
    "import_output",
    "promote",
    "rollback",
    "rollout_info",
    "run_shadow",
    "start_rollout",
    "stop_rollout",
    "summaries",
    "version_infos",
    "version_of",
]
