"""Configuration: one source of truth, loaded with pydantic-settings.

The file (config.toml, or ``--config``) is read first; an environment variable such as
``AGENTOPS_RETRY__MAX_RETRIES=3`` (nested keys joined with ``__``) overrides the key it
names. Secrets never live in the file: a deployment names the environment variable that
holds its key (``api_key_env``). A bad file fails at start with a
:class:`~agentops.runtime.errors.ConfigError` naming the file, the key and the reason.

Owns the sections (:mod:`.sections`; cost control's in :mod:`.costs`, alerts' in
:mod:`.alerting`, the trace export's in :mod:`.exporting`, the guards' in :mod:`.guarding`),
:class:`Settings` (:mod:`.settings`) and :func:`load_settings` (:mod:`.loading`). May import only the
errors and the simulator's own configuration model.
"""

from agentops.runtime.config.alerting import AlertSettings, CommandHookSettings, WebhookSettings
from agentops.runtime.config.costs import (
    BUDGET_SCOPES,
    BatchSettings,
    BudgetAction,
    BudgetSettings,
    CacheSettings,
    RateLimitSettings,
    RouterRule,
    RouterSettings,
)
from agentops.runtime.config.exporting import OtlpSettings
from agentops.runtime.config.guarding import (
    PII_ENTITIES,
    AgentGuardSettings,
    BehaviourAction,
    GuardSettings,
    InputAction,
    OutputAction,
    PromptGuardSettings,
)
from agentops.runtime.config.loading import default_config_path, load_settings
from agentops.runtime.config.sections import (
    SIMULATOR_API_BASE,
    ApiSettings,
    CircuitSettings,
    DeploymentSettings,
    FlagRule,
    FlagSettings,
    FlagValue,
    GateSettings,
    LogSettings,
    PriceOverride,
    PromptSettings,
    RetrySettings,
    RouteSettings,
    RuntimeSettings,
    SimulatorSettings,
    StoreSettings,
    WorkerSettings,
)
from agentops.runtime.config.settings import Settings

__all__ = [
    "BUDGET_SCOPES",
    "PII_ENTITIES",
    "SIMULATOR_API_BASE",
    "AgentGuardSettings",
    "AlertSettings",
    "ApiSettings",
    "BatchSettings",
    "BehaviourAction",
    "BudgetAction",
    "BudgetSettings",
    "CacheSettings",
    "CircuitSettings",
    "CommandHookSettings",
    "DeploymentSettings",
    "FlagRule",
    "FlagSettings",
    "FlagValue",
    "GateSettings",
    "GuardSettings",
    "InputAction",
    "LogSettings",
    "OtlpSettings",
    "OutputAction",
    "PriceOverride",
    "PromptGuardSettings",
    "PromptSettings",
    "RateLimitSettings",
    "RetrySettings",
    "RouteSettings",
    "RouterRule",
    "RouterSettings",
    "RuntimeSettings",
    "Settings",
    "SimulatorSettings",
    "StoreSettings",
    "WebhookSettings",
    "WorkerSettings",
    "default_config_path",
    "load_settings",
]
