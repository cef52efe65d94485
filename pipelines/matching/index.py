"""Index: candidate pairs by blocking, the first of recordlinkage's three nouns.

Comparing every lead with every account (10,000 x 1,000,000) is out of the
question; a blocking rule proposes only pairs that share something. The engine
takes the union of several rules, each catching what the others miss:

- :class:`BlockOn` a key: registered domain, phone, local phone number, compact
  name, domain label (``ibm`` for ``ibm.com`` and ``ibm.jp``), or one side's key
  against another column of the other (a name against an acronym: "IBM" and
  "International Business Machines");
- :class:`SharedWord`: a word of the name ("initech" in "Initech Systems"), or a
  house number with a word of its street (``1200:parks``);
- :class:`SortedNeighbourhood`: the neighbours of a name in the sorted list of names,
  which catches a typo after the first letters.

**No block is ever dropped.** A key shared by more records than a rule's cap (a
hosting platform's domain, a call centre's phone, a company present 250 times in
one file) would flood the comparison if all its pairs were proposed, and used to
propose nothing at all, so the largest company in a file was never deduplicated.
Such a block is *sub-blocked* instead: within it, each record is paired only with
its ``window`` nearest neighbours sorted by its name (for a shared word: by the
name's other words), so every record of the block is still compared, and records
whose names agree meet. :func:`blocking_report` counts, per rule, the pairs it
proposed and the blocks it sub-blocked.

Every rule is one SQL query over two key tables (see :mod:`pipelines.matching.keys`),
so the same code blocks 10,000 leads against the 1,000,000 accounts stored in the
warehouse and two CSV files loaded into an in-memory DuckDB. Each rule is also a
recordlinkage ``BaseIndexAlgorithm``, so it plugs into ``recordlinkage.Index``::

    indexer = recordlinkage.Index()
    indexer.add(BlockOn("domain"))
    indexer.add(SharedWord("tokens", max_size=100))
    pairs = indexer.index(leads_keys, accounts_keys)
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field, replace

import duckdb
import numpy as np
import pandas as pd

from pipelines.matching.levels import TYPO_MIN_LETTERS
from pipelines.matching.recordlinkage_base import BaseIndexAlgorithm


@dataclass(frozen=True)
class KeyTable:
    """A relation with match keys (:data:`pipelines.matching.keys.KEY_COLUMNS`) and an id column.

    ``rows``: how many records it holds, when known (:func:`candidate_pairs` counts the left side of
    a link against kept blocks), so a rule can pick the plan that suits a few records or many. It is
    not part of the table's identity."""

    relation: str
    id: str
    rows: int | None = field(default=None, compare=False)


class BlockingRule(BaseIndexAlgorithm):
    """One way of proposing candidate pairs, as SQL over two key tables."""

    label = "rule"
    # The comparisons whose agreement this rule requires (so pairs it proposes say nothing
    # about how often true matches agree there): estimation leaves them out, as Splink does.
    compares: frozenset[str] = frozenset()

    def __init__(self) -> None:
        super().__init__(verify_integrity=False)

    def sql(self, left: KeyTable, right: KeyTable, kept: list[str] | None = None) -> str:  # pragma: no cover
        """A query selecting ``l_id, r_id`` (may contain duplicates and self pairs); ``kept``: relations
        holding :meth:`kept_sql` of ``right``, built earlier."""
        raise NotImplementedError

    # The kept work is a whole that any change reorders (a rank over every record), not blocks by key.
    kept_whole = False
    max_size = 0  # blocks over this many right records are sub-blocked

    def kept_rows_sql(self, right: KeyTable) -> list[str]:
        """Queries of the right side's rows (``k, r_id, t``: each record under each key, with its
        tie-broken sort key), one per part of the rule: the blocks :meth:`kept_sql` numbers. A
        change of a few records redoes only their blocks, from the rows kept and the changed
        records' new rows (:mod:`pipelines.matching.block_index`)."""
        return []

    def kept_sql(self, right: KeyTable) -> list[str]:
        """Queries of the work on ``right`` alone that :meth:`sql` can take ready-made (``kept``):
        what a tick would otherwise redo over a million accounts for a few leads. Each selects a
        key ``k`` first."""
        return [numbered_blocks(rows, self.max_size) for rows in self.kept_rows_sql(right)]

    def oversized_sql(self, left: KeyTable, right: KeyTable) -> str | None:
        """A query selecting ``blocks, records``: the blocks over the cap and the records in them."""
        return None

    # recordlinkage's Index API: frames in, a MultiIndex of positions out.
    def _link_index(self, df_a: pd.DataFrame, df_b: pd.DataFrame) -> pd.MultiIndex:
        return _frames_index(self, df_a, df_b)

    def _dedup_index(self, df_a: pd.DataFrame) -> pd.MultiIndex:
        pairs = _frames_index(self, df_a, df_a)
        return pairs[pairs.get_level_values(0) > pairs.get_level_values(1)]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.label}>"


# Which comparisons each key column is evidence for. A domain is also where a person works (files of people): the
# pairs blocked on it are colleagues, from whom an employer's agreement cannot be learned.
_COMPARES = {"domain": ("domain", "employer"), "domain_label": ("domain", "employer"), "phone": ("phone",),
             "phone_local": ("phone",), "email": ("email",), "birthdate": ("birthdate",), "name_key": ("name",),
             "acronym": ("name",), "name_site": ("name",), "tokens": ("name",), "address_tokens": ("street",),
             "street": ("street",), "postal_code": ("place",), "city": ("place",)}

_NAME_ORDER = "coalesce($.name_key, '')"


def _tie_broken(sort: str, record_id: str) -> str:
    """The sort key made unique by the record's id: (key, id), compared in that order.

    Records placed in a sorted block by an ASOF join need a key no two records share: among
    records with the same name, DuckDB's ASOF join picks any of them, so the same records gave a
    few different pairs from one run to the next. With the id, a record sorts among its
    namesakes by id, and one record of a table against itself is placed on itself."""
    return f"struct_pack(s := {sort}, i := {record_id})"


def _right_rows(right: KeyTable, rkey: str, sort: str, where: str = "TRUE") -> str:
    """The right side of :func:`_blocks`, which does not depend on the left side: ``k, r_id, t``,
    every record of ``right`` under each of its keys, with its sort key broken by the id."""
    return f"""
        SELECT k, r_id, {_tie_broken('s', 'r_id')} AS t FROM (
            SELECT "{right.id}" AS r_id, {rkey} AS k, {sort.replace('$', 'r')} AS s
            FROM {right.relation} r WHERE {where.replace('$', 'r')}) WHERE k IS NOT NULL"""


def numbered_blocks(rows: str, max_size: int) -> str:
    """``rows`` (``k, r_id, t``) as blocks: ``k, r_id, n, pos, t``, with ``n`` the records holding
    ``k`` and, in blocks over ``max_size``, ``pos`` the place in the block sorted by ``t``."""
    return f"""
        SELECT k, r_id, n, CASE WHEN n > {int(max_size)} THEN row_number() OVER (PARTITION BY k ORDER BY t) END AS pos, t
        FROM (SELECT *, count(*) OVER (PARTITION BY k) AS n FROM ({rows}))"""


class Renumbered(str):
    """A kept table numbered for a larger cap than the rule reading it (another rule set's, with the
    same rows): the blocks the left side touches are numbered again for the rule's own cap."""


def _blocks(left: KeyTable, right: KeyTable, lkey: str, rkey: str, max_size: int, window: int, sort: str,
            where: str = "TRUE", kept: str | None = None) -> str:
    """Pairs whose ``lkey`` (left, an expression over ``l``) equals ``rkey`` (right, over ``r``):
    every pair in blocks of at most ``max_size`` right records; in larger blocks, each left
    record with its ``window`` neighbours on either side when the block is sorted by ``sort``.

    ``kept``: a relation holding :func:`numbered_blocks` of the right side, built earlier (see
    :mod:`pipelines.matching.block_index`): only the left side is worked out."""
    lside = f"""
        WITH lk AS (SELECT "{left.id}" AS l_id, {lkey} AS k, {sort.replace('$', 'l')} AS s
                    FROM {left.relation} l WHERE {where.replace('$', 'l')}),
        lkv AS MATERIALIZED (SELECT * FROM lk WHERE k IS NOT NULL),"""
    if kept:
        touched = f"SELECT * FROM {kept} WHERE k IN (SELECT k FROM lkv)"
        if isinstance(kept, Renumbered):
            touched = numbered_blocks(f"SELECT k, r_id, t FROM {kept} WHERE k IN (SELECT k FROM lkv)", max_size)
        # Placed in two steps: among every STRIDE-th record of its blocks (an ASOF join over a few
        # rows), then inside that stretch. One ASOF join over the whole blocks sorted all of them: ten
        # thousand leads' words touch two million of a million accounts' rows (2.9 -> 1.2 s of CPU).
        rside = f"""
        rb AS MATERIALIZED ({touched}),
        small AS (SELECT lkv.l_id, rb.r_id FROM lkv JOIN rb USING (k) WHERE rb.n <= {int(max_size)}),
        big AS (SELECT k, r_id, pos, t FROM rb WHERE rb.n > {int(max_size)}),
        marks AS MATERIALIZED (SELECT k, pos, t FROM big WHERE (pos - 1) % {STRIDE} = 0),
        marked AS (SELECT lkv.l_id, lkv.k, lkv.t, marks.pos AS mark
                   FROM (SELECT *, {_tie_broken('s', 'l_id')} AS t FROM lkv WHERE k IN (SELECT k FROM marks)) lkv
                   ASOF LEFT JOIN marks ON lkv.k = marks.k AND lkv.t >= marks.t),
        placed AS (SELECT m.l_id, m.k, coalesce(max(big.pos), 0) AS pos FROM marked m
                   LEFT JOIN big ON big.k = m.k AND (big.pos - 1) // {STRIDE} = (m.mark - 1) // {STRIDE} AND big.t <= m.t
                   GROUP BY m.l_id, m.k, m.t),"""
        return lside + rside + _near(window)
    rside = f"""
        rk AS (SELECT "{right.id}" AS r_id, {rkey} AS k, {sort.replace('$', 'r')} AS s
               FROM {right.relation} r WHERE {where.replace('$', 'r')}),
        rkv AS MATERIALIZED (SELECT * FROM rk WHERE k IS NOT NULL AND k IN (SELECT k FROM lkv)),
        sizes AS (SELECT k, count(*) AS n FROM rkv GROUP BY k),
        small AS (SELECT lkv.l_id, rkv.r_id FROM lkv JOIN sizes USING (k) JOIN rkv USING (k)
                  WHERE sizes.n <= {int(max_size)}),
        big AS MATERIALIZED (SELECT rkv.*, {_tie_broken('rkv.s', 'rkv.r_id')} AS t,
                       row_number() OVER (PARTITION BY rkv.k ORDER BY rkv.s, rkv.r_id) AS pos
                FROM rkv JOIN sizes USING (k) WHERE sizes.n > {int(max_size)}),"""
    return lside + rside + f"""
        placed AS (SELECT lkv.l_id, lkv.k, coalesce(big.pos, 0) AS pos
                   FROM (SELECT *, {_tie_broken('s', 'l_id')} AS t FROM lkv WHERE k IN (SELECT k FROM big)) lkv
                   ASOF LEFT JOIN big ON lkv.k = big.k AND lkv.t >= big.t),""" + _near(window)


# Kept blocks are placed into through every STRIDE-th record (see _blocks).
STRIDE = 64


def _near(window: int) -> str:
    """The end of :func:`_blocks`: each left record placed in a big block (``placed``: the position of
    the last right record sorting at or before it, 0 before all) meets the ``window`` records on
    either side; in small blocks every record."""
    w = int(window)
    return f"""
        near AS (SELECT p.l_id, p.k, p.pos + d.range AS pos FROM placed p, range({1 - w}, {w + 1}) d)
        SELECT l_id, r_id FROM small
        UNION ALL SELECT near.l_id, big.r_id FROM near JOIN big USING (k, pos)"""


class BlockOn(BlockingRule):
    """Pairs that agree exactly on ``key`` (or whose left ``key`` equals the right ``right_key``).

    A value shared by more than ``max_size`` right records is sub-blocked: each record meets
    its ``window`` nearest neighbours in the block sorted by name (see the module docstring).
    """

    def __init__(self, key: str, max_size: int = 1000, *, right_key: str | None = None, window: int = 3,
                 label: str | None = None):
        super().__init__()
        self.key, self.right_key, self.max_size, self.window = key, right_key or key, max_size, window
        self.label = label or key
        self.compares = frozenset(f for k in {key, self.right_key} for f in _COMPARES.get(k, ()))

    def sql(self, left: KeyTable, right: KeyTable, kept: list[str] | None = None) -> str:
        return _blocks(left, right, f'l."{self.key}"', f'r."{self.right_key}"', self.max_size, self.window,
                       _NAME_ORDER, kept=kept[0] if kept else None)

    def kept_rows_sql(self, right: KeyTable) -> list[str]:
        return [_right_rows(right, f'r."{self.right_key}"', _NAME_ORDER)]

    def oversized_sql(self, left: KeyTable, right: KeyTable) -> str:
        return f"""SELECT count(*) AS blocks, coalesce(sum(n), 0) AS records FROM (
            SELECT "{self.right_key}" AS k, count(*) AS n FROM {right.relation} WHERE "{self.right_key}" IS NOT NULL
            AND "{self.right_key}" IN (SELECT "{self.key}" FROM {left.relation}) GROUP BY 1
            HAVING count(*) > {int(self.max_size)})"""


class Acronym(BlockOn):
    """Pairs where one name is the other's acronym: "IBM" and "International Business Machines"."""

    def __init__(self, max_size: int = 200, window: int = 3):
        super().__init__("name_key", max_size, right_key="acronym", window=window, label="acronym")

    _SHORT_NAME = "CASE WHEN length($.name_key) BETWEEN 2 AND 6 THEN $.name_key END"

    def sql(self, left: KeyTable, right: KeyTable, kept: list[str] | None = None) -> str:
        one = _blocks(left, right, self._SHORT_NAME.replace("$", "l"), "r.acronym", self.max_size, self.window,
                      _NAME_ORDER, kept=kept[0] if kept else None)
        other = _blocks(left, right, "l.acronym", self._SHORT_NAME.replace("$", "r"), self.max_size, self.window,
                        _NAME_ORDER, kept=kept[1] if kept else None)
        return f"SELECT * FROM ({one}) UNION ALL SELECT * FROM ({other})"

    def kept_rows_sql(self, right: KeyTable) -> list[str]:
        return [_right_rows(right, "r.acronym", _NAME_ORDER),
                _right_rows(right, self._SHORT_NAME.replace("$", "r"), _NAME_ORDER)]

    def oversized_sql(self, left: KeyTable, right: KeyTable) -> str:
        return f"""SELECT count(*) AS blocks, coalesce(sum(n), 0) AS records FROM (
            SELECT acronym, count(*) AS n FROM {right.relation} WHERE acronym IS NOT NULL
            AND acronym IN (SELECT name_key FROM {left.relation}) GROUP BY 1 HAVING count(*) > {int(self.max_size)})"""


class SharedWord(BlockingRule):
    """Pairs that share a word of a list column: ``tokens`` (the name's identifying words) or
    ``address_tokens`` (house number with a street word).

    Every word of a record counts (``per_record`` limits it to that many of its rarest). A word
    found in more than ``max_size`` right records ("systems", or "philips" in a file where
    Philips appears 800 times) is sub-blocked: each record meets its ``window`` neighbours in
    the word's block sorted by the name's *other* words, so "Koninklijke Philips Electronics"
    and "Philips Electronics" sort side by side.
    """

    def __init__(self, column: str = "tokens", max_size: int = 100, *, window: int = 3,
                 per_record: int | None = None, typos: bool = False):
        super().__init__()
        self.column, self.max_size, self.window, self.per_record = column, max_size, window, per_record
        self.typos = typos
        self.label = "words" if column == "tokens" else column
        self.compares = frozenset(_COMPARES.get(column, (column,)))

    def _exploded(self, table: KeyTable) -> str:
        c = self.column
        return (f'(SELECT "{table.id}" AS _id, unnest("{c}") AS _word, '
                f"array_to_string(list_sort(coalesce(tokens, []::VARCHAR[])), ' ') AS _words "
                f'FROM {table.relation} WHERE len("{c}") > 0)')

    # The block is sorted by the record's other words: its words without the shared one.
    _SORT = "trim(replace(' ' || $._words || ' ', ' ' || $._word || ' ', ' '))"

    def kept_rows_sql(self, right: KeyTable) -> list[str]:
        return [_right_rows(KeyTable(self._exploded(right), "_id"), "r._word", self._SORT)]

    def sql(self, left: KeyTable, right: KeyTable, kept: list[str] | None = None) -> str:
        lx, rx = self._exploded(left), self._exploded(right)
        chosen = lx
        if self.per_record:
            chosen = f"""(SELECT x.* FROM {lx} x JOIN (SELECT _word, count(*) AS _n FROM {rx} GROUP BY 1) f
                          USING (_word) QUALIFY row_number() OVER (PARTITION BY x._id ORDER BY f._n, x._word)
                          <= {int(self.per_record)})"""
        if self.typos:
            # The words of the big blocks, where a mistyped word is looked for (see _with_typos).
            vocabulary = (f"(SELECT k AS w, any_value(n) AS n FROM {kept[0]} WHERE n > {int(self.max_size)} GROUP BY k)"
                          if kept
                          else f"(SELECT _word AS w, count(*) AS n FROM {rx} GROUP BY 1)")
            chosen = _with_typos(chosen, vocabulary, self.max_size)
        return _blocks(KeyTable(chosen, "_id"), KeyTable(rx, "_id"), "l._word", "r._word", self.max_size,
                       self.window, self._SORT, kept=kept[0] if kept else None)

    def oversized_sql(self, left: KeyTable, right: KeyTable) -> str:
        rx = self._exploded(right)
        return f"""SELECT count(*) AS blocks, coalesce(sum(n), 0) AS records FROM (
            SELECT _word, count(*) AS n FROM {rx} WHERE _word IN (SELECT unnest("{self.column}") FROM {left.relation})
            GROUP BY 1 HAVING count(*) > {int(self.max_size)})"""


TYPO_NEIGHBOURS = 2  # the most common words one letter off a mistyped one that it also meets


def _with_typos(words: str, vocabulary: str, rare: int) -> str:
    """``words`` (a record's words: ``_id, _word, _words``) and, for each rare word (held by at most
    ``rare`` right records), the same record under the :data:`TYPO_NEIGHBOURS` most common right words
    one letter off it, of its first letter, that are too common to meet in full (held by more than
    ``rare`` records: sub-blocked).

    A word mistyped ("Koninklijke Philps Electronics", "Akzo Novel") is a block of its own, and the
    word spelt right is too common to meet in full ("philips" 600 times in one file): sub-blocked by
    the name's other words, the mistyped name sorted after every spelling of "philips ...", away from
    the names it is one letter from. Under the word spelt right, with that word in its other words,
    it sorts among them and meets its ``window`` neighbours there. (Where the word spelt right is a
    small block, its records are met in full through the name's other words or not at all; putting
    the mistyped record in it too proposed a third more pairs on FEBRL 3 for little.) One letter off is
    Damerau-Levenshtein 1 (a letter dropped, doubled, mistyped, two swapped), found through each word's
    spellings with one letter deleted (the symmetric-delete index), over the distinct words of the
    right side's big blocks, never its records.

    One-sided, as blocking by a record's rarest words is: a record whose words are spelt right does not
    look for the mistyped ones (a table against itself, the mistyped record looks for it).

    ``vocabulary``: the right side's ``w, n`` (word, records holding it)."""
    return f"""(
        WITH _ty_x AS MATERIALIZED (SELECT * FROM {words} _x),
        _ty_v AS MATERIALIZED (SELECT w, n FROM {vocabulary} _v
                               WHERE n > {int(rare)} AND length(w) >= {TYPO_MIN_LETTERS - 1}
                                 AND NOT regexp_matches(w, '[0-9]')),
        _ty_a AS MATERIALIZED (SELECT a FROM (SELECT DISTINCT _word AS a FROM _ty_x) m LEFT JOIN _ty_v ON _ty_v.w = m.a
                               WHERE length(a) >= {TYPO_MIN_LETTERS} AND NOT regexp_matches(a, '[0-9]')
                                 AND _ty_v.w IS NULL),
        _ty_ad AS (SELECT a, a AS d FROM _ty_a
                   UNION ALL SELECT a, a[:i - 1] || a[i + 1:] FROM _ty_a, range(1, 100) r(i) WHERE i <= length(a)),
        _ty_vd AS (SELECT w, n, w AS d FROM _ty_v
                   UNION ALL SELECT w, n, w[:i - 1] || w[i + 1:] FROM _ty_v, range(1, 100) r(i) WHERE i <= length(w)),
        _ty_near AS (SELECT DISTINCT _ty_ad.a, _ty_vd.w AS b, _ty_vd.n AS bn FROM _ty_ad JOIN _ty_vd USING (d)
                     WHERE left(_ty_vd.w, 1) = left(_ty_ad.a, 1) AND damerau_levenshtein(_ty_ad.a, _ty_vd.w) = 1),
        _ty_best AS (SELECT a, b FROM _ty_near
                     QUALIFY row_number() OVER (PARTITION BY a ORDER BY bn DESC, b) <= {TYPO_NEIGHBOURS})
        SELECT _id, _word, _words FROM _ty_x
        UNION ALL
        SELECT _ty_x._id, _ty_best.b AS _word,
               trim(replace(' ' || _ty_x._words || ' ', ' ' || _ty_x._word || ' ', ' ' || _ty_best.b || ' ')) AS _words
        FROM _ty_x JOIN _ty_best ON _ty_x._word = _ty_best.a)"""


# Up to this many left records, :class:`SortedNeighbourhood` places them in the kept sorted list through
# every STRIDE-th entry (:meth:`SortedNeighbourhood._few_sql`); past it, one ASOF join over the whole
# list costs less (at a million accounts: about the same at 10,000 leads, 0.57 against 1.35 s at 50,000).
FEW_RECORDS = 5000


class SortedNeighbourhood(BlockingRule):
    """Pairs within ``window`` places of each other when all right records are sorted by ``key``
    (each left record is placed where it would sort). Catches a typo late in a name."""

    def __init__(self, key: str = "name_key", window: int = 3):
        super().__init__()
        self.key, self.window = key, window
        self.label = f"sorted_{key}"
        self.compares = frozenset(_COMPARES.get(key, (key,)))

    kept_whole = True

    def kept_sql(self, right: KeyTable) -> list[str]:
        k = self.key
        return [f"""SELECT "{right.id}" AS r_id, {_tie_broken(f'"{k}"', f'"{right.id}"')} AS k,
                           row_number() OVER (ORDER BY "{k}", "{right.id}") AS rk
                    FROM {right.relation} WHERE "{k}" IS NOT NULL"""]

    def sql(self, left: KeyTable, right: KeyTable, kept: list[str] | None = None) -> str:
        k, w = self.key, int(self.window)
        l_keys = f"""l AS (SELECT "{left.id}" AS l_id, {_tie_broken(f'"{k}"', f'"{left.id}"')} AS k
                  FROM {left.relation} WHERE "{k}" IS NOT NULL)"""
        near = f"near AS (SELECT p.l_id, p.rk + d.range AS rk FROM placed p, range({1 - w}, {w + 1}) d)"
        if kept and left.rows is not None and left.rows <= FEW_RECORDS:
            return self._few_sql(kept[0], l_keys, near)
        return f"""
            WITH s AS ({f"SELECT * FROM {kept[0]}" if kept else self.kept_sql(right)[0]}),
            {l_keys},
            placed AS (SELECT l.l_id, coalesce(s.rk, 0) AS rk FROM l ASOF LEFT JOIN s ON l.k >= s.k),
            {near}
            SELECT near.l_id, s.r_id FROM near JOIN s USING (rk)"""  # an equi-join: a range join is far slower

    @staticmethod
    def _few_sql(sorted_table: str, l_keys: str, near: str) -> str:
        """The same pairs for a few left records, placed without sorting the kept list again.

        An ASOF join sorts both its sides, so placing one new lead among a million sorted accounts
        sorted the million (0.28 s of CPU a tick). The kept list is numbered 1, 2, ... in sort order
        (``rk``), so a record's place is the greatest number whose key sorts at or before its own.
        Every :data:`STRIDE`-th entry is a mark, as in long kept blocks; the record is placed among the
        marks first (an ASOF join of a sixty-fourth of the list), then among the entries from its mark
        to the next, fetched by number: the next mark sorts after the record, so its place lies there
        (one lead 0.06 s, 1,000 leads 0.13 s, the same pairs; 0.29-0.37 s by one sort)."""
        b = STRIDE
        return f"""
            WITH {l_keys},
            marks AS (SELECT k, rk FROM {sorted_table} WHERE (rk - 1) % {b} = 0),
            anchor AS (SELECT l.l_id, l.k, coalesce(m.rk, 1) AS mark FROM l ASOF LEFT JOIN marks m ON l.k >= m.k),
            span AS (SELECT anchor.l_id, anchor.k, anchor.mark + d.range AS rk FROM anchor, range(0, {b}) d),
            placed AS (SELECT span.l_id, coalesce(max(s.rk) FILTER (WHERE s.k <= span.k), 0) AS rk
                       FROM span LEFT JOIN {sorted_table} s USING (rk) GROUP BY span.l_id),
            {near}
            SELECT near.l_id, s.r_id FROM near JOIN {sorted_table} s USING (rk)"""


def candidate_pairs(
    con: duckdb.DuckDBPyConnection, rules: list[BlockingRule], left: KeyTable, right: KeyTable,
    *, exclude_self: bool = False, ordered: bool = False, kept: dict[int, list[str]] | None = None,
) -> pd.DataFrame:
    """The union of every rule's pairs: one row per distinct (l_id, r_id).

    ``blocked_by`` is a bit mask of the rules that proposed the pair (bit i for ``rules[i]``;
    :func:`rule_names` spells it out). ``exclude_self`` drops pairs of a record with itself;
    ``ordered`` (one table against itself) keeps each unordered pair once, as ``l_id < r_id``.
    Rows come sorted by (l_id, r_id): DuckDB's threads hand groups back in any order, and the
    learning samples candidate pairs by position, so without it one warehouse could learn a
    slightly different model, and find slightly different duplicates, from one run to the next.
    One table against itself, the frame also holds :data:`POSITIONS` and ``attrs[SORTED_IDS]``.
    ``kept``: per rule (by position), relations holding its :meth:`BlockingRule.kept_sql` of
    ``right`` (see :mod:`pipelines.matching.block_index`); the same pairs, less work.
    """
    if not rules:
        raise ValueError("No blocking rules: add at least one under `blocking:` in matching.yaml.")
    # Rules may be one-sided (a record's rarest word, its neighbours below): in one table, a pair
    # either side proposes counts, written once with the smaller id first.
    ids = "least(l_id, r_id) AS l_id, greatest(l_id, r_id) AS r_id" if ordered else "l_id, r_id"
    where = "WHERE l_id <> r_id" if ordered or exclude_self else ""
    if left == right:
        return _coded_pairs(con, rules, left, ids, where)
    kept = kept or {}
    if kept:  # how many records the left side holds: a rule may plan differently for a few
        left = replace(left, rows=int(con.execute(f"SELECT count(*) FROM {left.relation}").fetchall()[0][0]))
    union = " UNION ALL ".join(f"SELECT l_id, r_id, {1 << i} AS rule FROM ({r.sql(left, right, kept.get(i))})"
                               for i, r in enumerate(rules))
    return con.execute(
        f"SELECT l_id, r_id, bit_or(rule)::INTEGER AS blocked_by FROM (SELECT {ids}, rule FROM ({union}) {where}) "
        f"GROUP BY l_id, r_id ORDER BY l_id, r_id"
    ).df()


# One table against itself, the pairs also carry each id's position among the table's sorted ids
# (``attrs[SORTED_IDS]``): the comparison reads the records by them, without looking tens of
# millions of ids up again (see :meth:`pipelines.matching.link.Linker.records`).
POSITIONS = ("_l_pos", "_r_pos")
SORTED_IDS = "sorted_ids"


def _coded_pairs(con: duckdb.DuckDBPyConnection, rules: list[BlockingRule], table: KeyTable, ids: str,
                 where: str) -> pd.DataFrame:
    """:func:`candidate_pairs` of one table against itself (``ids`` and ``where`` as there), blocked
    on each record's position among the sorted ids rather than its id, one rule at a time.

    A master rebuild at a million accounts proposes tens of millions of pairs. Grouping and sorting
    them as text, with every rule's blocks held at once in one union, took 9.6 GiB for the blocking
    alone (2.8 GiB this way, and half the CPU), and handing ids back as text made a Python string
    per cell, where the id array shares one per record.
    """
    known = con.execute(f'SELECT DISTINCT "{table.id}" AS id FROM {table.relation} '
                        f'WHERE "{table.id}" IS NOT NULL ORDER BY id').fetchnumpy()["id"]
    con.register("_block_ids", pd.DataFrame({"id": known, "_n": np.arange(len(known))}))
    coded = KeyTable(f'(SELECT c._n, t.* FROM {table.relation} t JOIN _block_ids c ON c.id = t."{table.id}")', "_n")
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _block_pairs (l_id BIGINT, r_id BIGINT, rule INTEGER)")
        for i, rule in enumerate(rules):
            con.execute(f"INSERT INTO _block_pairs SELECT {ids}, {1 << i} FROM ({rule.sql(coded, coded)}) {where}")
        found = con.execute("SELECT l_id, r_id, bit_or(rule)::INTEGER AS blocked_by FROM _block_pairs "
                            "GROUP BY l_id, r_id ORDER BY l_id, r_id").fetchnumpy()
        con.execute("DROP TABLE _block_pairs")
    finally:
        con.unregister("_block_ids")
    pairs = pd.DataFrame({"l_id": known[found["l_id"]], "r_id": known[found["r_id"]],
                          "blocked_by": found["blocked_by"].astype(np.int32),
                          POSITIONS[0]: found["l_id"].astype(np.int32), POSITIONS[1]: found["r_id"].astype(np.int32)})
    pairs.attrs[SORTED_IDS] = known
    return pairs


def blocking_report(con: duckdb.DuckDBPyConnection, rules: list[BlockingRule], left: KeyTable, right: KeyTable,
                    pairs: pd.DataFrame) -> pd.DataFrame:
    """Per rule: the pairs it proposed, those only it proposed, and the blocks over its cap that
    were sub-blocked (with the records in them). Nothing is ever dropped."""
    masks = pairs["blocked_by"].to_numpy(dtype=np.int64) if len(pairs) else np.zeros(0, dtype=np.int64)
    rows = []
    for i, rule in enumerate(rules):
        hit = (masks & (1 << i)) > 0
        only = masks == (1 << i)
        sql = rule.oversized_sql(left, right)
        blocks, records = con.execute(sql).fetchall()[0] if sql else (0, 0)
        rows.append({"rule": rule.label, "pairs": int(hit.sum()), "only_this_rule": int(only.sum()),
                     "sub_blocked_blocks": int(blocks or 0), "records_in_them": int(records or 0)})
    return pd.DataFrame(rows)


def describe_blocking(report: pd.DataFrame) -> list[str]:
    """One line per rule for people: pairs proposed, how many only it found, blocks sub-blocked."""
    lines = []
    for r in report.itertuples(index=False):
        line = f"blocking {r.rule}: {r.pairs:,} pairs ({r.only_this_rule:,} only by this rule)"
        if r.sub_blocked_blocks:
            line += (f"; {r.sub_blocked_blocks:,} block(s) over the cap sub-blocked ({r.records_in_them:,} records), "
                     "none dropped")
        lines.append(line)
    return lines


def rule_names(rules: list[BlockingRule], masks: pd.Series) -> pd.Series:
    """``blocked_by`` bit masks -> comma-separated rule labels."""
    out = pd.Series("", index=masks.index, dtype=object)
    for i, rule in enumerate(rules):
        hit = (masks.to_numpy(dtype=np.int64) & (1 << i)) > 0
        out = out.where(~hit, out.where(out == "", out + ",") + rule.label)
    return out


def _frames_index(rule: BlockingRule, df_a: pd.DataFrame, df_b: pd.DataFrame) -> pd.MultiIndex:
    from pipelines.matching.keys import registered  # its normalisers load only for recordlinkage's API

    with duckdb.connect() as con, contextlib.ExitStack() as stack:
        stack.enter_context(registered(con, "_a", df_a.reset_index(drop=True).assign(_pos=range(len(df_a)))))
        stack.enter_context(registered(con, "_b", df_b.reset_index(drop=True).assign(_pos=range(len(df_b)))))
        pairs = con.execute(
            f"SELECT DISTINCT l_id, r_id FROM ({rule.sql(KeyTable('_a', '_pos'), KeyTable('_b', '_pos'))}) "
            "ORDER BY l_id, r_id"
        ).df()
    return pd.MultiIndex.from_arrays(
        [df_a.index.take(pairs["l_id"].to_numpy()), df_b.index.take(pairs["r_id"].to_numpy())]
    )
