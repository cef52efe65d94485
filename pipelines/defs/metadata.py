"""StageResult -> Dagster metadata: row counts, a markdown preview and details, so the UI tells the story."""

from __future__ import annotations

import dagster as dg

from pipelines.defs.resources import ClockResource
from pipelines.stage import RunInfo, StageResult


def stage_metadata(result: StageResult) -> dict[str, dg.MetadataValue]:
    md: dict[str, dg.MetadataValue] = {k: dg.MetadataValue.int(int(v)) for k, v in result.counts.items()}
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
