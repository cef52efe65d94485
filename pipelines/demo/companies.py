"""Real-world companies: who they are (profiles) and how they are grouped (families).

A *company* is one real organisation: a name, a web domain, a headquarters, a phone
number, an industry and a size. Companies form families: a parent with subsidiaries
in other countries (several levels deep), each subsidiary either named after the
parent ("Acme Japan K.K.", domain acme.co.jp) or an acquired brand with its own name.

The CRM then holds *accounts* for companies (see ``accounts.py``): one primary
account each, sometimes duplicates, sometimes business-unit accounts. Leads are
drawn from the same profiles (``leads.py``), so every lead of a company in the CRM
carries evidence that points at it.

Everything here works on whole columns at once; the only loops run over small
sets (countries, flavours, levels), never over rows.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines.demo import names as nm
from pipelines.demo import text as tx
from pipelines.demo import vocabulary as voc

PROFILE_COLUMNS = [
    "company_id", "parent_company_id", "has_account", "name", "core", "suffix", "key", "domain", "acronym", "country",
    "region", "state", "state_name", "city", "postal", "street", "phone_cc", "phone_area", "phone_sub", "lang", "people",
    "industry", "employees", "revenue", "is_public", "lat", "long", "team",
]
_CODES = np.array(list(voc.COUNTRIES), dtype=object)
_WEIGHTS = np.array([c["weight"] for c in voc.COUNTRIES.values()], dtype=float)


def company_ids(start: int, count: int) -> np.ndarray:
    """Ground-truth company ids, 'C00000001' style (strings so empty stays empty in CSV)."""
    if count <= 0:
        return np.array([], dtype=object)
    return np.asarray(np.char.add("C", np.char.zfill(np.arange(start, start + count).astype(str), 8)), dtype=object)


def draw_countries(rng: np.random.Generator, n: int, avoid: list[np.ndarray] | None = None) -> np.ndarray:
    """Headquarters countries (US-heavy); a subsidiary avoids the countries of its ancestors."""
    out = tx.pick(rng, _CODES, n, _WEIGHTS)
    if avoid:
        non_us = np.where(_CODES == "US", 8.0, _WEIGHTS)  # subsidiaries: the US is one market among several
        for _ in range(20):
            clash = np.zeros(n, dtype=bool)
            for a in avoid:
                clash |= out == a
            if not clash.any():
                break
            out[clash] = tx.pick(rng, _CODES, int(clash.sum()), non_us)
    return out


def _country_attr(country: np.ndarray, attr: str) -> np.ndarray:
    table = {c: v[attr] for c, v in voc.COUNTRIES.items()}
    return pd.Series(country).map(table).to_numpy(dtype=object)


def _draw_from_table(rng: np.random.Generator, country: np.ndarray, table: dict) -> np.ndarray:
    """Per-country weighted draws from COUNTRIES[c][table] (tlds, suffixes)."""
    out = np.empty(len(country), dtype=object)
    for c in pd.unique(country):
        rows = np.flatnonzero(country == c)
        values, p = tx.weighted(voc.COUNTRIES[c][table])
        out[rows] = tx.pick(rng, values, len(rows), p)
    return out


def addresses(rng: np.random.Generator, country: np.ndarray, *, us_city: np.ndarray | None = None,
              us_state: np.ndarray | None = None) -> pd.DataFrame:
    """A headquarters address per row: real US ZIP/city/state (Bay Area and California weighted up), real foreign cities.

    ``us_city``/``us_state`` pin public-sector organisations to their own city.
    """
    n = len(country)
    out = pd.DataFrame({"state": "", "state_name": "", "city": "", "postal": "", "area": "", "lang": "en",
                        "lat": np.nan, "long": np.nan, "team": ""}, index=range(n))
    us = np.flatnonzero(country == "US")
    if len(us):
        zips, p, by_city, by_state = _zip_sampling()
        pick = rng.choice(len(zips), size=len(us), p=p)
        if us_city is not None:
            pinned = us[pd.notna(us_city[us]) & (us_state[us] != None)]  # noqa: E711 (object arrays)
            if len(pinned):
                keys = pd.MultiIndex.from_arrays([us_city[pinned], us_state[pinned]])
                found = by_city.reindex(keys).to_numpy()
                ok = ~np.isnan(found)
                where = np.searchsorted(us, pinned[ok])
                pick[where] = found[ok].astype(int)
            only_state = us[pd.isna(us_city[us]) & (us_state[us] != None)]  # noqa: E711
            if len(only_state):
                where = np.searchsorted(us, only_state)
                pick[where] = by_state.reindex(us_state[only_state]).to_numpy().astype(int)
        z = zips.iloc[pick]
        out.loc[us, "state"] = z["state"].to_numpy()
        out.loc[us, "state_name"] = z["state"].map(voc.US_STATE_NAMES).to_numpy()
        out.loc[us, "city"] = z["city"].to_numpy()
        out.loc[us, "postal"] = z["zip_code"].to_numpy()
        out.loc[us, "area"] = z["area"].to_numpy()
        out.loc[us, "lat"] = z["lat"].to_numpy()
        out.loc[us, "long"] = z["long"].to_numpy()
        out.loc[us, "team"] = z["team"].to_numpy()
    cities = voc.cities()
    for c in pd.unique(country[country != "US"]):
        rows = np.flatnonzero(country == c)
        table = cities[cities["country"] == c]
        pick = rng.choice(len(table), size=len(rows), p=(table["weight"] / table["weight"].sum()).to_numpy())
        t = table.iloc[pick]
        for col in ("state", "state_name", "city", "postal", "area", "lang"):
            out.loc[rows, col] = t[col].to_numpy()
        out.loc[rows, "team"] = voc.REGION_TEAM[voc.COUNTRIES[c]["region"]]
    out["street"] = streets(rng, country, out["lang"].to_numpy(dtype=object))
    return out


@functools.lru_cache(maxsize=1)
def _zip_sampling():
    """US ZIPs with sampling weights (rest of California ~10 %, Bay Area ~8 % of US companies) and lookups."""
    zips = voc.us_zip_table()
    w = np.ones(len(zips))
    ca, bay = (zips["state"] == "CA").to_numpy(), zips["bay_area"].to_numpy()
    w[ca & ~bay] *= 0.10 * len(zips) / max((ca & ~bay).sum(), 1)
    w[bay] *= 0.08 * len(zips) / max(bay.sum(), 1)
    w[~ca] *= 0.82 * len(zips) / max((~ca).sum(), 1)
    indexed = zips.reset_index()
    by_city = indexed.groupby(["city", "state"])["index"].first()
    by_state = indexed.groupby("state")["index"].first()
    return zips, w / w.sum(), by_city, by_state


def streets(rng: np.random.Generator, country: np.ndarray, lang: np.ndarray) -> np.ndarray:
    """Street lines in each country's own order: '500 Howard Street, Suite 300', 'Bahnhofstraße 12', '12 rue du Rhône'."""
    n = len(country)
    number = np.maximum(1, rng.lognormal(4.5, 1.4, n).astype(int) % 9000).astype(str).astype(object)
    us_name = tx.pick(rng, voc.US_STREET_NAMES, n)
    suffix = np.array([long for long, _ in voc.US_STREET_SUFFIXES], dtype=object)[rng.integers(0, len(voc.US_STREET_SUFFIXES), n)]
    suite = np.where(rng.random(n) < .3, tx.cat(", Suite ", rng.integers(100, 2000, n).astype(str)), "")
    us = tx.cat(number, " ", us_name, " ", suffix, suite)
    german = tx.cat(tx.pick(rng, voc.DE_STREETS, n), " ", rng.integers(1, 180, n).astype(str))
    french = tx.cat(rng.integers(1, 250, n).astype(str), " ", tx.pick(rng, voc.FR_STREETS, n))
    english = tx.cat(rng.integers(1, 400, n).astype(str), " ", tx.pick(rng, voc.EN_STREETS, n))
    other = np.full(n, "", dtype=object)
    for code, names in voc.LOCAL_STREETS.items():
        rows = np.flatnonzero(country == code)
        if code == "JP":
            other[rows] = tx.cat(rng.integers(1, 9, len(rows)).astype(str), "-", rng.integers(1, 20, len(rows)).astype(str), "-",
                                 rng.integers(1, 30, len(rows)).astype(str), " ", tx.pick(rng, names, len(rows)))
        else:
            other[rows] = tx.cat(tx.pick(rng, names, len(rows)), " ", rng.integers(1, 300, len(rows)).astype(str))
    de = np.isin(country, ["DE"]) | ((country == "CH") & (lang == "de"))
    fr = np.isin(country, ["FR"]) | ((country == "CH") & (lang == "fr")) | ((country == "CA") & (lang == "fr"))
    en = np.isin(country, ["GB", "IE", "AU", "IN", "SG", "ZA", "IL", "AE", "CA"]) & ~fr
    return np.select([country == "US", de, fr, en], [us, german, french, english], other).astype(object)


def subscriber_numbers(rng: np.random.Generator, cc: np.ndarray, area: np.ndarray) -> np.ndarray:
    """Subscriber part of a phone number, long enough for the country's national number length."""
    total = pd.Series(cc).map(voc.NATIONAL_LENGTH).fillna(9).to_numpy(dtype=int)
    length = np.maximum(total - tx.s(area).str.len().to_numpy(), 4)
    return tx.digits(rng, len(cc), length, first_min=2)


def employees_and_revenue(rng: np.random.Generator, n: int, scale: np.ndarray | float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Company sizes: a long tail (median ~120 staff) and revenue per employee around $200k."""
    employees = np.clip(rng.lognormal(np.log(120), 1.7, n) * scale, 1, 350_000).astype(int)
    revenue = np.round(employees * rng.lognormal(np.log(200_000), 0.6, n), -3)
    return employees, revenue


def domains(rng: np.random.Generator, core: np.ndarray, key: np.ndarray, acronym: np.ndarray, tld: np.ndarray) -> np.ndarray:
    """Web domains: name key + country TLD; sometimes hyphenated; acronym companies often use the acronym (ibm.com)."""
    n = len(core)
    hyphen = rng.random(n) < .12
    base = np.asarray(key, dtype=object).copy()
    if hyphen.any():
        base[hyphen] = tx.slug(core[hyphen], sep="-")
    use_acronym = (tx.s(acronym) != "").to_numpy() & (rng.random(n) < .35)
    base[use_acronym] = tx.lower(acronym[use_acronym])
    return tx.cat(base, ".", tld)


def build_profiles(rng: np.random.Generator, pools: nm.NamePools, country: np.ndarray, *, public: np.ndarray,
                   has_account: int = 1) -> pd.DataFrame:
    """Profiles for independent companies (no parent) in the given countries."""
    n = len(country)
    country = np.asarray(country, dtype=object)
    flavor = _country_attr(country, "flavor")
    local = _country_attr(country, "local").astype(float)
    flavor = np.where(rng.random(n) < local, flavor, "en")
    names = pools.take(flavor)
    df = pd.DataFrame({"core": names["core"].to_numpy(), "key": names["key"].to_numpy(),
                       "industry": names["industry"].to_numpy(), "acronym": names["acronym"].fillna("").to_numpy()})
    df["domain"] = domains(rng, df["core"].to_numpy(dtype=object), df["key"].to_numpy(dtype=object),
                           df["acronym"].to_numpy(dtype=object), _draw_from_table(rng, country, "tlds"))
    df["suffix"] = _draw_from_table(rng, country, "suffixes")
    df["country"] = country
    df["is_public"] = 0
    us_city = us_state = None
    pub = np.flatnonzero(public)
    if len(pub):
        got = pools.take_public(len(pub))
        if len(got) < len(pub):  # more public sector than the pool holds: the rest stay commercial
            pub = pub[: len(got)]
        for col in ("core", "key", "industry", "acronym", "domain"):
            df.loc[pub, col] = got[col].fillna("").to_numpy()
        df.loc[pub, "suffix"] = ""
        df.loc[pub, "is_public"] = 1
        us_city = np.full(n, None, dtype=object)
        us_state = np.full(n, None, dtype=object)
        us_city[pub] = got["city"].to_numpy(dtype=object)
        us_state[pub] = got["state"].to_numpy(dtype=object)
    return _finish(rng, df, has_account=has_account, us_city=us_city, us_state=us_state)


def _finish(rng, df: pd.DataFrame, *, has_account: int, us_city=None, us_state=None, size_scale=1.0) -> pd.DataFrame:
    """Add address, phone, size, language and team to profiles that have a name, domain and country."""
    n = len(df)
    country = df["country"].to_numpy(dtype=object)
    addr = addresses(rng, country, us_city=us_city, us_state=us_state)
    for col in ("state", "state_name", "city", "postal", "street", "lat", "long", "team"):
        df[col] = addr[col].to_numpy()
    df["lang"] = np.where(country == "US", "en", addr["lang"].to_numpy(dtype=object))
    people = pd.Series(country).map(voc.COUNTRY_PEOPLE).to_numpy(dtype=object)
    df["people"] = np.where((df["lang"] == "fr") & np.isin(country, ["CH", "CA"]), "fr", people)
    df["region"] = _country_attr(country, "region")
    df.loc[df["is_public"] == 1, "team"] = "AE Public Sector"
    df["phone_cc"] = _country_attr(country, "cc")
    df["phone_area"] = addr["area"].to_numpy(dtype=object)
    df["phone_sub"] = subscriber_numbers(rng, df["phone_cc"].to_numpy(dtype=object), df["phone_area"].to_numpy(dtype=object))
    employees, revenue = employees_and_revenue(rng, n, np.where(df["is_public"] == 1, 8.0, size_scale))
    df["employees"], df["revenue"] = employees, revenue
    df["name"] = nm.join_name(df["core"], df["suffix"])
    df["has_account"] = has_account
    df["parent_company_id"] = ""
    df["company_id"] = ""
    return df


def build_subsidiaries(rng: np.random.Generator, pools: nm.NamePools, parents: pd.DataFrame, avoid: list[np.ndarray]) -> pd.DataFrame:
    """One subsidiary per row of ``parents`` (which may repeat), in a country none of its ancestors is in.

    Half are named after the parent with the country ("Acme Japan K.K."), a quarter keep the
    parent's name with the local legal form ("Acme GmbH"); both use the parent's name on the
    country's domain (acme.co.jp, acme.de). The last quarter are acquired brands with a
    name and domain of their own.
    """
    n = len(parents)
    country = draw_countries(rng, n, avoid=avoid)
    mode = rng.choice(3, size=n, p=[.5, .25, .25])
    # a second subsidiary of the same parent in the same country becomes a brand
    dup = pd.DataFrame({"p": parents["company_id"].to_numpy(), "c": country}).duplicated().to_numpy()
    mode[dup] = 2
    brand = build_profiles(rng, pools, country, public=np.zeros(n, dtype=bool))
    df = brand.copy()
    named = mode < 2
    pcore = parents["core"].to_numpy(dtype=object)
    pkey = parents["key"].to_numpy(dtype=object)
    sub_name = _country_attr(country, "sub_name")
    sub_tld = _country_attr(country, "sub_tld")
    core = np.where(mode == 0, tx.cat(pcore, " ", sub_name), pcore)
    parent_tld = tx.s(parents["domain"]).str.split(".", n=1).str[1].to_numpy(dtype=object)
    domain = np.where(sub_tld == parent_tld, tx.cat(pkey, tx.slug(sub_name), ".", sub_tld), tx.cat(pkey, ".", sub_tld))
    df.loc[named, "core"] = core[named]
    df.loc[named, "key"] = tx.name_key(core[named]) if named.any() else df.loc[named, "key"]
    df.loc[named, "domain"] = domain[named]
    df.loc[named, "acronym"] = ""
    df.loc[named, "industry"] = parents["industry"].to_numpy(dtype=object)[named]
    df["name"] = nm.join_name(df["core"], df["suffix"])
    df["employees"] = np.maximum(1, (df["employees"] * 0.5).astype(int))
    df["revenue"] = np.round(df["revenue"] * 0.5, -3)
    df["parent_company_id"] = parents["company_id"].to_numpy(dtype=object)
    df["sub_mode"] = mode
    return df


@dataclass
class FamilyPlan:
    """How many companies of each level a chunk holds and how many accounts each gets."""

    level1: pd.DataFrame  # n_dup, n_bu, n_sub, country, public
    level2_parent: np.ndarray  # index into level1
    level2: pd.DataFrame  # n_dup, n_sub
    level3_parent: np.ndarray  # index into level2
    level3: pd.DataFrame  # n_dup


def plan_families(rng: np.random.Generator, n_rows: int, federal_first: int = 0) -> FamilyPlan:
    """Company families whose accounts add up to exactly ``n_rows``.

    ~7.5 % of companies get duplicate accounts (acronym-named and federal ones more often,
    so every demo shows acronym pairs), ~3 % business units, ~4.5 % subsidiaries in other
    countries, a fifth of which have subsidiaries of their own. Families are taken while
    they fit and the remainder is filled with standalone companies.
    """
    m = n_rows
    country = draw_countries(rng, m)
    public = (country == "US") & (rng.random(m) < .06)
    if federal_first:
        public[:federal_first] = True
        country[:federal_first] = "US"
    r = rng.random((m, 6))
    n_dup = np.where(r[:, 0] < .075, 1 + (r[:, 1] < .3) + (r[:, 1] < .08), 0)
    n_dup[:federal_first] = np.maximum(n_dup[:federal_first], (r[:federal_first, 2] < .5).astype(int))
    n_bu = np.where(r[:, 3] < .03, 1 + (r[:, 4] < .3), 0)
    n_sub = np.where((r[:, 5] < .045) & ~public, 1 + rng.integers(0, 3, m), 0)
    parent2 = np.repeat(np.arange(m), n_sub)
    m2 = len(parent2)
    n_dup2 = (rng.random(m2) < .06).astype(int)
    n_sub2 = (rng.random(m2) < .2).astype(int)
    parent3 = np.repeat(np.arange(m2), n_sub2)
    n_dup3 = (rng.random(len(parent3)) < .04).astype(int)
    rows2 = 1 + n_dup2 + np.bincount(parent3, weights=1 + n_dup3, minlength=m2)
    rows1 = 1 + n_dup + n_bu + np.bincount(parent2, weights=rows2, minlength=m)
    cum = np.cumsum(rows1)
    k = int(np.searchsorted(cum, n_rows, side="right"))
    used = int(cum[k - 1]) if k else 0
    pad = n_rows - used
    keep = np.arange(m) < k
    # standalone fillers: reuse the next candidates' country/public draws, without families
    filler = np.arange(k, k + pad)
    level1 = pd.DataFrame({
        "n_dup": np.concatenate([n_dup[keep], np.zeros(pad, int)]),
        "n_bu": np.concatenate([n_bu[keep], np.zeros(pad, int)]),
        "country": np.concatenate([country[keep], country[filler % m]]),
        "public": np.concatenate([public[keep], public[filler % m]]),
    })
    keep2 = parent2 < k
    remap2 = np.cumsum(keep2) - 1
    keep3 = keep2[parent3] if len(parent3) else np.zeros(0, dtype=bool)
    return FamilyPlan(
        level1=level1,
        level2_parent=parent2[keep2],
        level2=pd.DataFrame({"n_dup": n_dup2[keep2]}),
        level3_parent=remap2[parent3[keep3]],
        level3=pd.DataFrame({"n_dup": n_dup3[keep3]}),
    )

