"""Time counted in a rep's working hours: when an SLA falls due, and how long a touch took.

An SLA of "one working hour" given to a rep in New York at 16:30 on a Friday falls due at
08:30 on Monday, and not at all during their vacation. Each rep's working time is the
union of their shifts (``reps.csv``: ``working_hours`` and ``working_days`` in their
``time_zone``) minus the days they are off (before ``start_date``, out of office, public
holidays of their ``holiday_calendar``, company days off in ``holidays.csv``) and minus the
stretches ops paused them for (``leadroute rep pause``, :mod:`.overrides`): the same
rules as pool availability (:mod:`.availability`, :mod:`.holidays`). A shift may cross midnight
(``22:00-06:00``): as for pool availability, the hours count on the day they fall on, so
with ``Mon-Fri`` the early hours of Monday count and those of Saturday do not. A rep with no
working hours works all day on their working days; an owner who is not in the roster is
timed on the calendar.

Per rep (a few dozen), the shifts of the next weeks become a sorted array of intervals
with the working minutes accumulated at each; every clock of that rep is then placed with
one ``searchsorted``: no loop per lead.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pandas as pd

from pipelines.routing.roster.holidays import holiday_name
from pipelines.routing.roster.overrides import minus, paused_intervals

HORIZON_DAYS = 60  # how far ahead working time is laid out; a longer absence extends it once
LONG_HORIZON_DAYS = 400
_NS_PER_MIN = 60 * 10**9


def _off(rep: dict, day: date, days_off: pd.DataFrame) -> bool:
    start = rep.get("start_date")
    if isinstance(start, pd.Timestamp) and not pd.isna(start) and day < start.date():
        return True
    ooo_from, ooo_to = rep.get("ooo_from"), rep.get("ooo_to")
    if isinstance(ooo_from, pd.Timestamp) and not pd.isna(ooo_from) and ooo_from.date() <= day and (
            not isinstance(ooo_to, pd.Timestamp) or pd.isna(ooo_to) or day <= ooo_to.date()):
        return True
    return holiday_name(str(rep.get("holiday_calendar") or ""), str(rep.get("team") or ""), rep["user_id"], day,
                        days_off) is not None


def intervals(rep: dict, first: date, days: int, days_off: pd.DataFrame) -> np.ndarray:
    """The rep's working intervals from local day ``first`` for ``days`` days: int64 ns UTC, shape (k, 2)."""
    zone = rep.get("_zone") or UTC
    shift = rep.get("_shift")
    work_days = rep.get("_work_days") or (0, 1, 2, 3, 4)
    start_min, end_min = shift if shift is not None else (0, 24 * 60)
    # The minutes of a local day that are working time: one span, or two for a shift crossing midnight.
    spans = [(start_min, end_min)] if start_min < end_min else [(0, end_min), (start_min, 24 * 60)]
    out = []
    for k in range(days):
        day = first + timedelta(days=k)
        if day.weekday() not in work_days or _off(rep, day, days_off):
            continue
        midnight = datetime.combine(day, time(0), tzinfo=zone)
        for a, b in spans:  # wall-clock times, then UTC: right across daylight saving changes
            out.append(((midnight + timedelta(minutes=a)).astimezone(UTC), (midnight + timedelta(minutes=b)).astimezone(UTC)))
    if not out:
        return np.zeros((0, 2), dtype=np.int64)
    iv = np.array([[pd.Timestamp(b).value, pd.Timestamp(e).value] for b, e in out], dtype=np.int64)
    return minus(iv, paused_intervals(rep))


class WorkingTime:
    """One rep's working time laid out as intervals, with the minutes worked up to each."""

    def __init__(self, iv: np.ndarray):
        self.start, self.end = iv[:, 0], iv[:, 1]
        length = (self.end - self.start) / _NS_PER_MIN
        self.cum_end = np.cumsum(length)
        self.cum_start = self.cum_end - length

    def worked_before(self, t: np.ndarray) -> np.ndarray:
        """Working minutes from the layout's beginning up to ``t`` (int64 ns)."""
        i = np.searchsorted(self.end, t, side="right")
        inside = i < len(self.end)
        j = np.minimum(i, len(self.end) - 1)
        into = np.clip((t - self.start[j]) / _NS_PER_MIN, 0, None)
        return np.where(inside, self.cum_start[j] + np.minimum(into, self.cum_end[j] - self.cum_start[j]),
                        self.cum_end[-1] if len(self.cum_end) else 0.0)

    def add(self, t: np.ndarray, minutes: np.ndarray) -> np.ndarray:
        """``t`` plus ``minutes`` of working time (int64 ns; -1 where the layout is too short)."""
        target = self.worked_before(t) + minutes
        j = np.searchsorted(self.cum_end, target, side="left")
        ok = j < len(self.cum_end)
        j = np.minimum(j, len(self.cum_end) - 1)
        due = self.start[j] + ((target - self.cum_start[j]) * _NS_PER_MIN).astype(np.int64)
        return np.where(ok, due, -1)


def _layout(rep: dict, lo: pd.Timestamp, days: int, days_off: pd.DataFrame) -> WorkingTime | None:
    zone = rep.get("_zone")
    first = (lo.tz_localize(UTC).astimezone(zone).date() if zone is not None else lo.date()) - timedelta(days=1)
    iv = intervals(rep, first, days, days_off)
    return WorkingTime(iv) if len(iv) else None


def due_at(starts: pd.Series, minutes: pd.Series, owners: pd.Series, working: pd.Series, roster: pd.DataFrame,
           days_off: pd.DataFrame) -> pd.Series:
    """When each clock falls due: ``starts`` plus ``minutes``, of the owner's working time where ``working``
    (else of the calendar). Owners not in the roster are timed on the calendar."""
    starts = pd.to_datetime(starts)
    calendar = starts + pd.to_timedelta(minutes.astype(float), unit="m")
    out = calendar.copy()
    reps = roster.set_index("user_id", drop=False) if "user_id" in roster else pd.DataFrame()
    todo = working.astype(bool) & owners.isin(reps.index) & starts.notna()
    for owner, idx in owners[todo].groupby(owners[todo]).groups.items():
        rep = reps.loc[owner].to_dict()
        t = starts[idx].to_numpy(dtype="datetime64[ns]").astype(np.int64)
        m = minutes[idx].to_numpy(dtype=float)
        due = np.full(len(idx), -1, dtype=np.int64)
        for days in (HORIZON_DAYS + int(m.max() // 480) * 2, LONG_HORIZON_DAYS):
            layout = _layout(rep, starts[idx].min(), days, days_off)
            if layout is not None:
                due = layout.add(t, m)
            if (due >= 0).all():
                break
        out[idx] = pd.to_datetime(np.where(due >= 0, due, calendar[idx].to_numpy(dtype="datetime64[ns]").astype(np.int64)))
    return out


def minutes_between(starts: pd.Series, ends: pd.Series, owners: pd.Series, roster: pd.DataFrame,
                    days_off: pd.DataFrame) -> pd.Series:
    """Working minutes of the owner between ``starts`` and ``ends`` (calendar minutes for owners not in the roster)."""
    starts, ends = pd.to_datetime(starts), pd.to_datetime(ends)
    out = (ends - starts).dt.total_seconds() / 60
    reps = roster.set_index("user_id", drop=False) if "user_id" in roster else pd.DataFrame()
    todo = owners.isin(reps.index) & starts.notna() & ends.notna()
    for owner, idx in owners[todo].groupby(owners[todo]).groups.items():
        span = int((ends[idx].max() - starts[idx].min()).days) + 3
        layout = _layout(reps.loc[owner].to_dict(), starts[idx].min(), min(span, LONG_HORIZON_DAYS), days_off)
        if layout is None:
            out[idx] = 0.0
            continue
        a = layout.worked_before(starts[idx].to_numpy(dtype="datetime64[ns]").astype(np.int64))
        b = layout.worked_before(ends[idx].to_numpy(dtype="datetime64[ns]").astype(np.int64))
        out[idx] = np.maximum(b - a, 0.0)
    return out
