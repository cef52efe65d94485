"""A person's date of birth as matching compares it: ``YYYYMMDD``, whatever order it was written in.

Lists of people write dates every way: ISO ("1956-04-09"), FEBRL's digits ("19560409"), a form's
"04/09/1956" (month first in the United States, day first almost everywhere else) or words ("April
9, 1956"). Each is read once per distinct value; a date that is not one (a typo's thirteenth month)
keeps its digits, since a mistyped date is still compared digit by digit, and what forms put where
no one typed a date ("1900-01-01", "01/01/1970") is none, as is part of a date ("May 1980") or a year
of two digits ("21/03/56": which century?).
"""

from __future__ import annotations

import re

import pandas as pd
from dateutil import parser as date_parser

_ISO = re.compile(r"^(\d{4})[-/. ](\d{1,2})[-/. ](\d{1,2})(?:[ T].*)?$")
_SLASHED = re.compile(r"^(\d{1,2})[-/. ](\d{1,2})[-/. ](\d{4})$")
_DIGITS = re.compile(r"^\d{8}$")
# A date in words names its day, its month and its year in full ("April 9, 1956", "9th April 1956"); dateutil
# would fill what is missing from today ("May 1980" the 6th, "12" this month's twelfth).
_IN_WORDS = (re.compile(r"\b\d{4}\b"), re.compile(r"\b\d{1,2}(?:st|nd|rd|th)?\b"), re.compile(r"[A-Za-z]{3,}"))
# What a required date field gets when no one knows it: no one's birthday.
PLACEHOLDERS = frozenset({"19000101", "19700101", "00000000", "11111111", "19010101"})


def _plausible(year: int, month: int, day: int) -> bool:
    return 1890 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31  # a living person's


def _birthdate(value: str, month_first: bool) -> str | None:
    text = str(value).strip()
    if not text:
        return None
    if m := _ISO.match(text):
        year, month, day = int(m[1]), int(m[2]), int(m[3])
    elif _DIGITS.match(text):
        year, month, day = int(text[:4]), int(text[4:6]), int(text[6:])
        first, second, other_year = int(text[:2]), int(text[2:4]), int(text[4:])
        other_month, other_day = (first, second) if month_first else (second, first)
        if not _plausible(year, month, day) and _plausible(other_year, other_month, other_day):
            year, month, day = other_year, other_month, other_day  # day or month first: "18121956"
    elif m := _SLASHED.match(text):
        first, second, year = int(m[1]), int(m[2]), int(m[3])
        month, day = (first, second) if month_first else (second, first)
        if month > 12 >= day:  # written the other way: 25/12 is day first wherever it was typed
            month, day = day, month
    elif not all(part.search(text) for part in _IN_WORDS):
        return None  # part of a date ("May 1980", "1980"), a two-digit year ("21/03/56") or no date
    else:
        try:
            parsed = date_parser.parse(text, dayfirst=not month_first, fuzzy=False)
        except (ValueError, OverflowError):
            return None
        year, month, day = parsed.year, parsed.month, parsed.day
    out = f"{year:04d}{month:02d}{day:02d}"
    return None if out in PLACEHOLDERS or len(out) != 8 else out


def birthdate(values: pd.Series, countries: pd.Series | None = None) -> pd.Series:
    """Each date of birth as ``YYYYMMDD``, or None; ``countries`` (ISO codes) say which are written month
    first (the United States') where the order is not plain from the date itself."""
    values = pd.Series(values)
    if values.isna().all():
        return pd.Series([None] * len(values), index=values.index, dtype=object)
    month_first = (pd.Series(countries, index=values.index) == "US") if countries is not None else \
        pd.Series(False, index=values.index)
    frame = pd.DataFrame({"v": values, "us": month_first.fillna(False).astype(bool)})
    present = frame[frame["v"].notna()]
    distinct = present.drop_duplicates()
    found = {(v, us): _birthdate(v, us) for v, us in zip(distinct["v"], distinct["us"])}
    out = pd.Series([None] * len(values), index=values.index, dtype=object)
    out[present.index] = [found[v, us] for v, us in zip(present["v"], present["us"])]
    return out
