"""Link: Index -> Compare -> Classify over two key tables, and the best link per record.

:class:`Linker` is the engine's one entry point for scoring pairs. The lead match
stage, the account master (deduplication), ``leadroute match``, ``leadroute dedupe``
and the evaluation all call it, on tables in the warehouse or on CSV files loaded
into an in-memory DuckDB, so they all make the same decisions.

Example:
    >>> linker = Linker(MatchingSettings())
    >>> scored = linker.score_pairs(con, KeyTable("lead_keys", "lead_id"), KeyTable("account_match_key", "account_id"))
    >>> scored[["l_id", "r_id", "confidence", "reason"]]
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from pipelines.matching.classify import WeightedClassifier
from pipelines.matching.compare import build_compare, default_comparisons
from pipelines.matching.index import (
    Acronym,
    BlockingRule,
    BlockOn,
    KeyTable,
    RareTokens,
    SortedNeighbourhood,
    candidate_pairs,
    rule_names,
)
from pipelines.matching.settings import BlockingRuleSpec, MatchingSettings

CHUNK_PAIRS = 1_000_000  # compare in chunks, so memory stays flat on a full master rebuild
_TEXT = ["name", "name_key", "acronym", "domain", "domain_label", "domain_country", "phone", "street", "city", "state",
         "postal_code", "country"]
# Missing text arrives as '' (cheap to test in numpy), coordinates as NaN.
_SELECT = ", ".join([f"coalesce({c}, '') AS {c}" for c in _TEXT] + ["latitude", "longitude"])


def blocking_rules(specs: list[BlockingRuleSpec]) -> list[BlockingRule]:
    """The configured blocking rules as recordlinkage index algorithms."""
    rules: list[BlockingRule] = []
    for s in specs:
        if s.block_on:
            rules.append(BlockOn(s.block_on, max_size=s.max_size))
        elif s.acronym:
            rules.append(Acronym(max_size=s.max_size))
        elif s.rare_tokens:
            rules.append(RareTokens(max_frequency=s.rare_tokens, per_record=s.per_record))
        elif s.sorted_neighbourhood:
            rules.append(SortedNeighbourhood(s.sorted_neighbourhood, window=s.window))
    return rules


class Linker:
    """The configured Index, Compare and classifier, applied to pairs of key tables."""

    def __init__(self, settings: MatchingSettings, threshold: float | None = None, *, dedupe: bool = False):
        """``dedupe``: both sides are records of organisations (their addresses are theirs) and
        ``dedupe.blocking`` proposes the pairs; otherwise the left side is leads, weighed as
        ``link.lead_address`` says."""
        self.settings = settings
        self.rules = blocking_rules(settings.dedupe.blocking if dedupe else settings.blocking)
        self.comparisons = default_comparisons()
        self.comparer = build_compare(self.comparisons)
        person = not dedupe and settings.link.lead_address == "person"
        self.classifier = WeightedClassifier(settings.model, self.comparisons,
                                             threshold=threshold or settings.link.threshold, person_address=person,
                                             dedupe=dedupe)

    def score_pairs(
        self, con: duckdb.DuckDBPyConnection, left: KeyTable, right: KeyTable, *, exclude_self: bool = False,
        ordered: bool = False, min_confidence: float = 0.0, name_levels: list[str] | None = None,
    ) -> pd.DataFrame:
        """Every candidate pair with its comparison levels (codes), score and confidence.

        Pairs below ``min_confidence`` are dropped (the caller's threshold), and with
        ``name_levels`` pairs whose names agree at none of these levels are dropped before
        the other comparisons are made, so a large rebuild only does the work it needs.
        :meth:`explain` adds the words for the pairs kept.
        """
        pairs = candidate_pairs(con, self.rules, left, right, exclude_self=exclude_self, ordered=ordered)
        if pairs.empty:
            return _empty_scores(self.comparisons)
        lrec, rrec, lpos, rpos = self.records(con, pairs, left, right)
        if name_levels is not None:  # a cheap first pass on names alone
            keep = np.isin(self._name_levels(lrec, rrec, lpos, rpos), [self.level("name", n) for n in name_levels])
            pairs, lpos, rpos = pairs[keep].reset_index(drop=True), lpos[keep], rpos[keep]
        parts = []
        for start in range(0, len(pairs), CHUNK_PAIRS):
            sl = slice(start, start + CHUNK_PAIRS)
            index = pd.MultiIndex.from_arrays([lpos[sl], rpos[sl]])
            features = self.comparer.compute(index, lrec, rrec)
            features.index = pd.RangeIndex(start, start + len(features))
            scored = self.classifier.score(features)
            chunk = pd.concat([pairs.iloc[sl].reset_index(drop=True).set_axis(features.index), features, scored],
                              axis=1)
            if min_confidence > 0:
                chunk = chunk[chunk["confidence"] >= min_confidence]
            parts.append(chunk)
        return pd.concat(parts, ignore_index=True) if parts else _empty_scores(self.comparisons)

    def _name_levels(self, lrec: pd.DataFrame, rrec: pd.DataFrame, lpos: np.ndarray, rpos: np.ndarray) -> np.ndarray:
        name = next(c for c in self.comparisons if c.field == "name")
        cols = [lrec[c].take(lpos).reset_index(drop=True) for c in name.labels_left]
        cols += [rrec[c].take(rpos).reset_index(drop=True) for c in name.labels_right]
        return name._compute_vectorized(*cols)[0]

    def records(self, con: duckdb.DuckDBPyConnection, pairs: pd.DataFrame, left: KeyTable,
                right: KeyTable) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]:
        """The keys of the records in ``pairs`` (left, right with name and domain frequencies)
        and each pair's positions in them: what the Compare step reads."""
        con.register("_link_pairs", pairs[["l_id", "r_id"]])
        same = left == right  # one table against itself: fetch its records once
        try:
            lrec = None if same else con.execute(
                f'SELECT "{left.id}" AS _id, {_SELECT} FROM {left.relation} '
                f'WHERE "{left.id}" IN (SELECT l_id FROM _link_pairs)'
            ).df()
            wanted = "SELECT r_id FROM _link_pairs" + (" UNION SELECT l_id FROM _link_pairs" if same else "")
            rrec = con.execute(
                f"""
                WITH r AS (SELECT "{right.id}" AS _id, {_SELECT} FROM {right.relation}
                           WHERE "{right.id}" IN ({wanted})),
                nf AS (SELECT name_key, count(*) AS name_frequency FROM {right.relation}
                       WHERE name_key IN (SELECT name_key FROM r WHERE name_key <> '') GROUP BY name_key),
                df AS (SELECT domain, count(*) AS domain_frequency FROM {right.relation}
                       WHERE domain IN (SELECT domain FROM r WHERE domain <> '') GROUP BY domain)
                SELECT r.*, nf.name_frequency, df.domain_frequency
                FROM r LEFT JOIN nf USING (name_key) LEFT JOIN df USING (domain)
                """
            ).df()
        finally:
            con.unregister("_link_pairs")
        if lrec is None:
            lrec = rrec
        lpos = pd.Index(lrec["_id"]).get_indexer(pairs["l_id"])
        rpos = pd.Index(rrec["_id"]).get_indexer(pairs["r_id"])
        return lrec, rrec, lpos, rpos

    def explain(self, scored: pd.DataFrame) -> pd.DataFrame:
        """``scored`` rows with ``reason``, ``evidence`` and each comparison's level by name."""
        out = scored.reset_index(drop=True)
        words = self.classifier.explain(out)
        out = pd.concat([out, words], axis=1)
        if "blocked_by" in out:
            out["blocked_by"] = rule_names(self.rules, out["blocked_by"])
        for c in self.comparisons:
            if c.field in out:
                out[c.field] = np.array(c.levels, dtype=object)[out[c.field].to_numpy(dtype=np.int64)]
        return out

    def level(self, field: str, name: str) -> int:
        """The code of a comparison level, to filter scored pairs before :meth:`explain`."""
        return next(c for c in self.comparisons if c.field == field).code(name)


def _empty_scores(comparisons) -> pd.DataFrame:
    cols = ["l_id", "r_id", "blocked_by"] + [c.field for c in comparisons] + [
        "name_frequency", "domain_frequency", "score", "confidence"]
    return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})


def best_per_left(scored: pd.DataFrame, threshold: float, margin: float = 0.0,
                  order: list[tuple[str, bool]] | None = None) -> pd.DataFrame:
    """The best right record for each left id among pairs at or above ``threshold``.

    Pairs within ``margin`` bits of the best score tie; ties go by ``order`` (columns of
    ``scored`` and whether ascending), then the higher score, then the smaller id.
    """
    ok = scored[scored["confidence"] >= threshold].copy()
    if ok.empty:
        return ok
    ok["_best"] = ok.groupby("l_id")["score"].transform("max")
    ok["_tied"] = ok["score"] >= ok["_best"] - margin
    by = ["l_id", "_tied"] + [c for c, _ in (order or [])] + ["score", "r_id"]
    asc = [True, False] + [a for _, a in (order or [])] + [False, True]
    ok = ok.sort_values(by, ascending=asc, na_position="last", kind="stable")
    best = ok.drop_duplicates("l_id", keep="first")
    return best.drop(columns=["_best", "_tied"])
