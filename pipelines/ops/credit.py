"""Give a rep turns back in a pool (``leadroute pool credit``): a junk lead, a lead reassigned by hand.

A credit is owed turns: the member goes that many turns early in the pool's rotation (weighted
and load-balanced pools alike), and the credit is used up lead by lead (see
:class:`pipelines.routing.pools.member_table.MemberTable`). It counts in the fairness counters
(``pool_member_state.credited_total``, the ``credited`` column of ``leadroute pools``) and each
credit is a row of ``pool_credit`` with who, when and why. Caps are not touched: a daily cap
still counts the leads the rep received.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import duckdb
import pandas as pd

from pipelines.ops.overrides import OverrideError, find_rep
from pipelines.routing.pools import book
from pipelines.routing.pools.membership import members
from pipelines.warehouse.db import insert, transaction
from pipelines.warehouse.schema import TABLES


def credit(con: duckdb.DuckDBPyConnection, rules, rep: str, *, pool: str, leads: int, reason: str, by: str,
           now: datetime) -> dict:
    """Give ``rep`` ``leads`` turns back in ``pool``; returns the audit row (with the member's name and owed turns)."""
    if pool not in rules.pools:
        raise OverrideError(f"no pool {pool!r}; pools are {', '.join(rules.pools)}")
    if leads < 1:
        raise OverrideError(f"--leads must be 1 or more, got {leads}")
    if not reason.strip():
        raise OverrideError("say why (--reason): the audit trail shows it")
    row = find_rep(rules.reps, rep)
    if row["user_id"] not in set(members(rules.pools[pool], rules.reps)["user_id"]):
        raise OverrideError(f"{row['name']} is not a member of pool {pool}")
    record = {"credit_id": uuid.uuid4().hex[:16], "pool": pool, "user_id": row["user_id"], "leads": int(leads),
              "reason": reason.strip(), "created_by": by, "created_at": now}
    book.prepare(con)
    con.execute(TABLES["pool_credit"].ddl())
    with transaction(con):
        con.execute(
            """INSERT INTO pool_member_state (pool, user_id, name, credit_owed, credited_total, updated_at)
               VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT (pool, user_id) DO UPDATE SET
                 credit_owed = coalesce(pool_member_state.credit_owed, 0) + excluded.credit_owed,
                 credited_total = coalesce(pool_member_state.credited_total, 0) + excluded.credited_total""",
            [pool, row["user_id"], row["name"], leads, leads, now])
        insert(con, "pool_credit", pd.DataFrame([record]))
    owed = con.execute("SELECT credit_owed FROM pool_member_state WHERE pool = ? AND user_id = ?",
                       [pool, row["user_id"]]).fetchall()[0][0]
    return record | {"name": row["name"], "owed": int(owed)}
