"""The control API: FastAPI over :class:`~agentops.runtime.control.local.LocalControl`.

Every route needs a bearer token (:mod:`.auth`) except ``/healthz`` and ``/readyz``.
Reads need ``viewer``; submitting, cancelling, deciding and setting a budget's cap need
``operator``; clearing the response cache and reloading the configuration need
``admin``. Each change is made through the same control the console and CLI use, so it
lands in the audit log with the token's name as the actor and ``via=api``.

Request bodies are strict (unknown fields are a 422 naming the field) and bounded
(``api.max_body_bytes``, else 413); each token has a request rate (``api.rate_per_min``
with ``api.rate_burst``, else 429 with Retry-After). ``GET /v1/events`` is a
Server-Sent Events stream of the runtime's events; a client that reconnects with
``Last-Event-ID`` gets what it missed, or a ``stream.reset`` event when that is no
longer kept (then it reloads).
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from agentops.runtime.control.api.schemas import (
    AlertSilence,
    BudgetCap,
    CacheClear,
    CacheCleared,
    CacheStats,
    CancelResponse,
    DecisionRequest,
    ErrorBody,
    FlagChange,
    PromptActionRequest,
    SubmitRequest,
    SubmitResponse,
    WhoAmI,
)
from agentops.runtime.control.api.state import (
    ERRORS,
    Admin,
    ApiState,
    Limit,
    Operator,
    Refused,
    Since,
    TaskId,
    Viewer,
    principal,
)
from agentops.runtime.control.api.stream import add_event_stream
from agentops.runtime.control.local import BudgetStatus, RuntimeStatus
from agentops.runtime.engine import CircuitStatus
from agentops.runtime.errors import (
    AgentOpsError,
    ConfigError,
    ConflictError,
    DecisionError,
    NotFoundError,
    TaskInputError,
    UnknownAgentError,
)
from agentops.runtime.logs import get_logger
from agentops.runtime.rollouts import PromptSummary, PromptVersionInfo, RolloutInfo
from agentops.runtime.rollouts.flags import FlagStatus
from agentops.store import (
    AlertRecord,
    AuditRecord,
    BatchJobRecord,
    BatchTotals,
    CircuitEventRecord,
    CostRow,
    EscalationRecord,
    GuardDecisionRecord,
    SpanRecord,
    TaskRecord,
)
from agentops.store.store import CallBucket, CallTotals

__all__ = ["ApiState", "create_app"]

log = get_logger("agentops.api")

API_VIA = "api"
ERROR_STATUS: dict[type[AgentOpsError], int] = {
    NotFoundError: 404,
    ConflictError: 409,
    DecisionError: 422,
    TaskInputError: 422,
    UnknownAgentError: 422,
    ConfigError: 422,
}


def create_app(state: ApiState) -> FastAPI:
    """The control API app over one runtime."""
    app = FastAPI(
        title="agentops control API",
        version="1",
        description=__doc__,
        max_body_size=state.settings.max_body_bytes,
        responses=ERRORS,
        docs_url=None,  # no interactive pages on a server; the schema stays at /openapi.json
        redoc_url=None,
    )
    app.state.api = state

    @app.exception_handler(Refused)
    async def refused(_request: Request, exc: Refused) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)

    @app.exception_handler(AgentOpsError)
    async def agentops_error(_request: Request, exc: AgentOpsError) -> JSONResponse:
        code = next((c for t, c in ERROR_STATUS.items() if isinstance(exc, t)), 500)
        return JSONResponse({"detail": str(exc), "error": type(exc).__name__}, code)

    # -- probes ---------------------------------------------------------------------------

    @app.get("/healthz", tags=["probes"])
    async def healthz() -> dict[str, str]:
        """Liveness: the process serves requests."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["probes"], responses={503: {"model": dict[str, Any]}})
    async def readyz() -> JSONResponse:
        """Readiness: the store is open, providers are loaded, and the server is not draining."""
        rt = state.runtime
        checks = {"store": rt.store is not None, "providers": rt.ready, "draining": state.draining}
        ok = checks["store"] and checks["providers"] and not state.draining
        return JSONResponse({"ready": ok, **checks}, 200 if ok else 503)

    @app.get("/metrics", tags=["probes"], response_class=Response)
    async def metrics(request: Request, authorization: Annotated[str | None, Header()] = None) -> Response:
        """Prometheus text format: a viewer's bearer token, or none with ``api.metrics_public``."""
        if not state.settings.metrics_public:
            await principal("viewer")(request, authorization)
        else:  # no token: each client address has a token's rate
            client = request.client.host if request.client else "?"
            wait = state.bucket(f"metrics:{client}").try_take()
            if wait > 0:
                raise Refused(429, "over the rate for /metrics", {"Retry-After": str(max(1, math.ceil(wait)))})
        return Response(await state.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    # -- reads ----------------------------------------------------------------------------

    @app.get("/v1/whoami")
    async def whoami(who: Viewer) -> WhoAmI:
        """The caller's token name and role (a console hides actions a viewer may not take)."""
        return WhoAmI(name=who.name, role=who.role)

    @app.get("/v1/status")
    async def get_status(
        _who: Viewer, day_start: Annotated[float | None, Query(ge=0, allow_inf_nan=False)] = None
    ) -> RuntimeStatus:
        """Readiness and headline figures (spend since ``day_start``, default the server's midnight)."""
        return await state.control.status(day_start=day_start)

    @app.get("/v1/tasks")
    async def list_tasks(
        _who: Viewer,
        limit: Limit = 50,
        status: Annotated[str | None, Query(max_length=20)] = None,
        agent: Annotated[str | None, Query(max_length=200)] = None,
        id: Annotated[
            list[TaskId] | None, Query(max_length=200, description="exact ids to fetch (at most 200)")
        ] = None,
    ) -> list[TaskRecord]:
        """Tasks, newest first; or, with ``id`` (repeatable), those tasks."""
        if id:
            return await state.control.get_tasks(id)
        return await state.control.list_tasks(limit=limit, status=status, agent=agent)

    @app.get("/v1/tasks/{task_id}", responses={404: {"model": ErrorBody}})
    async def get_task(_who: Viewer, task_id: str) -> TaskRecord:
        """One task by id or unique prefix."""
        task = await state.control.get_task(task_id)
        if task is None:
            raise NotFoundError(f"no task {task_id!r} (or the prefix is not unique)")
        return task

    @app.get("/v1/tasks/{task_id}/spans")
    async def task_spans(_who: Viewer, task_id: str) -> list[SpanRecord]:
        """A task's spans, in start order."""
        return await state.control.task_spans(task_id)

    @app.get("/v1/calls/buckets", responses={422: {"model": ErrorBody}})
    async def call_buckets(
        _who: Viewer,
        since: Since,
        until: Since,
        bucket_s: Annotated[float, Query(ge=1, le=86400, allow_inf_nan=False)] = 60.0,
    ) -> list[CallBucket]:
        """LLM calls, errors and P95 latency per bucket (at most 1,440 buckets)."""
        if until < since or (until - since) / bucket_s > 1440:
            raise Refused(422, "need since <= until and at most 1440 buckets")
        return await state.control.call_buckets(since=since, until=until, bucket_s=bucket_s)

    @app.get("/v1/calls/totals")
    async def call_totals(_who: Viewer, since: Since = 0.0) -> CallTotals:
        """LLM call counts and cost since ``since``."""
        return await state.control.call_totals(since=since)

    @app.get("/v1/spend")
    async def spend(
        _who: Viewer, since: Since, until: Annotated[float | None, Query(ge=0, allow_inf_nan=False)] = None
    ) -> float:
        """Ledger spend in USD in a time range."""
        return await state.control.spend(since=since, until=until)

    @app.get("/v1/budgets")
    async def budgets(_who: Viewer) -> list[BudgetStatus]:
        """Every capped budget in use today: use and cap (``unit`` USD or tokens), what calls in flight
        hold, the action over the cap, the rate over the last 15 minutes and the seconds to exhaustion."""
        return await state.control.budgets()

    @app.get("/v1/cache")
    async def cache_stats(_who: Viewer, since: Since = 0.0) -> CacheStats:
        """Response-cache hits (exact, semantic), hit rate and savings since ``since``, and the entries held."""
        return CacheStats.model_validate(await state.control.cache_stats(since=since))

    @app.get("/v1/costs")
    async def costs(
        _who: Viewer,
        by: Literal["agent", "model", "user", "deployment", "task", "prompt"] = "agent",
        since: Since = 0.0,
    ) -> list[CostRow]:
        """Ledger spend grouped by a dimension."""
        return await state.control.costs(by, since=since)

    @app.get("/v1/batches")
    async def batch_jobs(_who: Viewer, in_flight: bool = False, limit: Limit = 50) -> list[BatchJobRecord]:
        """Provider batch jobs, newest first (only those not settled yet, with ``in_flight``): status,
        requests, lines answered and failed, their cost at the batch rate and the saving."""
        return await state.control.batch_jobs(in_flight=in_flight, limit=limit)

    @app.get("/v1/batches/totals")
    async def batch_totals(_who: Viewer, since: Since = 0.0) -> BatchTotals:
        """Batch jobs in flight, requests waiting, and what batch calls cost and saved since ``since``."""
        return await state.control.batch_totals(since=since)

    @app.get("/v1/circuits")
    async def circuits(_who: Viewer) -> list[CircuitStatus]:
        """Every deployment's breaker."""
        return await state.control.circuits()

    @app.get("/v1/circuits/events")
    async def circuit_events(_who: Viewer, limit: Limit = 200) -> list[CircuitEventRecord]:
        """Recent breaker transitions, newest first."""
        return await state.control.circuit_events(limit=limit)

    @app.get("/v1/escalations")
    async def escalations(
        _who: Viewer, status: Literal["pending", "decided", "all"] = "pending", limit: Limit = 200
    ) -> list[EscalationRecord]:
        """Escalations: waiting ones oldest first, or (``status=all``) all newest first."""
        return await state.control.escalations(status=None if status == "all" else status, limit=limit)

    @app.get("/v1/escalations/{escalation_id}", responses={404: {"model": ErrorBody}})
    async def get_escalation(_who: Viewer, escalation_id: str) -> EscalationRecord:
        """One escalation by id or unique prefix."""
        return await state.control.get_escalation(escalation_id)

    @app.get("/v1/audit")
    async def audit(_who: Viewer, limit: Limit = 200) -> list[AuditRecord]:
        """Operator actions, newest first."""
        return await state.control.audit_log(limit=limit)

    add_event_stream(app, state)

    @app.get("/v1/alerts")
    async def alerts(
        _who: Viewer, status: Literal["firing", "resolved", "all"] = "all", limit: Limit = 200
    ) -> list[AlertRecord]:
        """Alerts newest first: those firing now and the history, with the figures that fired each."""
        return await state.control.alerts(status=None if status == "all" else status, limit=limit)

    @app.get("/v1/guards")
    async def guards(
        _who: Viewer,
        guard: Literal["injection", "output_pii", "prompt_echo", "behaviour"] | None = None,
        agent: str | None = None,
        since: float = 0.0,
        limit: Limit = 200,
    ) -> list[GuardDecisionRecord]:
        """Guard decisions other than *pass*, newest first: the guard, the agent, why, and an
        excerpt of the text with its personal data masked."""
        return await state.control.guard_decisions(guard=guard, agent=agent, since=since, limit=limit)

    @app.get("/v1/prompts")
    async def prompts(_who: Viewer) -> list[PromptSummary]:
        """Every prompt: versions, labels, the running canary and shadow."""
        return await state.control.prompts()

    @app.get("/v1/prompts/{name}/versions", responses={404: {"model": ErrorBody}})
    async def prompt_versions(_who: Viewer, name: str, since: Since = 0.0) -> list[PromptVersionInfo]:
        """A prompt's versions, newest first, with calls, error and validation-failure rates, P95, cost per
        call and judge score since ``since``, and each version's content (for diffs)."""
        return await state.control.prompt_versions(name, since=since)

    @app.get("/v1/rollouts")
    async def rollouts(_who: Viewer, prompt: Annotated[str | None, Query(max_length=200)] = None) -> list[RolloutInfo]:
        """Canaries and shadows, newest first."""
        return await state.control.rollouts(prompt)

    @app.get("/v1/flags")
    async def flags(_who: Viewer) -> list[FlagStatus]:
        """Every flag, its definition and evaluations per minute by value."""
        return await state.control.flags()

    # -- changes --------------------------------------------------------------------------

    @app.post(
        "/v1/prompts/{name}/actions",
        responses={404: {"model": ErrorBody}, 422: {"model": ErrorBody}},
    )
    async def prompt_action(who: Operator, name: str, body: PromptActionRequest) -> PromptSummary:
        """Promote, roll back, start or stop a canary or a shadow (audited)."""
        return await state.control.prompt_action(
            name, body.action, version=body.version, label=body.label, actor=who.name, via=API_VIA
        )

    @app.patch("/v1/flags/{name}", responses={404: {"model": ErrorBody}, 422: {"model": ErrorBody}})
    async def set_flag(who: Operator, name: str, body: FlagChange) -> FlagStatus:
        """Change a flag live: toggle, kill, rollout percentage, variants, rules (audited)."""
        changes = body.model_dump(exclude_none=True, mode="json")
        return await state.control.set_flag(name, changes, actor=who.name, via=API_VIA)

    @app.put("/v1/budgets/{scope}/{key:path}", responses={422: {"model": ErrorBody}})
    async def set_budget(
        who: Operator,
        scope: Annotated[str, Path(max_length=40, description="task, session, user-day, agent-day or global-day")],
        key: Annotated[str, Path(min_length=1, max_length=200, description="the task, session, user or agent id; *")],
        body: BudgetCap,
    ) -> BudgetStatus | None:
        """Set a budget's cap live (audited); ``key`` ``*`` sets the scope's default. Returns the budget,
        or null when it is not one shown today (a scope's default)."""
        return await state.control.set_budget(scope, key, body.cap, actor=who.name, via=API_VIA)

    @app.post("/v1/cache/clear", responses={422: {"model": ErrorBody}})
    async def clear_cache(who: Admin, body: CacheClear) -> CacheCleared:
        """Drop cached answers: all, or one prompt's (audited)."""
        return CacheCleared(cleared=await state.control.clear_cache(prompt=body.prompt, actor=who.name, via=API_VIA))

    @app.post(
        "/v1/tasks",
        status_code=201,
        responses={200: {"model": SubmitResponse}, 422: {"model": ErrorBody}},
    )
    async def submit(who: Operator, body: SubmitRequest) -> JSONResponse:
        """Queue a task (201), or return the one an earlier request with this idempotency key queued (200)."""
        task, created = await state.control.submit(
            body.agent,
            body.input,
            actor=who.name,
            via=API_VIA,
            user_id=body.user_id,
            session_id=body.session_id,
            priority=body.priority,
            idempotency_key=body.idempotency_key,
            batch=body.batch,
        )
        payload = SubmitResponse(task=task, created=created).model_dump(mode="json")
        return JSONResponse(payload, 201 if created else 200)

    @app.post("/v1/tasks/{task_id}/cancel", responses={404: {"model": ErrorBody}})
    async def cancel(who: Operator, task_id: str) -> CancelResponse:
        """Cancel a task: at once when queued or waiting, at its next step when running."""
        outcome = await state.control.cancel(task_id, actor=who.name, via=API_VIA)
        return CancelResponse(task_id=task_id, outcome=outcome)

    @app.post(
        "/v1/escalations/{escalation_id}/decision",
        responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}, 422: {"model": ErrorBody}},
    )
    async def decide(who: Operator, escalation_id: str, body: DecisionRequest) -> EscalationRecord:
        """Approve, deny (``comment`` is the reason) or edit (``args``) an escalation, once."""
        return await state.control.decide(
            escalation_id, body.action, actor=who.name, via=API_VIA, args=body.args, comment=body.comment
        )

    @app.post("/v1/alerts/{alert_id}/ack", responses={404: {"model": ErrorBody}})
    async def acknowledge_alert(who: Operator, alert_id: TaskId) -> AlertRecord:
        """Acknowledge an alert (an alert raised by an event, a canary rollback, resolves with it)."""
        return await state.control.acknowledge_alert(alert_id, actor=who.name, via=API_VIA)

    @app.post("/v1/alerts/{alert_id}/silence", responses={404: {"model": ErrorBody}, 422: {"model": ErrorBody}})
    async def silence_alert(who: Operator, alert_id: TaskId, body: AlertSilence) -> AlertRecord:
        """Hold an alert's rule and key quiet for a while: firings are recorded, not delivered."""
        return await state.control.silence_alert(
            alert_id, body.duration_s, actor=who.name, via=API_VIA, reason=body.reason
        )

    @app.post("/v1/config/reload", responses={422: {"model": ErrorBody}})
    async def reload(who: Admin) -> dict[str, list[str]]:
        """Re-read the configuration file and apply what can change live (as SIGHUP does)."""
        if state.reload is None:
            raise Refused(409, "this server was started without a configuration file to reload")
        return asdict(await state.reload(who.name, API_VIA))

    return app
