"""Unify: raw_* (CRM fields, text) -> lead, account, crm_user, opportunity, crm_queue.

Each canonical column is filled from its source fields in the precedence order of
``routing_rules/fields.yaml``: the first source whose value is non-empty *and*
casts to the column's type wins, and ``<column>__source`` records which one it
was. A value that is present but does not cast (``"lots"`` employees) is counted
and shown as an example, and the next source is tried; it never fails the batch.

The stage is incremental by version: it recomputes only rows whose raw version
(``_modstamp``) is newer than the unified one, so re-running it is free.
"""

from __future__ import annotations

import duckdb

from pipelines.crm.fields import KEY_COLUMN, FieldMapping, FieldSpec
from pipelines.stage import RunInfo, StageResult
from pipelines.warehouse.db import upsert
from pipelines.warehouse.schema import OBJECT_TABLES


def _clean(src: str) -> str:
    return f"NULLIF(trim(CAST(r.\"{src}\" AS VARCHAR)), '')"


def cast_sql(expr: str, type_: str) -> str:
    """SQL that casts a cleaned text expression to a canonical type, NULL when it does not cast."""
    if type_ == "text":
        return expr
    if type_ == "int":
        return f"TRY_CAST(TRY_CAST(replace(replace({expr}, ',', ''), ' ', '') AS DOUBLE) AS BIGINT)"
    if type_ == "float":
        return f"TRY_CAST(replace(replace({expr}, ',', ''), ' ', '') AS DOUBLE)"
    if type_ == "bool":
        return (
            f"CASE lower({expr}) WHEN 'true' THEN true WHEN '1' THEN true WHEN 'false' THEN false "
            f"WHEN '0' THEN false END"
        )
    if type_ == "timestamp":
        return f"TRY_CAST(TRY_CAST({expr} AS TIMESTAMPTZ) AS TIMESTAMP)"
    if type_ == "date":
        return f"coalesce(TRY_CAST({expr} AS DATE), TRY_CAST(TRY_CAST({expr} AS TIMESTAMPTZ) AS DATE))"
    raise ValueError(f"unknown type {type_!r}")


def column_sql(name: str, spec: FieldSpec) -> list[str]:
    """SELECT items for one canonical column (and its provenance when it has several sources)."""
    casted = [cast_sql(_clean(s), spec.type) for s in spec.sources]
    value = casted[0] if len(casted) == 1 else f"coalesce({', '.join(casted)})"
    items = [f'{value} AS "{name}"']
    if len(spec.sources) > 1:
        whens = " ".join(f"WHEN {c} IS NOT NULL THEN '{s}'" for c, s in zip(casted, spec.sources))
        items.append(f'CASE {whens} END AS "{name}__source"')
    return items


def cast_failures_sql(name: str, spec: FieldSpec) -> str | None:
    """Count and example of values present in a source but not castable to the column's type."""
    if spec.type == "text":
        return None
    conds = [f"({_clean(s)} IS NOT NULL AND {cast_sql(_clean(s), spec.type)} IS NULL)" for s in spec.sources]
    example = " ".join(
        f"WHEN {c} THEN '{s}=' || {_clean(s)}" for c, s in zip(conds, spec.sources)
    )
    return f"count(*) FILTER (WHERE {' OR '.join(conds)}) AS \"{name}\", " \
           f"any_value(CASE {example} END) FILTER (WHERE {' OR '.join(conds)}) AS \"{name}__example\""


def unify(con: duckdb.DuckDBPyConnection, mapping: FieldMapping, run: RunInfo) -> StageResult:
    result = StageResult("unify")
    for obj, m in mapping.objects.items():
        raw_table, table = OBJECT_TABLES[obj]
        key = KEY_COLUMN[obj]
        items = [i for name, spec in m.fields.items() for i in column_sql(name, spec)]
        changed = (
            f'FROM "{raw_table}" r LEFT JOIN "{table}" u ON u."{key}" = r."Id" '
            f"WHERE u.\"{key}\" IS NULL OR r._modstamp > u._modstamp"
        )
        df = con.execute(
            f"SELECT {', '.join(items)}, r._modstamp AS _modstamp, ?::TIMESTAMP AS _unified_at {changed}",
            [run.now],
        ).df()
        failures = [s for name, spec in m.fields.items() if (s := cast_failures_sql(name, spec))]
        if failures and len(df):
            row = con.execute(f"SELECT {', '.join(failures)} {changed}").df().iloc[0]
            for name in m.fields:
                if name in row and row[name]:
                    result.warnings.append(
                        f"{obj}.{name}: {int(row[name])} value(s) did not cast to {m.fields[name].type}, "
                        f"e.g. {row[name + '__example']}; the next source was used"
                    )
                    result.counts[f"{obj}_{name}_uncastable"] = int(row[name])
        upsert(con, table, df, [key])
        result.counts[f"{obj}_unified"] = len(df)
        if obj == "lead":
            result.preview = df.head(10)
    return result
