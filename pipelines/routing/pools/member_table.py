"""A pool's members for one call, as arrays in rotation order: who is available, their weight, room and turn.

:class:`MemberTable` is what a pool knows about its members before it gives out a lead:
each member's availability now (and why not), effective weight (ramping, paused), the
leads they may still take under the pool's and their own caps, and their next turn
(:mod:`.turns`). :mod:`.allocation` gives the leads out over it and :mod:`.recording`
writes what changed into the pool book; :func:`snapshot` shows it to ops.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np
import pandas as pd

from pipelines.routing.language.pools import PoolDecl
from pipelines.routing.pools.book import PoolBook
from pipelines.routing.pools.catalog import days_off_of
from pipelines.routing.pools.membership import members
from pipelines.routing.roster.availability import member_status

UNCAPPED = 2**62


class PoolRules(Protocol):
    """What a pool reads of the rule set (a :class:`pipelines.routing.ruleset.model.RuleSet` has it)."""

    reps: pd.DataFrame
    pools: Mapping[str, PoolDecl]


class PoolContext(Protocol):
    """What a pool reads of the moment it runs in (a :class:`pipelines.routing.engine.context.RouteContext` has it)."""

    now: datetime
    crm_active: set[str] | None
    pool_states: PoolBook


def _book(ctx: PoolContext) -> PoolBook:
    book = ctx.pool_states
    if not isinstance(book, PoolBook):  # a context built by hand with a dict of states
        book = PoolBook(states=dict(book or {}))
        ctx.pool_states = book
    return book


class MemberTable:
    """The pool's members as arrays (in rotation order), with what the pool remembers of each."""

    def __init__(self, pool: PoolDecl, rules: PoolRules, ctx: PoolContext):
        self.pool, self.now = pool, ctx.now
        self.book = _book(ctx)
        self.state = self.book.state(pool.name)
        rows = members(pool, rules.reps).reset_index(drop=True)  # roster-id order breaks ties between turns
        self.rows = rows
        self.m = len(rows)
        self.ids = rows["user_id"].to_numpy(dtype=object)
        self.names = rows["name"].to_numpy(dtype=object)
        status = member_status(rows, ctx.now, ctx.crm_active, days_off_of(rules.pools),
                               hours=pool.working_hours == "respect")
        self.code = status["code"].to_numpy(dtype=object)
        self.reason = status["reason"].to_numpy(dtype=object)
        self.next_start = status["next_start"].to_numpy(dtype=object)
        self.local_date = status["local_date"].to_numpy(dtype=object)
        self.local_time = status["local_time"].to_numpy(dtype=object)
        self.mstates = [self.book.member(pool.name, u) for u in self.ids]
        self._weights()
        self._caps()
        self._turns()

    # -- setup --------------------------------------------------------------------------------

    def _weights(self) -> None:
        base = self.rows["weight"].to_numpy(dtype=float) if self.pool.method != "round_robin" else np.ones(self.m)
        factor = np.ones(self.m)
        ramp = self.pool.ramp
        if ramp is not None and "start_date" in self.rows:
            started = pd.to_datetime(self.rows["start_date"])
            days = (pd.to_datetime(pd.Series(self.local_date)) - started).dt.days.to_numpy(dtype=float)
            grown = ramp.start_share + (1 - ramp.start_share) * np.clip(days / (7 * ramp.weeks), 0, 1)
            factor = np.where(np.isnan(days), 1.0, grown)
        self.factor = factor
        self.weight = base * factor
        paused = (self.weight <= 0) & pd.isna(self.code)
        self.code = np.where(paused, "paused", self.code)
        self.reason = np.where(paused, "weight 0 in reps.csv (paused)", self.reason)

    def _caps(self) -> None:
        """Leads each member may still take now: the tightest of the pool's and the rep's caps."""
        caps = self.pool.caps
        nan = pd.Series(pd.NA, index=self.rows.index)
        roster_day = self.rows["daily_cap"] if "daily_cap" in self.rows else nan
        roster_week = self.rows["weekly_cap"] if "weekly_cap" in self.rows else nan
        self.cap_day = np.full(self.m, np.nan)
        self.cap_week = np.full(self.m, np.nan)
        self.room = np.full(self.m, UNCAPPED, dtype=np.int64)
        self.room_code = np.full(self.m, None, dtype=object)  # the binding cap: daily_cap or weekly_cap
        self.room_limit = np.full(self.m, None, dtype=object)  # (label, cap, used before this call, period)
        self.given = np.zeros(self.m, dtype=np.int64)  # leads per member in this call
        self.user_today = np.zeros(self.m, dtype=np.int64)
        for i, (ms, day) in enumerate(zip(self.mstates, self.local_date)):
            monday = day - timedelta(days=day.weekday())
            pool_day, pool_week = ms.today(day), ms.this_week(monday)
            user_day, user_week = self.book.user_counts(self.ids[i], day)
            self.user_today[i] = user_day
            limits = [(caps.daily, pool_day, "daily_cap", "pool daily cap", "today"),
                      (caps.weekly, pool_week, "weekly_cap", "pool weekly cap", "this week"),
                      (roster_day.iloc[i], user_day, "daily_cap", "daily cap", "today"),
                      (roster_week.iloc[i], user_week, "weekly_cap", "weekly cap", "this week")]
            best = None
            for cap, used, code, label, period in limits:
                if cap is None or pd.isna(cap):
                    continue
                column = self.cap_day if code == "daily_cap" else self.cap_week
                column[i] = int(cap) if np.isnan(column[i]) else min(column[i], int(cap))
                left = max(int(cap) - used, 0)
                if best is None or left < best[0]:
                    best = (left, code, (label, int(cap), used, period))
            if best is not None:
                self.room[i], self.room_code[i], self.room_limit[i] = best

    def room_why(self, i: int) -> str | None:
        """The binding cap of member ``i``, as reached, with the counts as they are now."""
        if self.room_limit[i] is None:
            return None
        label, cap, used, period = self.room_limit[i]
        return f"{label} reached ({used + self.given[i]} of {cap} {period})"

    def _turns(self) -> None:
        with np.errstate(divide="ignore"):
            self.step = np.where(self.weight > 0, 1.0 / np.where(self.weight > 0, self.weight, 1), np.inf)
        self.workload = None
        if self.pool.method == "load_balanced":
            self.workload = self.book.workload(self.ids, self.pool.open_statuses).to_numpy(dtype=float)
            self.start = self.workload * self.step
            self.start[~np.isfinite(self.start)] = np.inf
        else:
            # Kept turns carry each member's place in the rotation. A member without one (joining, or
            # every member after ops set the turn) or behind the pool (back from leave) takes their place
            # in rotation order after the member who got the last lead: this round if after them, the
            # next round if before.
            floor, last = self.state.turn, self.state.last_user_id
            kept = np.array([ms.next_turn if ms.next_turn is not None else np.nan for ms in self.mstates], dtype=float)
            done_this_round = served_this_round(self.ids, last, by_user_id=not self.pool.members)
            place = floor + np.where(done_this_round, self.step, 0.0)
            self.start = np.where(np.isnan(kept) | (kept < floor), place, kept)
            self.start[~np.isfinite(self.start)] = np.inf
        # Turns ops gave back (`leadroute pool credit`): the member goes that many turns early.
        self.credit = np.array([ms.credit_owed for ms in self.mstates], dtype=np.int64)
        self.start = np.where(self.credit > 0, self.start - self.credit * np.where(np.isfinite(self.step), self.step, 0),
                              self.start)

    def took(self, idx: np.ndarray, turns: bool) -> None:
        """Members ``idx`` (one entry per lead) took leads: fewer left under their caps, later turns."""
        counts = np.bincount(idx, minlength=self.m)
        self.given += counts
        self.room = np.maximum(self.room - counts, 0)
        self.user_today += counts
        if turns:
            self.start = np.where(counts > 0, self.start + counts * self.step, self.start)

    def skip_text(self, eligible: np.ndarray, note: str) -> str:
        out = [f"{self.names[i]} {self.reason[i] if self.reason[i] else self.room_why(i)}"
               for i in np.flatnonzero(eligible & (pd.notna(self.code) | (self.room <= 0)))]
        return ("; skipped: " + "; ".join(out) if out else "") + note


def served_this_round(ids: np.ndarray, last: str | None, *, by_user_id: bool) -> np.ndarray:
    """Per member (in rotation order), whether their turn this round is past: they come at or before
    ``last``, the member who got the last lead. A ``last`` who left the pool: in a user-id rotation
    the members with an id up to theirs; in a written order, nobody (the round starts over)."""
    where = np.flatnonzero(ids == last) if last is not None else np.zeros(0, dtype=int)
    if len(where):
        return np.arange(len(ids)) <= where[0]
    if last is not None and by_user_id:
        return np.array([uid <= last for uid in ids], dtype=bool)
    return np.zeros(len(ids), dtype=bool)


def snapshot(pool: PoolDecl, rules: PoolRules, ctx: PoolContext) -> pd.DataFrame:
    """Each member of ``pool`` as the pool sees them at ``ctx.now``: for ``leadroute pools`` and the UI.

    Computed by the same code that assigns leads (a table with no leads), so what ops see is
    what the next lead would meet.
    """
    table = MemberTable(pool, rules, ctx)
    status = [c if pd.notna(c) else (table.room_code[i] if table.room[i] <= 0 else "available")
              for i, c in enumerate(table.code)]
    why = [table.reason[i] if pd.notna(table.code[i]) else (table.room_why(i) if table.room[i] <= 0 else "")
           for i in range(table.m)]
    day = [ms.today(d) for ms, d in zip(table.mstates, table.local_date)]
    week = [ms.this_week(d - timedelta(days=d.weekday())) for ms, d in zip(table.mstates, table.local_date)]
    return pd.DataFrame({
        "pool": pool.name, "user_id": table.ids, "member": table.names, "status": status, "why": why,
        "local_time": table.local_time,
        "next_start": pd.to_datetime(pd.Series([ns if pd.notna(c) else None for c, ns in zip(table.code, table.next_start)],
                                               dtype=object)),
        "today": day, "daily_cap": pd.array([None if np.isnan(c) else int(c) for c in table.cap_day], dtype="Int64"),
        "this_week": week, "weekly_cap": pd.array([None if np.isnan(c) else int(c) for c in table.cap_week], dtype="Int64"),
        "cap_left": pd.array([None if r >= UNCAPPED else int(r) for r in table.room], dtype="Int64"),
        "assigned_total": [ms.assigned_total for ms in table.mstates],
        "skipped_unavailable": [ms.skipped_unavailable_total for ms in table.mstates],
        "skipped_cap": [ms.skipped_cap_total for ms in table.mstates],
        "credited": [ms.credited_total for ms in table.mstates],
        "weight": np.round(table.weight, 3),
        "open_leads": pd.array(table.workload.astype(int) if table.workload is not None else [None] * table.m, dtype="Int64"),
        "next_turn": [np.nan if not np.isfinite(t) or pool.method == "load_balanced" else round(float(t), 3)
                      for t in table.start],
    })
