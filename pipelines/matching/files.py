"""Dedupe one CSV, or match one CSV against another, with the pipeline's engine.

The records are loaded into an in-memory DuckDB as key tables, then the same
Index, Compare and classifier the pipeline uses score them. Every input row is in
the output, in input order.
"""

from __future__ import annotations

import contextlib

import duckdb
import numpy as np
import pandas as pd

from collections.abc import Callable

from pipelines.matching.dedupe import dedupe_table
from pipelines.matching.index import KeyTable
from pipelines.matching.keys import registered
from pipelines.matching.labels import Labels
from pipelines.matching.link import Linker, best_per_left
from pipelines.matching.parameters import Parameters
from pipelines.matching.records import CsvRecords
from pipelines.matching.settings import MatchingSettings


def _key_table(stack: contextlib.ExitStack, con: duckdb.DuckDBPyConnection, name: str,
               records: CsvRecords) -> KeyTable:
    """The records' keys as ``name``, each row by its position (``_row``), while ``stack`` is open."""
    keys = records.keys.reset_index(drop=True)
    keys.insert(0, "_row", np.arange(len(keys), dtype=np.int64))
    stack.enter_context(registered(con, name, keys))
    return KeyTable(name, "_row")


def people_settings(settings: MatchingSettings) -> MatchingSettings:
    """``settings`` for a file of people:

    - names that overlap (a typo, a name written short) are the model's to weigh, not a rule of thumb's.
      Among companies they must be vouched for by a phone or a street, since a city holds many companies
      of like names; a person known by a name typed two ways in one city is more often one person, and a
      file of people rarely holds a phone or a street for each;
    - another street is not another site (``dedupe.other_site`` off): a chain's branches are two
      accounts, but a person filed at two addresses has moved, or one was mistyped. The model still
      weighs the streets' disagreement."""
    d = settings.dedupe
    levels = list(dict.fromkeys([*d.name_levels, *d.corroborated_name_levels]))
    return settings.model_copy(update={"dedupe": d.model_copy(update={"name_levels": levels,
                                                                      "corroborated_name_levels": [],
                                                                      "other_site": False})})


def dedupe_records(records: CsvRecords, settings: MatchingSettings, *, labels: Labels | None = None,
                   progress: Callable[[str], None] = lambda m: None) -> pd.DataFrame:
    """``record_id, cluster_id`` for every row; a cluster is named by its first row's id.

    ``labels``: known duplicate and distinct pairs (row positions). The model used is in
    ``result.attrs["parameters"]``, the whole :class:`DedupeResult` in ``result.attrs["result"]``.
    """
    if records.people:
        settings = people_settings(settings)
    with duckdb.connect() as con, contextlib.ExitStack() as stack:
        table = _key_table(stack, con, "_records", records)
        result = dedupe_table(con, settings, table, labels=labels, people=records.people, employer=records.employer,
                              progress=progress)
    ids = records.ids.to_numpy()
    out = pd.DataFrame({"record_id": ids, "cluster_id": ids[result.labels]})
    out.attrs["parameters"] = result.deduper.linker.parameters
    out.attrs["result"] = result
    return out


NAME_WHOLE = "name_whole"


def name_whole(con: duckdb.DuckDBPyConnection, scored: pd.DataFrame, left: KeyTable, right: KeyTable,
               threshold: float) -> np.ndarray:
    """For each pair at ``threshold`` or over, whether the lead's whole name stands in the account's, its words
    side by side: what breaks a tie between two accounts that score alike. The ONS's "City of London" is in
    "City and County of the City of London", not in "City of Westminster London Boro", though both hold its
    words. Two files carry no account type or activity to rank by (the warehouse's ``tie_breakers``); without
    this the first account of the file won."""
    out = np.zeros(len(scored), dtype=bool)
    over = np.flatnonzero(scored["confidence"].to_numpy() >= threshold)
    if not len(over):
        return out
    con.register("_over", pd.DataFrame({"i": over, "l_id": scored["l_id"].to_numpy()[over],
                                        "r_id": scored["r_id"].to_numpy()[over]}))
    try:
        inside = con.execute(f"""
            SELECT o.i FROM _over o
            JOIN {left.relation} l ON l."{left.id}" = o.l_id JOIN {right.relation} r ON r."{right.id}" = o.r_id
            WHERE coalesce(l.name, '') <> '' AND contains(' ' || r.name || ' ', ' ' || l.name || ' ')
        """).fetchnumpy()["i"]
    finally:
        con.unregister("_over")
    out[inside] = True
    return out


def match_records(leads: CsvRecords, accounts: CsvRecords, settings: MatchingSettings, *,
                  labels: Labels | None = None, parameters: Parameters | None = None,
                  progress: Callable[[str], None] = lambda m: None) -> pd.DataFrame:
    """``lead_id, account_id, confidence, reason`` for every lead row (account_id empty when no match).

    The model is learned from the two files unless ``parameters`` are given (``labels``: known
    matches, learned from, and known non-matches, never chosen; row positions); it is in
    ``result.attrs["parameters"]``, the scored candidate pairs in ``result.attrs["scored"]``.
    """
    with duckdb.connect() as con, contextlib.ExitStack() as stack:
        left = _key_table(stack, con, "_leads", leads)
        right = _key_table(stack, con, "_accounts", accounts)
        linker = Linker(settings, parameters=parameters, people=leads.people and accounts.people,
                        employer=leads.employer and accounts.employer)
        pairs = linker.candidates(con, left, right)
        if parameters is None:
            known = labels.duplicates if labels is not None and len(labels.duplicates) else None
            for line in linker.learn(con, left, right, pairs=pairs, labels=known, progress=progress).describe():
                progress(line)
        scored = linker.score_pairs(con, left, right, pairs=pairs)
        if labels is not None and len(labels.distinct):
            never = pd.MultiIndex.from_frame(labels.distinct[["l_id", "r_id"]])
            ruled = pd.MultiIndex.from_arrays([scored["l_id"], scored["r_id"]]).isin(never)
            scored.loc[ruled, ["score", "confidence"]] = [-30.0, 0.0]
        threshold = settings.link.threshold
        scored[NAME_WHOLE] = name_whole(con, scored, left, right, threshold)
    best = linker.explain(best_per_left(scored, threshold, margin=0.0, order=[(NAME_WHOLE, False)]))
    runner = linker.explain(best_per_left(scored[scored["confidence"] < threshold], 0.0)) if len(scored) else scored
    out = pd.DataFrame({"lead_id": leads.ids.to_numpy(), "account_id": "", "confidence": np.nan,
                        "reason": "no candidate account shares a domain, phone or name with this lead"})
    if len(runner):
        pos = runner["l_id"].to_numpy(dtype=np.int64)
        rows = runner["r_id"].to_numpy(dtype=np.int64)
        named = pd.Series(accounts.ids.to_numpy()[rows])
        named = named.where(named != "", "on line " + pd.Series(accounts.line(0) + rows).astype(str))
        out.loc[pos, "reason"] = ("no account reached the threshold; the closest, account " + named
                                  + ", scored " + runner["confidence"].map("{:.2f}".format).to_numpy()
                                  + " (" + runner["reason"].to_numpy() + ")").to_numpy()
    if len(best):
        pos = best["l_id"].to_numpy(dtype=np.int64)
        out.loc[pos, "account_id"] = accounts.ids.to_numpy()[best["r_id"].to_numpy(dtype=np.int64)]
        out.loc[pos, "confidence"] = best["confidence"].to_numpy()
        out.loc[pos, "reason"] = best["reason"].to_numpy()
    out.attrs["parameters"] = linker.parameters
    out.attrs["scored"] = scored
    out.attrs["pairs"] = pairs
    return out
