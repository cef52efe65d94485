"""Days off: public holidays of each rep's calendar, and the company's own (``routing_rules/holidays.csv``).

``holidays.csv`` (optional) adds company days off on top of each rep's public-holiday
calendar (``reps.csv`` ``holiday_calendar``)::

    date,applies_to,name
    2026-12-24,everyone,Company holiday
    2026-12-31,SDR Inbound,Team offsite

``applies_to`` is ``everyone``, a team or a user id. Pools skip members on a day off
(:mod:`.availability`) and SLA clocks stop (:mod:`.working_time`).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path

import pandas as pd

from pipelines.sourcefile import ConfigError, ConfigProblem, SourceRef, read_csv

HOLIDAYS_FILE = "holidays.csv"


def empty_days_off() -> pd.DataFrame:
    return pd.DataFrame({"date": pd.Series(dtype="datetime64[ns]"), "applies_to": pd.Series(dtype=object),
                         "name": pd.Series(dtype=object), "_line": pd.Series(dtype=int)})


def read_days_off(path: Path, display: str) -> tuple[pd.DataFrame, list[ConfigProblem]]:
    """The company days off of ``holidays.csv`` (none without the file), and the problems of its rows."""
    if not path.exists():
        return empty_days_off(), []
    try:
        records = read_csv(path, display)
    except ConfigError as exc:
        return empty_days_off(), list(exc.problems)
    problems = []
    rows = []
    for line, row in records:
        missing = [c for c in ("date", "applies_to") if not row.get(c)]
        if missing:
            problems.append(ConfigProblem(SourceRef(display, line), f"missing {', '.join(missing)} "
                                                                    f"(columns: date,applies_to,name)"))
            continue
        day = pd.to_datetime(row["date"], errors="coerce", format="%Y-%m-%d")
        if pd.isna(day):
            problems.append(ConfigProblem(SourceRef(display, line), f"date must be YYYY-MM-DD, got {row['date']!r}"))
            continue
        rows.append({"date": day, "applies_to": row["applies_to"], "name": row.get("name") or "company day off",
                     "_line": line})
    return (pd.DataFrame(rows) if rows else empty_days_off()), problems


@lru_cache(maxsize=256)
def public_holidays(calendar: str, year: int) -> dict[date, str]:
    import holidays  # the country modules load on first use: validate runs as a pre-commit hook

    country, _, subdiv = calendar.partition("-")
    try:
        return dict(holidays.country_holidays(country, subdiv=subdiv or None, years=year))
    except (NotImplementedError, KeyError):  # reported by `leadroute validate`; no holidays meanwhile
        return {}


def holiday_name(calendar: str, team: str, user_id: str, day: date, days_off: pd.DataFrame) -> str | None:
    """The name of the day off ``day`` is for this rep, or None on a normal day."""
    if len(days_off):
        hit = days_off[(days_off["date"].dt.date == day) & days_off["applies_to"].isin(["everyone", team, user_id])]
        if len(hit):
            return str(hit["name"].iloc[0])
    if calendar:
        name = public_holidays(calendar, day.year).get(day)
        if name:
            return f"{name}, {calendar}"
    return None
