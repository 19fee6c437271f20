"""Prompt versions, labels, canary and shadow rollouts, shadow judgements, and feature flags.

A prompt version is a row written once: the same artifact id never makes a second
one. Labels point at versions and move in one transaction with their audit row.
Per-version figures (calls, errors, validation failures, P95 latency, cost) are read
from ``llm_calls``, where every call records the prompt version it rendered.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from agentops.store.queue import audit
from agentops.store.queue import cursor as _cursor
from agentops.store.store import Store, _p95

__all__ = [
    "FlagRow",
    "PromptLabelRecord",
    "PromptStore",
    "PromptVersionRecord",
    "RolloutRecord",
    "ShadowSummary",
    "VersionStats",
]


@dataclass(frozen=True)
class PromptVersionRecord:
    """One immutable version of a prompt."""

    prompt: str
    version: int
    artifact_id: str
    content: dict[str, Any]
    created_at: float


@dataclass(frozen=True)
class PromptLabelRecord:
    """A label pointing at a version."""

    prompt: str
    label: str
    version: int
    updated_at: float
    updated_by: str


@dataclass(frozen=True)
class RolloutRecord:
    """A canary or shadow of one version against the production version it started from."""

    id: int
    prompt: str
    kind: str
    version: int
    base_version: int
    stage: int
    stage_started_at: float
    status: str
    reason: str | None
    config: dict[str, Any]
    started_at: float
    started_by: str
    ended_at: float | None


@dataclass(frozen=True)
class VersionStats:
    """A prompt version's calls in a time range."""

    prompt: str
    version: int
    calls: int
    errors: int
    gate_failures: int
    p95_ms: float
    cost_usd: float

    @property
    def error_rate(self) -> float:
        """Failed calls / calls (0 with none)."""
        return self.errors / self.calls if self.calls else 0.0

    @property
    def gate_failure_rate(self) -> float:
        """Replies that failed validation / calls (0 with none)."""
        return self.gate_failures / self.calls if self.calls else 0.0

    @property
    def cost_per_call(self) -> float:
        """Mean cost of a call in USD."""
        return self.cost_usd / self.calls if self.calls else 0.0


@dataclass(frozen=True)
class ShadowSummary:
    """The judge's scores of one shadow rollout."""

    rollout_id: int
    judged: int
    mean_score: float | None
    errors: int
    cost_usd: float


@dataclass(frozen=True)
class FlagRow:
    """A feature flag as last set (live or from config.toml)."""

    name: str
    definition: dict[str, Any]
    config_hash: str
    updated_at: float
    updated_by: str


class PromptStore:
    """Prompt and flag state in the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- versions and labels ----------------------------------------------------------------

    async def register(self, prompt: str, artifact_id: str, content: dict[str, Any]) -> tuple[int, bool]:
        """The version with this artifact id, made if new: (version, created)."""

        def tx(conn: sqlite3.Connection) -> tuple[int, bool]:
            with _cursor(
                conn, "SELECT prompt, version FROM prompt_versions WHERE artifact_id = ?", (artifact_id,)
            ) as c:
                row = c.fetchone()
            if row is not None:
                if row[0] != prompt:
                    raise ValueError(f"artifact {artifact_id} already belongs to prompt {row[0]!r}")
                return int(row[1]), False
            with _cursor(
                conn, "SELECT COALESCE(MAX(version), 0) FROM prompt_versions WHERE prompt = ?", (prompt,)
            ) as c:
                version = int(c.fetchone()[0]) + 1
            conn.execute(
                "INSERT INTO prompt_versions (prompt, version, artifact_id, content, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (prompt, version, artifact_id, json.dumps(content, sort_keys=True), time.time()),
            )
            return version, True

        return await self.store.writer.transact(tx)

    async def versions(self, prompt: str | None = None) -> list[PromptVersionRecord]:
        """Versions of one prompt (or all), oldest first."""
        where, params = ("WHERE prompt = ?", (prompt,)) if prompt else ("", ())
        rows = await self.store._all(
            f"SELECT prompt, version, artifact_id, content, created_at FROM prompt_versions {where}"
            " ORDER BY prompt, version",
            params,
        )
        return [PromptVersionRecord(r[0], r[1], r[2], json.loads(r[3]), r[4]) for r in rows]

    async def labels(self, prompt: str | None = None) -> list[PromptLabelRecord]:
        """Labels of one prompt (or all)."""
        where, params = ("WHERE prompt = ?", (prompt,)) if prompt else ("", ())
        rows = await self.store._all(
            f"SELECT prompt, label, version, updated_at, updated_by FROM prompt_labels {where} ORDER BY prompt, label",
            params,
        )
        return [PromptLabelRecord(*r) for r in rows]

    async def set_label(
        self, prompt: str, label: str, version: int | None, *, actor: str, via: str, action: str, audited: bool = True
    ) -> int | None:
        """Point ``label`` at ``version`` (None removes it), audited unless the runtime does it on its own
        (``audited=False``: labels set when files load). Returns the version it pointed at before.

        Raises:
            LookupError: the prompt has no such version.
        """

        def tx(conn: sqlite3.Connection) -> int | None:
            if version is not None:
                with _cursor(
                    conn, "SELECT 1 FROM prompt_versions WHERE prompt = ? AND version = ?", (prompt, version)
                ) as c:
                    if c.fetchone() is None:
                        raise LookupError(f"prompt {prompt!r} has no version {version}")
            with _cursor(
                conn, "SELECT version FROM prompt_labels WHERE prompt = ? AND label = ?", (prompt, label)
            ) as c:
                row = c.fetchone()
            before = int(row[0]) if row else None
            if version is None:
                conn.execute("DELETE FROM prompt_labels WHERE prompt = ? AND label = ?", (prompt, label))
            else:
                conn.execute(
                    "INSERT INTO prompt_labels (prompt, label, version, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (prompt, label) DO UPDATE SET version = excluded.version,"
                    " updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                    (prompt, label, version, time.time(), actor),
                )
            if before != version and audited:
                audit(conn, actor, via, action, prompt, {"label": label, "from": before, "to": version})
            return before

        return await self.store.writer.transact(tx)

    # -- rollouts ---------------------------------------------------------------------------

    async def start_rollout(
        self,
        prompt: str,
        kind: str,
        version: int,
        base_version: int,
        config: dict[str, Any],
        *,
        actor: str,
        via: str,
    ) -> int:
        """Begin a canary or shadow, audited; one active of each kind per prompt.

        Raises:
            ValueError: one is active already.
        """

        def tx(conn: sqlite3.Connection) -> int:
            with _cursor(
                conn,
                "SELECT version FROM rollouts WHERE prompt = ? AND kind = ? AND status = 'active'",
                (prompt, kind),
            ) as c:
                row = c.fetchone()
            if row is not None:
                raise ValueError(f"a {kind} of {prompt!r} (version {row[0]}) is already running; stop it first")
            now = time.time()
            with _cursor(
                conn,
                "INSERT INTO rollouts (prompt, kind, version, base_version, stage, stage_started_at, status, config,"
                " started_at, started_by) VALUES (?, ?, ?, ?, 0, ?, 'active', ?, ?, ?) RETURNING id",
                (prompt, kind, version, base_version, now, json.dumps(config), now, actor),
            ) as c:
                rollout_id = int(c.fetchone()[0])
            audit(
                conn, actor, via, f"prompt.{kind}.start", prompt, {"version": version, "base": base_version, **config}
            )
            return rollout_id

        return await self.store.writer.transact(tx)

    async def rollouts(self, *, active_only: bool = False, prompt: str | None = None) -> list[RolloutRecord]:
        """Rollouts, newest first."""
        clauses, params = [], []
        if active_only:
            clauses.append("status = 'active'")
        if prompt:
            clauses.append("prompt = ?")
            params.append(prompt)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self.store._all(
            "SELECT id, prompt, kind, version, base_version, stage, stage_started_at, status, reason, config,"
            f" started_at, started_by, ended_at FROM rollouts {where} ORDER BY id DESC",
            tuple(params),
        )
        return [
            RolloutRecord(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], json.loads(r[9]), r[10], r[11], r[12])
            for r in rows
        ]

    async def advance(self, rollout_id: int, stage: int) -> bool:
        """Move an active canary to ``stage`` (its window restarts now)."""

        def tx(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "UPDATE rollouts SET stage = ?, stage_started_at = ? WHERE id = ? AND status = 'active'",
                (stage, time.time(), rollout_id),
            )
            return cur.rowcount == 1

        return await self.store.writer.transact(tx)

    async def end_rollout(
        self, rollout_id: int, status: str, reason: str, *, actor: str, via: str, label_moves: dict[str, int | None]
    ) -> bool:
        """End an active rollout (promoted, rolled_back or stopped) and move labels, in one audited transaction.

        Returns:
            False if it was no longer active.
        """

        def tx(conn: sqlite3.Connection) -> bool:
            with _cursor(
                conn,
                "UPDATE rollouts SET status = ?, reason = ?, ended_at = ? WHERE id = ? AND status = 'active'"
                " RETURNING prompt, kind, version",
                (status, reason, time.time(), rollout_id),
            ) as c:
                row = c.fetchone()
            if row is None:
                return False
            prompt, kind, version = row
            for label, to in label_moves.items():
                if to is None:
                    conn.execute("DELETE FROM prompt_labels WHERE prompt = ? AND label = ?", (prompt, label))
                else:
                    conn.execute(
                        "INSERT INTO prompt_labels (prompt, label, version, updated_at, updated_by)"
                        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (prompt, label) DO UPDATE SET version = excluded.version,"
                        " updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                        (prompt, label, to, time.time(), actor),
                    )
            audit(conn, actor, via, f"prompt.{kind}.{status}", prompt, {"version": version, "reason": reason})
            return True

        return await self.store.writer.transact(tx)

    # -- figures ----------------------------------------------------------------------------

    async def version_stats(self, prompt: str, *, since: float = 0.0) -> dict[int, VersionStats]:
        """Each version's calls since ``since`` (first attempts and repairs alike)."""
        rows = await self.store._all(
            "SELECT prompt_version, status, gate_failed, latency_ms, cost_usd, batch_job FROM llm_calls"
            " WHERE prompt = ? AND created_at >= ? AND prompt_version IS NOT NULL",
            (prompt, since),
        )
        grouped: dict[int, list[Any]] = {}
        for r in rows:
            grouped.setdefault(int(r[0]), []).append(r)
        return {
            v: VersionStats(
                prompt,
                v,
                len(rs),
                sum(1 for r in rs if r[1] != "ok"),
                sum(int(r[2]) for r in rs),
                _p95([float(r[3]) for r in rs if r[5] is None]),  # batch calls wait by design
                sum(float(r[4]) for r in rs),
            )
            for v, rs in grouped.items()
        }

    async def record_shadow(
        self,
        rollout_id: int,
        prompt: str,
        version: int,
        task_id: str | None,
        *,
        score: float | None,
        reason: str | None,
        production_output: str | None,
        shadow_output: str | None,
        cost_usd: float,
        error: str | None = None,
    ) -> None:
        """One shadow comparison."""
        await self.store.writer.write(
            (
                "INSERT INTO shadow_results (rollout_id, prompt, version, task_id, score, reason, production_output,"
                " shadow_output, cost_usd, error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    rollout_id,
                    prompt,
                    version,
                    task_id,
                    score,
                    reason,
                    production_output,
                    shadow_output,
                    cost_usd,
                    error,
                    time.time(),
                ),
            )
        )

    async def shadow_summary(self, rollout_id: int) -> ShadowSummary:
        """How the judge scored a shadow rollout so far."""
        rows = await self.store._all(
            "SELECT COUNT(score), AVG(score), SUM(error IS NOT NULL), COALESCE(SUM(cost_usd), 0)"
            " FROM shadow_results WHERE rollout_id = ?",
            (rollout_id,),
        )
        r = rows[0]
        return ShadowSummary(rollout_id, int(r[0] or 0), r[1], int(r[2] or 0), float(r[3] or 0.0))

    # -- flags ------------------------------------------------------------------------------

    async def flags(self) -> dict[str, FlagRow]:
        """Every flag's stored state."""
        rows = await self.store._all("SELECT name, definition, config_hash, updated_at, updated_by FROM flags")
        return {r[0]: FlagRow(r[0], json.loads(r[1]), r[2], r[3], r[4]) for r in rows}

    async def save_flag(
        self, name: str, definition: dict[str, Any], config_hash: str, *, actor: str, via: str, action: str
    ) -> None:
        """Store a flag's state, audited with what changed."""

        def tx(conn: sqlite3.Connection) -> None:
            with _cursor(conn, "SELECT definition FROM flags WHERE name = ?", (name,)) as c:
                row = c.fetchone()
            before = json.loads(row[0]) if row else {}
            conn.execute(
                "INSERT INTO flags (name, definition, config_hash, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET definition = excluded.definition,"
                " config_hash = excluded.config_hash, updated_at = excluded.updated_at,"
                " updated_by = excluded.updated_by",
                (name, json.dumps(definition, sort_keys=True), config_hash, time.time(), actor),
            )
            changed = {k: {"from": before.get(k), "to": v} for k, v in definition.items() if before.get(k) != v}
            if changed and (row is not None or action != "flag.config"):  # a first seed from the file is no change
                audit(conn, actor, via, action, f"flag:{name}", changed)

        await self.store.writer.transact(tx)
