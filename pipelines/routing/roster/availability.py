"""Who can take a lead right now, and if not, why not and from when.

A member is unavailable, in this order of precedence, when they are:

1. ``inactive`` in ``reps.csv``;
2. ``crm_inactive``: not an active user in the CRM (when the CRM's users are known);
   then ``paused``: paused by ops for now (``leadroute rep pause``, :mod:`.overrides`), the
   reason naming who paused and until when;
3. ``not_started``: before their ``start_date``;
4. ``out_of_office``: between ``ooo_from`` and ``ooo_to`` (both included);
5. ``holiday``: a public holiday of their ``holiday_calendar``, or a company day off
   (``holidays.csv``, :mod:`.holidays`) for everyone, their team or them;
6. ``off_hours``: outside their working hours or working days, in their own time zone
   (only for pools that respect working hours).

Dates are the rep's *local* dates: at 23:30 UTC on 25 December a rep in Tokyo is already
on the 26th. Everything is computed from the injected ``now`` (UTC), never the wall clock,
so tests and replays decide the time. The loop is per member (a few dozen), never per lead.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pandas as pd

from pipelines.routing.roster.holidays import holiday_name
from pipelines.routing.roster.overrides import pause_at
from pipelines.routing.roster.reps import DAYS

DAY_NAMES = tuple(d.title() for d in DAYS)
LOOKAHEAD_DAYS = 21  # how far ahead "next start" looks (covers a long vacation's tail and a holiday week)


def _days(days: tuple[int, ...]) -> str:
    if days == tuple(range(days[0], days[-1] + 1)) and len(days) > 2:
        return f"{DAY_NAMES[days[0]]}-{DAY_NAMES[days[-1]]}"
    return ";".join(DAY_NAMES[d] for d in days)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _in_shift(shift: tuple[int, int] | None, minute: int) -> bool:
    if shift is None:
        return True
    start, end = shift
    return start <= minute < end if start < end else (minute >= start or minute < end)


def member_status(rows: pd.DataFrame, now: datetime, crm_active: set[str] | None, days_off: pd.DataFrame,
                  hours: bool = True) -> pd.DataFrame:
    """Per member (indexed like ``rows``): ``code`` and ``reason`` (None when available now),
    ``local_date`` (the rep's today), ``local_time`` and ``next_start`` (UTC, naive: the next
    moment the member is available and in working hours; ``now`` when available now).

    ``hours=False`` ignores working hours and days: "available today" for ``leadroute validate``.
    """
    now_utc = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    out = []
    for rec in rows.to_dict("records"):
        zone = rec.get("_zone")
        local = now_utc.astimezone(zone) if zone is not None else now_utc
        today = local.date()
        uid, team = rec["user_id"], str(rec.get("team") or "")
        calendar = str(rec.get("holiday_calendar") or "")
        start = rec.get("start_date")
        ooo_from, ooo_to = rec.get("ooo_from"), rec.get("ooo_to")
        shift = rec.get("_shift") if hours else None
        work_days = rec.get("_work_days") or (0, 1, 2, 3, 4)

        def off_day(day: date) -> tuple[str, str] | None:
            if isinstance(start, pd.Timestamp) and not pd.isna(start) and day < start.date():
                return "not_started", f"starts on {start.date()}"
            if isinstance(ooo_from, pd.Timestamp) and not pd.isna(ooo_from) and ooo_from.date() <= day and (
                    not isinstance(ooo_to, pd.Timestamp) or pd.isna(ooo_to) or day <= ooo_to.date()):
                until = ooo_to.date() if isinstance(ooo_to, pd.Timestamp) and not pd.isna(ooo_to) else "further notice"
                return "out_of_office", f"out of office until {until}"
            name = holiday_name(calendar, team, uid, day, days_off)
            if name:
                return "holiday", f"on holiday ({name})"
            return None

        def first_start(after: datetime) -> datetime | None:
            """The first moment from ``after`` (local) the member works: not a day off, in their shift."""
            for ahead in range(LOOKAHEAD_DAYS + 1):
                day = after.date() + timedelta(days=ahead)
                if off_day(day) or (shift is not None and day.weekday() not in work_days):
                    continue
                if ahead == 0 and _in_shift(shift, after.hour * 60 + after.minute):
                    return after
                begin = datetime.combine(day, time(0, 0) if shift is None else time(shift[0] // 60, shift[0] % 60),
                                         tzinfo=zone or UTC)
                if begin > after:
                    return begin
            return None

        minute = local.hour * 60 + local.minute
        code, reason = None, None
        pause = pause_at(rec, now_utc.replace(tzinfo=None))
        if not bool(rec.get("active", True)):
            code, reason = "inactive", "inactive in reps.csv"
        elif crm_active is not None and uid not in crm_active:
            code, reason = "crm_inactive", "not an active user in the CRM"
        elif pause is not None:
            code, reason = "paused", pause.describe()
        else:
            off = off_day(today)
            if off:
                code, reason = off
            elif shift is not None and (local.weekday() not in work_days or not _in_shift(shift, minute)):
                code = "off_hours"
                reason = (f"outside working hours ({local:%H:%M} {DAY_NAMES[local.weekday()]} in {zone}; "
                          f"works {_hhmm(shift[0])}-{_hhmm(shift[1])} {_days(work_days)})")
        next_start = None
        if code is None:
            next_start = now_utc
        elif code == "paused":
            end = pause.end
            while end is not None and (again := pause_at(rec, end)) is not None:  # back-to-back pauses
                end = again.end
            if end is not None:
                found = first_start(end.replace(tzinfo=UTC).astimezone(zone or UTC))
                next_start = None if found is None else found.astimezone(UTC)
        elif code in ("not_started", "out_of_office", "holiday", "off_hours"):
            for ahead in range(LOOKAHEAD_DAYS + 1):
                day = today + timedelta(days=ahead)
                if off_day(day) or (shift is not None and day.weekday() not in work_days):
                    continue
                begin = datetime.combine(day, time(0, 0) if shift is None else time(shift[0] // 60, shift[0] % 60),
                                         tzinfo=zone or UTC)
                if begin > local:
                    next_start = begin.astimezone(UTC)
                    break
        out.append({"code": code, "reason": reason, "local_date": today, "local_time": f"{local:%H:%M}",
                    "next_start": None if next_start is None else next_start.replace(tzinfo=None)})
    return pd.DataFrame(out, index=rows.index, columns=["code", "reason", "local_date", "local_time", "next_start"])
