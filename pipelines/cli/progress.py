"""A live line per stage while a run works (rich), and nothing at all when stderr is not a terminal.

A tick is quiet for a minute otherwise; with this, each stage shows a spinner while it
runs, then a tick mark with what it produced and how long it took::

    ✓ raw_crm            3,000 lead records in                  4.1 s
    ⠙ unified            …                                      1.2 s
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

# What each stage's dagster/row_count counts, in words for the live line.
ROWS = {
    "raw_crm": "records in", "unified": "leads unified", "enriched": "leads enriched",
    "account_master": "accounts in the master", "lead_match": "leads matched", "routing_rules": "rule steps",
    "routing_decision": "decisions", "reroutes": "day-2 decisions", "distribution_pools": "pools",
    "crm_push": "CRM writes handled", "kpis": "KPI values", "rerouted_leads": "leads re-evaluated",
}


class StageProgress:
    """Feed it :class:`pipelines.runner.StageEvent` s; it draws them on stderr when that is a terminal."""

    def __init__(self, console: Console | None = None, clock=time.perf_counter):
        self.console = console or Console(stderr=True)
        self.enabled = self.console.is_terminal
        self.clock = clock
        self.started: dict[str, float] = {}
        self.tasks: dict[str, int] = {}
        self.progress = Progress(SpinnerColumn(finished_text="[green]✓"), TextColumn("{task.description}"),
                                 TimeElapsedColumn(), console=self.console, transient=False)

    def __enter__(self) -> StageProgress:
        if self.enabled:
            self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self.progress.stop()

    def event(self, e) -> None:
        if not self.enabled:
            return
        label = f"{e.stage:<20}"
        if e.kind == "start":
            self.started[e.stage] = self.clock()
            self.tasks[e.stage] = self.progress.add_task(f"{label} …", total=1)
            return
        task = self.tasks.get(e.stage)
        if task is None:
            task = self.tasks[e.stage] = self.progress.add_task(label, total=1)
        if e.kind == "done":
            what = f"{e.rows:,} {ROWS.get(e.stage, 'rows')}" if e.rows is not None else "done"
            self.progress.update(task, description=f"{label} {what}", completed=1)
        elif e.kind == "retry":
            self.progress.update(task, description=f"{label} [yellow]retrying: {e.message}")
        elif e.kind == "failed":
            self.progress.update(task, description=f"{label} [red]failed: {e.message}", completed=1)
        elif e.kind == "skipped":
            self.progress.update(task, description=f"{label} [yellow]not run", completed=1)
