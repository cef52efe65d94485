"""Every pool as it stands now: members, who is available and why not, counts, caps and turns.

One function for ``leadroute pools`` and the ``distribution_pools`` asset, so the shell and
the Dagster UI show the same facts. Availability is computed for the time asked (``now``)
by the same code that assigns leads; counts come from the pool tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
import pandas as pd

from pipelines.routing.language.pools import fallback_chain
from pipelines.routing.pools.member_table import PoolRules, snapshot
from pipelines.routing.pools import turn_order
from pipelines.routing.pools.book import PoolBook, load_states
from pipelines.routing.roster import overrides


@dataclass
class Moment:
    """The time a report is for, who is active in the CRM, and what the pools remember."""

    now: datetime
    crm_active: set[str] | None
    pool_states: PoolBook


def crm_users(con: duckdb.DuckDBPyConnection) -> tuple[set[str] | None, dict[str, str]]:
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if "crm_user" not in tables:
        return None, {}
    users = con.execute("SELECT user_id, name, coalesce(is_active, false) AS active FROM crm_user").df()
    if users.empty:
        return None, {}
    return set(users.loc[users["active"].astype(bool), "user_id"]), dict(zip(users["user_id"], users["name"]))


def overview(con: duckdb.DuckDBPyConnection, rules: PoolRules, now: datetime, *, read_only: bool = True
             ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per pool, one row per pool member) at ``now``."""
    book = load_states(con, read_only=read_only)
    rules = overrides.honoured(con, rules)
    active, crm_names = crm_users(con)
    names = dict(zip(rules.reps["user_id"], rules.reps["name"])) | crm_names
    moment = Moment(now=now, crm_active=active, pool_states=book)
    members = [snapshot(pool, rules, moment) for pool in rules.pools.values()]
    filled = [m for m in members if len(m)]
    members_df = pd.concat(filled, ignore_index=True) if filled else pd.DataFrame(columns=["pool", *MEMBER_COLUMNS])
    rows = []
    turns = turn_order.latest(con)
    for pool, snap in zip(rules.pools.values(), members):
        state = book.state(pool.name)
        chain, end, _ = fallback_chain(pool, rules.pools)
        ending = end.describe() if end is not None else "next step (then Unroutable)"
        rows.append({
            "pool": pool.name, "how": pool.describe(), "members": len(snap),
            "available_now": int((snap["status"] == "available").sum()),
            "pointer": state.pointer, "assigned_total": state.assigned_total, "sticky_total": state.sticky_total,
            "to_fallback_total": state.unassigned_total,
            "last_lead_to": names.get(state.last_user_id, state.last_user_id) if state.last_user_id else None,
            "fallback": " -> ".join(chain[1:] + [ending]),
            "turn_set": turn_order.describe(turns.get(pool.name)),
        })
    return pd.DataFrame(rows), members_df


MEMBER_COLUMNS = ["member", "status", "why", "local_time", "today", "this_week", "cap_left", "assigned_total",
                  "skipped_unavailable", "skipped_cap", "credited", "weight", "open_leads", "next_turn"]


def member_table(members: pd.DataFrame) -> pd.DataFrame:
    """The columns ops read: counts from this pool, and what is left under the tightest cap (all pools)."""
    out = members[[c for c in MEMBER_COLUMNS if c in members]]
    return out[[c for c in out.columns if not out[c].isna().all()]].astype(object).where(out.notna(), "")


def markdown(pools: pd.DataFrame, members: pd.DataFrame) -> str:
    """Every pool as a paragraph and its member table, for the ``distribution_pools`` asset's page."""
    sections = []
    for row in pools.itertuples(index=False):
        sections.append(
            f"### {row.pool}\n{row.how}. {row.available_now} of {row.members} available now; "
            f"{row.assigned_total} assigned ({row.sticky_total} sticky), {row.to_fallback_total} to the fallback "
            f"({row.fallback}); last lead to {row.last_lead_to or 'nobody yet'}."
            + (f" {row.turn_set[0].upper()}{row.turn_set[1:]}." if row.turn_set else "") + "\n\n"
            + member_table(members[members["pool"] == row.pool]).astype(str).to_markdown(index=False))
    return "\n\n".join(sections) or "no pools"
