"""How one fact gets typed many ways: countries, states, streets, phones, websites, industries, headcounts.

Accounts and leads share these renderers, so a duplicate account and a lead of the
same company disagree in the same realistic ways ("USA" vs "United States",
"Street" vs "St.", "(415) 555-0123" vs "+14155550123", "Hi-Tech" vs "Technology").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.demo import text as tx
from pipelines.demo import vocabulary as voc

_STREET_SHORT = {long: short for long, short in voc.US_STREET_SUFFIXES if long != short}
_STREET_SHORT.update({"Straße": "Str.", "straße": "str.", "Strasse": "Str.", "strasse": "str.", "Road": "Rd", "avenue": "av.",
                      "boulevard": "bd"})


def country_names(rng: np.random.Generator, country: np.ndarray, p_canonical: float) -> np.ndarray:
    """Country as typed: the canonical name with probability ``p_canonical``, else another spelling ('USA', 'Deutschland', 'CH')."""
    country = np.asarray(country, dtype=object)
    out = np.empty(len(country), dtype=object)
    canonical = rng.random(len(country)) < p_canonical
    for c in pd.unique(country):
        rows = np.flatnonzero(country == c)
        spellings = voc.COUNTRIES[c]["spellings"]
        out[rows] = np.where(canonical[rows], spellings[0], tx.pick(rng, spellings[1:], len(rows)))
    return out


def state_values(rng: np.random.Generator, country, state, state_name, p_code: float, p_name: float) -> np.ndarray:
    """State/province as typed: the code ('CA'), the name ('California') or a variant ('Calif.', 'ca').

    Countries without state codes in addresses keep the region name or nothing.
    """
    state, state_name = tx.s(state).to_numpy(dtype=object), tx.s(state_name).to_numpy(dtype=object)
    n = len(state)
    u = rng.random(n)
    out = np.where(u < p_code, state, np.where(u < p_code + p_name, state_name, state))
    variant = u >= p_code + p_name
    for code, spellings in voc.STATE_SPELLINGS.items():
        rows = np.flatnonzero(variant & (state == code))
        out[rows] = tx.pick(rng, spellings, len(rows))
    uses_codes = np.isin(np.asarray(country, dtype=object), ["US", "CA", "AU", "IN", "MX", "BR", "ZA", "NL", "CH", "IT", "ES", "DE"])
    out = np.where(uses_codes | (state == ""), out, np.where(rng.random(n) < .5, state_name, ""))
    return out.astype(object)


def abbreviate_street(values) -> np.ndarray:
    """'500 Howard Street' -> '500 Howard St.', 'Bahnhofstraße 12' -> 'Bahnhofstr. 12'."""
    series = tx.s(values)
    for long, short in _STREET_SHORT.items():
        if long.islower():
            series = series.str.replace(long, short, regex=False)
        else:
            series = series.str.replace(rf"\b{long}\b", short, regex=True)
    return np.asarray(series, dtype=object)


def street_variants(rng: np.random.Generator, street, p_abbrev: float, p_upper: float, p_missing: float) -> np.ndarray:
    street = tx.s(street).to_numpy(dtype=object)
    u = rng.random(len(street))
    out = street.copy()
    ab = u < p_abbrev
    out[ab] = abbreviate_street(street[ab])
    up = (u >= p_abbrev) & (u < p_abbrev + p_upper)
    out[up] = tx.upper(street[up])
    out[u >= 1 - p_missing] = ""
    return out


def city_variants(rng: np.random.Generator, city, p_folded: float, p_upper: float) -> np.ndarray:
    """'Zürich' -> 'Zurich' / 'Zuerich', 'Montréal' -> 'Montreal', sometimes all caps."""
    city = tx.s(city).to_numpy(dtype=object)
    u = rng.random(len(city))
    out = city.copy()
    fold = u < p_folded
    if fold.any():
        out[fold] = np.where(rng.random(int(fold.sum())) < .5, tx.ascii_fold(city[fold], german=True), tx.ascii_fold(city[fold]))
    up = (u >= p_folded) & (u < p_folded + p_upper)
    out[up] = tx.upper(city[up])
    return out


def phone_styles(rng: np.random.Generator, cc, n: int | None = None) -> np.ndarray:
    """A format per row: North Americans mostly write national formats, others international ones."""
    cc = tx.s(cc).to_numpy(dtype=object)
    n = len(cc)
    nanp = rng.choice(5, size=n, p=[.10, .15, .45, .22, .08])
    other = rng.choice(5, size=n, p=[.15, .45, .30, .05, .05])
    return np.where(cc == "1", nanp, other)


def extensions(rng: np.random.Generator, n: int, p: float) -> np.ndarray:
    kind = rng.integers(0, 3, n)
    number = rng.integers(10, 9999, n).astype(str)
    ext = np.select([kind == 0, kind == 1], [tx.cat(" x", number), tx.cat(" ext. ", number)], tx.cat(" #", number))
    return np.where(rng.random(n) < p, ext, "").astype(object)


def phones(rng: np.random.Generator, cc, area, sub, *, p_ext: float = 0.0, style=None) -> np.ndarray:
    style = phone_styles(rng, cc) if style is None else style
    return tx.format_phone(cc, area, sub, style, extensions(rng, len(tx.s(cc)), p_ext) if p_ext else None)


def websites(rng: np.random.Generator, domain, p: list[float]) -> np.ndarray:
    """Website in one of the styles of ``text.website`` (last style = missing) with probabilities ``p``."""
    domain = tx.s(domain).to_numpy(dtype=object)
    style = rng.choice(len(p), size=len(domain), p=np.asarray(p) / np.sum(p))
    return tx.website(domain, style)


def industry_variants(rng: np.random.Generator, industry) -> np.ndarray:
    """The custom-field spelling of an industry ('Technology' -> 'Hi-Tech', 'high tech', 'Computer Software')."""
    industry = tx.s(industry).to_numpy(dtype=object)
    out = industry.copy()
    for key in pd.unique(industry):
        if key not in voc.INDUSTRIES:
            continue
        rows = np.flatnonzero(industry == key)
        options = (key,) + voc.INDUSTRIES[key]["variants"]
        out[rows] = tx.pick(rng, options, len(rows))
    return out


def naics_codes(rng: np.random.Generator, industry) -> np.ndarray:
    table = voc.naics_by_industry()
    industry = tx.s(industry).to_numpy(dtype=object)
    out = np.full(len(industry), "", dtype=object)
    for key in pd.unique(industry):
        rows = np.flatnonzero(industry == key)
        if key in table:
            out[rows] = tx.pick(rng, table[key], len(rows))
    return out


def employee_text(rng: np.random.Generator, employees) -> np.ndarray:
    """Headcount as free text, the way a form field collects it: '1,200', '1200', '500-1000', '10,000+', '~250'."""
    e = np.asarray(employees, dtype=float)
    n = len(e)
    kind = rng.choice(5, size=n, p=[.3, .25, .3, .05, .1])
    as_int = np.maximum(1, e).astype(np.int64)
    plain = as_int.astype(str).astype(object)
    commas = np.asarray(pd.Series(as_int).map("{:,}".format), dtype=object)
    edges = np.array([1, 10, 50, 100, 200, 500, 1000, 5000, 10000, 50000])
    i = np.clip(np.searchsorted(edges, as_int, side="right") - 1, 0, len(edges) - 2)
    band = tx.cat(edges[i].astype(str), "-", edges[i + 1].astype(str))
    plus = tx.cat(np.asarray(pd.Series(edges[i]).map("{:,}".format), dtype=object), "+")
    approx = tx.cat("~", (np.round(as_int, -1).clip(min=10)).astype(str))
    return np.select([kind == 0, kind == 1, kind == 2, kind == 3], [commas, plain, band, plus], approx).astype(object)


def products(rng: np.random.Generator, n: int, max_items: int = 3) -> np.ndarray:
    """Semicolon multi-picklist of products, 1..max_items items, in catalogue order."""
    combos = []
    k = len(voc.PRODUCTS)
    for mask in range(1, 2 ** k):
        items = [voc.PRODUCTS[j] for j in range(k) if mask >> j & 1]
        if len(items) <= max_items:
            combos.append((";".join(items), 3.0 ** (max_items - len(items)) * (3 if "platform" in items else 1)))
    values, p = tx.weighted(combos)
    return tx.pick(rng, values, n, p)
