"""Distribution pools: who is in a pool, who is available now, and whose turn it is.

Round robin resumes after the member who got the last lead (kept in
``pool_state.last_user_id``), not at a numeric position: when a rep goes on
vacation or joins, the others keep their order and nobody is skipped twice or
served twice. Availability today: active in the roster (and in the CRM when the
CRM's users are known) and not out of office.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import duckdb

import numpy as np
import pandas as pd

from pipelines.routing.pool_config import PoolDecl
from pipelines.warehouse.db import upsert


@dataclass
class PoolState:
    pool: str
    pointer: int = 0
    assigned_total: int = 0
    last_user_id: str | None = None
    assigned: dict[str, int] = field(default_factory=dict)  # this run, per member
    skipped: dict[str, str] = field(default_factory=dict)  # member -> why, this run


def members(pool: PoolDecl, roster: pd.DataFrame) -> pd.DataFrame:
    """Roster rows of the pool's members, in roster order."""
    if pool.members:
        picked = roster[roster["user_id"].isin(pool.members)]
    else:
        mask = pd.Series(True, index=roster.index)
        for column, wanted in pool.member_filter.items():
            values = wanted if isinstance(wanted, list) else [wanted]
            mask &= roster[column].astype(str).str.lower().isin([str(v).lower() for v in values])
        picked = roster[mask]
    return picked.sort_values("user_id")


def availability(rows: pd.DataFrame, now: datetime, crm_active: set[str] | None) -> pd.Series:
    """Why each member is unavailable now (None when available)."""
    today = pd.Timestamp(now.date())
    why = pd.Series(None, index=rows.index, dtype=object)
    if "ooo_from" in rows and "ooo_to" in rows:
        ooo = rows["ooo_from"].notna() & (rows["ooo_from"] <= today) & (rows["ooo_to"].isna() | (rows["ooo_to"] >= today))
        until = rows["ooo_to"].dt.strftime("%Y-%m-%d").fillna("further notice")
        why = why.where(~ooo, "out of office until " + until)
    if crm_active is not None:
        why = why.where(rows["user_id"].isin(crm_active), "not an active user in the CRM")
    why = why.where(rows["active"].astype(bool), "inactive in reps.csv")
    return why


def assign(pool: PoolDecl, frame: pd.DataFrame, rules, ctx) -> tuple[pd.Series, pd.Series]:
    """Owners for the leads of ``frame`` (indexed like it), and a line per lead on the pool's state.

    The one entry point the routing engine calls; NA where nobody in the pool can take the lead.
    """
    owners, detail = round_robin(pool, len(frame), rules.reps, ctx.state(pool.name), ctx.now, ctx.crm_active)
    return pd.Series(owners, index=frame.index, dtype=object), pd.Series(detail, index=frame.index, dtype=object)


def load_states(con: duckdb.DuckDBPyConnection) -> dict[str, PoolState]:
    return {
        r[0]: PoolState(pool=r[0], pointer=r[1] or 0, assigned_total=r[2] or 0, last_user_id=r[3])
        for r in con.execute("SELECT pool, pointer, assigned_total, last_user_id FROM pool_state").fetchall()
    }


def save_states(con: duckdb.DuckDBPyConnection, states: dict[str, PoolState], now: datetime) -> pd.DataFrame:
    rows = pd.DataFrame(
        [dict(pool=s.pool, pointer=s.pointer, assigned_total=s.assigned_total, last_user_id=s.last_user_id,
              updated_at=now) for s in states.values()],
        columns=["pool", "pointer", "assigned_total", "last_user_id", "updated_at"],
    )
    upsert(con, "pool_state", rows, ["pool"])
    return rows


def round_robin(
    pool: PoolDecl, n: int, roster: pd.DataFrame, state: PoolState, now: datetime, crm_active: set[str] | None
) -> tuple[list[str | None], str]:
    """Owners for the next ``n`` leads of the pool, and a sentence on the pool's state."""
    rows = members(pool, roster)
    why = availability(rows, now, crm_active)
    for uid, reason in zip(rows["user_id"], why):
        if reason:
            state.skipped[uid] = reason
    available = rows.loc[why.isna(), "user_id"].tolist()
    names = dict(zip(rows["user_id"], rows["name"]))
    skipped = "; ".join(f"{names[u]} {r}" for u, r in state.skipped.items() if u in names)
    if not available:
        return [None] * n, f"pool {pool.name}: no member available ({skipped or 'no members'})"
    ordered = rows["user_id"].tolist()
    start = 0
    if state.last_user_id in ordered:
        last_pos = ordered.index(state.last_user_id)
        later = [i for i, u in enumerate(available) if ordered.index(u) > last_pos]
        start = later[0] if later else 0
    owners = np.asarray(available, dtype=object)[(start + np.arange(n)) % len(available)].tolist()
    state.pointer += n
    state.assigned_total += n
    state.last_user_id = owners[-1] if owners else state.last_user_id
    for o, c in zip(*np.unique(np.asarray(owners, dtype=str), return_counts=True)):
        state.assigned[o] = state.assigned.get(o, 0) + int(c)
    detail = f"pool {pool.name}: round robin over {len(available)} of {len(rows)} members"
    if skipped:
        detail += f" (skipped: {skipped})"
    return owners, detail
