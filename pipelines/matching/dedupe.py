"""Dedupe: which records are one company, and the clusters they form.

Used by the account master (CRM accounts) and by ``leadroute dedupe`` (any CSV). Two
records are duplicates when the engine's confidence reaches ``dedupe.threshold``
*and* their names agree: exactly, nearly or as an acronym, or (for names that merely
overlap, "Arnie Morton's" / "Arnie Morton's of Chicago") together with the same
phone, street or location; and they are not in different countries. Sharing a domain
with a different name, or a name across countries, is more often a parent and its
business unit than a duplicate.

Clusters are the connected components of the duplicate pairs.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from pipelines.matching.index import KeyTable
from pipelines.matching.link import Linker
from pipelines.matching.settings import MatchingSettings


_CORROBORATING = {"phone": ("exact",), "street": ("exact", "similar"), "geo": ("same_place",)}


def duplicate_pairs(con: duckdb.DuckDBPyConnection, settings: MatchingSettings, left: KeyTable,
                    right: KeyTable, corroborated_by: list[str] | None = None) -> pd.DataFrame:
    """Scored pairs (``l_id``, ``r_id``, confidence, reason...) judged to be one company.

    ``corroborated_by`` (default ``dedupe.corroborated_by``) names the evidence that lets
    overlapping names count.
    """
    d = settings.dedupe
    linker = Linker(settings, threshold=d.threshold, dedupe=True)
    scored = linker.score_pairs(con, left, right, exclude_self=True, ordered=left == right,
                                min_confidence=d.threshold,
                                name_levels=list(d.name_levels) + list(d.corroborated_name_levels))

    def at(field: str, *levels: str) -> pd.Series:
        return scored[field].isin([linker.level(field, name) for name in levels])

    corroborated = pd.Series(False, index=scored.index)
    for field in d.corroborated_by if corroborated_by is None else corroborated_by:
        corroborated |= at(field, *_CORROBORATING[field])
    keep = at("name", *d.name_levels) | (at("name", *d.corroborated_name_levels) & corroborated)
    if d.same_country:
        keep &= ~at("country", "different")
    return linker.explain(scored[keep])


def clusters(ids: pd.Series, edges: pd.DataFrame, a: str = "account_id", b: str = "duplicate_id") -> np.ndarray:
    """Connected components of the duplicate pairs: a cluster number per id (singletons included)."""
    index = pd.Index(ids)
    n = len(index)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    left = index.get_indexer(edges[a]) if len(edges) else np.zeros(0, dtype=np.int64)
    right = index.get_indexer(edges[b]) if len(edges) else np.zeros(0, dtype=np.int64)
    ok = (left >= 0) & (right >= 0)
    graph = coo_matrix((np.ones(int(ok.sum())), (left[ok], right[ok])), shape=(n, n))
    return connected_components(graph, directed=False)[1]
