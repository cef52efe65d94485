"""Company names: a pool of distinct names per language, and the variants people type.

Why a pool: the matching engine is held to F1 >= 0.98, so two different demo
companies must never share a name key (letters and digits of the core name);
otherwise no careful human could tell their leads apart either. Names are drawn
once, de-duplicated on that key across every language, and handed out in order.

Why variants here: duplicate accounts and leads both type the same company in
the ways real CRMs accumulate (legal suffix changed, "The", "&"/"and", case,
typos, abbreviations, acronyms, accents dropped), so one function serves both.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipelines.demo import text as tx
from pipelines.demo import vocabulary as voc

# Industries implied by the middle word of a long name ("Continental Freight Systems").
_MIDDLE_INDUSTRY = {
    "Business": "Technology", "Data": "Technology", "Freight": "Transportation", "Medical": "Healthcare", "Energy": "Energy",
    "Power": "Energy", "Steel": "Manufacturing", "Paper": "Manufacturing", "Chemical": "Manufacturing", "Electric": "Manufacturing",
    "Software": "Technology", "Information": "Technology", "Network": "Telecommunications", "Digital": "Technology",
    "Financial": "Finance", "Capital": "Finance", "Industrial": "Manufacturing", "Marine": "Transportation",
    "Aerospace": "Manufacturing", "Defense": "Manufacturing", "Retail": "Retail", "Food": "Food & Beverage", "Health": "Healthcare",
    "Research": "Biotechnology", "Security": "Technology", "Water": "Energy", "Transport": "Transportation",
    "Packaging": "Manufacturing", "Textile": "Manufacturing", "Logistics": "Transportation", "Media": "Media",
    "Semiconductor": "Technology", "Instrument": "Manufacturing", "Precision": "Manufacturing", "Engineering": "Construction",
    "Telecom": "Telecommunications", "Insurance": "Insurance", "Mining": "Energy", "Rail": "Transportation", "Auto": "Manufacturing",
}
PUBLIC_DEPARTMENTS = ("Information Technology", "Procurement", "Research Office", "Finance Office", "Public Works", "Facilities")


def _industry_draw(rng: np.random.Generator, size: int) -> np.ndarray:
    keys = [k for k, v in voc.INDUSTRIES.items() if v["weight"] > 0]
    weights = [voc.INDUSTRIES[k]["weight"] for k in keys]
    return tx.pick(rng, keys, size, weights)


def _industry_noun(rng: np.random.Generator, industry: np.ndarray) -> np.ndarray:
    out = np.empty(len(industry), dtype=object)
    for key in pd.unique(industry):
        mask = industry == key
        out[mask] = tx.pick(rng, voc.INDUSTRIES[key]["nouns"], int(mask.sum()))
    return out


class _Words:
    """A vocabulary drawn by index, so a word's slug and initial come from lookup tables, not string ops per row."""

    def __init__(self, words, p=None):
        self.words = np.asarray(words, dtype=object)
        self.slugs = tx.slug(self.words)
        self.initials = np.array([w[:1] for w in self.words], dtype=object)
        self.p = None if p is None else np.asarray(p, dtype=float) / np.sum(p)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.choice(len(self.words), size=n, p=self.p)


@functools.lru_cache(maxsize=1)
def _english_vocab() -> dict[str, _Words]:
    _, _, lasts, lp = voc.people("en")
    surnames = _Words(lasts, lp)
    middles = _Words(voc.LONG_NAME_MIDDLES)
    return {"hc": _Words(voc.COMPOUND_HEADS), "tc": _Words(voc.COMPOUND_TAILS), "sn": surnames, "sn2": surnames,
            "head": _Words(voc.LONG_NAME_HEADS), "mid": middles, "mid2": middles, "tail": _Words(voc.LONG_NAME_TAILS)}


def _english_candidates(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """n candidate English-flavoured names in six patterns (duplicates are removed by the caller).

    Each name is built from vocabulary words, and so is its key (from each word's slug)
    and its acronym (from each word's initial), which keeps a million names to a handful
    of array operations.
    """
    pattern = rng.choice(6, size=n, p=[.44, .16, .18, .10, .08, .04])
    industry = _industry_draw(rng, n)
    vocab = _english_vocab()
    idx = {name: v.draw(rng, n) for name, v in vocab.items()}
    w = {name: vocab[name].words[i] for name, i in idx.items()}
    k = {name: vocab[name].slugs[i] for name, i in idx.items()}
    ini = {name: vocab[name].initials[i] for name, i in idx.items()}
    noun = _industry_noun(rng, industry)
    k["noun"] = tx.slug(noun)
    compound = tx.cat(w["hc"], w["tc"])
    choices = [pattern == 0, pattern == 1, pattern == 2, pattern == 3, pattern == 4]
    core = np.select(choices, [tx.cat(compound, " ", noun), tx.cat(compound, " ", w["mid"], " ", w["tail"]),
                               tx.cat(w["sn"], " ", noun), tx.cat(w["sn"], " & ", w["sn2"]),
                               tx.cat(w["head"], " ", w["mid"], " ", w["tail"])],
                     tx.cat(w["head"], " ", w["mid"], " ", w["mid2"], " ", w["tail"])).astype(object)
    key = np.select(choices, [tx.cat(k["hc"], k["tc"], k["noun"]), tx.cat(k["hc"], k["tc"], k["mid"], k["tail"]),
                              tx.cat(k["sn"], k["noun"]), tx.cat(k["sn"], k["sn2"]), tx.cat(k["head"], k["mid"], k["tail"])],
                    tx.cat(k["head"], k["mid"], k["mid2"], k["tail"])).astype(object)
    middle_industry = pd.Series(w["mid"]).map(_MIDDLE_INDUSTRY).to_numpy(dtype=object)
    industry = np.where(np.isin(pattern, [1, 4, 5]), middle_industry, industry)
    industry = np.where(pattern == 3, "Consulting", industry)
    acronym = np.where(pattern == 4, tx.cat(ini["head"], ini["mid"], ini["tail"]),
                       np.where(pattern == 5, tx.cat(ini["head"], ini["mid"], ini["mid2"], ini["tail"]), ""))
    return pd.DataFrame({"core": core, "key": key, "industry": industry, "acronym": acronym})


def _local_candidates(rng: np.random.Generator, flavor: str, n: int) -> pd.DataFrame:
    """n candidate names in a country's language: 'Müller Logistik', 'Dubois Conseil', 'Yamada Electric'."""
    nouns = voc.LOCAL_NOUNS[flavor]
    idx = rng.integers(0, len(nouns), n)
    noun = np.array([w for w, _ in nouns], dtype=object)[idx]
    industry = np.array([i for _, i in nouns], dtype=object)[idx]
    _, _, lasts, lp = voc.people(flavor)
    surname = tx.pick(rng, lasts, n, lp)
    surname2 = tx.pick(rng, lasts, n, lp)
    compound = tx.cat(tx.pick(rng, voc.COMPOUND_HEADS, n), tx.pick(rng, voc.COMPOUND_TAILS, n))
    pattern = rng.choice(3, size=n, p=[.6, .2, .2])
    joiner = {"de": " & ", "fr": " & ", "it": " & ", "es": " y ", "pt": " & ", "nl": " & ", "sv": " & ", "ja": " "}[flavor]
    choices = [pattern == 0, pattern == 1]
    core = np.select(choices, [tx.cat(surname, " ", noun), tx.cat(compound, " ", noun)],
                     tx.cat(surname, joiner, surname2)).astype(object)
    sn, sn2, nn, cp = tx.slug(surname), tx.slug(surname2), tx.slug(noun), tx.slug(compound)
    key = np.select(choices, [tx.cat(sn, nn), tx.cat(cp, nn)], tx.cat(sn, sn2)).astype(object)
    industry = np.where(pattern == 2, "Consulting", industry)
    return pd.DataFrame({"core": core, "key": key, "industry": industry, "acronym": ""})


class KeySet:
    """The name keys already handed out, kept as a sorted array of 64-bit hashes.

    Membership is a vectorised binary search, so checking 100,000 candidates against a
    million taken keys costs milliseconds. (A Python set would need a loop per key or a
    list conversion per check.) A hash collision could only reject a fresh name: harmless.
    """

    def __init__(self, keys=()):
        self._hashes = np.sort(self._hash(keys))

    @staticmethod
    def _hash(keys) -> np.ndarray:
        keys = np.asarray(sorted(keys) if isinstance(keys, set) else keys, dtype=object)
        return pd.util.hash_array(keys) if len(keys) else np.zeros(0, dtype=np.uint64)

    def update(self, keys) -> None:
        self._hashes = np.sort(np.concatenate([self._hashes, self._hash(keys)]))

    def contains(self, keys) -> np.ndarray:
        h = self._hash(keys)
        pos = np.searchsorted(self._hashes, h)
        return (pos < len(self._hashes)) & (self._hashes[np.minimum(pos, max(len(self._hashes) - 1, 0))] == h) \
            if len(self._hashes) else np.zeros(len(h), dtype=bool)

    def __len__(self) -> int:
        return len(self._hashes)


def generate_names(rng: np.random.Generator, flavor: str, n: int, taken: KeySet | None = None) -> pd.DataFrame:
    """Up to n distinct names (core, key, industry, acronym) of one flavour, none of whose keys is in ``taken``.

    ``taken`` is updated in place with the keys handed out, so successive calls never repeat a name.
    """
    taken = KeySet() if taken is None else taken
    frames, have = [], 0
    for _ in range(6):
        want = int((n - have) * 1.6) + 64
        cand = _english_candidates(rng, want) if flavor == "en" else _local_candidates(rng, flavor, want)
        cand = cand[(cand["key"].str.len() >= 3).to_numpy() & ~taken.contains(cand["key"])].drop_duplicates("key")
        cand = cand.iloc[: n - have]
        frames.append(cand)
        taken.update(cand["key"])
        have += len(cand)
        if have >= n:
            break
    return pd.concat(frames, ignore_index=True)


def public_sector_names(rng: np.random.Generator) -> pd.DataFrame:
    """Public-sector organisations in a seed-dependent order that mixes kinds from the start.

    Federal agencies alternate with the others, and the others take turns by kind
    (university, city, college, county, school district, state), so even a small demo
    has .gov, .edu and .mil domains.
    """
    df = _public_sector_table()
    df = df.iloc[rng.permutation(len(df))]
    df = df.assign(_rank=df.groupby("template").cumcount()).sort_values(["_rank", "template"], kind="stable")
    df = df.drop(columns="_rank").reset_index(drop=True)
    federal = pd.DataFrame(voc.FEDERAL_AGENCIES, columns=["core", "acronym", "domain"])
    federal = federal.assign(industry="Government", state="DC", city="Washington", zip_code=None, template=-1,
                             key=tx.name_key(federal["core"]))
    federal = federal.iloc[rng.permutation(len(federal))].reset_index(drop=True)
    f, others = len(federal), np.arange(len(df))
    order = np.concatenate([np.arange(f) * 2, np.where(others < f, others * 2 + 1, others + f)])
    both = pd.concat([federal, df], ignore_index=True)
    return both.iloc[np.argsort(order, kind="stable")].drop(columns="template").reset_index(drop=True)


@functools.lru_cache(maxsize=1)
def _public_sector_table() -> pd.DataFrame:
    """Public-sector organisations in real US cities: cities, counties, universities, school districts, states.

    Domains follow real patterns (sanjoseca.gov, ca.gov, <city>usd.k12.ca.us, u<city>.edu). Each organisation
    has its own registrable domain (the DOT is wvdot.gov, not dot.wv.gov), so a matcher that reduces hosts
    to registrable domains cannot confuse two of them.
    """
    zips = voc.us_zip_table()
    places = zips.drop_duplicates(["city", "state"])[["city", "state", "county", "zip_code"]].reset_index(drop=True)
    city_slug = tx.slug(places["city"])
    st = places["state"].str.lower().to_numpy(dtype=object)
    county_slug = tx.slug(places["county"])
    # (name, name key, domain, industry): keys are built from the slugs, like the names themselves
    templates = [
        (tx.cat("University of ", places["city"]), tx.cat("universityof", city_slug), tx.cat("u", city_slug, ".edu"), "Education"),
        (tx.cat("City of ", places["city"]), tx.cat("cityof", city_slug), tx.cat(city_slug, st, ".gov"), "Government"),
        (tx.cat(places["city"], " Community College"), tx.cat(city_slug, "communitycollege"), tx.cat(city_slug, "cc.edu"),
         "Education"),
        (places["county"].to_numpy(dtype=object), county_slug, tx.cat(county_slug, st, ".gov"), "Government"),
        (tx.cat(places["city"], " Unified School District"), tx.cat(city_slug, "unifiedschooldistrict"),
         tx.cat(city_slug, "usd.k12.", st, ".us"), "Education"),
    ]
    frames = []
    for i, (core, key, domain, industry) in enumerate(templates):
        frames.append(pd.DataFrame({"core": core, "key": key, "domain": domain, "industry": industry, "acronym": "", "template": i,
                                    "state": places["state"], "city": places["city"], "zip_code": places["zip_code"]}))
    states = pd.DataFrame({"state": list(voc.US_STATE_NAMES)})
    states["city"] = None
    state_names = states["state"].map(voc.US_STATE_NAMES)
    for core, domain in ((tx.cat("State of ", state_names), tx.cat(tx.lower(states["state"]), ".gov")),
                         (tx.cat(state_names, " Department of Transportation"), tx.cat(tx.lower(states["state"]), "dot.gov"))):
        frames.append(pd.DataFrame({"core": core, "key": tx.name_key(core), "domain": domain, "industry": "Government",
                                    "acronym": "", "template": 5, "state": states["state"], "city": None, "zip_code": None}))
    df = pd.concat(frames, ignore_index=True)
    federal_keys = set(tx.name_key([core for core, _, _ in voc.FEDERAL_AGENCIES]))
    df = df.drop_duplicates("key").drop_duplicates("domain")
    return df[~df["key"].isin(federal_keys)].reset_index(drop=True)


@dataclass
class NamePools:
    """Distinct names handed out in order, per flavour; a flavour that runs dry falls back to English.

    English names are generated lazily in batches as chunks ask for them, so a million
    accounts never hold a million spare names in memory at once.
    """

    pools: dict[str, pd.DataFrame]
    public: pd.DataFrame
    cursor: dict[str, int] = field(default_factory=dict)
    rng: np.random.Generator | None = None
    taken: KeySet = field(default_factory=KeySet)
    acronyms: set = field(default_factory=set)
    batch: int = 50_000

    @classmethod
    def build(cls, rng: np.random.Generator, companies: int) -> "NamePools":
        """Pools for about ``companies`` companies (local flavours sized by country weights)."""
        public = public_sector_names(rng)
        taken = KeySet(public["key"].to_numpy(dtype=object))
        pools: dict[str, pd.DataFrame] = {}
        share = {f: 0.0 for f in voc.LOCAL_NOUNS}
        total_w = sum(c["weight"] for c in voc.COUNTRIES.values())
        for c in voc.COUNTRIES.values():
            if c["flavor"] != "en":
                share[c["flavor"]] += c["weight"] / total_w * c["local"]
        for flavor, frac in share.items():
            pools[flavor] = generate_names(rng, flavor, int(companies * frac * 1.3) + 40, taken)
        pools["en"] = pd.DataFrame(columns=["core", "key", "industry", "acronym"], dtype=object)
        return cls(pools=pools, public=public, cursor={}, rng=rng, taken=taken,
                   batch=int(np.clip(companies, 500, 200_000)))

    @classmethod
    def fixed(cls, names: pd.DataFrame) -> "NamePools":
        """A pool of exactly these English names (no public sector, no lazy generation)."""
        empty = names.iloc[:0].assign(domain="", city=None, state=None)
        return cls(pools={"en": names}, public=empty)

    def take(self, flavors: np.ndarray) -> pd.DataFrame:
        """One name per requested flavour, in order (aligned with ``flavors``)."""
        flavors = np.asarray(flavors, dtype=object)
        out = pd.DataFrame(index=range(len(flavors)), columns=["core", "key", "industry", "acronym"], dtype=object)
        short = np.zeros(len(flavors), dtype=bool)
        for flavor in sorted(pd.unique(flavors)):
            rows = np.flatnonzero(flavors == flavor)
            got = self._next(flavor, len(rows))
            out.iloc[rows[: len(got)]] = got[out.columns].to_numpy()
            short[rows[len(got):]] = True
        if short.any():
            rows = np.flatnonzero(short)
            got = self._next("en", len(rows))
            if len(got) < len(rows):
                raise RuntimeError("The demo name pool ran out of company names; this is a bug in the generator's sizing.")
            out.iloc[rows] = got[out.columns].to_numpy()
        return out

    def take_public(self, n: int) -> pd.DataFrame:
        return self._next("public", n)

    def _next(self, flavor: str, n: int) -> pd.DataFrame:
        if flavor == "en" and self.rng is not None:
            self._refill_english(n)
        pool = self.public if flavor == "public" else self.pools.get(flavor, self.pools["en"].iloc[:0])
        start = self.cursor.get(flavor, 0)
        got = pool.iloc[start:start + n]
        self.cursor[flavor] = start + len(got)
        return got.reset_index(drop=True)

    def _refill_english(self, n: int) -> None:
        pool, start = self.pools["en"], self.cursor.get("en", 0)
        available = len(pool) - start
        if available >= n:
            return
        new = generate_names(self.rng, "en", max(self.batch, n - available), self.taken)
        # An acronym is usable only if no other company has it: the first holder keeps it.
        acr = new["acronym"]
        usable = (acr != "") & ~acr.isin(self.acronyms) & ~acr.duplicated(keep=False) & ~self.taken.contains(acr.str.lower())
        self.acronyms.update(acr[acr != ""])
        new["acronym"] = acr.where(usable, "")
        self.pools["en"] = pd.concat([pool.iloc[start:], new], ignore_index=True)
        self.cursor["en"] = 0


# ---------------------------------------------------------------------------------------
# Variants
# ---------------------------------------------------------------------------------------
CANONICAL, CORE_ONLY, SUFFIX_VARIANT, COMMA, FOREIGN_SUFFIX, UPPER, LOWER, THE, AMPERSAND, NO_PUNCT, TYPO, ABBREVIATION, \
    ACRONYM, FOLDED = range(14)
HEAVY = (TYPO, ABBREVIATION, ACRONYM)


def join_name(core, suffix) -> np.ndarray:
    """'Acme' + 'Inc.' -> 'Acme Inc.'; an empty suffix leaves the core."""
    core, suffix = tx.s(core), tx.s(suffix)
    return np.asarray(np.where(suffix == "", core, core + " " + suffix), dtype=object)


def suffix_variant(rng: np.random.Generator, suffix) -> np.ndarray:
    """Another spelling of the same legal form ('Inc.' -> 'Incorporated', 'GmbH' -> 'Gmbh')."""
    suffix = tx.s(suffix).to_numpy(dtype=object)
    out = suffix.copy()
    for value in pd.unique(suffix):
        mask = suffix == value
        options = voc.SUFFIX_VARIANTS.get(value, ("",))
        out[mask] = tx.pick(rng, options, int(mask.sum()))
    return out


def name_variants(rng: np.random.Generator, core, suffix, acronym, code) -> np.ndarray:
    """Render each company name in the variant its code asks for (see the constants above).

    Variants that do not apply fall back to something that does: no '&' to swap gives
    the canonical name, no acronym gives the bare core, an ASCII name cannot lose accents.
    """
    core = tx.s(core).to_numpy(dtype=object)
    suffix = tx.s(suffix).to_numpy(dtype=object)
    acronym = tx.s(acronym).to_numpy(dtype=object)
    code = np.asarray(code).copy()
    n = len(core)
    canonical = join_name(core, suffix)
    out = canonical.copy()

    def rows(k):
        return np.flatnonzero(code == k)

    r = rows(CORE_ONLY); out[r] = core[r]
    r = rows(SUFFIX_VARIANT); out[r] = join_name(core[r], suffix_variant(rng, suffix[r]))
    r = rows(COMMA); out[r] = np.where(suffix[r] == "", canonical[r], tx.cat(core[r], ", ", suffix[r]))
    r = rows(FOREIGN_SUFFIX); out[r] = join_name(core[r], tx.pick(rng, voc.FOREIGN_SUFFIXES, len(r)))
    r = rows(UPPER); out[r] = tx.upper(canonical[r])
    r = rows(LOWER); out[r] = tx.lower(core[r])
    r = rows(THE)
    has_the = tx.s(core[r]).str.startswith("The ").to_numpy()
    out[r] = np.where(has_the, tx.s(canonical[r]).str.slice(4), tx.cat("The ", canonical[r]))
    r = rows(AMPERSAND)
    c = tx.s(canonical[r])
    out[r] = np.where(c.str.contains(" & ", regex=False), c.str.replace(" & ", " and ", regex=False),
                      np.where(c.str.contains(" and ", regex=False), c.str.replace(" and ", " & ", regex=False), c))
    r = rows(NO_PUNCT); out[r] = tx.s(canonical[r]).str.replace(r"[.,]", "", regex=True).to_numpy(dtype=object)
    r = rows(TYPO); out[r] = join_name(tx.typo(core[r], rng), suffix[r])
    r = rows(ABBREVIATION)
    abbreviated = tx.replace_words(canonical[r], voc.ABBREVIATIONS)
    out[r] = np.where(abbreviated == canonical[r], core[r], abbreviated)
    r = rows(ACRONYM)
    out[r] = np.where(acronym[r] == "", core[r], np.where(rng.random(len(r)) < .5, acronym[r], join_name(acronym[r], suffix[r])))
    r = rows(FOLDED)
    folded = np.where(rng.random(len(r)) < .5, tx.ascii_fold(core[r], german=True), tx.ascii_fold(core[r]))
    out[r] = np.where(folded == core[r], tx.s(canonical[r]).str.replace(r"[.,]", "", regex=True), join_name(folded, suffix[r]))
    assert len(out) == n
    return out
