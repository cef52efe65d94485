"""Compare: comparison levels for candidate pairs, the second of recordlinkage's three nouns.

Each comparison is a recordlinkage ``BaseCompareFeature`` that turns a field of a
pair into one *level* ("exact", "close", "different", "missing" ...), like a
Splink comparison. Levels are what the classifier weighs and what the match
reason names, so they read as evidence: "same website domain", "company name is
an acronym of the other".

Underneath, the string work is vectorised with rapidfuzz's ``process.cpdist``
(element-wise, multi-threaded, millions of pairs a second) instead of
recordlinkage's per-pair Python comparators; the API on top is recordlinkage's::

    comparer = recordlinkage.Compare(indexing_type="position")
    comparer.add(CompareName())
    comparer.add(CompareExact("phone"))
    features = comparer.compute(pairs, leads_keys, accounts_keys)

A feature's output column holds the level's position in its ``levels`` tuple.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import recordlinkage
from rapidfuzz import distance, fuzz, process
from recordlinkage.base import BaseCompareFeature

MISSING = "missing"


def _strings(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Values as an object array with '' for missing, and where they are present.

    The engine's key tables already send '' for missing text (testing '' is much cheaper
    than ``isna`` on millions of objects); other frames are cleaned here.
    """
    values = series.to_numpy(dtype=object)
    if series.hasnans:
        values = np.where(pd.isna(values), "", values).astype(object)
    return values, values != ""


def _similarity(a: np.ndarray, b: np.ndarray, scorer) -> np.ndarray:
    if len(a) == 0:
        return np.zeros(0)
    return process.cpdist(list(a), list(b), scorer=scorer, workers=-1).astype(float)


class Comparison(BaseCompareFeature):
    """A comparison with named levels; subclasses fill ``levels`` and ``_levels``."""

    levels: tuple[str, ...] = ()
    field = ""

    def __init__(self, labels_left, labels_right, label: str):
        super().__init__(labels_left, labels_right, label=label)
        self.field = label

    def code(self, level: str) -> int:
        return self.levels.index(level)

    def _pick(self, n: int, conditions: list[tuple[np.ndarray, str]], default: str) -> np.ndarray:
        """The first level whose condition holds, else ``default`` (like SQL CASE)."""
        out = np.full(n, self.code(default), dtype=np.int8)
        for cond, level in reversed(conditions):
            out[cond] = self.code(level)
        return out


class CompareExact(Comparison):
    """Equal or not, for keys normalised so that equality is the evidence (E.164 phones, ISO countries)."""

    levels = ("exact", "different", MISSING)

    def __init__(self, field: str):
        super().__init__(field, field, label=field)

    def _compute_vectorized(self, left: pd.Series, right: pd.Series) -> np.ndarray:
        a, pa = _strings(left)
        b, pb = _strings(right)
        both = pa & pb
        return self._pick(len(a), [(~both, MISSING), (a == b, "exact")], "different")


class CompareName(Comparison):
    """Company names: exact (compact form), close (a typo or two: at most ``max_edits`` edits and
    Jaro-Winkler at ``close``), acronym of the other, one
    name's words contained in the other's or one name starting the other ("IBM" / "IBM Japan",
    "Art's Deli" / "Art's Delicatessen"), similar, or different.

    Also returns ``name_frequency``: how many right records carry the right name, so the
    classifier can weigh agreement on "Acme" less than agreement on "Initech".
    """

    levels = ("exact", "close", "acronym", "subset", "similar", "different", MISSING)

    def __init__(self, close: float = 0.95, similar: float = 0.88, max_edits: int = 2):
        super().__init__(["name", "name_key", "acronym"], ["name", "name_key", "acronym", "name_frequency"],
                         label=["name", "name_frequency"])
        self.field = "name"
        self.close, self.similar, self.max_edits = close, similar, max_edits

    def _compute_vectorized(self, ln, lk, la, rn, rk, ra, rfreq):
        a, pa = _strings(ln)
        b, pb = _strings(rn)
        ka, _ = _strings(lk)
        kb, _ = _strings(rk)
        aa, paa = _strings(la)
        ab, pab = _strings(ra)
        both = pa & pb
        same = both & (ka == kb)
        idx = np.flatnonzero(both & ~same)
        jw = np.zeros(len(a))
        edits = np.full(len(a), 99.0)
        token_set = np.zeros(len(a))
        prefix = np.zeros(len(a), dtype=bool)
        jw[idx] = _similarity(ka[idx], kb[idx], distance.JaroWinkler.normalized_similarity)
        edits[idx] = _similarity(ka[idx], kb[idx], distance.OSA.distance)  # a swap of two letters is one edit
        token_set[idx] = _similarity(a[idx], b[idx], fuzz.token_set_ratio) / 100
        if len(idx):  # one compact name starts the other: "Art's Deli" / "Art's Delicatessen"
            shorter = np.minimum(pd.Series(ka[idx]).str.len().to_numpy(), pd.Series(kb[idx]).str.len().to_numpy())
            common = _similarity(ka[idx], kb[idx], distance.Prefix.similarity)
            prefix[idx] = (common == shorter) & (shorter >= 4)
        exact = same
        longer = np.maximum(pd.Series(ka).str.len().to_numpy(), pd.Series(kb).str.len().to_numpy())
        close = both & ~same & (jw >= self.close) & (edits <= np.clip(0.2 * longer, 1, self.max_edits))
        acronym = both & ((pab & (ka == ab)) | (paa & (aa == kb)))
        subset = both & ((token_set == 1.0) | prefix)
        similar = both & ((token_set >= self.similar) | (jw >= self.similar + 0.04))
        level = self._pick(
            len(a),
            [(~both, MISSING), (exact, "exact"), (close, "close"), (acronym, "acronym"), (subset, "subset"),
             (similar, "similar")],
            "different",
        )
        freq = pd.to_numeric(rfreq, errors="coerce").fillna(1).to_numpy()
        return level, np.where(level == self.code("exact"), np.maximum(freq, 1), 1)


class CompareDomain(Comparison):
    """Company domains: the same registered domain, the same name under another suffix
    (``ibm.com`` / ``ibm.jp``: a country domain of one company), different, or missing.

    Also returns ``domain_frequency`` (right records sharing the domain) for the classifier.
    """

    levels = ("exact", "label", "different", MISSING)

    def __init__(self):
        super().__init__(["domain", "domain_label"], ["domain", "domain_label", "domain_frequency"],
                         label=["domain", "domain_frequency"])
        self.field = "domain"

    def _compute_vectorized(self, ld, ll, rd, rl, rfreq):
        a, pa = _strings(ld)
        b, pb = _strings(rd)
        la, _ = _strings(ll)
        lb, _ = _strings(rl)
        both = pa & pb
        level = self._pick(len(a), [(~both, MISSING), (a == b, "exact"), ((la == lb) & (la != ""), "label")],
                           "different")
        freq = pd.to_numeric(rfreq, errors="coerce").fillna(1).to_numpy()
        return level, np.where(level == self.code("exact"), np.maximum(freq, 1), 1)


class CompareText(Comparison):
    """Free-text fields such as street and city: exact, similar (Jaro-Winkler and token sort
    at ``threshold`` or above), different, missing."""

    levels = ("exact", "similar", "different", MISSING)

    def __init__(self, field: str, threshold: float = 0.9):
        super().__init__(field, field, label=field)
        self.threshold = threshold

    def _compute_vectorized(self, left: pd.Series, right: pd.Series) -> np.ndarray:
        a, pa = _strings(left)
        b, pb = _strings(right)
        both = pa & pb
        idx = np.flatnonzero(both & (a != b))
        sim = np.zeros(len(a))
        if len(idx):
            jw = _similarity(a[idx], b[idx], distance.JaroWinkler.normalized_similarity)
            ts = _similarity(a[idx], b[idx], fuzz.token_sort_ratio) / 100
            sim[idx] = np.minimum(jw, ts + 0.05)
        return self._pick(len(a), [(~both, MISSING), (a == b, "exact"), (sim >= self.threshold, "similar")],
                          "different")


class CompareCountry(Comparison):
    """Countries, each side known from its address or else its domain's country suffix: the same,
    different, or missing. A lead's stated country is often where the person sits; a country-code
    domain (``acme.de``) says where the company is, so either agreeing counts as agreement."""

    levels = ("exact", "different", MISSING)

    def __init__(self):
        super().__init__(["country", "domain_country"], ["country", "domain_country"], label="country")

    def _compute_vectorized(self, lc, ld, rc, rd) -> np.ndarray:
        a, pa = _strings(lc)
        a2, pa2 = _strings(ld)
        b, pb = _strings(rc)
        b2, pb2 = _strings(rd)
        left_known, right_known = pa | pa2, pb | pb2
        agree = (pa & pb & (a == b)) | (pa2 & pb & (a2 == b)) | (pa & pb2 & (a == b2)) | (pa2 & pb2 & (a2 == b2))
        return self._pick(len(a), [(~(left_known & right_known), MISSING), (agree, "exact")], "different")


class ComparePostalCode(Comparison):
    """Postal codes: exact, the same district (first three characters), different, missing."""

    levels = ("exact", "district", "different", MISSING)

    def __init__(self):
        super().__init__("postal_code", "postal_code", label="postal_code")

    def _compute_vectorized(self, left: pd.Series, right: pd.Series) -> np.ndarray:
        a, pa = _strings(left)
        b, pb = _strings(right)
        both = pa & pb
        district = pd.Series(a).str[:3].to_numpy() == pd.Series(b).str[:3].to_numpy()
        return self._pick(len(a), [(~both, MISSING), (a == b, "exact"), (district, "district")], "different")


class CompareGeo(Comparison):
    """Coordinates: within 250 m, within 5 km, within 50 km, farther, or missing (haversine)."""

    levels = ("same_place", "near", "same_area", "far", MISSING)

    def __init__(self):
        super().__init__(["latitude", "longitude"], ["latitude", "longitude"], label="geo")

    def _compute_vectorized(self, lat1, lon1, lat2, lon2) -> np.ndarray:
        p1, l1, p2, l2 = (np.radians(pd.to_numeric(s, errors="coerce").to_numpy(dtype=float))
                          for s in (lat1, lon1, lat2, lon2))
        h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((l2 - l1) / 2) ** 2
        km = 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(h, 0, 1)))
        missing = np.isnan(km)
        km = np.where(missing, np.inf, km)
        return self._pick(len(km), [(missing, MISSING), (km <= 0.25, "same_place"), (km <= 5, "near"),
                                    (km <= 50, "same_area")], "far")


def default_comparisons() -> list[Comparison]:
    """The comparisons the engine makes, strongest evidence first."""
    return [
        CompareDomain(),
        CompareName(),
        CompareExact("phone"),
        CompareText("street"),
        ComparePostalCode(),
        CompareText("city", threshold=0.92),
        CompareExact("state"),
        CompareCountry(),
        CompareGeo(),
    ]


def build_compare(comparisons: list[Comparison] | None = None) -> recordlinkage.Compare:
    """A recordlinkage ``Compare`` over positions (fast ``iloc``) with the engine's comparisons."""
    comparer = recordlinkage.Compare(indexing_type="position")
    for comparison in comparisons or default_comparisons():
        comparer.add(comparison)
    return comparer
