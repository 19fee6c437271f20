"""Versioned schema migrations that upgrade an existing database file in place.

Migrations are the numbered ``migrations/NNNN_name.sql`` files shipped with the
package. ``PRAGMA user_version`` records how many have been applied; each one runs in
its own transaction, so a crash mid-upgrade leaves the file at the previous version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import aiosqlite

__all__ = ["Migration", "available_migrations", "migrate"]

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    """One numbered schema change."""

    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    """Every migration shipped with the package, in order."""
    found: list[Migration] = []
    for entry in resources.files("agentops.store").joinpath("migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise RuntimeError(f"migration {migration.name} is out of sequence (expected {expected:04d})")
    return found


async def migrate(conn: aiosqlite.Connection) -> int:
    """Apply the migrations the database has not seen yet.

    Returns:
        The schema version after upgrading.

    Raises:
        RuntimeError: the file was written by a newer agentops (a version we do not know).
    """
    async with conn.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    current = int(row[0]) if row else 0
    migrations = available_migrations()
    if current > len(migrations):
        raise RuntimeError(
            f"database schema version {current} is newer than this agentops (knows {len(migrations)}); upgrade agentops"
        )
    for migration in migrations[current:]:
        # executescript would commit on its own; run the statements in one explicit transaction.
        await conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(migration.sql):
                await conn.execute(statement)
            await conn.execute(f"PRAGMA user_version = {migration.version}")
            await conn.commit()
        except BaseException:
            await conn.rollback()
            raise
    return len(migrations)


def _statements(sql: str) -> list[str]:
    lines = [ln for ln in sql.splitlines() if not ln.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
