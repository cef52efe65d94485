"""StageResult -> Dagster metadata: row counts, a markdown preview and details, so the UI tells the story.

Every stage also reports what the tick cost it, under the same keys every tick so the UI plots
them over time: ``stage/seconds`` (wall), ``stage/cpu_seconds`` (the process's CPU, DuckDB's and
rapidfuzz's threads included) and ``stage/rows`` (the rows it worked on: its delta, not its
table). A stage with nothing to do says ``skipped: no new rows``.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

import dagster as dg

from pipelines.defs.resources import ClockResource
from pipelines.stage import RunInfo, StageResult


STAGE_SECONDS = "stage/seconds"
STAGE_CPU_SECONDS = "stage/cpu_seconds"
STAGE_ROWS = "stage/rows"
SKIPPED = "skipped"


def stage_metadata(result: StageResult) -> dict[str, dg.MetadataValue]:
    md: dict[str, dg.MetadataValue] = {k: dg.MetadataValue.int(int(v)) for k, v in result.counts.items()}
    if result.rows is not None:
        md[STAGE_ROWS] = dg.MetadataValue.int(int(result.rows))
    if result.skipped:
        md[SKIPPED] = dg.MetadataValue.text(result.skipped)
    if result.preview is not None and len(result.preview):
        md["preview"] = dg.MetadataValue.md(result.preview.head(10).astype(str).to_markdown(index=False))
    if result.details:
        md["details"] = dg.MetadataValue.json(result.details)
    if result.warnings:
        md["warnings"] = dg.MetadataValue.md("\n".join(f"- {w}" for w in result.warnings))
    return md


def materialize(context: dg.AssetExecutionContext, result: StageResult, **extra) -> dg.MaterializeResult:
    for warning in result.warnings:
        context.log.warning(warning)
    context.log.info(result.line())
    return dg.MaterializeResult(metadata={**stage_metadata(result), **extra})


def run_info(context: dg.AssetExecutionContext, clock: ClockResource) -> RunInfo:
    """The run id and the (possibly frozen) time every stage works with."""
    return RunInfo(context.run.run_id, clock.now())


def timed(fn: Callable) -> Callable:
    """An asset or check body whose wall and CPU seconds go into its result's metadata
    (:data:`STAGE_SECONDS`, :data:`STAGE_CPU_SECONDS`): what each stage costs, tick after tick."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn(*args, **kwargs)
        spent = {STAGE_SECONDS: dg.MetadataValue.float(round(time.perf_counter() - wall, 3)),
                 STAGE_CPU_SECONDS: dg.MetadataValue.float(round(time.process_time() - cpu, 3))}
        if isinstance(out, dg.AssetCheckResult):
            return dg.AssetCheckResult(passed=out.passed, asset_key=out.asset_key, check_name=out.check_name,
                                       severity=out.severity, description=out.description,
                                       metadata={**(out.metadata or {}), **spent})
        return dg.MaterializeResult(asset_key=out.asset_key, metadata={**(out.metadata or {}), **spent},
                                    check_results=out.check_results, data_version=out.data_version, tags=out.tags)

    return wrapper
