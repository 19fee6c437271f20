"""Alerts' persistence: one row per firing, written once however many processes evaluate the
rules (a unique index allows one firing row per rule and key), resolutions, acknowledgements
and silences (audited), and the figures alert rules read: tool errors, LLM latency, daily
spend and task tokens."""

from __future__ import annotations

import json
import math
import sqlite3
import time
import uuid
from dataclasses import dataclass
from typing import Any

from agentops.store.queue import audit
from agentops.store.queue import cursor as _cursor
from agentops.store.store import Store

__all__ = ["AlertRecord", "AlertStore", "SilenceRecord"]


@dataclass(frozen=True)
class AlertRecord:
    """One firing of an alert rule for one key."""

    id: str
    rule: str
    key: str
    severity: str
    status: str
    """``firing`` or ``resolved``."""
    summary: str
    figures: dict[str, Any]
    pending_since: float
    fired_at: float
    resolved_at: float | None = None
    resolution: str | None = None
    acked_by: str | None = None
    acked_at: float | None = None
    silenced_until: float | None = None
    """Set when read with the silences: the rule's key is quiet until then."""


@dataclass(frozen=True)
class SilenceRecord:
    """A rule's key held quiet until a time."""

    rule: str
    key: str
    until: float
    by: str
    reason: str | None
    created_at: float


def _alert(r: sqlite3.Row | Any, silences: dict[tuple[str, str], float] | None = None) -> AlertRecord:
    d = dict(r)
    d["figures"] = json.loads(d["figures"])
    until = (silences or {}).get((d["rule"], d["key"]))
    return AlertRecord(**d, silenced_until=until)


class AlertStore:
    """Alert rows over a :class:`~agentops.store.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- firings --------------------------------------------------------------------------

    async def fire(
        self, rule: str, key: str, severity: str, summary: str, figures: dict[str, Any], pending_since: float
    ) -> AlertRecord | None:
        """Record a firing; None when this rule's key is firing already (another process wrote it)."""
        alert_id = f"a-{uuid.uuid4().hex[:10]}"
        now = time.time()

        def tx(conn: sqlite3.Connection) -> AlertRecord | None:
            with _cursor(
                conn,
                "INSERT INTO alerts (id, rule, key, severity, status, summary, figures, pending_since, fired_at)"
                " VALUES (?, ?, ?, ?, 'firing', ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING *",
                (alert_id, rule, key, severity, summary, json.dumps(figures, default=str), pending_since, now),
            ) as cur:
                row = cur.fetchone()
            return _alert(row) if row is not None else None

        return await self.store.writer.transact(tx)

    async def resolve(self, rule: str, key: str, resolution: str) -> AlertRecord | None:
        """Resolve the firing row of a rule's key; None when none was firing."""

        def tx(conn: sqlite3.Connection) -> AlertRecord | None:
            with _cursor(
                conn,
                "UPDATE alerts SET status = 'resolved', resolved_at = ?, resolution = ?"
                " WHERE rule = ? AND key = ? AND status = 'firing' RETURNING *",
                (time.time(), resolution, rule, key),
            ) as cur:
                row = cur.fetchone()
            return _alert(row) if row is not None else None

        return await self.store.writer.transact(tx)

    async def firing(self) -> list[AlertRecord]:
        """Every alert firing now, oldest first."""
        rows = await self.store._all("SELECT * FROM alerts WHERE status = 'firing' ORDER BY fired_at")
        silences = await self._silences()
        return [_alert(r, silences) for r in rows]

    async def history(self, *, status: str | None = None, limit: int = 200) -> list[AlertRecord]:
        """Alerts newest first (``status``: only ``firing`` or ``resolved`` ones)."""
        clause, params = ("WHERE status = ?", (status,)) if status else ("", ())
        rows = await self.store._all(f"SELECT * FROM alerts {clause} ORDER BY fired_at DESC LIMIT ?", (*params, limit))
        silences = await self._silences()
        return [_alert(r, silences) for r in rows]

    async def get(self, alert_id: str) -> AlertRecord | None:
        """One alert by id, or by a unique id prefix."""
        rows = await self.store._all(
            "SELECT * FROM alerts WHERE id = ? OR id LIKE ? LIMIT 2", (alert_id, alert_id + "%")
        )
        exact = [r for r in rows if r["id"] == alert_id]
        chosen = exact[0] if exact else rows[0] if len(rows) == 1 else None
        return _alert(chosen, await self._silences()) if chosen is not None else None

    # -- operators ------------------------------------------------------------------------

    async def acknowledge(self, alert_id: str, *, actor: str, via: str) -> AlertRecord | None:
        """Mark an alert acknowledged (audited); None for an unknown id."""

        def tx(conn: sqlite3.Connection) -> AlertRecord | None:
            with _cursor(
                conn,
                "UPDATE alerts SET acked_by = ?, acked_at = ? WHERE id = ? RETURNING *",
                (actor, time.time(), alert_id),
            ) as cur:
                row = cur.fetchone()
            if row is None:
                return None
            audit(conn, actor, via, "alert.ack", alert_id, {"rule": row["rule"], "key": row["key"]})
            return _alert(row)

        return await self.store.writer.transact(tx)

    async def silence(
        self, rule: str, key: str, *, until: float, actor: str, via: str, reason: str | None = None
    ) -> SilenceRecord:
        """Hold a rule's key quiet until ``until`` (its firings are recorded, not delivered; audited)."""
        now = time.time()

        def tx(conn: sqlite3.Connection) -> SilenceRecord:
            conn.execute(
                "INSERT INTO alert_silences (rule, key, until, by, reason, created_at) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (rule, key) DO UPDATE SET until = excluded.until, by = excluded.by,"
                " reason = excluded.reason, created_at = excluded.created_at",
                (rule, key, until, actor, reason, now),
            )
            audit(conn, actor, via, "alert.silence", f"{rule}:{key}", {"until": until, "reason": reason})
            return SilenceRecord(rule, key, until, actor, reason, now)

        return await self.store.writer.transact(tx)

    async def silenced_until(self, rule: str, key: str) -> float | None:
        """Until when a rule's key is silenced (None: it is not)."""
        return (await self._silences()).get((rule, key))

    async def _silences(self) -> dict[tuple[str, str], float]:
        rows = await self.store._all("SELECT rule, key, until FROM alert_silences WHERE until > ?", (time.time(),))
        return {(r[0], r[1]): float(r[2]) for r in rows}

    # -- the figures rules read -----------------------------------------------------------

    async def tool_calls(self, *, since: float) -> list[tuple[str | None, int, int]]:
        """Tool calls since ``since`` by agent: (agent, calls, errors)."""
        rows = await self.store._all(
            "SELECT t.agent, COUNT(*), SUM(c.status != 'ok') FROM tool_calls c LEFT JOIN tasks t ON t.id = c.task_id"
            " WHERE c.created_at >= ? GROUP BY t.agent",
            (since,),
        )
        return [(r[0], int(r[1]), int(r[2] or 0)) for r in rows]

    async def call_latencies(self, *, since: float, until: float) -> dict[str, list[float]]:
        """Latencies (ms) of answered LLM calls in ``[since, until)`` by deployment (cache hits and
        batch calls aside)."""
        rows = await self.store._all(
            "SELECT deployment, latency_ms FROM llm_calls WHERE created_at >= ? AND created_at < ?"
            " AND status = 'ok' AND cache IS NULL AND batch_job IS NULL AND deployment IS NOT NULL",
            (since, until),
        )
        out: dict[str, list[float]] = {}
        for deployment, latency in rows:
            out.setdefault(deployment, []).append(float(latency))
        return out

    async def daily_spend(self, *, since: float, until: float, day_s: float = 86400.0) -> list[float]:
        """Spend per day from ``since`` (a day's start) to ``until``, oldest first; the last day's last."""
        days = max(1, math.ceil((until - since) / day_s))
        rows = await self.store._all(
            "SELECT CAST((created_at - ?) / ? AS INTEGER), SUM(cost_usd) FROM ledger"
            " WHERE created_at >= ? AND created_at < ? GROUP BY 1",
            (since, day_s, since, until),
        )
        out = [0.0] * days
        for day, usd in rows:
            if 0 <= int(day) < days:
                out[int(day)] = float(usd or 0.0)
        return out

    async def task_tokens(self, agent: str, *, limit: int = 200) -> list[int]:
        """Tokens of an agent's last finished tasks (newest first)."""
        rows = await self.store._all(
            "SELECT input_tokens + output_tokens FROM tasks WHERE agent = ? AND finished_at IS NOT NULL"
            " AND status = 'succeeded' ORDER BY finished_at DESC LIMIT ?",
            (agent, limit),
        )
        return [int(r[0]) for r in rows]
