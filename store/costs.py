"""Cost control's persistence: response-cache entries, budget caps set live, and spend sums.

Cache entries are written through the group commit (an entry lost in a crash is only a
later miss); a cap change is one transaction with its audit row. Spend and token sums
read the ledger, so every process sharing the file sees the same figures.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from agentops.store.queue import audit
from agentops.store.queue import cursor as _cursor
from agentops.store.store import Store

__all__ = ["CacheEntryRecord", "CacheTotals", "CostStore"]

_SPEND_COLUMNS = {"user-day": "user_id", "agent-day": "agent", "global-day": None}
_TOKEN_COLUMNS = {"task": "task_id", "session": "session_id"}


@dataclass(frozen=True)
class CacheEntryRecord:
    """One cached answer."""

    id: str
    kind: str
    """``exact`` or ``semantic``."""
    key: str
    """The request's hash (exact) or the namespace (semantic)."""
    response: dict[str, Any]
    cost_usd: float
    created_at: float
    expires_at: float | None = None
    prompt: str | None = None
    artifact: str | None = None
    text: str | None = None
    vector: bytes | None = None
    hits: int = 0
    last_hit_at: float | None = None


@dataclass(frozen=True)
class CacheTotals:
    """Response-cache figures over a time range."""

    calls: int
    """LLM calls made (hits included)."""
    exact_hits: int
    semantic_hits: int
    saving_usd: float
    """What the hits saved (their answers' original cost)."""
    prompt_cache_saving_usd: float
    """What providers' prompt caching saved (cached input tokens at their discount, calls made
    by batch excepted: their saving is the batch store's)."""
    entries: int

    @property
    def hit_rate(self) -> float:
        """Hits per call (0 with no calls)."""
        return (self.exact_hits + self.semantic_hits) / self.calls if self.calls else 0.0


class CostStore:
    """Cache entries, budget caps and spend sums over a :class:`~agentops.store.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- cache entries ----------------------------------------------------------------------

    def put_entry(self, e: CacheEntryRecord) -> None:
        """Queue a new entry (group commit)."""
        self.store.writer.enqueue(
            "INSERT OR REPLACE INTO cache_entries (id, kind, key, prompt, artifact, text, vector, response, cost_usd,"
            " created_at, expires_at, hits, last_hit_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                e.id,
                e.kind,
                e.key,
                e.prompt,
                e.artifact,
                e.text,
                e.vector,
                json.dumps(e.response),
                e.cost_usd,
                e.created_at,
                e.expires_at,
                e.hits,
                e.last_hit_at,
            ),
        )

    def note_hit(self, entry_id: str, at: float) -> None:
        """Queue a hit count."""
        self.store.writer.enqueue(
            "UPDATE cache_entries SET hits = hits + 1, last_hit_at = ? WHERE id = ?", (at, entry_id)
        )

    def delete_entries(self, ids: list[str]) -> None:
        """Queue the removal of entries (evicted, expired, or failed their gate)."""
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            self.store.writer.enqueue(
                f"DELETE FROM cache_entries WHERE id IN ({','.join('?' * len(chunk))})", tuple(chunk)
            )

    async def clear(self, *, prompt: str | None = None, actor: str, via: str) -> int:
        """Delete every entry (or a prompt's), audited. Returns how many went."""

        def tx(conn: sqlite3.Connection) -> int:
            if prompt is None:
                n = conn.execute("DELETE FROM cache_entries").rowcount
            else:
                n = conn.execute(
                    "DELETE FROM cache_entries WHERE prompt = ? OR prompt LIKE ?", (prompt, prompt + "@v%")
                ).rowcount
            audit(conn, actor, via, "cache.clear", prompt or "*", {"entries": n})
            return int(n)

        return await self.store.writer.transact(tx)

    async def clears_since(self, audit_id: int) -> tuple[int, list[str]]:
        """Cache clears audited after row ``audit_id`` (by any process): (the last row id, their targets)."""
        rows = await self.store._all("SELECT id, action, target FROM audit_log WHERE id > ? ORDER BY id", (audit_id,))
        last = int(rows[-1][0]) if rows else audit_id
        return last, [str(r[2]) for r in rows if r[1] == "cache.clear"]

    async def load_entries(self, *, now: float | None = None, limit: int = 1_000_000) -> list[CacheEntryRecord]:
        """Unexpired entries, most recently used last (the order to rebuild an LRU in)."""
        at = time.time() if now is None else now
        rows = await self.store._all(
            "SELECT id, kind, key, response, cost_usd, created_at, expires_at, prompt, artifact, text, vector, hits,"
            " last_hit_at FROM cache_entries WHERE expires_at IS NULL OR expires_at > ?"
            " ORDER BY COALESCE(last_hit_at, created_at) DESC LIMIT ?",
            (at, limit),
        )
        rows.reverse()  # the most recently used were kept; oldest first for the LRU
        return [
            CacheEntryRecord(
                r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12]
            )
            for r in rows
        ]

    async def cache_totals(self, *, since: float) -> CacheTotals:
        """Calls, hits by kind and savings since ``since``, and the entries held."""
        calls = await self.store._all(
            "SELECT COUNT(*), SUM(cache = 'exact'), SUM(cache = 'semantic') FROM llm_calls WHERE created_at >= ?",
            (since,),
        )
        saved = await self.store._all(
            "SELECT SUM(CASE WHEN cache IS NULL THEN 0 ELSE saving_usd END),"
            " SUM(CASE WHEN cache IS NULL AND batch_job IS NULL THEN saving_usd ELSE 0 END)"
            " FROM ledger WHERE created_at >= ?",
            (since,),
        )
        entries = await self.store._all("SELECT COUNT(*) FROM cache_entries")
        c, s = calls[0], saved[0]
        return CacheTotals(c[0] or 0, c[1] or 0, c[2] or 0, s[0] or 0.0, s[1] or 0.0, entries[0][0] or 0)

    # -- budget caps --------------------------------------------------------------------------

    async def caps(self) -> dict[tuple[str, str], float]:
        """Caps set live, by (scope, key); key ``*`` is a scope's default."""
        rows = await self.store._all("SELECT scope, key, cap FROM budget_caps")
        return {(r[0], r[1]): float(r[2]) for r in rows}

    async def set_cap(
        self, scope: str, key: str, cap: float, *, actor: str, via: str, reason: str | None = None
    ) -> float | None:
        """Set a cap, audited in the same transaction. Returns the cap set live before (None: the config's)."""

        def tx(conn: sqlite3.Connection) -> float | None:
            with _cursor(conn, "SELECT cap FROM budget_caps WHERE scope = ? AND key = ?", (scope, key)) as c:
                row = c.fetchone()
            before = float(row[0]) if row else None
            conn.execute(
                "INSERT INTO budget_caps (scope, key, cap, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (scope, key) DO UPDATE SET cap = excluded.cap, updated_at = excluded.updated_at,"
                " updated_by = excluded.updated_by",
                (scope, key, cap, time.time(), actor),
            )
            details: dict[str, Any] = {"scope": scope, "from": before, "to": cap}
            if reason:
                details["reason"] = reason
            audit(conn, actor, via, "budget.cap", f"{scope}:{key}", details)
            return before

        return await self.store.writer.transact(tx)

    # -- spend ----------------------------------------------------------------------------------

    async def used(self, scope: str, key: str, *, since: float) -> float:
        """What a budget has used: USD since ``since`` for ``*-day`` scopes, tokens (ever) for task and session."""
        if scope in _TOKEN_COLUMNS:
            rows = await self.store._all(
                f"SELECT SUM(input_tokens + output_tokens) FROM ledger WHERE {_TOKEN_COLUMNS[scope]} = ?", (key,)
            )
            return float(rows[0][0] or 0)
        column = _SPEND_COLUMNS[scope]
        where, params = (f" AND {column} = ?", (since, key)) if column else ("", (since,))
        rows = await self.store._all(f"SELECT SUM(cost_usd) FROM ledger WHERE created_at >= ?{where}", params)
        return float(rows[0][0] or 0.0)

    async def used_by_key(self, scope: str, *, since: float, until: float | None = None) -> dict[str, float]:
        """Each key's use of a scope in ``[since, until)`` (one query): USD for ``*-day`` scopes,
        tokens for task and session."""
        column = _TOKEN_COLUMNS.get(scope) or _SPEND_COLUMNS[scope]
        what = "input_tokens + output_tokens" if scope in _TOKEN_COLUMNS else "cost_usd"
        key = column or "'*'"
        rows = await self.store._all(
            f"SELECT {key}, SUM({what}) FROM ledger WHERE created_at >= ? AND created_at < ?"
            f"{f' AND {column} IS NOT NULL' if column else ''} GROUP BY 1",
            (since, until if until is not None else 1e18),
        )
        return {str(r[0]): float(r[1] or 0.0) for r in rows}

    async def tokens_of_active(self, scope: str, *, since: float) -> dict[str, float]:
        """Whole tokens (ever) of every task or session with ledger activity since ``since`` (one query)."""
        column = _TOKEN_COLUMNS[scope]
        rows = await self.store._all(
            f"SELECT {column}, SUM(input_tokens + output_tokens) FROM ledger WHERE {column} IN"
            f" (SELECT DISTINCT {column} FROM ledger WHERE created_at >= ? AND {column} IS NOT NULL) GROUP BY 1",
            (since,),
        )
        return {str(r[0]): float(r[1] or 0.0) for r in rows}
