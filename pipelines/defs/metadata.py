"""StageResult -> Dagster metadata, so each asset's page tells its part of the tick.

- ``dagster/row_count`` on every asset: the rows of the table the asset stands for;
- previews as ``MetadataValue.table`` with a ``TableSchema`` (owner ids shown as names);
- the same keys every tick: a key an earlier materialization had and this one lacks is
  carried as 0 (numbers), an empty table (tables) or "nothing this tick" (text), so the
  UI's plots have no gaps and a quiet tick reads as quiet, not as a different asset.
"""

from __future__ import annotations

import dagster as dg
import duckdb
import pandas as pd

from pipelines.defs.resources import ClockResource
from pipelines.stage import RunInfo, StageResult

ROW_COUNT = "dagster/row_count"
QUIET = "_nothing this tick_"

_TYPES = {"i": "int", "u": "int", "f": "float", "b": "bool", "M": "datetime"}


def table_value(df: pd.DataFrame, descriptions: dict[str, str] | None = None) -> dg.TableMetadataValue:
    """A DataFrame as a Dagster table with its schema (types from the dtypes; NA as empty)."""
    descriptions = descriptions or {}
    schema = dg.TableSchema(columns=[
        dg.TableColumn(str(c), _TYPES.get(df[c].dtype.kind, "string"), description=descriptions.get(str(c)))
        for c in df.columns])
    records = []
    for row in df.itertuples(index=False):
        values = {}
        for c, v in zip(df.columns, row):
            if v is None or (not isinstance(v, (list, dict, str)) and pd.isna(v)):
                values[str(c)] = None  # every record carries every column
                continue
            kind = _TYPES.get(df[c].dtype.kind, "string")
            values[str(c)] = (int(v) if kind == "int" else float(v) if kind == "float" else bool(v) if kind == "bool"
                              else str(v))
        records.append(dg.TableRecord(values))
    return dg.MetadataValue.table(records, schema)


def with_names(con: duckdb.DuckDBPyConnection, df: pd.DataFrame) -> pd.DataFrame:
    """Owner ids (users or queues) replaced by their names, for people reading the UI."""
    cols = [c for c in df.columns if str(c).endswith("owner_id")]
    if not cols or df.empty:
        return df
    names = dict(con.execute("SELECT user_id, name FROM crm_user UNION ALL SELECT queue_id, name FROM crm_queue")
                 .fetchall())
    out = df.copy()
    for c in cols:
        out[c] = out[c].map(lambda v: names.get(v, v) if isinstance(v, str) else v)
        out = out.rename(columns={c: str(c).removesuffix("_id") or "owner"})
    return out


def stage_metadata(result: StageResult, con: duckdb.DuckDBPyConnection | None = None) -> dict[str, dg.MetadataValue]:
    md: dict[str, dg.MetadataValue] = {k: dg.MetadataValue.int(int(v)) for k, v in result.counts.items()}
    if result.preview is not None and len(result.preview):
        preview = result.preview.head(10)
        md["preview"] = table_value(with_names(con, preview) if con is not None else preview)
    if result.details:
        md["details"] = dg.MetadataValue.json(result.details)
    if result.warnings:
        md["warnings"] = dg.MetadataValue.md("\n".join(f"- {w}" for w in result.warnings))
    return md


def stable(context: dg.AssetExecutionContext, md: dict) -> dict:
    """``md`` with every key the asset's previous materialization had (see the module docstring)."""
    if context.has_partition_key or context.instance is None:
        return md
    event = context.instance.get_latest_materialization_event(context.asset_key)
    if event is None or event.asset_materialization is None:
        return md
    out = dict(md)
    for key, value in event.asset_materialization.metadata.items():
        if key in out or key == ROW_COUNT:
            continue
        if isinstance(value, dg.IntMetadataValue):
            out[key] = dg.MetadataValue.int(0)
        elif isinstance(value, dg.FloatMetadataValue):
            out[key] = dg.MetadataValue.float(0.0)
        elif isinstance(value, dg.TableMetadataValue):
            out[key] = dg.MetadataValue.table([], value.schema)
        elif isinstance(value, dg.JsonMetadataValue):
            out[key] = dg.MetadataValue.json({})
        elif isinstance(value, dg.MarkdownMetadataValue):
            out[key] = dg.MetadataValue.md(QUIET)
    return out


def materialize(context: dg.AssetExecutionContext, result: StageResult, *, rows: int,
                con: duckdb.DuckDBPyConnection | None = None, **extra) -> dg.MaterializeResult:
    """The stage's result as the asset's materialization: counts, preview, details, and ``rows`` as its row count."""
    for warning in result.warnings:
        context.log.warning(warning)
    context.log.info(result.line())
    # What the asset adds (the tick's story, fill rates) first: the UI lists metadata in this order.
    md = {**extra, **stage_metadata(result, con), ROW_COUNT: dg.MetadataValue.int(int(rows))}
    return dg.MaterializeResult(metadata=stable(context, md))


def run_info(context: dg.AssetExecutionContext, clock: ClockResource) -> RunInfo:
    """The run id, the runs it re-executes, and the (possibly frozen) time every stage works with."""
    run = context.run
    ancestors = tuple(dict.fromkeys(i for i in (run.parent_run_id, run.root_run_id) if i and i != run.run_id))
    return RunInfo(run.run_id, clock.now(), ancestors)
