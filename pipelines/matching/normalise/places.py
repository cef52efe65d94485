"""Where a record is: ISO countries (the resolver unify shares) and subdivisions (``pycountry``), postal codes, cities."""

from __future__ import annotations

import functools

import pandas as pd
import pycountry

from pipelines.matching.normalise.common import WRITTEN_TWO_WAYS, per_distinct, words
from pipelines.unify.value_maps import country_codes

def country_code(values: pd.Series) -> pd.Series:
    """ISO 3166-1 alpha-2 code from a country name (in English or a local language) or code; None when unknown.

    The project's one country resolver, shared with unify (the reference its value maps apply):
    :func:`pipelines.unify.value_maps.country_codes`.
    """
    return country_codes(values)


@functools.lru_cache(maxsize=64)
def _subdivisions(country: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for sub in pycountry.subdivisions.get(country_code=country) or []:
        short = sub.code.split("-", 1)[1]
        out[short.lower()] = short
        out[sub.name.lower()] = short
    return out


def _subdivision(country: str, text: object) -> str | None:
    return _subdivisions(country).get(str(text).strip().lower().rstrip("."))


def us_state_code(text: str) -> str | None:
    """The US state or territory a name or code stands for ("CA", "California"); None for anything else."""
    return _subdivision("US", text)


def state_code(countries: pd.Series, states: pd.Series) -> pd.Series:
    """Subdivision code (``CA`` for California) given each row's ISO country; None when unknown."""
    states = pd.Series(states)
    frame = pd.DataFrame({"c": pd.Series(countries).values, "s": states.values})
    pairs = frame.dropna().drop_duplicates()
    pairs["code"] = [_subdivision(c, s) for c, s in pairs.itertuples(index=False)]
    out = frame.merge(pairs, on=["c", "s"], how="left")["code"]
    return pd.Series(out.values, index=states.index, dtype=object).where(out.notna().values, None)


def postal_code(values: pd.Series, countries: pd.Series | None = None) -> pd.Series:
    """Postal codes in one form: upper case, no spaces or dashes; US ZIP+4 cut to the five-digit
    ZIP, and a US ZIP that lost its leading zero in a spreadsheet (``2134``, ``2134-1204``) padded back."""
    values = pd.Series(values)
    raw = values.astype("string").str.upper()
    text = raw.str.replace(r"[^0-9A-Z]", "", regex=True)
    if countries is not None:
        us = pd.Series(countries, index=values.index).fillna("").astype(str).str.upper().isin(["US", ""])
        digits = text.str.fullmatch(r"\d{3,9}").fillna(False)
        length = text.str.len()
        # Eight digits run together are a ZIP+4 short of its zero; written apart, the ZIP is what stands before
        # the dash ("60639-204": a +4 short of a digit, not "06063").
        padded = text.str.zfill(5).where(length <= 5, text.str.zfill(9).where(length == 8, text)).str[:5]
        before_dash = raw.str.extract(r"^\s*(\d{3,5})\s*-\s*\d{3,4}\s*$", expand=False).str.zfill(5)
        padded = before_dash.where(before_dash.notna(), padded)
        zip5 = text.where(~(us & digits), padded)
        text = zip5
    return text.astype(object).where(text.notna() & (text != ""), None)


# Words of a city name written two ways ("Saint Paul" / "St. Paul", "West Hollywood" / "W. Hollywood").
_CITY_WORDS = WRITTEN_TWO_WAYS | {"sainte": "ste", "north": "n", "south": "s", "east": "e", "west": "w"}


def _city(value: str) -> str | None:
    return " ".join(_CITY_WORDS.get(w, w) for w in words(value).split()) or None


city = per_distinct(_city)
city.__doc__ = "City names in one form: case, accents and punctuation removed, 'Saint' -> 'st', 'West' -> 'w'."


@functools.cache
def _us_post_offices() -> tuple[dict[str, str], frozenset[str]]:
    """From the US ZIP codes' reference table (``zipcodes``, kept in the warehouse by enrichment:
    :data:`pipelines.enrich.geo.ZIPS`): the state of each post-office name found in one state only
    ("Los Angeles"; not "Atlanta", in eleven, nor "Hollywood", a post office in four states and a
    neighbourhood of Los Angeles), and every post office's name. Post offices' own names only: the
    neighbourhoods a ZIP also accepts, as New York's "Chinatown", are named in other cities too.
    Worked out on first use: from the warehouse's copy where a stage primed it, else from zipcodes
    (about a second)."""
    from pipelines.enrich.geo import zip_table

    table = zip_table()
    pairs = pd.DataFrame({"key": city(table["zip_city"]).to_numpy(), "state": table["zip_state"].to_numpy()})
    pairs = pairs.dropna().drop_duplicates()
    single = pairs[~pairs["key"].duplicated(keep=False)]
    return dict(zip(single["key"], single["state"])), frozenset(pairs["key"])


def us_state(states: pd.Series, postal_codes: pd.Series, cities: pd.Series) -> pd.Series:
    """The US state each record is in: its state (a code, from :func:`state_code`), else its ZIP code's
    (enrichment's :func:`pipelines.enrich.geo.zip_facts`), else the one state with a post office of its
    city's name (normalised by :func:`city`; "New York City" by "New York"); None when none says. For
    records in the US only: the caller picks them."""
    from pipelines.enrich.geo import zip_facts

    states, postal_codes, cities = (pd.Series(v).reset_index(drop=True).astype(object) for v in
                                    (states, postal_codes, cities))
    out = states.where(states.notna(), None)
    if (out.notna() | (postal_codes.isna() & cities.isna())).all():
        return out  # nothing to look up: the ZIP table is not loaded
    by_city, post_offices = _us_post_offices()
    out = out.where(out.notna(), zip_facts(postal_codes)["zip_state"])
    out = out.where(out.notna(), cities.map(by_city))
    # "New York City" is no post office's name, "New York" is ("Kansas City" and "Bay City" are post
    # offices of their own, in several states: not read as "Kansas" or "Bay").
    bare = cities.str.removesuffix(" city")
    named = bare.where((bare != cities) & ~cities.isin(post_offices))
    out = out.where(out.notna(), named.map(by_city))
    return out.astype(object).where(out.notna(), None)
