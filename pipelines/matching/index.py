"""Index: candidate pairs by blocking, the first of recordlinkage's three nouns.

Comparing every lead with every account (10,000 x 1,000,000) is out of the
question; a blocking rule proposes only pairs that share something. The engine
takes the union of several rules, each catching what the others miss:

- :class:`BlockOn` a key: registered domain, phone, compact name, domain label (``ibm``
  for ``ibm.com`` and ``ibm.jp``);
- :class:`Acronym`: "IBM" against the initials of "International Business Machines";
- :class:`RareTokens`: a record's rarest name words (``"initech"`` in "Initech Systems");
- :class:`SortedNeighbourhood`: the neighbours of a name in the sorted list of names,
  which catches a typo after the first letters.

Every rule is one SQL query over two key tables (see :mod:`pipelines.matching.keys`),
so the same code blocks 10,000 leads against the 1,000,000 accounts stored in the
warehouse and two CSV files loaded into an in-memory DuckDB. Each rule is also a
recordlinkage ``BaseIndexAlgorithm``, so it plugs into ``recordlinkage.Index``::

    indexer = recordlinkage.Index()
    indexer.add(BlockOn("domain"))
    indexer.add(RareTokens(max_frequency=100))
    pairs = indexer.index(leads_keys, accounts_keys)
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
from recordlinkage.base import BaseIndexAlgorithm


@dataclass(frozen=True)
class KeyTable:
    """A relation with match keys (:data:`pipelines.matching.keys.KEY_COLUMNS`) and an id column."""

    relation: str
    id: str


class BlockingRule(BaseIndexAlgorithm):
    """One way of proposing candidate pairs, as SQL over two key tables."""

    label = "rule"

    def __init__(self) -> None:
        super().__init__(verify_integrity=False)

    def sql(self, left: KeyTable, right: KeyTable) -> str:  # pragma: no cover - abstract
        """A query selecting ``l_id, r_id`` (may contain duplicates and self pairs)."""
        raise NotImplementedError

    # recordlinkage's Index API: frames in, a MultiIndex of positions out.
    def _link_index(self, df_a: pd.DataFrame, df_b: pd.DataFrame) -> pd.MultiIndex:
        return _frames_index(self, df_a, df_b)

    def _dedup_index(self, df_a: pd.DataFrame) -> pd.MultiIndex:
        pairs = _frames_index(self, df_a, df_a)
        return pairs[pairs.get_level_values(0) > pairs.get_level_values(1)]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.label}>"


class BlockOn(BlockingRule):
    """Pairs that agree exactly on ``key``; a value shared by more than ``max_size`` records on
    the right (a hosting platform's domain, a call centre's phone) proposes nothing, since it
    says nothing about identity and would flood the comparison."""

    def __init__(self, key: str, max_size: int = 1000):
        super().__init__()
        self.key, self.max_size = key, max_size
        self.label = key

    def sql(self, left: KeyTable, right: KeyTable) -> str:
        k = self.key
        return f"""
            SELECT l."{left.id}" AS l_id, r."{right.id}" AS r_id
            FROM {left.relation} l
            JOIN {right.relation} r ON l."{k}" = r."{k}"
            WHERE l."{k}" IS NOT NULL AND l."{k}" NOT IN (
                SELECT "{k}" FROM {right.relation} WHERE "{k}" IS NOT NULL
                GROUP BY "{k}" HAVING count(*) > {int(self.max_size)})"""


class Acronym(BlockingRule):
    """Pairs where one name is the other's acronym: "IBM" and "International Business Machines"."""

    label = "acronym"

    def __init__(self, max_size: int = 200):
        super().__init__()
        self.max_size = max_size

    def sql(self, left: KeyTable, right: KeyTable) -> str:
        parts = []
        for lk, rk in (("name_key", "acronym"), ("acronym", "name_key")):
            parts.append(f"""
            SELECT l."{left.id}" AS l_id, r."{right.id}" AS r_id
            FROM {left.relation} l
            JOIN {right.relation} r ON l.{lk} = r.{rk}
            WHERE l.{lk} IS NOT NULL AND length(l.{lk}) BETWEEN 2 AND 6 AND l.{lk} NOT IN (
                SELECT {rk} FROM {right.relation} WHERE {rk} IS NOT NULL
                GROUP BY {rk} HAVING count(*) > {int(self.max_size)})""")
        return " UNION ALL ".join(parts)


class RareTokens(BlockingRule):
    """Pairs that share one of the left record's ``per_record`` rarest name words, counting
    only words found in at most ``max_frequency`` right records ("initech", not "systems")."""

    label = "rare_tokens"

    def __init__(self, max_frequency: int = 100, per_record: int = 2):
        super().__init__()
        self.max_frequency, self.per_record = max_frequency, per_record

    def sql(self, left: KeyTable, right: KeyTable) -> str:
        return f"""
            WITH lt AS (SELECT DISTINCT "{left.id}" AS l_id, unnest(tokens) AS token FROM {left.relation}),
            rt AS (SELECT "{right.id}" AS r_id, unnest(tokens) AS token FROM {right.relation}
                   WHERE len(tokens) > 0),
            df AS (SELECT token, count(*) AS n FROM rt WHERE token IN (SELECT token FROM lt) GROUP BY token),
            chosen AS (
                SELECT lt.l_id, lt.token FROM lt JOIN df USING (token)
                WHERE df.n <= {int(self.max_frequency)}
                QUALIFY row_number() OVER (PARTITION BY lt.l_id ORDER BY df.n, lt.token) <= {int(self.per_record)}
            )
            SELECT chosen.l_id, rt.r_id FROM chosen JOIN rt USING (token)"""


class SortedNeighbourhood(BlockingRule):
    """Pairs within ``window`` places of each other when all right records are sorted by ``key``
    (each left record is placed where it would sort). Catches a typo late in a name."""

    def __init__(self, key: str = "name_key", window: int = 3):
        super().__init__()
        self.key, self.window = key, window
        self.label = f"sorted_{key}"

    def sql(self, left: KeyTable, right: KeyTable) -> str:
        k, w = self.key, int(self.window)
        return f"""
            WITH s AS (
                SELECT "{right.id}" AS r_id, "{k}" AS k,
                       row_number() OVER (ORDER BY "{k}", "{right.id}") AS rk
                FROM {right.relation} WHERE "{k}" IS NOT NULL
            ),
            l AS (SELECT "{left.id}" AS l_id, "{k}" AS k FROM {left.relation} WHERE "{k}" IS NOT NULL),
            placed AS (SELECT l.l_id, coalesce(s.rk, 0) AS rk FROM l ASOF LEFT JOIN s ON l.k >= s.k),
            near AS (SELECT p.l_id, p.rk + d.range AS rk FROM placed p, range({1 - w}, {w + 1}) d)
            SELECT near.l_id, s.r_id FROM near JOIN s USING (rk)"""  # an equi-join: a range join is far slower


def candidate_pairs(
    con: duckdb.DuckDBPyConnection, rules: list[BlockingRule], left: KeyTable, right: KeyTable,
    *, exclude_self: bool = False, ordered: bool = False,
) -> pd.DataFrame:
    """The union of every rule's pairs: one row per distinct (l_id, r_id).

    ``blocked_by`` is a bit mask of the rules that proposed the pair (bit i for ``rules[i]``;
    :func:`rule_names` spells it out). ``exclude_self`` drops pairs of a record with itself;
    ``ordered`` (one table against itself) keeps each unordered pair once, as ``l_id < r_id``.
    """
    if not rules:
        raise ValueError("No blocking rules: add at least one under `blocking:` in matching.yaml.")
    union = " UNION ALL ".join(f"SELECT l_id, r_id, {1 << i} AS rule FROM ({r.sql(left, right)})"
                               for i, r in enumerate(rules))
    # Rules may be one-sided (a record's rarest word, its neighbours below): in one table, a pair
    # either side proposes counts, written once with the smaller id first.
    ids = "least(l_id, r_id) AS l_id, greatest(l_id, r_id) AS r_id" if ordered else "l_id, r_id"
    where = "WHERE l_id <> r_id" if ordered or exclude_self else ""
    return con.execute(
        f"SELECT l_id, r_id, bit_or(rule)::INTEGER AS blocked_by FROM (SELECT {ids}, rule FROM ({union}) {where}) "
        f"GROUP BY l_id, r_id"
    ).df()


def rule_names(rules: list[BlockingRule], masks: pd.Series) -> pd.Series:
    """``blocked_by`` bit masks -> comma-separated rule labels."""
    out = pd.Series("", index=masks.index, dtype=object)
    for i, rule in enumerate(rules):
        hit = (masks.to_numpy(dtype=np.int64) & (1 << i)) > 0
        out = out.where(~hit, out.where(out == "", out + ",") + rule.label)
    return out


def _frames_index(rule: BlockingRule, df_a: pd.DataFrame, df_b: pd.DataFrame) -> pd.MultiIndex:
    con = duckdb.connect()
    try:
        con.register("_a", df_a.reset_index(drop=True).assign(_pos=range(len(df_a))))
        con.register("_b", df_b.reset_index(drop=True).assign(_pos=range(len(df_b))))
        pairs = con.execute(
            f"SELECT DISTINCT l_id, r_id FROM ({rule.sql(KeyTable('_a', '_pos'), KeyTable('_b', '_pos'))}) "
            "ORDER BY l_id, r_id"
        ).df()
    finally:
        con.close()
    return pd.MultiIndex.from_arrays(
        [df_a.index.take(pairs["l_id"].to_numpy()), df_b.index.take(pairs["r_id"].to_numpy())]
    )
