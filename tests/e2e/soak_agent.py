"""A side-effecting agent for the soak test: an LLM step, then a charge recorded in another database.

The charge is idempotent on the step key (identical on every run of the step), as a
production tool with side effects must be: the journal records a tool's result after
it runs, so a process killed in between runs that one call again. Every execution is
counted too, so the test can tell executions from effects.
"""

from __future__ import annotations

import os
import sqlite3

from pydantic import BaseModel

from agentops.runtime import Context, agent, tool
from agentops.runtime.tasks.context import current_step_key


class Order(BaseModel):
    n: int


class Charge(BaseModel):
    n: int
    cents: int


def _effects() -> sqlite3.Connection:
    con = sqlite3.connect(os.environ["SOAK_EFFECTS_DB"], timeout=30, isolation_level=None)
    con.execute("CREATE TABLE IF NOT EXISTS effects (key TEXT PRIMARY KEY, n INTEGER, cents INTEGER)")
    con.execute("CREATE TABLE IF NOT EXISTS executions (key TEXT, n INTEGER)")
    return con


@tool(timeout_s=5)
async def charge(args: Charge) -> dict[str, int]:
    """Charge a card: a side effect outside agentops' store."""
    con = _effects()
    try:
        key = current_step_key()
        con.execute("INSERT INTO executions (key, n) VALUES (?, ?)", (key, args.n))
        con.execute("INSERT OR IGNORE INTO effects (key, n, cents) VALUES (?, ?, ?)", (key, args.n, args.cents))
    finally:
        con.close()
    return {"charged": args.cents}


@agent(tools=["charge"], max_steps=4)
async def soak(ctx: Context, order: Order) -> dict[str, object]:
    """Plan, charge, confirm."""
    await ctx.llm(f"Plan order {order.n}", name="plan")
    done = await ctx.tool("charge", n=order.n, cents=100 + order.n)
    await ctx.llm(f"Confirm order {order.n}: {done}", name="confirm")
    return {"n": order.n, "charged": done["charged"]}
