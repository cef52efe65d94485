"""Dedupe one CSV, or match one CSV against another, with the pipeline's engine.

The records are loaded into an in-memory DuckDB as key tables, then the same
Index, Compare and classifier the pipeline uses score them. Every input row is in
the output, in input order.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from pipelines.matching.dedupe import clusters, duplicate_pairs
from pipelines.matching.index import KeyTable
from pipelines.matching.link import Linker, best_per_left
from pipelines.matching.records import CsvRecords
from pipelines.matching.settings import MatchingSettings


def _key_table(con: duckdb.DuckDBPyConnection, name: str, records: CsvRecords) -> KeyTable:
    keys = records.keys.reset_index(drop=True)
    keys.insert(0, "_row", np.arange(len(keys), dtype=np.int64))
    con.register(name, keys)
    return KeyTable(name, "_row")


def dedupe_records(records: CsvRecords, settings: MatchingSettings) -> pd.DataFrame:
    """``record_id, cluster_id`` for every row; a cluster is named by its first row's id."""
    con = duckdb.connect()
    try:
        table = _key_table(con, "_records", records)
        pairs = duplicate_pairs(con, settings, table, table)
    finally:
        con.close()
    rows = pd.Series(np.arange(len(records.ids)))
    edges = pd.DataFrame({"a": pairs["l_id"].to_numpy(dtype=np.int64), "b": pairs["r_id"].to_numpy(dtype=np.int64)})
    label = clusters(rows, edges, "a", "b")
    first_row = pd.Series(rows.to_numpy()).groupby(label).transform("min").to_numpy()
    return pd.DataFrame({"record_id": records.ids.to_numpy(), "cluster_id": records.ids.to_numpy()[first_row]})


def match_records(leads: CsvRecords, accounts: CsvRecords, settings: MatchingSettings) -> pd.DataFrame:
    """``lead_id, account_id, confidence, reason`` for every lead row (account_id empty when no match)."""
    con = duckdb.connect()
    try:
        left = _key_table(con, "_leads", leads)
        right = _key_table(con, "_accounts", accounts)
        linker = Linker(settings)
        scored = linker.score_pairs(con, left, right)
    finally:
        con.close()
    threshold = settings.link.threshold
    best = linker.explain(best_per_left(scored, threshold, margin=0.0))
    runner = linker.explain(best_per_left(scored[scored["confidence"] < threshold], 0.0)) if len(scored) else scored
    out = pd.DataFrame({"lead_id": leads.ids.to_numpy(), "account_id": "", "confidence": np.nan,
                        "reason": "no candidate account shares a domain, phone or name with this lead"})
    if len(runner):
        pos = runner["l_id"].to_numpy(dtype=np.int64)
        rows = runner["r_id"].to_numpy(dtype=np.int64)
        named = pd.Series(accounts.ids.to_numpy()[rows])
        named = named.where(named != "", "on line " + pd.Series(rows + 2).astype(str))
        out.loc[pos, "reason"] = ("no account reached the threshold; the closest, account " + named
                                  + ", scored " + runner["confidence"].map("{:.2f}".format).to_numpy()
                                  + " (" + runner["reason"].to_numpy() + ")").to_numpy()
    if len(best):
        pos = best["l_id"].to_numpy(dtype=np.int64)
        out.loc[pos, "account_id"] = accounts.ids.to_numpy()[best["r_id"].to_numpy(dtype=np.int64)]
        out.loc[pos, "confidence"] = best["confidence"].to_numpy()
        out.loc[pos, "reason"] = best["reason"].to_numpy()
    return out
