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
The members as the call finds them are a :class:`~pipelines.routing.pools.member_table.MemberTable`;
what the call leaves in the pool book is written by :mod:`.recording`.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from pipelines.routing.language.pools import PoolDecl
from pipelines.routing.pools.member_table import MemberTable, PoolContext, PoolRules
from pipelines.routing.pools.membership import language_codes, sticky_keys
from pipelines.routing.pools.passed_over import passed_over
from pipelines.routing.pools.recording import record
from pipelines.routing.pools.turns import take_turns

__all__ = ["PoolRules", "PoolContext", "assign"]

# Reasons that keep a member from a pool for the day; outside hours and caps do not break stickiness.
AWAY = frozenset({"inactive", "crm_inactive", "not_started", "out_of_office", "holiday", "paused"})
METHOD_LABEL = {"round_robin": "round robin", "weighted_round_robin": "weighted round robin",
                "load_balanced": "load balanced"}


class _Allocation:
    """One call of :func:`assign`: the leads given out over the pool's :class:`MemberTable`, each with why."""

    def __init__(self, pool: PoolDecl, rules: PoolRules, ctx: PoolContext):
        self.t = MemberTable(pool, rules, ctx)

    def run(self, frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
        n = len(frame)
        self.owner = np.full(n, -1, dtype=np.int64)
        self.detail = np.full(n, None, dtype=object)
        self.kind = np.full(n, None, dtype=object)  # sticky | distributed | follower
        self.max_turn: tuple[float, int] | None = None  # (turn, member) of the latest turn given
        self.skipped: dict[int, str] = {}
        # (turn, member) of the last lead given by turns: the first lead of this run follows the last run's
        self.after = (self.t.state.turn if self.t.pool.method != "load_balanced" else -np.inf, -1)
        todo = np.ones(n, dtype=bool)
        keys = None
        if self.t.pool.sticky is not None:
            keys = sticky_keys(frame, self.t.pool.sticky.by)
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
        record(self.t, self.owner, self.kind, self.max_turn, self.skipped, frame, keys)
        owners = np.full(n, pd.NA, dtype=object)
        owners[self.owner >= 0] = self.t.ids[self.owner[self.owner >= 0]]
        owners = pd.Series(owners, index=frame.index, dtype=object)
        return owners, pd.Series(self.detail, index=frame.index, dtype=object)

    @property
    def label(self) -> str:
        return f"pool {self.t.pool.name} ({METHOD_LABEL[self.t.pool.method]})"

    def _sticky(self, key_code: np.ndarray, key_values: np.ndarray) -> np.ndarray:
        """Leads going to the member who had the company's earlier lead; returns their mask."""
        ok = np.zeros(len(key_code), dtype=bool)
        known = self.t.book.sticky_owners(self.t.pool.name, pd.Series(key_values, dtype=object),
                                        self.t.now - timedelta(days=self.t.pool.sticky.days))
        if not self.t.m or known["user_id"].isna().all():
            return ok
        member = known["user_id"].map(pd.Series(np.arange(self.t.m), index=self.t.ids))  # per distinct key
        usable = member.notna().to_numpy()
        member = member.fillna(0).astype(int).to_numpy()
        usable &= ~np.isin(self.t.code[member], list(AWAY))
        ok = (key_code >= 0) & np.append(usable, False)[key_code]
        if not ok.any():
            return ok
        k = key_code[ok]
        idx = member[k]
        self.owner[ok] = idx
        self.kind[ok] = "sticky"
        when = pd.to_datetime(known["assigned_at"]).dt.strftime("%Y-%m-%d").to_numpy(dtype=object)
        text = (" (sticky: had " + key_values.astype(str) + "'s lead " + known["lead_id"].to_numpy(dtype=object).astype(str)
                + " on " + when.astype(str) + f", within {self.t.pool.sticky.days} days)")
        self.detail[ok] = self.label + ": " + self.t.names[idx] + text[k]
        self.t.took(idx, turns=True)
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
        self.detail[rows[got]] = (self.label + ": " + self.t.names[member[got]] + " (sticky: " + keys[rows[got]].astype(str)
                                  + ", like lead " + lead_ids[lead[got]].astype(str) + " in this run)")
        self.detail[rows[~got]] = self.detail[lead[~got]]
        self.t.took(member[got], turns=True)

    def _segments(self, frame: pd.DataFrame, todo: np.ndarray) -> None:
        everyone = np.ones(self.t.m, dtype=bool)
        if self.t.pool.language is None or "lead.language" not in frame.columns:
            self._distribute(np.flatnonzero(todo), everyone, "")
            return
        lang = language_codes(frame["lead.language"])
        speaks = self.t.rows["_languages"].to_numpy(dtype=object) if "_languages" in self.t.rows else np.full(self.t.m, frozenset())
        rest = todo & pd.isna(lang)
        for code in pd.unique(lang[todo & ~pd.isna(lang)]):
            rows = np.flatnonzero(todo & (lang == code))
            speakers = np.array([code in s for s in speaks], dtype=bool)
            left = self._distribute(rows, speakers, f"speaks {code}")
            if len(left) and self.t.pool.language == "prefer":
                rest[left] = True
                self.detail[left] = None
            elif len(left):
                self.detail[left] = (self.label + f": nobody speaking {code!r} can take it"
                                     + self.t.skip_text(speakers, "") + (" (no member speaks it)" if not speakers.any() else ""))
        self._distribute(np.flatnonzero(rest), everyone, "")

    def _distribute(self, rows: np.ndarray, eligible: np.ndarray, what: str) -> np.ndarray:
        """Give ``rows`` (positions, oldest first) to the ``eligible`` members; return the positions left over."""
        if not len(rows):
            return rows
        here = eligible & pd.isna(self.t.code)
        note = ""
        if self.t.pool.working_hours == "respect" and not here.any():
            later = eligible & np.isin(self.t.code, ["off_hours"])
            if later.any():
                policy = self.t.pool.outside_hours
                nxt = min(self.t.next_start[i] for i in np.flatnonzero(later))
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
        i = min(np.flatnonzero(mask), key=lambda j: self.t.next_start[j])
        return str(self.t.names[i])

    def _next_to_start(self, rows: np.ndarray, later: np.ndarray, what: str) -> np.ndarray:
        """Nobody is working: the members whose hours start first take the leads, group by group."""
        starts = sorted({self.t.next_start[i] for i in np.flatnonzero(later) if self.t.next_start[i] is not None})
        for start in starts:
            group = later & np.array([s == start for s in self.t.next_start], dtype=bool)
            note = f"; nobody is in working hours: next to start, at {start:%Y-%m-%d %H:%M} UTC"
            rows = self._give(rows, group, later, what, note, off_hours_ok=True)
            if not len(rows):
                break
        return rows

    def _give(self, rows: np.ndarray, here: np.ndarray, eligible: np.ndarray, what: str, note: str,
              off_hours_ok: bool = False) -> np.ndarray:
        """Distribute ``rows`` over the ``here`` members by turns; note skips over ``eligible``."""
        able = here & (self.t.room > 0) & (self.t.weight > 0)
        idx = np.flatnonzero(able)
        turns = take_turns(self.t.start[idx], self.t.step[idx], self.t.room[idx], len(rows))
        got = turns.member >= 0
        member = np.where(got, idx[np.clip(turns.member, 0, None)] if len(idx) else -1, -1)
        done, left = rows[got], rows[~got]
        pick = member[got]
        if len(done):
            self.owner[done] = pick
            self.kind[done] = "distributed"
            today = self.t.user_today[pick] + turns.nth[got]
            more = self.t.room[pick] - turns.nth[got]
            latest = max(zip(turns.turn[got].tolist(), np.flatnonzero(able)[turns.member[got]].tolist()))
            self.max_turn = latest if self.max_turn is None else max(self.max_turn, latest)
            why = self._why(pick, turns.nth[got])
            capped = pd.notna(self.t.room_code[pick])
            cap = np.where(capped, ", " + more.astype(str).astype(object) + " more under caps", "")
            lang = f"; {what}" if what else ""
            skips = self._passed_over(eligible & ~(here if off_hours_ok else np.zeros(self.t.m, dtype=bool)),
                                      turns.turn[got], pick)
            self.detail[done] = (self.label + ": " + self.t.names[pick] + " (" + why + lang + "; lead " +
                                 today.astype(str).astype(object) + " today" + cap + ")" + skips + note)
            self._mark_skips(done, eligible & ~(here if off_hours_ok else np.zeros(self.t.m, dtype=bool)))
            self._capped_during(done, pick, turns)
            self.t.took(pick, turns=True)
        if len(left):
            self.detail[left] = self.label + ": nobody can take it" + (f" ({what})" if what else "") + \
                (self.t.skip_text(eligible, "") or "; no member")
            self._mark_skips(left, eligible)
        return left

    def _passed_over(self, eligible: np.ndarray, turn: np.ndarray, pick: np.ndarray) -> np.ndarray:
        """Per lead given by turns, "; skipped: <member> <why>; ..." naming the members whose turn it passed
        over (not every member away today), or ""."""
        away = np.flatnonzero(eligible & (pd.notna(self.t.code) | (self.t.room <= 0)))
        passed = passed_over(self.t.start, self.t.step, away, turn, pick, self.after)
        self.after = (float(turn[-1]), int(pick[-1]))
        out = np.full(len(turn), "", dtype=object)
        for c, i in enumerate(away):
            text = f"{self.t.names[i]} {self.t.reason[i] if self.t.reason[i] else self.t.room_why(i)}"
            out[passed[:, c]] = np.where(out[passed[:, c]] == "", "; skipped: ", out[passed[:, c]] + "; ") + text
        return out

    def _why(self, pick: np.ndarray, nth: np.ndarray) -> np.ndarray:
        method = self.t.pool.method
        if method == "load_balanced":
            load = (self.t.workload[pick] + (self.t.given[pick] + nth - 1)).astype(int).astype(str).astype(object)
            return "fewest open leads: " + load + np.where(self.t.weight[pick] != 1, ", weight " +
                                                           pd.Series(self.t.weight[pick]).round(2).astype(str).to_numpy(dtype=object), "")
        if method == "weighted_round_robin" or self.t.pool.ramp is not None:
            return "next in turn at weight " + pd.Series(self.t.weight[pick]).round(2).astype(str).to_numpy(dtype=object)
        return np.full(len(pick), "next in turn", dtype=object)

    def _mark_skips(self, rows: np.ndarray, eligible: np.ndarray) -> None:
        for i in np.flatnonzero(eligible & (pd.notna(self.t.code) | (self.t.room <= 0))):
            why = self.t.reason[i] if self.t.reason[i] else self.t.room_why(i)
            code = self.t.code[i] if self.t.code[i] else self.t.room_code[i]
            self.t.mstates[i].skip(len(rows), why, code, self.t.now)
            self.skipped[i] = why

    def _capped_during(self, done: np.ndarray, pick: np.ndarray, turns) -> None:
        """Members whose cap ran out in this batch are skipped for the leads after their last one."""
        counts = np.bincount(pick, minlength=self.t.m)
        for i in np.flatnonzero((counts > 0) & (counts >= self.t.room)):
            last = done[np.flatnonzero(pick == i)[-1]]
            after = done[done > last]
            if len(after):
                cap = self.t.room_code[i].replace("_", " ")
                self.detail[after] = self.detail[after] + f"; {self.t.names[i]} reached the {cap}"
                self.t.mstates[i].skip(len(after), f"{cap} reached at {self.t.now:%Y-%m-%d %H:%M} UTC",
                                     self.t.room_code[i], self.t.now)

def assign(pool: PoolDecl, frame: pd.DataFrame, rules: PoolRules, ctx: PoolContext) -> tuple[pd.Series, pd.Series]:
    """Owners for the leads of ``frame`` (indexed like it), and a line per lead on how and why.

    The one entry point the routing engine calls; NA where nobody in the pool can take the
    lead (the engine then tries the pool's fallback).
    """
    if frame.empty:
        empty = pd.Series(dtype=object, index=frame.index)
        return empty, empty
    return _Allocation(pool, rules, ctx).run(frame)
