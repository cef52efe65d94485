"""The account side of blocking, worked out once and kept in the warehouse between ticks.

Blocking leads against the account master (:mod:`pipelines.matching.index`) has two halves:
the leads' keys, and for every key of the accounts how many accounts hold it and, in blocks
over a rule's cap, each account's place in the sorted block. The second half depends on the
accounts alone, yet a tick with 10,000 leads redid it over a million accounts every five
minutes (the words rule alone exploded, sized and sorted 2.5 million (word, account) rows).
It is now a table per rule (``kept_blocks_<relation>_<rule>_<part>``, sorted by key), and a
tick works out only its leads' side.

Upkeep follows the accounts: the master stage rewrites keys inside :func:`rewriting`, which
tells :func:`changed` of the records whose keys moved, came or went, and the next use redoes only
the blocks those records left or joined, from the rows kept and the changed records' new rows:
every row keeps its sort key, so a block is numbered again without going back to the accounts.
The sorted-names rule, whose ranks any change shifts, is redone whole; everything is built again
when more than :data:`REBUILD_SHARE` of the records changed, as on the first build. The tables
are used only while their rules (labels, keys, caps, windows) are those they were built from and
they hold as many records as the key table; otherwise they are built again. Either way the pairs
are the ones blocking without them finds (``tests/test_matching_engine.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator, Sequence

import duckdb

from pipelines.matching.index import BlockingRule, KeyTable, Renumbered, numbered_blocks

META = "kept_blocks"
CHANGED = "kept_blocks_changed"
VERSION = 2  # of the tables' layout (2: every row keeps its sort key): a new one builds them again
REBUILD_SHARE = 0.05  # more records changed than this: build every table again


def fingerprint(rules: list[BlockingRule], right: KeyTable) -> str:
    """What the kept tables were built from: the rules' settings and the right relation (sets
    sorted: their order changes from one process to the next)."""
    def plain(value) -> str:
        return repr(sorted(value)) if isinstance(value, (set, frozenset)) else repr(value)

    spec = [(type(r).__name__, sorted((k, plain(v)) for k, v in vars(r).items() if not k.startswith("_")))
            for r in rules]
    return hashlib.sha256(json.dumps([VERSION, right.relation, right.id, spec]).encode()).hexdigest()[:16]


def _kept(con: duckdb.DuckDBPyConnection, relation: str) -> bool:
    """Whether blocks of ``relation`` are kept. A database without the warehouse's schema (a
    benchmark's, a CSV run's) keeps none; asked of it, DuckDB would look for a Python object named
    like the table."""
    if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [META]).fetchall()[0][0]:
        return False
    return bool(con.execute(f"SELECT count(*) FROM {META} WHERE relation = ?", [relation]).fetchall()[0][0])


def changed(con: duckdb.DuckDBPyConnection, relation: str, ids: list) -> None:
    """The keys of ``ids`` in ``relation`` were rewritten or removed: their blocks are redone at next use."""
    if not len(ids) or not _kept(con, relation):
        return  # nothing kept yet: the first use builds it all
    if len(ids) > REBUILD_SHARE * _count(con, relation):  # a rebuild: no use listing a million ids
        con.execute(f"DELETE FROM {META} WHERE relation = ?", [relation])
        con.execute(f"DELETE FROM {CHANGED} WHERE relation = ?", [relation])
        return
    con.execute(f"INSERT INTO {CHANGED} SELECT ?, unnest(?)", [relation, [str(i) for i in ids]])


@contextlib.contextmanager
def rewriting(con: duckdb.DuckDBPyConnection, right: KeyTable, ids: list, columns: Sequence[str]) -> Iterator[list]:
    """Around a rewrite of the keys of ``ids`` in ``right``: afterwards, the list it yields holds the
    records whose ``columns`` differ (or that came or went), and :func:`changed` hears of those, not
    of every record rewritten.

    An account edited where no key reads (its owner, its industry, a phone typed with other
    punctuation) is keyed again with the same keys: its blocks stay as they are, and so do its
    duplicate pairs (:func:`pipelines.matching.master.refresh_keys`). With more than
    :data:`REBUILD_SHARE` of the records rewritten, every one of them counts as moved."""
    moved: list = []
    if not ids:
        yield moved
        return
    if len(ids) > REBUILD_SHARE * _count(con, right.relation):
        yield moved
        moved.extend(ids)
        changed(con, right.relation, ids)
        return
    cols = ", ".join(f'"{c}"' for c in columns)
    con.execute(f'CREATE OR REPLACE TEMP TABLE _kept_before AS SELECT "{right.id}" AS _id, {cols} FROM {right.relation} '
                f'WHERE "{right.id}" IN (SELECT unnest(?))', [list(ids)]).fetchall()
    try:
        yield moved
        moved.extend(r[0] for r in con.execute(f"""
            SELECT coalesce(b._id, a._id) FROM _kept_before b FULL JOIN
                (SELECT "{right.id}" AS _id, {cols} FROM {right.relation} WHERE "{right.id}" IN (SELECT unnest(?))) a
                ON a._id = b._id
            WHERE a._id IS NULL OR b._id IS NULL OR ({', '.join(f'a."{c}"' for c in columns)})
                  IS DISTINCT FROM ({', '.join(f'b."{c}"' for c in columns)})
            ORDER BY 1""", [list(ids)]).fetchall())
        changed(con, right.relation, moved)
    finally:
        con.execute("DROP TABLE IF EXISTS _kept_before")


def kept_blocks(con: duckdb.DuckDBPyConnection, rules: list[BlockingRule], right: KeyTable) -> dict[int, list[str]]:
    """Per rule (by position), the tables holding its work on ``right``, brought up to date. Empty
    (each query then works it out itself: the same pairs) where nothing can be stored: a read-only
    warehouse, a copy that holds the tables as views, or a database without the warehouse's
    schema (the tables are declared in :mod:`pipelines.warehouse.schema`)."""
    try:
        want, records = fingerprint(rules, right), _count(con, right.relation)
        row = con.execute(f"SELECT fingerprint, records, tables FROM {META} WHERE relation = ?",
                          [right.relation]).fetchone()
        pending = con.execute(f"SELECT count(DISTINCT id) FROM {CHANGED} WHERE relation = ?",
                              [right.relation]).fetchone()[0]
        if row and row[0] == want and not pending and row[1] == records:
            return _tables(row[2])
        if row and row[0] == want and pending and pending <= REBUILD_SHARE * max(records, 1):
            tables = _tables(row[2])
            _update(con, rules, right, tables)
        else:
            tables = _build(con, rules, right, _tables(row[2]) if row else {})
        con.execute(f"DELETE FROM {CHANGED} WHERE relation = ?", [right.relation])
        con.execute(f"DELETE FROM {META} WHERE relation = ?", [right.relation])
        con.execute(f"INSERT INTO {META} VALUES (?, ?, ?, ?)", [right.relation, want, records, json.dumps(tables)])
        return tables
    except (duckdb.InvalidInputException, duckdb.CatalogException, duckdb.PermissionException):
        return {}


def _count(con: duckdb.DuckDBPyConnection, relation: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {relation}").fetchall()[0][0])


def _tables(text: str) -> dict[int, list[str]]:
    return {int(i): names for i, names in json.loads(text).items()}


def _build(con: duckdb.DuckDBPyConnection, rules: list[BlockingRule], right: KeyTable,
           old: dict[int, list[str]]) -> dict[int, list[str]]:
    con.execute(f"DELETE FROM {META} WHERE relation = ?", [right.relation])
    for name in (n for names in old.values() for n in names):
        con.execute(f"DROP TABLE IF EXISTS {name}")
    tables: dict[int, list[str]] = {}
    for i, rule in enumerate(rules):
        for j, sql in enumerate(rule.kept_sql(right)):
            name = f"{META}_{right.relation}_{i}_{j}"
            con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM ({sql}) ORDER BY k")
            tables.setdefault(i, []).append(name)
    return tables


def _update(con: duckdb.DuckDBPyConnection, rules: list[BlockingRule], right: KeyTable,
            tables: dict[int, list[str]]) -> None:
    """Redo the blocks the changed records left (their rows' keys) or joined (their keys now), from
    the rows kept for the records that did not change and the changed records' new rows: the work
    follows the changed records and the blocks they touch, never a scan of every record's keys.

    (Worked out again from the accounts, the forty changes of a tick at a million accounts cost
    11 s: their words sit in blocks holding 450,000 rows, and finding those rows meant exploding
    every account's words again.)"""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _kept_ids AS SELECT DISTINCT id FROM {CHANGED} WHERE relation = ?",
                [right.relation])
    ids = "(SELECT id FROM _kept_ids)"
    con.execute(f'CREATE OR REPLACE TEMP TABLE _kept_now AS SELECT * FROM {right.relation} WHERE "{right.id}" IN {ids}')
    now = KeyTable("_kept_now", right.id)  # the changed records as they are now: one scan, not one per rule
    for i, rule in enumerate(rules):
        for j, name in enumerate(tables.get(i, [])):
            if rule.kept_whole:
                con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM ({rule.kept_sql(right)[j]}) ORDER BY k")
                continue
            con.execute(f"CREATE OR REPLACE TEMP TABLE _kept_new AS {rule.kept_rows_sql(now)[j]}")
            con.execute(f"""CREATE OR REPLACE TEMP TABLE _kept_keys AS
                            SELECT k FROM {name} WHERE r_id IN {ids} UNION SELECT k FROM _kept_new""")
            rows = f"""SELECT k, r_id, t FROM {name} WHERE k IN (SELECT k FROM _kept_keys) AND r_id NOT IN {ids}
                       UNION ALL SELECT k, r_id, t FROM _kept_new"""
            con.execute(f"CREATE OR REPLACE TEMP TABLE _kept_redone AS {numbered_blocks(rows, rule.max_size)}")
            con.execute(f"DELETE FROM {name} WHERE k IN (SELECT k FROM _kept_keys)")
            con.execute(f"INSERT INTO {name} SELECT * FROM _kept_redone ORDER BY k")
    for temp in ("_kept_new", "_kept_keys", "_kept_redone", "_kept_now", "_kept_ids"):
        con.execute(f"DROP TABLE IF EXISTS {temp}")


def borrowed_blocks(con: duckdb.DuckDBPyConnection, rules: list[BlockingRule], right: KeyTable,
                    keeper: list[BlockingRule]) -> dict[int, list[str]]:
    """Per rule of ``rules`` (the account master's deduplication), the tables kept for a rule of
    ``keeper`` (the lead match's rules, whose blocks of ``right`` are kept) that holds the same rows,
    brought up to date first: the master compares the accounts that moved with every account without
    exploding a million names again. A kept table numbered for a larger cap is read
    :class:`~pipelines.matching.index.Renumbered`. Nothing is built here: with no tables kept for
    ``keeper`` yet (the first lead match builds them), the rules work from scratch."""
    if not _kept(con, right.relation):
        return {}
    row = con.execute(f"SELECT fingerprint FROM {META} WHERE relation = ?", [right.relation]).fetchone()
    if not row or row[0] != fingerprint(keeper, right):
        return {}
    tables = kept_blocks(con, keeper, right)
    out: dict[int, list[str]] = {}
    for i, rule in enumerate(rules):
        mine = rule.kept_sql(right) if rule.kept_whole else rule.kept_rows_sql(right)
        for j, theirs in enumerate(keeper):
            if type(theirs) is not type(rule) or j not in tables:
                continue
            if (theirs.kept_sql(right) if theirs.kept_whole else theirs.kept_rows_sql(right)) != mine:
                continue
            if rule.kept_whole or theirs.max_size <= rule.max_size:
                out[i] = list(tables[j])
            else:
                out[i] = [Renumbered(name) for name in tables[j]]
            break
    return out
