"""Geography from offline reference data: ZIP codes, countries' regions and continents, sales regions.

- ``zipcodes`` (US ZIP -> state, county, time zone, latitude/longitude);
- ``countryinfo`` (country -> UN region and subregion, from which the continent);
- ``pycountry`` (via :mod:`pipelines.matching.normalise`) for ISO codes.

Every lookup is a join against a reference table loaded once per process, never a
call per row. The ZIP table is kept in the warehouse (:data:`ZIPS`, see
:mod:`pipelines.warehouse.reference`): enrich primes it, so a small batch does not rebuild it.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from pipelines.warehouse.reference import Reference

# US territories that ZIP codes cover and ISO lists as countries of their own.
US_TERRITORIES = ("PR", "VI", "GU", "AS", "MP")


def zip_table() -> pd.DataFrame:
    """Every US ZIP code: zip5, zip_state, county, time_zone, latitude, longitude, and zip_city (its post
    office's name, which matching reads: :func:`pipelines.matching.normalise.us_state`)."""
    return ZIPS.frame()


def _build_zip_table() -> pd.DataFrame:
    import zipcodes

    rows = [(z["zip_code"], z["state"], z["county"] or None, z["timezone"] or None,
             float(z["lat"]) if z["lat"] else None, float(z["long"]) if z["long"] else None, z["city"] or None)
            for z in zipcodes.list_all()]
    df = pd.DataFrame(rows, columns=["zip5", "zip_state", "county", "time_zone", "latitude", "longitude", "zip_city"])
    return df.drop_duplicates("zip5")


ZIPS = Reference("us_zip", _build_zip_table, __name__, ("zipcodes",))


@functools.cache
def country_facts() -> pd.DataFrame:
    """Per ISO alpha-2 country: UN region, subregion and continent (Americas split north/south)."""
    from countryinfo import CountryInfo

    rows = []
    for info in CountryInfo.all().values():
        code = (info.get("ISO") or {}).get("alpha2")
        if not code:
            continue
        region = info.get("region") or None
        subregion = info.get("subregion") or None
        inter = info.get("intermediateregion") or ""
        continent = region
        if region == "Americas":
            continent = "South America" if inter == "South America" else "North America"
        rows.append((code.upper(), region, subregion, continent))
    return pd.DataFrame(rows, columns=["country_code", "region", "subregion", "continent"]).drop_duplicates("country_code")


@functools.cache
def region_vocabulary() -> frozenset[str]:
    """Names a sales region may be built from: ISO codes, continents, UN regions and subregions."""
    facts = country_facts()
    names = set(facts["country_code"])
    for col in ("region", "subregion", "continent"):
        names |= set(facts[col].dropna())
    return frozenset(names)


def country_geography(country_codes: pd.Series, regions: dict[str, list[str]]) -> pd.DataFrame:
    """region, subregion, continent and sales_region for each row's ISO country code."""
    facts = country_facts().copy()
    facts["sales_region"] = None
    for name, items in reversed(list(regions.items())):  # reversed: the first listed region wins
        items = set(items)
        hit = (facts["country_code"].isin(items) | facts["region"].isin(items) | facts["subregion"].isin(items)
               | facts["continent"].isin(items))
        facts.loc[hit, "sales_region"] = name
    out = pd.DataFrame({"country_code": pd.Series(country_codes).values}).merge(facts, on="country_code", how="left")
    return out[["region", "subregion", "continent", "sales_region"]].set_axis(pd.Series(country_codes).index)


def us_zip5(country_codes: pd.Series, postal_codes: pd.Series) -> pd.Series:
    """The 5-digit ZIP of US (and US territory) postal codes, restoring a leading zero a spreadsheet ate.

    A postal code of a lead without a country counts when it looks like a ZIP (5 digits, or ZIP+4).
    """
    postal = pd.Series(postal_codes).astype("string").str.strip()
    country = pd.Series(country_codes).astype("string")
    us = country.isin(["US", *US_TERRITORIES]).fillna(False)
    unknown = country.isna()
    m = postal.str.extract(r"^(\d{3,5})(?:[-\s]?\d{4})?$")[0]
    zip5 = m.str.zfill(5)
    keep = (us & m.notna()) | (unknown & postal.str.fullmatch(r"\d{5}(?:-\d{4})?").fillna(False))
    return zip5.where(keep, None).astype(object).where(lambda s: s.notna(), None)


def zip_facts(zip5: pd.Series) -> pd.DataFrame:
    """zip_state, county, time_zone, latitude, longitude per row's ZIP (NULL where unknown)."""
    out = pd.DataFrame({"zip5": pd.Series(zip5).values}).merge(zip_table(), on="zip5", how="left")
    return out.drop(columns=["zip5", "zip_city"]).set_axis(pd.Series(zip5).index)


def apply_puerto_rico(country: pd.Series, state: pd.Series, mode: str) -> tuple[pd.Series, pd.Series]:
    """Puerto Rico as a state of the US (``mode='state'``) or as a country of its own (``'country'``).

    CRMs hold it both ways ("Puerto Rico" as a country; "US" with state "PR"); routing
    needs one. The same holds for the other US territories ZIP codes cover.
    """
    country, state = country.copy(), state.copy()
    if mode == "state":
        territory = country.isin(US_TERRITORIES).fillna(False).to_numpy()
        state[territory] = country[territory]
        country[territory] = "US"
    else:
        territory = ((country == "US") & state.isin(US_TERRITORIES)).fillna(False).to_numpy()
        country[territory] = state[territory]
        state[territory] = None
    return country, state


def subdivision_code(country: pd.Series, state: pd.Series) -> pd.Series:
    """ISO 3166-2 code, e.g. ``US-CA``."""
    both = country.notna() & state.notna()
    return pd.Series(np.where(both, country.astype(str) + "-" + state.astype(str), None), index=country.index,
                     dtype=object)
