"""Where a record is: ISO countries and subdivisions (``pycountry``), postal codes, cities."""

from __future__ import annotations

import functools
import gettext
import os

import pandas as pd
import pycountry

from pipelines.matching.normalise.common import ascii_lower, per_distinct, words

# Names a country goes by that ISO does not list as one of its names.
_COUNTRY_ALIASES = {"uk": "GB", "england": "GB", "scotland": "GB", "wales": "GB", "northern ireland": "GB", "britain": "GB",
                    "great britain": "GB", "holland": "NL", "korea": "KR", "south korea": "KR"}


@functools.lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    """Country names in every language pycountry ships translations for ("Deutschland", "España",
    "Brasil", "Sverige"...), accent-folded and lower case -> alpha-2 code."""
    names: dict[str, str] = dict(_COUNTRY_ALIASES)
    english = [(c.alpha_2, [c.name, getattr(c, "common_name", None), getattr(c, "official_name", None)])
               for c in pycountry.countries]
    for locale in sorted(os.listdir(pycountry.LOCALES_DIR)):
        try:
            tr = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[locale])
        except OSError:
            continue
        for code, forms in english:
            for form in filter(None, forms):
                local = ascii_lower(tr.gettext(form))
                names.setdefault(local, code)
    return names


@functools.lru_cache(maxsize=4096)
def _country(value: str) -> str | None:
    text = str(value).strip()
    if not text:
        return None
    for candidate in (text, text.replace(".", "").replace(" ", "")):
        try:
            return pycountry.countries.lookup(candidate).alpha_2
        except LookupError:
            pass
    return _country_names().get(ascii_lower(text).replace(".", ""))


country_code = per_distinct(_country)
country_code.__doc__ = "ISO 3166-1 alpha-2 code from a country name (in English or a local language) or code; None when unknown."


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


# Words of a city name written two ways ("Saint Paul" / "St. Paul").
_CITY_WORDS = {"saint": "st", "sainte": "ste", "mount": "mt", "fort": "ft"}


def _city(value: str) -> str | None:
    return " ".join(_CITY_WORDS.get(w, w) for w in words(value).split()) or None


city = per_distinct(_city)
city.__doc__ = "City names in one form: case, accents and punctuation removed, 'Saint' -> 'st'."
