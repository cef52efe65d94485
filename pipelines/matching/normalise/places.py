"""Where a record is: ISO countries (the resolver unify shares) and subdivisions (``pycountry``), postal codes, cities."""

from __future__ import annotations

import functools

import pandas as pd
import pycountry

from pipelines.matching.normalise.common import per_distinct, words
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


def state_code(countries: pd.Series, states: pd.Series) -> pd.Series:
    """Subdivision code (``CA`` for California) given each row's ISO country; None when unknown."""
    states = pd.Series(states)
    frame = pd.DataFrame({"c": pd.Series(countries).values, "s": states.values})
    pairs = frame.dropna().drop_duplicates()
    pairs["code"] = [
        _subdivisions(c).get(str(s).strip().lower().rstrip(".")) for c, s in pairs.itertuples(index=False)
    ]
    out = frame.merge(pairs, on=["c", "s"], how="left")["code"]
    return pd.Series(out.values, index=states.index, dtype=object).where(out.notna().values, None)


def postal_code(values: pd.Series, countries: pd.Series | None = None) -> pd.Series:
    """Postal codes in one form: upper case, no spaces or dashes; US ZIP+4 cut to the five-digit
    ZIP, and a US ZIP that lost its leading zero in a spreadsheet (``2134``) padded back."""
    values = pd.Series(values)
    text = values.astype("string").str.upper().str.replace(r"[^0-9A-Z]", "", regex=True)
    if countries is not None:
        us = pd.Series(countries, index=values.index).fillna("").astype(str).str.upper().isin(["US", ""])
        digits = text.str.fullmatch(r"\d{3,9}").fillna(False)
        zip5 = text.where(~(us & digits), text.str.zfill(5).str[:5].where(text.str.len() <= 5, text.str[:5]))
        text = zip5
    return text.astype(object).where(text.notna() & (text != ""), None)


# Words of a city name written two ways ("Saint Paul" / "St. Paul", "West Hollywood" / "W. Hollywood").
_CITY_WORDS = {"saint": "st", "sainte": "ste", "mount": "mt", "fort": "ft",
               "north": "n", "south": "s", "east": "e", "west": "w"}


def _city(value: str) -> str | None:
    return " ".join(_CITY_WORDS.get(w, w) for w in words(value).split()) or None


city = per_distinct(_city)
city.__doc__ = "City names in one form: case, accents and punctuation removed, 'Saint' -> 'st', 'West' -> 'w'."


@functools.cache
def _us_places() -> tuple[dict[str, str], dict[str, frozenset[str]]]:
    """From ``zipcodes``' table of US ZIP codes: each ZIP's state, and each post-office city name's
    states (its primary names only: the neighbourhoods a ZIP also accepts, as New York's "Chinatown",
    are named in other cities too). Built on first use (half a second), not at import."""
    import zipcodes

    table = pd.DataFrame([(z["zip_code"], z["city"], z["state"]) for z in zipcodes.list_all()],
                         columns=["zip_code", "city", "state"])
    by_zip = dict(zip(table["zip_code"], table["state"]))
    table["key"] = city(table["city"])
    states: dict[str, set[str]] = {}
    for key, state in table[["key", "state"]].dropna().drop_duplicates().itertuples(index=False):
        states.setdefault(key, set()).add(state)
    return by_zip, {key: frozenset(found) for key, found in states.items()}


def us_states(states: pd.Series, postal_codes: pd.Series, cities: pd.Series) -> pd.Series:
    """The US states each record can be in, as a frozenset: its state (a code, from :func:`state_code`),
    else its ZIP code's, else every state with a post office of its city's name ("Atlanta" is in eleven);
    None when none is known. For records in the US only: the caller picks them."""
    states, postal_codes, cities = (pd.Series(v).reset_index(drop=True) for v in (states, postal_codes, cities))
    out = pd.Series(None, index=states.index, dtype=object)
    given = states.notna()
    out[given] = [frozenset([s]) for s in states[given]]
    if (given | (postal_codes.isna() & cities.isna())).all():
        return out.astype(object).where(out.notna(), None)  # nothing to look up: the ZIP table is not loaded
    by_zip, by_city = _us_places()
    zipped = ~given & postal_codes.notna()
    if zipped.any():
        found = postal_codes[zipped].map(by_zip)
        out[found[found.notna()].index] = [frozenset([s]) for s in found.dropna()]
    rest = out.isna() & cities.notna()
    if rest.any():
        out[rest] = cities[rest].map(by_city).to_numpy()
    return out.astype(object).where(out.notna(), None)
