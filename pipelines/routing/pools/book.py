"""The pool book: everything pools remember between runs, loaded once and saved once per run.

It holds, per pool, its :class:`PoolState` (``pool_state``); per pool and member, a
:class:`MemberState` (``pool_member_state``); the sticky owner of each company key
(``pool_sticky``); and each rep's open workload read from the warehouse.

Why the workload comes from the warehouse's ``lead`` table and not from the CRM
adapter's ``open_workload``: the ``lead`` table *is* the CRM's leads as of this tick's
extract, so counting there costs no API call, needs no CRM connection in the route
stage (which stays replayable from the warehouse alone), and can add what the CRM does
not know yet: leads routed by an earlier tick whose owner change is still pending in
the ledger count for their new owner, not for the intake queue. The adapter's
``open_workload`` remains for one-off checks against the live CRM.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import duckdb
import pandas as pd

from pipelines.warehouse.db import ensure_columns, upsert
from pipelines.warehouse.schema import TABLES

POOL_TABLES = ("pool_state", "pool_member_state", "pool_sticky")


@dataclass
class PoolState:
    pool: str
    pointer: int = 0
    assigned_total: int = 0
    last_user_id: str | None = None
    turn: float = 0.0
    sticky_total: int = 0
    unassigned_total: int = 0
    method: str | None = None
    members: int = 0
    available: int = 0
    assigned: dict[str, int] = field(default_factory=dict)  # this run, per member
    skipped: dict[str, str] = field(default_factory=dict)  # member -> why, this run
    run_assigned: int = 0
    run_unassigned: int = 0
    last_detail: str | None = None
    touched: bool = False


@dataclass
class MemberState:
    pool: str
    user_id: str
    name: str | None = None
    assigned_total: int = 0
    sticky_total: int = 0
    assigned_day: date | None = None
    assigned_today: int = 0
    assigned_week: date | None = None
    assigned_this_week: int = 0
    last_assigned_at: datetime | None = None
    next_turn: float | None = None
    skipped_unavailable_total: int = 0
    skipped_cap_total: int = 0
    last_skip_reason: str | None = None
    last_skipped_at: datetime | None = None
    status: str | None = None
    status_reason: str | None = None
    effective_weight: float | None = None
    open_workload: int | None = None
    daily_cap: int | None = None
    weekly_cap: int | None = None
    credit_owed: int = 0  # turns given back by ops, not used yet (pipelines/ops/credit.py)
    credited_total: int = 0
    touched: bool = False

    def today(self, day: date) -> int:
        return self.assigned_today if self.assigned_day == day else 0

    def this_week(self, monday: date) -> int:
        return self.assigned_this_week if self.assigned_week == monday else 0

    def add(self, n: int, day: date, now: datetime, sticky: int = 0) -> None:
        monday = day - timedelta(days=day.weekday())
        self.assigned_today = self.today(day) + n
        self.assigned_this_week = self.this_week(monday) + n
        self.assigned_day, self.assigned_week = day, monday
        self.assigned_total += n
        self.sticky_total += sticky
        if n:
            self.last_assigned_at = now

    def skip(self, n: int, why: str, code: str, now: datetime) -> None:
        if code in ("daily_cap", "weekly_cap", "pool_daily_cap", "pool_weekly_cap"):
            self.skipped_cap_total += n
        else:
            self.skipped_unavailable_total += n
        self.last_skip_reason, self.last_skipped_at = why, now


@dataclass
class PoolBook:
    """What the route stage's pools read and write, in memory for one run."""

    states: dict[str, PoolState] = field(default_factory=dict)
    member_states: dict[tuple[str, str], MemberState] = field(default_factory=dict)
    open_leads: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["owner_id", "status", "n"]))
    sticky: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["pool", "sticky_key", "user_id", "lead_id", "assigned_at"]))
    new_sticky: list[pd.DataFrame] = field(default_factory=list)
    sticky_days: dict[str, int] = field(default_factory=dict)
    run_assigned: Counter = field(default_factory=Counter)  # per user, leads given by any pool this run

    def state(self, pool: str) -> PoolState:
        return self.states.setdefault(pool, PoolState(pool))

    def member(self, pool: str, user_id: str) -> MemberState:
        return self.member_states.setdefault((pool, user_id), MemberState(pool, user_id))

    def user_counts(self, user_id: str, day: date) -> tuple[int, int]:
        """Leads ``user_id`` got from all pools on their local ``day`` and in its ISO week."""
        monday = day - timedelta(days=day.weekday())
        states = [s for (_, u), s in self.member_states.items() if u == user_id]
        return sum(s.today(day) for s in states), sum(s.this_week(monday) for s in states)

    def workload(self, user_ids, open_statuses: list[str]) -> pd.Series:
        """Open leads per user (statuses compared case-insensitively), plus leads given to them this run."""
        wanted = {s.strip().lower() for s in open_statuses}
        leads = self.open_leads
        is_open = leads["status"].astype("string").str.strip().str.lower().isin(wanted).fillna(False)
        counts = leads[is_open.to_numpy(dtype=bool)].groupby("owner_id")["n"].sum()
        ids = pd.Index(list(user_ids))
        run = pd.Series({u: self.run_assigned.get(u, 0) for u in ids}, dtype="int64")
        return counts.reindex(ids, fill_value=0).astype("int64") + run.reindex(ids, fill_value=0).astype("int64")

    def sticky_owners(self, pool: str, keys: pd.Series, since: datetime) -> pd.DataFrame:
        """For each key (indexed like ``keys``): the sticky owner, the lead and when, or NA."""
        known = self.sticky[(self.sticky["pool"] == pool) & (pd.to_datetime(self.sticky["assigned_at"]) >= since)]
        known = known.drop_duplicates("sticky_key", keep="last").set_index("sticky_key")
        return pd.DataFrame({c: keys.map(known[c]) for c in ("user_id", "lead_id", "assigned_at")}, index=keys.index)

    def remember_sticky(self, pool: str, days: int, rows: pd.DataFrame) -> None:
        self.sticky_days[pool] = days
        if len(rows):
            rows = rows.assign(pool=pool).drop_duplicates("sticky_key", keep="last")
            self.new_sticky.append(rows)
            kept = self.sticky[~((self.sticky["pool"] == pool) & self.sticky["sticky_key"].isin(rows["sticky_key"]))]
            self.sticky = pd.concat([kept, rows], ignore_index=True) if len(kept) else rows.reset_index(drop=True)


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Create the pool tables and add columns new to the schema (the tables carry memory, so never drop)."""
    for name in POOL_TABLES:
        con.execute(TABLES[name].ddl())
        ensure_columns(con, name, TABLES[name].columns)


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall()}


def _open_leads(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    cols = _columns(con, "lead")
    if not {"owner_id", "lead_id"} <= cols:
        return pd.DataFrame(columns=["owner_id", "status", "n"])
    status = "l.status" if "status" in cols else "'New'"
    alive = " AND ".join(f"NOT coalesce(l.{c}, false)" for c in ("is_converted", "is_deleted") if c in cols) or "true"
    return con.execute(f"""
        WITH pending AS (
            SELECT lead_id, arg_max(target_owner_id, created_at) AS target_owner_id
            FROM ledger WHERE kind = 'owner' AND status IN ('pending', 'in_flight') GROUP BY lead_id)
        SELECT coalesce(p.target_owner_id, l.owner_id) AS owner_id, {status} AS status, count(*) AS n
        FROM lead l LEFT JOIN pending p USING (lead_id)
        WHERE {alive}
        GROUP BY ALL""").df()


def load_states(con: duckdb.DuckDBPyConnection, *, read_only: bool = False) -> PoolBook:
    """Everything pools remember (state, members, sticky owners) and each rep's open workload, from the
    warehouse. ``read_only``: for reports; missing tables read as empty."""
    if not read_only:
        prepare(con)
    have = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if not set(POOL_TABLES) <= have or not {"lead", "ledger"} <= have:
        return PoolBook()
    book = PoolBook(open_leads=_open_leads(con))
    for r in _records(con, "pool_state"):
        book.states[r["pool"]] = PoolState(
            pool=r["pool"], pointer=int(r["pointer"] or 0), assigned_total=int(r["assigned_total"] or 0),
            last_user_id=r["last_user_id"] if isinstance(r["last_user_id"], str) else None,
            turn=float(r["turn"]) if pd.notna(r["turn"]) else 0.0, sticky_total=int(_n(r["sticky_total"])),
            unassigned_total=int(_n(r["unassigned_total"])), method=r["method"] if isinstance(r["method"], str) else None)
    for r in _records(con, "pool_member_state"):
        book.member_states[(r["pool"], r["user_id"])] = MemberState(
            pool=r["pool"], user_id=r["user_id"], name=r["name"] if isinstance(r["name"], str) else None,
            assigned_total=int(_n(r["assigned_total"])), sticky_total=int(_n(r["sticky_total"])),
            assigned_day=_date(r["assigned_day"]), assigned_today=int(_n(r["assigned_today"])),
            assigned_week=_date(r["assigned_week"]), assigned_this_week=int(_n(r["assigned_this_week"])),
            last_assigned_at=_ts(r["last_assigned_at"]),
            next_turn=float(r["next_turn"]) if pd.notna(r["next_turn"]) else None,
            skipped_unavailable_total=int(_n(r["skipped_unavailable_total"])),
            skipped_cap_total=int(_n(r["skipped_cap_total"])),
            last_skip_reason=r["last_skip_reason"] if isinstance(r["last_skip_reason"], str) else None,
            last_skipped_at=_ts(r["last_skipped_at"]),
            credit_owed=int(_n(r["credit_owed"])), credited_total=int(_n(r["credited_total"])))
    book.sticky = con.execute("SELECT pool, sticky_key, user_id, lead_id, assigned_at FROM pool_sticky").df()
    return book


def _records(con: duckdb.DuckDBPyConnection, table: str) -> list[dict]:
    """Rows with every declared column (None where an older warehouse lacks it)."""
    df = con.execute(f'SELECT * FROM "{table}"').df()
    return df.reindex(columns=TABLES[table].column_names).astype(object).where(lambda d: d.notna(), None).to_dict("records")


def _n(v) -> int:
    return 0 if v is None or pd.isna(v) else v


def _date(v) -> date | None:
    return None if v is None or pd.isna(v) else pd.Timestamp(v).date()


def _ts(v) -> datetime | None:
    return None if v is None or pd.isna(v) else pd.Timestamp(v).to_pydatetime()


def save_states(con: duckdb.DuckDBPyConnection, book: PoolBook, now: datetime) -> pd.DataFrame:
    """Write the pools and members this run touched (once per run); return the ``pool_state`` rows written."""
    prepare(con)
    pools = pd.DataFrame(
        [dict(pool=s.pool, method=s.method, pointer=s.pointer, last_user_id=s.last_user_id, turn=s.turn,
              assigned_total=s.assigned_total, sticky_total=s.sticky_total, unassigned_total=s.unassigned_total,
              members=s.members, available=s.available, last_run_assigned=s.run_assigned,
              last_run_unassigned=s.run_unassigned, last_detail=s.last_detail, updated_at=now)
         for s in book.states.values() if s.touched],
        columns=["pool", "method", "pointer", "last_user_id", "turn", "assigned_total", "sticky_total",
                 "unassigned_total", "members", "available", "last_run_assigned", "last_run_unassigned",
                 "last_detail", "updated_at"],
    )
    upsert(con, "pool_state", pools, ["pool"])
    members = pd.DataFrame([
        dict(pool=m.pool, user_id=m.user_id, name=m.name, assigned_total=m.assigned_total, sticky_total=m.sticky_total,
             assigned_day=m.assigned_day, assigned_today=m.assigned_today, assigned_week=m.assigned_week,
             assigned_this_week=m.assigned_this_week, last_assigned_at=m.last_assigned_at, next_turn=m.next_turn,
             skipped_total=m.skipped_unavailable_total + m.skipped_cap_total,
             skipped_unavailable_total=m.skipped_unavailable_total, skipped_cap_total=m.skipped_cap_total,
             last_skip_reason=m.last_skip_reason, last_skipped_at=m.last_skipped_at, status=m.status,
             status_reason=m.status_reason, effective_weight=m.effective_weight, open_workload=m.open_workload,
             daily_cap=m.daily_cap, weekly_cap=m.weekly_cap, updated_at=now,
             credit_owed=m.credit_owed, credited_total=m.credited_total)
        for m in book.member_states.values() if m.touched])
    if len(members):
        for col in ("assigned_day", "assigned_week"):
            members[col] = pd.to_datetime(members[col])
        for col in ("last_assigned_at", "last_skipped_at"):
            members[col] = pd.to_datetime(members[col])
        for col in ("open_workload", "daily_cap", "weekly_cap"):
            members[col] = members[col].astype("Int64")
        upsert(con, "pool_member_state", members, ["pool", "user_id"])
    if book.new_sticky:
        new = pd.concat(book.new_sticky, ignore_index=True).drop_duplicates(["pool", "sticky_key"], keep="last")
        upsert(con, "pool_sticky", new[["pool", "sticky_key", "user_id", "lead_id", "assigned_at"]],
               ["pool", "sticky_key"])
    for pool, days in book.sticky_days.items():  # forget what is past the window: the table stays small
        con.execute("DELETE FROM pool_sticky WHERE pool = ? AND assigned_at < ?", [pool, now - timedelta(days=days)])
    return pools
