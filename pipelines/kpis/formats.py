"""Numbers and times for people: integers with separators, percentages, local time with its zone, "—" for unknown.

One place, so the terminal report, the HTML page and the tick summary agree.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

UNKNOWN = "—"


def is_unknown(value) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def number(value, decimals: int = 1) -> str:
    """3000 -> "3,000"; 311.0 -> "311"; 2.345 -> "2.3"; None -> "—"."""
    if is_unknown(value):
        return UNKNOWN
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    v = float(value)
    return f"{v:,.0f}" if v.is_integer() else f"{v:,.{decimals}f}"


def pct(value) -> str:
    return UNKNOWN if is_unknown(value) else f"{number(value)}%"


def minutes(value) -> str:
    """Minutes as "42 min", "3.5 h" or "2.1 days"."""
    if is_unknown(value):
        return UNKNOWN
    v = float(value)
    if v < 120:
        return f"{number(v)} min"
    if v < 48 * 60:
        return f"{number(v / 60)} h"
    return f"{number(v / 1440)} days"


def when(value, tz=None) -> str:
    """A naive UTC timestamp as local time with its zone ("2026-11-20 16:00 CET"), to the minute."""
    if is_unknown(value):
        return UNKNOWN
    ts = pd.Timestamp(value).to_pydatetime()
    ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts
    local = ts.astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def local_zone() -> str:
    return datetime.now(UTC).astimezone().tzname() or "UTC"


def cell(column: str, value) -> str:
    """One table cell, formatted by what the column holds (its name says: *_pct, *_at, minutes_*)."""
    if is_unknown(value):
        return UNKNOWN
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (pd.Timestamp, datetime, np.datetime64)):
        return when(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        if column.endswith("_pct") or column.endswith("pct"):
            return pct(value)
        if column.startswith("minutes") or column.endswith("_minutes"):
            return minutes(value)
        return number(value)
    return str(value)


def frame(df: pd.DataFrame) -> pd.DataFrame:
    """Every cell of ``df`` formatted for people (text), column names as words."""
    out = pd.DataFrame({str(c).replace("_", " "): [cell(str(c), v) for v in df[c]] for c in df.columns})
    return out
