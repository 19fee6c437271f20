"""Batch requests and batch jobs: LLM calls that go by a provider's batch API.

A request is a row before anything is sent, keyed by its task's journal step, so a step
that runs again finds it and never sends a second. A job is a row (``submitting``, holding
its requests) before its file is uploaded; the process that polls it holds a lease on it, so
after a crash another process (or the same one, restarted) takes it over and polls on. A
finished job is settled in one transaction: each answered request gets its result, its
``llm_calls`` row and its ledger row; each failed line goes back to ``pending`` for the next
job, or fails for good after its last attempt; and every task whose request is now final is
queued again. A task parks on its request in one transaction with the check that its request
is not final already, so a job finishing meanwhile cannot leave it waiting forever.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agentops.store.queue import cursor as _cursor
from agentops.store.records import LedgerRecord, LLMCallRecord, TaskRecord
from agentops.store.store import Store

__all__ = ["BatchJobRecord", "BatchRequestRecord", "BatchStore", "BatchTotals", "LineOutcome"]

IN_FLIGHT = ("submitting", "in_progress")
"""Job statuses before the job is settled."""


@dataclass(frozen=True)
class BatchRequestRecord:
    """One LLM request sent, or to be sent, in a batch job."""

    id: str
    task_id: str
    seq: int
    span_id: str
    trace_id: str
    name: str
    route: str
    deployment: str
    body: dict[str, Any]
    """The chat request as the provider gets it (model, messages, parameters)."""
    scope: dict[str, Any]
    """Attribution: agent, user, session, prompt, version."""
    status: str
    """``pending``, ``submitted``, ``done`` or ``failed``."""
    created_at: float
    parent_span_id: str | None = None
    job_id: str | None = None
    attempts: int = 0
    result: dict[str, Any] | None = None
    error: str | None = None
    finished_at: float | None = None

    @property
    def final(self) -> bool:
        """Answered, or failed for good."""
        return self.status in ("done", "failed")


@dataclass(frozen=True)
class BatchJobRecord:
    """One provider batch job."""

    id: str
    deployment: str
    status: str
    requests: int
    created_at: float
    next_poll_at: float
    provider_batch_id: str | None = None
    input_file_id: str | None = None
    succeeded: int = 0
    failed: int = 0
    cost_usd: float = 0.0
    saving_usd: float = 0.0
    owner: str | None = None
    lease_until: float | None = None
    polls: int = 0
    error: str | None = None
    submitted_at: float | None = None
    finished_at: float | None = None


@dataclass(frozen=True)
class LineOutcome:
    """What became of one request of a finished job."""

    request_id: str
    result: dict[str, Any] | None = None
    """Set when it was answered."""
    error: str | None = None
    """Set when its line failed."""
    call: LLMCallRecord | None = None
    ledger: LedgerRecord | None = None


@dataclass(frozen=True)
class BatchTotals:
    """Batch figures since a time."""

    jobs_in_flight: int
    requests_waiting: int
    """Requests not answered yet (pending or in a job)."""
    cost_usd: float
    saving_usd: float
    """What the batch rate saved against the full rate."""


class BatchStore:
    """Batch requests and jobs over a :class:`~agentops.store.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- requests ---------------------------------------------------------------------------

    async def request_for(self, task_id: str, seq: int) -> BatchRequestRecord | None:
        """The request of a task's step, if it has one."""
        rows = await self.store._all("SELECT * FROM batch_requests WHERE task_id = ? AND seq = ?", (task_id, seq))
        return _request(rows[0]) if rows else None

    async def add_request(self, request: BatchRequestRecord) -> BatchRequestRecord:
        """Add a request (durable on return); the step's existing one if it has one already."""

        def tx(conn: sqlite3.Connection) -> BatchRequestRecord:
            conn.execute(
                "INSERT OR IGNORE INTO batch_requests (id, task_id, seq, span_id, parent_span_id, trace_id, name,"
                " route, deployment, body, scope, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    request.id,
                    request.task_id,
                    request.seq,
                    request.span_id,
                    request.parent_span_id,
                    request.trace_id,
                    request.name,
                    request.route,
                    request.deployment,
                    self.store.clean(json.dumps(request.body)),
                    json.dumps(request.scope),
                    "pending",
                    request.created_at,
                ),
            )
            with _cursor(
                conn, "SELECT * FROM batch_requests WHERE task_id = ? AND seq = ?", (request.task_id, request.seq)
            ) as cur:
                row = cur.fetchone()
            return _request(row)

        return await self.store.writer.transact(tx)

    async def park(self, task: TaskRecord, owner: str, request_id: str) -> str:
        """Park a running task on its request: ``waiting``, or ``queued`` at once if the request
        is final already (one transaction). Returns the new status, or ``lost``."""

        def tx(conn: sqlite3.Connection) -> str:
            with _cursor(
                conn,
                "UPDATE tasks SET status = CASE WHEN EXISTS (SELECT 1 FROM batch_requests WHERE id = ?"
                " AND status IN ('done', 'failed')) THEN 'queued' ELSE 'waiting' END,"
                " available_at = ?, lease_owner = NULL, lease_expires_at = NULL,"
                " steps = ?, input_tokens = ?, output_tokens = ?, cached_tokens = ?, cost_usd = ?, prompts = ?"
                " WHERE id = ? AND lease_owner = ? AND status = 'running' RETURNING status",
                (
                    request_id,
                    time.time(),
                    task.steps,
                    task.input_tokens,
                    task.output_tokens,
                    task.cached_tokens,
                    task.cost_usd,
                    json.dumps(task.prompts),
                    task.id,
                    owner,
                ),
            ) as cur:
                row = cur.fetchone()
            return str(row[0]) if row else "lost"

        return await self.store.writer.transact(tx)

    # -- jobs -------------------------------------------------------------------------------

    async def ready_deployments(self, *, now: float, max_wait_s: float, max_requests: int) -> list[str]:
        """Deployments whose pending requests should go now: enough of them, or the oldest has waited long enough."""
        rows = await self.store._all(
            "SELECT deployment FROM batch_requests WHERE status = 'pending' GROUP BY deployment"
            " HAVING COUNT(*) >= ? OR MIN(created_at) <= ?",
            (max_requests, now - max_wait_s),
        )
        return [str(r[0]) for r in rows]

    async def open_job(
        self, deployment: str, *, limit: int, owner: str, lease_s: float
    ) -> tuple[BatchJobRecord, list[BatchRequestRecord]] | None:
        """A new job holding up to ``limit`` of the deployment's pending requests (oldest first),
        leased to ``owner``; None if none is pending any more."""

        def tx(conn: sqlite3.Connection) -> tuple[BatchJobRecord, list[BatchRequestRecord]] | None:
            now = time.time()
            job_id = "job_" + uuid.uuid4().hex[:16]
            with _cursor(
                conn,
                "UPDATE batch_requests SET status = 'submitted', job_id = ?, attempts = attempts + 1"
                " WHERE id IN (SELECT id FROM batch_requests WHERE status = 'pending' AND deployment = ?"
                " ORDER BY created_at LIMIT ?) RETURNING *",
                (job_id, deployment, limit),
            ) as cur:
                taken = [_request(r) for r in cur.fetchall()]
            if not taken:
                return None
            conn.execute(
                "INSERT INTO batch_jobs (id, deployment, status, requests, owner, lease_until, next_poll_at,"
                " created_at) VALUES (?, ?, 'submitting', ?, ?, ?, ?, ?)",
                (job_id, deployment, len(taken), owner, now + lease_s, now, now),
            )
            return _job_of(conn, job_id), sorted(taken, key=lambda r: r.created_at)

        return await self.store.writer.transact(tx)

    async def claim_jobs(self, owner: str, *, lease_s: float, now: float) -> list[BatchJobRecord]:
        """Jobs in flight that are due a poll and that no other live process holds, leased to ``owner``."""

        def tx(conn: sqlite3.Connection) -> list[BatchJobRecord]:
            with _cursor(
                conn,
                "UPDATE batch_jobs SET owner = ?, lease_until = ? WHERE status IN ('submitting', 'in_progress')"
                " AND next_poll_at <= ? AND (owner IS NULL OR owner = ? OR lease_until < ?) RETURNING *",
                (owner, now + lease_s, now, owner, now),
            ) as cur:
                return [_job(r) for r in cur.fetchall()]

        return await self.store.writer.transact(tx)

    async def release_jobs(self, owner: str) -> None:
        """Give up the leases ``owner`` holds (a process stopping): another may poll them at once."""
        await self.store.writer.write(
            ("UPDATE batch_jobs SET owner = NULL, lease_until = NULL WHERE owner = ?", (owner,))
        )

    async def requests_of(self, job_id: str) -> list[BatchRequestRecord]:
        """The requests a job carries."""
        rows = await self.store._all("SELECT * FROM batch_requests WHERE job_id = ? ORDER BY created_at", (job_id,))
        return [_request(r) for r in rows]

    async def mark_submitted(
        self, job_id: str, *, provider_batch_id: str, input_file_id: str | None, at: float
    ) -> None:
        """The provider accepted the job."""
        await self.store.writer.write(
            (
                "UPDATE batch_jobs SET status = 'in_progress', provider_batch_id = ?, input_file_id = ?,"
                " submitted_at = ? WHERE id = ?",
                (provider_batch_id, input_file_id, at, job_id),
            )
        )

    async def poll_later(self, job_id: str, *, next_poll_at: float, error: str | None = None) -> None:
        """Polled (or tried to send): not finished; look again at ``next_poll_at``."""
        await self.store.writer.write(
            (
                "UPDATE batch_jobs SET polls = polls + 1, next_poll_at = ?, error = ? WHERE id = ?",
                (next_poll_at, self.store.clean(error), job_id),
            )
        )

    async def finish_job(
        self,
        job_id: str,
        status: str,
        outcomes: Sequence[LineOutcome],
        *,
        max_attempts: int,
        error: str | None = None,
    ) -> list[str]:
        """Settle a finished job (see the module's docstring). Returns the tasks queued again."""
        writes = [st for o in outcomes if o.call is not None for st in self.store.llm_call_statements(o.call, o.ledger)]

        def tx(conn: sqlite3.Connection) -> list[str]:
            now = time.time()
            with _cursor(conn, "SELECT status FROM batch_jobs WHERE id = ?", (job_id,)) as cur:
                row = cur.fetchone()
            if row is None or row[0] not in IN_FLIGHT:
                return []  # settled already (by another process that held it after a lease ran out)
            for sql, params in writes:
                conn.execute(sql, params)
            cost = saving = 0.0
            succeeded = failed = 0
            for o in outcomes:
                if o.result is not None:
                    succeeded += 1
                    conn.execute(
                        "UPDATE batch_requests SET status = 'done', result = ?, error = NULL, finished_at = ?"
                        " WHERE id = ? AND job_id = ?",
                        (self.store.clean(json.dumps(o.result)), now, o.request_id, job_id),
                    )
                    if o.ledger is not None:
                        cost += o.ledger.cost_usd
                        saving += o.ledger.saving_usd
                else:
                    failed += 1
                    conn.execute(
                        "UPDATE batch_requests SET status = CASE WHEN attempts >= ? THEN 'failed' ELSE 'pending' END,"
                        " job_id = CASE WHEN attempts >= ? THEN job_id END, error = ?,"
                        " finished_at = CASE WHEN attempts >= ? THEN ? END WHERE id = ? AND job_id = ?",
                        (
                            max_attempts,
                            max_attempts,
                            self.store.clean(o.error),
                            max_attempts,
                            now,
                            o.request_id,
                            job_id,
                        ),
                    )
            conn.execute(
                "UPDATE batch_jobs SET status = ?, succeeded = ?, failed = ?, cost_usd = ?, saving_usd = ?, error = ?,"
                " finished_at = ?, owner = NULL, lease_until = NULL WHERE id = ?",
                (status, succeeded, failed, cost, saving, self.store.clean(error), now, job_id),
            )
            with _cursor(
                conn,
                "UPDATE tasks SET status = 'queued', available_at = ? WHERE status = 'waiting' AND id IN"
                " (SELECT task_id FROM batch_requests WHERE job_id = ? AND status IN ('done', 'failed'))"
                " RETURNING id",
                (now, job_id),
            ) as cur:
                return [str(r[0]) for r in cur.fetchall()]

        return await self.store.writer.transact(tx)

    # -- views ------------------------------------------------------------------------------

    async def jobs(self, *, in_flight: bool = False, limit: int = 50) -> list[BatchJobRecord]:
        """Jobs, newest first (only those not settled yet, with ``in_flight``)."""
        where = " WHERE status IN ('submitting', 'in_progress')" if in_flight else ""
        rows = await self.store._all(f"SELECT * FROM batch_jobs{where} ORDER BY created_at DESC LIMIT ?", (limit,))
        return [_job(r) for r in rows]

    async def totals(self, *, since: float) -> BatchTotals:
        """Jobs in flight, requests waiting, and what batch calls cost and saved since ``since``."""
        (jobs,) = await self.store._all("SELECT COUNT(*) FROM batch_jobs WHERE status IN ('submitting', 'in_progress')")
        (waiting,) = await self.store._all(
            "SELECT COUNT(*) FROM batch_requests WHERE status IN ('pending', 'submitted')"
        )
        (spent,) = await self.store._all(
            "SELECT COALESCE(SUM(cost_usd), 0), COALESCE(SUM(saving_usd), 0) FROM ledger"
            " WHERE batch_job IS NOT NULL AND created_at >= ?",
            (since,),
        )
        return BatchTotals(int(jobs[0]), int(waiting[0]), float(spent[0]), float(spent[1]))


def _job_of(conn: sqlite3.Connection, job_id: str) -> BatchJobRecord:
    with _cursor(conn, "SELECT * FROM batch_jobs WHERE id = ?", (job_id,)) as cur:
        return _job(cur.fetchone())


def _request(r: Any) -> BatchRequestRecord:
    d = dict(r)
    d["body"] = json.loads(d["body"])
    d["scope"] = json.loads(d["scope"])
    d["result"] = json.loads(d["result"]) if d["result"] else None
    return BatchRequestRecord(**d)


def _job(r: Any) -> BatchJobRecord:
    return BatchJobRecord(**dict(r))
