"""The whole configuration: every section, checked together (routes name deployments, routers
name routes, the default route exists). Build it with :func:`~agentops.runtime.config.load_settings`."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from agentops.runtime.config.alerting import AlertSettings
from agentops.runtime.config.costs import (
    BatchSettings,
    BudgetSettings,
    CacheSettings,
    RateLimitSettings,
    RouterSettings,
)
from agentops.runtime.config.exporting import OtlpSettings
from agentops.runtime.config.guarding import GuardSettings
from agentops.runtime.config.sections import (
    SIMULATOR_API_BASE,
    ApiSettings,
    CircuitSettings,
    DeploymentSettings,
    FlagSettings,
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

__all__ = ["Settings"]


def _default_deployments() -> dict[str, DeploymentSettings]:
    return {
        "primary": DeploymentSettings(
            model="openai/gpt-4o-mini", api_base=SIMULATOR_API_BASE, api_key_env="OPENAI_API_KEY"
        ),
        "fallback": DeploymentSettings(
            model="openai/gpt-4.1-mini", api_base=SIMULATOR_API_BASE, api_key_env="OPENAI_API_KEY"
        ),
        "emergency": DeploymentSettings(
            model="openai/gpt-4.1-nano", api_base=SIMULATOR_API_BASE, api_key_env="OPENAI_API_KEY"
        ),
    }


def _default_routes() -> dict[str, RouteSettings]:
    return {"default": RouteSettings(chain=["primary", "fallback", "emergency"])}


class Settings(BaseSettings):
    """The whole configuration. Build it with :func:`load_settings`."""

    model_config = SettingsConfigDict(env_prefix="AGENTOPS_", env_nested_delimiter="__", extra="forbid")

    store: StoreSettings = StoreSettings()
    retry: RetrySettings = RetrySettings()
    circuit: CircuitSettings = CircuitSettings()
    deployments: dict[str, DeploymentSettings] = Field(default_factory=_default_deployments)
    routes: dict[str, RouteSettings] = Field(default_factory=_default_routes)
    prices: dict[str, PriceOverride] = {}
    gate: GateSettings = GateSettings()
    runtime: RuntimeSettings = RuntimeSettings()
    workers: WorkerSettings = WorkerSettings()
    log: LogSettings = LogSettings()
    api: ApiSettings = ApiSettings()
    prompts: PromptSettings = PromptSettings()
    alerts: AlertSettings = AlertSettings()
    otlp: OtlpSettings = OtlpSettings()
    guards: GuardSettings = GuardSettings()
    flags: dict[str, FlagSettings] = {}
    budgets: BudgetSettings = BudgetSettings()
    rate_limits: RateLimitSettings = RateLimitSettings()
    cache: CacheSettings = CacheSettings()
    batch: BatchSettings = BatchSettings()
    routers: dict[str, RouterSettings] = {}
    simulator: SimulatorSettings = SimulatorSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values arrive as init kwargs; the environment overrides them.
        return (env_settings, init_settings)

    @model_validator(mode="after")
    def _routes_name_deployments(self) -> Settings:
        for name, route in self.routes.items():
            for dep in route.chain:
                if dep not in self.deployments:
                    known = ", ".join(sorted(self.deployments)) or "none"
                    raise ValueError(
                        f"routes.{name}.chain names deployment {dep!r}, which is not "
                        f"defined under [deployments] (defined: {known})"
                    )
        for name, router in self.routers.items():
            if name in self.routes:
                raise ValueError(f"routers.{name}: a route has the same name; give the router its own")
            for picked in sorted(router.routes()):
                if picked not in self.routes:
                    raise ValueError(
                        f"routers.{name} names route {picked!r}, which is not defined under [routes] "
                        f"(defined: {', '.join(sorted(self.routes))})"
                    )
        if self.budgets.downgrade_route is not None and self.budgets.downgrade_route not in self.routes:
            raise ValueError(
                f"budgets.downgrade_route names route {self.budgets.downgrade_route!r}, not under [routes]"
            )
        uses_downgrade = self.budgets.action == "downgrade" or "downgrade" in self.budgets.actions.values()
        if uses_downgrade and self.budgets.downgrade_route is None:
            raise ValueError("budgets: the downgrade action needs budgets.downgrade_route (the cheaper route)")
        if self.runtime.default_route not in self.routes and self.runtime.default_route not in self.routers:
            raise ValueError(
                f"runtime.default_route is {self.runtime.default_route!r}, which is not "
                f"defined under [routes] (defined: {', '.join(sorted(self.routes))})"
            )
        return self

    @property
    def uses_simulator(self) -> bool:
        """True when any deployment points at the built-in simulator."""
        return self.simulator.enabled and any(d.api_base == SIMULATOR_API_BASE for d in self.deployments.values())
