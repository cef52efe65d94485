"""Whose turn it is in a round-robin pool, and ops saying who is next (``leadroute pool turn``).

The rotation order is the pool's ``members:`` list as written in ``pools.yaml`` (a filter
rotates in user-id order). A run resumes after the member who got the last lead
(:mod:`.member_table`). When ops set "Maria is next" (after a re-organisation, a long
leave), the pool forgets each member's kept turn and remembers the member before Maria
as the last one served: the next run starts the round at Maria and goes on in rotation
order, exactly as a member joining the pool takes their place. Every change is logged in
``pool_turn_set`` with who, why and whose turn it was before; ``leadroute pools`` and
``leadroute pool turn`` show the latest.

Only turn-taking pools have a turn: a load-balanced pool gives the next lead to whoever
has the fewest open leads.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import numpy as np
import pandas as pd

from pipelines.routing.language.pools import PoolDecl
from pipelines.routing.pools.book import prepare
from pipelines.routing.pools.member_table import MemberTable, PoolContext, PoolRules
from pipelines.routing.pools.membership import members
from pipelines.warehouse.db import insert
from pipelines.warehouse.schema import TABLES

TABLE = "pool_turn_set"


class TurnError(ValueError):
    """A turn that cannot be set (an unknown member, a pool without turns); the message says what to do."""


def next_in_turn(pool: PoolDecl, rules: PoolRules, ctx: PoolContext) -> tuple[pd.DataFrame, int | None]:
    """The members in rotation order (``user_id``, ``name``, ``status``, ``next_turn``), and the position
    of the member the next lead given by turns goes to (None: nobody can take one now)."""
    t = MemberTable(pool, rules, ctx)
    able = pd.isna(t.code) & (t.room > 0) & (t.weight > 0) & np.isfinite(t.start)
    status = [c if pd.notna(c) else ("available" if able[i] else str(t.room_code[i])) for i, c in enumerate(t.code)]
    order = pd.DataFrame({"user_id": t.ids, "name": t.names, "status": status, "next_turn": t.start})
    if not able.any():
        return order, None
    candidates = np.flatnonzero(able)
    return order, int(candidates[np.argmin(t.start[candidates])])  # argmin: the first of equal turns


def member_of(pool: PoolDecl, rules: PoolRules, who: str) -> str:
    """The user id of the pool member ``who`` names (a user id, or a name, case-insensitively)."""
    from_pool = members(pool, rules.reps)
    hit = from_pool[(from_pool["user_id"] == who) | (from_pool["name"].str.lower() == who.strip().lower())]
    if hit.empty:
        names = ", ".join(f"{n} ({u})" for u, n in zip(from_pool["user_id"], from_pool["name"]))
        raise TurnError(f"{who!r} is not a member of pool {pool.name}; its members are {names or 'none'}")
    return str(hit["user_id"].iloc[0])


def set_next(con: duckdb.DuckDBPyConnection, pool: PoolDecl, rules: PoolRules, user_id: str) -> None:
    """Make ``user_id`` next in ``pool``'s rotation: the member before them counts as the last served
    and every kept turn is forgotten, so the round restarts at ``user_id`` in rotation order. Only
    those two facts change in the pool book: its counts and the last run's summary stay."""
    if pool.method == "load_balanced":
        raise TurnError(f"pool {pool.name} is load balanced: the next lead goes to the member with the fewest "
                        f"open leads, there is no turn to set")
    ids = list(members(pool, rules.reps)["user_id"])
    before = ids[ids.index(user_id) - 1]  # the last member when user_id is first: the round wraps
    prepare(con)
    if con.execute("SELECT count(*) FROM pool_state WHERE pool = ?", [pool.name]).fetchall()[0][0]:
        con.execute("UPDATE pool_state SET last_user_id = ? WHERE pool = ?", [before, pool.name])
    else:
        con.execute("INSERT INTO pool_state (pool, method, pointer, last_user_id, turn, assigned_total, sticky_total, "
                    "unassigned_total, members) VALUES (?, ?, 0, ?, 0, 0, 0, 0, ?)",
                    [pool.name, pool.method, before, len(ids)])
    con.execute("UPDATE pool_member_state SET next_turn = NULL WHERE pool = ?", [pool.name])


def log(con: duckdb.DuckDBPyConnection, pool: str, user_id: str, name: str, *, by: str, why: str,
        was: str | None, now: datetime) -> None:
    """Record a turn set by ops."""
    con.execute(TABLES[TABLE].ddl())
    insert(con, TABLE, pd.DataFrame([{"pool": pool, "set_at": pd.Timestamp(now), "next_user_id": user_id,
                                      "next_name": name, "set_by": by, "why": why, "was_next_user_id": was}]))


def latest(con: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    """Per pool, the latest turn ops set (set_at, next_name, set_by, why), if any."""
    have = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if TABLE not in have:
        return {}
    rows = con.execute(f"SELECT * FROM {TABLE} QUALIFY row_number() OVER (PARTITION BY pool ORDER BY set_at DESC) = 1"
                       ).df()
    return {r["pool"]: r for r in rows.to_dict("records")}


def describe(entry: dict | None) -> str:
    """One line for a pool's state: "turn set to Maria Lopez by ana (re-org) at 2026-11-20 14:00 UTC"."""
    if not entry:
        return ""
    return (f"turn set to {entry['next_name']} by {entry['set_by']} ({entry['why']}) "
            f"at {pd.Timestamp(entry['set_at']):%Y-%m-%d %H:%M} UTC")
