"""StageResult -> Dagster metadata, so each asset's page tells its part of the tick.

- ``dagster/row_count`` on every asset: the rows of the table the asset stands for;
- previews as ``MetadataValue.table`` with a ``TableSchema`` (owner ids shown as names);
- the same keys every tick: a key an earlier materialization had and this one lacks is
  carried as 0 (numbers), an empty table (tables) or "nothing this tick" (text), so the
  UI's plots have no gaps and a quiet tick reads as quiet, not as a different asset;
- what the tick cost each stage, under the same keys every tick so the UI plots them over
  time: ``stage/seconds`` (wall), ``stage/cpu_seconds`` (the process's CPU, DuckDB's and
  rapidfuzz's threads included) and ``stage/rows`` (the rows it worked on: its delta, not its
  table), ``stage/skipped``: ``no new rows`` when the stage had nothing to do, else ``ran``, and
  ``stage/peak_mib``: the tick process's peak resident memory when the stage ended, and
  ``stage/peak_rise_mib``: how much the stage raised it (a peak only rises, and a tick's stages
  run one after another in one process, so the stage with the largest rise set the tick's peak).
"""

from __future__ import annotations

import functools
import inspect
import resource
import time
from collections.abc import Callable
from datetime import UTC, datetime

import dagster as dg
import duckdb
import pandas as pd

from pipelines.defs.resources import ClockResource, WarehouseResource
from pipelines.stage import RunInfo, StageResult

ROW_COUNT = "dagster/row_count"
QUIET = "_nothing this tick_"
STAGE_SECONDS = "stage/seconds"
STAGE_CPU_SECONDS = "stage/cpu_seconds"
STAGE_ROWS = "stage/rows"
STAGE_PEAK_MIB = "stage/peak_mib"
STAGE_PEAK_RISE_MIB = "stage/peak_rise_mib"
SKIPPED = "stage/skipped"  # why a stage did nothing this tick, or RAN: the key is there every tick
RAN = "ran"

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
    if result.rows is not None:
        md[STAGE_ROWS] = dg.MetadataValue.int(int(result.rows))
    if result.skipped:
        md[SKIPPED] = dg.MetadataValue.text(result.skipped)
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


def run_info(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext, clock: ClockResource) -> RunInfo:
    """The run id, the runs it re-executes, and the one instant every asset and check of the run works with.

    A frozen clock's time, else the moment the run started, from its run record: the same for every
    step of the run, in whichever process it runs and however long the run takes, so a check that
    selects "the rows this tick wrote" (``_unified_at = now``) finds them. The start, not the creation:
    a run that waited in the queue must not call CRM records changed while it waited "from the future".
    A retry (Dagster re-executes only the failed steps) has its own instant; the instants of the runs it
    re-executes go in ``ancestor_nows``, since the stages it reuses stamped their rows with those.
    """
    run = context.run
    ancestors = tuple(dict.fromkeys(i for i in (run.parent_run_id, run.root_run_id) if i and i != run.run_id))
    if clock.frozen_at or context.instance is None:
        return RunInfo(run.run_id, clock.now(), ancestors)
    now = run_started(context.instance, run.run_id) or clock.now()
    earlier = (run_started(context.instance, a) for a in ancestors)
    return RunInfo(run.run_id, now, ancestors, tuple(t for t in earlier if t is not None))


def run_started(instance: dg.DagsterInstance, run_id: str) -> datetime | None:
    """When the run started (else was created), naive UTC like every timestamp in the warehouse."""
    record = instance.get_run_record_by_id(run_id)
    if record is None:
        return None
    ts = record.start_time if record.start_time is not None else record.create_timestamp.timestamp()
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None)


def peak_mib() -> int:
    """This process's peak resident memory so far, in MiB (Linux counts ``ru_maxrss`` in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def timed(fn: Callable) -> Callable:
    """An asset or check body whose wall and CPU seconds go into its result's metadata
    (:data:`STAGE_SECONDS`, :data:`STAGE_CPU_SECONDS`), with the process's peak memory so far
    and how much the stage raised it (:data:`STAGE_PEAK_MIB`, :data:`STAGE_PEAK_RISE_MIB`): what each
    stage costs, tick after tick.
    A body that yields its results (``routing_rules``) gets them on each result it yields."""

    def stamp(out, wall: float, cpu: float, peak: int):
        now_peak = peak_mib()
        spent = {STAGE_SECONDS: dg.MetadataValue.float(round(time.perf_counter() - wall, 3)),
                 STAGE_CPU_SECONDS: dg.MetadataValue.float(round(time.process_time() - cpu, 3)),
                 STAGE_PEAK_MIB: dg.MetadataValue.int(now_peak),
                 STAGE_PEAK_RISE_MIB: dg.MetadataValue.int(now_peak - peak)}
        ran = {SKIPPED: dg.MetadataValue.text(RAN)}  # unless the body said why it skipped
        if isinstance(out, dg.AssetCheckResult):
            return dg.AssetCheckResult(passed=out.passed, asset_key=out.asset_key, check_name=out.check_name,
                                       severity=out.severity, description=out.description,
                                       metadata={**ran, **(out.metadata or {}), **spent})
        if isinstance(out, dg.MaterializeResult):
            return dg.MaterializeResult(asset_key=out.asset_key, metadata={**ran, **(out.metadata or {}), **spent},
                                        check_results=out.check_results, data_version=out.data_version,
                                        tags=out.tags)
        return out

    def checkpoint(kwargs: dict) -> None:  # the stage's own writes, checkpointed inside its time
        for resource in kwargs.values():
            if isinstance(resource, WarehouseResource):
                resource.checkpoint_if_grown()

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def generator(*args, **kwargs):
            wall, cpu, peak = time.perf_counter(), time.process_time(), peak_mib()
            for out in fn(*args, **kwargs):
                checkpoint(kwargs)
                yield stamp(out, wall, cpu, peak)

        return generator

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        wall, cpu, peak = time.perf_counter(), time.process_time(), peak_mib()
        out = fn(*args, **kwargs)
        checkpoint(kwargs)
        return stamp(out, wall, cpu, peak)

    return wrapper
