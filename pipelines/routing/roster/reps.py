"""The roster (``routing_rules/reps.csv``): who can be assigned leads, and when.

One row per CRM user ops route to:

| column | example | what |
|---|---|---|
| user_id, name, email | ``005000000000040AAA`` | the CRM user |
| role, team, manager_id | ``SDR``, ``SDR Inbound`` | pools select members by these |
| active | ``true`` | ``false`` takes the rep out of every pool |
| ooo_from, ooo_to | ``2026-11-16``, ``2026-11-30`` | out of office, both days included (empty ``ooo_to``: until further notice) |
| time_zone | ``America/New_York`` | working hours and "today" are in the rep's own time zone |
| working_hours | ``08:00-17:00`` | local; ``22:00-06:00`` crosses midnight; empty: any time |
| working_days | ``Mon-Fri`` | ``Mon-Fri``, ``Sun-Thu`` or ``Mon;Wed;Fri``; empty or missing column: Mon-Fri |
| daily_cap, weekly_cap | ``60``, ``250`` | the most pool leads the rep takes per local day / ISO week, all pools together |
| weight | ``1`` | share in weighted and load-balanced pools (``2`` = twice the leads, ``0`` = paused) |
| languages | ``en;de`` | for pools that prefer or require the lead's language |
| products | ``platform;analytics`` | free text for member filters |
| start_date | ``2026-11-02`` | no leads before it; ramping pools give a reduced share in the first weeks |
| holiday_calendar | ``US-CA`` | public holidays (country, optionally ``-`` subdivision) from the ``holidays`` package |

Parsed once per run into a DataFrame with typed columns and the line number of
each row (``_line``), so every problem points at the row to fix. Typed helper
columns start with an underscore (``_languages``, ``_shift``, ``_work_days``).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from pipelines.sourcefile import ConfigProblem, SourceRef, read_csv

REPS_FILE = "reps.csv"
REQUIRED_COLUMNS = ("user_id", "name", "email", "role", "team", "active")
DATE_COLUMNS = ("ooo_from", "ooo_to", "start_date")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_WORK_DAYS = (0, 1, 2, 3, 4)
MAX_ZONE_CHARS = 64  # the longest IANA name, America/Argentina/ComodRivadavia, has 32
_HOURS = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


def parse_hours(text: str) -> tuple[int, int] | None:
    """``"08:00-17:00"`` -> (480, 1020) minutes after local midnight; None when malformed."""
    m = _HOURS.match(text.strip())
    if not m:
        return None
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59:
        return None
    start, end = h1 * 60 + m1, h2 * 60 + m2
    return None if start == end or max(start, end) > 24 * 60 else (start, end)


def parse_days(text: str) -> tuple[int, ...] | None:
    """``"Mon-Fri"`` -> (0, 1, 2, 3, 4); ``"Sun-Thu"`` wraps; ``"Mon;Wed"``; None when malformed."""
    text = text.strip().lower()
    if not text:
        return DEFAULT_WORK_DAYS
    days: list[int] = []
    for part in re.split(r"[;,]", text):
        ends = [p.strip()[:3] for p in part.split("-")]
        if not all(e in DAYS for e in ends) or len(ends) > 2:
            return None
        a, b = DAYS.index(ends[0]), DAYS.index(ends[-1])
        days += [(a + i) % 7 for i in range((b - a) % 7 + 1)]
    return tuple(sorted(set(days)))


@functools.lru_cache(maxsize=1)
def _supported_countries() -> frozenset[str]:
    """Every country code ``holidays`` knows (aliases such as UK included), read from its registry
    without importing its 200 country modules (validate runs as a pre-commit hook, and every tick
    loads the roster): ``holidays.list_supported_countries()`` imports them all for their subdivisions."""
    from holidays.registry import EntityLoader

    return frozenset(EntityLoader.get_country_codes(include_aliases=True))


@functools.lru_cache(maxsize=None)
def _subdivisions(country: str) -> frozenset[str]:
    """The subdivisions of one known country (its module alone is imported)."""
    import holidays

    return frozenset(getattr(holidays, country).subdivisions)


def _calendar_problem(code: str) -> str | None:
    """Why a holiday calendar code (``US``, ``US-CA``, ``DE-BY``) is unknown, or None."""
    country, _, subdiv = code.upper().partition("-")
    if country not in _supported_countries():
        why = f"no country {country}"
    elif subdiv and subdiv not in _subdivisions(country):
        why = f"{country} has no subdivision {subdiv}"
    else:
        return None
    return (f"holiday_calendar {code!r} is unknown ({why}); use an ISO 3166 country code, "
            f"optionally with a subdivision, such as US, US-CA, DE-BY or SE")


def load_roster(path: Path, display: str) -> tuple[pd.DataFrame, list[ConfigProblem]]:
    """The roster as a DataFrame (typed columns, ``_line``), and its problems."""
    problems: list[ConfigProblem] = []
    records = read_csv(path, display)
    if not records:  # only a header: every pool would be empty, every rep-owned lead unroutable
        problems.append(ConfigProblem(SourceRef(display, 1), "no reps: the file has no row after its header; "
                                                             "add one row per rep the router assigns leads to"))
        return pd.DataFrame(columns=[*REQUIRED_COLUMNS, "_line"]), problems
    df = pd.DataFrame([r for _, r in records], dtype=object)
    df["_line"] = [line for line, _ in records]
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        problems.append(ConfigProblem(SourceRef(display, 1), f"missing column(s) {missing}"))
        return df, problems

    def bad(line, message: str) -> None:
        problems.append(ConfigProblem(SourceRef(display, int(line)), message))

    for line, row in records:
        if row["active"].lower() not in ("true", "false", "1", "0", "yes", "no"):
            bad(line, f"active must be true or false, got {row['active']!r}")
    df["active"] = df["active"].str.lower().isin(["true", "1", "yes"])
    for col in DATE_COLUMNS:
        if col in df.columns:
            parsed = pd.to_datetime(df[col].replace("", None), errors="coerce", format="%Y-%m-%d")
            wrong = df[col].astype(bool) & parsed.isna()
            for line, value in zip(df.loc[wrong, "_line"], df.loc[wrong, col]):
                bad(line, f"{col} must be a date YYYY-MM-DD, got {value!r}")
            df[col] = parsed
    if {"ooo_from", "ooo_to"} <= set(df.columns):
        backwards = df["ooo_to"] < df["ooo_from"]
        for line in df.loc[backwards, "_line"]:
            bad(line, "ooo_to is before ooo_from")
    for col in ("daily_cap", "weekly_cap"):
        text = df[col].fillna("") if col in df.columns else pd.Series("", index=df.index)
        parsed = pd.to_numeric(text.replace("", None), errors="coerce")
        wrong = text.astype(bool) & (parsed.isna() | (parsed < 0) | (parsed % 1 != 0))
        for line, value in zip(df.loc[wrong, "_line"], text[wrong]):
            bad(line, f"{col} must be a whole number of leads (or empty for no cap), got {value!r}")
        df[col] = parsed.where(~wrong).astype("Int64")
    text = df["weight"].fillna("") if "weight" in df.columns else pd.Series("", index=df.index)
    weight = pd.to_numeric(text.replace("", "1"), errors="coerce")
    for line, value in zip(df.loc[weight.isna() | (weight < 0), "_line"], text[weight.isna() | (weight < 0)]):
        bad(line, f"weight must be a number >= 0 (0 pauses the rep), got {value!r}")
    df["weight"] = weight.where(weight >= 0, 1.0).astype(float)

    langs = df["languages"].fillna("") if "languages" in df.columns else pd.Series("", index=df.index)
    df["_languages"] = [frozenset(x.strip().lower() for x in s.split(";") if x.strip()) for s in langs]

    zones, shifts, days = [], [], []
    for line, row in zip(df["_line"], df.to_dict("records")):
        tz = str(row.get("time_zone") or "").strip()
        try:
            if len(tz) > MAX_ZONE_CHARS:  # no zone name is this long; the file system would refuse it
                raise ValueError(tz)
            zones.append(ZoneInfo(tz or "UTC"))
        except (ZoneInfoNotFoundError, ValueError, OSError):
            shown = tz if len(tz) <= 60 else f"{tz[:40]}... ({len(tz)} characters)"
            bad(line, f"time_zone {shown!r} is not an IANA time zone (e.g. America/New_York, Europe/Berlin)")
            zones.append(ZoneInfo("UTC"))
        hours = str(row.get("working_hours") or "").strip()
        shift = parse_hours(hours) if hours else None
        if hours and shift is None:
            bad(line, f"working_hours must look like 08:00-17:00 (local time), got {hours!r}")
        elif hours and not tz:
            bad(line, "working_hours need a time_zone")
        shifts.append(shift)
        work_days = parse_days(str(row.get("working_days") or ""))
        if work_days is None:
            bad(line, f"working_days must look like Mon-Fri or Mon;Wed;Fri, got {row.get('working_days')!r}")
        days.append(work_days or DEFAULT_WORK_DAYS)
        calendar = str(row.get("holiday_calendar") or "").strip()
        if calendar:
            why = _calendar_problem(calendar)
            if why:
                bad(line, why)
    df["_zone"], df["_shift"], df["_work_days"] = zones, shifts, days
    if "holiday_calendar" not in df.columns:
        df["holiday_calendar"] = ""
    df["holiday_calendar"] = df["holiday_calendar"].fillna("").str.strip().str.upper()

    dupes = df[df["user_id"].duplicated(keep=False)]
    for line, uid in zip(dupes["_line"], dupes["user_id"]):
        bad(line, f"user_id {uid} appears more than once")
    return df, problems


def check_against_crm(roster: pd.DataFrame, crm_users: pd.DataFrame, display: str) -> list[ConfigProblem]:
    """Reps missing from the CRM, or active in the roster but inactive in the CRM."""
    problems = []
    crm = crm_users.set_index("user_id")
    for line, uid, name, active in roster[["_line", "user_id", "name", "active"]].itertuples(index=False):
        if uid not in crm.index:
            problems.append(ConfigProblem(SourceRef(display, int(line)), f"{name} ({uid}) is not a user in the CRM"))
        elif active and not bool(crm.loc[uid, "is_active"]):
            problems.append(ConfigProblem(SourceRef(display, int(line)),
                                          f"{name} ({uid}) is active in reps.csv but inactive in the CRM; "
                                          f"set active to false or reactivate the user"))
    return problems
