"""What every stage returns, so the Dagster assets, the CLI and the tests all report the same facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd


@dataclass
class RunInfo:
    """Who is running a stage and when. ``now`` is injectable so tests control the clock."""

    run_id: str
    now: datetime
    # The runs this one re-executes (a retry from the failed step reuses its parent's extract, so the
    # watermarks that extract left pending carry the parent's id). Empty for a first run.
    ancestors: tuple[str, ...] = ()

    @property
    def lineage(self) -> tuple[str, ...]:
        """This run and the runs it re-executes: whose pending watermarks its push may commit."""
        return (self.run_id, *self.ancestors)


@dataclass
class StageResult:
    """Row counts, a small preview and details of one stage's work in one run."""

    stage: str
    counts: dict[str, int] = field(default_factory=dict)
    preview: pd.DataFrame | None = None
    details: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def line(self) -> str:
        parts = ", ".join(f"{k} {v:,}" for k, v in self.counts.items())
        return f"{self.stage}: {parts}" if parts else self.stage
