"""Fill rates: how often each canonical column has a value, before and after unification.

*Before* is the column's first listed source alone (what a report on the standard
field shows: Lead.Industry ~15 %); *after* is the unified column (the same leads,
every source, mapped and cast: ~85 %). ``by_source`` says which field filled how
many, from the provenance column. Both are computed over the records in the unified
table, so the numbers compare like with like.

*Before* needs the raw record, and joining a million raw rows to their unified rows and
cleaning every first source cost ~1.7 s of CPU per object and call, every tick. So each
unified row keeps its *before* flags (``_first_filled``): a signature of the mapping's
first sources, then ``1``/``0`` per column. Unify writes them with the row
(:func:`first_filled_sql`); a row without them (written by an older release) is flagged from raw
by the next computation (and every row once after ``fields.yaml`` changes which source is first).

Even one scan of the unified table (a count per column and source) cost about a second at a
million records, two or three times a tick. So the counts are kept too (``fill_rate_count``):
unify subtracts the rows it replaces and adds the rows it writes (:func:`keeping_counts`), and
the rates are read from the kept counts. They are counted afresh when none are kept for the
mapping's fields and sources as they are now.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from datetime import datetime

import duckdb
import pandas as pd

from pipelines.crm.fields import KEY_COLUMN, FieldMapping
from pipelines.unify.columns import clean_sql
from pipelines.warehouse import inputs
from pipelines.warehouse.db import transaction
from pipelines.warehouse.schema import OBJECT_TABLES

KEPT = "fill_rate_count"


def fill_rates(con: duckdb.DuckDBPyConnection, mapping: FieldMapping, obj: str,
               now: datetime | None = None) -> pd.DataFrame:
    """One row per canonical column: sources, before %, after %, gain and the share each source filled."""
    raw_table, table = OBJECT_TABLES[obj]
    key = KEY_COLUMN[obj]
    fields = _fields(mapping, obj)
    columns = ["column", "sources", "records", "before_pct", "after_pct", "gain_pct", "by_source"]
    if not fields:
        return pd.DataFrame(columns=columns)
    signature = _signature(fields)
    row = _kept(con, obj, signature)
    if row is None:
        row = _counts(con, table, raw_table, key, fields)
        if _writable(con) and _kept_table(con):
            _keep(con, obj, signature, row, counted_at=now, fresh=True)
    n = int(row["n"])
    out = []
    for i, (name, spec) in enumerate(fields.items()):
        before = 100.0 * row[f"b{i}"] / n if n else 0.0
        after = 100.0 * row[f"a{i}"] / n if n else 0.0
        by_source = ({s: int(row[f"s{i}_{k}"]) for k, s in enumerate(spec.sources)} if len(spec.sources) > 1 else {})
        out.append({"column": name, "sources": ", ".join(spec.sources), "records": n,
                    "before_pct": round(before, 1), "after_pct": round(after, 1),
                    "gain_pct": round(after - before, 1), "by_source": by_source})
    return pd.DataFrame(out, columns=columns)


@contextlib.contextmanager
def keeping_counts(con: duckdb.DuckDBPyConnection, mapping: FieldMapping, obj: str, keys: pd.Series) -> Iterator[None]:
    """Around a write of the unified rows with these ``keys``: the kept counts lose the rows replaced
    and gain the rows written, in the same transaction. Nothing kept for this mapping: nothing to do
    (the next :func:`fill_rates` counts every row)."""
    raw_table, table = OBJECT_TABLES[obj]
    key = KEY_COLUMN[obj]
    fields = _fields(mapping, obj)
    signature = _signature(fields) if fields else None
    kept = _kept(con, obj, signature) if fields else None
    if kept is None or not len(keys):
        yield
        return
    con.register("_fill_keys", pd.DataFrame({"k": pd.Series(keys, dtype=object).to_numpy()}))
    try:
        with transaction(con):
            replaced = _counts(con, table, raw_table, key, fields, "_fill_keys")
            yield
            written = _counts(con, table, raw_table, key, fields, "_fill_keys")
            _keep(con, obj, signature, kept - replaced + written, fresh=False)
    finally:
        con.unregister("_fill_keys")


def _fields(mapping: FieldMapping, obj: str) -> dict:
    key = KEY_COLUMN[obj]
    return {n: s for n, s in mapping.objects[obj].fields.items() if n != key}


def _signature(fields: dict) -> str:
    """What the counts are of: every column with its sources in order (the first is *before*)."""
    return hashlib.blake2b(repr([(n, list(s.sources)) for n, s in fields.items()]).encode(), digest_size=8).hexdigest()


def _kept_table(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the warehouse has the table (one made by an older release, or a test's, may not)."""
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND "
                            "database_name = current_database()", [KEPT]).fetchall()[0][0])


def _kept(con: duckdb.DuckDBPyConnection, obj: str, signature: str | None) -> pd.Series | None:
    if signature is None or not _kept_table(con):
        return None
    row = con.execute(f"SELECT counts FROM {KEPT} WHERE object = ? AND signature = ?", [obj, signature]).fetchall()
    return pd.Series(json.loads(row[0][0]), dtype="int64") if row else None


def _keep(con: duckdb.DuckDBPyConnection, obj: str, signature: str, counts: pd.Series, *,
          counted_at: datetime | None = None, fresh: bool) -> None:
    """Store ``counts``: ``fresh``, a count of every row (stamped ``counted_at``); else kept counts moved on."""
    text = json.dumps({k: int(v) for k, v in counts.items()})
    if not fresh:
        con.execute(f"UPDATE {KEPT} SET counts = ? WHERE object = ? AND signature = ?", [text, obj, signature])
        return
    with transaction(con):
        con.execute(f"DELETE FROM {KEPT} WHERE object = ?", [obj])
        con.execute(f"INSERT INTO {KEPT} VALUES (?, ?, ?, ?)", [obj, signature, text, counted_at])


def _writable(con: duckdb.DuckDBPyConnection) -> bool:
    return not con.execute("SELECT readonly FROM duckdb_databases() WHERE database_name = current_database()"
                           ).fetchall()[0][0]


def _first_sources(fields: dict) -> list[tuple[str, str]]:
    """(column, its first source): what *before* counts."""
    return [(name, spec.sources[0]) for name, spec in fields.items()]


def _flags(fields: dict, alias: str = "r") -> tuple[str, str]:
    """(the signature of the fields' first sources, SQL of a raw record's flags: ``1``/``0`` per field,
    whether its first source, as ``alias``, is filled)."""
    sources = _first_sources(fields)
    sig = hashlib.blake2b(repr(sources).encode(), digest_size=4).hexdigest() + ":"
    return sig, " || ".join(f"CASE WHEN {clean_sql(first, alias)} IS NULL THEN '0' ELSE '1' END" for _, first in sources)


def first_filled_sql(mapping: FieldMapping, obj: str, alias: str = "r") -> str | None:
    """SQL of a unified row's ``_first_filled`` from its raw record (``alias``), for unify to write with the
    row (None: no fields): the flags :func:`keeping_counts` then reads as they are. Written afterwards
    instead, they cost an UPDATE of every row written, and the commit of it: 5 of the 24 s of CPU that
    unifying 300,000 leads a mass update saved again took at a million accounts."""
    fields = _fields(mapping, obj)
    if not fields:
        return None
    sig, flags = _flags(fields, alias)
    return f"'{sig}' || {flags}"


# The batch's unified rows, read by key alone before they are looked at (see inputs.rows_of): with the
# flags' filter beside the key, counting them and finding their stale flags read every row of the table.
_BATCH_ROWS = "_fill_batch_rows"


def _counts(con: duckdb.DuckDBPyConnection, table: str, raw_table: str, key: str, fields: dict,
            keys: str | None = None) -> pd.Series:
    """Records, and per column: filled by the first source (``b``), filled (``a``), by each source
    (``s``), over the unified rows (``keys``: only those whose key a relation's ``k`` lists)."""
    where = f'u."{key}" IN (SELECT k FROM {keys})' if keys else "TRUE"
    raw = f'(SELECT * FROM "{raw_table}" WHERE "Id" IN (SELECT k FROM {keys}))' if keys else f'"{raw_table}"'
    sources = _first_sources(fields)
    sig, flags = _flags(fields)
    width = len(sig) + len(fields)
    stale = f"(u._first_filled IS NULL OR NOT starts_with(u._first_filled, '{sig}'))"
    kept = "_first_filled" in {r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall()}
    batch = inputs.rows_of(con, _BATCH_ROWS, table, key, keys) if keys and kept else None
    try:
        read, among = (f"{batch} u", "TRUE") if batch else (f'"{table}" u', where)
        stale_rows = (con.execute(f"SELECT count(*) FROM {read} WHERE {stale} AND {among}").fetchall()[0][0]
                      if kept else None)
        if stale_rows and _writable(con):
            # A row without a raw record is marked, not left stale: it would be looked up every call.
            con.execute(
                f'UPDATE "{table}" SET _first_filled = f.flags FROM ('
                f"SELECT u.\"{key}\" AS k, CASE WHEN r.\"Id\" IS NULL THEN '{sig}-' ELSE '{sig}' || {flags} END AS flags "
                f'FROM "{table}" u LEFT JOIN {raw} r ON r."Id" = u."{key}" WHERE {stale} AND {where}) f '
                f'WHERE "{table}"."{key}" = f.k')
            stale_rows = 0
            if batch:  # read again with their flags
                inputs.rows_of(con, _BATCH_ROWS, table, key, keys)
        if kept and not stale_rows:
            before = [f"count_if(substr(u._first_filled, {len(sig) + i + 1}, 1) = '1')" for i in range(len(fields))]
            source, only = read, f"length(u._first_filled) = {width} AND {among}"
        else:  # stale flags a read-only warehouse (the report) cannot refresh, or none in an older schema: join
            before = [f"count({clean_sql(first)})" for _, first in sources]
            source, only = f'"{table}" u JOIN {raw} r ON r."Id" = u."{key}"', where
        items = ["count(*) AS n"]
        for i, (name, spec) in enumerate(fields.items()):
            items.append(f"{before[i]} AS b{i}")
            items.append(f'count(u."{name}") AS a{i}')
            if len(spec.sources) > 1:
                items += [f"count(*) FILTER (WHERE u.\"{name}__source\" = '{s}') AS s{i}_{k}"
                          for k, s in enumerate(spec.sources)]
        return con.execute(f"SELECT {', '.join(items)} FROM {source} WHERE {only}").df().iloc[0].fillna(0).astype("int64")
    finally:
        inputs.forget(con, batch)


def fill_rate_markdown(rates: pd.DataFrame, only_changed: bool = False) -> str:
    """A markdown table for the Dagster UI and the report: column, before, after, sources."""
    if rates.empty:
        return "(no records)"
    shown = rates[rates["gain_pct"] != 0] if only_changed else rates
    lines = ["| column | before | after | filled by |", "|---|---:|---:|---|"]
    for r in shown.itertuples():
        by = ", ".join(f"{s} {v:,}" for s, v in (r.by_source or {}).items() if v) or r.sources
        lines.append(f"| {r.column} | {r.before_pct:.1f}% | {r.after_pct:.1f}% | {by} |")
    return "\n".join(lines)
