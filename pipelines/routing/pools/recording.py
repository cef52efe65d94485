"""What one call of a pool leaves in the pool book: counts, turns, each member's status, sticky owners.

The book is saved once per run (:func:`pipelines.routing.pools.book.save_states`); what it
holds is what ``leadroute pools`` and the ``distribution_pools`` asset show, and what the
next call starts from.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.routing.pools.member_table import MemberTable


def record(t: MemberTable, owner: np.ndarray, kind: np.ndarray, max_turn: tuple[float, int] | None,
           skipped: dict[int, str], frame: pd.DataFrame, keys: pd.Series | None) -> None:
    """Write one call into the pool book: the pool's counts and turn, each member's counts, status and
    caps, who was skipped and why, and the sticky owners of the companies given out.

    ``owner`` is per lead the index of its member in ``t`` (-1: nobody), ``kind`` how it got them
    (sticky, follower, distributed), ``max_turn`` the (turn, member) of the latest turn given."""
    state, now = t.state, t.now
    got = owner >= 0
    counts = np.bincount(owner[got], minlength=t.m)
    sticky = np.bincount(owner[got & np.isin(kind, ["sticky", "follower"])], minlength=t.m)
    distributed = int((kind == "distributed").sum())
    state.touched, state.method, state.members = True, t.pool.method, t.m
    state.available = int((pd.isna(t.code)).sum())
    state.pointer += distributed
    state.assigned_total += int(got.sum())
    state.sticky_total += int(sticky.sum())
    state.unassigned_total += int((~got).sum())
    state.run_assigned += int(got.sum())
    state.run_unassigned += int((~got).sum())
    if max_turn is not None:
        turn, last = max_turn
        state.last_user_id = str(t.ids[last])
        if t.pool.method != "load_balanced":
            state.turn = float(turn)
    for i, ms in enumerate(t.mstates):
        ms.touched, ms.name = True, t.names[i]
        ms.add(int(counts[i]), t.local_date[i], now, sticky=int(sticky[i]))
        if counts[i]:
            state.assigned[t.ids[i]] = state.assigned.get(t.ids[i], 0) + int(counts[i])
            t.book.run_assigned[t.ids[i]] += int(counts[i])
        # The first leads of a member owed turns use the credit, not their own turn: the turn kept is
        # their own one (the start of this call is their own turn less the credit, see MemberTable).
        owed = ms.credit_owed
        ms.credit_owed = max(owed - int(counts[i]), 0)
        own_turn = t.start[i] + ms.credit_owed * t.step[i] if owed and np.isfinite(t.step[i]) else t.start[i]
        if t.pool.method != "load_balanced" and (counts[i] or ms.next_turn is not None or pd.isna(t.code[i])):
            ms.next_turn = float(own_turn) if np.isfinite(own_turn) else ms.next_turn
        code = t.code[i] if pd.notna(t.code[i]) else (t.room_code[i] if t.room[i] <= 0 else None)
        ms.status = code or "available"
        ms.status_reason = t.reason[i] if pd.notna(t.code[i]) else (t.room_why(i) if code else None)
        ms.effective_weight = float(t.weight[i])
        ms.open_workload = None if t.workload is None else int(t.workload[i])
        ms.daily_cap = None if np.isnan(t.cap_day[i]) else int(t.cap_day[i])
        ms.weekly_cap = None if np.isnan(t.cap_week[i]) else int(t.cap_week[i])
    for i, why in skipped.items():
        state.skipped[t.ids[i]] = why
    skipped = "; ".join(f"{t.names[i]} {w}" for i, w in skipped.items())
    state.last_detail = (f"{int(got.sum())} assigned ({int(sticky.sum())} sticky), {int((~got).sum())} to the fallback"
                         + (f"; skipped: {skipped}" if skipped else ""))
    if keys is not None and got.any():
        mask = got & keys.notna().to_numpy()
        t.book.remember_sticky(t.pool.name, t.pool.sticky.days, pd.DataFrame({
            "sticky_key": keys.to_numpy(dtype=object)[mask], "user_id": t.ids[owner[mask]],
            "lead_id": frame["lead_id"].to_numpy(dtype=object)[mask] if "lead_id" in frame else None,
            "assigned_at": pd.Timestamp(now)}))
    elif t.pool.sticky is not None:
        t.book.sticky_days[t.pool.name] = t.pool.sticky.days
