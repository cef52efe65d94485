"""Availability overrides: a rep paused by ops for a while, on top of ``reps.csv``, without a pull request.

Ops pause a rep who called in sick or sits in a two-hour meeting block (``leadroute rep pause``,
:mod:`pipelines.ops.overrides`); each pause is a row of the warehouse table ``rep_override``
with who paused, when, why and until when, and a resume closes it. Nothing edits the roster
file: each run reads the pauses once and lays them over the roster as one typed helper
column, ``_paused`` (the rep's pause windows), so every reader of the roster honours them
the same way — pool availability (:mod:`.availability`: code ``paused``, the reason naming
who paused and until when), working time for SLA clocks (:mod:`.working_time`: a paused
stretch is not working time) and holds waiting for working hours.

A pause window is ``[start, end)`` in naive UTC; ``end`` is the earlier of ``until`` and the
resume, or None for "until resumed". A window that has ended is history: it stays in the
table (the audit trail) and simply no longer covers ``now``, so a pause expires by itself.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

import duckdb
import numpy as np
import pandas as pd

PAUSED = "_paused"  # roster helper column: tuple of PauseWindow per rep
OVERRIDE_TABLE = "rep_override"


@dataclass(frozen=True)
class PauseWindow:
    """One pause of one rep: from ``start`` to ``end`` (naive UTC; None: until resumed)."""

    start: datetime
    end: datetime | None
    by: str
    reason: str

    def covers(self, now: datetime) -> bool:
        return self.start <= now and (self.end is None or now < self.end)

    def describe(self) -> str:
        """``paused by ana until 2026-11-20 17:00 UTC (sick)``: what explain and the pool state show."""
        until = f"until {self.end:%Y-%m-%d %H:%M} UTC" if self.end is not None else "until resumed"
        return f"paused by {self.by} {until}" + (f" ({self.reason})" if self.reason else "")


def windows(overrides: pd.DataFrame) -> dict[str, tuple[PauseWindow, ...]]:
    """Per user id, their pause windows in start order, from ``rep_override`` rows."""
    out: dict[str, list[PauseWindow]] = {}
    for rec in overrides.sort_values("created_at").to_dict("records"):
        ends = [t for t in (rec.get("until"), rec.get("resumed_at")) if t is not None and not pd.isna(t)]
        end = min(pd.Timestamp(t).to_pydatetime() for t in ends) if ends else None
        start = pd.Timestamp(rec["starts_at"]).to_pydatetime()
        if end is not None and end <= start:
            continue  # resumed before it began: no time paused
        out.setdefault(rec["user_id"], []).append(
            PauseWindow(start, end, str(rec.get("created_by") or "ops"), str(rec.get("reason") or "")))
    return {u: tuple(ws) for u, ws in out.items()}


def load(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every override row (the audit trail); empty when the warehouse has no such table yet."""
    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                         [OVERRIDE_TABLE]).fetchall()[0][0]
    if not exists:
        return pd.DataFrame(columns=["override_id", "user_id", "starts_at", "until", "reason", "created_by",
                                     "created_at", "resumed_at", "resumed_by", "resume_reason"])
    return con.execute(f"SELECT * FROM {OVERRIDE_TABLE} ORDER BY created_at, override_id").df()


def with_pauses(reps: pd.DataFrame, overrides: pd.DataFrame) -> pd.DataFrame:
    """The roster with each rep's pause windows in ``_paused`` (a copy; the roster itself is untouched)."""
    per_user = windows(overrides) if len(overrides) else {}
    out = reps.copy()
    out[PAUSED] = [per_user.get(u, ()) for u in out["user_id"]] if len(out) else pd.Series(dtype=object)
    return out


def pause_at(rec: dict, now: datetime) -> PauseWindow | None:
    """The pause of roster row ``rec`` that covers ``now`` (naive UTC), if any."""
    for window in rec.get(PAUSED) or ():
        if window.covers(now):
            return window
    return None


def paused_intervals(rec: dict) -> np.ndarray:
    """The rep's pause windows as int64 ns UTC, shape (k, 2); an open end is far in the future."""
    ws = rec.get(PAUSED) or ()
    if not ws:
        return np.zeros((0, 2), dtype=np.int64)
    never = np.iinfo(np.int64).max
    return np.array([[pd.Timestamp(w.start).value, never if w.end is None else pd.Timestamp(w.end).value]
                     for w in ws], dtype=np.int64)


def minus(iv: np.ndarray, cut: np.ndarray) -> np.ndarray:
    """Intervals ``iv`` (sorted, disjoint, shape (k, 2)) without the stretches in ``cut`` (a few pauses)."""
    for a, b in cut:
        keep = []
        for s, e in iv:
            if e <= a or s >= b:
                keep.append((s, e))
                continue
            if s < a:
                keep.append((s, a))
            if e > b:
                keep.append((b, e))
        iv = np.array(keep, dtype=np.int64).reshape(-1, 2)
    return iv


def honoured(con: duckdb.DuckDBPyConnection, rules):
    """``rules`` (a rule set: anything with a ``reps`` roster) with the pauses of the warehouse laid over
    its roster: what a stage routes with, so an override counts from the next tick on."""
    overrides = load(con)
    if overrides.empty:
        return rules
    return dataclasses.replace(rules, reps=with_pauses(rules.reps, overrides))
