"""Fill rates: how often each canonical column has a value, before and after unification.

*Before* is the column's first listed source alone (what a report on the standard
field shows: Lead.Industry ~15 %); *after* is the unified column (the same leads,
every source, mapped and cast: ~85 %). ``by_source`` says which field filled how
many, from the provenance column. Both are computed over the records in the unified
table, so the numbers compare like with like.
"""

from __future__ import annotations

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
    items = ["count(*) AS n"]
    for i, (name, spec) in enumerate(fields.items()):
        items.append(f"count({clean_sql(spec.sources[0])}) AS b{i}")
        items.append(f'count(u."{name}") AS a{i}')
        if len(spec.sources) > 1:
            items += [f"count(*) FILTER (WHERE u.\"{name}__source\" = '{s}') AS s{i}_{k}"
                      for k, s in enumerate(spec.sources)]
    row = con.execute(
        f'SELECT {", ".join(items)} FROM "{table}" u JOIN "{raw_table}" r ON r."Id" = u."{key}"'
    ).df().iloc[0]
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
