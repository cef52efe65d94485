"""Fill rates: how often each canonical column has a value, before and after unification.

*Before* is the column's first listed source alone (what a report on the standard
field shows: Lead.Industry ~15 %); *after* is the unified column (the same leads,
every source, mapped and cast: ~85 %). ``by_source`` says which field filled how
many, from the provenance column. Both are computed over the records in the unified
table, so the numbers compare like with like.

*Before* needs the raw record, and joining a million raw rows to their unified rows and
cleaning every first source cost ~1.7 s of CPU per object and call, every tick. So each
unified row keeps its *before* flags (``_first_filled``): a signature of the mapping's
first sources, then ``1``/``0`` per column. Unify writes a row afresh without them; the
next computation flags just those rows from raw (and every row once after ``fields.yaml``
changes which source is first), and the rates themselves are one scan of the unified table.
"""

from __future__ import annotations

import hashlib

import duckdb
import pandas as pd

from pipelines.crm.fields import KEY_COLUMN, FieldMapping
from pipelines.unify.columns import clean_sql
from pipelines.warehouse.schema import OBJECT_TABLES


def fill_rates(con: duckdb.DuckDBPyConnection, mapping: FieldMapping, obj: str) -> pd.DataFrame:
    """One row per canonical column: sources, before %, after %, gain and the share each source filled."""
    raw_table, table = OBJECT_TABLES[obj]
    key = KEY_COLUMN[obj]
    fields = {n: s for n, s in mapping.objects[obj].fields.items() if n != key}
    columns = ["column", "sources", "records", "before_pct", "after_pct", "gain_pct", "by_source"]
    if not fields:
        return pd.DataFrame(columns=columns)
    row = _counts(con, table, raw_table, key, fields)
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


def _counts(con: duckdb.DuckDBPyConnection, table: str, raw_table: str, key: str, fields: dict) -> pd.Series:
    sources = [(name, spec.sources[0]) for name, spec in fields.items()]
    sig = hashlib.blake2b(repr(sources).encode(), digest_size=4).hexdigest() + ":"
    width = len(sig) + len(fields)
    flags = " || ".join(f"CASE WHEN {clean_sql(first)} IS NULL THEN '0' ELSE '1' END" for _, first in sources)
    stale = f"(u._first_filled IS NULL OR NOT starts_with(u._first_filled, '{sig}'))"
    kept = "_first_filled" in {r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall()}
    stale_rows = con.execute(f'SELECT count(*) FROM "{table}" u WHERE {stale}').fetchall()[0][0] if kept else None
    writable = not con.execute("SELECT readonly FROM duckdb_databases() WHERE database_name = current_database()"
                               ).fetchall()[0][0]
    if stale_rows and writable:
        # A row without a raw record is marked, not left stale: it would be looked up every call.
        con.execute(
            f'UPDATE "{table}" SET _first_filled = f.flags FROM ('
            f"SELECT u.\"{key}\" AS k, CASE WHEN r.\"Id\" IS NULL THEN '{sig}-' ELSE '{sig}' || {flags} END AS flags "
            f'FROM "{table}" u LEFT JOIN "{raw_table}" r ON r."Id" = u."{key}" WHERE {stale}) f '
            f'WHERE "{table}"."{key}" = f.k')
        stale_rows = 0
    if kept and not stale_rows:
        before = [f"count_if(substr(u._first_filled, {len(sig) + i + 1}, 1) = '1')" for i in range(len(fields))]
        source, where = f'"{table}" u', f"length(u._first_filled) = {width}"
    else:  # stale flags a read-only warehouse (the report) cannot refresh, or none in an older schema: join
        before = [f"count({clean_sql(first)})" for _, first in sources]
        source, where = f'"{table}" u JOIN "{raw_table}" r ON r."Id" = u."{key}"', "true"
    items = ["count(*) AS n"]
    for i, (name, spec) in enumerate(fields.items()):
        items.append(f"{before[i]} AS b{i}")
        items.append(f'count(u."{name}") AS a{i}')
        if len(spec.sources) > 1:
            items += [f"count(*) FILTER (WHERE u.\"{name}__source\" = '{s}') AS s{i}_{k}"
                      for k, s in enumerate(spec.sources)]
    return con.execute(f"SELECT {', '.join(items)} FROM {source} WHERE {where}").df().iloc[0]


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
