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
    # The ``now`` of each of those runs (a retry has its own; the stages it reuses wrote with theirs).
    ancestor_nows: tuple[datetime, ...] = ()

    @property
    def lineage(self) -> tuple[str, ...]:
        """This run and the runs it re-executes: whose pending watermarks its push may commit."""
        return (self.run_id, *self.ancestors)

    @property
    def lineage_nows(self) -> tuple[datetime, ...]:
        """The instants this run and the runs it re-executes stamped their rows with (``_unified_at`` ...):
        a check re-executed by a retry finds the rows its parent's stage wrote."""
        return tuple(dict.fromkeys((self.now, *self.ancestor_nows)))


NO_NEW_ROWS = "no new rows"


@dataclass
class StageResult:
    """Row counts, a small preview and details of one stage's work in one run.

    ``rows`` is how many rows the stage worked on this tick (its delta: the new or changed
    records it read, not the size of its tables); ``skipped`` says why it did nothing.
    """

    stage: str
    counts: dict[str, int] = field(default_factory=dict)
    preview: pd.DataFrame | None = None
    details: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    rows: int | None = None
    skipped: str | None = None

    @classmethod
    def nothing_to_do(cls, stage: str, why: str = NO_NEW_ROWS) -> StageResult:
        """A stage that found no work this tick: it says why, touches nothing and loads nothing heavy."""
        return cls(stage, rows=0, skipped=why)

    def line(self) -> str:
        if self.skipped:
            return f"{self.stage}: skipped, {self.skipped}"
        parts = ", ".join(f"{k} {v:,}" for k, v in self.counts.items())
        return f"{self.stage}: {parts}" if parts else self.stage
