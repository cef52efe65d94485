"""Distribution pools: who is in a pool, who can take a lead now, and whose turn it is.

The engine calls :func:`assign` once per pool action with the leads the pool must
serve (oldest first). For those leads, in this order:

1. **sticky**: a lead of a company (``sticky.by``, e.g. ``lead.domain``) whose earlier
   lead this pool gave to a member within ``sticky.days`` goes to that member, as long as
   they are at work these days (not inactive, out of office, on holiday). Outside their
   hours or over their cap they still get it: two reps working one company costs more than
   an extra lead. Several leads of one new company in the same run all follow the first.
2. **language** (``language: prefer | require``): leads with a language go first to the
   members speaking it; with ``prefer`` the rest of the pool takes what they cannot.
3. **distribution** among the members available now, by the pool's method
   (:mod:`.turns`), within caps: the pool's ``caps`` and the rep's ``daily_cap`` /
   ``weekly_cap`` (all pools together), counted in the rep's local day and ISO week.
4. **working hours** (``working_hours: respect``): only members inside their hours take
   leads; when nobody is, ``outside_hours`` decides: ``next_to_start`` (the members whose
   hours start next), ``anyone`` (every member otherwise available) or ``fallback``.

Where nobody can take a lead the owner is NA and the detail says why; the engine then
tries the pool's ``fallback`` (a queue, or another pool), so no lead is lost. Every lead's
detail names the member and why the others were skipped; it goes into the decision's trace.
All of it is in numpy/pandas over the batch; loops run over members, pools or languages.
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
from pipelines.routing.pools.membership import language_codes, members, sticky_keys
from pipelines.routing.pools.turns import take_turns
from pipelines.routing.roster.availability import member_status

__all__ = ["PoolRules", "PoolContext", "assign", "snapshot"]

# Reasons that keep a member from a pool for the day; outside hours and caps do not break stickiness.
AWAY = frozenset({"inactive", "crm_inactive", "not_started", "out_of_office", "holiday", "paused"})
UNCAPPED = 2**62
METHOD_LABEL = {"round_robin": "round robin", "weighted_round_robin": "weighted round robin",
                "load_balanced": "load balanced"}


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


class _PoolRun:
    """One call of :func:`assign`: the pool's members as arrays (in rotation order) and the leads."""

    def __init__(self, pool: PoolDecl, frame: pd.DataFrame, rules: PoolRules, ctx: PoolContext):
        self.pool, self.now, self.n = pool, ctx.now, len(frame)
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
            # Kept turns carry each member's place in the rotation. A member without one (joining) or
            # behind the pool (back from leave) takes their place in roster order after the member who
            # got the last lead: this round if after them, the next round if before.
            floor, last = self.state.turn, self.state.last_user_id
            kept = np.array([ms.next_turn if ms.next_turn is not None else np.nan for ms in self.mstates], dtype=float)
            done_this_round = np.array([last is not None and uid <= last for uid in self.ids], dtype=bool)
            place = floor + np.where(done_this_round, self.step, 0.0)
            self.start = np.where(np.isnan(kept) | (kept < floor), place, kept)
            self.start[~np.isfinite(self.start)] = np.inf

    # -- the run ------------------------------------------------------------------------------

    def run(self, frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
        n = self.n
        self.owner = np.full(n, -1, dtype=np.int64)
        self.detail = np.full(n, None, dtype=object)
        self.kind = np.full(n, None, dtype=object)  # sticky | distributed | follower
        self.max_turn: tuple[float, int] | None = None  # (turn, member) of the latest turn given
        self.skipped: dict[int, str] = {}
        todo = np.ones(n, dtype=bool)
        keys = None
        if self.pool.sticky is not None:
            keys = sticky_keys(frame, self.pool.sticky.by)
            key_code, key_values = pd.factorize(keys, use_na_sentinel=True)
            todo &= ~self._sticky(key_code, np.asarray(key_values, dtype=object))
            # several leads of one company in this run: the first is distributed, the rest follow it
            _, first = np.unique(key_code, return_index=True)
            follower = (key_code >= 0) & todo
            follower[first] = False
            todo &= ~follower
        self._segments(frame, todo)
        if keys is not None:
            lead_ids = frame["lead_id"].to_numpy(dtype=object) if "lead_id" in frame else np.arange(n).astype(object)
            self._followers(key_code, keys.to_numpy(dtype=object), follower, lead_ids)
        self._record(frame, keys)
        owners = np.full(n, pd.NA, dtype=object)
        owners[self.owner >= 0] = self.ids[self.owner[self.owner >= 0]]
        owners = pd.Series(owners, index=frame.index, dtype=object)
        return owners, pd.Series(self.detail, index=frame.index, dtype=object)

    @property
    def label(self) -> str:
        return f"pool {self.pool.name} ({METHOD_LABEL[self.pool.method]})"

    def _sticky(self, key_code: np.ndarray, key_values: np.ndarray) -> np.ndarray:
        """Leads going to the member who had the company's earlier lead; returns their mask."""
        ok = np.zeros(len(key_code), dtype=bool)
        known = self.book.sticky_owners(self.pool.name, pd.Series(key_values, dtype=object),
                                        self.now - timedelta(days=self.pool.sticky.days))
        if not self.m or known["user_id"].isna().all():
            return ok
        member = known["user_id"].map(pd.Series(np.arange(self.m), index=self.ids))  # per distinct key
        usable = member.notna().to_numpy()
        member = member.fillna(0).astype(int).to_numpy()
        usable &= ~np.isin(self.code[member], list(AWAY))
        ok = (key_code >= 0) & np.append(usable, False)[key_code]
        if not ok.any():
            return ok
        k = key_code[ok]
        idx = member[k]
        self.owner[ok] = idx
        self.kind[ok] = "sticky"
        when = pd.to_datetime(known["assigned_at"]).dt.strftime("%Y-%m-%d").to_numpy(dtype=object)
        text = (" (sticky: had " + key_values.astype(str) + "'s lead " + known["lead_id"].to_numpy(dtype=object).astype(str)
                + " on " + when.astype(str) + f", within {self.pool.sticky.days} days)")
        self.detail[ok] = self.label + ": " + self.names[idx] + text[k]
        self._took(idx, turns=True)
        return ok

    def _followers(self, key_code: np.ndarray, keys: np.ndarray, follower: np.ndarray, lead_ids: np.ndarray) -> None:
        """Later leads of a company first seen in this run go where its first lead went."""
        if not follower.any():
            return
        _, first = np.unique(key_code[key_code >= 0], return_index=True)
        first = np.flatnonzero(key_code >= 0)[first]  # per key code, the position of its first lead
        rows = np.flatnonzero(follower)
        lead = first[key_code[rows]]
        member = self.owner[lead]
        got = member >= 0
        self.owner[rows[got]] = member[got]
        self.kind[rows[got]] = "follower"
        self.detail[rows[got]] = (self.label + ": " + self.names[member[got]] + " (sticky: " + keys[rows[got]].astype(str)
                                  + ", like lead " + lead_ids[lead[got]].astype(str) + " in this run)")
        self.detail[rows[~got]] = self.detail[lead[~got]]
        self._took(member[got], turns=True)

    def _took(self, idx: np.ndarray, turns: bool) -> None:
        counts = np.bincount(idx, minlength=self.m)
        self.given += counts
        self.room = np.maximum(self.room - counts, 0)
        self.user_today += counts
        if turns:
            self.start = np.where(counts > 0, self.start + counts * self.step, self.start)

    def _segments(self, frame: pd.DataFrame, todo: np.ndarray) -> None:
        everyone = np.ones(self.m, dtype=bool)
        if self.pool.language is None or "lead.language" not in frame.columns:
            self._distribute(np.flatnonzero(todo), everyone, "")
            return
        lang = language_codes(frame["lead.language"])
        speaks = self.rows["_languages"].to_numpy(dtype=object) if "_languages" in self.rows else np.full(self.m, frozenset())
        rest = todo & pd.isna(lang)
        for code in pd.unique(lang[todo & ~pd.isna(lang)]):
            rows = np.flatnonzero(todo & (lang == code))
            speakers = np.array([code in s for s in speaks], dtype=bool)
            left = self._distribute(rows, speakers, f"speaks {code}")
            if len(left) and self.pool.language == "prefer":
                rest[left] = True
                self.detail[left] = None
            elif len(left):
                self.detail[left] = (self.label + f": nobody speaking {code!r} can take it"
                                     + self._skip_text(speakers, "") + (" (no member speaks it)" if not speakers.any() else ""))
        self._distribute(np.flatnonzero(rest), everyone, "")

    def _skip_text(self, eligible: np.ndarray, note: str) -> str:
        out = [f"{self.names[i]} {self.reason[i] if self.reason[i] else self.room_why(i)}"
               for i in np.flatnonzero(eligible & (pd.notna(self.code) | (self.room <= 0)))]
        return ("; skipped: " + "; ".join(out) if out else "") + note

    def _distribute(self, rows: np.ndarray, eligible: np.ndarray, what: str) -> np.ndarray:
        """Give ``rows`` (positions, oldest first) to the ``eligible`` members; return the positions left over."""
        if not len(rows):
            return rows
        here = eligible & pd.isna(self.code)
        note = ""
        if self.pool.working_hours == "respect" and not here.any():
            later = eligible & np.isin(self.code, ["off_hours"])
            if later.any():
                policy = self.pool.outside_hours
                nxt = min(self.next_start[i] for i in np.flatnonzero(later))
                if policy == "anyone":
                    here, note = later, "; nobody is in working hours, so anyone in the pool"
                elif policy == "next_to_start":
                    return self._next_to_start(rows, later, what)
                else:
                    self._mark_skips(rows, eligible)
                    self.detail[rows] = (self.label + f": nobody is in working hours (next: {self._who_next(later)}"
                                         f" at {nxt:%Y-%m-%d %H:%M} UTC); held for the fallback")
                    return rows
        return self._give(rows, here, eligible, what, note)

    def _who_next(self, mask: np.ndarray) -> str:
        i = min(np.flatnonzero(mask), key=lambda j: self.next_start[j])
        return str(self.names[i])

    def _next_to_start(self, rows: np.ndarray, later: np.ndarray, what: str) -> np.ndarray:
        """Nobody is working: the members whose hours start first take the leads, group by group."""
        starts = sorted({self.next_start[i] for i in np.flatnonzero(later) if self.next_start[i] is not None})
        for start in starts:
            group = later & np.array([s == start for s in self.next_start], dtype=bool)
            note = f"; nobody is in working hours: next to start, at {start:%Y-%m-%d %H:%M} UTC"
            rows = self._give(rows, group, later, what, note, off_hours_ok=True)
            if not len(rows):
                break
        return rows

    def _give(self, rows: np.ndarray, here: np.ndarray, eligible: np.ndarray, what: str, note: str,
              off_hours_ok: bool = False) -> np.ndarray:
        """Distribute ``rows`` over the ``here`` members by turns; note skips over ``eligible``."""
        able = here & (self.room > 0) & (self.weight > 0)
        idx = np.flatnonzero(able)
        turns = take_turns(self.start[idx], self.step[idx], self.room[idx], len(rows))
        got = turns.member >= 0
        member = np.where(got, idx[np.clip(turns.member, 0, None)] if len(idx) else -1, -1)
        done, left = rows[got], rows[~got]
        pick = member[got]
        if len(done):
            self.owner[done] = pick
            self.kind[done] = "distributed"
            today = self.user_today[pick] + turns.nth[got]
            more = self.room[pick] - turns.nth[got]
            latest = max(zip(turns.turn[got].tolist(), np.flatnonzero(able)[turns.member[got]].tolist()))
            self.max_turn = latest if self.max_turn is None else max(self.max_turn, latest)
            why = self._why(pick, turns.nth[got])
            capped = pd.notna(self.room_code[pick])
            cap = np.where(capped, ", " + more.astype(str).astype(object) + " more under caps", "")
            lang = f"; {what}" if what else ""
            skips = self._skip_text(eligible & ~(here if off_hours_ok else np.zeros(self.m, dtype=bool)), "")
            self.detail[done] = (self.label + ": " + self.names[pick] + " (" + why + lang + "; lead " +
                                 today.astype(str).astype(object) + " today" + cap + ")" + skips + note)
            self._mark_skips(done, eligible & ~(here if off_hours_ok else np.zeros(self.m, dtype=bool)))
            self._capped_during(done, pick, turns)
            self._took(pick, turns=True)
        if len(left):
            self.detail[left] = self.label + ": nobody can take it" + (f" ({what})" if what else "") + \
                (self._skip_text(eligible, "") or "; no member")
            self._mark_skips(left, eligible)
        return left

    def _why(self, pick: np.ndarray, nth: np.ndarray) -> np.ndarray:
        method = self.pool.method
        if method == "load_balanced":
            load = (self.workload[pick] + (self.given[pick] + nth - 1)).astype(int).astype(str).astype(object)
            return "fewest open leads: " + load + np.where(self.weight[pick] != 1, ", weight " +
                                                           pd.Series(self.weight[pick]).round(2).astype(str).to_numpy(dtype=object), "")
        if method == "weighted_round_robin" or self.pool.ramp is not None:
            return "next in turn at weight " + pd.Series(self.weight[pick]).round(2).astype(str).to_numpy(dtype=object)
        return np.full(len(pick), "next in turn", dtype=object)

    def _mark_skips(self, rows: np.ndarray, eligible: np.ndarray) -> None:
        for i in np.flatnonzero(eligible & (pd.notna(self.code) | (self.room <= 0))):
            why = self.reason[i] if self.reason[i] else self.room_why(i)
            code = self.code[i] if self.code[i] else self.room_code[i]
            self.mstates[i].skip(len(rows), why, code, self.now)
            self.skipped[i] = why

    def _capped_during(self, done: np.ndarray, pick: np.ndarray, turns) -> None:
        """Members whose cap ran out in this batch are skipped for the leads after their last one."""
        counts = np.bincount(pick, minlength=self.m)
        for i in np.flatnonzero((counts > 0) & (counts >= self.room)):
            last = done[np.flatnonzero(pick == i)[-1]]
            after = done[done > last]
            if len(after):
                cap = self.room_code[i].replace("_", " ")
                self.detail[after] = self.detail[after] + f"; {self.names[i]} reached the {cap}"
                self.mstates[i].skip(len(after), f"{cap} reached at {self.now:%Y-%m-%d %H:%M} UTC",
                                     self.room_code[i], self.now)

    def _record(self, frame: pd.DataFrame, keys: pd.Series | None) -> None:
        state, now = self.state, self.now
        got = self.owner >= 0
        counts = np.bincount(self.owner[got], minlength=self.m)
        sticky = np.bincount(self.owner[got & np.isin(self.kind, ["sticky", "follower"])], minlength=self.m)
        distributed = int((self.kind == "distributed").sum())
        state.touched, state.method, state.members = True, self.pool.method, self.m
        state.available = int((pd.isna(self.code)).sum())
        state.pointer += distributed
        state.assigned_total += int(got.sum())
        state.sticky_total += int(sticky.sum())
        state.unassigned_total += int((~got).sum())
        state.run_assigned += int(got.sum())
        state.run_unassigned += int((~got).sum())
        if self.max_turn is not None:
            turn, last = self.max_turn
            state.last_user_id = str(self.ids[last])
            if self.pool.method != "load_balanced":
                state.turn = float(turn)
        for i, ms in enumerate(self.mstates):
            ms.touched, ms.name = True, self.names[i]
            ms.add(int(counts[i]), self.local_date[i], now, sticky=int(sticky[i]))
            if counts[i]:
                state.assigned[self.ids[i]] = state.assigned.get(self.ids[i], 0) + int(counts[i])
                self.book.run_assigned[self.ids[i]] += int(counts[i])
            if self.pool.method != "load_balanced" and (counts[i] or ms.next_turn is not None or pd.isna(self.code[i])):
                ms.next_turn = float(self.start[i]) if np.isfinite(self.start[i]) else ms.next_turn
            code = self.code[i] if pd.notna(self.code[i]) else (self.room_code[i] if self.room[i] <= 0 else None)
            ms.status = code or "available"
            ms.status_reason = self.reason[i] if pd.notna(self.code[i]) else (self.room_why(i) if code else None)
            ms.effective_weight = float(self.weight[i])
            ms.open_workload = None if self.workload is None else int(self.workload[i])
            ms.daily_cap = None if np.isnan(self.cap_day[i]) else int(self.cap_day[i])
            ms.weekly_cap = None if np.isnan(self.cap_week[i]) else int(self.cap_week[i])
        for i, why in self.skipped.items():
            state.skipped[self.ids[i]] = why
        skipped = "; ".join(f"{self.names[i]} {w}" for i, w in self.skipped.items())
        state.last_detail = (f"{int(got.sum())} assigned ({int(sticky.sum())} sticky), {int((~got).sum())} to the fallback"
                             + (f"; skipped: {skipped}" if skipped else ""))
        if keys is not None and got.any():
            mask = got & keys.notna().to_numpy()
            self.book.remember_sticky(self.pool.name, self.pool.sticky.days, pd.DataFrame({
                "sticky_key": keys.to_numpy(dtype=object)[mask], "user_id": self.ids[self.owner[mask]],
                "lead_id": frame["lead_id"].to_numpy(dtype=object)[mask] if "lead_id" in frame else None,
                "assigned_at": pd.Timestamp(now)}))
        elif self.pool.sticky is not None:
            self.book.sticky_days[self.pool.name] = self.pool.sticky.days


def snapshot(pool: PoolDecl, rules: PoolRules, ctx: PoolContext) -> pd.DataFrame:
    """Each member of ``pool`` as the pool sees them at ``ctx.now``: for ``leadroute pools`` and the UI.

    Computed by the same code that assigns leads (a run with no leads), so what ops see is
    what the next lead would meet.
    """
    run = _PoolRun(pool, pd.DataFrame({"lead_id": pd.Series(dtype=object)}), rules, ctx)
    status = [c if pd.notna(c) else (run.room_code[i] if run.room[i] <= 0 else "available")
              for i, c in enumerate(run.code)]
    why = [run.reason[i] if pd.notna(run.code[i]) else (run.room_why(i) if run.room[i] <= 0 else "")
           for i in range(run.m)]
    day = [ms.today(d) for ms, d in zip(run.mstates, run.local_date)]
    week = [ms.this_week(d - timedelta(days=d.weekday())) for ms, d in zip(run.mstates, run.local_date)]
    return pd.DataFrame({
        "pool": pool.name, "user_id": run.ids, "member": run.names, "status": status, "why": why,
        "local_time": run.local_time,
        "next_start": pd.to_datetime(pd.Series([ns if pd.notna(c) else None for c, ns in zip(run.code, run.next_start)],
                                               dtype=object)),
        "today": day, "daily_cap": pd.array([None if np.isnan(c) else int(c) for c in run.cap_day], dtype="Int64"),
        "this_week": week, "weekly_cap": pd.array([None if np.isnan(c) else int(c) for c in run.cap_week], dtype="Int64"),
        "cap_left": pd.array([None if r >= UNCAPPED else int(r) for r in run.room], dtype="Int64"),
        "assigned_total": [ms.assigned_total for ms in run.mstates],
        "skipped_unavailable": [ms.skipped_unavailable_total for ms in run.mstates],
        "skipped_cap": [ms.skipped_cap_total for ms in run.mstates],
        "weight": np.round(run.weight, 3),
        "open_leads": pd.array(run.workload.astype(int) if run.workload is not None else [None] * run.m, dtype="Int64"),
        "next_turn": [np.nan if not np.isfinite(t) or pool.method == "load_balanced" else round(float(t), 3)
                      for t in run.start],
    })


def assign(pool: PoolDecl, frame: pd.DataFrame, rules: PoolRules, ctx: PoolContext) -> tuple[pd.Series, pd.Series]:
    """Owners for the leads of ``frame`` (indexed like it), and a line per lead on how and why.

    The one entry point the routing engine calls; NA where nobody in the pool can take the
    lead (the engine then tries the pool's fallback).
    """
    if frame.empty:
        empty = pd.Series(dtype=object, index=frame.index)
        return empty, empty
    return _PoolRun(pool, frame, rules, ctx).run(frame)
