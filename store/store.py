"""The SQLite store: one writer (group commit), one reader, WAL mode.

WAL lets the reader (and other processes, such as the CLI) read while the runtime
writes. ``synchronous=NORMAL`` keeps every committed row through a process crash
(SIGKILL); ``FULL`` also keeps it through power loss.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from agentops.store.migrate import migrate
from agentops.store.records import (
    CircuitEventRecord,
    CostRow,
    LedgerRecord,
    LLMCallRecord,
    SpanRecord,
    TaskRecord,
    ToolCallRecord,
)
from agentops.store.writer import Statement, Writer

__all__ = ["COST_DIMENSIONS", "CallBucket", "CallTotals", "Store"]

COST_DIMENSIONS = {
    "agent": "agent",
    "user": "user_id",
    "model": "model",
    "deployment": "deployment",
    "task": "task_id",
    "prompt": "prompt",
}
"""Ways to group the ledger, and the column each one reads."""


@dataclass(frozen=True)
class CallBucket:
    """LLM calls that finished inside one time bucket (e.g. one minute)."""

    start: float
    calls: int
    errors: int
    """Calls that failed in the end: every retry and fallback failed too."""
    p95_ms: float
    """95th percentile of call latency (0 with no calls)."""
    attempt_errors: int = 0
    """Attempts that failed (each one retried or fallen back from, and those of failed calls)."""


@dataclass(frozen=True)
class CallTotals:
    """LLM call counts since a point in time."""

    calls: int
    errors: int
    attempts: int
    retries: int
    fallbacks: int
    cost_usd: float


def _p95(values: Sequence[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


async def _connect(path: str, synchronous: str) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = aiosqlite.Row
    await conn.execute("PRAGMA journal_mode=WAL")
    await conn.execute(f"PRAGMA synchronous={synchronous}")
    await conn.execute("PRAGMA busy_timeout=30000")
    return conn


def _writer_connection(path: str, synchronous: str) -> Callable[[], sqlite3.Connection]:
    """How the writer thread opens its connection: the same settings as :func:`_connect`."""

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={synchronous}")
            conn.execute("PRAGMA busy_timeout=30000")
        except BaseException:
            conn.close()
            raise
        return conn

    return connect


class Store:
    """Persistence for tasks, spans, calls, the ledger and circuit events.

    Open with :meth:`open`; close with :meth:`close` (which writes what is queued).
    """

    def __init__(self, path: Path, reader: aiosqlite.Connection, writer: Writer) -> None:
        self.path = path
        self._reader = reader
        self.writer = writer
        self.redact: Callable[[Any], Any] | None = None
        """Replaces personal data in the content written (``[guards] redact_pii``; set by the
        runtime): task inputs and outputs, the journal, escalations, tool calls, errors."""

    def dumps(self, value: Any) -> str:
        """``value`` as the JSON stored, redacted when a redactor is set."""
        return _dumps(self.redact(value) if self.redact is not None and value is not None else value)

    def clean(self, text: str | None) -> str | None:
        """A text as stored (an error, a comment), redacted when a redactor is set."""
        return self.redact(text) if self.redact is not None and text else text

    @classmethod
    async def open(
        cls, path: Path | str, *, synchronous: str = "NORMAL", batch_max: int = 500, flush_interval: float = 0.05
    ) -> Store:
        """Open (creating and upgrading as needed) the database at ``path``."""
        path = Path(path)
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        # Migrations run on a connection of their own, closed before the writer thread
        # opens the one it keeps (so there is one writer at a time).
        migrating = await _connect(str(path), synchronous)
        try:
            await migrate(migrating)
        finally:
            await migrating.close()
        writer = await Writer.open(_writer_connection(str(path), synchronous), batch_max, flush_interval)
        try:
            reader = await _connect(str(path), synchronous)
        except BaseException:
            await writer.close()
            raise
        return cls(path, reader, writer)

    async def close(self) -> None:
        """Write everything queued, stop the writer thread and close the reader."""
        await self.writer.close()
        await self._reader.close()

    # -- writes ---------------------------------------------------------------------------

    async def insert_task(self, task: TaskRecord) -> None:
        """Create a task row (durable)."""
        await self.writer.write(
            (
                "INSERT INTO tasks (id, agent, user_id, session_id, status, input, trace_id, created_at, started_at,"
                " lease_owner, lease_expires_at, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
                (
                    task.id,
                    task.agent,
                    task.user_id,
                    task.session_id,
                    task.status,
                    self.dumps(task.input),
                    task.trace_id,
                    task.created_at,
                    task.started_at,
                    task.lease_owner,
                    task.lease_expires_at,
                ),
            )
        )

    def save_span(self, span: SpanRecord) -> None:
        """Queue a span (at start or end: the latest write wins) for the next group commit."""
        self.writer.enqueue(
            "INSERT OR REPLACE INTO spans (span_id, trace_id, parent_id, task_id, name, kind, status,"
            " start_time, end_time, attributes, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                span.span_id,
                span.trace_id,
                span.parent_id,
                span.task_id,
                span.name,
                span.kind,
                span.status,
                span.start_time,
                span.end_time,
                _dumps(span.attributes),
                span.error,
            ),
        )

    async def record_llm_call(self, call: LLMCallRecord, ledger: LedgerRecord | None) -> None:
        """Record a finished LLM call and, if it was billed, its ledger row (one durable commit)."""
        statements = self.llm_call_statements(call, ledger)
        await self.writer.write(*statements)

    def llm_call_statements(self, call: LLMCallRecord, ledger: LedgerRecord | None) -> list[Statement]:
        """The statements that write a call's row and its ledger row (idempotent by span id)."""
        statements: list[Statement] = [
            (
                "INSERT OR REPLACE INTO llm_calls (span_id, task_id, trace_id, route, model, deployment, status,"
                " attempts, retries, fallbacks, latency_ms, input_tokens, output_tokens, cached_tokens, cost_usd,"
                " error_type, error, created_at, prompt, prompt_version, cache, batch_job)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    call.span_id,
                    call.task_id,
                    call.trace_id,
                    call.route,
                    call.model,
                    call.deployment,
                    call.status,
                    call.attempts,
                    call.retries,
                    call.fallbacks,
                    call.latency_ms,
                    call.input_tokens,
                    call.output_tokens,
                    call.cached_tokens,
                    call.cost_usd,
                    call.error_type,
                    self.clean(call.error),
                    call.created_at,
                    call.prompt,
                    call.prompt_version,
                    call.cache,
                    call.batch_job,
                ),
            )
        ]
        if ledger is not None:
            statements.append(
                (
                    "INSERT OR IGNORE INTO ledger (span_id, task_id, agent, user_id, session_id, model, deployment,"
                    " input_tokens, output_tokens, cached_tokens, cost_usd, priced, created_at, prompt, cache,"
                    " saving_usd, batch_job)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        ledger.span_id,
                        ledger.task_id,
                        ledger.agent,
                        ledger.user_id,
                        ledger.session_id,
                        ledger.model,
                        ledger.deployment,
                        ledger.input_tokens,
                        ledger.output_tokens,
                        ledger.cached_tokens,
                        ledger.cost_usd,
                        int(ledger.priced),
                        ledger.created_at,
                        ledger.prompt,
                        ledger.cache,
                        ledger.saving_usd,
                        ledger.batch_job,
                    ),
                )
            )
        return statements

    async def mark_gate_failed(self, span_id: str) -> None:
        """Record that an LLM call's reply failed its validation gate (per-prompt-version figures count it)."""
        await self.writer.write(("UPDATE llm_calls SET gate_failed = 1 WHERE span_id = ?", (span_id,)))

    async def record_tool_call(self, call: ToolCallRecord) -> None:
        """Record a finished tool call (durable)."""
        await self.writer.write(
            (
                "INSERT OR REPLACE INTO tool_calls (span_id, task_id, tool, arguments, result, status, error_type,"
                " error, latency_ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    call.span_id,
                    call.task_id,
                    call.tool,
                    self.dumps(call.arguments),
                    self.dumps(call.result),
                    call.status,
                    call.error_type,
                    self.clean(call.error),
                    call.latency_ms,
                    call.created_at,
                ),
            )
        )

    def save_circuit_event(self, event: CircuitEventRecord) -> None:
        """Queue a circuit transition."""
        self.writer.enqueue(
            "INSERT INTO circuit_events (deployment, from_state, to_state, reason, at) VALUES (?, ?, ?, ?, ?)",
            (event.deployment, event.from_state, event.to_state, event.reason, event.at),
        )

    # -- reads ----------------------------------------------------------------------------

    async def list_tasks(
        self, *, limit: int = 50, status: str | None = None, agent: str | None = None
    ) -> list[TaskRecord]:
        """Tasks, newest first."""
        where, params = [], []
        if status:
            where.append("status = ?")
            params.append(status)
        if agent:
            where.append("agent = ?")
            params.append(agent)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = await self._all(f"SELECT * FROM tasks {clause} ORDER BY created_at DESC LIMIT ?", (*params, limit))
        return [_task(r) for r in rows]

    async def get_task(self, task_id: str) -> TaskRecord | None:
        """A task by id, or by a unique id prefix."""
        rows = await self._all("SELECT * FROM tasks WHERE id = ? OR id LIKE ? LIMIT 2", (task_id, task_id + "%"))
        exact = [r for r in rows if r["id"] == task_id]
        if exact:
            return _task(exact[0])
        return _task(rows[0]) if len(rows) == 1 else None

    async def spans_for_task(self, task_id: str) -> list[SpanRecord]:
        """Every span of a task, in start order."""
        rows = await self._all("SELECT * FROM spans WHERE task_id = ? ORDER BY start_time", (task_id,))
        return [_span(r) for r in rows]

    async def spans_since(self, since: float, *, limit: int = 1_000_000) -> list[SpanRecord]:
        """Spans that started at or after ``since``, in start order."""
        rows = await self._all("SELECT * FROM spans WHERE start_time >= ? ORDER BY start_time LIMIT ?", (since, limit))
        return [_span(r) for r in rows]

    async def llm_calls(self, *, task_id: str | None = None, limit: int = 1000) -> list[LLMCallRecord]:
        """LLM calls, newest first, optionally of one task."""
        clause, params = ("WHERE task_id = ?", (task_id,)) if task_id else ("", ())
        rows = await self._all(f"SELECT * FROM llm_calls {clause} ORDER BY created_at DESC LIMIT ?", (*params, limit))
        return [LLMCallRecord(**dict(r)) for r in rows]

    async def ledger_rows(self, *, since: float = 0.0) -> list[LedgerRecord]:
        """Ledger rows created at or after ``since``."""
        rows = await self._all("SELECT * FROM ledger WHERE created_at >= ? ORDER BY id", (since,))
        out = []
        for r in rows:
            d = dict(r)
            d.pop("id")
            d["priced"] = bool(d["priced"])
            out.append(LedgerRecord(**d))
        return out

    async def costs_by(self, dimension: str, *, since: float = 0.0) -> list[CostRow]:
        """Spend grouped by ``agent``, ``user``, ``model``, ``deployment`` or ``task``, largest first."""
        column = COST_DIMENSIONS.get(dimension)
        if column is None:
            raise ValueError(f"cannot group costs by {dimension!r}; choose one of {', '.join(COST_DIMENSIONS)}")
        rows = await self._all(
            f"SELECT COALESCE({column}, '-') AS key, COUNT(*) AS calls, SUM(input_tokens), SUM(output_tokens),"
            " SUM(cached_tokens), SUM(cost_usd), SUM(1 - priced), SUM(cache IS NOT NULL), SUM(saving_usd)"
            " FROM ledger WHERE created_at >= ?"
            " GROUP BY key ORDER BY SUM(cost_usd) DESC",
            (since,),
        )
        return [
            CostRow(r[0], r[1], r[2] or 0, r[3] or 0, r[4] or 0, r[5] or 0.0, r[6] or 0, r[7] or 0, r[8] or 0.0)
            for r in rows
        ]

    async def circuit_events(self, *, limit: int = 200) -> list[CircuitEventRecord]:
        """Recent circuit transitions, newest first."""
        rows = await self._all(
            "SELECT deployment, from_state, to_state, reason, at FROM circuit_events ORDER BY at DESC LIMIT ?", (limit,)
        )
        return [CircuitEventRecord(*r) for r in rows]

    async def get_tasks(self, task_ids: Sequence[str]) -> list[TaskRecord]:
        """The tasks with these exact ids (those that exist), in no particular order."""
        out: list[TaskRecord] = []
        ids = list(dict.fromkeys(task_ids))
        for i in range(0, len(ids), 500):  # SQLite caps bound parameters per statement
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            out += [_task(r) for r in await self._all(f"SELECT * FROM tasks WHERE id IN ({marks})", tuple(chunk))]
        return out

    async def count_tasks(self, *, status: str | None = None) -> int:
        """How many tasks there are (with this status)."""
        clause, params = ("WHERE status = ?", (status,)) if status else ("", ())
        rows = await self._all(f"SELECT COUNT(*) FROM tasks {clause}", params)
        return int(rows[0][0])

    async def count_escalations(self, *, status: str = "pending") -> int:
        """How many escalations have this status."""
        rows = await self._all("SELECT COUNT(*) FROM escalations WHERE status = ?", (status,))
        return int(rows[0][0])

    async def call_buckets(self, *, since: float, until: float, bucket_s: float = 60.0) -> list[CallBucket]:
        """LLM calls per bucket in ``[since, until)``: count, errors and P95 latency, oldest first.

        Every bucket is present, empty ones with zeros, so the result plots as a time series.
        Calls answered by a batch job count, but not in the latency (they waited minutes to hours
        by design).
        """
        n = max(1, math.ceil((until - since) / bucket_s))
        latencies: list[list[float]] = [[] for _ in range(n)]
        calls, errors, attempt_errors = [0] * n, [0] * n, [0] * n
        rows = await self._all(
            "SELECT created_at, status, latency_ms, attempts, batch_job FROM llm_calls"
            " WHERE created_at >= ? AND created_at < ?",
            (since, until),
        )
        for created_at, status, latency_ms, attempts, batch_job in rows:
            i = min(n - 1, int((created_at - since) // bucket_s))
            calls[i] += 1
            if batch_job is None:
                latencies[i].append(latency_ms)
            ok = status == "ok"
            errors[i] += not ok
            attempt_errors[i] += max(0, attempts - ok)  # a success's last attempt is the one that worked
        return [
            CallBucket(since + i * bucket_s, calls[i], errors[i], _p95(latencies[i]), attempt_errors[i])
            for i in range(n)
        ]

    async def call_totals(self, *, since: float = 0.0) -> CallTotals:
        """LLM calls, errors, attempts, retries, fallbacks and cost since ``since``."""
        rows = await self._all(
            "SELECT COUNT(*), SUM(status != 'ok'), SUM(attempts), SUM(retries), SUM(fallbacks > 0), SUM(cost_usd)"
            " FROM llm_calls WHERE created_at >= ?",
            (since,),
        )
        r = rows[0]
        return CallTotals(r[0] or 0, r[1] or 0, r[2] or 0, r[3] or 0, r[4] or 0, r[5] or 0.0)

    async def spend(self, *, since: float, until: float | None = None) -> float:
        """Ledger spend in USD in ``[since, until)``."""
        rows = await self._all(
            "SELECT SUM(cost_usd) FROM ledger WHERE created_at >= ? AND created_at < ?",
            (since, until if until is not None else 1e18),
        )
        return float(rows[0][0] or 0.0)

    async def _all(self, sql: str, params: tuple[Any, ...] = ()) -> list[aiosqlite.Row]:
        async with self._reader.execute(sql, params) as cur:
            return list(await cur.fetchall())


def _span(r: aiosqlite.Row) -> SpanRecord:
    return SpanRecord(
        r["span_id"],
        r["trace_id"],
        r["parent_id"],
        r["task_id"],
        r["name"],
        r["kind"],
        r["status"],
        r["start_time"],
        r["end_time"],
        json.loads(r["attributes"]),
        r["error"],
    )


def _task(r: aiosqlite.Row) -> TaskRecord:
    d = dict(r)
    d["input"] = json.loads(d["input"])
    d["output"] = json.loads(d["output"]) if d["output"] is not None else None
    d["prompts"] = json.loads(d.get("prompts") or "[]")
    return TaskRecord(**d)
